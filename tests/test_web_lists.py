"""Issue #18: the document list ("Văn bản"): thumbnails, sort, filters, pages, the same list in
`GET /api/records`, one audit row per page (its thumbnails add none); an empty search shows the
latest records; scanners browse what their agency has digitised (no owner IDs, thumbnails or record
pages); bulk actions on a selection (set fields, reuse with the confirm step, export, cover sheets)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, date, datetime

import pytest
from sohoa.archive import catalog_write, records
from sohoa.core.records import Event, Kind, RecordMetadata, record_id_for
from sohoa.web import audit
from web_fixtures import AGENCY_A, AGENCY_B, DOSSIER, OWNER, csrf, web_env  # noqa: F401  (web_env is a fixture)

OTHER_OWNER = "079199001234"
EXTRA = [  # agency, doc type, title, issued, stored, owner, dossier
    (AGENCY_A, "CCCD", "Căn cước công dân", date(2021, 5, 3), datetime(2026, 11, 1, 3, tzinfo=UTC), OWNER,
     "000.00.12.H36-261101-0001"),
    (AGENCY_A, "HK", "Sổ hộ khẩu", date(2019, 1, 9), datetime(2026, 11, 15, 3, tzinfo=UTC), OTHER_OWNER,
     "000.00.12.H36-261115-0002"),
    (AGENCY_B, "GPXD", "Giấy phép xây dựng", date(2024, 7, 1), datetime(2026, 11, 20, 3, tzinfo=UTC), OTHER_OWNER,
     "000.00.13.H36-261120-0003"),
]


@pytest.fixture(scope="module")
def listed(web_env, tmp_path_factory):
    """Three more records (their PDF/A the fixture record's), stored and catalogued as an ingest does."""
    archive = web_env.app.state.sohoa.archive
    real = web_env.catalog.record(web_env.record_id)
    folder = tmp_path_factory.mktemp("more")
    pdfa = folder / "pdfa.pdf"
    pdfa.write_bytes(archive.store.get(next(o.key for o in real.objects if o.name == "pdfa.pdf")))
    ids = {}
    for n, (agency, doc_type, title, issued, stored, owner, dossier) in enumerate(EXTRA):
        original = folder / f"scan-{n}.jpg"
        original.write_bytes(f"{title} {n}".encode() * 64)
        sha = hashlib.sha256(original.read_bytes()).hexdigest()
        meta = RecordMetadata(record_id=record_id_for(sha), record_code=f"{agency}-{doc_type}-{sha[:8].upper()}",
                              kind=Kind.component, agency_code=agency, dossier_code=dossier, owner_id=owner,
                              doc_type_code=doc_type, title=title, issued_on=issued, page_count=real.page_count,
                              original_sha256=sha, original_size=original.stat().st_size, created_at=stored)
        events = [Event(record_id=meta.record_id, action="ingested"), Event(record_id=meta.record_id, action="stored")]
        objects = records.store_record(archive.store, meta, original, pdfa, [title], [[]], events).objects
        catalog_write.add_record(archive.catalog, meta, objects, events)
        ids[doc_type] = meta.record_id
    ids["GKS"] = web_env.record_id
    return web_env, ids


def _codes(env, ids, *types):
    return [env.catalog.record(ids[t]).code for t in types]


def test_the_list_shows_the_agency_newest_first_with_thumbnails_and_one_audit_row(listed):
    env, ids = listed
    official = env.login("canbo")
    page = official.get("/van-ban")
    assert page.status_code == 200 and "<h1>Văn bản đã số hóa</h1>" in page.text
    gks, hk, cccd, gpxd = _codes(env, ids, "GKS", "HK", "CCCD", "GPXD")
    assert page.text.index(gks) < page.text.index(hk) < page.text.index(cccd)  # stored, newest first
    assert gpxd not in page.text  # another agency's
    assert f'/ban-ghi/{ids["GKS"]}/trang/1.png?embedded=1' in page.text and "3 văn bản" in page.text
    [row] = audit.entries(env.catalog, username="canbo", action=audit.LIST, limit=1)
    assert set(row.record_ids.split()) == {ids["GKS"], ids["HK"], ids["CCCD"]}
    before = len(audit.entries(env.catalog, username="canbo", limit=1000))
    thumb = official.get(f"/ban-ghi/{ids['HK']}/trang/1.png?embedded=1")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    assert len(audit.entries(env.catalog, username="canbo", limit=1000)) == before  # the list's row covers it
    assert official.get(f"/ban-ghi/{ids['HK']}/trang/1.png").status_code == 200  # asked for by itself: its own row
    assert audit.entries(env.catalog, username="canbo", limit=1)[0].action == audit.THUMBNAIL


def test_one_record_page_view_writes_one_row(listed):
    env, ids = listed
    official = env.login("canbo")
    before = len(audit.entries(env.catalog, username="canbo", limit=1000))
    page = official.get(f"/ban-ghi/{ids['CCCD']}").text
    assert f"/ban-ghi/{ids['CCCD']}/pdfa?embedded=1" in page
    official.get(f"/ban-ghi/{ids['CCCD']}/pdfa?embedded=1")  # what the page's frame and images load
    official.get(f"/ban-ghi/{ids['CCCD']}/trang/1.png?embedded=1")
    rows = audit.entries(env.catalog, username="canbo", limit=1000)
    assert len(rows) == before + 1 and rows[0].action == audit.VIEW


def test_sort_filters_and_pages_match_the_api(listed):
    env, ids = listed
    official = env.login("canbo")
    gks, hk, cccd = _codes(env, ids, "GKS", "HK", "CCCD")

    def api(**params) -> list[str]:
        answer = official.get("/api/records", params=params)
        assert answer.status_code == 200, answer.text
        return [r["record_code"] for r in answer.json()["records"]]

    assert api(sort="code", order="asc") == sorted([gks, hk, cccd])
    issued = [r["issued_on"] for r in official.get("/api/records", params={"sort": "issued", "order": "asc"})
              .json()["records"]]
    dated = [day for day in issued if day]
    assert dated == sorted(dated) and issued == dated + [None] * (len(issued) - len(dated))  # undated last
    by_issue = api(sort="issued", order="asc")
    assert by_issue.index(hk) < by_issue.index(cccd)  # 2019 before 2021
    assert api(sort="type", order="asc") == [cccd, gks, hk]
    assert api(doc_type="HK") == [hk]
    assert api(owner_id=OTHER_OWNER) == [hk]
    assert api(dossier=DOSSIER) == [gks]
    assert api(**{"from": "2026-11-10", "to": "2026-11-15"}) == [hk]
    assert api(size=1, page=2) == [hk] and api(limit=1, offset=2) == [cccd]
    page = official.get("/van-ban", params={"size": 1, "page": 2})
    assert hk in page.text and gks not in page.text and "trang 2/3" in page.text and "Trang sau" in page.text
    bad = official.get("/van-ban", params={"owner_id": "12345"})
    assert bad.status_code == 400 and "12345" in bad.text
    admin = [r["record_code"] for r in env.login("quantri").get("/api/records", params={"agency": AGENCY_B}).json()["records"]]
    assert admin == _codes(env, ids, "GPXD")


def test_scanners_browse_their_agency_without_personal_details(listed):
    env, ids = listed
    scanner = env.login("quet.a")
    page = scanner.get("/van-ban")
    assert page.status_code == 200 and env.catalog.record(ids["HK"]).code in page.text
    assert OTHER_OWNER not in page.text and "/trang/1.png" not in page.text and "/ban-ghi/" not in page.text
    latest = scanner.get("/tra-cuu")
    assert latest.status_code == 200 and "Văn bản mới lưu gần đây" in latest.text and "Giấy khai sinh" in latest.text
    assert "/ban-ghi/" not in latest.text and OWNER not in latest.text
    assert scanner.get(f"/ban-ghi/{ids['HK']}").status_code == 403 and scanner.get("/kho").status_code == 403
    other = env.login("quet.b").get("/van-ban").text
    assert env.catalog.record(ids["GPXD"]).code in other and env.catalog.record(ids["HK"]).code not in other


def test_an_empty_search_shows_the_latest_records(listed):
    env, ids = listed
    page = env.login("canbo").get("/tra-cuu")
    assert "Văn bản mới lưu gần đây" in page.text and f"/ban-ghi/{ids['GKS']}" in page.text
    assert audit.entries(env.catalog, username="canbo", limit=1)[0].action == audit.SEARCH


def test_bulk_actions_on_a_selection(listed):
    env, ids = listed
    official = env.login("canbo")
    token = csrf(official, "/van-ban")
    chosen = [ids["HK"], ids["CCCD"]]
    none = official.post("/van-ban/thao-tac", data={"csrf_token": token, "action": "export"})
    assert none.status_code == 200 and "Chưa chọn văn bản nào" in none.text  # back to the list, nothing done

    exported = official.post("/van-ban/thao-tac", data={"csrf_token": token, "action": "export", "ids": chosen})
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert "bagit.txt" in names and "data/METS.xml" in names
    assert {f"data/{code}/pdfa.pdf" for code in _codes(env, ids, "HK", "CCCD")} <= set(names)

    sheets = official.post("/van-ban/thao-tac", data={"csrf_token": token, "action": "sheets", "ids": chosen})
    assert sheets.status_code == 200 and sheets.content.startswith(b"%PDF-")

    described = official.post("/van-ban/thao-tac", follow_redirects=False, data={
        "csrf_token": token, "action": "describe", "ids": chosen, "issuing_agency": "Công an tỉnh Hà Tĩnh"})
    assert described.status_code == 303
    assert "Đã cập nhật thông tin 2 văn bản." in official.get(described.headers["location"]).text
    for rid in chosen:
        record = env.catalog.record(rid)
        assert record.metadata_json["issuing_agency"] == "Công an tỉnh Hà Tĩnh" and record.metadata_version == 2

    new = "000.00.12.H36-261201-0201"
    asked = official.post("/van-ban/thao-tac", follow_redirects=False,
                          data={"csrf_token": token, "action": "reuse", "ids": chosen, "dossier": new})
    assert asked.status_code == 303 and asked.headers["location"].startswith("/su-dung-lai?")
    confirm = official.get(asked.headers["location"])
    assert confirm.status_code == 200 and confirm.text.count("Sẽ được gắn") == 2
    assert env.catalog.reuse_link(ids["HK"], new) is None
    done = official.post("/su-dung-lai", follow_redirects=False,
                         data={"csrf_token": token, "ids": chosen, "dossier": new})
    assert done.status_code == 303
    assert "Đã sử dụng lại 2 giấy tờ cho hồ sơ" in official.get(done.headers["location"]).text
    assert all(env.catalog.reuse_link(rid, new) is not None for rid in chosen)
    # another agency's record in the selection: 404, nothing exported
    mixed = official.post("/van-ban/thao-tac", data={"csrf_token": token, "action": "export",
                                                    "ids": [ids["HK"], ids["GPXD"]]})
    assert mixed.status_code == 404


def test_the_audit_log_pages_filter_by_user_action_record_dossier_and_dates(listed):
    env, ids = listed
    official = env.login("canbo")
    official.get("/van-ban", params={"dossier": DOSSIER})  # a list row with the dossier as its purpose
    official.get(f"/ban-ghi/{ids['HK']}")
    admin = env.login("quantri")
    short = admin.get("/nhat-ky", params={"user": "canbo"}, follow_redirects=False)
    assert short.status_code == 303 and short.headers["location"] == "/quan-tri/nhat-ky?user=canbo"
    assert official.get("/nhat-ky").status_code == 403

    def shown(**params) -> list:
        answer = admin.get("/api/audit", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    mine = shown(user="canbo", limit=1000)
    assert mine and {row["username"] for row in mine} == {"canbo"}
    purposed = shown(dossier=DOSSIER, user="canbo")
    assert purposed and {row["dossier"] for row in purposed} == {DOSSIER} and len(purposed) < len(mine)
    assert {row["action"] for row in shown(record=ids["HK"], action="view")} == {"view"}
    assert shown(user="canbo", **{"from": "2000-01-01", "to": "2000-12-31"}) == []
    assert len(shown(user="canbo", **{"from": "2000-01-01", "limit": 1000})) == len(mine)
    page = admin.get("/quan-tri/nhat-ky", params={"user": "canbo", "dossier": DOSSIER})
    assert page.status_code == 200 and f"{len(purposed)} mục" in page.text and f'value="{DOSSIER}"' in page.text
    everything = admin.get("/quan-tri/nhat-ky", params={"user": "canbo"})
    assert f"{len(mine)} mục" in everything.text
    if len(mine) > 50:
        assert "page=2" in everything.text and "user=canbo" in everything.text
    bad = admin.get("/quan-tri/nhat-ky", params={"from": "hôm qua"})
    assert bad.status_code == 400 and "không phải ngày dạng YYYY-MM-DD" in bad.text


def test_a_scanner_cannot_look_a_citizen_up_nor_read_ids_or_ocr_text_in_hits(listed):
    """The attacker's side of "scanners may search their agency": no lookup by a citizen's ID (filter or
    query), and hits without the owner's ID or the OCR snippet, on the page and in the API."""
    env, ids = listed
    scanner = env.login("quet.a")
    for url in (f"/api/search?q={OWNER}", f"/api/search?owner_id={OWNER}", f"/tra-cuu?q={OWNER}",
                f"/tra-cuu?owner_id={OWNER}", f"/van-ban?owner_id={OWNER}", f"/api/records?owner_id={OWNER}"):
        response = scanner.get(url)
        assert response.status_code in (400, 403), url
        assert f"/ban-ghi/{ids['CCCD']}" not in response.text and ids["CCCD"] not in response.text, url
    hits = scanner.get("/api/search", params={"q": "Căn cước"}).json()["hits"]
    assert hits and all(hit["owner_id"] is None and hit["snippet"] == "" for hit in hits)
    assert "name=\"owner_id\"" not in scanner.get("/tra-cuu").text
    official = env.login("canbo").get("/api/search", params={"q": OWNER}).json()["hits"]
    assert any(hit["owner_id"] == OWNER for hit in official)  # people who may search still see it
