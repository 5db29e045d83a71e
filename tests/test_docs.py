"""The documentation: a short README whose links work, a docs/ site that builds with no warning,
and an architecture page that lists the pipeline stages in the order the code runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
README_LIMIT = 20 * 1024  # bytes

# The order of ingest/pipeline.py (issue #11). A new stage goes into both lists.
STAGES = ["identify", "validate", "dedup", "split", "plan", "recognise", "assemble", "extract", "sign", "store",
          "catalog", "index"]

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _relative_links(markdown: str) -> list[str]:
    """Link targets that are paths in the repository (not URLs, not anchors on the same page)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)  # links in code blocks are not links
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


def test_readme_is_short() -> None:
    size = README.stat().st_size
    assert size <= README_LIMIT, (f"README.md is {size} bytes; keep it ≤ {README_LIMIT} "
                                  "and move the details to docs/")


def test_readme_links_point_to_files() -> None:
    links = _relative_links(README.read_text(encoding="utf-8"))
    assert links, "README.md should link into docs/"
    missing = [t for t in links if not (ROOT / t.split("#", 1)[0]).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_docs_build_strict_without_warnings(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    assert mkdocs.exists(), "mkdocs is missing: scripts/install-deps.sh docs (or test) installs it"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    site = tmp_path / "site"
    command = [str(mkdocs), "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    assert (site / "architecture" / "index.html").exists()


def test_every_docs_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert pages, "docs/ has no pages"
    assert [p for p in pages if p not in nav] == []


def _architecture_stages() -> list[str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## The pipeline", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. \*\*(\w+)\*\*", section, flags=re.M)


def test_architecture_lists_the_stages_in_order() -> None:
    assert _architecture_stages() == STAGES


def test_architecture_stages_match_the_code() -> None:
    from sohoa.ingest import pipeline

    assert list(pipeline.STAGES) == _architecture_stages()
