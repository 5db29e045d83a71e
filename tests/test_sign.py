"""Issue #16: PAdES signatures of the digitising unit and certified copies, checked by independent
verifiers (poppler's pdfsig, pyHanko's validator, PDFBox Preflight) with a real throwaway PKI
(certomancer CA, OCSP responder, RFC 3161 timestamp server on loopback) and a real SoftHSM2 token."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import run_sohoa
from sign_fixtures import P12_PASSWORD, UNIT_NAME
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.settings import Settings
from sohoa.ocr import validate
from sohoa.ocr.pipeline import OcrOptions, run
from sohoa.sign import keys, pades, placement
from sohoa.sign.verify import verify_pdf

DPI = 150
SHOWN = re.compile(r"^Thời gian: \d\d/\d\d/\d{4} \d\d:\d\d:\d\d \+07:00$")


@dataclass
class Scan:
    pdf: Path
    words: list[list[float]]  # page 1, points, top-left origin


def _page(path: Path) -> Path:
    """A one-page A4 letter at 150 dpi with a heading in the top-right corner."""
    width, height = int(8.27 * DPI), int(11.69 * DPI)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22)
    draw.text((int(width * 0.58), 40), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA", font=font, fill=0)
    draw.text((int(width * 0.62), 75), "Độc lập - Tự do - Hạnh phúc", font=font, fill=0)
    draw.text((110, 300), "QUYẾT ĐỊNH về việc cấp giấy phép xây dựng", font=font, fill=0)
    for n in range(6):
        draw.text((110, 380 + n * 48), f"Điều {n + 1}. Nội dung thứ {n + 1} của văn bản.", font=font, fill=0)
    image.save(path, dpi=(DPI, DPI))
    return path


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict[str, Scan]:
    """The page OCR'd (real Tesseract) into PDF/A-1b and PDF/A-2b."""
    folder = tmp_path_factory.mktemp("sign-scans")
    source = _page(folder / "trang.png")
    made = {}
    for level in ("1b", "2b"):
        result = run(source, folder / f"trang-{level}.pdf", OcrOptions(pdfa=level, jobs=1))
        made[level] = Scan(folder / f"trang-{level}.pdf", [w["box_pt"] for w in result.word_boxes[0]])
    assert made["1b"].words, "the OCR read no word: the placement test would prove nothing"
    return made


def _p12(test_pki, label: str = "plain", password: str = P12_PASSWORD) -> Settings:
    return Settings(sign_p12=test_pki.p12[label], sign_p12_password=password)


def _pdfsig(path: Path) -> str:
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def _signature_widget(path: Path):
    """(rect, appearance texts) of the first signature widget on page 1."""
    with pikepdf.open(path) as pdf:
        for annot in pdf.pages[0].get("/Annots", []):
            if annot.get("/FT") == "/Sig" or annot.get("/Parent", {}).get("/FT") == "/Sig":
                rect = [float(v) for v in annot.Rect]
                return rect, _actual_texts(annot.AP.N), _fonts(annot.AP.N)
    raise AssertionError("no signature widget on page 1")


def _actual_texts(xobject) -> list[str]:
    """The /ActualText of every marked span, in the stream and the form XObjects it draws."""
    texts = []
    for operands, operator in pikepdf.parse_content_stream(xobject):
        if str(operator) == "BDC" and len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary):
            if "/ActualText" in operands[1]:
                texts.append(str(operands[1].ActualText))
    for inner in (xobject.get("/Resources", {}).get("/XObject", {}) or {}).values():
        if inner.get("/Subtype") == "/Form":
            texts += _actual_texts(inner)
    return texts


def _fonts(xobject) -> list[tuple[str, bool, bool]]:
    """(BaseFont, font program embedded, CIDSet present) of the CID fonts a form XObject uses."""
    fonts = []
    for font in (xobject.get("/Resources", {}).get("/Font", {}) or {}).values():
        descriptor = font.DescendantFonts[0].FontDescriptor
        fonts.append((str(font.DescendantFonts[0].BaseFont), "/FontFile2" in descriptor, "/CIDSet" in descriptor))
    for inner in (xobject.get("/Resources", {}).get("/XObject", {}) or {}).values():
        if inner.get("/Subtype") == "/Form":
            fonts += _fonts(inner)
    return fonts


