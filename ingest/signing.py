"""Signing records: the digitising unit's signature on a stored PDF/A, and certified copies.

Storage is write-once, so a record is never re-written to be signed: the signed file is a new
object `signed.pdf` next to `pdfa.pdf`, with its own SHA-256 listed in a new metadata version and
a `signed` event; the catalog then follows that version. The signed bytes reach storage only
after signing succeeded (sign/ writes them to a temporary file first), so nothing half-signed is
ever stored; a retry after a crash between the object and the metadata adopts the stored object.
`sohoa sign`, the pipeline (when a key is configured) and `sohoa certify` come through here.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sohoa
from sohoa.archive import records
from sohoa.archive.storage import ObjectExists, copy_verified
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.records import Event, ObjectInfo
from sohoa.sign import pades
from sohoa.sign.keys import UnitSigner

SIGNED: str = "signed.pdf"
SIGN_REASON = "Đơn vị số hóa ký số bản số hóa (TT 01/2023/TT-VPCP, Điều 8)"


@dataclass(frozen=True)
class SignOutcome:
    record_id: str
    record_code: str
    already: bool  # the record was signed before: nothing written
    sha256: str
    level: str
    signed_at: str


def first_page_words(word_boxes: Any) -> list[list[float]]:
    """Page 1's word boxes in points, top-left origin, from `words.json` or the OCR result."""
    pages = word_boxes.get("pages", []) if isinstance(word_boxes, dict) else word_boxes or []
    first = pages[0] if pages else []
    return [list(map(float, w["box_pt"])) for w in first if isinstance(w, dict) and len(w.get("box_pt", [])) == 4]


def event_detail(info: pades.SignatureInfo) -> str:
    return (f"PAdES {info.level} by {info.unit} ({info.signer}) at {info.signed_at}; "
            f"signed.pdf sha256 {info.sha256}")


def signed_event(record_id: str, info: pades.SignatureInfo, agent: str) -> Event:
    """The pipeline's `signed` event. It names no time or SHA-256: a retry after a crash adopts the
    events and the signed.pdf an earlier attempt stored, and the metadata lists the stored hash."""
    return Event(record_id=record_id, action="signed", agent=agent, tool="sohoa.sign (pyHanko)",
                 tool_version=sohoa.__version__, detail=f"PAdES {info.level} by {info.unit} ({info.signer})")


def sign_file(pdfa: Path, word_boxes: Any, out: Path, signer: UnitSigner, tsa_url: str | None) -> pades.SignatureInfo:
    """Sign one PDF/A (the pipeline's assembled file, or a stored record's copy) into `out`."""
    return pades.sign_pdf(pdfa, out, signer, reason=SIGN_REASON, avoid=first_page_words(word_boxes),
                          tsa_url=tsa_url)


def sign_assembled(pdfa: Path, word_boxes: Any, work: Path, settings) -> pades.SignatureInfo | None:
    """The pipeline's sign stage: the assembled PDF/A signed into `work/signed.pdf` when a key is
    configured (None when not). A key that cannot be used is a SIGNING_SETUP error, never a
    record stored without the signature the configuration asks for."""
    from sohoa.sign.keys import signer_from_settings

    signer = signer_from_settings(settings)
    if signer is None:
        return None
    with signer:
        return sign_file(pdfa, word_boxes, Path(work) / SIGNED, signer, settings.sign_tsa_url)


def check_signing_setup(settings) -> bool:
    """Open and check the configured key once, before any work (`sohoa ingest`, workers at start):
    True when records will be signed, False when no key is configured, SIGNING_SETUP otherwise."""
    from sohoa.sign.keys import signer_from_settings

    signer = signer_from_settings(settings)
    if signer is None:
        return False
    signer.close()
    return True


def _put_signed(store, prefix: str, meta, path: Path) -> ObjectInfo:
    """Write-once; an object a crashed earlier attempt stored is adopted (it was whole: signing
    finished before it was written)."""
    until, hold = records.retention(meta)
    key = f"{prefix}/{SIGNED}"
    try:
        with path.open("rb") as handle:
            stored = store.put(key, handle, retain_until=until, legal_hold=hold,
                               metadata={"record-id": meta.record_id})
    except ObjectExists:
        stored = store.stat(key)
    return ObjectInfo(key=key, sha256=stored.sha256, size=stored.size)


