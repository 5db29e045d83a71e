"""Signing benchmark: what the digitising unit's signature costs per record, and how that compares
with the OCR of one page.

One A4 page at 300 dpi (a generated Vietnamese letter, testkit/scans.py) is OCR'd once into PDF/A-1b
by sohoa's own pipeline with Tesseract: that time per page is the anchor. The same PDF/A is then
signed several times per mode with a throwaway PKI on loopback (testkit/pki.py): a PKCS#12 file
(B-B), the same with a timestamp (B-T), with timestamp and revocation data fetched from the OCSP
responder and CRL (B-LT), and a SoftHSM2 token over PKCS#11 (B-B). Opening the key (password or
PIN, certificate checks) is measured apart: a worker opens it once, a `sohoa sign` run once per run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sohoa.core.settings import Settings
from sohoa.ocr.pipeline import OcrOptions, run as ocr_run
from sohoa.sign import keys, pades
from sohoa.testkit import scans
from sohoa.testkit.pki import P12_PASSWORD, softhsm_token, throwaway_pki


def _ocr_page_seconds(folder: Path) -> tuple[Path, list[list[float]], float]:
    scan = scans.make_scan("clean", seed=11)
    source = Path(scans.save_image(scan, folder / "trang.png", "png"))
    started = time.perf_counter()
    result = ocr_run(source, folder / "trang.pdf", OcrOptions(pdfa="1b", jobs=1))
    return folder / "trang.pdf", [w["box_pt"] for w in result.word_boxes[0]], time.perf_counter() - started


def _mode(name: str, settings: Settings, pdfa: Path, words, out: Path, repeats: int,
          tsa_url: str | None) -> dict:
    started = time.perf_counter()
    signer = keys.require_signer(settings)
    opened = time.perf_counter() - started
    times, level, size = [], "", 0
    with signer:
        for n in range(repeats):
            started = time.perf_counter()
            target = out / f"{''.join(c if c.isalnum() else '-' for c in name)}-{n}.pdf"
            info = pades.sign_pdf(pdfa, target, signer, avoid=words, tsa_url=tsa_url)
            times.append(time.perf_counter() - started)
            level, size = info.level, info.size
    return {"mode": name, "level": level, "open_ms": round(opened * 1000), "times": times,
            "bytes_added": size - pdfa.stat().st_size}


def run(repeats: int = 5) -> dict:
    with tempfile.TemporaryDirectory(prefix="sohoa-sign-bench-") as tmp:
        folder = Path(tmp)
        pdfa, words, ocr_seconds = _ocr_page_seconds(folder)
        with throwaway_pki(folder / "pki") as pki:
            plain = Settings(sign_p12=pki.p12["plain"], sign_p12_password=P12_PASSWORD)
            unit = Settings(sign_p12=pki.p12["unit"], sign_p12_password=P12_PASSWORD)
            modes = [
                _mode("PKCS#12", plain, pdfa, words, folder, repeats, None),
                _mode("PKCS#12 + timestamp", plain, pdfa, words, folder, repeats, pki.tsa_url),
                _mode("PKCS#12 + timestamp + OCSP/CRL", unit, pdfa, words, folder, repeats, pki.tsa_url),
            ]
            with softhsm_token(pki, folder / "softhsm") as token:
                hsm = Settings(sign_pkcs11_lib=token.lib, sign_token_label=token.label,
                               sign_key_label=token.key_label, sign_pin=token.pin)
                modes.append(_mode("PKCS#11 (SoftHSM2)", hsm, pdfa, words, folder, repeats, None))
    rows = []
    for mode in modes:
        # the first signature of a process also loads and rescales the font: shown apart
        steady = statistics.median(mode["times"][1:] or mode["times"])
        rows.append({"mode": mode["mode"], "level": mode["level"], "open key ms": mode["open_ms"],
                     "first ms": round(mode["times"][0] * 1000), "per record ms": round(steady * 1000),
                     "bytes added": mode["bytes_added"],
                     "÷ OCR of a page": f"{steady / ocr_seconds:.3f}"})
    return {"rows": rows, "ocr_page_seconds": round(ocr_seconds, 2), "repeats": repeats,
            "note": f"anchor: sohoa OCR of one 300 dpi A4 page into PDF/A-1b = {ocr_seconds:.2f} s; "
                    f"'per record' is the median of {repeats} signatures after the first (one page, "
                    "word boxes avoided); the timestamp server and OCSP responder are on loopback"}
