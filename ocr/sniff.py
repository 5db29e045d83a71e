"""Detect the input type from its first bytes, never from its name."""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from sohoa.core.errors import ExitCode, InputError

Kind = Literal["pdf", "tiff", "jpeg", "png"]

MAGIC: Final[tuple[tuple[bytes, Kind], ...]] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
)


def sniff_bytes(head: bytes) -> Kind | None:
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    # PDF allows up to 1 KiB of junk before the header.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


def sniff(path: Path) -> Kind:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(1024)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", ExitCode.INPUT_MISSING) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file", ExitCode.INPUT_MISSING) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", ExitCode.INPUT_MISSING) from None
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes)", ExitCode.INPUT_EMPTY)
    kind = sniff_bytes(head)
    if kind is None:
        raise InputError(
            f"{path}: not a PDF, TIFF, JPEG or PNG document", ExitCode.UNSUPPORTED
        )
    return kind
