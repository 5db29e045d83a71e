"""ElasticIndex against a real ES REST server (noida-db), no mocks.

The session fixture `es_url` (conftest) starts one noida-db; every test works behind its
own alias, so tests never see each other's documents. The Vietnamese documents are generated
here (controlled records for each property under test) and by testkit.vietnamese (filler pages
with realistic text), never copied from real records.
"""

from __future__ import annotations

import itertools
import random
import re
import secrets
import socket
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest
from elasticsearch import Elasticsearch

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.search.es_index import ElasticIndex
from sohoa.search.model import TEXT_FIELDS, SearchDoc, SearchQuery, fold
from sohoa.testkit.noida import noida_es
from sohoa.testkit.vietnamese import document_text

AGENCY_A = "000.00.12.H36"
AGENCY_B = "000.00.13.H36"
AGENCY_C = "000.00.21.H29"
OWNER = "079185001234"  # the citizen whose documents the ID lookup must return, and only those
OTHER_OWNER = "001090004321"
TAX_CODE = "0312345678-001"
DOSSIER = f"{AGENCY_A}-240115-0001"
LAND_TITLE = "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT"
BASE_TIME = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
_ids = itertools.count(1)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def raw(es_url: str) -> Iterator[Elasticsearch]:
    """A plain client, for looking behind the index's back (mapping, aliases)."""
    client = Elasticsearch(es_url)
    yield client
    client.close()


def words(*texts: str | None) -> list[str]:
    return re.findall(r"\w+", fold(" ".join(t or "" for t in texts)))


def new_alias() -> str:
    return f"t-{secrets.token_hex(4)}"


@pytest.fixture
def make_index(es_url: str) -> Iterator[Callable[[], ElasticIndex]]:
    """Fresh ElasticIndex objects, each behind an alias no other test uses."""
    made: list[ElasticIndex] = []

    def make() -> ElasticIndex:
        made.append(ElasticIndex(es_url, index=new_alias()))
        return made[-1]

    yield make
    for index in made:
        index.close()


def make_doc(**fields: object) -> SearchDoc:
    """A valid document; tests override what they are about."""
    n = next(_ids)
    values: dict[str, object] = {
        "record_id": f"rec-{n:05d}",
        "record_code": f"{AGENCY_A}-240301-{n:04d}-TP1",
        "kind": "component",
        "agency_code": AGENCY_A,
        "created_at": BASE_TIME + timedelta(minutes=n),
        "page_count": 1,
        "text": "",
    }
    values.update(fields)
    return SearchDoc.model_validate(values)


def filler_docs(count: int, seed: int = 11) -> list[SearchDoc]:
    """Realistic pages from testkit.vietnamese with varied metadata (noise around the targets)."""
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        page = document_text(seed * 1000 + i)
        docs.append(make_doc(
            title=page.title, text="\n".join(page.lines), number_symbol=page.keywords[1],
            owner_id=page.keywords[3], kind=rng.choice(["component", "result"]),
            agency_code=rng.choice([AGENCY_A, AGENCY_B, AGENCY_C]),
            doc_type_code=rng.choice(["KQ.KS", "KQ.GCN", "TP.DON", None]),
            procedure_code=rng.choice(["1.001193", "1.003583"]),
            dossier_code=f"{AGENCY_B}-2312{rng.randint(10, 28)}-{rng.randint(1, 9999):04d}",
            issued_on=date(2018, 1, 1) + timedelta(days=rng.randint(0, 2500)),
            created_at=BASE_TIME + timedelta(hours=i),
        ))
    return docs


