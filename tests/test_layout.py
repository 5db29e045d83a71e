"""The shape of the package: what the wheel ships, and which way the imports point.

DESIGN.md: dependencies point one way, core ← ocr, archive, extract, sign ← search, ratios, split
← ingest ← workers ← cli, web (extract reads words, sign reads PDFs: both need only core; split
reads page images through ocr). A package imports its own modules and those of lower layers only: never a higher
layer, never a sibling on its own layer (search and ratios both sit on archive; neither is below
the other). The cli sits on top of everything, the web app included (`sohoa serve` starts it).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"core": 0, "ocr": 1, "archive": 1, "extract": 1, "sign": 1, "split": 2, "search": 2,
          "ratios": 2, "hooks": 2, "ingest": 3, "workers": 4, "web": 5, "cli": 6}
DEV_ONLY = ("testkit", "bench", "tests")  # in a checkout, never in the wheel
# Known crossings owned by other work in progress; each entry must disappear, never grow.
KNOWN: set[tuple[str, str]] = set()


def _package_of(path: Path) -> str | None:
    parts = path.relative_to(ROOT).parts
    return parts[0] if len(parts) > 1 and parts[0] in LAYERS else None


def _imported(tree: ast.AST) -> set[str]:
    """The first name under `sohoa.` of every import in the module (function-level ones too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "sohoa" else [f"sohoa.{a.name}" for a in node.names]
        else:
            continue
        found.update(name.split(".")[1] for name in names if name.startswith("sohoa.") and name.count(".") >= 1)
    return found


def _crossings() -> set[tuple[str, str]]:
    """(module, imported package) for every import that points up, sideways or into dev tools."""
    bad = set()
    for path in sorted(ROOT.rglob("*.py")):
        package = _package_of(path)
        if package is None:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for target in _imported(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if target in DEV_ONLY or (target in LAYERS and target != package
                                      and LAYERS[target] >= LAYERS[package]):
                bad.add((module, target))
    return bad


def test_imports_point_down():
    crossings = _crossings()
    assert not crossings - KNOWN, "imports against the layers: " + ", ".join(
        f"{module} → sohoa.{target}" for module, target in sorted(crossings - KNOWN))
    assert not KNOWN - crossings, f"fixed, drop from KNOWN: {sorted(KNOWN - crossings)}"


def test_every_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert packages - set(DEV_ONLY) == set(LAYERS)


def test_the_wheel_ships_the_product_without_dev_tools(tmp_path):
    source = tmp_path / "src"
    patterns = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "docs")

    def ignore(folder: str, names: list[str]) -> set[str]:  # the data folder at the root, not web/data & co.
        return set(patterns(folder, names)) | ({"data"} if Path(folder) == ROOT else set())

    shutil.copytree(ROOT, source, ignore=ignore)
    out = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr  # setuptools and wheel come with the test extra
    [wheel] = out.glob("sohoa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for dev in DEV_ONLY:
        assert not [n for n in names if n.startswith(f"sohoa/{dev}/")], f"sohoa/{dev} is in the wheel"
    for package in LAYERS:
        assert f"sohoa/{package}/__init__.py" in names, f"sohoa/{package} is missing from the wheel"
    assert "sohoa/cli/__main__.py" in names
    assert "sohoa/migrations/env.py" in names  # the schema history ships: a fresh install can migrate
    assert len([n for n in names if n.startswith("sohoa/migrations/versions/0")]) >= 7
    assert any(n.startswith("sohoa/web/templates/") for n in names)
    for data in ("web/data/common-passwords.txt", "extract/data/doctypes.yaml", "ratios/data/presets.yaml"):
        assert f"sohoa/{data}" in names, data  # package data, declared without setuptools' deprecation
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "sohoa = sohoa.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
