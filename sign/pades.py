"""PAdES signatures of the digitising unit, and certified electronic copies ("BẢN SAO").

`sign_pdf` adds one signature (SubFilter ETSI.CAdES.detached) as an incremental update, so the
PDF/A bytes before it stay as they were: baseline B-B; B-T with an RFC 3161 timestamp server; and
when the certificate names an OCSP responder or a CRL, the revocation data goes into the document
security store (B-LT with a timestamp). The visible box sits top right of page 1 (Công văn
7197/BKHCN-CĐSQG) with the unit's name, "Ký số bởi" and the time in Vietnam (+07:00), drawn with an
embedded DejaVu Sans, on a spot that hides no OCR word when there is one. The output is written to
a temporary file and renamed only when signing succeeded: nothing half-signed appears at `dst`.
"""

from __future__ import annotations

import hashlib
import os
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence
from zoneinfo import ZoneInfo

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.sign import fonts, placement
from sohoa.sign.keys import SIGNING_USAGES, UnitSigner

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SHOWN_TIME = "%d/%m/%Y %H:%M:%S +07:00"
SIGNATURE_FONT_SIZE = 8
BOX_WIDTH = 200.0
LINE_HEIGHT = 10
COPY_LABEL = "BẢN SAO"
COPY_FONT_SIZE = 10
FIELD_PREFIX = "SohoaChuKySo"


@dataclass(frozen=True)
class SignatureInfo:
    """What `sign_pdf` produced."""

    path: Path
    sha256: str
    size: int
    unit: str  # the unit's name shown in the box
    signer: str  # the certificate subject
    signed_at: str  # ISO 8601 in Vietnam time
    level: str  # "B-B", "B-T" or "B-LT"
    timestamped: bool
    revocation_embedded: bool
    box: tuple[float, float, float, float]  # PDF user space, bottom-left origin
    hides_text: bool


def shown_time(moment: datetime) -> str:
    """`dd/mm/yyyy HH:MM:SS +07:00`: the time as the signature box shows it."""
    return moment.astimezone(VIETNAM).strftime(SHOWN_TIME)


def _stamp_style_class():
    from pyhanko.stamp import TextStampStyle

    @dataclass(frozen=True)
    class VietnamStampStyle(TextStampStyle):
        """pyHanko renders `ts` in the machine's zone; this one shows it in Vietnam time."""

        timestamp_format: str = "%Y-%m-%dT%H:%M:%S%z"

        def create_stamp(self, writer, box, text_params):
            moment = datetime.strptime(text_params["ts"], self.timestamp_format)
            return super().create_stamp(writer, box, {**text_params, "ts": shown_time(moment)})

    return VietnamStampStyle


def _box_lines(unit: str) -> list[str]:
    name = unit.replace("%", "%%")
    return ["Ký số bởi:", *textwrap.wrap(name, 38), "Thời gian: %(ts)s"]


def _page_size(writer) -> tuple[float, float]:
    from pyhanko.pdf_utils import generic

    page = writer.find_page_for_modification(0)[0].get_object()
    node = page
    while "/MediaBox" not in node and "/Parent" in node:
        node = node["/Parent"].get_object()
    box = [float(v) for v in node["/MediaBox"]] if "/MediaBox" in node else [0, 0, 595, 842]
    rotate = int(page.get("/Rotate", generic.NumberObject(0))) % 180
    width, height = box[2] - box[0], box[3] - box[1]
    return (height, width) if rotate else (width, height)


def _field_name(writer) -> str:
    from pyhanko.sign.fields import enumerate_sig_fields

    taken = {name for name, _, _ in enumerate_sig_fields(writer.prev)}
    number = 1
    while f"{FIELD_PREFIX}{number}" in taken:
        number += 1
    return f"{FIELD_PREFIX}{number}"