def target_docs() -> dict[str, SearchDoc]:
    """Records each search test is about, by role."""
    return {
        "land": make_doc(
            title=LAND_TITLE, summary="Cấp giấy chứng nhận lần đầu cho hộ gia đình",
            number_symbol="CS 01234", issuing_agency="Sở Tài nguyên và Môi trường tỉnh Bình Dương",
            text="Thửa đất số 152, tờ bản đồ số 7.\nChủ sử dụng: ông Trịnh Văn Khải.\n"
                 "Mục đích sử dụng: đất ở tại đô thị.",
            owner_id=OWNER, kind="result", doc_type_code="KQ.GCN", procedure_code="1.003583",
            dossier_code=DOSSIER, issued_on=date(2024, 1, 20), agency_code=AGENCY_A),
        "birth": make_doc(
            title="GIẤY KHAI SINH", number_symbol="125/TLKS",
            text="Họ và tên: Trịnh Minh Khang. Nơi sinh: Bệnh viện Từ Dũ.\n"
                 "Họ tên người cha: Trịnh Văn Khải.",
            owner_id=OWNER, kind="component", doc_type_code="KQ.KS", procedure_code="1.001193",
            dossier_code=DOSSIER, issued_on=date(2019, 6, 2), agency_code=AGENCY_A,
            valid_until=date(2023, 12, 31)),
        # Text mentions OWNER's digits with one more: an ID lookup must not find it.
        "near_id": make_doc(
            title="Tờ khai thay đổi thông tin cư trú",
            text=f"Người kê khai: Lê Thị Hoa, số định danh {OWNER}5, chỗ ở hiện tại: phường 4.",
            owner_id=OTHER_OWNER, kind="component", doc_type_code="TP.TK",
            procedure_code="1.004194", dossier_code=f"{AGENCY_A}-240115-0011",
            issued_on=date(2024, 1, 15), agency_code=AGENCY_A,
            valid_until=date(2030, 1, 1)),
        # Text names OWNER's ID exactly, but the record belongs to someone else.
        "mentions_id": make_doc(
            title="Giấy ủy quyền",
            text=f"Bên ủy quyền: ông Trịnh Văn Khải, CCCD số {OWNER}.\n"
                 "Bên được ủy quyền: bà Lê Thị Hoa.",
            owner_id=OTHER_OWNER, kind="component", doc_type_code="TP.UQ",
            procedure_code="1.003583", dossier_code=f"{AGENCY_B}-240116-0002",
            issued_on=date(2024, 1, 16), agency_code=AGENCY_B,
            valid_until=date(2024, 6, 1)),
        "company": make_doc(
            title="Giấy chứng nhận đăng ký hộ kinh doanh", owner_id=TAX_CODE,
            text="Tên hộ kinh doanh: Cửa hàng tạp hóa Minh Anh. Mã số thuế 0312345678-001.",
            kind="result", doc_type_code="KQ.HKD", procedure_code="1.001612",
            dossier_code=f"{AGENCY_C}-240201-0003", issued_on=None, agency_code=AGENCY_C),
    }


class Corpus:
    """A read-only index shared by the search tests of this module."""

    def __init__(self, index: ElasticIndex, targets: dict[str, SearchDoc], docs: list[SearchDoc]):
        self.index = index
        self.targets = targets
        self.docs = docs

    def ids(self, predicate: Callable[[SearchDoc], bool]) -> set[str]:
        return {d.record_id for d in self.docs if predicate(d)}

    def with_words(self, text: str) -> set[str]:
        """Records whose text fields hold every word of `text`, diacritics ignored."""
        wanted = set(words(text))
        return self.ids(lambda d: wanted <= set(words(*(getattr(d, f) for f in TEXT_FIELDS))))

    def search(self, **query: object) -> list[str]:
        """Record ids of the first page (up to 200)."""
        return [h.record_id for h in self.index.search(SearchQuery(size=200, **query)).hits]


@pytest.fixture(scope="module")
def corpus(es_url: str) -> Iterator[Corpus]:
    index = ElasticIndex(es_url, index=new_alias())
    targets = target_docs()
    docs = list(targets.values()) + filler_docs(30)
    assert index.index(docs) == len(docs)
    yield Corpus(index, targets, docs)
    index.close()