def _flip_signed_byte(path: Path, out: Path) -> int:
    """A copy of `path` with one byte changed in the middle of the first signed range (image data)."""
    data = bytearray(path.read_bytes())
    ranges = [int(v) for v in re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", data).groups()]
    offset = ranges[1] // 2
    data[offset] ^= 0x01
    out.write_bytes(bytes(data))
    return offset


# ---------------------------------------------------------------- PKCS#12, pdfsig, pyHanko


def test_p12_signature_valid_for_pdfsig_covering_the_whole_file(test_pki, scans, tmp_path):
    with keys.require_signer(_p12(test_pki)) as signer:
        assert signer.kind == "pkcs12" and signer.unit_name == UNIT_NAME
        info = pades.sign_pdf(scans["1b"].pdf, tmp_path / "ky.pdf", signer)
    assert info.level == "B-B" and not info.timestamped
    report = _pdfsig(info.path)
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report
    checked = verify_pdf(info.path, test_pki.root_pem)
    assert checked.valid, checked.to_dict()
    [signature] = checked.signatures
    assert signature.covers_whole_file and signature.chain_trusted and signature.unit == UNIT_NAME
    assert scans["1b"].pdf.read_bytes() == info.path.read_bytes()[:scans["1b"].pdf.stat().st_size]  # incremental


def test_one_changed_byte_is_a_digest_mismatch_for_pdfsig_pyhanko_and_sohoa_verify(test_pki, scans, tmp_path):
    with keys.require_signer(_p12(test_pki)) as signer:
        info = pades.sign_pdf(scans["1b"].pdf, tmp_path / "ky.pdf", signer)
    changed = tmp_path / "sua.pdf"
    _flip_signed_byte(info.path, changed)
    assert "Digest Mismatch" in _pdfsig(changed)
    report = verify_pdf(changed, test_pki.root_pem)
    assert not report.valid and not report.signatures[0].intact
    env = {**__import__("os").environ, "SOHOA_TRUST_ROOTS": str(test_pki.root_pem)}
    failed = run_sohoa("verify", changed, env=env)
    assert failed.returncode == ExitCode.SIGNATURE_INVALID, failed.stdout + failed.stderr
    assert "INVALID" in failed.stdout and "digest mismatch" in failed.stdout
    passed = run_sohoa("verify", info.path, "--json", env=env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert '"valid": true' in passed.stdout


def test_untrusted_chain_and_unsigned_files_fail_verify(test_pki, scans, tmp_path):
    with keys.require_signer(_p12(test_pki)) as signer:
        info = pades.sign_pdf(scans["1b"].pdf, tmp_path / "ky.pdf", signer)
    untrusted = verify_pdf(info.path, None)
    assert not untrusted.valid and untrusted.signatures[0].intact and not untrusted.signatures[0].chain_trusted
    unsigned = verify_pdf(scans["1b"].pdf, test_pki.root_pem)
    assert not unsigned.signed and not unsigned.valid


def test_appended_update_after_signing_is_reported_as_modified(test_pki, scans, tmp_path):
    with keys.require_signer(_p12(test_pki)) as signer:
        info = pades.sign_pdf(scans["1b"].pdf, tmp_path / "ky.pdf", signer)
    modified = tmp_path / "them.pdf"
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    with info.path.open("rb") as handle, modified.open("wb") as out:
        writer = IncrementalPdfFileWriter(handle)  # a later revision that draws over page 1
        writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(stream_data=b"0 0 1 rg 9 9 90 90 re f")))
        writer.write(out)
    report = verify_pdf(modified, test_pki.root_pem)
    assert not report.valid and report.signatures[0].modified_after_signing
    assert "Not total document signed" in _pdfsig(modified)


# ---------------------------------------------------------------- timestamps and revocation data


def test_timestamp_and_revocation_data_make_b_lt(test_pki, scans, tmp_path):
    with keys.require_signer(_p12(test_pki, "unit")) as signer:
        assert signer.has_revocation_urls
        info = pades.sign_pdf(scans["1b"].pdf, tmp_path / "ky.pdf", signer, tsa_url=test_pki.tsa_url)
    assert info.level == "B-LT" and info.timestamped and info.revocation_embedded
    with pikepdf.open(info.path) as pdf:
        dss = pdf.Root.DSS
        assert len(dss.Certs) >= 2 and ("/OCSPs" in dss or "/CRLs" in dss)
    report = _pdfsig(info.path)
    assert "Signature is Valid." in report and "Total document signed" in report
    checked = verify_pdf(info.path, test_pki.root_pem)
    assert checked.valid and checked.signatures[0].level == "B-LT" and checked.signatures[0].timestamp