def _validation_context(signer: UnitSigner):
    """Trust the chain the key came with, so pyHanko can fetch and embed its revocation data."""
    from pyhanko_certvalidator import ValidationContext

    certs = list(signer.signer.cert_registry) if signer.signer.cert_registry is not None else []
    roots = [c for c in certs if c.self_issued] + list(signer.trust_roots)
    return ValidationContext(trust_roots=roots, other_certs=certs, allow_fetching=True,
                             revocation_mode="hard-fail")


def has_timestamp_token(signer_info) -> bool:
    """The CMS signer info carries an RFC 3161 signature timestamp (PAdES B-T)."""
    unsigned = signer_info["unsigned_attrs"]
    return bool(unsigned.native) and any(attr["type"].native == "signature_time_stamp_token" for attr in unsigned)


def pades_level(timestamped: bool, has_dss: bool) -> str:
    """B-LT needs the timestamp and the embedded validation data; B-T the timestamp; else B-B."""
    return "B-LT" if timestamped and has_dss else "B-T" if timestamped else "B-B"


def _signature_level(path: Path) -> tuple[str, bool, str, bool]:
    """(level, timestamped, signing time, revocation embedded) read back from the signed file."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    with path.open("rb") as handle:
        reader = PdfFileReader(handle, strict=False)
        signature = reader.embedded_signatures[-1]
        timestamped = has_timestamp_token(signature.signer_info)
        has_dss = "/DSS" in reader.root
        moment = signature.self_reported_timestamp
    return pades_level(timestamped, has_dss), timestamped, moment.astimezone(VIETNAM).isoformat() if moment else "", has_dss


def _write_signed(writer, dst: Path, pdf_signer) -> None:
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    temp = dst.with_name(f".{dst.name}.signing")
    try:
        with temp.open("wb") as out:
            pdf_signer.sign_pdf(writer, output=out)
        os.replace(temp, dst)
    except TimestampRequestError:
        temp.unlink(missing_ok=True)
        raise SohoaError("signing failed: the timestamp server (SOHOA_SIGN_TSA_URL) did not answer with a "
                         "timestamp", ExitCode.SIGNING_SETUP) from None
    except (SigningError, PathBuildingError, PathValidationError, PdfError, OSError, ValueError) as error:
        temp.unlink(missing_ok=True)
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        code = ExitCode.OUTPUT_ERROR if isinstance(error, OSError) else ExitCode.SIGNING_SETUP
        raise SohoaError(f"signing failed: {first[:300]}", code) from error
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _open_writer(src: Path, handle):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError

    try:
        writer = IncrementalPdfFileWriter(handle, strict=False)
    except (PdfError, ValueError, KeyError) as error:
        raise SohoaError(f"{src}: not a readable PDF ({str(error)[:200]})", ExitCode.DAMAGED) from None
    # Leave the document information and XMP as they are: pyHanko would rewrite the producer and
    # dates in one of them only, and PDF/A wants both to agree (PDFBox Preflight 7.2).
    writer._update_meta = lambda: None
    return writer


def _sign_into(writer, src: Path, dst: Path, signer: UnitSigner, *, reason: str | None, location: str | None,
               avoid: Sequence[Sequence[float]], tsa_url: str | None) -> SignatureInfo:
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference

    font = fonts.font_file(fonts.SIGNATURE_FONT)
    lines = _box_lines(signer.unit_name)
    page_w, page_h = _page_size(writer)
    spot = placement.place(page_w, page_h, BOX_WIDTH, 8 + LINE_HEIGHT * len(lines), avoid)
    name = _field_name(writer)
    revocation = signer.has_revocation_urls
    meta = signers.PdfSignatureMetadata(
        field_name=name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason, location=location, embed_validation_info=revocation,
        validation_context=_validation_context(signer) if revocation else None,
        # Revocation data in the signed revision itself: one revision, the signature covers the whole
        # file (pdfsig "Total document signed") and no later update touches the PDF/A metadata.
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
                                        include_vri=False),
        signer_key_usage=set(SIGNING_USAGES) & set(signer.certificate.key_usage_value.native
                                                   if signer.certificate.key_usage_value else SIGNING_USAGES),
    )
    style = _stamp_style_class()(
        stamp_text="\n".join(lines), border_width=1, background=None,
        text_box_style=TextBoxStyle(font=fonts.pdfa_font_factory(font, SIGNATURE_FONT_SIZE),
                                    font_size=SIGNATURE_FONT_SIZE, leading=LINE_HEIGHT),
    )
    pdf_signer = signers.PdfSigner(
        meta, signer=signer.signer, stamp_style=style,
        timestamper=timestamps.HTTPTimeStamper(tsa_url, timeout=20) if tsa_url else None,
        new_field_spec=fields.SigFieldSpec(sig_field_name=name, on_page=0, box=spot.pdf_rect(page_h)),
    )
    _write_signed(writer, dst, pdf_signer)
    level, timestamped, signed_at, embedded = _signature_level(dst)
    data = dst.read_bytes()
    return SignatureInfo(dst, hashlib.sha256(data).hexdigest(), len(data), signer.unit_name,
                         signer.certificate.subject.human_friendly, signed_at, level, timestamped, embedded,
                         spot.pdf_rect(page_h), spot.hidden_area > 0)


def sign_pdf(src: Path, dst: Path, signer: UnitSigner, *, reason: str | None = "Số hóa tài liệu",
             location: str | None = None, avoid: Sequence[Sequence[float]] = (),
             tsa_url: str | None = None) -> SignatureInfo:
    """Sign `src` into `dst` (a new file; `src` is never changed). `avoid`: word boxes of page 1 in
    points, top-left origin [x0, top, x1, bottom]."""
    src, dst = Path(src), Path(dst)
    with src.open("rb") as handle:
        writer = _open_writer(src, handle)
        return _sign_into(writer, src, dst, signer, reason=reason, location=location, avoid=avoid, tsa_url=tsa_url)


def _stamp_copy_label(writer, page_w: float, page_h: float) -> tuple[float, float, float, float]:
    """Draw "BẢN SAO" top right of page 1; its box (top-left origin) for the signature to avoid."""
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStamp, TextStampStyle

    font = fonts.font_file(fonts.COPY_FONT)
    style = TextStampStyle(
        stamp_text=COPY_LABEL, border_width=0, background=None,
        text_box_style=TextBoxStyle(font=fonts.pdfa_font_factory(font, COPY_FONT_SIZE),
                                    font_size=COPY_FONT_SIZE),
    )
    stamp = TextStamp(writer, style)
    stamp.register()  # lays the text out: the box size is known from here on
    width, height = stamp.box.width, stamp.box.height
    x0 = page_w - placement.MARGIN - width
    y0 = page_h - placement.MARGIN - height
    stamp.apply(0, x0, y0)
    return (x0, placement.MARGIN, x0 + width, placement.MARGIN + height)


def certify_pdf(src: Path, dst: Path, signer: UnitSigner, *, avoid: Sequence[Sequence[float]] = (),
                tsa_url: str | None = None, location: str | None = None) -> SignatureInfo:
    """An authenticated electronic copy (TT 05/2025/TT-BNV): "BẢN SAO" in Times New Roman 10
    (Liberation Serif, metric-compatible) top right of page 1, then the agency's signature.
    `src` must be the unsigned PDF/A: drawing on a signed page would break that signature."""
    src, dst = Path(src), Path(dst)
    with src.open("rb") as handle:
        writer = _open_writer(src, handle)
        page_w, page_h = _page_size(writer)
        label = _stamp_copy_label(writer, page_w, page_h)
        return _sign_into(writer, src, dst, signer, reason="Chứng thực bản sao điện tử từ bản số hóa",
                          location=location, avoid=[*avoid, label], tsa_url=tsa_url)
