"""Validation of produced PDF/A files.

Two validators: Apache PDFBox Preflight (a real PDF/A-1b validator, Java,
from Debian's libpdfbox2-java) behind a small wrapper with a version probe, and
a fast structural check with pikepdf for PDF/A-2b and for every run.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final

import pikepdf
from lxml import etree

from sohoa.core.errors import MissingDependency

JAVA_DIR: Final = Path("/usr/share/java")
PREFLIGHT_JARS: Final = (
    "preflight", "pdfbox2", "fontbox2", "xmpbox", "commons-logging", "javax.activation", "jaxb-api",
)
PREFLIGHT_CLASS: Final = "org.apache.pdfbox.preflight.Validator_A1b"


@dataclass(slots=True)
class Validation:
    validator: str
    valid: bool
    errors: list[str] = field(default_factory=list)


def _jar(name: str) -> str | None:
    exact = JAVA_DIR / f"{name}.jar"
    if exact.exists():
        return str(exact)
    found = sorted(glob.glob(str(JAVA_DIR / f"{name}-[0-9]*.jar")))
    return found[-1] if found else None


@lru_cache(maxsize=1)
def preflight_classpath() -> str:
    jars = [_jar(name) for name in PREFLIGHT_JARS]
    if not shutil.which("java") or None in jars:
        raise MissingDependency(
            "PDFBox Preflight not installed: apt-get install libpdfbox2-java libactivation-java "
            "libjaxb-api-java default-jre-headless"
        )
    return ":".join(jars)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def preflight_version() -> str:
    match = re.search(r"preflight-([\d.]+)\.jar", " ".join(glob.glob(str(JAVA_DIR / "preflight-*.jar"))))
    return match.group(1) if match else "unknown"


def preflight(path: Path, timeout: float = 300) -> Validation:
    """Run PDFBox Preflight (PDF/A-1b). Exit 0 means valid."""
    try:
        result = subprocess.run(
            ["java", "-cp", preflight_classpath(), PREFLIGHT_CLASS, str(path)],
            capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return Validation(f"PDFBox Preflight {preflight_version()}", False,
                          [f"validator did not finish in {timeout:.0f} s"])
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith(("The file", "SLF4J", "WARNING"))]
    return Validation(f"PDFBox Preflight {preflight_version()}", result.returncode == 0,
                      [] if result.returncode == 0 else errors[:20])


def structural(path: Path, level: str) -> Validation:
    """The PDF/A essentials a reader can check cheaply; not a full ISO 19005 validator."""
    errors: list[str] = []
    with pikepdf.open(path) as pdf:
        expected_version = "1.4" if level == "1b" else "1.7"
        if pdf.pdf_version > expected_version:
            errors.append(f"PDF version {pdf.pdf_version} above {expected_version}")
        if pdf.is_encrypted:
            errors.append("encrypted")
        try:
            etree.fromstring(pdf.Root.Metadata.read_bytes())
        except (etree.XMLSyntaxError, AttributeError, KeyError) as exc:
            errors.append(f"XMP metadata is not well-formed XML ({exc})")
        meta = pdf.open_metadata()
        if meta.get("pdfaid:part") != level[0] or meta.get("pdfaid:conformance") != "B":
            errors.append(f"XMP pdfaid is not part {level[0]} conformance B")
        intents = pdf.Root.get("/OutputIntents")
        if not intents or intents[0].get("/DestOutputProfile") is None:
            errors.append("no output intent with an ICC profile")
        if "/JavaScript" in pdf.Root.get("/Names", {}) or "/OpenAction" in pdf.Root:
            errors.append("JavaScript or OpenAction present")
        if "/ID" not in pdf.trailer:
            errors.append("trailer has no /ID")
        for number, page in enumerate(pdf.pages, start=1):
            for name, font in page.resources.get("/Font", {}).items():
                fonts = [font] + list(font.get("/DescendantFonts", []))
                if not any("/FontDescriptor" in f and any(
                    k in f.FontDescriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ) for f in fonts):
                    errors.append(f"page {number}: font {name} not embedded")
            for name, image in page.get_images().items():
                if level == "1b" and "/SMask" in image:
                    errors.append(f"page {number}: image {name} has transparency (SMask)")
                if "/Interpolate" in image and bool(image.Interpolate):
                    errors.append(f"page {number}: image {name} has /Interpolate true")
    return Validation(f"sohoa structural (pikepdf {pikepdf.__version__})", not errors, errors)