def test_timestamp_alone_makes_b_t(test_pki, scans, tmp_path):
    with keys.require_signer(_p12(test_pki)) as signer:
        info = pades.sign_pdf(scans["2b"].pdf, tmp_path / "ky.pdf", signer, tsa_url=test_pki.tsa_url)
    assert info.level == "B-T" and not info.revocation_embedded
    checked = verify_pdf(info.path, test_pki.root_pem)
    assert checked.valid and checked.signatures[0].timestamp is not None


def test_unreachable_timestamp_server_stores_nothing(test_pki, scans, tmp_path):
    out = tmp_path / "ky.pdf"
    with keys.require_signer(_p12(test_pki)) as signer, pytest.raises(SohoaError) as failed:
        pades.sign_pdf(scans["1b"].pdf, out, signer, tsa_url="http://127.0.0.1:9/tsa")
    assert failed.value.exit_code == ExitCode.SIGNING_SETUP
    assert list(tmp_path.iterdir()) == []  # no half-signed file, no temporary left


# ---------------------------------------------------------------- PKCS#11 (SoftHSM2)


def test_softhsm_token_signs_and_pdfsig_agrees(softhsm_token, test_pki, scans, tmp_path):
    settings = Settings(sign_pkcs11_lib=softhsm_token.lib, sign_token_label=softhsm_token.label,
                        sign_key_label=softhsm_token.key_label, sign_pin=softhsm_token.pin)
    with keys.require_signer(settings) as signer:
        assert signer.kind == "pkcs11" and signer.unit_name == UNIT_NAME
        info = pades.sign_pdf(scans["1b"].pdf, tmp_path / "ky.pdf", signer)
    report = _pdfsig(info.path)
    assert "Signature is Valid." in report and "Total document signed" in report
    assert verify_pdf(info.path, test_pki.root_pem).valid


def test_pin_from_a_file(softhsm_token, tmp_path):
    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm_token.pin + "\n")
    settings = Settings(sign_pkcs11_lib=softhsm_token.lib, sign_token_label=softhsm_token.label,
                        sign_key_label=softhsm_token.key_label, sign_pin_file=pin_file)
    with keys.require_signer(settings) as signer:
        assert signer.kind == "pkcs11"


# ---------------------------------------------------------------- bad keys: one line, exit 20, no secret


BAD_P12 = [
    ("wrong password", "unit", "sai-mat-khau-123", "wrong password"),
    ("expired", "expired", P12_PASSWORD, "expired"),
    ("not yet valid", "future", P12_PASSWORD, "not valid yet"),
    ("no digitalSignature", "no_signature_usage", P12_PASSWORD, "does not allow digital signatures"),
]


@pytest.mark.parametrize("case,label,password,says", BAD_P12, ids=[c[0] for c in BAD_P12])
def test_bad_pkcs12_is_a_setup_error(test_pki, case, label, password, says):
    with pytest.raises(SohoaError) as failed:
        keys.require_signer(_p12(test_pki, label, password))
    assert failed.value.exit_code == ExitCode.SIGNING_SETUP
    message = failed.value.message
    assert says in message and "\n" not in message and password not in message


def test_bad_tokens_are_setup_errors(softhsm_token, tmp_path):
    base = dict(sign_pkcs11_lib=softhsm_token.lib, sign_token_label=softhsm_token.label,
                sign_key_label=softhsm_token.key_label, sign_pin=softhsm_token.pin)
    cases = {
        "no library": {**base, "sign_pkcs11_lib": tmp_path / "libkhongco.so"},
        "absent token": {**base, "sign_token_label": "the-kho-vang-mat"},
        "wrong PIN": {**base, "sign_pin": "999999"},
        "no such key": {**base, "sign_key_label": "khoa-khac"},
        "no PIN": {**base, "sign_pin": None},
    }
    for case, values in cases.items():
        with pytest.raises(SohoaError) as failed:
            keys.require_signer(Settings(**values))
        assert failed.value.exit_code == ExitCode.SIGNING_SETUP, case
        assert "999999" not in failed.value.message and softhsm_token.pin not in failed.value.message, case


