"""Imports of the agency tree and the one-stop dossier registry: bad rows are reported line by line
with a reason while the good ones go in; re-import updates; file-level problems have their own exit
codes. Runs the Python API and the real `sohoa` command."""

from __future__ import annotations

import os
from datetime import date

import pytest
from conftest import run_sohoa
from ratio_scenario import *
from ratio_scenario import AGENCIES_CSV, C1, D1, S1, P, dossier
from sohoa.archive.catalog import Catalog
from sohoa.ratios.agencies import import_agencies, load_tree
from sohoa.ratios.models import Agency, Dossier
from sohoa.ratios.registry import import_dossiers, import_rows
from sqlalchemy import select

HEADER = "dossier_code,agency_code,procedure_code,received_on,channel,owner_id,result_issued_on,result_form\n"


@pytest.fixture
def sqlite_catalog(tmp_path) -> Catalog:
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield catalog
    catalog.dispose()


def _agencies(catalog: Catalog, tmp_path) -> None:
    path = tmp_path / "agencies.csv"
    path.write_text(AGENCIES_CSV, encoding="utf-8")
    assert import_agencies(catalog, path).inserted == 6


def test_agencies_bad_rows_reported_good_rows_imported(sqlite_catalog, tmp_path):
    path = tmp_path / "agencies.csv"
    path.write_text(
        "code,name,parent_code,level\n"
        f"{C1},UBND xã Mỹ Hà,{D1},commune\n"          # 2: child before its parent: fine
        f"{P},UBND tỉnh Nam Định,,province\n"         # 3
        f"{D1},UBND huyện Mỹ Lộc,{P},district\n"      # 4
        "000.00.12,Sở Tư pháp,,department\n"          # 5: three groups only
        f"000.00.13.H36,,{P},department\n"            # 6: no name
        f"000.00.14.H36,Sở Y tế,{P},ministry\n"       # 7: unknown level
        f"000.00.15.H36,Sở Xây dựng,000.00.99.H36,department\n"  # 8: unknown parent
        f"000.00.16.H36,Sở Nội vụ,000.00.16.H36,department\n"    # 9: its own parent
        f"000.00.17.H36,Sở A,000.00.18.H36,department\n"          # 10: a loop with line 11
        f"000.00.18.H36,Sở B,000.00.17.H36,department\n"          # 11
        f"{P},UBND tỉnh (bản trùng),,province\n"                  # 12: duplicate code
        f"000.00.19.H36,Sở C,000.00.15.H36,department\n"          # 13: parent rejected (line 8)
        "000.00.20.H36,Sở D\n"                                    # 14: too few fields
        f"000.00.21.h36 , Sở  Tài   chính ,{P},Department\n",     # 15: normalised, accepted
        encoding="utf-8")
    report = import_agencies(sqlite_catalog, path)
    assert (report.inserted, report.updated) == (4, 0)
    assert [(e.line, e.reason.split(":")[0].split(" ")[0]) for e in report.rejected] == [
        (5, "invalid"), (6, "empty"), (7, "invalid"), (8, "parent"), (9, "agency"), (10, "parent"),
        (11, "parent"), (12, "agency"), (13, "parent"), (14, "expected")]
    reasons = {e.line: e.reason for e in report.rejected}
    assert "QCVN 102" in reasons[5] and "province | department | district | commune" in reasons[7]
    assert "loop" in reasons[10] and "loop" in reasons[11] and "already on line 3" in reasons[12]
    assert "000.00.15.H36 was rejected" in reasons[13]
    tree = load_tree(sqlite_catalog)
    assert tree.agencies["000.00.21.H36"].name == "Sở Tài chính"
    assert tree.agencies["000.00.21.H36"].level == "department"
    assert [code for code, _ in tree.walk(tree.roots)] == [P, "000.00.21.H36", D1, C1]  # children by code


