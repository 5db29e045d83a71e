"""The one contract suite of the object store, run against both backends: LocalStore in a temporary
directory and S3Store against a real SeaweedFS (object lock, versioning). No mocks: where a test
acts behind the store's back (tampering, raw deletes) it does so with the filesystem or the raw
S3 SDK, the way an intruder or a careless admin would.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import threading
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest
from minio.error import S3Error
from sohoa.testkit.s3server import seaweedfs
from sohoa.archive.local_store import META_DIR, LocalStore
from sohoa.archive.s3_store import S3Store
from sohoa.archive.storage import (
    CHUNK_SIZE,
    IntegrityError,
    ObjectExists,
    ObjectMissing,
    ObjectStore,
    RetentionError,
    StorageError,
    StorageUnavailable,
)
from sohoa.archive.stores import open_store
from sohoa.core.errors import ExitCode, SohoaError
from storage_fixtures import *  # noqa: F403 - seaweedfs_endpoint, store_url, store

MiB = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def later(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


class GeneratedStream(io.RawIOBase):
    """`size` pseudo-random bytes made on demand, never all in memory. Records the digest of what
    it handed out and the largest read it was asked for."""

    def __init__(self, size: int, seed: int = 3) -> None:
        self.remaining = size
        self.rng = random.Random(seed)
        self.digest = hashlib.sha256()
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self.largest_read = max(self.largest_read, len(buffer))
        count = min(len(buffer), self.remaining)
        data = self.rng.randbytes(count)
        buffer[:count] = data
        self.digest.update(data)
        self.remaining -= count
        return count

    def readall(self) -> bytes:  # a store that slurps the input would be caught here
        raise AssertionError("the store read the whole input at once")


# --- behind the store's back --------------------------------------------------------------------


def raw_client(store: S3Store, endpoint):
    assert isinstance(store, S3Store)
    return endpoint.client()


def recorded_sha256_raw(store: ObjectStore, key: str, endpoint) -> str:
    """The digest as the backend itself holds it (sidecar file / S3 object metadata)."""
    if isinstance(store, LocalStore):
        return json.loads((store.root / META_DIR / f"{key}.json").read_text())["sha256"]
    stat = raw_client(store, endpoint).stat_object(store.bucket, key)
    return stat.metadata["x-amz-meta-sha256"]


def tamper(store: ObjectStore, key: str, data: bytes, endpoint) -> None:
    """Change the bytes under `key` the way someone with access to the backend could."""
    if isinstance(store, LocalStore):
        path = store.root / key
        path.chmod(0o644)
        path.write_bytes(data)
    else:
        # The locked version cannot be changed: a raw PUT adds a newer version on top of it.
        raw_client(store, endpoint).put_object(store.bucket, key, io.BytesIO(data), len(data))


@pytest.fixture
def endpoint(store: ObjectStore, request: pytest.FixtureRequest):
    """The SeaweedFS endpoint when the store is S3, else None."""
    return request.getfixturevalue("seaweedfs_endpoint") if isinstance(store, S3Store) else None


# --- selection and description --------------------------------------------------------------------


def test_open_store_selects_the_backend_and_hides_secrets(store: ObjectStore, store_url: str):
    assert isinstance(store, ObjectStore)
    if store_url.startswith("file://"):
        assert isinstance(store, LocalStore) and store.describe().startswith("local directory /")
    else:
        secret = store_url.split(":")[2].split("@")[0]
        assert isinstance(store, S3Store)
        assert store.describe().startswith("s3 bucket ") and "http://127.0.0.1:" in store.describe()
        assert secret not in store.describe()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://host/x",
        "file://host/dir",
        "file:relative",
        "s3://KEY:hunter2zz@host:9000/",  # no bucket
        "s3://host/b",  # no credentials
        "s3://k:hunter2zz@h:port/b",  # port not a number
    ],
)
def test_bad_storage_urls_are_refused_without_echoing_secrets(url: str):
    with pytest.raises(StorageError) as info:
        open_store(url)
    assert "hunter2zz" not in info.value.message and "\n" not in info.value.message


# --- put / get ------------------------------------------------------------------------------------


def test_round_trip_is_byte_identical(store: ObjectStore):
    data = bytes(range(256)) * 41 + b"\x00\r\n\x1a\xff" + "hồ sơ".encode()
    stored = store.put("hoso/000.00.12.H36-240115-0001/original", data)
    assert stored.size == len(data) and stored.sha256 == sha(data)
    assert store.get("hoso/000.00.12.H36-240115-0001/original") == data
    with store.open("hoso/000.00.12.H36-240115-0001/original") as reader:
        pieces = [reader.read(1000) for _ in range(12)]
    assert b"".join(pieces) == data


def test_empty_object(store: ObjectStore):
    stored = store.put("empty", b"")
    assert stored.size == 0 and stored.sha256 == sha(b"")
    assert store.get("empty") == b"" and store.stat("empty").size == 0
    assert store.sha256_of("empty") == sha(b"")


def test_25_mib_streamed_from_a_file_object_in_bounded_memory(store: ObjectStore):
    size = 25 * MiB
    source = GeneratedStream(size)
    tracemalloc.start()
    try:
        stored = store.put("big/scan.tif", source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = source.digest.hexdigest()
    assert source.remaining == 0 and source.largest_read <= CHUNK_SIZE
    # Local holds one 1 MiB chunk, S3 one 10 MiB part (measured: 4 and 10 MiB): never the whole.
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB for a 25 MiB object"
    assert stored.size == size and stored.sha256 == expected
    assert store.stat("big/scan.tif").size == size
    assert store.sha256_of("big/scan.tif") == expected
    digest, total = hashlib.sha256(), 0
    with store.open("big/scan.tif") as reader:
        for chunk in iter(lambda: reader.read(MiB), b""):
            digest.update(chunk)
            total += len(chunk)
    assert total == size and digest.hexdigest() == expected


def test_sha256_is_recorded_in_the_backend_metadata(store: ObjectStore, endpoint):
    data = b"%PDF-1.7 fake pdf/a body"
    stored = store.put("r/pdfa.pdf", data, metadata={"kind": "component", "pages": "3"})
    assert stored.sha256 == sha(data)
    assert store.stat("r/pdfa.pdf").sha256 == sha(data)
    assert recorded_sha256_raw(store, "r/pdfa.pdf", endpoint) == sha(data)
    assert store.stat("r/pdfa.pdf").metadata == {"kind": "component", "pages": "3"}


@pytest.mark.parametrize(
    "metadata",
    [
        {"sha256": "0" * 64},
        {"Upper": "x"},
        {"title": "Giấy khai sinh"},
        {"x y": "1"},
        {"k": "a\nb"},
    ],
)
def test_bad_metadata_is_refused(store: ObjectStore, metadata: dict):
    with pytest.raises(StorageError):
        store.put("m", b"data", metadata=metadata)
    assert not store.exists("m")


def _corrupting(store: ObjectStore) -> ObjectStore:
    """The same store with one byte flipped between hashing and storage (a bad disk or a broken
    proxy): the only way to make stored bytes differ from hashed bytes without a broken server."""
    if isinstance(store, LocalStore):

        class FlippingLocal(LocalStore):
            def _write_temp(self, tmp, data):
                result = super()._write_temp(tmp, data)
                tmp.chmod(0o644)
                with open(tmp, "r+b") as f:
                    first = f.read(1)
                    f.seek(0)
                    f.write(bytes([first[0] ^ 0xFF]))
                return result

        return FlippingLocal(store.root)

    class FlippingS3(S3Store):
        def _upload(self, key, spool, size, headers):
            damaged = bytearray(spool.read())
            damaged[0] ^= 0xFF
            return super()._upload(key, io.BytesIO(bytes(damaged)), size, headers)

    flipping = FlippingS3.__new__(FlippingS3)
    flipping.__dict__.update(store.__dict__)
    return flipping


def test_put_reads_back_and_refuses_bytes_that_differ(store: ObjectStore):
    broken = _corrupting(store)
    with pytest.raises(IntegrityError, match="read-back SHA-256"):
        broken.put("verify/me", b"original bytes")
    # Nothing unverified is left under the key: a correct retry succeeds.
    assert not store.exists("verify/me") and list(store.list("verify/")) == []
    assert store.put("verify/me", b"original bytes").sha256 == sha(b"original bytes")
    assert store.get("verify/me") == b"original bytes"


# --- write-once -----------------------------------------------------------------------------------


def test_write_once_refuses_an_existing_key(store: ObjectStore):
    store.put("once", b"first")
    with pytest.raises(ObjectExists):
        store.put("once", b"second")
    with pytest.raises(ObjectExists):
        store.put("once", io.BytesIO(b"third"), retain_until=later(3600))
    assert store.get("once") == b"first" and store.stat("once").sha256 == sha(b"first")
    assert store.stat("once").retain_until is None


def test_write_once_holds_when_the_existence_check_is_raced(store: ObjectStore, endpoint):
    """Skip the store's own pre-check, as a concurrent writer would slip past it: the last line
    of defence must refuse (os.link locally; the server's If-None-Match on S3)."""
    store.put("race", b"winner")

    class Blind(type(store)):  # type: ignore[misc]
        def exists(self, key):
            return False

    blind = Blind.__new__(Blind)
    blind.__dict__.update(store.__dict__)
    with pytest.raises(ObjectExists):
        blind.put("race", b"loser", retain_until=later(3600))
    assert store.get("race") == b"winner" and store.stat("race").retain_until is None
    if endpoint is not None:  # the server refused: the loser never became a version
        versions = list(
            endpoint.client().list_objects(store.bucket, prefix="race", include_version=True)
        )
        assert len(versions) == 1


def test_concurrent_writers_exactly_one_wins(store: ObjectStore):
    barrier = threading.Barrier(4)
    outcomes: list[object] = [None] * 4

    def write(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = store.put("contested", f"writer {i}".encode() * 1000)
        except ObjectExists as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [i for i, o in enumerate(outcomes) if not isinstance(o, ObjectExists)]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ObjectExists) for i, o in enumerate(outcomes) if i != winners[0])
    assert store.get("contested") == f"writer {winners[0]}".encode() * 1000


