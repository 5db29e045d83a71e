"""OCR engines for tests, plugged in through the engine seam (ocr/engines.py, `SOHOA_OCR_ENGINE`).

- `failing`: every page it is asked to read is "unreadable" (InputError, exit 6),
  so a test sees how each runner quarantines a file whose pages cannot be read.
- `counting`: the real Tesseract engine that also appends one line per page it
  reads to the file named by `SOHOA_TEST_ENGINE_LOG`, so a test can prove which
  process read which page, and that no page was read twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sohoa.core.errors import ExitCode, InputError
from sohoa.ocr.engines import NullEngine, TesseractEngine
from sohoa.ocr.tesseract import Word

FAILURE = "the test engine cannot read this page"


class FailingEngine(NullEngine):
    name = "failing"

    def recognize(self, image: np.ndarray, dpi: int) -> tuple[list[Word], str]:
        raise InputError(FAILURE, ExitCode.DAMAGED)


class CountingEngine(TesseractEngine):
    name = "counting"

    def recognize(self, image: np.ndarray, dpi: int) -> tuple[list[Word], str]:
        log = os.environ.get("SOHOA_TEST_ENGINE_LOG")
        if log:
            with Path(log).open("a", encoding="utf-8") as out:
                out.write(f"{os.getpid()} {image.shape[1]}x{image.shape[0]}\n")
        return super().recognize(image, dpi)


failing = FailingEngine
counting = CountingEngine
