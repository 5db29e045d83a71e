"""A record for people and programs: metadata, objects, events, reuse links, page thumbnails, and
downloads verified against the SHA-256 recorded at write time (as `sohoa get` does)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Final

from sohoa.archive import catalog_write, verified
from sohoa.archive.catalog import EventRow, Record, ReuseLink
from sohoa.archive.storage import ChecksumMismatch, read_verified
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.web import scope
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.state import WebState

PDFA: Final = "pdfa.pdf"
ORIGINAL: Final = "original"
SIGNED: Final = "signed.pdf"  # the digitising unit's signed PDF/A (issue #16), when the record is signed
THUMB_WIDTH: Final = 180  # px: five thumbnails side by side fit a 1366-pixel screen
THUMB_PAGES: Final = 60  # the page shows at most this many; the PDF/A viewer shows them all
MEDIA: Final[dict[str, str]] = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg",
                                "png": "image/png"}


def load(state: WebState, record_id: str) -> Record:
    record = state.catalog.record(record_id.strip())
    if record is None:
        raise SohoaError(f"Không có bản ghi {record_id!r} trong kho.", ExitCode.NOT_FOUND)
    return record


def load_for(state: WebState, principal: Principal, record_id: str, dossier: str = "") -> tuple[Record, str | None]:
    """The record if this user may see it, and the purpose dossier when it is another agency's.

    Outside their subtree a record is shown only for a purpose: `dossier` is a dossier of their
    subtree registered to the record's owner, and the document is still valid (what the Kho shows).
    Otherwise it does not exist for them: the same 404 as a missing record."""
    record = load(state, record_id)
    seen = scope.scope_of(state.catalog, principal)
    if seen.covers(record.agency_code):
        return record, None
    bound = (scope.purpose(state.catalog, seen, record.owner_id, dossier)
             if record.owner_id and dossier and not (record.valid_until and record.valid_until < date.today())
             else None)
    if bound is None:
        raise scope.hidden(record_id)
    return record, bound


def events(state: WebState, record: Record, seen: scope.Scope = scope.EVERYTHING) -> list[EventRow]:
    """The record's events; a reuse into another agency's dossier is left out for a scoped viewer."""
    found = state.catalog.events_of(record.id)
    if seen.everything:
        return found
    return [e for e in found if (dossier := catalog_write.reused_dossier(e) or catalog_write.withdrawn_dossier(e)) is None
            or scope.shows_dossier(seen, dossier)]


def reuse_links(state: WebState, record: Record, seen: scope.Scope = scope.EVERYTHING) -> list[ReuseLink]:
    """The dossiers the record was reused in that `seen` may know of."""
    return [link for link in state.catalog.reuse_links_of(record.id) if scope.shows_dossier(seen, link.dossier_code)]


def record_json(state: WebState, record: Record, seen: scope.Scope = scope.EVERYTHING) -> dict:
    """What `sohoa show --json` prints, plus the dossiers the record was reused in (those `seen` may know of)."""
    return {
        "metadata": scope.redact(seen, record.metadata_json),
        "objects": {o.name: {"key": o.key, "sha256": o.sha256, "size": o.size} for o in record.objects},
        "events": [{"action": e.action, "at": e.at.isoformat(), "agent": e.agent, "tool": e.tool,
                    "tool_version": e.tool_version, "outcome": e.outcome, "detail": e.detail}
                   for e in events(state, record, seen)],
        "reused_in": [{"dossier_code": link.dossier_code, "at": link.at.isoformat(), "by": link.by}
                      for link in reuse_links(state, record, seen)],
    }


def stored_object(record: Record, name: str):
    found = next((o for o in record.objects if o.name == name), None)
    if found is None:
        raise SohoaError(f"{record.code}: thiếu đối tượng {name}", ExitCode.NOT_FOUND)
    return found


ALTERED_VI: Final = ("Tệp lưu trong kho không khớp mã kiểm tra SHA-256 đã ghi khi lưu (có thể đã bị thay đổi "
                     "hoặc hỏng), nên không được gửi đi. Sự việc đã được ghi lại; hãy báo quản trị hệ thống "
                     "chạy kiểm tra toàn vẹn (sohoa fixity).")


@dataclass
class Download:
    """What a download sends: `body` (a small object, verified whole already) or `chunks` (a large
    one, hashed on the way out; the last chunk is held back until the SHA-256 matched, and
    `on_mismatch` is called when it does not, before the response is cut)."""

    size: int
    sha256: str
    body: bytes | None = None
    chunks: Iterator[bytes] | None = None
    on_mismatch: Callable[[], None] | None = None


def mismatch(state: WebState, record: Record, key: str, who: str, what: str) -> None:
    """Evidence of an altered object met while serving it: a fixity-checked failure event."""
    verified.record_mismatch(state.archive, record, key, f"sohoa web ({who})", what)


def download(state: WebState, record: Record, name: str, who: str, what: str) -> Download:
    """The object's bytes for a client, never altered ones. Small objects are verified whole first
    (a mismatch is a 500 with a clear Vietnamese message); large ones are streamed verified."""
    obj = stored_object(record, name)
    if obj.size <= verified.SMALL:
        try:
            body = verified.read_small(state.archive, obj.key, obj.sha256)
        except ChecksumMismatch:
            mismatch(state, record, obj.key, who, what)
            raise WebError(500, ALTERED_VI, "fixity_failed") from None
        return Download(obj.size, obj.sha256, body=body)
    return Download(obj.size, obj.sha256, chunks=read_verified(state.archive.store, obj.key, obj.sha256),
                    on_mismatch=lambda: mismatch(state, record, obj.key, who, what))


def pdf_name(record: Record, unsigned: bool = False) -> str:
    """The PDF/A a client gets: the signed one once the record is signed, unless `unsigned`."""
    if not unsigned and any(o.name == SIGNED for o in record.objects):
        return SIGNED
    return PDFA


def download_name(record: Record, name: str) -> str:
    if name in (PDFA, SIGNED):
        return f"{record.code}.pdf"
    original = (record.metadata_json or {}).get("original_name") or record.code
    return str(original)


def original_media_type(record: Record) -> str:
    kind = (record.metadata_json or {}).get("media_type", "")
    return MEDIA.get(kind, kind if "/" in kind else "application/octet-stream")


def thumbnail(state: WebState, record: Record, page: int, who: str = "", width: int = THUMB_WIDTH) -> Path:
    """A PNG of one page of the PDF/A, `width` pixels wide, rendered once and cached under
    DATA/web-cache/thumbs (the review page asks for larger ones, cached beside them)."""
    if not 1 <= page <= max(record.page_count, 1):
        raise SohoaError(f"{record.code}: không có trang {page}", ExitCode.NOT_FOUND)
    name = f"{page}.png" if width == THUMB_WIDTH else f"{page}-{width}.png"
    target = state.cache_dir / "thumbs" / record.id / name
    if target.exists():
        return target
    import pypdfium2

    pdf = pypdfium2.PdfDocument(_pdfa_bytes(state, record, who, f"thumbnail of page {page}"))
    try:
        sheet = pdf[page - 1]
        scale = width / max(sheet.get_width(), 1)
        image = sheet.render(scale=scale).to_pil()
    finally:
        pdf.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    image.convert("RGB").save(partial, "PNG", optimize=True)
    partial.replace(target)  # two requests rendering at once both end with a whole file
    return target


def _pdfa_bytes(state: WebState, record: Record, who: str, what: str) -> bytes:
    """The whole PDF/A, verified against its SHA-256 (a mismatch is recorded, then a 500)."""
    obj = stored_object(record, PDFA)
    try:
        return b"".join(read_verified(state.archive.store, obj.key, obj.sha256))
    except ChecksumMismatch:
        mismatch(state, record, obj.key, who, what)
        raise WebError(500, ALTERED_VI, "fixity_failed") from None


def page_sizes(state: WebState, record: Record, who: str = "") -> list[tuple[float, float]]:
    """(width, height) in PDF points of every page of the PDF/A, read once and cached beside the
    thumbnails: what boxes in points are drawn over a page image with."""
    target = state.cache_dir / "thumbs" / record.id / "sizes.json"
    if target.exists():
        return [(float(w), float(h)) for w, h in json.loads(target.read_text(encoding="utf-8"))]
    import pypdfium2

    pdf = pypdfium2.PdfDocument(_pdfa_bytes(state, record, who, "page sizes"))
    try:
        sizes = [(round(pdf[n].get_width(), 2), round(pdf[n].get_height(), 2)) for n in range(len(pdf))]
    finally:
        pdf.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    partial.write_text(json.dumps(sizes), encoding="utf-8")
    partial.replace(target)
    return sizes


def certified(state: WebState, record: Record) -> dict:
    """The bytes and SHA-256 of a certified copy of the record, made with the agency's key."""
    import tempfile

    from sohoa.ingest.signing import certified_copy

    with tempfile.TemporaryDirectory(prefix="sohoa-ban-sao-") as work:
        out = Path(work) / "ban-sao.pdf"
        try:
            info = certified_copy(state.archive, record.id, state.settings, out)
        except SohoaError as error:
            if error.exit_code == ExitCode.SIGNING_SETUP:
                raise WebError(503, "Chưa dùng được khóa ký số của cơ quan (cấu hình SOHOA_SIGN_P12 hoặc "
                                    "SOHOA_SIGN_PKCS11_LIB): " + error.message, "signing_setup") from None
            raise
        return {"body": out.read_bytes(), "sha256": info.sha256}

