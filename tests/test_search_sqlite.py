"""The embedded SQLite FTS5 index beyond the shared contract: its layout, rebuild and upgrade,
and the shortcuts it takes for speed (each checked against the plain answer)."""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest

from sohoa.search import sqlite_index
from sohoa.search.model import SearchDoc, SearchQuery
from sohoa.search.sqlite_index import SqliteIndex

AGENCIES = ["000.00.12.H36", "000.00.31.H36", "000.00.32.H36"]
DOC_TYPES = ["GKS", "GCN", None]
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def doc(n: int, title: str = "Giấy khai sinh", text: str = "", **fields) -> SearchDoc:
    values = dict(record_id=f"R{n:05d}", record_code=f"{AGENCIES[0]}-TP-{n:010d}", kind="component",
                  agency_code=AGENCIES[n % 3], doc_type_code=DOC_TYPES[n // 3 % 3], title=title, text=text,
                  issued_on=date(2020, 1, 1) + timedelta(days=(n * 37) % 1500),
                  created_at=START + timedelta(minutes=n))
    values.update(fields)
    return SearchDoc(**values)


def ids(result) -> list[str]:
    return [hit.record_id for hit in result.hits]


@pytest.fixture
def index(tmp_path) -> SqliteIndex:
    return SqliteIndex(tmp_path / "search.db")


def test_rebuild_keeps_serving_the_old_index_until_the_new_one_is_complete(index, tmp_path):
    index.index([doc(n, title="Giấy khai sinh") for n in range(6)])
    other = SqliteIndex(tmp_path / "search.db")  # another connection, as another process has
    seen = []

    def new_docs():
        for n in range(100, 110):
            if n == 105:  # half-way, after batches were committed to the new tables
                seen.append(ids(other.search(SearchQuery(text="khai sinh", size=50))))
                seen.append(ids(index.search(SearchQuery(text="khai sinh", size=50))))
                seen.append(other.count())
                with ThreadPoolExecutor(1) as pool:  # a thread with a connection of its own
                    seen.append(pool.submit(index.search, SearchQuery(text="chung nhan")).result().total)
            yield doc(n, title="Giấy chứng nhận")

    assert index.rebuild(new_docs(), batch=2) == 10
    old = sorted(f"R{n:05d}" for n in range(6))
    assert sorted(seen[0]) == old and sorted(seen[1]) == old and seen[2] == 6 and seen[3] == 0
    assert other.search(SearchQuery(text="khai sinh")).total == 0
    assert other.search(SearchQuery(text="chung nhan")).total == 10 and other.count() == 10


def test_rebuild_keeps_records_indexed_while_it_ran(index, tmp_path):
    index.index([doc(1), doc(2, title="Tờ khai")])
    other = SqliteIndex(tmp_path / "search.db")

    def stream():
        yield doc(1)
        other.index([doc(3, title="Đơn đề nghị")])  # ingest, meanwhile
        other.index([doc(2, title="Tờ khai đã sửa")])  # a record re-indexed meanwhile
        yield doc(2, title="Tờ khai")  # the stream read it before the change

    index.rebuild(stream())
    assert index.count() == 3
    assert index.get("R00003").title == "Đơn đề nghị" and index.get("R00002").title == "Tờ khai đã sửa"
    assert ids(index.search(SearchQuery(text="da sua"))) == ["R00002"]


def test_a_failed_rebuild_leaves_the_index_as_it_was(index):
    index.index([doc(1), doc(2)])

    def broken():
        yield doc(3)
        raise RuntimeError("storage unreachable")

    with pytest.raises(RuntimeError):
        index.rebuild(broken(), batch=1)
    assert index.count() == 2 and index.search(SearchQuery(text="khai sinh")).total == 2
    index.rebuild([doc(4)])  # the leftover build tables do not get in the way
    assert ids(index.search(SearchQuery(text="khai sinh"))) == ["R00004"]


LEGACY = """
CREATE TABLE docs (rowid INTEGER PRIMARY KEY, record_id TEXT UNIQUE NOT NULL, record_code TEXT NOT NULL,
    kind TEXT, agency_code TEXT, dossier_code TEXT, procedure_code TEXT, doc_type_code TEXT, owner_id TEXT,
    issued_on TEXT, valid_until TEXT, created_at TEXT, body TEXT NOT NULL);
CREATE INDEX docs_owner ON docs(owner_id);
CREATE VIRTUAL TABLE docs_fts USING fts5(title, text, title_f, text_f, tokenize = "unicode61 remove_diacritics 0");
"""


def test_an_index_of_the_first_layout_is_rebuilt_from_its_documents(tmp_path, caplog):
    path = tmp_path / "search.db"
    with sqlite3.connect(path) as db:  # as sohoa wrote it before the layout had a version
        db.executescript(LEGACY)
        for n in (1, 2):
            d = doc(n, title="Giấy chứng nhận quyền sử dụng đất", owner_id="001204012345")
            db.execute("INSERT INTO docs (record_id, record_code, body) VALUES (?, ?, ?)",
                       (d.record_id, d.record_code, d.model_dump_json()))
    with caplog.at_level(logging.WARNING):
        index = SqliteIndex(path)
    assert "rebuilding" in caplog.text
    assert index.count() == 2 and index.get("R00001").owner_id == "001204012345"
    assert sorted(ids(index.search(SearchQuery(text="quyen su dung dat")))) == ["R00001", "R00002"]
    assert index.search(SearchQuery(text="001204012345")).total == 2
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == sqlite_index.SCHEMA_VERSION
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs_fts'").fetchone()
    assert SqliteIndex(path).count() == 2  # opened again: nothing to do


def test_an_index_of_an_unknown_layout_starts_empty(tmp_path, caplog):
    path = tmp_path / "search.db"
    with sqlite3.connect(path) as db:
        db.executescript("CREATE TABLE docs (whatever TEXT); PRAGMA user_version = 99;")
    with caplog.at_level(logging.WARNING):
        index = SqliteIndex(path)
    assert "sohoa reindex" in caplog.text and index.count() == 0
    index.index([doc(1)])
    assert index.search(SearchQuery(text="khai sinh")).total == 1


def test_replaced_and_deleted_records_leave_no_words_behind(index):
    # The FTS tables keep no text: removing a row relies on deriving its words again.
    index.index([doc(n) for n in range(9)])
    index.index([doc(4, title="Quyết định", agency_code=AGENCIES[2], doc_type_code="QD")])
    index.delete("R00005")
    sinh = index.search(SearchQuery(text="khai sinh", size=50))
    assert sinh.total == 7 and "R00004" not in ids(sinh) and "R00005" not in ids(sinh)
    assert ids(index.search(SearchQuery(text="quyết định"))) == ["R00004"]
    everything = index.search(SearchQuery(size=50))
    assert everything.total == 8
    assert everything.facets["doc_type_code"] == {"GKS": 3, "GCN": 1, "QD": 1}  # 6, 7, 8 have none
    assert sum(everything.facets["agency_code"].values()) == 8


def test_facets_and_filters_by_agency_and_type_add_up(index):
    index.index([doc(n, text=f"thửa đất số {n}") for n in range(60)])
    full = index.search(SearchQuery(text="thua dat", size=1))
    assert full.total == 60 and sum(full.facets["agency_code"].values()) == 60
    assert full.facets["doc_type_code"] == {"GKS": 21, "GCN": 21}  # and 18 have no document type
    for agency in full.facets["agency_code"]:
        one = index.search(SearchQuery(text="thua dat", agencies=[agency], doc_type_code="GKS"))
        assert one.total == sum(1 for n in range(60) if AGENCIES[n % 3] == agency and n // 3 % 3 == 0)
        assert one.facets["agency_code"] == {agency: one.total}
    two = index.search(SearchQuery(text="thua dat", agencies=AGENCIES[:2], valid_on=date(2030, 1, 1)))
    assert two.total == 40 and set(two.facets["agency_code"]) == set(AGENCIES[:2])


def test_a_broad_query_ranks_its_most_recent_matches(index, monkeypatch):
    monkeypatch.setattr(sqlite_index, "RANK_WINDOW", 5)
    # R00000, the oldest, is the best match by far; then 20 weaker ones.
    index.index([doc(0, title="Giấy chứng nhận quyền sử dụng đất", text="đất đất đất")]
                + [doc(n, title="Đơn", text="đất " + "hồ sơ lưu trữ " * 30) for n in range(1, 21)])
    result = index.search(SearchQuery(text="đất", size=3))
    assert result.total == 20 + 1 and sum(result.facets["agency_code"].values()) == 21  # all counted
    assert set(ids(result)) <= {f"R{n:05d}" for n in range(16, 21)}  # ranked among the 5 newest
    deep = index.search(SearchQuery(text="đất", size=10, page=3))  # beyond the window: widened
    assert len(deep.hits) == 1
    monkeypatch.setattr(sqlite_index, "RANK_WINDOW", 100)
    assert ids(index.search(SearchQuery(text="đất", size=3)))[0] == "R00000"


@pytest.mark.parametrize("probe_cost", [0, 10**9])  # walk the newest records / sort the matches
def test_both_date_plans_give_the_same_pages(index, monkeypatch, probe_cost):
    index.index([doc(n, title="Giấy khai sinh" if n % 4 else "Tờ khai", owner_id=f"0012040{n % 7:05d}")
                 for n in range(200)])
    queries = [SearchQuery(text="giay khai sinh", sort="date", size=7, page=page) for page in (1, 2, 5, 30)]
    queries += [SearchQuery(text="khai", sort="date", size=20, agencies=AGENCIES[1:]),
                SearchQuery(text="khai", sort="date", owner_id="001204000003", valid_on=date(2000, 1, 1))]
    expected = []
    for query in queries:
        matching = [d for d in (doc(n, title="Giấy khai sinh" if n % 4 else "Tờ khai",
                                    owner_id=f"0012040{n % 7:05d}") for n in range(200))
                    if (query.text != "giay khai sinh" or d.title == "Giấy khai sinh")
                    and (not query.agencies or d.agency_code in query.agencies)
                    and (not query.owner_id or d.owner_id == query.owner_id)]
        matching.sort(key=lambda d: (d.issued_on, d.created_at), reverse=True)
        offset = (query.page - 1) * query.size
        expected.append([d.record_id for d in matching[offset:offset + query.size]])
    monkeypatch.setattr(sqlite_index, "PROBE_COST", probe_cost)
    assert [ids(index.search(q)) for q in queries] == expected


def test_exact_spelling_and_field_weights_rank_with_one_term_statistic(index):
    # bm25's term weight comes from the whole table, not per field: names that are rare in
    # long texts do not outweigh the record whose summary names the person.
    index.index([
        doc(1, title="Giấy chứng nhận kết hôn", summary="Ông Trần Văn Đức và bà Lê Thị Mai"),
        doc(2, title="Biên bản", text="Ông Trần Minh Tâm trình bày tại Văn phòng, có ông Lê Đức Anh "
            "chứng kiến. " + "căn cứ hồ sơ lưu trữ " * 40),
        doc(3, title="Đơn", summary="Bà Trần Thị Dức"),  # folds like Đức, spelled otherwise
        doc(4, title="Đơn", summary="Bà Trần Thị Đức"),
    ])
    assert ids(index.search(SearchQuery(text="Trần Văn Đức")))[0] == "R00001"
    spelled = ids(index.search(SearchQuery(text="Trần Thị Đức")))
    assert spelled.index("R00004") < spelled.index("R00003")


def test_many_small_writes_keep_the_tally_compact(index, monkeypatch):
    monkeypatch.setattr(sqlite_index, "MAX_TALLY_SEGMENTS", 3)
    for n in range(80):  # one transaction each, as ingest writes
        index.index([doc(n)])
    segments = index._db.execute("SELECT count(DISTINCT segid) FROM tally_idx").fetchone()[0]
    assert segments <= 4
    assert index.search(SearchQuery(text="khai sinh")).total == 80


def test_concurrent_writers_and_readers(index):
    def write(first):
        for n in range(first, first + 40):
            index.index([doc(n)])

    def read():
        for _ in range(40):
            result = index.search(SearchQuery(text="khai sinh", size=5))
            assert result.total == sum(result.facets["agency_code"].values())

    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(write, k * 100) for k in range(3)] + [pool.submit(read) for _ in range(2)]
        for future in futures:
            future.result()  # re-raises what failed in the thread
    assert index.count() == 120
