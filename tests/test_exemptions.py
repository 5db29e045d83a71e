"""TT 03/2025/TT-VPCP Điều 5.2 in the registry and the ratios (issue #19 item 4): components received
electronically count as digitised, an online dossier needs no scanning, a dossier whose every
component is exempted leaves the dossier-digitisation denominator, and every rendering says how
many electronic and exempted components it counted. A small hand-computed scenario, both counting
strategies, SQLite (and PostgreSQL in the servers lane)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from ratio_scenario import *  # noqa: F403  (the catalog fixture, on SQLite and PostgreSQL)
from ratio_scenario import AGENCIES_CSV, S1, P, dossier
from sohoa.archive.catalog import Record
from sohoa.core.errors import InvalidCode
from sohoa.ratios import registry, render
from sohoa.ratios.agencies import import_agencies
from sohoa.ratios.periods import parse_period
from sohoa.ratios.report import build

Q1 = parse_period("2024-Q1")
BASE = {"agency_code": S1, "procedure_code": "1.001193", "owner_id": "001204012345", "channel": "direct"}
# name → (received, extra registry cells); what each one counts for is written beside it.
DOSSIERS = {
    "e1": ("2024-01-10", {"components": "3", "electronic_components": "1"}),  # digitised: 1 electronic
    "e2": ("2024-01-11", {"channel": "online"}),  # digitised: submitted online
    "e3": ("2024-02-01", {"components": "2", "exempt_desk": "1", "exempt_secret": "1"}),  # all exempt: left out
    "e4": ("2024-02-02", {"components": "3", "exempt_verification": "1"}),  # two to scan, none scanned: ✗
    "e5": ("2024-03-01", {"components": "2", "exempt_other": "2"}),  # all exempt, yet a record filed: ✓
    "e6": ("2024-03-02", {}),  # nothing: ✗
    "e7": ("2024-03-03", {"exempt_desk": "1"}),  # an exemption, total unknown: stays in, ✗
}
CODES = {name: dossier(S1, received, i + 1) for i, (name, (received, _)) in enumerate(DOSSIERS.items())}


def _load(catalog, tmp_path) -> None:
    (tmp_path / "agencies.csv").write_text(AGENCIES_CSV, encoding="utf-8")
    assert not import_agencies(catalog, tmp_path / "agencies.csv").rejected
    rows = [{**BASE, "dossier_code": CODES[name], "received_on": received, **extra}
            for name, (received, extra) in DOSSIERS.items()]
    report = registry.import_rows(catalog, rows)
    assert (report.inserted, report.rejected) == (7, [])
    with catalog.session() as session, session.begin():
        session.add(Record(id="R" + "5" * 24, code=f"{S1}-TP-0000000005", kind="component", agency_code=S1,
                           dossier_code=CODES["e5"], retention_code="06", page_count=1, original_sha256="5" * 64,
                           prefix="x/", created_at=datetime(2024, 3, 1, tzinfo=UTC), metadata_json={}))


@pytest.mark.parametrize("strategy", ["probe", "join"])
def test_electronic_online_and_exempted_components(catalog, tmp_path, strategy):
    _load(catalog, tmp_path)
    report = build(catalog, Q1, agency=P, depth=1, strategy=strategy)
    rows = {row.agency_code: row for row in report.rows}
    for row in (rows[P], rows[S1]):  # S1 holds every dossier; P rolls it up
        counts, value = row.counts, row.values["dossier_digitisation"]
        assert (counts.received, counts.exempt_dossiers, value.numerator, value.denominator) == (7, 1, 3, 6), row
        assert (counts.electronic_components, counts.exempted_components) == (1, 6)
        assert row.values["reuse"].denominator == 7  # exemptions change dossier digitisation only
    by_month = build(catalog, Q1, agency=S1, depth=0, by_month=True, strategy=strategy)
    assert [(r.period.label, r.counts.exempt_dossiers, r.counts.exempted_components, r.counts.dossier_digitised)
            for r in by_month.rows] == [("2024-01", 0, 0, 2), ("2024-02", 1, 3, 0), ("2024-03", 0, 3, 1)]


def test_every_rendering_says_what_it_counted(catalog, tmp_path):
    _load(catalog, tmp_path)
    report = build(catalog, Q1, agency=P, depth=1)
    first = json.loads(render.to_json(report))[0]
    assert (first["electronic_components"], first["exempted_components"], first["exempt_dossiers"]) == (1, 6, 1)
    assert first["dossier_digitisation"]["denominator"] == 6
    rows = list(csv.DictReader(io.StringIO(render.to_csv(report))))
    assert [(r["agency_code"], r["electronic_components"], r["exempted_components"], r["exempt_dossiers"])
            for r in rows][:2] == [(P, "1", "6", "1"), (S1, "1", "6", "1")]
    assert ("1 components received electronically (counted as digitised), 6 components exempted from scanning; "
            "1 dossiers") in render.to_table(report)


def test_registry_keeps_the_counts_and_checks_them(catalog, tmp_path):
    _load(catalog, tmp_path)
    entry = registry.entry_of(catalog, CODES["e3"])
    assert (entry.components, entry.exempt_desk, entry.exempt_secret, entry.exempted) == (2, 1, 1, 2)
    agencies = {S1, P}
    cells = {**BASE, "dossier_code": CODES["e4"], "received_on": "2024-02-02"}
    with pytest.raises(registry.FieldError) as too_many:
        registry.validate({**cells, "components": "2", "electronic_components": "2", "exempt_other": "1"}, agencies)
    assert too_many.value.field == "components" and "(3)" in too_many.value.message_vi
    with pytest.raises(InvalidCode) as negative:
        registry.validate({**cells, "exempt_secret": "-1"}, agencies)
    assert negative.value.field == "exempt_secret" and "số tài liệu mật" in negative.value.message_vi


def test_csv_import_reads_the_optional_columns(catalog, tmp_path):
    (tmp_path / "agencies.csv").write_text(AGENCIES_CSV, encoding="utf-8")
    assert not import_agencies(catalog, tmp_path / "agencies.csv").rejected
    code = dossier(S1, "2024-01-10", 1)
    header = ",".join(registry.COLUMNS) + ",components,electronic_components,exempt_desk,result_code\n"
    (tmp_path / "d.csv").write_text(header + f"{code},{S1},1.001193,2024-01-10,direct,001204012345,2024-01-20,"
                                    "electronic,4,1,2,KQ-2024-77\n", encoding="utf-8")
    assert registry.import_dossiers(catalog, tmp_path / "d.csv").inserted == 1
    entry = registry.entry_of(catalog, code)
    assert (entry.components, entry.electronic_components, entry.exempt_desk, entry.result_code) == \
        (4, 1, 2, "KQ-2024-77")
    (tmp_path / "old.csv").write_text(",".join(registry.COLUMNS) + "\n" + f"{code},{S1},1.001193,2024-01-10,"
                                      "direct,001204012345,,\n", encoding="utf-8")
    assert registry.import_dossiers(catalog, tmp_path / "old.csv").updated == 1  # the old header still imports
    assert registry.entry_of(catalog, code).electronic_components == 0
