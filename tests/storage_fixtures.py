"""Object-store fixtures shared by storage tests: a session-wide SeaweedFS and a `store` fixture
parametrized over both backends (`local`, `s3`), each test getting an empty store.

Import with `from storage_fixtures import *` in a test module.
"""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path
from typing import Iterator

import pytest
from sohoa.testkit.s3server import S3Endpoint, seaweedfs
from sohoa.archive.storage import ObjectStore
from sohoa.archive.stores import open_store

__all__ = ["store", "store_url", "new_bucket"]  # seaweedfs_endpoint: registered by conftest

_buckets = itertools.count(1)


def new_bucket() -> str:
    """A bucket name no test has used (S3 names: 3-63 lower-case letters, digits, '-')."""
    return f"t{next(_buckets):04d}-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def seaweedfs_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """One SeaweedFS for the whole session (starting one takes about a second)."""
    from conftest import _only_for_server_tests

    _only_for_server_tests("SeaweedFS")
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as endpoint:
        yield endpoint


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.servers)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The storage URL of an empty store of each backend (a fresh directory or bucket)."""
    if request.param == "local":
        return (tmp_path / "store").as_uri()
    # Looked up lazily, so a run of local tests alone never starts SeaweedFS.
    endpoint: S3Endpoint = request.getfixturevalue("seaweedfs_endpoint")
    return endpoint.url(new_bucket())


@pytest.fixture
def store(store_url: str) -> ObjectStore:
    """An empty store, built from its URL the way the application builds it."""
    return open_store(store_url)
