"""The OCR engine seam: which recogniser reads the pages, chosen by name.

Built in: `tesseract` (the default, ocr/tesseract.py) and `null` (reads no text:
an image-only archive, or workflow tests that need no OCR). Any other name is a
`module:attribute` path to a factory `(lang, tessdata) -> Engine`, so a test can
inject a failing or caching engine into real worker processes through
`SOHOA_OCR_ENGINE`, the way OCRmyPDF's plugins replace its OCR engine.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ocr.tesseract import Word

DEFAULT = "tesseract"


class Engine(Protocol):
    name: str

    def version(self) -> str:
        """The engine's version, for the `ocr` event (a static method: no model is loaded)."""

    def recognize(self, image: np.ndarray, dpi: int) -> tuple[list[Word], str]:
        """Words (boxes in OCR-image pixels) and the page's plain text, NFC."""

    def detect_orientation(self, image: np.ndarray, dpi: int) -> tuple[int, float]:
        """(clockwise correction in degrees, confidence); a fallback for hard pages."""


class TesseractEngine:
    name = "tesseract"

    def __init__(self, lang: str, tessdata: Path | None = None) -> None:
        from sohoa.ocr.tesseract import Recognizer

        self._recognizer = Recognizer(lang, tessdata)

    def recognize(self, image: np.ndarray, dpi: int) -> tuple[list[Word], str]:
        return self._recognizer.recognize(image, dpi)

    def detect_orientation(self, image: np.ndarray, dpi: int) -> tuple[int, float]:
        return self._recognizer.detect_orientation(image, dpi)

    @staticmethod
    def version() -> str:
        from sohoa.ocr.tesseract import version

        return version()


class NullEngine:
    """Reads nothing: pages are archived as images with no text layer."""

    name = "null"

    def __init__(self, lang: str = "", tessdata: Path | None = None) -> None:
        self.lang = lang

    @staticmethod
    def version() -> str:
        return "0"

    def recognize(self, image: np.ndarray, dpi: int) -> tuple[list[Word], str]:
        return [], ""

    def detect_orientation(self, image: np.ndarray, dpi: int) -> tuple[int, float]:
        return 0, 0.0


BUILTIN: dict[str, Callable[..., Engine]] = {"tesseract": TesseractEngine, "null": NullEngine}


def factory(spec: str) -> Callable[..., Engine]:
    """The engine factory a name or `module:attribute` stands for; a one-line error otherwise."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise SohoaError(f"unknown OCR engine {spec!r} (built in: {', '.join(BUILTIN)}; "
                         "or module:attribute)", ExitCode.USAGE)
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise SohoaError(f"OCR engine {spec!r} cannot be loaded: {exc}", ExitCode.USAGE) from None


def load(spec: str, lang: str, tessdata: Path | None = None) -> Engine:
    return factory(spec)(lang, tessdata)


def version(spec: str) -> str:
    """The version of an engine without loading a model (the default: Tesseract's probe)."""
    probe = getattr(factory(spec), "version", None)
    return str(probe()) if callable(probe) else "unknown"
