"""The one verified read of stored bytes: the last piece is held back until the SHA-256 matched."""

from __future__ import annotations

import pytest

from sohoa.archive.storage import CHUNK_SIZE, ChecksumMismatch, copy_verified, read_verified
from sohoa.archive.stores import open_store
from sohoa.core.errors import ExitCode
from sohoa.core.hashing import sha256_bytes, sha256_file


@pytest.fixture
def store(tmp_path):
    return open_store((tmp_path / "objects").as_uri())


def test_read_verified_yields_every_byte_when_the_digest_matches(store):
    data = b"x" * (2 * CHUNK_SIZE + 5)
    stored = store.put("a/b", data)
    assert b"".join(read_verified(store, "a/b", stored.sha256)) == data
    store.put("empty", b"")
    assert list(read_verified(store, "empty", sha256_bytes(b""))) == []


def test_a_mismatch_ends_the_stream_before_its_last_piece(store):
    data = b"y" * (2 * CHUNK_SIZE + 5)
    store.put("a/b", data)
    received = []
    with pytest.raises(ChecksumMismatch) as caught:
        for chunk in read_verified(store, "a/b", "0" * 64):
            received.append(chunk)
    assert sum(map(len, received)) == 2 * CHUNK_SIZE  # the last 5 bytes were never handed out
    assert caught.value.exit_code == ExitCode.FIXITY_FAILED
    assert "run sohoa fixity" in caught.value.message


def test_copy_verified_writes_the_file_or_nothing(store, tmp_path):
    stored = store.put("doc", b"hello")
    out = tmp_path / "out.pdf"
    assert copy_verified(store, "doc", stored.sha256, out) == 5
    assert sha256_file(out) == (stored.sha256, 5)
    other = tmp_path / "other.pdf"
    with pytest.raises(ChecksumMismatch):
        copy_verified(store, "doc", "f" * 64, other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["objects", "out.pdf"]  # no partial file left