# ---------------------------------------------------------------------- layout


def test_first_use_creates_physical_index_alias_and_mapping(make_index, raw: Elasticsearch) -> None:
    index = make_index()
    assert index.count() == 0
    behind = list(raw.indices.get_alias(name=index.alias).body)
    assert len(behind) == 1 and re.fullmatch(rf"{index.alias}-\d{{20}}-[0-9a-f]{{4}}", behind[0])

    mapping = raw.indices.get_mapping(index=index.alias)[behind[0]]["mappings"]
    assert mapping["dynamic"] == "strict"
    props = mapping["properties"]
    assert set(props) == set(SearchDoc.model_fields)  # every field of the contract is mapped
    for name in ("title", "summary", "number_symbol", "issuing_agency", "text"):
        assert props[name]["analyzer"] == "vi_fold"
        assert props[name]["fields"]["exact"]["analyzer"] == "vi_exact"
    for name in ("record_id", "record_code", "kind", "agency_code", "dossier_code",
                 "procedure_code", "doc_type_code", "owner_id"):
        assert props[name]["type"] == "keyword"
    for name in ("issued_on", "valid_until", "created_at"):
        assert props[name]["type"] == "date"
    assert props["page_count"]["type"] == "integer"

    def tokens(analyzer: str, text: str) -> list[str]:
        result = raw.indices.analyze(index=behind[0], analyzer=analyzer, text=text)
        return [t["token"] for t in result["tokens"]]

    folded = tokens("vi_fold", LAND_TITLE)
    # Original and folded forms both indexed; asciifolding maps đ to d by itself.
    assert {"giấy", "giay", "quyền", "quyen", "đất", "dat"} <= set(folded)
    assert tokens("vi_exact", LAND_TITLE) == ["giấy", "chứng", "nhận", "quyền", "sử", "dụng", "đất"]


def test_recreate_swaps_alias_and_drops_old_index(make_index, raw: Elasticsearch) -> None:
    index = make_index()
    old_docs = [make_doc(title="Quyết định cũ"), make_doc(title="Biên bản cũ")]
    index.index(old_docs)
    (old,) = raw.indices.get_alias(name=index.alias).body

    index.recreate()
    (new,) = raw.indices.get_alias(name=index.alias).body
    assert new != old
    assert not raw.indices.exists(index=old)  # the old physical index is deleted
    assert index.count() == 0
    assert index.get(old_docs[0].record_id) is None
    assert index.search(SearchQuery(text="quyết định")).total == 0

    fresh = make_doc(title="Quyết định mới")
    assert index.index([fresh]) == 1
    assert index.search(SearchQuery(text="quyet dinh")).hits[0].record_id == fresh.record_id
    # A second recreate swaps again (names never collide, even within one second).
    index.recreate()
    (newer,) = raw.indices.get_alias(name=index.alias).body
    assert newer != new and not raw.indices.exists(index=new)


def test_recreate_replaces_a_concrete_index_with_the_alias_name(es_url, raw: Elasticsearch) -> None:
    name = new_alias()
    raw.indices.create(index=name)  # e.g. auto-created by a stray write before the alias existed
    index = ElasticIndex(es_url, index=name)
    try:
        index.recreate()
        assert raw.indices.exists_alias(name=name)
        (behind,) = raw.indices.get_alias(name=name).body
        assert behind.startswith(f"{name}-")
        assert index.index([make_doc(title="Giấy tờ")]) == 1 and index.count() == 1
    finally:
        index.close()


# ---------------------------------------------------------------------- documents


