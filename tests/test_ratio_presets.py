"""Target presets (issue #19 item 5): `sohoa targets presets` lists them with their sources,
`sohoa targets preset NAME [--agency CODE]` applies one into the same storage as `targets set`,
through the real command on a real SQLite catalog of the ratio scenario's agency tree."""

from __future__ import annotations

import os

import pytest
from conftest import run_sohoa
from ratio_scenario import C1, D1, D2, write_scenario
from sohoa.archive.catalog import Catalog
from sohoa.ratios import presets
from sohoa.ratios.agencies import import_agencies, load_tree
from sohoa.ratios.indicators import DEFAULT_TARGETS, INDICATORS
from sohoa.ratios.targets import ALL_AGENCIES, effective


@pytest.fixture
def catalog(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    agencies, _ = write_scenario(tmp_path)
    import_agencies(catalog, agencies)
    yield tmp_path, catalog
    catalog.dispose()


def _run(folder, *args):
    env = {**os.environ, "SOHOA_DATABASE_URL": f"sqlite:///{folder / 'catalog.db'}"}
    return run_sohoa(*args, env=env)


def _in_force(catalog) -> dict[str, dict[str, float]]:
    return {code: {i: t.target for i, t in row.items()} for code, row in effective(catalog, load_tree(catalog)).items()}


def test_the_default_preset_is_the_built_in_default():
    shipped = presets.load()
    defaults = [p for p in shipped.values() if p.default]
    assert [p.key for p in defaults] == ["ke-hoach-2024"]
    assert defaults[0].targets == pytest.approx(DEFAULT_TARGETS)
    assert shipped["qd-2629-2025"].targets == pytest.approx(
        {"dossier_digitisation": 1.0, "result_digitisation": 1.0, "reuse": 0.8, "electronic_results": 1.0})
    for preset in shipped.values():  # every preset cites its source and sets all four indicators
        assert preset.source and set(preset.targets) == set(INDICATORS)


def test_presets_listing_shows_targets_and_sources(catalog):
    folder, _ = catalog
    listed = _run(folder, "targets", "presets")
    assert listed.returncode == 0, listed.stderr
    assert "ke-hoach-2024 (default)" in listed.stdout and "qd-2629-2025" in listed.stdout
    assert "2629/QĐ-TTg" in listed.stdout and "reuse 80%" in listed.stdout and "reuse 65%" in listed.stdout


def test_preset_for_one_agency_is_inherited_below_it_and_keeps_points(catalog):
    folder, db = catalog
    assert _run(folder, "targets", "set", "--agency", D1, "--reuse", "70", "--points", "20").returncode == 0
    applied = _run(folder, "targets", "preset", "qd-2629-2025", "--agency", D1)
    assert applied.returncode == 0, applied.stderr
    assert "2629/QĐ-TTg" in applied.stdout and "80% / 20 pts*" in applied.stdout
    in_force = _in_force(db)
    assert in_force[D1] == in_force[C1] == pytest.approx({"dossier_digitisation": 1.0, "result_digitisation": 1.0,
                                                          "reuse": 0.8, "electronic_results": 1.0})
    assert in_force[D2] == pytest.approx(DEFAULT_TARGETS)  # a sibling district keeps the default
    points = effective(db, load_tree(db))
    assert points[D1]["reuse"].points == 20  # the preset sets targets only
    back = _run(folder, "targets", "preset", "ke-hoach-2024", "--agency", D1)
    assert back.returncode == 0 and _in_force(db)[D1] == pytest.approx(DEFAULT_TARGETS)


def test_preset_for_every_agency(catalog):
    folder, db = catalog
    assert _run(folder, "targets", "preset", "qd-2629-2025").returncode == 0
    in_force = _in_force(db)
    assert in_force[ALL_AGENCIES]["reuse"] == in_force[D2]["reuse"] == pytest.approx(0.8)


@pytest.mark.parametrize("args, code, message", [
    (["khong-co"], 2, "unknown preset 'khong-co'"),
    (["qd-2629-2025", "--agency", "000.00.99.H36"], 17, "no agency 000.00.99.H36"),
    (["qd-2629-2025", "--agency", "H36"], 14, "invalid agency code"),
])
def test_preset_bad_input(catalog, args, code, message):
    folder, db = catalog
    result = _run(folder, "targets", "preset", *args)
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sohoa: error: ") and message in result.stderr
    assert _in_force(db)[D1] == pytest.approx(DEFAULT_TARGETS)  # nothing was stored
