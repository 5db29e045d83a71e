"""Every form of every page, submitted exactly as the page renders it (empty optional fields
included, as a browser sends them), as every role: no answer may be a 4xx or 5xx. An empty field
means "the default" everywhere (issue #18: an empty "Số cấp hiển thị" was a 400)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from sohoa.ratios import agencies, registry
from sohoa.ratios.csvinput import rows
from web_fixtures import AGENCIES_CSV, AGENCY_A, DOSSIER, OWNER, USERS, web_env  # noqa: F401  (a fixture)

PAGES = ["/", "/tai-len", "/tra-cuu", "/tra-cuu?q=giấy", "/kho", f"/kho?owner_id={OWNER}", "/xac-nhan",
         "/lo-so-hoa", "/bao-cao", "/bao-cao?period=2024", "/quan-tri", "/quan-tri/nhat-ky", "/quan-tri/thu-tuc",
         "/van-ban", "/thong-bao", "/can-xu-ly", "/ho-so/000.00.12.H36-240116-0002"]  # the lists (H3), a dossier (H4)
# Forms a browser would not send as rendered (a required field is empty): the value a person types.
TYPED = {"dossier": "000.00.12.H36-240116-0002", "owner_id": OWNER, "username": "nguoi.moi",
         "password": "mat-khau-moi-dai-123", "label": "máy chủ một cửa", "name": "Nguyễn Văn An"}
# Actions left out, each for its reason: they end the session the crawl runs in, or need a signing key.
LEFT_OUT = ("/dang-xuat", "/trang-thai", "/mat-khau", "/ban-sao")


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    required_empty: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    select: str | None = None  # the select being read: its first or selected option is its value
    button: bool = False  # a named submit button was seen
    options: list[tuple[str, bool]] = field(default_factory=list)


class FormParser(HTMLParser):
    """The forms of a page and the fields a browser would send from each, unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action") or "", (a.get("method") or "get").lower()))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        if tag == "button" and a.get("name") and (a.get("type") or "submit") == "submit" and not form.button:
            form.button = True  # a browser sends the clicked button's name; this is the first one
            form.fields.append((a["name"], a.get("value") or ""))
            return
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                form.files.append(a["name"])
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields.append((a["name"], a.get("value") or "on"))
            elif kind not in ("submit", "button", "reset", "image"):
                value = a.get("value") or ""
                if "required" in a and not value:
                    form.required_empty.append(a["name"])
                form.fields.append((a["name"], value))
        elif tag == "textarea" and a.get("name"):
            form.fields.append((a["name"], ""))
        elif tag == "select" and a.get("name"):
            form.select, form.options = a["name"], []
        elif tag == "option" and form.select:
            form.options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag) -> None:
        if tag == "select" and self.forms and self.forms[-1].select:
            form = self.forms[-1]
            chosen = [value for value, selected in form.options if selected] or [v for v, _ in form.options[:1]]
            if chosen:
                form.fields.append((form.select, chosen[0]))
            form.select = None


