"""`open_store(url)`: the object-store backend named by a storage URL.

It lives apart from `storage.py` (the contract) because it imports both backends, and both
backends import the contract: keeping the factory here leaves no import cycle.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sohoa.archive.storage import ObjectStore, StorageError
from sohoa.core.errors import ExitCode


def open_store(url: str) -> ObjectStore:
    """The backend named by a storage URL.

    `file:///abs/dir` → LocalStore; `s3://KEY:SECRET@host:port/bucket?secure=false` → S3Store
    (secure defaults to true; KEY and SECRET are percent-decoded; `region=` is optional).
    """
    parts = urlsplit(url)
    # Backends are imported on demand: the embedded default need not load the S3 SDK.
    if parts.scheme == "file":
        from sohoa.archive.local_store import LocalStore

        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StorageError("invalid storage URL: use file:///absolute/dir", ExitCode.USAGE)
        return LocalStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        from sohoa.archive.s3_store import S3Store

        # Never echo the URL itself: it carries the secret key.
        bucket = parts.path.strip("/")
        try:
            port = parts.port
        except ValueError:
            port = -1
        if (
            not parts.hostname
            or not bucket
            or "/" in bucket
            or parts.username is None
            or port == -1
        ):
            raise StorageError(
                "invalid storage URL: use s3://KEY:SECRET@host:port/bucket[?secure=false]",
                ExitCode.USAGE,
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        secure = query.get("secure", "true").lower() not in ("false", "0", "no")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        endpoint = f"{host}:{port}" if port else host
        return S3Store(
            endpoint=endpoint,
            access_key=unquote(parts.username),
            secret_key=unquote(parts.password or ""),
            bucket=bucket,
            secure=secure,
            region=query.get("region", "us-east-1"),
        )
    raise StorageError(
        f"unsupported storage URL scheme {parts.scheme!r}: use file:// or s3://", ExitCode.USAGE
    )