def test_no_key_configured_is_no_signer():
    assert keys.signer_from_settings(Settings()) is None
    with pytest.raises(SohoaError) as failed:
        keys.require_signer(Settings())
    assert failed.value.exit_code == ExitCode.SIGNING_SETUP


# ---------------------------------------------------------------- the visible signature and PDF/A


def test_visible_box_top_right_in_vietnamese_hiding_no_word(test_pki, scans, tmp_path):
    scan = scans["1b"]
    with keys.require_signer(_p12(test_pki)) as signer:
        info = pades.sign_pdf(scan.pdf, tmp_path / "ky.pdf", signer, avoid=scan.words)
    rect, texts, fonts = _signature_widget(info.path)
    with pikepdf.open(info.path) as pdf:
        width, height = float(pdf.pages[0].mediabox[2]), float(pdf.pages[0].mediabox[3])
    assert rect[0] > width / 2 and rect[1] > height * 2 / 3  # the top-right area
    top_left = (rect[0], height - rect[3], rect[2], height - rect[1])
    assert not any(placement._overlap(top_left, word) for word in scan.words) and not info.hides_text
    corner_words = [w for w in scan.words if w[0] > width / 2 and w[1] < 60]
    assert corner_words, "the heading in the corner was not read: nothing to avoid"
    assert texts[0] == "Ký số bởi:" and UNIT_NAME in " ".join(texts[1:-1]) and SHOWN.match(texts[-1]), texts
    shown = datetime.strptime(texts[-1].split(": ", 1)[1], pades.SHOWN_TIME.replace(" +07:00", "") + " +07:00")
    signed_at = datetime.fromisoformat(info.signed_at)
    assert shown.replace(tzinfo=pades.VIETNAM) == signed_at.replace(microsecond=0)
    assert [f for f in fonts if "DejaVuSans" in f[0]] == [(fonts[0][0], True, True)]  # embedded, PDF/A-1 CIDSet


def test_placement_hides_least_when_the_corner_is_full():
    free = placement.place(595, 842, 200, 48, [[300, 14, 581, 40]])
    assert free.hidden_area == 0 and free.top >= 40 or free.x1 <= 300
    full = placement.place(595, 842, 200, 48, [[0, 0, 595, 842]])
    assert full.hidden_area > 0 and full.x1 == pytest.approx(595 - placement.MARGIN)


@pytest.mark.parametrize("level", ["1b", "2b"])
def test_signed_pdfa_still_passes_validation(test_pki, scans, tmp_path, level):
    with keys.require_signer(_p12(test_pki, "unit")) as signer:
        info = pades.sign_pdf(scans[level].pdf, tmp_path / "ky.pdf", signer, avoid=scans[level].words,
                              tsa_url=test_pki.tsa_url)
    outcome = validate.preflight(info.path) if level == "1b" else validate.structural(info.path, level)
    assert outcome.valid, outcome.errors


def test_certified_copy_says_ban_sao_in_times_and_passes_preflight(test_pki, scans, tmp_path):
    with keys.require_signer(_p12(test_pki)) as signer:
        info = pades.certify_pdf(scans["1b"].pdf, tmp_path / "ban-sao.pdf", signer, avoid=scans["1b"].words)
    with pikepdf.open(info.path) as pdf:
        page = pdf.pages[0]
        stamps = [x for x in page.Resources.XObject.values() if x.get("/Subtype") == "/Form"]
        labels = [(t, f) for x in stamps for t, f in [(_actual_texts(x), _fonts(x))] if pades.COPY_LABEL in t]
        assert labels, "no BẢN SAO stamp on page 1"
        assert "LiberationSerif" in labels[0][1][0][0] and labels[0][1][0][1:] == (True, True)
    rect, texts, _ = _signature_widget(info.path)
    assert texts[0] == "Ký số bởi:"
    assert "Signature is Valid." in _pdfsig(info.path)
    assert verify_pdf(info.path, test_pki.root_pem).valid
    outcome = validate.preflight(info.path)
    assert outcome.valid, outcome.errors