def test_agencies_reimport_updates_and_refuses_a_loop(sqlite_catalog, tmp_path):
    _agencies(sqlite_catalog, tmp_path)
    path = tmp_path / "again.csv"
    path.write_text(f"code,name,parent_code,level\n{S1},Sở Tư pháp tỉnh Nam Định,{P},department\n"
                    f"{P},UBND tỉnh Nam Định,{C1},province\n", encoding="utf-8")
    report = import_agencies(sqlite_catalog, path)
    assert (report.inserted, report.updated) == (0, 1)
    assert report.rejected[0].line == 3 and "loop" in report.rejected[0].reason
    with sqlite_catalog.session() as session:
        assert session.get(Agency, S1).name == "Sở Tư pháp tỉnh Nam Định"
        assert session.get(Agency, P).parent_code is None


def test_registry_rows_line_by_line(catalog, tmp_path):
    _agencies(catalog, tmp_path)
    good = dossier(S1, "2024-01-15", 1)
    rows = [
        f"{good},{S1},1.001,2024-01-15,direct,001204012345,2024-01-20,electronic",           # 2 ok
        f"{S1}-240115,{S1},1.001,2024-01-15,direct,001204012345,,",                          # 3 dossier code
        f"{dossier(S1, '2024-01-15', 2)},{D1},1.001,2024-01-15,direct,001204012345,,",       # 4 other agency
        f"{dossier('000.00.77.H36', '2024-01-15', 1)},000.00.77.H36,1.001,2024-01-15,direct,001204012345,,",  # 5
        f"{dossier(S1, '2024-01-15', 3)},{S1},1.001,15/01/2024,direct,001204012345,,",       # 6 date format
        f"{dossier(S1, '2024-01-15', 4)},{S1},1.001,2024-01-15,fax,001204012345,,",          # 7 channel
        f"{dossier(S1, '2024-01-15', 5)},{S1},1.001,2024-01-15,online,12345,,",              # 8 owner ID
        f"{dossier(S1, '2024-01-15', 6)},{S1},1.001,2024-01-15,online,001204012345,2024-01-14,paper",  # 9 before
        f"{dossier(S1, '2024-01-15', 7)},{S1},1.001,2024-01-15,online,001204012345,2024-01-16,",       # 10 no form
        f"{dossier(S1, '2024-01-15', 8)},{S1},1.001,2024-01-15,online,001204012345,,paper",            # 11 no date
        f"{dossier(S1, '2024-01-15', 9)},{S1},1.001,2024-01-15,online,001204012345,2024-01-16,email",  # 12 form
        f"{dossier(S1, '2024-01-15', 10)},{S1},,2024-01-15,online,001204012345,,",           # 13 procedure
        f"{good},{S1},1.001,2024-01-15,direct,001204012345,,",                               # 14 duplicate
        f"{dossier(S1, '2024-01-15', 11)},{S1},1.001,2024-01-15,online",                     # 15 fields
        f"{dossier(S1, '2024-02-30', 12)},{S1},1.001,2024-02-30,online,001204012345,,",      # 16 no such day
        f"{dossier(C1, '2024-01-16', 1)},{C1},1.002,2024-01-16,POSTAL,0101234567-001,,",     # 17 ok
        "",                                                                                  # 18 blank: skipped
        f"{dossier(C1, '2024-01-16', 2)},{C1},1.002,2024-01-16,online,0101234567,2024-01-16,paper",  # 19 ok
    ]
    path = tmp_path / "dossiers.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    report = import_dossiers(catalog, path)
    assert (report.inserted, report.updated) == (3, 0)
    reasons = {e.line: e.reason for e in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
    assert "invalid dossier code" in reasons[3]
    assert "does not belong to agency" in reasons[4]
    assert "unknown agency 000.00.77.H36" in reasons[5]
    assert "invalid received_on '15/01/2024'" in reasons[6]
    assert "invalid channel 'fax'" in reasons[7]
    assert "invalid owner ID" in reasons[8]
    assert "before received_on" in reasons[9]
    assert "go together" in reasons[10] and "go together" in reasons[11]
    assert "invalid result_form 'email'" in reasons[12]
    assert "procedure_code" in reasons[13]
    assert "already on line 2" in reasons[14]
    assert "expected 8 fields, got 5" in reasons[15]
    assert "2024-02-30" in reasons[16] or "invalid dossier code" in reasons[16]
    with catalog.session() as session:
        stored = session.get(Dossier, dossier(C1, "2024-01-16", 1))
        assert (stored.channel, stored.owner_id, stored.result_issued_on, stored.result_form, stored.in_registry) == \
            ("postal", "0101234567-001", None, None, True)
        first = session.get(Dossier, good)
        assert (first.received_on, first.result_issued_on, first.result_form) == \
            (date(2024, 1, 15), date(2024, 1, 20), "electronic")


def test_python_api_for_the_web_app(sqlite_catalog, tmp_path):
    _agencies(sqlite_catalog, tmp_path)
    code = dossier(S1, "2024-05-02", 1)
    items = [{"dossier_code": code, "agency_code": S1, "procedure_code": "1.001", "received_on": date(2024, 5, 2),
              "channel": "online", "owner_id": "001204012345", "result_issued_on": None, "result_form": None},
             {"dossier_code": "bad", "agency_code": S1}]
    report = import_rows(sqlite_catalog, items)
    assert (report.inserted, [e.line for e in report.rejected]) == (1, [2])
    items[0].update(result_issued_on="2024-05-09", result_form="electronic")
    assert import_rows(sqlite_catalog, items[:1]).updated == 1
    with sqlite_catalog.session() as session:
        assert session.scalar(select(Dossier.result_form).where(Dossier.code == code)) == "electronic"


def test_bom_and_semicolons_from_spreadsheets(sqlite_catalog, tmp_path):
    _agencies(sqlite_catalog, tmp_path)
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + HEADER.replace(",", ";")
                      + f"{dossier(S1, '2024-01-15', 1)};{S1};1.001;2024-01-15;direct;001204012345;;\n").encode())
    report = import_dossiers(sqlite_catalog, path)
    assert (report.inserted, report.rejected) == (1, [])


