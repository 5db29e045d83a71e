"""SHA-256, the one digest of the archive: of bytes in memory, of a reader's stream, of a file.

Streams and files are read in bounded pieces, so a 2 GB scan costs 1 MiB of memory to hash.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO, Final

CHUNK_SIZE: Final[int] = 1024 * 1024


def sha256_bytes(data: bytes) -> str:
    """The hex digest of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()


def sha256_stream(reader: BinaryIO) -> str:
    """The hex digest of a reader's remaining bytes, in bounded memory."""
    digest = hashlib.sha256()
    while chunk := reader.read(CHUNK_SIZE):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    """The hex digest and size in bytes of a file, read in pieces."""
    digest = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as reader:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
