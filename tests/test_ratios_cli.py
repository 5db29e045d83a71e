"""`sohoa ratios` and `sohoa targets` on bad input (one line, a distinct exit code, no traceback),
and the chart: PNG and SVG, Vietnamese labels drawn with real glyphs."""

from __future__ import annotations

import os
import warnings

import pytest
from conftest import run_sohoa
from ratio_scenario import C1, D1, P, add_records, write_scenario
from sohoa.archive.catalog import Catalog
from sohoa.ratios import chart
from sohoa.ratios.agencies import import_agencies
from sohoa.ratios.indicators import LABELS_VI
from sohoa.ratios.periods import parse_period
from sohoa.ratios.registry import import_dossiers
from sohoa.ratios.report import build


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A data dir holding the scenario, for the command-line tests (read-only except targets)."""
    folder = tmp_path_factory.mktemp("ratios-cli")
    catalog = Catalog(f"sqlite:///{folder / 'catalog.db'}")
    agencies, dossiers = write_scenario(folder)
    import_agencies(catalog, agencies)
    add_records(catalog)
    import_dossiers(catalog, dossiers)
    yield folder, catalog
    catalog.dispose()


def _run(folder, *args):
    env = {**os.environ, "SOHOA_DATABASE_URL": f"sqlite:///{folder / 'catalog.db'}"}
    return run_sohoa(*args, env=env)


@pytest.mark.parametrize("args, code, message", [
    (["--period", "2024-Q5"], 2, "invalid period '2024-Q5'"),
    (["--period", "2024-13"], 2, "month 13"),
    (["--period", "2024", "--from", "2024-01-01", "--to", "2024-02-01"], 2, "either --period or --from/--to"),
    (["--from", "2024-01-01"], 2, "--from and --to go together"),
    (["--from", "2024-03-01", "--to", "2024-02-01"], 2, "is after --to"),
    (["--from", "01/03/2024", "--to", "2024-04-01"], 2, "invalid --from date"),
    (["--depth", "-1"], 2, "--depth"),
    (["--format", "xml"], 2, "--format"),
    (["--by", "week"], 2, "--by"),
    (["--agency", "H36"], 14, "invalid agency code 'H36'"),
    (["--agency", "000.00.99.H36"], 17, "no agency 000.00.99.H36"),
    (["--chart", "ratios.gif"], 2, "must be a .png or .svg file"),
    (["--chart", "no-such-folder/ratios.png"], 13, "does not exist"),
])
def test_ratios_bad_input(loaded, args, code, message):
    folder, _ = loaded
    result = _run(folder, "ratios", *args)
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sohoa: error: ")
    assert message in result.stderr and result.stdout == ""


@pytest.mark.parametrize("args, code, message", [
    ([], 2, "nothing to set"),
    (["--reuse", "120"], 2, "invalid --reuse '120'"),
    (["--reuse", "bảy mươi"], 2, "expected a percentage"),
    (["--points", "0"], 2, "--points"),
    (["--inherit", "--reuse", "70"], 2, "--inherit"),
    (["--agency", "000.00.99.H36", "--reuse", "70"], 17, "no agency"),
    (["--agency", "000.00.99", "--reuse", "70"], 14, "invalid agency code"),
])
def test_targets_bad_input(loaded, args, code, message):
    folder, _ = loaded
    result = _run(folder, "targets", "set", *args)
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_targets_set_show_and_inherit(loaded):
    folder, _ = loaded
    result = _run(folder, "targets", "set", "--agency", D1, "--reuse", "70,5%", "--points", "20")
    assert result.returncode == 0 and "70.5% / 20 pts*" in result.stdout
    shown = _run(folder, "targets", "show").stdout
    commune = next(line for line in shown.splitlines() if line.startswith(C1))
    assert "70.5% / 20 pts " in commune + " " and "*" not in commune  # inherited, not its own
    assert next(line for line in shown.splitlines() if line.startswith(P)).split()[9] == "65%"
    assert _run(folder, "targets", "set", "--agency", D1, "--inherit").returncode == 0
    assert "70.5%" not in _run(folder, "targets", "show").stdout


def test_no_agencies_yet(tmp_path):
    result = run_sohoa("ratios", env={**os.environ, "SOHOA_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"})
    assert result.returncode == 17 and "sohoa agencies import" in result.stderr


@pytest.mark.parametrize("name, by_month", [("ratios.png", False), ("ratios.svg", False), ("trend.svg", True),
                                            ("trend.PNG", True)])
def test_chart_png_svg_with_vietnamese_glyphs(loaded, tmp_path, name, by_month):
    _, catalog = loaded
    report = build(catalog, parse_period("2024-Q1"), by_month=by_month)
    path = tmp_path / name
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font": fail on it
        chart.draw(report, path)
    data = path.read_bytes()
    if name.lower().endswith(".png"):
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    else:
        svg = data.decode("utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        for label in LABELS_VI.values():  # text kept as text (svg.fonttype none), diacritics intact
            assert label in svg
        assert "UBND tỉnh Nam Định" in svg and "DejaVu Sans" in svg
    assert not list(tmp_path.glob(".*partial"))


def test_cli_chart_and_output(loaded, tmp_path):
    folder, _ = loaded
    target = tmp_path / "tỷ-lệ.png"
    result = _run(folder, "ratios", "--period", "2024-Q1", "--depth", "1", "--chart", target)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes().startswith(b"\x89PNG") and f"chart: {target}" in result.stderr
    assert "QĐ 766 ratios, period 2024-Q1 (2024-01-01 to 2024-03-31)" in result.stdout
    assert C1 not in result.stdout  # depth 1 stops at the districts
