"""The OCR engine seam: which recogniser reads the pages, chosen by name.

Built in: `tesseract` (the default, ocr/tesseract.py) and `null` (reads no text:
an image-only archive, or workflow tests that need no OCR). Any other name is a
`module:attribute` path to a factory `(lang, tessdata) -> Engine`, so a test can
inject a failing or caching engine into real worker processes through
`SOHOA_OCR_ENGINE`, the way OCRmyPDF's plugins replace its OCR engine.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ocr import timing

if TYPE_CHECKING:
    import numpy as np

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


class BackgroundEngine:
    """An engine whose model loads in a thread while the process does other work.

    Tesseract's model load releases the GIL, so on a second core it overlaps the imports and
    the decoding and cleaning of the first page (issue #17: `sohoa ocr` start-up); the first
    call that needs the engine waits for it, and a load error is raised there."""

    def __init__(self, spec: str, lang: str, tessdata: Path | None = None) -> None:
        self.name = spec
        self._engine: Engine | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, args=(spec, lang, tessdata),
                                        name="sohoa-engine-load", daemon=True)
        self._thread.start()

    def _load(self, spec: str, lang: str, tessdata: Path | None) -> None:
        try:
            self._engine = load(spec, lang, tessdata)
            timing.stamp("engine-ready")
        except BaseException as exc:  # noqa: BLE001 - raised again in the thread that uses the engine
            self._error = exc

    @property
    def failed(self) -> bool:
        """The load has ended in an error (a process keeping this engine loads a new one instead)."""
        return not self._thread.is_alive() and self._error is not None

    def wait(self) -> None:
        """Until the load has ended (before a fork: no thread may be half-way through it)."""
        self._thread.join()

    def ready(self) -> Engine:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._engine is not None
        return self._engine

    def version(self) -> str:
        return version(self.name)

    def recognize(self, image: np.ndarray, dpi: int) -> tuple[list[Word], str]:
        return self.ready().recognize(image, dpi)

    def detect_orientation(self, image: np.ndarray, dpi: int) -> tuple[int, float]:
        return self.ready().detect_orientation(image, dpi)


def version(spec: str) -> str:
    """The version of an engine without loading a model (the default: Tesseract's probe)."""
    probe = getattr(factory(spec), "version", None)
    return str(probe()) if callable(probe) else "unknown"
