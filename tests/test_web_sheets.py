"""Issue #15 on the web: "In tờ bìa" on the upload page gives the cover and separator sheets of a
dossier of the scanner's agencies, which the code reader reads back; other agencies' dossiers are
refused as if they did not exist."""

from __future__ import annotations

import numpy as np
import pypdfium2

from sohoa.split.codes import read_codes
from web_fixtures import AGENCY_B, DOSSIER, web_env  # noqa: F401  (web_env is a fixture)


def _codes_of(pdf: bytes) -> list[list[str]]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [[code.text for code in read_codes(np.asarray(page.render(scale=200 / 72).to_pil().convert("L")))]
                for page in document]
    finally:
        document.close()


def test_a_scanner_prints_the_sheets_of_a_dossier_of_their_agency(web_env):
    scanner = web_env.login("quet.a")
    form = scanner.get("/tai-len")
    assert form.status_code == 200 and "In tờ bìa và tờ phân cách" in form.text and 'action="/to-bia"' in form.text
    response = scanner.get("/to-bia", params={"dossier": DOSSIER, "count": 2})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert DOSSIER in response.headers["content-disposition"]
    codes = _codes_of(response.content)
    assert len(codes) == 3
    assert f"SOHOA1:COVER:{DOSSIER}" in codes[0]
    assert codes[1] == codes[2] == ["SOHOA1:SEP"]


def test_other_agencies_bad_codes_and_other_roles_are_refused(web_env):
    scanner = web_env.login("quet.a")
    other = scanner.get("/to-bia", params={"dossier": f"{AGENCY_B}-240115-0001"})
    assert other.status_code == 404 and "phạm vi" in other.text
    assert scanner.get("/to-bia", params={"dossier": "khong-phai-ma"}).status_code == 400
    assert scanner.get("/to-bia", params={"count": 51}).status_code in (400, 422)
    assert scanner.get("/to-bia", params={"count": 0}).status_code == 400
    assert web_env.login("canbo").get("/to-bia", params={"dossier": DOSSIER}).status_code == 403
    assert web_env.client().get("/to-bia", params={"dossier": DOSSIER}, follow_redirects=False).status_code in (
        302, 303, 401)
