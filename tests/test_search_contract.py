"""The search contract, run on every SearchIndex implementation, with generated Vietnamese records."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sohoa.search.model import SearchDoc, SearchQuery

AGENCY, WARD = "000.00.12.H36", "000.00.31.H36"
OWNER, OTHER = "001204012345", "001204012346"


def _docs() -> list[SearchDoc]:
    def doc(n, title, text, **fields):
        base = dict(record_id=f"R{n:04d}", record_code=f"{AGENCY}-TP-{n:010d}", kind="component",
                    agency_code=AGENCY, created_at=datetime(2024, 1, n, tzinfo=timezone.utc), title=title, text=text)
        base.update(fields)
        return SearchDoc(**base)

    # Neutral filler (none of the query words) so each test controls what matches.
    filler = [[f"Căn cứ hồ sơ lưu trữ tại bộ phận một cửa, lần {i}-{j}." for j in range(30)] for i in range(6)]
    return [
        doc(1, "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT", "\n".join(filler[0]) + "\nthửa đất số 125",
            owner_id=OWNER, doc_type_code="GCN", issued_on=date(2023, 5, 2), dossier_code=f"{AGENCY}-240115-0001"),
        doc(2, "Giấy khai sinh", "\n".join(filler[1]) + "\nNguyễn Thị Thu Hương sinh ngày 01/02/1990",
            owner_id=OWNER, doc_type_code="GKS", issued_on=date(1990, 2, 5)),
        doc(3, "Đơn đề nghị", "\n".join(filler[2]) + "\nbãi bồi ven sông, đất dạt",
            owner_id=OTHER, doc_type_code="DON", issued_on=date(2024, 3, 1), agency_code=WARD,
            procedure_code="1.004227"),
        doc(4, "Giấy xác nhận tình trạng hôn nhân", "\n".join(filler[3]) + f"\nsố định danh {OWNER}9",
            owner_id="079204000111", doc_type_code="XNHN", issued_on=date(2024, 2, 1),
            valid_until=date(2024, 8, 1), kind="result"),
        doc(5, "Tờ khai", "\n".join(filler[4]) + "\nvề việc dat nen", owner_id=OTHER,
            doc_type_code="TK", issued_on=date(2022, 1, 1)),
    ]


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.servers)])
def index(request, tmp_path):
    if request.param == "sqlite":
        from sohoa.search.sqlite_index import SqliteIndex

        index = SqliteIndex(tmp_path / "search.db")
    else:
        from sohoa.search.es_index import ElasticIndex

        # The session's server (conftest): noida-db, or a real Elasticsearch 8 at SOHOA_TEST_ES_URL.
        index = ElasticIndex(request.getfixturevalue("es_url"), index=request.getfixturevalue("es_index_name"))
    index.recreate()
    assert index.index(_docs()) == 5
    return index


def ids(result):
    return [hit.record_id for hit in result.hits]


def test_count_get_delete_and_replace(index):
    assert index.count() == 5
    assert index.get("R0002").title == "Giấy khai sinh"
    index.delete("R0005")
    assert index.count() == 4 and index.get("R0005") is None
    replaced = index.get("R0002").model_copy(update={"title": "Bản sao giấy khai sinh"})
    index.index([replaced])
    assert index.count() == 4 and index.get("R0002").title == "Bản sao giấy khai sinh"


@pytest.mark.parametrize("text, expected", [
    ("giay chung nhan quyen su dung dat", "R0001"),
    ("GIẤY CHỨNG NHẬN", "R0001"),
    ("nguyen thi thu huong", "R0002"),
    ("Nguyễn Thị Thu Hương", "R0002"),
    ("tinh trang hon nhan", "R0004"),
])
def test_text_found_with_and_without_diacritics(index, text, expected):
    assert ids(index.search(SearchQuery(text=text)))[0] == expected


def test_d_with_stroke_folds_and_exact_ranks_first(index):
    folded = ids(index.search(SearchQuery(text="dat")))
    assert {"R0001", "R0003", "R0005"} <= set(folded)
    exact = ids(index.search(SearchQuery(text="đất")))
    assert exact[0] in ("R0001", "R0003") and exact.index("R0001") < exact.index("R0005")


def test_id_lookup_is_exact_never_fuzzy(index):
    assert sorted(ids(index.search(SearchQuery(text=OWNER)))) == ["R0001", "R0002"]  # not R0004's …3459


def test_dossier_code_lookup(index):
    assert ids(index.search(SearchQuery(text=f"{AGENCY}-240115-0001"))) == ["R0001"]


def test_filters(index):
    assert ids(index.search(SearchQuery(agencies=[WARD]))) == ["R0003"]
    assert ids(index.search(SearchQuery(procedure_code="1.004227"))) == ["R0003"]
    assert ids(index.search(SearchQuery(doc_type_code="GKS"))) == ["R0002"]
    assert ids(index.search(SearchQuery(kind="result"))) == ["R0004"]
    assert sorted(ids(index.search(SearchQuery(owner_id=OTHER)))) == ["R0003", "R0005"]
    window = SearchQuery(issued_from=date(2023, 1, 1), issued_to=date(2024, 2, 28), sort="date")
    assert ids(index.search(window)) == ["R0004", "R0001"]


def test_valid_only_excludes_expired(index):
    everything = set(ids(index.search(SearchQuery(size=50))))
    valid = set(ids(index.search(SearchQuery(valid_on=date(2025, 1, 1), size=50))))
    assert everything - valid == {"R0004"}


def test_date_sort_and_pagination(index):
    first = index.search(SearchQuery(sort="date", size=2))
    second = index.search(SearchQuery(sort="date", size=2, page=2))
    assert first.total == 5 and ids(first) == ["R0003", "R0004"] and ids(second) == ["R0001", "R0005"]


def test_snippets_mark_the_match_in_the_original_spelling(index):
    hit = index.search(SearchQuery(text="thua dat so 125")).hits[0]
    assert "<mark>thửa</mark>" in hit.snippet and "<mark>đất</mark>" in hit.snippet


def test_facets_count_by_document_type_and_agency(index):
    result = index.search(SearchQuery(text="giay"))
    assert result.facets["doc_type_code"] == {"GCN": 1, "GKS": 1, "XNHN": 1}
    assert result.facets["agency_code"] == {AGENCY: 3}


def test_ocr_noise_still_finds_the_record(index):
    # One word misread by OCR ("chứg"): the other words still rank the right record first.
    assert ids(index.search(SearchQuery(text="giấy chứg nhận quyền sử dụng đất")))[0] == "R0001"


def _more(index, *docs):
    """Add records to the shared five (numbered from 11, so they never clash)."""
    base = dict(kind="component", agency_code=AGENCY, created_at=datetime(2024, 2, 1, tzinfo=timezone.utc))
    index.index([SearchDoc(**{**base, "record_code": f"{AGENCY}-TP-{d['record_id']}", **d}) for d in docs])


@pytest.mark.parametrize("text", ["125/QĐ-UBND", "125/QD-UBND", "125 QĐ UBND", "125/qđ-ubnd", "QĐ 125"])
def test_document_number_ranks_its_record_first(index, text):
    _more(index,
          dict(record_id="R0011", title="Quyết định", number_symbol="125/QĐ-UBND",
               summary="Về việc cấp giấy chứng nhận quyền sử dụng đất", doc_type_code="QD"),
          # Near misses: another number of the same series, the same number of another series,
          # and texts citing decisions (as most administrative texts do), one of them this one.
          dict(record_id="R0012", title="Quyết định", number_symbol="126/QĐ-UBND", doc_type_code="QD"),
          dict(record_id="R0013", title="Thông báo", number_symbol="125/TB-UBND", doc_type_code="TB"),
          *(dict(record_id=f"R00{14 + i}", title="Tờ trình", text=f"Căn cứ Quyết định số {number}/QĐ-UBND"
                 " của Ủy ban nhân dân về việc giao đất, " + " ".join(["căn cứ hồ sơ lưu trữ"] * 40))
            for i, number in enumerate(["125", "37", "1250", "58"])))
    found = ids(index.search(SearchQuery(text=text)))
    assert found[0] == "R0011" and "R0014" in found
    assert not {"R0012", "R0013", "R0015", "R0016", "R0017"} & set(found)


@pytest.mark.parametrize("text", ["Trần Văn Đức", "tran van duc", "TRẦN VĂN ĐỨC", "Tran Van Duc"])
def test_owner_name_in_summary_with_and_without_diacritics(index, text):
    _more(index,
          dict(record_id="R0011", title="Giấy chứng nhận đăng ký kết hôn", summary="Ông Trần Văn Đức và bà Lê Thị Mai"),
          dict(record_id="R0012", title="Giấy khai sinh", summary="Họ tên: Trần Văn Đạt, cha: Trần Văn Lực"),
          dict(record_id="R0013", title="Đơn đề nghị", summary="Người làm đơn: Nguyễn Văn Đức"))
    found = ids(index.search(SearchQuery(text=text)))
    assert found == ["R0011"]  # not the near names


def test_every_person_the_document_names_finds_it(index):
    """Issue #14: a marriage certificate is found by the wife's CCCD printed on it (other_ids), by
    the owner's name extracted from the page, and the Kho lookup (owner_id filter) includes it."""
    wife = "079190001234"
    _more(index,
          dict(record_id="R0011", title="Giấy chứng nhận kết hôn", owner_id=OTHER, owner_ids=[OTHER, wife],
               owner_names="Phạm Minh Khôi", doc_type_code="KH", doc_type_name="Giấy chứng nhận kết hôn"))
    assert ids(index.search(SearchQuery(owner_id=wife))) == ["R0011"]
    assert ids(index.search(SearchQuery(text=wife))) == ["R0011"]  # an ID typed as text is exact
    assert sorted(ids(index.search(SearchQuery(owner_id=OTHER)))) == ["R0003", "R0005", "R0011"]
    assert ids(index.search(SearchQuery(text="pham minh khoi"))) == ["R0011"]
    [hit] = index.search(SearchQuery(owner_id=wife)).hits
    assert hit.doc_type_name == "Giấy chứng nhận kết hôn"
    index.delete("R0011")
    assert ids(index.search(SearchQuery(owner_id=wife))) == []


def test_an_index_of_the_previous_layout_is_rebuilt_from_its_bodies(tmp_path):
    """The SQLite layout 1 (before owners and owner_names) is rebuilt on open, nothing lost."""
    import sqlite3

    from sohoa.search.sqlite_index import SqliteIndex

    path = tmp_path / "search.db"
    SqliteIndex(path).index(_docs())
    db = sqlite3.connect(path)
    db.execute("DROP TABLE owners")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    reopened = SqliteIndex(path)
    assert reopened.count() == 5
    assert sorted(ids(reopened.search(SearchQuery(owner_id=OTHER)))) == ["R0003", "R0005"]
