"""The QĐ 766 ratios on the hand-computed scenario (tests/ratio_scenario.py), on SQLite and on a
real PostgreSQL: every numerator and denominator, the roll-up, targets, scores, months, and the
table, CSV and JSON of the real `sohoa ratios` command agreeing with each other."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from conftest import run_sohoa
from ratio_scenario import *
from ratio_scenario import C1, C2, D1, D2, EXPECTED_MONTHS, EXPECTED_Q1, S1, P, load_scenario
from sohoa.ratios import render, targets
from sohoa.ratios.indicators import INDICATORS, Target, score
from sohoa.ratios.periods import parse_period, period_between
from sohoa.ratios.report import build

Q1 = parse_period("2024-Q1")


def counts_of(row) -> tuple[int, ...]:
    c = row.counts
    return (c.received, c.dossier_digitised, c.reused, c.issued, c.result_digitised, c.electronic)


def test_every_numerator_and_denominator_rolled_up(catalog, tmp_path):
    load_scenario(catalog, tmp_path)
    report = build(catalog, Q1)
    assert [(row.agency_code, row.depth) for row in report.rows] == [
        (P, 0), (S1, 1), (D1, 1), (C1, 2), (C2, 2), (D2, 1)]  # pre-order, children sorted by code
    assert {row.agency_code: counts_of(row) for row in report.rows} == EXPECTED_Q1
    province = report.rows[0]
    assert province.values["dossier_digitisation"].numerator == 5
    assert province.values["dossier_digitisation"].denominator == 10
    assert province.values["result_digitisation"].denominator == 7
    assert province.values["reuse"].numerator == 3
    assert province.values["electronic_results"].numerator == 6


@pytest.mark.parametrize("strategy", ["probe", "join"])
def test_both_counting_strategies_agree_on_both_databases(catalog, tmp_path, strategy):
    """The default picks one strategy per database; both must give the hand-computed counts everywhere."""
    load_scenario(catalog, tmp_path)
    assert {r.agency_code: counts_of(r) for r in build(catalog, Q1, strategy=strategy).rows} == EXPECTED_Q1
    monthly = build(catalog, Q1, depth=0, by_month=True, strategy=strategy)
    assert [(r.period.label, counts_of(r)) for r in monthly.rows] == list(EXPECTED_MONTHS.items())
    one = build(catalog, Q1, agency=D1, by_month=True, strategy=strategy)
    assert sum(counts_of(r)[0] for r in one.rows if r.agency_code == D1) == EXPECTED_Q1[D1][0]
    assert counts_of(build(catalog, parse_period("2024"), depth=0, strategy=strategy).rows[0]) == (11, 6, 3, 8, 4, 7)


def test_no_dossiers_is_no_data_never_zero_or_hundred(catalog, tmp_path):
    load_scenario(catalog, tmp_path)
    rows = {row.agency_code: row for row in build(catalog, Q1).rows}
    for code in (C2, D2):
        for indicator in INDICATORS:
            value = rows[code].values[indicator]
            assert (value.numerator, value.denominator, value.rate, value.score) == (0, 0, None, None)
        assert not rows[code].below_target and not rows[code].has_data and rows[code].score_total is None


def test_default_targets_and_scores(catalog, tmp_path):
    load_scenario(catalog, tmp_path)
    province = build(catalog, Q1).rows[0]
    assert {k: (v.target, v.points) for k, v in province.values.items()} == {
        "dossier_digitisation": (0.8, 100), "result_digitisation": (0.8, 100), "reuse": (0.65, 100),
        "electronic_results": (1.0, 100)}
    # rate × points ÷ target, every indicator below target
    assert province.values["dossier_digitisation"].score == pytest.approx(0.5 * 100 / 0.8)  # 62.5
    assert province.values["result_digitisation"].score == pytest.approx(4 / 7 * 100 / 0.8)  # 71.43
    assert province.values["reuse"].score == pytest.approx(0.3 * 100 / 0.65)  # 46.15
    assert province.values["electronic_results"].score == pytest.approx(6 / 7 * 100)  # 85.71
    assert province.below_target and province.score_max == 400


def test_targets_inherit_down_the_tree_and_scores_follow(catalog, tmp_path):
    load_scenario(catalog, tmp_path)
    targets.set_targets(catalog, None, {"dossier_digitisation": 0.60}, {})  # every agency
    targets.set_targets(catalog, D1, {"reuse": 0.40}, {"reuse": 50.0})  # D1 and its communes
    targets.set_targets(catalog, S1, {"result_digitisation": 0.50}, {})
    rows = {row.agency_code: row for row in build(catalog, Q1).rows}
    expected = {  # agency → indicator → (target, points, rate, score), all by hand
        P: {"dossier_digitisation": (0.6, 100, 0.5, 0.5 * 100 / 0.6),
            "result_digitisation": (0.8, 100, 4 / 7, 4 / 7 * 100 / 0.8),
            "reuse": (0.65, 100, 0.3, 0.3 * 100 / 0.65), "electronic_results": (1.0, 100, 6 / 7, 6 / 7 * 100)},
        S1: {"dossier_digitisation": (0.6, 100, 0.5, 0.5 * 100 / 0.6), "result_digitisation": (0.5, 100, 2 / 3, 100),
             "reuse": (0.65, 100, 0.25, 0.25 * 100 / 0.65), "electronic_results": (1.0, 100, 2 / 3, 2 / 3 * 100)},
        D1: {"dossier_digitisation": (0.6, 100, 0.6, 100),  # exactly at target: full points
             "result_digitisation": (0.8, 100, 2 / 3, 2 / 3 * 100 / 0.8),
             "reuse": (0.4, 50, 0.4, 50), "electronic_results": (1.0, 100, 1.0, 100)},
        C1: {"dossier_digitisation": (0.6, 100, 2 / 3, 100), "result_digitisation": (0.8, 100, 1.0, 100),
             "reuse": (0.4, 50, 1 / 3, 1 / 3 * 50 / 0.4), "electronic_results": (1.0, 100, 1.0, 100)},
    }
    for code, indicators in expected.items():
        for indicator, (target, points, rate, points_scored) in indicators.items():
            value = rows[code].values[indicator]
            assert (value.target, value.points) == (target, points), (code, indicator)
            assert value.rate == pytest.approx(rate) and value.score == pytest.approx(points_scored), (code, indicator)
    assert rows[C2].values["reuse"].target == 0.4  # inherited from D1 even with no data
    assert rows[D2].values["reuse"].target == 0.65  # D1's target is not D2's
    assert rows[D1].score_total == pytest.approx(100 + 2 / 3 * 100 / 0.8 + 50 + 100) and rows[D1].score_max == 350
    assert rows[D1].below_target  # result digitisation 66.7% < 80%
    targets.set_targets(catalog, D1, {"reuse": None}, {"reuse": None})  # back to inheriting
    assert build(catalog, Q1, agency=D1, depth=0).rows[0].values["reuse"].target == 0.65


def test_score_formula():
    assert score(0.9, Target(0.8, 100)) == 100
    assert score(0.8, Target(0.8, 100)) == 100
    assert score(0.4, Target(0.8, 100)) == pytest.approx(50)
    assert score(0.5, Target(0.65, 20)) == pytest.approx(0.5 * 20 / 0.65)
    assert score(0.0, Target(0.0, 100)) == 100  # a zero target is always met, never a division by zero
    assert score(None, Target(0.8, 100)) is None


def test_periods_across_boundaries(catalog, tmp_path):
    load_scenario(catalog, tmp_path)

    def province(period):
        return counts_of(build(catalog, period, depth=0).rows[0])

    # The year adds b3 (received 04-01: digitised, no result) and a3's April result (electronic, not digitised).
    assert province(parse_period("2024")) == (11, 6, 3, 8, 4, 7)
    # 2023: only a4 was received (result record, no component: not digitised); no result issued in 2023.
    assert counts_of(build(catalog, parse_period("2023"), agency=S1, depth=0).rows[0]) == (1, 0, 0, 0, 0, 0)
    assert province(parse_period("2024-03")) == EXPECTED_MONTHS["2024-03"]
    assert province(period_between("2024-03-01", "2024-03-31")) == EXPECTED_MONTHS["2024-03"]
    # Days at both ends are inclusive: 03-31 holds b2, 04-01 b3 and 04-03 a3's result.
    assert province(period_between("2024-03-31", "2024-04-03")) == (2, 2, 1, 1, 0, 1)
    assert province(period_between("2024-04-01", "2024-04-02")) == (1, 1, 0, 0, 0, 0)


def test_by_month_rows_add_up_to_the_period(catalog, tmp_path):
    load_scenario(catalog, tmp_path)
    report = build(catalog, Q1, depth=0, by_month=True)
    assert [(row.period.label, counts_of(row)) for row in report.rows] == list(EXPECTED_MONTHS.items())
    sums = tuple(sum(month[i] for month in EXPECTED_MONTHS.values()) for i in range(6))
    assert sums == EXPECTED_Q1[P]
    # With all agencies: one tree per month, the commune's February has no result ("no data").
    rows = {(row.period.label, row.agency_code): row for row in build(catalog, Q1, by_month=True).rows}
    assert len(rows) == 3 * 6
    assert counts_of(rows["2024-02", C1]) == (1, 0, 0, 0, 0, 0)
    assert rows["2024-02", C1].values["result_digitisation"].rate is None


def test_agency_and_depth_select_the_subtree(catalog, tmp_path):
    load_scenario(catalog, tmp_path)
    assert [(r.agency_code, r.depth) for r in build(catalog, Q1, agency=D1).rows] == [(D1, 0), (C1, 1), (C2, 1)]
    assert [r.agency_code for r in build(catalog, Q1, depth=1).rows] == [P, S1, D1, D2]
    assert counts_of(build(catalog, Q1, agency=D1, depth=0).rows[0]) == EXPECTED_Q1[D1]  # still rolled up


def test_reimport_is_idempotent_and_updates(catalog, tmp_path):
    from sohoa.ratios.registry import import_dossiers

    load_scenario(catalog, tmp_path)
    again = import_dossiers(catalog, tmp_path / "dossiers.csv")
    assert (again.inserted, again.updated, again.rejected) == (0, 12, [])
    assert {r.agency_code: counts_of(r) for r in build(catalog, Q1).rows} == EXPECTED_Q1
    # The one-stop system now reports a5's result as electronic: S1 and P gain one electronic result.
    changed = (tmp_path / "dossiers.csv").read_text(encoding="utf-8").replace("2024-01-30,paper",
                                                                            "2024-01-30,electronic")
    (tmp_path / "changed.csv").write_text(changed, encoding="utf-8")
    assert import_dossiers(catalog, tmp_path / "changed.csv").updated == 12
    rows = {r.agency_code: counts_of(r) for r in build(catalog, Q1).rows}
    assert rows[S1] == (4, 2, 1, 3, 2, 3) and rows[P] == (10, 5, 3, 7, 4, 7)


def _cli(catalog, *args):
    import os

    env = {**os.environ, "SOHOA_DATABASE_URL": catalog.url}
    return run_sohoa(*args, env=env)


def test_cli_table_csv_and_json_agree(catalog, tmp_path):
    agencies, dossiers = __import__("ratio_scenario").write_scenario(tmp_path)
    assert _cli(catalog, "agencies", "import", agencies).returncode == 0
    __import__("ratio_scenario").add_records(catalog)
    imported = _cli(catalog, "dossiers", "import", dossiers)
    assert imported.returncode == 0 and "12 imported (12 new, 0 updated), 0 rejected" in imported.stdout
    assert _cli(catalog, "targets", "set", "--agency", D1, "--reuse", "40%", "--points", "50").returncode == 0
    as_json = _cli(catalog, "ratios", "--period", "2024-Q1", "--format", "json")
    as_csv = _cli(catalog, "ratios", "--period", "2024-Q1", "--format", "csv")
    as_table = _cli(catalog, "ratios", "--period", "2024-Q1")
    assert as_json.returncode == as_csv.returncode == as_table.returncode == 0, as_json.stderr
    objects = json.loads(as_json.stdout)
    table_rows = {}
    for line in as_table.stdout.splitlines():
        cells = render.parse_table_row(line)
        if cells and cells[0] in EXPECTED_Q1:
            table_rows[cells[0]] = cells
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [o["agency_code"] for o in objects] == [r["agency_code"] for r in csv_rows] == list(table_rows) == \
        [P, S1, D1, C1, C2, D2]
    # the indentation shows the hierarchy
    assert any(line.startswith("    " + C1) for line in as_table.stdout.splitlines())
    for obj, row in zip(objects, csv_rows):
        code = obj["agency_code"]
        assert obj["period"] == row["period"] == "2024-Q1"
        received, dd, reused, issued, rd, el = EXPECTED_Q1[code]
        numbers = {"dossier_digitisation": (dd, received), "result_digitisation": (rd, issued),
                   "reuse": (reused, received), "electronic_results": (el, issued)}
        cells = table_rows[code]
        for k, indicator in enumerate(INDICATORS):
            value = obj[indicator]
            assert set(value) >= {"numerator", "denominator", "rate", "target", "score"}
            assert (value["numerator"], value["denominator"]) == numbers[indicator]
            assert (int(row[f"{indicator}_numerator"]), int(row[f"{indicator}_denominator"])) == numbers[indicator]
            if value["denominator"]:
                assert value["rate"] == pytest.approx(value["numerator"] / value["denominator"], abs=1e-6)
                assert float(row[f"{indicator}_rate"]) == value["rate"]
                assert float(row[f"{indicator}_score"]) == value["score"]
                assert cells[2 + 4 * k] == f"{value['rate'] * 100:.1f}%"
                assert cells[4 + 4 * k] == f"{value['score']:.1f}"
            else:
                assert value["rate"] is None and value["score"] is None
                assert row[f"{indicator}_rate"] == row[f"{indicator}_score"] == "no data"
                assert cells[2 + 4 * k] == "no data" and cells[4 + 4 * k] == "-"
            assert float(row[f"{indicator}_target"]) == value["target"]
            assert cells[1 + 4 * k] == f"{value['numerator']}/{value['denominator']}"
            assert cells[3 + 4 * k] == f"{value['target'] * 100:g}%"
        assert (row["below_target"] == "yes") == obj["below_target"]
        assert cells[-2] == ("below target" if obj["below_target"] else "ok" if obj["score_total"] is not None
                             else "no data")
        assert cells[-1] == obj["agency_name"] == row["agency_name"]
    d1 = next(o for o in objects if o["agency_code"] == D1)
    assert (d1["reuse"]["target"], d1["reuse"]["points"], d1["reuse"]["score"]) == (0.4, 50, 50)
    assert objects[0]["agency_name"] == "UBND tỉnh Nam Định"


def test_cli_by_month_json(catalog, tmp_path):
    load_scenario(catalog, tmp_path)
    result = _cli(catalog, "ratios", "--period", "2024-Q1", "--by", "month", "--depth", "0", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["period"] for row in rows] == list(EXPECTED_MONTHS)
    for row, (received, dd, reused, issued, rd, el) in zip(rows, EXPECTED_MONTHS.values()):
        assert (row["dossier_digitisation"]["numerator"], row["dossier_digitisation"]["denominator"]) == (dd, received)
        assert (row["reuse"]["numerator"], row["result_digitisation"]["numerator"]) == (reused, rd)
        assert (row["electronic_results"]["numerator"], row["electronic_results"]["denominator"]) == (el, issued)


def test_stored_records_and_the_reuse_command_count(catalog, tmp_path):
    """End to end with the archive and search code: a record written to a real store and catalogued,
    then reused into a later dossier with `archive.reuse`: both dossiers count."""
    import hashlib

    from ratio_scenario import dossier, write_scenario
    from sohoa.archive import catalog_write, records
    from sohoa.archive.backends import Archive
    from sohoa.archive.stores import open_store
    from sohoa.core.records import Event, Kind, RecordMetadata, record_id_for
    from sohoa.ratios.agencies import import_agencies
    from sohoa.ratios.registry import import_rows
    from sohoa.archive.reuse import reuse

    agencies, _ = write_scenario(tmp_path)
    import_agencies(catalog, agencies)
    archive = Archive(open_store((tmp_path / "objects").as_uri()), catalog)
    first, second = dossier(C1, "2024-01-04", 1), dossier(C1, "2024-02-07", 2)
    original, pdfa = tmp_path / "scan.jpg", tmp_path / "scan.pdf"
    original.write_bytes("Giấy khai sinh, bản quét".encode() * 40)
    pdfa.write_bytes(b"%PDF-1.7 test")
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    meta = RecordMetadata(record_id=record_id_for(sha), record_code=f"{C1}-TP-{sha[:10].upper()}",
                          kind=Kind.component, agency_code=C1, dossier_code=first, owner_id="001204012345",
                          title="Giấy khai sinh", page_count=1, original_sha256=sha,
                          original_size=original.stat().st_size)
    events = [Event(record_id=meta.record_id, action="ingested"), Event(record_id=meta.record_id, action="stored")]
    catalog_write.add_record(catalog, meta, records.store_record(archive.store, meta, original, pdfa, ["x"], [[]],
                                                                 events).objects, events)
    reuse(archive, meta.record_id, second, "cán bộ một cửa", today=date(2024, 2, 7))
    row = {"agency_code": C1, "procedure_code": "1.001", "channel": "direct", "owner_id": "001204012345",
           "result_issued_on": "", "result_form": ""}
    assert import_rows(catalog, [{**row, "dossier_code": first, "received_on": "2024-01-04"},
                                 {**row, "dossier_code": second, "received_on": "2024-02-07"}]).inserted == 2
    commune = build(catalog, Q1, agency=C1, depth=0).rows[0]
    assert counts_of(commune) == (2, 2, 1, 0, 0, 0)  # both digitised, the second by reuse