def _record(archive, record_id: str):
    record = archive.catalog.record(record_id)
    if record is None:
        raise SohoaError(f"no record {record_id!r}", ExitCode.NOT_FOUND)
    return record


def _copy_object(archive, stored: records.StoredRecord, name: str, out: Path) -> Path:
    info = stored.objects.get(name)
    if info is None:
        raise SohoaError(f"{stored.meta.record_code}: no {name} stored", ExitCode.NOT_FOUND)
    copy_verified(archive.store, info.key, info.sha256, out)
    return out


def _words(archive, stored: records.StoredRecord) -> Any:
    info = stored.objects.get("words.json")
    return json.loads(archive.store.get(info.key)) if info is not None else []


def sign_record(archive, record_id: str, signer: UnitSigner, agent: str, tsa_url: str | None = None) -> SignOutcome:
    """Sign a stored record's PDF/A into its `signed.pdf`; a signed record is left as it is."""
    record = _record(archive, record_id)
    stored = records.read_stored_record(archive.store, record.prefix)
    if SIGNED in stored.objects:
        return _already(record, stored)
    with tempfile.TemporaryDirectory(prefix="sohoa-sign-") as work:
        pdfa = _copy_object(archive, stored, "pdfa.pdf", Path(work) / "pdfa.pdf")
        info = sign_file(pdfa, _words(archive, stored), Path(work) / SIGNED, signer, tsa_url)
        for _attempt in range(20):
            objects = {**stored.objects, SIGNED: _put_signed(archive.store, record.prefix, stored.meta, info.path)}
            try:
                records.write_metadata_version(archive.store, record.prefix, stored.meta, objects, agent,
                                               action="signed", detail=event_detail(info),
                                               version=stored.version + 1)
            except ObjectExists:  # a concurrent change took the number: read again, sign on top of it
                stored = records.read_stored_record(archive.store, record.prefix)
                if SIGNED in stored.objects:  # a concurrent `sohoa sign` finished first
                    return _already(record, stored)
                continue
            break
        else:
            raise SohoaError(f"{record.code}: its metadata keeps changing; try again", ExitCode.OUTPUT_ERROR)
    stored = records.catalog_follows(archive.catalog, archive.store, record.prefix, "signed")
    signed = stored.objects[SIGNED]
    return SignOutcome(record.id, record.code, False, signed.sha256, info.level, info.signed_at)


def _already(record, stored: records.StoredRecord) -> SignOutcome:
    event = next((e for e in reversed(stored.events) if e.action == "signed"), None)
    return SignOutcome(record.id, record.code, True, stored.objects[SIGNED].sha256, "",
                       event.at.isoformat() if event else "")


def certify_record(archive, record_id: str, signer: UnitSigner, out: Path,
                   tsa_url: str | None = None) -> pades.SignatureInfo:
    """An authenticated electronic copy of the record ("BẢN SAO" + the agency's signature) at `out`,
    made from the unsigned PDF/A (drawing on a signed page would break that signature)."""
    record = _record(archive, record_id)
    stored = records.read_stored_record(archive.store, record.prefix)
    with tempfile.TemporaryDirectory(prefix="sohoa-certify-") as work:
        pdfa = _copy_object(archive, stored, "pdfa.pdf", Path(work) / "pdfa.pdf")
        return pades.certify_pdf(pdfa, Path(out), signer, avoid=first_page_words(_words(archive, stored)),
                                 tsa_url=tsa_url)


def certified_copy(archive, record_id: str, settings, out: Path) -> pades.SignatureInfo:
    """`certify_record` with the configured key (SIGNING_SETUP when there is none or it is unusable)."""
    from sohoa.sign.keys import require_signer

    with require_signer(settings) as signer:
        return certify_record(archive, record_id, signer, out, tsa_url=settings.sign_tsa_url)


def signed_copy(archive, record_id: str, out: Path) -> Path:
    """The record's signed PDF/A, verified against its SHA-256, at `out` (for `sohoa verify RECORD`)."""
    record = _record(archive, record_id)
    stored = records.read_stored_record(archive.store, record.prefix)
    if SIGNED not in stored.objects:
        raise SohoaError(f"{record.code}: not signed (run sohoa sign {record.code})", ExitCode.SIGNATURE_INVALID)
    return _copy_object(archive, stored, SIGNED, out)
