"""S3Store: the object store in an S3 bucket with object lock (MinIO in production, SeaweedFS in
tests), through the official `minio` SDK.

How the contract maps onto S3:
- **Bucket.** Created on first use with object lock (which S3 can only switch on at creation) and
  versioning. An existing bucket without object lock is refused: retention could not be enforced.
- **SHA-256.** S3 metadata travels in the request headers, before the body, so the digest must be
  known before the upload starts. `put` therefore streams the input once through SHA-256 into a
  spool file (memory up to one part, disk beyond), then uploads from the spool: single PUT up to
  `part_size` (10 MiB), multipart above, one part in memory at a time. The digest is stored as
  `x-amz-meta-sha256`; after the upload the new version is read back and hashed again.
- **Write-once.** `put` first refuses a key that has any version, then uploads with the
  conditional header `If-None-Match: *` (PUT, or CompleteMultipartUpload), so the server refuses
  the loser of a race: SeaweedFS 4.48 and MinIO honour it (412 PreconditionFailed). The SDK's public
  `put_object` cannot send that header, hence the few calls to its request layer below. As a last
  guard for servers that ignore the header, `put` checks that its version is the key's oldest.
- **Versions.** The record is the *oldest* version of a key: the one the store wrote. `open`,
  `get` and `stat` read that version, so a version written behind the store's back (a raw PUT)
  never replaces what readers get. `sha256_of` hashes the *current* version, i.e. what any other
  S3 client receives for the key. A fixity check comparing `sha256_of(key)` with `stat(key).sha256`
  thus flags both corruption of the original and any newer version written outside the store.
- **Delete.** Deletes the record's version by its version id. A plain DELETE would only add a
  delete marker, which object lock allows; deleting a version is what object lock refuses, so
  the *server* enforces COMPLIANCE retention and legal hold, and its refusal becomes
  `RetentionError`. Then the remaining versions and delete markers of the key go too.
- **Outages.** Connection failures become `StorageUnavailable` with a one-line message. Only
  idempotent requests are retried by the HTTP layer; a conditional write is not re-sent blindly.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime
from typing import BinaryIO, Iterator
from xml.etree import ElementTree

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, ENABLED
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import genheaders, md5sum_hash
from minio.retention import Retention
from minio.versioningconfig import VersioningConfig
from sohoa.archive.storage import (
    CHUNK_SIZE,
    SHA256_META,
    IntegrityError,
    ObjectExists,
    ObjectMissing,
    RetentionError,
    StorageError,
    StorageUnavailable,
    StoredObject,
    check_key,
    check_metadata,
    check_prefix,
    check_retain_until,
    check_sha256,
    iter_chunks,
    under_retention,
)
from sohoa.core.hashing import sha256_stream
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
)
from urllib3.exceptions import (
    TimeoutError as Urllib3Timeout,
)

PART_SIZE = 10 * 1024 * 1024
_META_PREFIX = "x-amz-meta-"
_EXISTS_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
_MISSING_CODES = {"NoSuchKey", "NoSuchVersion"}
_BUSY_CODES = {"ServiceUnavailable", "SlowDown", "InternalError", "RequestTimeout"}
_LOCKED_CODES = {"AccessDenied", "ObjectLocked", "InvalidRequest"}


class S3Store:
    """Write-once object store in one S3 bucket with object lock (see the module docstring)."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = True,
        region: str = "us-east-1",
        part_size: int = PART_SIZE,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        self._url = f"{'https' if secure else 'http'}://{endpoint}"
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(
                total=3,
                connect=2,
                backoff_factor=0.2,
                status_forcelist=(500, 502, 503, 504),
                # Never re-send a write: a lost answer to a conditional PUT would come back as
                # "exists". A refused connection is retried whatever the method (nothing was sent).
                allowed_methods=frozenset({"GET", "HEAD", "DELETE"}),
                raise_on_status=False,
            ),
        )
        # A fixed region saves the GetBucketLocation round trip before the first request.
        self._client = Minio(
            endpoint, access_key, secret_key, secure=secure, region=region, http_client=http
        )
        self._ready = False
        self._ready_lock = threading.Lock()

    def describe(self) -> str:
        return f"s3 bucket {self.bucket} at {self._url}"

    # --- errors -----------------------------------------------------------------------------

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Translate SDK and network failures into the store's one-line errors."""
        what = key if key is not None else self.bucket
        try:
            yield
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                raise ObjectMissing(f"{what}: no such object in {self.describe()}") from None
            if exc.code in _EXISTS_CODES:
                raise ObjectExists(f"{what}: already stored (objects are write-once)") from None
            if exc.code in _BUSY_CODES:
                raise self._unavailable(exc.code) from None
            if exc.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise StorageError(f"{self.describe()}: credentials refused ({exc.code})") from None
            detail = f"{exc.code}: {exc.message}"
            raise StorageError(f"{what}: {self.describe()} answered {detail}") from None
        except (ServerError, InvalidResponseError) as exc:
            raise self._unavailable(_first_line(exc)) from None
        except (HTTPError, OSError) as exc:
            raise self._unavailable(_reason(exc)) from None

    def _unavailable(self, reason: str) -> StorageUnavailable:
        return StorageUnavailable(
            f"object store {self._url} is unreachable ({reason}); retry later"
        )

    # --- bucket -----------------------------------------------------------------------------

    def _ensure_bucket(self) -> None:
        if self._ready:
            return
        with self._ready_lock, self._errors():
            if self._ready:
                return
            client = self._client
            if not client.bucket_exists(self.bucket):
                try:
                    client.make_bucket(self.bucket, object_lock=True)
                except S3Error as exc:  # another process created it meanwhile
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            try:
                client.get_object_lock_config(self.bucket)
            except S3Error as exc:
                if exc.code != "ObjectLockConfigurationNotFoundError":
                    raise
                raise StorageError(
                    f"bucket {self.bucket} at {self._url} has no object lock, so retention "
                    "cannot be enforced: use a new bucket (object lock is set at creation)"
                ) from None
            if client.get_bucket_versioning(self.bucket).status != ENABLED:
                client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
            self._ready = True

    # --- versions ---------------------------------------------------------------------------

    def _versions(self, key: str) -> list[tuple[str, bool]]:
        """(version id, is delete marker) of every version of `key`, newest first."""
        versions, markers = [], []
        # The '/' delimiter keeps the listing to `key`'s own folder, not a whole subtree.
        for obj in self._client.list_objects(
            self.bucket, prefix=key, recursive=False, include_version=True
        ):
            if obj.object_name == key and not obj.is_dir:
                (markers if obj.is_delete_marker else versions).append(obj.version_id or "null")
        # S3 lists a key's versions newest first; the SDK puts delete markers after them.
        return [(v, False) for v in versions] + [(m, True) for m in markers]

    def _record_version(self, key: str) -> str:
        """The version the store wrote: the key's oldest (non-marker) version."""
        self._ensure_bucket()
        with self._errors(key):
            versions = [v for v, marker in self._versions(key) if not marker]
        if not versions:
            raise ObjectMissing(f"{key}: no such object in {self.describe()}")
        return versions[-1]

    # --- writing ----------------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        retain_until: datetime | None = None,
        legal_hold: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        check_key(key)
        meta = check_metadata(metadata)
        until = check_retain_until(retain_until)
        if self.exists(key):  # refuse before spending time on the bytes
            raise ObjectExists(f"{key}: already stored (objects are write-once)")
        with tempfile.SpooledTemporaryFile(max_size=CHUNK_SIZE) as spool:
            digest, size = _spool(data, spool)
            headers = genheaders(
                {SHA256_META: digest, **meta},
                None,
                None,
                Retention(COMPLIANCE, until) if until else None,
                legal_hold,
            )
            headers["Content-Type"] = "application/octet-stream"
            with self._errors(key):
                version = self._upload(key, spool, size, headers)
        self._check_won(key, version)
        with self._errors(key):
            response = self._client.get_object(self.bucket, key, version_id=version)
            try:
                actual = sha256_stream(response)  # type: ignore[arg-type]
            finally:
                response.close()
                response.release_conn()
        if actual != digest:
            # Never leave unverified bytes under the key. Under retention the server refuses
            # this delete: the bad version then stays and the fixity check reports it.
            try:
                self._delete_version(key, version)
            except StorageError:
                pass
            raise IntegrityError(
                f"{key}: read-back SHA-256 {actual} differs from the uploaded {digest} "
                f"(version {version})"
            )
        return StoredObject(key, size, digest, until, bool(legal_hold), meta)

    def _upload(self, key: str, spool: BinaryIO, size: int, headers: dict) -> str:
        """Upload the spool under the write-once condition; return the new version id."""
        client = self._client
        if size <= self.part_size:
            result = client._put_object(  # noqa: SLF001 - the public call drops If-None-Match
                self.bucket, key, spool.read(), {**headers, "If-None-Match": "*"}
            )
            return _version_of(result.version_id, key)
        upload_id = client._create_multipart_upload(self.bucket, key, dict(headers))  # noqa: SLF001
        try:
            etags = []
            for number in range(1, -(-size // self.part_size) + 1):
                part = spool.read(self.part_size)
                etags.append(
                    client._upload_part(self.bucket, key, part, None, upload_id, number)  # noqa: SLF001
                )
                del part  # before the next read: one part in memory at a time, not two
            return self._complete(key, upload_id, etags)
        except BaseException:
            try:
                client._abort_multipart_upload(self.bucket, key, upload_id)  # noqa: SLF001
            except Exception:  # the original failure is the one to report
                pass
            raise

    def _complete(self, key: str, upload_id: str, etags: list[str]) -> str:
        root = ElementTree.Element("CompleteMultipartUpload")
        for number, etag in enumerate(etags, start=1):
            part = ElementTree.SubElement(root, "Part")
            ElementTree.SubElement(part, "PartNumber").text = str(number)
            ElementTree.SubElement(part, "ETag").text = f'"{etag}"'
        body = ElementTree.tostring(root)
        response = self._client._execute(  # noqa: SLF001 - CompleteMultipartUpload + If-None-Match
            "POST",
            self.bucket,
            key,
            body=body,
            headers={
                "Content-Type": "application/xml",
                "Content-MD5": md5sum_hash(body),
                "If-None-Match": "*",
            },
            query_params={"uploadId": upload_id},
        )
        # S3 may answer 200 with an <Error> body when completion fails late.
        if b"<Error>" in response.data[:512]:
            raise S3Error.fromxml(response)
        return _version_of(response.headers.get("x-amz-version-id"), key)

    def _check_won(self, key: str, version: str) -> None:
        """Guard for servers that ignore If-None-Match: our version must be the key's oldest."""
        record = self._record_version(key)
        if record != version:
            try:
                with self._errors(key):
                    self._client.remove_object(self.bucket, key, version_id=version)
            except StorageError:
                pass  # locked by our own retention: the extra version stays, fixity will see it
            raise ObjectExists(f"{key}: already stored by a concurrent writer (write-once)")

    # --- reading ----------------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        check_key(key)
        version = self._record_version(key)
        with self._errors(key):
            response = self._client.get_object(self.bucket, key, version_id=version)
        return io.BufferedReader(_ResponseReader(response, self, key), buffer_size=CHUNK_SIZE)  # type: ignore[return-value]

    def get(self, key: str) -> bytes:
        with self.open(key) as reader:
            return reader.read()

    def exists(self, key: str) -> bool:
        check_key(key)
        try:
            self._record_version(key)
        except ObjectMissing:
            return False
        return True

    def stat(self, key: str) -> StoredObject:
        check_key(key)
        version = self._record_version(key)
        with self._errors(key):
            obj = self._client.stat_object(self.bucket, key, version_id=version)
        headers = obj.metadata or {}
        until_text = headers.get("x-amz-object-lock-retain-until-date")
        user = {
            name.lower()[len(_META_PREFIX) :]: value
            for name, value in headers.items()
            if name.lower().startswith(_META_PREFIX)
        }
        digest = user.pop(SHA256_META, None)
        return StoredObject(
            key=key,
            size=int(obj.size or 0),
            sha256=check_sha256(digest, key),
            retain_until=datetime.fromisoformat(until_text.replace("Z", "+00:00"))
            if until_text
            else None,
            legal_hold=(headers.get("x-amz-object-lock-legal-hold") or "").upper() == "ON",
            metadata=user,
        )

    def sha256_of(self, key: str) -> str:
        """SHA-256 of the key's *current* version: what any S3 client is served for `key`."""
        check_key(key)
        self._record_version(key)  # ObjectMissing if the store never wrote it
        try:
            with self._errors(key):
                response = self._client.get_object(self.bucket, key)
        except ObjectMissing:
            raise IntegrityError(
                f"{key}: hidden by a delete marker written outside the store"
            ) from None
        with io.BufferedReader(_ResponseReader(response, self, key), CHUNK_SIZE) as reader:
            return sha256_stream(reader)  # type: ignore[arg-type]

    def list(self, prefix: str = "") -> Iterator[str]:
        prefix = check_prefix(prefix)  # now, not at the first next()
        self._ensure_bucket()
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[str]:
        last = None
        with self._errors():
            # Listing versions (not current objects) keeps a key hidden by a foreign delete
            # marker listed, as `exists` sees it. S3 returns keys in UTF-8 byte order.
            for obj in self._client.list_objects(
                self.bucket, prefix=prefix, recursive=True, include_version=True
            ):
                name = obj.object_name
                if obj.is_delete_marker or obj.is_dir or name == last or name is None:
                    continue
                last = name
                try:
                    check_key(name)
                except StorageError:
                    continue  # a name written outside the store that no store call could take
                yield name

    # --- deleting ---------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        check_key(key)
        self._ensure_bucket()
        with self._errors(key):
            versions = self._versions(key)
        records = [v for v, marker in versions if not marker]
        if not records:
            raise ObjectMissing(f"{key}: no such object in {self.describe()}")
        # The record's version first: if object lock refuses it, nothing else has changed.
        self._delete_version(key, records[-1])
        for version, _ in versions:
            if version != records[-1]:
                self._delete_version(key, version)

    def _delete_version(self, key: str, version: str) -> None:
        refused: str | None = None
        with self._errors(key):
            try:
                self._client.remove_object(self.bucket, key, version_id=version)
            except S3Error as exc:
                if exc.code not in _LOCKED_CODES:
                    raise
                refused = exc.code
        if refused:
            # The server said no; its answer (AccessDenied on SeaweedFS and MinIO) does not say
            # why, so ask the version's own lock settings.
            reason = self._lock_reason(key, version)
            if reason is None:
                raise StorageError(f"{key}: {self.describe()} refused the delete ({refused})")
            raise RetentionError(
                f"{key}: cannot delete, the object is under {reason} (refused by the server)"
            )

    def _lock_reason(self, key: str, version: str) -> str | None:
        try:
            with self._errors(key):
                obj = self._client.stat_object(self.bucket, key, version_id=version)
        except StorageError:
            return None
        headers = obj.metadata or {}
        until = headers.get("x-amz-object-lock-retain-until-date")
        return under_retention(
            datetime.fromisoformat(until.replace("Z", "+00:00")) if until else None,
            (headers.get("x-amz-object-lock-legal-hold") or "").upper() == "ON",
        )


class _ResponseReader(io.RawIOBase):
    """A streaming HTTP response as a raw file: network errors surface as StorageUnavailable,
    and closing it returns the connection to the pool."""

    def __init__(self, response: urllib3.BaseHTTPResponse, store: S3Store, key: str) -> None:
        self._response = response
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        with self._store._errors(self._key):
            data = self._response.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def _spool(data: bytes | BinaryIO, spool: BinaryIO) -> tuple[str, int]:
    """Copy the input into the spool, hashing it on the way; return (sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    try:
        for chunk in iter_chunks(data):
            digest.update(chunk)
            spool.write(chunk)
            size += len(chunk)
    except OSError as exc:
        raise StorageError(f"cannot spool the upload ({exc.strerror or exc})") from None
    spool.seek(0)
    return digest.hexdigest(), size


def _version_of(version: str | None, key: str) -> str:
    if not version:
        raise StorageError(f"{key}: the server returned no version id (is versioning enabled?)")
    return version


def _reason(exc: BaseException) -> str:
    """A short human reason ('connection refused', 'timed out') from a urllib3 error chain."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, MaxRetryError) and seen.reason is not None:
            seen = seen.reason
            continue
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        if isinstance(seen, Urllib3Timeout) and not isinstance(seen, NewConnectionError):
            return "timed out"
        if isinstance(seen, ProtocolError):
            return "connection lost"
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
