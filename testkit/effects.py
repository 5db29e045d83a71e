"""Low-level scan degradations on numpy arrays.

Images are handled as float32 arrays in 0..255 (H x W for gray, H x W x 3 for
colour) so effects compose without repeated clipping; `to_image` converts back.
Ink is modelled as a coverage map in 0..1 (1 = full ink) taken from a black-on-
white rendering, which lets each scan kind choose its own paper and ink tones.
Every random draw comes from the `numpy.random.Generator` passed in.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FloatArray = np.ndarray


def coverage(gray: Image.Image) -> FloatArray:
    """Ink coverage (0 = paper, 1 = full ink) of a black-on-white "L" image."""
    return 1.0 - np.asarray(gray, dtype=np.float32) / 255.0


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int = 6) -> FloatArray:
    """Smooth random field in about -1..1, varying over ~1/`cells` of the page.

    Bicubic up-sampling of a coarse random grid is far cheaper than blurring
    full-resolution noise and gives the same blotchy look.
    """
    h, w = shape
    gh = max(2, round(cells * h / max(h, w)) + 1)
    gw = max(2, round(cells * w / max(h, w)) + 1)
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def paper(
    rng: np.random.Generator,
    shape: tuple[int, int],
    level: float,
    grain: float = 2.5,
    mottle: float = 2.0,
) -> FloatArray:
    """Gray paper: a base level, fine grain (pixel noise) and mottling (smooth)."""
    field = rng.standard_normal(shape, dtype=np.float32) * grain
    field += smooth_field(rng, shape) * mottle
    field += level
    return field


def compose(paper_map: FloatArray, ink: FloatArray | float, cov: FloatArray) -> FloatArray:
    """Lay ink of tone `ink` over the paper, weighted by the coverage map."""
    return paper_map + (ink - paper_map) * cov


def to_color(gray_map: FloatArray, tint: tuple[float, float, float]) -> FloatArray:
    """Turn a gray map into RGB by multiplying it by one factor per channel."""
    return np.stack([gray_map * t for t in tint], axis=-1)


def blur(arr: FloatArray, sigma: float) -> FloatArray:
    if sigma <= 0:
        return arr
    return cv2.GaussianBlur(arr, (0, 0), sigmaX=sigma)


def to_image(arr: FloatArray) -> Image.Image:
    """Clip to 0..255 and wrap as a PIL image ("L" for 2-D, "RGB" for 3-D)."""
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def illumination(rng: np.random.Generator, shape: tuple[int, int], strength: float) -> FloatArray:
    """Multiplicative lighting field: 1 at one corner, down to 1-`strength` at
    the opposite one, plus a mild vignette (a phone photo or a cheap scanner lid)."""
    h, w = shape
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    if rng.random() < 0.5:
        xs = 1.0 - xs
    if rng.random() < 0.5:
        ys = 1.0 - ys
    # Distance from the bright corner, normalised so the far corner is 1.
    d = np.sqrt((xs * xs + ys * ys) / 2.0)
    field = 1.0 - strength * d**1.5
    vignette = ((xs - 0.5) ** 2 + (ys - 0.5) ** 2) * 2.0  # 0 at the centre, 1 at corners
    field = field * (1.0 - 0.06 * vignette)
    return field.astype(np.float32)


def multiply_ink(rgb: FloatArray, density: FloatArray, color: tuple[int, int, int],
                 top: int, left: int) -> None:
    """Multiply-blend coloured ink into `rgb` in place at (top, left).

    Multiplying (rather than painting over) is how ink on paper behaves: black
    text under a red stamp stays black, white paper turns red.
    """
    h, w = density.shape
    H, W = rgb.shape[:2]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, H), min(left + w, W)
    if y0 >= y1 or x0 >= x1:
        return
    d = density[y0 - top:y1 - top, x0 - left:x1 - left, None]
    absorb = 1.0 - np.asarray(color, dtype=np.float32) / 255.0
    rgb[y0:y1, x0:x1] *= 1.0 - d * absorb


# --------------------------------------------------------------------------
# Seal and signature
# --------------------------------------------------------------------------


def _star(cx: float, cy: float, r_out: float) -> list[tuple[float, float]]:
    """Vertices of a five-pointed star, point up."""
    angle = -math.pi / 2
    points = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_out * 0.382  # golden-ratio inner radius
        a = angle + k * math.pi / 5
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return points


def seal_density(
    rng: np.random.Generator, radius: int, ring_text: str, font_file: str
) -> FloatArray:
    """Ink density (0..1) of a round red office seal: a thick outer ring, a
    thin inner ring, `ring_text` running clockwise between them with letters
    upright towards the rim, and a five-pointed star in the centre. Uneven ink
    and small gaps make it look stamped rather than drawn."""
    size = 2 * radius + 8
    c = size / 2
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    outer_w = max(3, radius // 18)
    inner_r = radius * 0.66
    draw.ellipse((c - radius, c - radius, c + radius, c + radius), outline=255, width=outer_w)
    draw.ellipse((c - inner_r, c - inner_r, c + inner_r, c + inner_r), outline=255,
                 width=max(2, outer_w // 2))
    draw.polygon(_star(c, c, radius * 0.3), fill=255)

    band_mid = (radius - outer_w + inner_r) / 2
    band = radius - outer_w - inner_r
    font_px = int(band * 0.62)
    tracking = 1.12
    # Shrink the letters until the text covers at most ~330 degrees of the ring.
    while True:
        font = ImageFont.truetype(font_file, font_px)
        advances = [font.getlength(ch) * tracking for ch in ring_text]
        span = sum(advances) / band_mid
        if span <= math.radians(330) or font_px <= 8:
            break
        font_px -= 1
    theta = -span / 2  # angle clockwise from 12 o'clock; text centred on the top
    glyph_box = int(font_px * 2)
    for ch, adv in zip(ring_text, advances):
        mid = theta + adv / 2 / band_mid
        theta += adv / band_mid
        if ch.isspace():
            continue
        glyph = Image.new("L", (glyph_box, glyph_box), 0)
        ImageDraw.Draw(glyph).text((glyph_box / 2, glyph_box / 2), ch, font=font, fill=255,
                                   anchor="mm")
        glyph = glyph.rotate(-math.degrees(mid), resample=Image.Resampling.BICUBIC)
        gx = c + band_mid * math.sin(mid) - glyph_box / 2
        gy = c - band_mid * math.cos(mid) - glyph_box / 2
        region = (int(gx), int(gy))
        patch = canvas.crop((*region, region[0] + glyph_box, region[1] + glyph_box))
        canvas.paste(Image.fromarray(np.maximum(np.asarray(patch), np.asarray(glyph))), region)

    density = np.asarray(canvas, dtype=np.float32) / 255.0
    density = blur(density, 0.8)  # ink spreads into the paper fibres
    uneven = 0.8 + 0.25 * smooth_field(rng, density.shape, cells=4)
    dropouts = blur((rng.random(density.shape, dtype=np.float32) > 0.06).astype(np.float32), 1.2)
    density *= np.clip(uneven * dropouts, 0.0, 1.0)
    # Whole stamp at a random angle, as it never lands perfectly upright.
    turned = Image.fromarray((density * 255).astype(np.uint8)).rotate(
        float(rng.uniform(-25, 25)), resample=Image.Resampling.BICUBIC
    )
    return np.asarray(turned, dtype=np.float32) / 255.0


def signature_density(rng: np.random.Generator, width: int, height: int, dpi: int) -> FloatArray:
    """Ink density of a hand signature: looping cursive strokes and an underline."""
    canvas = np.zeros((height, width), dtype=np.uint8)
    t = np.linspace(0.0, 1.0, 700)
    loops = rng.uniform(3.5, 7.0)
    # Irregular rhythm and loop heights: a smooth random wobble of phase and size.
    knots = rng.uniform(-1.0, 1.0, size=(2, 8))
    wobble_phase = np.interp(t, np.linspace(0, 1, 8), knots[0])
    wobble_size = np.interp(t, np.linspace(0, 1, 8), knots[1])
    phase = 2 * math.pi * loops * t + 1.2 * wobble_phase
    x = t + rng.uniform(0.03, 0.07) * np.cos(phase + rng.uniform(0, 2 * math.pi))
    y = -(0.5 + 0.35 * wobble_size) * np.sin(phase) + 0.6 * t  # climbs to the right
    # A tall opening stroke, like a capital initial.
    lead = t < 0.12
    y[lead] -= 1.2 * np.sin(math.pi * t[lead] / 0.12)
    # The closing flourish: a fast stroke back under the name.
    u = np.linspace(0.0, 1.0, 120)
    x = np.concatenate([x, x[-1] - (x[-1] + 0.05) * u])
    y = np.concatenate([y, y[-1] + 0.4 * u + 0.1 * np.sin(math.pi * u)])

    pen = max(2, round(dpi / 100))
    pad = 2 * pen
    # Fit the whole path into the canvas so no stroke is clipped.
    x = pad + (x - x.min()) / np.ptp(x) * (width - 2 * pad)
    y = pad + (y - y.min()) / np.ptp(y) * (height - 2 * pad)
    pts = np.stack([x, y], axis=1).round().astype(np.int32)
    cv2.polylines(canvas, [pts[:700]], False, 255, thickness=pen, lineType=cv2.LINE_AA)
    cv2.polylines(canvas, [pts[700:]], False, 255, thickness=max(1, pen - 1), lineType=cv2.LINE_AA)
    density = canvas.astype(np.float32) / 255.0
    return density * np.clip(0.85 + 0.15 * smooth_field(rng, density.shape, 3), 0, 1)


# --------------------------------------------------------------------------
# Photocopy
# --------------------------------------------------------------------------


def _edge_profile(rng: np.random.Generator, length: int, depth: float) -> FloatArray:
    """Ragged smudge depth along one page edge (pixels), sometimes zero."""
    knots = (rng.uniform(0.15, 1.0, size=(12, 1)) ** 1.5).astype(np.float32)
    # Cubic up-sampling gives a wavy rather than a polygonal edge; the jitter
    # adds the fine raggedness of toner.
    profile = cv2.resize(knots, (1, length), interpolation=cv2.INTER_CUBIC)[:, 0]
    jitter = blur(rng.standard_normal((length, 1), dtype=np.float32), 2.0)[:, 0] * 0.04
    return (np.clip(profile + jitter, 0.0, None) * depth).astype(np.float32)


def photocopy(rng: np.random.Generator, gray: Image.Image, dpi: int) -> Image.Image:
    """Bilevel photocopy of a black-on-white page.

    Strokes are thickened (toner spread) or thinned (light setting), edges are
    made ragged by thresholding a noisy blurred image, dark smudges run along
    some page edges (lid shadow), and small specks of toner are scattered.
    """
    g = np.asarray(gray)
    k = 2 if dpi < 250 else int(rng.choice([2, 3]))
    kernel = np.ones((k, k), np.uint8)
    if rng.random() < 0.6:
        g = cv2.erode(g, kernel)  # min filter: dark strokes grow
    else:
        g = cv2.dilate(g, np.ones((2, 2), np.uint8))  # max filter: strokes shrink
    f = blur(g.astype(np.float32), 0.9)
    f += rng.standard_normal(f.shape, dtype=np.float32) * 22.0

    h, w = f.shape
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    fringe = dpi / 25.4 * 3.0  # 3 mm of gray fading out of each smudge
    depth = dpi / 25.4 * rng.uniform(5.0, 14.0)
    edges = [e for e in ("left", "right", "top", "bottom") if rng.random() < 0.6] or ["left"]
    for edge in edges:
        if edge in ("left", "right"):
            prof = _edge_profile(rng, h, depth)[:, None]
            dist = xs if edge == "left" else (w - 1 - xs)
        else:
            prof = _edge_profile(rng, w, depth)[None, :]
            dist = ys if edge == "top" else (h - 1 - ys)
        # 1 inside the smudge, fading to 0 across the fringe.
        dark = np.clip(1.0 - (dist - prof) / fringe, 0.0, 1.0) ** 2
        f -= dark * 230.0

    # Toner blotches near the edges: gray clouds that threshold into speckle.
    for _ in range(int(rng.integers(2, 6))):
        r = dpi / 25.4 * rng.uniform(5.0, 12.0)
        along = rng.uniform(0, 1)
        inset = rng.uniform(0, 0.04)
        cy, cx = [(along * h, inset * w), (along * h, (1 - inset) * w),
                  (inset * h, along * w), ((1 - inset) * h, along * w)][int(rng.integers(0, 4))]
        y0, y1 = int(max(cy - 3 * r, 0)), int(min(cy + 3 * r, h))
        x0, x1 = int(max(cx - 3 * r, 0)), int(min(cx + 3 * r, w))
        if y0 >= y1 or x0 >= x1:
            continue
        yy = ys[y0:y1] - cy
        xx = xs[:, x0:x1] - cx
        f[y0:y1, x0:x1] -= rng.uniform(90, 160) * np.exp(-(yy * yy + xx * xx) / (2 * r * r))

    ink = f < 140.0
    # Toner specks of 1-3 px, mostly dark on the paper, a few white in the ink.
    n_specks = int(rng.integers(150, 450))
    sy = rng.integers(0, h, n_specks)
    sx = rng.integers(0, w, n_specks)
    for y0, x0, r in zip(sy, sx, rng.integers(1, 4, n_specks)):
        ink[y0:y0 + r, x0:x0 + r] = True
    n_salt = int(rng.integers(30, 90))
    ink[rng.integers(0, h, n_salt), rng.integers(0, w, n_salt)] = False
    return Image.fromarray(~ink)  # bool array -> mode "1", True = white


def specks(rng: np.random.Generator, arr: FloatArray, count: int, tone: float) -> None:
    """Scatter `count` tiny dark dots (1-2 px) in place (dust on the glass)."""
    h, w = arr.shape[:2]
    for _ in range(count):
        y, x = int(rng.integers(0, h - 2)), int(rng.integers(0, w - 2))
        r = int(rng.integers(1, 3))
        arr[y:y + r, x:x + r] = tone
