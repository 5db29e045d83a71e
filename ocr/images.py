"""Archival page images: what the stored page shows, encoded for the PDF.

Rules (DESIGN.md "Archival image"): colour kept, resolution kept, JPEG for
colour/gray, CCITT G4 for bilevel (lossless; never lossy JBIG2). A JPEG or G4
stream that came in is passed through byte for byte: no generation loss.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from PIL import Image

JPEG_QUALITY: Final[int] = 80
Mode = Literal["color", "gray", "bilevel"]


@dataclass(slots=True)
class EncodedImage:
    data: bytes
    filter: str  # PDF filter name without the slash: DCTDecode | CCITTFaxDecode
    colorspace: str  # DeviceRGB | DeviceGray
    bits: int
    width: int
    height: int
    decode_parms: dict[str, object] = field(default_factory=dict)
    passthrough: bool = False


def classify(pixels: np.ndarray) -> Mode:
    if pixels.ndim == 3:
        return "color"
    # A gray image holding only pure black and white is a bilevel scan. Checked in bands of rows,
    # so a 250-megapixel page costs a few megabytes of temporaries, not three copies of itself.
    if not pixels.size:
        return "gray"
    band = max(1, (4 << 20) // max(1, pixels.shape[1]))
    for top in range(0, pixels.shape[0], band):
        rows = pixels[top:top + band]
        if np.any((rows > 0) & (rows < 255)):
            return "gray"
    return "bilevel"


def encode(pixels: np.ndarray, mode: Mode) -> EncodedImage:
    height, width = pixels.shape[:2]
    if mode == "bilevel":
        return _encode_g4(pixels)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling="4:2:0")
    return EncodedImage(
        data=buffer.getvalue(),
        filter="DCTDecode",
        colorspace="DeviceRGB" if mode == "color" else "DeviceGray",
        bits=8,
        width=width,
        height=height,
    )


def _encode_g4(pixels: np.ndarray) -> EncodedImage:
    """CCITT Group 4 through libtiff (Pillow), taking the single strip out of the TIFF."""
    image = Image.fromarray(pixels).convert("1")
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", compression="group4", tiffinfo={278: image.height})
    tiff = Image.open(io.BytesIO(buffer.getvalue()))
    (offset,), (count,) = tiff.tag_v2[273], tiff.tag_v2[279]
    # libtiff codes "white" runs as 0 bits; Pillow marks the file min-is-black,
    # so in the raw strip the coder's white is our black: BlackIs1 undoes that.
    black_is_1 = tiff.tag_v2.get(262, 0) == 1
    return g4_image(buffer.getvalue()[offset : offset + count], image.width, image.height, black_is_1)


def g4_image(data: bytes, width: int, height: int, black_is_1: bool) -> EncodedImage:
    parms: dict[str, object] = {"K": -1, "Columns": width, "Rows": height}
    if black_is_1:
        parms["BlackIs1"] = True
    return EncodedImage(
        data=data, filter="CCITTFaxDecode", colorspace="DeviceGray", bits=1,
        width=width, height=height, decode_parms=parms,
    )
