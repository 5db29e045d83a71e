"""The dossier page /ho-so/{code} (issue #18, issue #19): the registry's data (procedure, agency, owner,
dates, channel, exemptions), its components and result with record links, what was reused and from
which dossier, and from the owner's Kho what need not be asked for again (with the reuse action);
agency scope; one audit row per view; the owner ID and the dossier code as links on the record page,
in search results and on the Kho; the ratio page says what it counted under TT 03/2025 Điều 5.2."""

from __future__ import annotations

import html

import pytest
from dossier_fixtures import BASE, DA1, OWNER, A
from sohoa.archive.reuse import reuse
from sohoa.ratios import registry
from sohoa.web import audit
from web_fixtures import csrf

DA2 = f"{A}-240301-0007"  # this module's dossier


@pytest.fixture(scope="module")
def env(dossier_env):
    return dossier_env


@pytest.fixture(scope="module")
def dossier(env):
    """DA2: received by post, 3 components, 1 received electronically, 1 only shown at the desk; the
    birth certificate of DA1 reused into it."""
    report = registry.import_rows(env.catalog, [{**BASE, "dossier_code": DA2, "agency_code": A,
                                                 "received_on": "2024-03-01", "channel": "postal", "components": "3",
                                                 "electronic_components": "1", "exempt_desk": "1"}])
    assert report.inserted == 1, report.rejected
    reuse(env.web.archive, env.records["gks"], DA2, "canbo.a")
    return DA2


def _views(env, username: str) -> list:
    return audit.entries(env.catalog, username=username, action=audit.DOSSIER, limit=100)


def test_the_page_shows_the_dossier_reuse_and_the_kho(env, dossier):
    client = env.login("canbo.a")
    before = len(_views(env, "canbo.a"))
    page = client.get(f"/ho-so/{DA2}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    for words in (f"Hồ sơ {DA2}", "1.001193", "Ủy ban nhân dân huyện Mỹ Lộc", "01/03/2024", "Qua bưu chính",
                  "3 thành phần", "1 thành phần nhận điện tử", "Chỉ xuất trình tại quầy (không thu lại): 1",
                  "Chưa trả kết quả", "Giấy khai sinh", "Giấy phép xây dựng"):
        assert words in text, words
    assert f'href="/kho?owner_id={OWNER}&dossier={DA2.replace(".", ".")}"' in text.replace("%2D", "-")
    assert f'href="/ho-so/{DA1}"' in text  # the reused birth certificate came from DA1
    assert "Người dùng canbo.a" in text and "Ủy ban nhân dân huyện Vụ Bản" in text  # names, not codes
    # B's building permit, from the owner's Kho: the reuse action (the confirmation page) for this dossier
    assert f'name="ids" value="{env.records["gpxd"]}"' in text and f'name="dossier" value="{DA2}"' in text
    rows = _views(env, "canbo.a")
    assert len(rows) == before + 1 and rows[0].dossier_code == DA2
    assert env.records["gpxd"] in rows[0].record_ids.split() and env.records["gks"] in rows[0].record_ids.split()


def test_components_and_result_link_their_records(env, dossier):
    text = env.login("lanhdao.p").get(f"/ho-so/{DA1}").text
    for name in ("gks", "kq"):
        assert f'href="/ban-ghi/{env.records[name]}"' in text and f'href="/ban-ghi/{env.records[name]}/pdfa"' in text
    assert "Quyết định cấp phép" in text


def test_scope_another_agency_and_roles(env, dossier):
    other = env.login("canbo.b")
    before = len(_views(env, "canbo.b"))
    refused = other.get(f"/ho-so/{DA2}")
    assert refused.status_code == 404 and "Không có hồ sơ" in refused.text
    assert len(_views(env, "canbo.b")) == before  # nothing shown, nothing logged as seen
    assert env.login("quet.a").get(f"/ho-so/{DA2}").status_code == 403


def test_owner_and_dossier_codes_are_links_everywhere(env, dossier):
    client = env.login("canbo.a")
    record = html.unescape(client.get(f"/ban-ghi/{env.records['gks']}").text)
    assert f'href="/ho-so/{DA1}"' in record and f'href="/ho-so/{DA2}"' in record  # filed in DA1, reused in DA2
    assert f'href="/kho?owner_id={OWNER}&dossier={DA1}"' in record
    found = client.get("/tra-cuu", params={"owner_id": OWNER})
    assert f'href="/kho?owner_id={OWNER}"' in found.text
    assert f'href="/ho-so/{DA1}"' in client.get("/tra-cuu", params={"dossier": DA1.lower()}).text
    kho = client.get("/kho", params={"owner_id": OWNER, "dossier": DA2})
    assert f'href="/ho-so/{DA2}"' in kho.text


def test_the_ratio_page_and_the_csv_import_carry_the_exemptions(env, dossier):
    leader = env.login("lanhdao.p")
    page = leader.get("/bao-cao", params={"period": "2024"})
    assert "đã tính 1 thành phần nhận điện tử (coi như đã số hóa) và 1 thành phần được miễn số hóa" in page.text
    admin = env.login("quantri")
    code = f"{A}-240320-0007"
    body = (",".join(registry.COLUMNS) + ",components,exempt_secret\n"
            f"{code},{A},1.001193,2024-03-20,direct,{OWNER},,,2,2\n")
    imported = admin.post("/api/dossiers/import", content=body.encode(),
                          headers={"Content-Type": "text/csv", "X-CSRF-Token": csrf(admin, "/bao-cao")})
    assert imported.status_code == 200 and imported.json()["imported"] == 1, imported.text
    entry = registry.entry_of(env.catalog, code)
    assert (entry.components, entry.exempt_secret) == (2, 2)
    again = leader.get("/bao-cao", params={"period": "2024"})
    assert "và 3 thành phần được miễn số hóa; 1 hồ sơ có mọi thành phần được miễn" in again.text