def test_a_reader_between_publish_and_sidecar_does_not_fail_the_writer(store: ObjectStore):
    """CI run of session 3: six concurrent ingests of one file; one read `metadata.json` in the
    instant after another published it and before its sidecar was committed. The reader completed
    the writer's sidecar, and the writer then failed with "No such file or directory"."""
    if not isinstance(store, LocalStore):
        store.put("raced/metadata.json", b"{}")  # S3 publishes bytes and metadata in one request
        assert store.stat("raced/metadata.json").sha256 == hashlib.sha256(b"{}").hexdigest()
        return
    reader = LocalStore(store.root)

    class ReadRightAfterLink(LocalStore):
        def _publish(self, tmp, target, key):
            super()._publish(tmp, target, key)
            self.seen = reader.stat(key)  # another process, between steps 3 and 4

    writer = ReadRightAfterLink(store.root)
    stored = writer.put("raced/metadata.json", b'{"code": "KQ1"}')
    assert writer.seen.sha256 == stored.sha256 == hashlib.sha256(b'{"code": "KQ1"}').hexdigest()
    assert store.stat("raced/metadata.json").sha256 == stored.sha256
    leftovers = [p.name for p in (store.root / META_DIR / "raced").iterdir() if p.name.startswith(".")]
    assert leftovers == []


