"""Files uploaded in the browser (or by the API) go to the workers the way the hot folder's do.

Each file is first written under DATA/uploads/<date>/<uuid>/<name>, then handed to the supervisor
as an item of job "upload". The copy stays until the catalog holds a record with its SHA-256
(`settle`, run by the web app's background thread), so nothing is lost if a worker dies; a
quarantined file stays too, for someone to look at. Fields and type are checked before anything
is saved, so bad input gets an immediate 4xx with the reason.
"""

from __future__ import annotations

import shutil
import threading
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import BinaryIO, Final

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.hooks.reuse import reuse  # the reuse, announced to the webhooks
from sohoa.ingest.policy import IngestFields
from sohoa.ocr.sniff import sniff_bytes
from sohoa.ratios.agencies import subordinates
from sohoa.web import audit, labels, roles, scope
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.security import Forbidden
from sohoa.web.state import WebState
from sohoa.workers import jobs

JOB: Final = "upload"
MAX_FILES: Final = 50  # per request; a dossier rarely has more components, a back-file goes to `sohoa batch`
NAME_MAX: Final = 120
CHUNK: Final = 1 << 20
_LINKING: Final = threading.Lock()
FIELD_NAMES: Final = ("agency", "dossier", "procedure", "kind", "doc_type", "owner_id", "title", "number_symbol",
                      "issued_on", "issuing_agency", "summary", "valid_until", "retention")


def allowed_agencies(state: WebState, principal: Principal) -> list[str] | None:
    """Agencies this user may upload for: their own and those below it; None = any (admin)."""
    if principal.role == roles.ADMIN:
        return None
    if not principal.agency_code:
        return []
    return subordinates(state.catalog, principal.agency_code)


def check_fields(state: WebState, principal: Principal, form: Mapping[str, object]) -> IngestFields:
    """The ingest fields of the form, validated like `sohoa ingest`'s options, and the agency checked."""
    given = {name: str(form[name]).strip() for name in FIELD_NAMES if form.get(name) not in (None, "")}
    fields = IngestFields.from_dict(given).validated()  # InvalidCode → 400 with the expected form
    agency = fields.agency or principal.agency_code
    if not agency:
        raise WebError(400, "Hãy nhập mã cơ quan (ví dụ 000.00.12.H36).")
    allowed = allowed_agencies(state, principal)
    if allowed is not None and agency not in allowed:
        raise Forbidden(f"Bạn chỉ được tải lên cho cơ quan {principal.agency_code or '(chưa gán)'} và các đơn vị "
                        f"trực thuộc, không phải {agency}.")
    if fields.dossier:  # the dossier too: its code's agency and the one the registry gives it
        try:
            scope.check_dossier(state.catalog, scope.scope_of(state.catalog, principal), fields.dossier)
        except scope.OutOfScope as refused:
            raise Forbidden(refused.message) from None
    # Who scanned it is the logged-in user, never a form field (FIELD_NAMES has no scanned_by).
    return replace(fields, agency=agency, scanned_by=principal.username)


def safe_name(name: str | None, fallback: str) -> str:
    """The browser's file name, without folders, control characters or surprises; NFC."""
    text = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    text = "".join(ch for ch in text if ch.isprintable() and ch not in '<>:"|?*').strip(" .")
    if len(text) > NAME_MAX:
        stem, dot, suffix = text.rpartition(".")
        text = (stem[: NAME_MAX - len(suffix) - 1] + dot + suffix) if dot and len(suffix) <= 8 else text[:NAME_MAX]
    return text or fallback