def forms_of(html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def typed(form: Form) -> list[tuple[str, str]]:
    """The fields as sent: as rendered, with what a person must type into a required empty field."""
    missing = [name for name in form.required_empty if name not in TYPED]
    assert not missing, f"{form.action}: no typed value for the required field(s) {missing}"
    return [(name, TYPED[name] if name in form.required_empty else value) for name, value in form.fields]


def submit(client, page: str, form: Form):
    target = urljoin(page, form.action or page)
    data = typed(form)
    if form.method == "get":
        return client.get(target.split("?")[0], params=data)
    assert len(dict(data)) == len(data), f"{form.action}: a field name twice"
    return client.post(target, data=dict(data))


@pytest.fixture(scope="module")
def seeded(web_env):
    agencies.upsert_agencies(web_env.catalog, rows(AGENCIES_CSV, agencies.COLUMNS, "agencies"))
    report = registry.import_rows(web_env.catalog, [
        {"dossier_code": DOSSIER, "agency_code": AGENCY_A, "procedure_code": "1.001193", "received_on": "2024-01-15",
         "channel": "direct", "owner_id": OWNER},
        {"dossier_code": TYPED["dossier"], "agency_code": AGENCY_A, "procedure_code": "1.001193",
         "received_on": "2024-01-16", "channel": "direct", "owner_id": OWNER}])
    assert report.imported == 2
    return web_env


def test_form_parser_reads_what_a_browser_sends():
    html = ('<form method="get" action="/bao-cao"><select name="period"><option value="">x</option>'
            '<option value="2024" selected>y</option></select><input type="number" name="depth" value="">'
            '<input type="checkbox" name="by" value="month"><input name="q" required></form>')
    (form,) = forms_of(html)
    assert form.fields == [("period", "2024"), ("depth", ""), ("q", "")]
    assert form.required_empty == ["q"]


@pytest.mark.parametrize("username", list(USERS))
def test_every_form_as_rendered_is_accepted(seeded, username):
    client = seeded.login(username)
    pages = PAGES + [f"/ban-ghi/{seeded.record_id}"]
    sent = 0
    for path in pages:
        response = client.get(path)
        if response.status_code in (403, 404):  # not this role's page
            continue
        assert response.status_code == 200, (path, response.status_code)
        for form in forms_of(response.text):
            if any(part in form.action for part in LEFT_OUT) or form.files:
                continue  # an upload needs a scan (test_web covers it); the others end the session
            answer = submit(client, path, form)
            sent += 1
            assert answer.status_code < 400, (username, path, form.action, typed(form), answer.text[answer.text.find("<main>"):][:300])
    assert sent >= 2, f"{username}: only {sent} forms were sent"


def test_the_report_form_with_an_empty_depth_is_the_default(seeded):
    client = seeded.login("lanhdao")
    response = client.get("/bao-cao", params={"period": "2024", "from": "", "to": "", "agency": "", "depth": ""})
    assert response.status_code == 200, response.text[:500]
    assert "Năm 2024" in response.text and "Kỳ 2024" not in response.text
    api = client.get("/api/ratios", params={"period": "2024", "depth": ""})
    assert api.status_code == 200 and api.json()


def test_periods_read_like_people_write_them():
    from datetime import date

    from sohoa.web.labels import period_vi
    from sohoa.web.routes.reports import period_choices

    assert period_vi("2024") == "Năm 2024" and period_vi("2024-Q1") == "Quý I/2024"
    assert period_vi("2024-Q4") == "Quý IV/2024" and period_vi("2024-03") == "Tháng 3/2024"
    assert period_vi("2024-01-01..2024-03-31") == "01/01/2024 – 31/03/2024"
    offered = dict(period_choices(date(2026, 5, 20), since=2019))
    assert [v for v in offered if v.isdigit()] == [str(y) for y in range(2026, 2018, -1)]
    assert offered["2026-Q2"] == "Quý II/2026" and "2026-Q3" not in offered and "2025-Q4" in offered
    assert "2026-06" not in offered and offered["2025-12"] == "Tháng 12/2025"


def test_the_period_list_starts_at_the_earliest_data(seeded):
    from datetime import date

    issued = seeded.catalog.record(seeded.record_id).issued_on  # what the extraction read, if anything
    oldest = min([2024] + ([issued.year] if issued else []))  # 2024: the oldest dossier received
    page = seeded.login("lanhdao").get("/bao-cao").text
    for year in range(oldest, date.today().year + 1):
        assert f'<option value="{year}" >Năm {year}</option>' in page, year
    assert f'<option value="{oldest - 1}" ' not in page


def test_first_run_the_login_page_says_how_to_make_the_first_admin(tmp_path):
    """No account yet: the login page shows the exact command (with the full path of `sohoa`, which
    is not on PATH); nothing on the web can create an admin; once an account exists the hint is gone."""
    import sys
    from pathlib import Path

    from fastapi.testclient import TestClient
    from sohoa.web import accounts
    from web_fixtures import PASSWORD, make_app

    app = make_app(tmp_path / "data")
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/dang-nhap").text
        assert "Chưa có tài khoản nào" in page
        assert f"{Path(sys.executable).parent / 'sohoa'} users add quantri --role admin" in page
        for method, path in (("post", "/api/users"), ("post", "/quan-tri/nguoi-dung"), ("get", "/quan-tri")):
            answer = getattr(client, method)(path, **({"json": {"username": "ke.gian", "role": "admin",
                                                                 "password": PASSWORD * 2}} if method == "post" else {}),
                                             follow_redirects=False)
            assert answer.status_code in (303, 401), (path, answer.status_code)
        assert not accounts.list_users(app.state.sohoa.catalog)
        accounts.add_user(app.state.sohoa.catalog, "quantri", "admin", PASSWORD * 2, None, full_name="Quản Trị")
        assert "Chưa có tài khoản nào" not in client.get("/dang-nhap").text