def _run(tmp_path, *args):
    env = {**os.environ, "SOHOA_DATA_DIR": str(tmp_path / "data")}
    env.pop("SOHOA_DATABASE_URL", None)
    return run_sohoa(*args, env=env)


def test_cli_imports_report_lines_and_exit_codes(tmp_path):
    agencies = tmp_path / "agencies.csv"
    agencies.write_text(AGENCIES_CSV + "000.00.12,Sở lỗi,,department\n", encoding="utf-8")
    result = _run(tmp_path, "agencies", "import", agencies)
    assert result.returncode == 14
    assert "6 imported (6 new, 0 updated), 1 rejected" in result.stdout
    assert result.stderr.strip() == f"{agencies}:8: invalid agency code '000.00.12': expected four dot-separated " \
                                    "groups like 000.00.12.H36 (QCVN 102:2016)"
    dossiers = tmp_path / "dossiers.csv"
    dossiers.write_text(HEADER + f"{dossier(S1, '2024-01-15', 1)},{S1},1.001,2024-01-15,direct,001204012345,,\n"
                        f"{dossier(S1, '2024-01-15', 2)},{S1},1.001,2024-01-15,walk-in,001204012345,,\n",
                        encoding="utf-8")
    result = _run(tmp_path, "dossiers", "import", dossiers)
    assert result.returncode == 14 and "1 imported (1 new, 0 updated), 1 rejected" in result.stdout
    assert result.stderr.strip() == f"{dossiers}:3: invalid channel 'walk-in': expected direct | postal | online"
    again = _run(tmp_path, "dossiers", "import", dossiers)
    assert "1 imported (0 new, 1 updated), 1 rejected" in again.stdout
    listing = _run(tmp_path, "agencies", "list")
    assert listing.returncode == 0 and f"    {C1}  commune     UBND xã Mỹ Hà" in listing.stdout


@pytest.mark.parametrize("content, code, message", [
    (None, 3, "no such file"),
    (b"", 4, "empty file"),
    (b"\n  \n", 4, "empty file"),
    (b"dossier_code,agency_code\n", 5, "header must be dossier_code,agency_code,procedure_code"),
    (HEADER.encode("utf-16"), 5, "not UTF-8"),
    (HEADER.encode() + b"000.00.12.H36-240115-0001,S\xf5 T\xdd ph\xe1p\n", 5, "not UTF-8"),  # a legacy code page
])
def test_cli_file_problems(tmp_path, content, code, message):
    path = tmp_path / "dossiers.csv"
    if content is not None:
        path.write_bytes(content)
    result = _run(tmp_path, "dossiers", "import", path)
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr
