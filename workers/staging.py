"""Staging area in the object store: how a file, its plan and its recognised pages travel between machines.

    staging/<sha256>/original           the file's bytes, put by the submitter before any task is sent
    staging/<sha256>/plan.json          the plan stage's output (page frames, report so far)
    staging/<sha256>/image-<page>       one page's encoded archival image (JPEG / CCITT G4 bytes)
    staging/<sha256>/pages-<first>.json the recognised pages of one OCR task, or why they failed

Everything staged is JSON or plain bytes: nothing a worker reads from the
shared store is ever unpickled, so whoever can write to the bucket cannot run
code on the workers. Byte objects are named in the JSON with their SHA-256 and
checked against it before use; the JSON is decoded field by field into the
typed values of the OCR stages, refusing anything malformed. A pages object is
put only after its images, so its presence means the range is complete.
Everything under `staging/<sha256>/` is removed once the item has ended.
Staged objects carry no retention, unlike records.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Final

from sohoa.archive.storage import ObjectExists, ObjectMissing, ObjectStore, StorageError
from sohoa.core.errors import ExitCode, InputError
from sohoa.core.hashing import sha256_bytes
from sohoa.ocr.images import EncodedImage
from sohoa.ocr.page import PageOutcome
from sohoa.ocr.report import FileReport, PageReport
from sohoa.ocr.textlayer import PlacedWord

PREFIX: Final = "staging"
CACHE_HOURS: Final = 6  # a worker-local copy of a staged original is kept this long for its other pages
FORMAT: Final = 1


class StagingCorrupt(StorageError):
    """A staged object is not what a worker wrote (altered, truncated or forged)."""

    exit_code = ExitCode.DAMAGED


class PageFailure(InputError):
    """Pages that can never be recognised (a damaged page): the whole file goes to quarantine."""


def original_key(sha256: str) -> str:
    return f"{PREFIX}/{sha256}/original"


def plan_key(sha256: str) -> str:
    return f"{PREFIX}/{sha256}/plan.json"


def pages_key(sha256: str, first: int) -> str:
    return f"{PREFIX}/{sha256}/pages-{first:05d}.json"


def image_key(sha256: str, page: int) -> str:
    return f"{PREFIX}/{sha256}/image-{page:05d}"


# ------------------------------------------------------------------ the original


def stage_original(store: ObjectStore, path: Path, sha256: str) -> None:
    """Put the file's bytes in staging (verified by the store); a second stage of the same bytes is a no-op."""
    try:
        with path.open("rb") as handle:
            stored = store.put(original_key(sha256), handle)
    except ObjectExists:
        stored = store.stat(original_key(sha256))
    if stored.sha256 != sha256:
        raise StorageError(f"{original_key(sha256)}: staged bytes do not match {sha256} (file changed?)",
                           ExitCode.INPUT_MISSING)


def is_staged(store: ObjectStore, sha256: str) -> bool:
    return store.exists(original_key(sha256))


def cache_dir() -> Path:
    """This user's private cache of staged originals. A cached copy was checked against its SHA-256
    when it was fetched and is reused unchecked, so the folder must be ours and closed to others:
    one made by someone else in the shared temporary folder is refused, never trusted."""
    path = Path(tempfile.gettempdir()) / f"sohoa-cache-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise StorageError(f"{path}: the worker cache must be a folder of this user closed to others "
                           f"(owner {st.st_uid}, mode {stat.S_IMODE(st.st_mode):o}); remove it", ExitCode.OUTPUT_ERROR)
    return path


def fetch_original(store: ObjectStore, sha256: str) -> Path:
    """A local copy of the staged original, checked against its SHA-256 (shared by this worker's tasks)."""
    from sohoa.archive.storage import copy_verified

    cache = cache_dir()
    target = cache / sha256
    if target.exists():
        os.utime(target)
        return target
    _expire(cache)
    copy_verified(store, original_key(sha256), sha256, target)
    return target


def _expire(cache: Path) -> None:
    limit = time.time() - CACHE_HOURS * 3600
    for entry in cache.iterdir():
        try:
            if entry.stat().st_mtime < limit:
                entry.unlink()
        except OSError:
            pass  # another worker process removed it first


# ------------------------------------------------------------------ the plan


def put_plan(store: ObjectStore, sha256: str, kind: str, frames: list[int | None], title: str,
             report: FileReport) -> None:
    document = {"format": FORMAT, "kind": kind, "frames": frames, "title": title,
                "report": report.model_dump(mode="json")}
    _put_once(store, plan_key(sha256), json.dumps(document, ensure_ascii=False).encode("utf-8"))


def get_plan(store: ObjectStore, sha256: str) -> dict | None:
    """{kind, frames, title, report: FileReport}, or None if the plan stage has not run."""
    data = _json(store, plan_key(sha256))
    if data is None:
        return None
    try:
        frames = [None if f is None else int(f) for f in data["frames"]]
        return {"kind": str(data["kind"]), "frames": frames, "title": str(data["title"]),
                "report": FileReport.model_validate(data["report"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise StagingCorrupt(f"{plan_key(sha256)}: malformed plan ({exc})") from None


# ------------------------------------------------------------------ recognised pages


def put_pages(store: ObjectStore, sha256: str, first: int, outcome: list[PageOutcome] | PageFailure) -> str:
    """Images first, then the JSON that names them: its presence means the whole range is there."""
    if isinstance(outcome, PageFailure):
        document: dict = {"format": FORMAT, "failure": {"message": outcome.message,
                                                        "exit_code": int(outcome.exit_code)}}
    else:
        pages = []
        for number, page in enumerate(outcome, start=first):
            key = image_key(sha256, number)
            _put_once(store, key, page.image.data)
            pages.append(_page_to_json(page, key))
        document = {"format": FORMAT, "pages": pages}
    key = pages_key(sha256, first)
    _put_once(store, key, json.dumps(document, ensure_ascii=False).encode("utf-8"))
    return key


def get_pages(store: ObjectStore, sha256: str, first: int) -> list[PageOutcome] | PageFailure | None:
    """What an OCR task left for the pages from `first`, or None if it has not finished."""
    key = pages_key(sha256, first)
    data = _json(store, key)
    if data is None:
        return None
    try:
        if "failure" in data:
            failure = data["failure"]
            return PageFailure(str(failure["message"]), ExitCode(int(failure["exit_code"])))
        return [_page_from_json(page, store) for page in data["pages"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise StagingCorrupt(f"{key}: malformed page data ({type(exc).__name__}: {exc})") from None


def _page_to_json(page: PageOutcome, image_key_: str) -> dict:
    image = page.image
    return {
        "width_pt": float(page.width_pt), "height_pt": float(page.height_pt),
        "image_cm": [float(v) for v in page.image_cm],
        "image": {"key": image_key_, "sha256": sha256_bytes(image.data), "filter": image.filter,
                  "colorspace": image.colorspace, "bits": int(image.bits), "width": int(image.width),
                  "height": int(image.height),
                  "decode_parms": {k: v if isinstance(v, bool) else int(v) for k, v in image.decode_parms.items()},
                  "passthrough": bool(image.passthrough)},
        "words": [[w.text, float(w.x), float(w.y), float(w.width), float(w.size), float(w.angle)]
                  for w in page.words],
        "text": page.text, "report": page.report.model_dump(mode="json"), "word_boxes": page.word_boxes,
    }


def _page_from_json(data: dict, store: ObjectStore) -> PageOutcome:
    meta = data["image"]
    key, expected = str(meta["key"]), str(meta["sha256"])
    if not key.startswith(f"{PREFIX}/"):
        raise StagingCorrupt(f"{key}: a staged page may only name a staged image")
    payload = store.get(key)
    if sha256_bytes(payload) != expected:
        raise StagingCorrupt(f"{key}: image bytes do not match their SHA-256")
    parms = meta["decode_parms"]
    if not isinstance(parms, dict) or not all(isinstance(v, (int, bool)) for v in parms.values()):
        raise ValueError("decode_parms must map names to integers")
    image = EncodedImage(data=payload, filter=_choice(meta["filter"], ("DCTDecode", "CCITTFaxDecode")),
                         colorspace=_choice(meta["colorspace"], ("DeviceRGB", "DeviceGray")),
                         bits=int(meta["bits"]), width=int(meta["width"]), height=int(meta["height"]),
                         decode_parms={str(k): v for k, v in parms.items()}, passthrough=bool(meta["passthrough"]))
    words = [PlacedWord(text=str(t), x=float(x), y=float(y), width=float(w), size=float(s), angle=float(a))
             for t, x, y, w, s, a in data["words"]]
    boxes = data["word_boxes"]
    if not isinstance(boxes, list) or not all(isinstance(b, dict) for b in boxes):
        raise ValueError("word_boxes must be a list of objects")
    return PageOutcome(width_pt=float(data["width_pt"]), height_pt=float(data["height_pt"]), image=image,
                       image_cm=[float(v) for v in data["image_cm"]], words=words, text=str(data["text"]),
                       report=PageReport.model_validate(data["report"]), word_boxes=boxes)


def _choice(value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return str(value)


# ------------------------------------------------------------------ helpers


def _put_once(store: ObjectStore, key: str, data: bytes) -> None:
    try:
        store.put(key, data)
    except ObjectExists:
        pass  # a redelivered task did the same work again; the first copy stands


def _json(store: ObjectStore, key: str) -> dict | None:
    try:
        raw = store.get(key)
    except ObjectMissing:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StagingCorrupt(f"{key}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StagingCorrupt(f"{key}: not a staging document of format {FORMAT}")
    return data


def clear(store: ObjectStore, sha256: str) -> None:
    for key in list(store.list(f"{PREFIX}/{sha256}/")):
        try:
            store.delete(key)
        except ObjectMissing:
            pass