# --- listing and keys -----------------------------------------------------------------------------


def test_list_is_sorted_recursive_and_filtered_by_prefix(store: ObjectStore):
    keys = ["b/2", "a/1", "a/10", "a/2", "a-x", "a/sub/z", "ab", "Đơn/1", "a/sub/y/deep"]
    for key in keys:
        store.put(key, key.encode())
    assert list(store.list()) == sorted(keys)
    assert list(store.list("a/")) == ["a/1", "a/10", "a/2", "a/sub/y/deep", "a/sub/z"]
    assert list(store.list("a")) == ["a-x", "a/1", "a/10", "a/2", "a/sub/y/deep", "a/sub/z", "ab"]
    assert list(store.list("a/s")) == ["a/sub/y/deep", "a/sub/z"]
    assert list(store.list("a/1")) == ["a/1", "a/10"]
    assert list(store.list("Đơn/")) == ["Đơn/1"]
    assert list(store.list("zzz")) == []


UNSAFE_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../escape",
    "a/./b",
    "a\\b",
    "a//b",
    "a/",
    ".hidden",
    "a/.sohoa/meta",
    "nul\x00byte",
    "new\nline",
    "del\x7f",
    "Ho\u0302\u0300 so\u031b",  # NFD spelling of "Hồ sơ"
    "x" * 1025,
]