def test_bulk_index_get_count_delete(make_index) -> None:
    index = make_index()
    docs = [make_doc(title=f"Hồ sơ số {i}", owner_id=OWNER, issued_on=date(2024, 1, i + 1),
                     valid_until=date(2030, 1, 1), page_count=i, text=f"Trang {i}\ndòng hai")
            for i in range(1, 4)]
    assert index.index(docs) == 3
    assert index.index(iter([])) == 0  # an empty batch is fine
    assert index.count() == 3
    assert index.get(docs[1].record_id) == docs[1]  # round trip, dates and datetimes included

    changed = docs[1].model_copy(update={"title": "Hồ sơ đã sửa"})
    assert index.index([changed]) == 1  # same record_id: replaced, not added
    assert index.count() == 3
    assert index.get(docs[1].record_id).title == "Hồ sơ đã sửa"

    index.delete(docs[0].record_id)
    assert index.count() == 2
    assert index.get(docs[0].record_id) is None
    index.delete(docs[0].record_id)  # absent: no error
    assert index.get("no-such-record") is None


def test_rejected_documents_raise_one_line_error(es_url: str, raw: Elasticsearch) -> None:
    name = new_alias()
    # A foreign index under our name whose strict mapping knows none of our fields.
    raw.indices.create(index=name, mappings={"dynamic": "strict", "properties": {}})
    index = ElasticIndex(es_url, index=name)
    try:
        with pytest.raises(SohoaError) as caught:
            index.index([make_doc(title="Giấy tờ"), make_doc(title="Giấy tờ khác")])
        assert caught.value.exit_code == ExitCode.OUTPUT_ERROR
        assert "rejected 2 document(s)" in caught.value.message
        assert "\n" not in caught.value.message
    finally:
        index.close()


def test_describe_and_credentials(es_url: str) -> None:
    url = es_url.replace("http://", "http://elastic:s3cret@")
    index = ElasticIndex(url, index="sohoa-records")
    assert index.describe() == f"elasticsearch:{es_url}/sohoa-records"
    assert "s3cret" not in index.describe()
    index.close()


def test_unreachable_server_is_a_one_line_sohoa_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    index = ElasticIndex(f"http://user:pw@127.0.0.1:{port}")
    with pytest.raises(SohoaError) as caught:
        index.count()
    error = caught.value
    assert error.exit_code == ExitCode.OUTPUT_ERROR
    assert error.message.startswith(f"search index unreachable at http://127.0.0.1:{port}")
    assert "\n" not in error.message and "pw" not in error.message
    assert error.__cause__ is None and error.__suppress_context__  # no client traceback chained


def test_bad_url_is_a_usage_error() -> None:
    with pytest.raises(SohoaError) as caught:
        ElasticIndex("http://localhost")  # no port
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.servers
def test_noida_fixture_stops_its_server(tmp_path: Path) -> None:
    with noida_es(tmp_path) as url:
        port = int(url.rsplit(":", 1)[1])
        assert ElasticIndex(url).count() == 0
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


# ---------------------------------------------------------------------- free text


def test_folded_query_finds_diacritic_title(corpus: Corpus) -> None:
    land = corpus.targets["land"].record_id
    found = corpus.search(text="giay chung nhan quyen su dung dat")
    # Every record with every word (the target and generated land certificates), nothing else.
    assert land in found and set(found) == corpus.with_words("giay chung nhan quyen su dung dat")
    # Title weighs most: certificates come first (generated ones repeat the words in their text).
    hits = corpus.index.search(SearchQuery(text="giay chung nhan quyen su dung dat")).hits
    first = {h.title for h in hits[:3]}
    assert first == {LAND_TITLE}
    found = corpus.search(text="dat")
    assert land in found and set(found) == corpus.with_words("dat")
    assert land in corpus.search(text="THUA DAT SO 152")


def test_words_may_be_spread_over_fields(corpus: Corpus) -> None:
    # "giấy chứng nhận" is in the title and summary, the holder's name only in the text.
    found = corpus.search(text="giấy chứng nhận Trịnh Văn Khải")
    assert found == [corpus.targets["land"].record_id]
    assert set(found) == corpus.with_words("giấy chứng nhận Trịnh Văn Khải")


