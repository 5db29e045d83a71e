"""Scan kinds: a rendered page turned into one kind of degraded scan.

`make_scan(kind, seed)` is deterministic: the page text comes from
`document_text(seed)` and all degradation randomness from a numpy generator
seeded with (seed, index of kind), never from Python's salted `hash()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from . import effects as fx
from .fonts import FONTS, bold_font_path
from .layout import LineBox, mm_to_px, render_layout
from .vietnamese import MOTTO_SUB, DocText, document_text

KINDS: tuple[str, ...] = (
    "clean",
    "skew",
    "rot90",
    "rot180",
    "rot270",
    "gray200_jpeg",
    "photocopy_g4",
    "yellow_seal",
    "faint",
    "blank",
)


@dataclass
class Scan:
    """One scanned page with its ground truth.

    rotation: degrees CLOCKWISE to apply to `image` to make it upright.
    skew: degrees the content is rotated counter-clockwise (PIL
    `Image.rotate` convention), i.e. the small deskew angle; 0 if none.
    """

    kind: str
    image: Image.Image
    dpi: int
    text: str
    keywords: list[str] = field(default_factory=list)
    rotation: int = 0
    skew: float = 0.0
    blank: bool = False


# PIL's ROTATE_N transposes turn the content N degrees counter-clockwise.
_CCW = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


def pick_font(seed: int) -> str:
    """Font for a seed when none is asked for; varies across a corpus."""
    names = sorted(FONTS)
    if not names:
        raise RuntimeError("no Vietnamese-capable TrueType font found")
    return names[seed % len(names)]


def _rng(kind: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, KINDS.index(kind)])


def _gray_page(rng: np.random.Generator, cov: np.ndarray, level: float = 247.0,
               ink: float = 22.0) -> np.ndarray:
    return fx.compose(fx.paper(rng, cov.shape, level), ink, cov)


def _seal_text(doc: DocText) -> str:
    """Agency name for the seal ring: the line under the motto, if any."""
    if MOTTO_SUB in doc.lines:
        i = doc.lines.index(MOTTO_SUB) + 1
        if i < len(doc.lines) and doc.lines[i].isupper():
            return doc.lines[i]
    return "ỦY BAN NHÂN DÂN"


def _yellow_seal(rng: np.random.Generator, doc: DocText, gray: Image.Image,
                 boxes: list[LineBox], dpi: int) -> Image.Image:
    """Yellowed paper, red seal over the last body lines, blue signature, uneven light.

    Relies on the page ending with a signature role and the signer's name,
    as every `document_text` page does.
    """
    cov = fx.coverage(gray)
    shape = cov.shape
    lum = fx.paper(rng, shape, 1.0, grain=0.012, mottle=0.02)
    # Aged paper is yellow: scale channels of a unit-level map, then lay dark ink.
    rgb = fx.to_color(lum, (235.0, 220.0, 170.0))
    ink = np.array([38.0, 34.0, 30.0], dtype=np.float32)
    rgb += (ink - rgb) * cov[..., None]

    # Seal centred a little above the signature role line and far enough left
    # to land on the ends of the last body lines, as real stamps do.
    role = boxes[-2] if len(boxes) >= 2 else boxes[-1]
    above = [b for b in boxes[-6:-2] if b.x1 - b.x0 > 0] or [role]
    radius = mm_to_px(19, dpi)
    cx = min(role.x0 - 0.1 * radius, max(b.x1 for b in above) - 0.5 * radius)
    cx = float(np.clip(cx, radius, shape[1] - radius))
    cy = float(role.y0 - 0.25 * radius)
    # Seals are cut in a plain sans capital face whatever the body font is.
    seal_font = "DejaVuSans" if "DejaVuSans" in FONTS else pick_font(0)
    seal = fx.seal_density(rng, radius, _seal_text(doc), bold_font_path(seal_font))
    opacity = rng.uniform(0.75, 0.9)
    fx.multiply_ink(rgb, seal * opacity, (200, 30, 45),
                    round(cy - seal.shape[0] / 2), round(cx - seal.shape[1] / 2))

    # Blue signature in the gap between the role line and the signer's name.
    name = boxes[-1]
    sig_w = int(max(name.x1 - name.x0, mm_to_px(40, dpi)) * 1.1)
    sig_h = max(int((name.y0 - role.y1) * 0.9), mm_to_px(10, dpi))
    sig = fx.signature_density(rng, sig_w, sig_h, dpi)
    centre_x = (role.x0 + role.x1) / 2
    fx.multiply_ink(rgb, sig, (25, 45, 160), round(role.y1 + (name.y0 - role.y1 - sig_h) / 2),
                    round(centre_x - sig_w / 2 + rng.uniform(-0.1, 0.1) * sig_w))

    rgb *= fx.illumination(rng, shape, rng.uniform(0.2, 0.28))[..., None]
    return fx.to_image(rgb)


def make_scan(kind: str, seed: int, font: str | None = None) -> Scan:
    """Render page `seed` and degrade it as scan `kind` (one of `KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown scan kind {kind!r}; expected one of {KINDS}")
    rng = _rng(kind, seed)
    font = font or pick_font(seed)
    doc = document_text(seed)
    dpi = 200 if kind == "gray200_jpeg" else 300
    rotation, skew = 0, 0.0

    if kind == "blank":
        h, w = mm_to_px(297, dpi), mm_to_px(210, dpi)
        arr = fx.paper(rng, (h, w), 246.0, grain=2.5, mottle=3.0)
        fx.specks(rng, arr, int(rng.integers(0, 3)), 120.0)  # a speck of dust, maybe
        image = fx.to_image(arr)
        image.info["dpi"] = (dpi, dpi)
        return Scan(kind, image, dpi, "", [], 0, 0.0, True)

    gray, boxes = render_layout(doc, font=font, dpi=dpi)

    if kind == "clean":
        arr = fx.compose(fx.paper(rng, gray.size[::-1], 248.0, grain=1.5, mottle=1.5), 20.0,
                         fx.coverage(gray))
        image = fx.to_image(fx.to_color(arr, (1.0, 0.996, 0.985)))
    elif kind == "skew":
        skew = float(rng.uniform(1.0, 3.0) * rng.choice([-1.0, 1.0]))
        turned = gray.rotate(skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
        image = fx.to_image(_gray_page(rng, fx.coverage(turned)))
    elif kind in ("rot90", "rot180", "rot270"):
        # Content turned counter-clockwise by N degrees needs N degrees clockwise.
        rotation = int(kind[3:])
        arr = _gray_page(rng, fx.coverage(gray))
        page = fx.to_image(fx.to_color(arr, (1.0, 0.995, 0.98)) if rotation == 180 else arr)
        image = page.transpose(_CCW[rotation])  # transpose: lossless, unlike rotate()
    elif kind == "gray200_jpeg":
        arr = _gray_page(rng, fx.coverage(gray), level=240.0, ink=35.0)
        arr = fx.blur(arr, 0.7)  # soft optics of a cheap sheet-fed scanner
        image = fx.to_image(arr)
    elif kind == "photocopy_g4":
        image = fx.photocopy(rng, gray, dpi)
    elif kind == "yellow_seal":
        image = _yellow_seal(rng, doc, gray, boxes, dpi)
    elif kind == "faint":
        ink = float(rng.uniform(150.0, 170.0))
        arr = fx.compose(fx.paper(rng, gray.size[::-1], 245.0, grain=3.0), ink, fx.coverage(gray))
        image = fx.to_image(fx.blur(arr, 0.5))
    else:  # pragma: no cover - guarded above
        raise AssertionError(kind)

    image.info["dpi"] = (dpi, dpi)
    return Scan(kind, image, dpi, "\n".join(doc.lines), list(doc.keywords), rotation, skew, False)