@pytest.mark.parametrize("key", UNSAFE_KEYS, ids=range(len(UNSAFE_KEYS)))
def test_unsafe_keys_are_refused_by_every_call(store: ObjectStore, key: str, tmp_path):
    calls = [
        lambda: store.put(key, b"x"),
        lambda: store.get(key),
        lambda: store.open(key),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.sha256_of(key),
    ]
    for call in calls:
        with pytest.raises(StorageError) as info:
            call()
        assert type(info.value) is StorageError and "\n" not in info.value.message
    assert list(store.list()) == []
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("prefix", ["/abs", "../", "a/../", "a\\", "a//", "x\x00"])
def test_unsafe_list_prefixes_are_refused(store: ObjectStore, prefix: str):
    with pytest.raises(StorageError):
        store.list(prefix)


def test_missing_keys(store: ObjectStore):
    assert not store.exists("no/such/key")
    for call in (store.get, store.open, store.stat, store.delete, store.sha256_of):
        with pytest.raises(ObjectMissing) as info:
            call("no/such/key")
        assert "no/such/key" in info.value.message
        assert info.value.exit_code == ExitCode.INPUT_MISSING


# --- retention and delete -------------------------------------------------------------------------


def test_delete_without_retention(store: ObjectStore):
    store.put("tmp/draft", b"draft")
    store.put("tmp/keep", b"keep")
    store.delete("tmp/draft")
    assert not store.exists("tmp/draft")
    assert list(store.list("tmp/")) == ["tmp/keep"]
    with pytest.raises(ObjectMissing):
        store.get("tmp/draft")
    store.put("tmp/draft", b"a new object may take a freed key")
    assert store.get("tmp/draft") == b"a new object may take a freed key"


def _assert_server_refuses_version_delete(store: ObjectStore, key: str, endpoint) -> None:
    """On S3 the refusal must come from the server's object lock, not from our code."""
    if endpoint is None:
        return
    client = endpoint.client()
    listing = client.list_objects(store.bucket, prefix=key, include_version=True)
    versions = [o.version_id for o in listing]
    assert len(versions) == 1
    with pytest.raises(S3Error) as info:
        client.remove_object(store.bucket, key, version_id=versions[0])
    assert info.value.code == "AccessDenied"


def test_delete_refused_under_retention(store: ObjectStore, endpoint):
    until = later(3600).replace(microsecond=0)
    stored = store.put("kq/result.pdf", b"result", retain_until=until)
    assert stored.retain_until == until
    assert store.stat("kq/result.pdf").retain_until == until
    assert store.stat("kq/result.pdf").legal_hold is False
    with pytest.raises(RetentionError, match="retention until"):
        store.delete("kq/result.pdf")
    assert store.get("kq/result.pdf") == b"result"
    _assert_server_refuses_version_delete(store, "kq/result.pdf", endpoint)
    assert store.get("kq/result.pdf") == b"result"


def test_delete_refused_under_legal_hold(store: ObjectStore, endpoint):
    store.put("kq/held.pdf", b"held", legal_hold=True)
    assert store.stat("kq/held.pdf").legal_hold is True
    with pytest.raises(RetentionError, match="legal hold"):
        store.delete("kq/held.pdf")
    _assert_server_refuses_version_delete(store, "kq/held.pdf", endpoint)
    assert store.get("kq/held.pdf") == b"held"


def test_retention_expires(store: ObjectStore):
    until = later(2)
    stored = store.put("short", b"brief", retain_until=until)
    with pytest.raises(RetentionError):
        store.delete("short")
    time.sleep(max(0.0, (stored.retain_until - datetime.now(timezone.utc)).total_seconds()) + 0.3)
    store.delete("short")
    assert not store.exists("short")


@pytest.mark.parametrize("until", [datetime(2099, 1, 1), datetime(2000, 1, 1, tzinfo=timezone.utc)])
def test_bad_retention_dates_are_refused(store: ObjectStore, until: datetime):
    with pytest.raises(StorageError, match="retain_until"):
        store.put("dated", b"x", retain_until=until)
    assert not store.exists("dated")


# --- fixity ---------------------------------------------------------------------------------------


def test_tampering_behind_the_stores_back_is_detected(store: ObjectStore, endpoint):
    original = b"the archived bytes"
    store.put("fixity/pdfa.pdf", original, retain_until=later(3600))
    assert store.sha256_of("fixity/pdfa.pdf") == store.stat("fixity/pdfa.pdf").sha256

    tamper(store, "fixity/pdfa.pdf", b"forged bytes!", endpoint)

    # The fixity check: the recorded digest no longer matches what the key serves.
    assert store.stat("fixity/pdfa.pdf").sha256 == sha(original)
    assert store.sha256_of("fixity/pdfa.pdf") == sha(b"forged bytes!")
    assert store.sha256_of("fixity/pdfa.pdf") != store.stat("fixity/pdfa.pdf").sha256
    if endpoint is not None:
        # S3 keeps the locked original: the store still reads the version it wrote.
        assert store.get("fixity/pdfa.pdf") == original
        assert list(store.list("fixity/")) == ["fixity/pdfa.pdf"]