def test_all_words_required_then_any_word_when_nothing_matches(corpus: Corpus) -> None:
    birth = corpus.targets["birth"].record_id
    assert corpus.search(text="Trịnh Minh Khang")[0] == birth
    assert set(corpus.search(text="Trịnh Minh Khang")) == corpus.with_words("Trịnh Minh Khang")
    # An OCR-garbled word: nothing has all words, so documents with the others are ranked.
    assert corpus.search(text="Trịnh Minh Khang xqzwv")[0] == birth
    assert corpus.search(text="xqzwv") == []


def test_exact_diacritics_rank_first(make_index) -> None:
    index = make_index()
    dat_land = make_doc(title="Hồ sơ Đất bãi bồi ven sông", text="Kiểm tra hiện trạng đất.")
    dat_drift = make_doc(title="Hồ sơ Dạt bãi bồi ven sông", text="Kiểm tra hiện trạng dạt.")
    index.index([dat_drift, dat_land])

    def ranked(text: str) -> list[str]:
        return [h.record_id for h in index.search(SearchQuery(text=text)).hits]

    assert ranked("đất") == [dat_land.record_id, dat_drift.record_id]  # both fold to "dat"
    assert ranked("dạt") == [dat_drift.record_id, dat_land.record_id]
    assert set(ranked("dat")) == {dat_land.record_id, dat_drift.record_id}
    # Decomposed input (e.g. typed on macOS) is normalised before querying.
    assert ranked(unicodedata.normalize("NFD", "đất"))[0] == dat_land.record_id
    scores = [h.score for h in index.search(SearchQuery(text="đất")).hits]
    assert scores[0] > scores[1] > 0
    # Typed without diacritics: no preference for the literally unaccented spelling either
    # (`dung` may mean `dụng` as much as the word `dung`).
    index.index([make_doc(title="Hồ sơ bà Dung"), make_doc(title="Hồ sơ ông Dũng")])
    scores = [h.score for h in index.search(SearchQuery(text="dung")).hits]
    # Equal on Elasticsearch; within a few percent on noida-db, whose length norm counts the
    # preserved original token too (Lucene discounts tokens stacked on one position).
    assert len(scores) == 2 and scores[0] / scores[1] < 1.1


# ---------------------------------------------------------------------- exact lookups


def test_owner_id_lookup_is_exact(corpus: Corpus) -> None:
    expected = corpus.ids(lambda d: d.owner_id == OWNER)
    assert expected == {corpus.targets["land"].record_id, corpus.targets["birth"].record_id}
    result = corpus.index.search(SearchQuery(text=f" {OWNER} "))
    assert {h.record_id for h in result.hits} == expected and result.total == 2
    # Neither the text with the digits plus one, nor the one naming the ID for another owner.
    assert all(h.owner_id == OWNER for h in result.hits)
    assert corpus.search(text=TAX_CODE) == [corpus.targets["company"].record_id]
    assert corpus.search(text=OWNER[:-1]) == []  # 11 digits: a word search, and no such word


def test_dossier_code_lookup(corpus: Corpus) -> None:
    expected = {corpus.targets["land"].record_id, corpus.targets["birth"].record_id}
    assert set(corpus.search(text=DOSSIER)) == expected
    assert set(corpus.search(text=DOSSIER.lower())) == expected  # codes are case-insensitive
    assert set(corpus.search(text=f"{DOSSIER}-KQ1")) == expected  # a result code: its dossier
    assert corpus.search(text=f"{AGENCY_A}-240115-9999") == []


