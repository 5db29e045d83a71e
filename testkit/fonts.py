"""TrueType fonts on this machine that cover Vietnamese.

Only Debian font packages are expected (fonts-dejavu-core, fonts-liberation2,
fonts-noto-core); fonts whose files are missing or whose character map lacks
any Vietnamese letter are left out, so `FONTS` holds only usable fonts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype"),
    Path("/usr/share/fonts/opentype"),
    Path("/usr/local/share/fonts"),
)

# name -> (regular file, bold file); the file names are those of the Debian packages.
_CANDIDATES: dict[str, tuple[str, str]] = {
    "DejaVuSans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "DejaVuSerif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "LiberationSans": ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    "LiberationSerif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
    "NotoSans": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "NotoSerif": ("NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"),
}

# Every letter the Vietnamese alphabet adds to ASCII, in both cases.
VIETNAMESE_LETTERS = (
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"
)


def _find(filename: str) -> Path | None:
    """The first copy of `filename` that covers Vietnamese: a browser's dependencies bring the old
    Liberation 1.x (no Vietnamese) under the same file names as fonts-liberation2."""
    for root in _FONT_DIRS:
        if root.is_dir():
            for hit in sorted(root.rglob(filename)):
                if _covers_vietnamese(hit):
                    return hit
    return None


def _covers_vietnamese(path: Path) -> bool:
    try:
        from fontTools.ttLib import TTFont
    except ImportError:  # fontTools absent: trust the known Debian fonts
        return True
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return all(ord(ch) in cmap for ch in VIETNAMESE_LETTERS)


def _discover() -> tuple[dict[str, str], dict[str, str]]:
    regular: dict[str, str] = {}
    bold: dict[str, str] = {}
    for name, (reg_file, bold_file) in _CANDIDATES.items():
        reg = _find(reg_file)
        if reg is None:
            continue
        regular[name] = str(reg)
        b = _find(bold_file)
        # A missing bold face is not fatal: the renderer fakes bold with a stroke.
        bold[name] = str(b) if b is not None else str(reg)
    return regular, bold


FONTS: dict[str, str]
_BOLD: dict[str, str]
FONTS, _BOLD = _discover()


def font_path(name: str) -> str:
    """Path of the regular face of font `name` (a key of `FONTS`)."""
    try:
        return FONTS[name]
    except KeyError:
        raise KeyError(f"font {name!r} not available; have {sorted(FONTS)}") from None


def bold_font_path(name: str) -> str:
    """Path of the bold face of font `name` (the regular face if no bold exists)."""
    font_path(name)
    return _BOLD[name]


@lru_cache(maxsize=None)
def has_true_bold(name: str) -> bool:
    """Whether `name` has a separate bold file (otherwise bold must be faked)."""
    return bold_font_path(name) != font_path(name)