def test_a_foreign_delete_marker_is_detected_on_s3(store: ObjectStore, endpoint):
    """A plain S3 DELETE on a locked object is allowed: it hides the object behind a marker."""
    store.put("hidden", b"still here", retain_until=later(3600))
    if endpoint is None:  # local: removing the sidecar is the equivalent damage
        (store.root / META_DIR / "hidden.json").unlink()
        with pytest.raises(IntegrityError):
            store.stat("hidden")
        return
    endpoint.client().remove_object(store.bucket, "hidden")
    with pytest.raises(IntegrityError, match="delete marker"):
        store.sha256_of("hidden")
    assert store.exists("hidden") and store.get("hidden") == b"still here"
    assert list(store.list()) == ["hidden"]
    with pytest.raises(ObjectExists):
        store.put("hidden", b"replacement")


# --- outages --------------------------------------------------------------------------------------


def _assert_one_line_unavailable(exc: BaseException, secret: str) -> None:
    assert isinstance(exc, StorageUnavailable) and isinstance(exc, SohoaError)
    message = exc.message
    assert "\n" not in message and len(message) < 200
    assert "unreachable" in message and secret not in message
    assert exc.exit_code == ExitCode.OUTPUT_ERROR


def test_unreachable_s3_port_is_a_one_line_storage_unavailable():
    from sohoa.testkit.s3server import free_ports

    port = free_ports(1)[0]  # nothing listens there
    store = open_store(f"s3://key:TOPSECRET@127.0.0.1:{port}/bucket?secure=false")
    started = time.monotonic()
    calls = (lambda: store.put("k", b"x"), lambda: store.exists("k"), lambda: list(store.list()))
    for call in calls:
        with pytest.raises(StorageUnavailable) as info:
            call()
        _assert_one_line_unavailable(info.value, "TOPSECRET")
        assert "connection refused" in info.value.message
    assert time.monotonic() - started < 15


@pytest.mark.servers
def test_server_stopped_then_restarted(tmp_path):
    """A store outlives an outage: StorageUnavailable while the server is down, data back after."""
    with seaweedfs(tmp_path / "sw") as endpoint:
        store = open_store(endpoint.url("outage"))
        store.put("before", b"kept across restarts", retain_until=later(3600))
        endpoint.server.stop()
        for call in (lambda: store.get("before"), lambda: store.put("during", b"x")):
            with pytest.raises(StorageUnavailable) as info:
                call()
            _assert_one_line_unavailable(info.value, endpoint.secret_key)
        endpoint.server.restart()
        assert store.get("before") == b"kept across restarts"
        assert store.sha256_of("before") == sha(b"kept across restarts")
        store.put("after", b"writes work again")
        assert list(store.list()) == ["after", "before"]


# --- S3 bucket set-up -------------------------------------------------------------------------


def test_s3_bucket_is_created_with_object_lock_and_versioning(seaweedfs_endpoint):
    bucket = new_bucket()  # noqa: F405 - from storage_fixtures
    client = seaweedfs_endpoint.client()
    store = open_store(seaweedfs_endpoint.url(bucket))
    assert not client.bucket_exists(bucket)  # nothing happens before first use
    store.put("first", b"x")
    assert client.get_bucket_versioning(bucket).status == "Enabled"
    client.get_object_lock_config(bucket)  # raises if the bucket has no object lock
    assert client.stat_object(bucket, "first").metadata["x-amz-meta-sha256"] == sha(b"x")


def test_s3_bucket_without_object_lock_is_refused(seaweedfs_endpoint):
    bucket = new_bucket()  # noqa: F405 - from storage_fixtures
    seaweedfs_endpoint.client().make_bucket(bucket)  # made by hand, without object lock
    store = open_store(seaweedfs_endpoint.url(bucket))
    with pytest.raises(StorageError, match="no object lock"):
        store.put("k", b"x")
    assert list(seaweedfs_endpoint.client().list_objects(bucket)) == []