# ---------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    "query, predicate",
    [
        ({"agencies": [AGENCY_A, AGENCY_C]}, lambda d: d.agency_code in (AGENCY_A, AGENCY_C)),
        ({"procedure_code": "1.003583"}, lambda d: d.procedure_code == "1.003583"),
        ({"doc_type_code": "KQ.GCN"}, lambda d: d.doc_type_code == "KQ.GCN"),
        ({"kind": "result"}, lambda d: d.kind == "result"),
        ({"owner_id": OTHER_OWNER}, lambda d: d.owner_id == OTHER_OWNER),
        ({"dossier_code": DOSSIER}, lambda d: d.dossier_code == DOSSIER),
        ({"issued_from": date(2021, 1, 1), "issued_to": date(2024, 1, 16)},
         lambda d: d.issued_on and date(2021, 1, 1) <= d.issued_on <= date(2024, 1, 16)),
        ({"issued_from": date(2024, 1, 16)},
         lambda d: d.issued_on and d.issued_on >= date(2024, 1, 16)),
        ({"agencies": [AGENCY_A], "kind": "component", "text": "số định danh"},
         lambda d: d.agency_code == AGENCY_A and d.kind == "component"
         and {"so", "dinh", "danh"} <= set(words(*(getattr(d, f) for f in TEXT_FIELDS)))),
    ],
    ids=["agencies", "procedure", "doc_type", "kind", "owner", "dossier", "issued_range",
         "issued_from", "combined_with_text"],
)
def test_filters(corpus: Corpus, query: dict, predicate: Callable[[SearchDoc], bool]) -> None:
    expected = corpus.ids(predicate)
    assert expected  # the corpus exercises the filter
    result = corpus.index.search(SearchQuery(size=200, **query))
    assert {h.record_id for h in result.hits} == expected and result.total == len(expected)


def test_valid_on_excludes_expired(corpus: Corpus) -> None:
    t = corpus.targets
    day = date(2024, 6, 1)  # `mentions_id` expires that very day: still valid
    found = set(corpus.search(owner_id=OTHER_OWNER, valid_on=day))
    assert found == {t["near_id"].record_id, t["mentions_id"].record_id}
    found = set(corpus.search(valid_on=day + timedelta(days=1)))
    assert t["mentions_id"].record_id not in found and t["birth"].record_id not in found
    no_expiry = {t["near_id"].record_id, t["land"].record_id, t["company"].record_id}
    assert no_expiry <= found
    later = day + timedelta(days=1)
    assert found == corpus.ids(lambda d: d.valid_until is None or d.valid_until >= later)


# ---------------------------------------------------------------------- order and pages


def test_date_sort(corpus: Corpus) -> None:
    expected = sorted(corpus.docs, key=lambda d: d.record_id)  # ties: record_id ascending
    expected.sort(key=lambda d: d.created_at, reverse=True)
    expected.sort(key=lambda d: d.issued_on or date.min, reverse=True)  # no date: last
    assert corpus.search(sort="date") == [d.record_id for d in expected]
    kind = [d.record_id for d in expected if d.kind == "result"]
    assert corpus.search(sort="date", kind="result") == kind


def test_relevance_sort_orders_by_score(corpus: Corpus) -> None:
    hits = corpus.index.search(SearchQuery(text="giấy chứng nhận", size=50)).hits
    assert len(hits) > 3
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_pagination(corpus: Corpus) -> None:
    whole = corpus.search(sort="date")
    pages, page = [], 1
    while True:
        result = corpus.index.search(SearchQuery(sort="date", page=page, size=7))
        assert result.total == len(corpus.docs)
        if not result.hits:
            break
        pages.append([h.record_id for h in result.hits])
        page += 1
    assert [len(p) for p in pages] == [7, 7, 7, 7, 7]
    assert list(itertools.chain.from_iterable(pages)) == whole  # no overlap, no gap


# ---------------------------------------------------------------------- snippets and facets


