"""Public entry point for scans: rendering, degradation, writers, bad inputs, corpus.

The implementation is split into small modules (fonts, layout, effects,
degrade, writers, bad_inputs, corpus); this module re-exports their public
names so callers need a single import:

    from sohoa.testkit.scans import make_scan, save_image, write_corpus
"""

from __future__ import annotations

from .bad_inputs import write_bad_inputs
from .corpus import write_corpus
from .degrade import KINDS, Scan, make_scan
from .fonts import FONTS, font_path
from .layout import render_page
from .writers import (
    IMAGE_FORMATS,
    save_born_digital_pdf,
    save_image,
    save_image_pdf,
    save_mixed_pdf,
    save_multipage_tiff,
)

__all__ = [
    "FONTS",
    "IMAGE_FORMATS",
    "KINDS",
    "Scan",
    "font_path",
    "make_scan",
    "render_page",
    "save_born_digital_pdf",
    "save_image",
    "save_image_pdf",
    "save_mixed_pdf",
    "save_multipage_tiff",
    "write_bad_inputs",
    "write_corpus",
]