def _save(stream: BinaryIO, target: Path, name: str, limit: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as sink:
        head = stream.read(CHUNK)
        if not head:
            raise WebError(400, f"{name}: tệp rỗng (0 byte).", "input_empty")
        if sniff_bytes(head) is None:
            raise WebError(415, f"{name}: không phải tệp PDF, TIFF, JPEG hoặc PNG.", "unsupported")
        chunk = head
        while chunk:
            size += len(chunk)
            if size > limit:
                raise WebError(413, f"{name}: tệp lớn hơn giới hạn {limit // (1024 * 1024)} MB.", "too_large")
            sink.write(chunk)
            chunk = stream.read(CHUNK)


def accept(state: WebState, principal: Principal, fields: IngestFields,
           files: list[tuple[str | None, BinaryIO]], client: str = "") -> list[jobs.JobItem]:
    """Save every file, then hand them all to the workers; all or none (a bad file refuses the request)."""
    if not files:
        raise WebError(400, "Chưa chọn tệp nào để tải lên.")
    if len(files) > MAX_FILES:
        raise WebError(400, f"Mỗi lần tải lên tối đa {MAX_FILES} tệp; hồ sơ lưu trữ lớn hãy dùng lô số hóa.")
    day = state.uploads_dir / f"{date.today():%Y-%m-%d}"
    saved: list[Path] = []
    try:
        for number, (name, stream) in enumerate(files, start=1):
            clean = safe_name(name, f"tep-{number}")
            target = day / uuid.uuid4().hex / clean
            saved.append(target)
            _save(stream, target, clean, state.config.max_upload_bytes)
    except BaseException:
        for path in saved:  # refused before anything was accepted: these copies are ours to drop
            shutil.rmtree(path.parent, ignore_errors=True)
        raise
    supervisor = state.supervisor()
    items = []
    for path in saved:
        item = supervisor.submit(JOB, path, fields)  # validated above: not checked again
        link_duplicate(state, item)
        items.append(item)
        audit.write(state.catalog, principal.username, audit.UPLOAD, item.record_id,
                    f"{path.name} → job {JOB} item {item.id} ({fields.agency}"
                    f"{', ' + fields.dossier if fields.dossier else ''})", client)
    return items


def link_duplicate(state: WebState, item: jobs.JobItem) -> bool:
    """Bytes already archived, uploaded into a dossier: link the existing record to that dossier
    (a reuse, counted in the ratios) instead of dropping the dossier. The dossier was checked to
    be in the uploader's scope when the upload was accepted. True when a new link was made."""
    dossier = (item.fields or {}).get("dossier")
    if item.job_name != JOB or item.status != jobs.DUPLICATE or not item.record_id or not dossier:
        return False
    record = state.catalog.record(item.record_id)
    if record is None or record.dossier_code == dossier:
        return False  # the same dossier again: nothing to link
    by = str((item.fields or {}).get("scanned_by") or "sohoa")
    try:
        with _LINKING:  # the request and the background settle may both see the same item
            outcome = reuse(state.archive, record.id, dossier, by)
    except SohoaError:  # e.g. the document has expired: the item says duplicate, nothing is linked
        return False
    if not outcome.already_linked:
        audit.write(state.catalog, by, audit.REUSE, record.id, f"dossier {dossier} (duplicate upload, item {item.id})",
                    dossier=dossier)
    return not outcome.already_linked


def visible_item(state: WebState, principal: Principal, item_id: int) -> jobs.JobItem:
    """An upload item its uploader (or an admin) may follow; anyone else gets 404, not a hint."""
    item = jobs.get(state.catalog, item_id)
    if item is None or item.job_name != JOB or (
            principal.role != roles.ADMIN and item.fields.get("scanned_by") != principal.username):
        raise SohoaError(f"Không có tệp tải lên số {item_id}.", ExitCode.NOT_FOUND)
    return item


DUPLICATE_LINKED_VI: Final = "Đã có trong kho, đã liên kết vào hồ sơ"
DUPLICATE_VI: Final = "Đã có trong kho"


def item_json(item: jobs.JobItem, seen: scope.Scope | None = None, catalog=None) -> dict:
    """One upload's progress, for the status table and the API. With `seen` (the viewer's scope)
    a duplicate of a record outside it says only that the document is already archived (and
    linked to the dossier): neither the other agency's record id nor its code."""
    status = item.status
    label = labels.STATUS_VI.get(status, status)
    if status == jobs.RUNNING and item.pages:
        label = f"{label}: {item.pages_done}/{item.pages} trang"
    record_id, record_code, reason = item.record_id, item.record_code, item.reason
    if status == jobs.DUPLICATE and seen is not None and not seen.everything and record_id:
        record = catalog.record(record_id) if catalog is not None else None
        if record is None or not seen.covers(record.agency_code):
            record_id = record_code = reason = None
            label = DUPLICATE_LINKED_VI if (item.fields or {}).get("dossier") else DUPLICATE_VI
    return {
        "id": item.id, "name": item.name, "status": status, "status_label": label,
        "terminal": status in jobs.TERMINAL, "pages": item.pages, "pages_done": item.pages_done,
        "attempts": item.attempts, "record_id": record_id, "record_code": record_code,
        "reason": reason, "reason_label": labels.reason_vi(item.exit_code) if status == jobs.QUARANTINED else "",
    }


def item_view(state: WebState, principal: Principal, item: jobs.JobItem) -> dict:
    """item_json as this user may see it."""
    return item_json(item, scope.scope_of(state.catalog, principal), state.catalog)


def settle(state: WebState) -> int:
    """Drop the upload copies whose record is stored and verified; returns how many."""
    catalog = state.catalog
    settled = 0
    for item in jobs.items(catalog, JOB, statuses=[jobs.STORED, jobs.DUPLICATE], settled=False):
        if catalog.record_by_sha(item.sha256) is None:
            continue
        link_duplicate(state, item)  # a duplicate the workers found (not seen at submit time)
        path = Path(item.path)
        if path.is_relative_to(state.uploads_dir):  # never touch a file outside our own upload folder
            shutil.rmtree(path.parent, ignore_errors=True)
        jobs.mark_settled(catalog, item.id)
        settled += 1
    return settled


def has_open_items(state: WebState) -> bool:
    """Anything failed or in flight (any job): only then is there work for the supervisor's `tend`."""
    return jobs.any_open(state.catalog)