def test_snippets_mark_matches(corpus: Corpus) -> None:
    hit = next(h for h in corpus.index.search(SearchQuery(text="thua dat 152")).hits
               if h.record_id == corpus.targets["land"].record_id)
    marked = re.findall(r"<mark>(.*?)</mark>", hit.snippet)
    assert {fold(m) for m in marked} >= {"thua", "dat", "152"}
    assert len(re.sub(r"</?mark>", "", hit.snippet)) <= 250
    # Title-only match: the title is the snippet.
    (company,) = corpus.index.search(SearchQuery(text="hộ kinh doanh", doc_type_code="KQ.HKD")).hits
    assert "<mark>" in company.snippet
    # No text query: the start of the text, unmarked.
    first = corpus.index.search(SearchQuery(owner_id=TAX_CODE)).hits[0]
    assert first.snippet.startswith("Tên hộ kinh doanh") and "<mark>" not in first.snippet


def test_snippet_escapes_html(make_index) -> None:
    index = make_index()
    index.index([make_doc(title="Biên bản", text="Ghi chú <script>alert(1)</script> & biên bản 3")])
    snippet = index.search(SearchQuery(text="biên bản")).hits[0].snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet and "<mark>" in snippet


def test_facets(corpus: Corpus) -> None:
    result = corpus.index.search(SearchQuery(size=1))
    for field in ("doc_type_code", "agency_code"):
        expected = Counter(getattr(d, field) for d in corpus.docs if getattr(d, field))
        assert result.facets[field] == dict(expected)  # over all matches, not the page
    result = corpus.index.search(SearchQuery(kind="result", size=1))
    expected = Counter(d.agency_code for d in corpus.docs if d.kind == "result")
    assert result.facets["agency_code"] == dict(expected)


def test_empty_text_is_match_all_with_filters(corpus: Corpus) -> None:
    assert corpus.index.search(SearchQuery(text="   ")).total == len(corpus.docs)
    found = corpus.search(text="", agencies=[AGENCY_C])
    assert set(found) == corpus.ids(lambda d: d.agency_code == AGENCY_C)


def test_rebuild_fills_a_new_index_aside_and_swaps_it_in_atomically(make_index):
    index = make_index()
    index.index([make_doc(title=f"Giấy khai sinh cũ {n}") for n in range(3)])
    seen_during: list[int] = []

    def new_docs():
        for n in range(10, 16):
            if n == 13:  # half-way: readers still get the old, complete index
                seen_during.append(index.search(SearchQuery(text="khai sinh")).total)
            yield make_doc(title=f"Giấy khai sinh mới {n}")

    assert index.rebuild(new_docs(), batch=2) == 6
    assert seen_during == [3]
    after = index.search(SearchQuery(text="khai sinh", size=50))
    assert after.total == 6 and all("mới" in hit.title for hit in after.hits)

    def broken():
        yield make_doc(title="Giấy khai sinh dở dang")
        raise RuntimeError("catalog went away")

    with pytest.raises(RuntimeError):
        index.rebuild(broken())
    assert index.search(SearchQuery(text="khai sinh", size=50)).total == 6  # unchanged by the failure


def test_an_index_made_before_issue_14_gets_the_new_fields(es_url: str, raw: Elasticsearch) -> None:
    """An index created by the previous sohoa (no owner_ids, owner_names, doc_type_name) keeps its
    documents and takes the new ones: the missing fields are added to its mapping on open."""
    from sohoa.search.es_index import index_mappings, index_settings

    name = new_alias()
    old = index_mappings()
    for field in ("owner_ids", "owner_names", "doc_type_name"):
        del old["properties"][field]
    raw.indices.create(index=f"{name}-old", settings=index_settings(), mappings=old, aliases={name: {}})
    index = ElasticIndex(es_url, index=name)
    try:
        index.index([make_doc(record_id="R1", owner_id="001204012345", owner_ids=["001204012345", "079190001234"],
                              owner_names="Lê Thị Mai")])
        raw.indices.refresh(index=name)
        assert [h.record_id for h in index.search(SearchQuery(owner_id="079190001234")).hits] == ["R1"]
        assert [h.record_id for h in index.search(SearchQuery(text="le thi mai")).hits] == ["R1"]
    finally:
        index.close()
