"""Checking the signatures of a PDF: integrity, coverage, signer, time, timestamp and trust.

`verify_pdf` reads every signature with pyHanko and reports, per signature: the digest matches
the signed bytes (intact), the cryptographic signature holds, the signed range covers the whole
file or only later revisions that add validation data (anything else is "modified after
signing"), who signed and when, the RFC 3161 timestamp, the PAdES level, and whether the chain
ends in one of the trust roots (`SOHOA_TRUST_ROOTS`: a PEM file or a folder of certificates).
Validation runs offline: no revocation server is asked at verification time.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.sign.keys import SIGNING_USAGES, load_trust_roots
from sohoa.sign.pades import VIETNAM, has_timestamp_token, pades_level

logging.getLogger("pyhanko").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class SignatureCheck:
    field: str
    signer: str
    unit: str
    signing_time: str | None  # ISO 8601, Vietnam time, as the signer's clock said
    timestamp: str | None  # ISO 8601, Vietnam time, from the timestamp authority
    level: str
    intact: bool  # the digest matches the signed bytes
    valid: bool  # the cryptographic signature holds
    covers_whole_file: bool
    modified_after_signing: bool
    chain_trusted: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.chain_trusted and not self.modified_after_signing


@dataclass(frozen=True)
class VerifyReport:
    path: str
    signatures: list[SignatureCheck]
    error: str | None = None  # the file could not be read as a signed PDF

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def valid(self) -> bool:
        return self.error is None and self.signed and all(s.ok for s in self.signatures)

    def to_dict(self) -> dict:
        return {"path": self.path, "valid": self.valid, "signed": self.signed, "error": self.error,
                "signatures": [{**asdict(s), "ok": s.ok} for s in self.signatures]}

    def summary(self) -> str:
        if self.error:
            return f"{self.path}: INVALID: {self.error}"
        if not self.signed:
            return f"{self.path}: NOT SIGNED"
        return f"{self.path}: {'VALID' if self.valid else 'INVALID'} ({len(self.signatures)} signature(s))"


def _iso(moment) -> str | None:
    return moment.astimezone(VIETNAM).isoformat() if moment else None


def _check(embedded, roots, has_dss: bool) -> SignatureCheck:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=roots or [], allow_fetching=False, revocation_mode="soft-fail")
    status = validate_pdf_signature(embedded, context, key_usage_settings=KeyUsageConstraints(
        key_usage=set(SIGNING_USAGES)))
    cert = status.signing_cert
    subject = cert.subject.native if cert is not None else {}
    timestamp = status.timestamp_validity
    timestamped = has_timestamp_token(embedded.signer_info)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    modified = not whole and (status.coverage != SignatureCoverageLevel.ENTIRE_REVISION
                              or status.modification_level is None
                              or status.modification_level > ModificationLevel.LTA_UPDATES)
    problems = []
    if not status.intact:
        problems.append("the signed bytes changed (digest mismatch)")
    elif not status.valid:
        problems.append("the cryptographic signature does not hold")
    if modified:
        problems.append("the file was modified after signing")
    if not status.trusted:
        problems.append("the certificate chain does not end in a trusted root"
                        + ("" if roots else " (set SOHOA_TRUST_ROOTS)"))
    return SignatureCheck(
        field=str(embedded.field_name), signer=cert.subject.human_friendly if cert is not None else "?",
        unit=subject.get("organization_name") or subject.get("common_name") or "?",
        signing_time=_iso(status.signer_reported_dt), timestamp=_iso(timestamp.timestamp) if timestamp else None,
        level=pades_level(timestamped, has_dss), intact=bool(status.intact), valid=bool(status.valid), covers_whole_file=whole,
        modified_after_signing=modified, chain_trusted=bool(status.trusted), problems=problems,
    )


def verify_pdf(path: Path, trust_roots: Path | None = None) -> VerifyReport:
    """Every signature of `path`, checked; `report.valid` only when all hold and there is one at least."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    path = Path(path)
    if not path.is_file():
        raise SohoaError(f"{path}: no such file", ExitCode.INPUT_MISSING)
    roots = load_trust_roots(trust_roots)
    try:
        with path.open("rb") as handle:
            reader = PdfFileReader(handle, strict=False)
            has_dss = "/DSS" in reader.root
            checks = [_check(sig, roots, has_dss) for sig in reader.embedded_signatures]
    except (PdfError, ValueError, KeyError, TypeError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return VerifyReport(str(path), [], f"cannot read the signatures: {message[:200]}")
    return VerifyReport(str(path), checks)
