"""A throwaway PKI for the signing tests and benchmark: a certomancer CA with an OCSP responder, a
CRL and an RFC 3161 timestamp server served on loopback (stdlib http.server in a thread), PKCS#12
files for the digitising unit (valid, expired, not yet valid, without the digital-signature key
usage, without revocation URLs), and a real SoftHSM2 token initialised in a folder (SOFTHSM2_CONF)
holding the unit's key, its certificate and the CA certificate, as CA-issued tokens do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator

from asn1crypto import ocsp, pem, tsp

SOFTHSM_LIB = Path("/usr/lib/softhsm/libsofthsm2.so")
UNIT_NAME = "Trung tâm Lưu trữ lịch sử tỉnh Hà Tĩnh"
P12_PASSWORD = "mật-khẩu-thử"
TOKEN_LABEL = "sohoa-token"
KEY_LABEL = "don-vi-so-hoa"
USER_PIN = "246810"
SO_PIN = "135791"
ARCH = "sohoa-test"


@dataclass(frozen=True)
class TestPki:
    """Where the test PKI's files and services are."""

    folder: Path
    url: str  # http://127.0.0.1:PORT
    root_pem: Path  # trust root for `sohoa verify`
    p12: dict[str, Path]  # "unit", "expired", "future", "no_signature_usage", "plain" (no OCSP/CRL URLs)
    tsa_url: str

    __test__ = False  # not a test class despite the name


@dataclass(frozen=True)
class Token:
    """A SoftHSM2 token: the environment that points at it and the settings that open it."""

    conf: Path
    lib: Path
    label: str
    key_label: str
    pin: str

    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf), "SOHOA_SIGN_PKCS11_LIB": str(self.lib),
                "SOHOA_SIGN_TOKEN_LABEL": self.label, "SOHOA_SIGN_KEY_LABEL": self.key_label,
                "SOHOA_SIGN_PIN": self.pin}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _write_keys(folder: Path, names: list[str]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    for name in names:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / f"{name}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _usage(*names: str) -> dict:
    return {"id": "key_usage", "critical": True, "smart-value": {"schema": "key-usage", "params": list(names)}}


REVOCATION_URLS = [
    {"id": "crl_distribution_points", "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}},
    {"id": "authority_information_access",
     "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["root"]}}},
]


def _config(folder: Path, now: datetime) -> dict:
    long_ago, far = _iso(now - timedelta(days=400)), _iso(now + timedelta(days=3650))
    signer_ext = [_usage("digital_signature", "non_repudiation")] + REVOCATION_URLS
    leaf = {"issuer": "root", "subject": "unit", "subject-key": "unit",
            "validity": {"valid-from": long_ago, "valid-to": far}, "extensions": signer_ext}
    return {
        "keysets": {ARCH: {"path-prefix": str(folder), "keys": {
            name: {"path": f"{name}.key.pem"} for name in ("root", "ocsp", "tsa", "unit")}}},
        "pki-architectures": {ARCH: {
            "keyset": ARCH,
            "entity-defaults": {"country-name": "VN", "organization-name": UNIT_NAME},
            "entities": {
                "root": {"organization-name": "CA thử nghiệm Sohoa", "common-name": "CA gốc thử nghiệm"},
                "ocsp": {"organization-name": "CA thử nghiệm Sohoa", "common-name": "OCSP thử nghiệm"},
                "tsa": {"organization-name": "CA thử nghiệm Sohoa", "common-name": "Máy chủ dấu thời gian"},
                "unit": {"common-name": "Nguyễn Văn An"},
            },
            "certs": {
                "root": {"subject": "root", "subject-key": "root", "issuer": "root", "authority-key": "root",
                         "validity": {"valid-from": long_ago, "valid-to": far},
                         "extensions": [{"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                                        _usage("digital_signature", "key_cert_sign", "crl_sign")]},
                "ocsp": {"issuer": "root", "validity": {"valid-from": long_ago, "valid-to": far},
                         "extensions": [_usage("digital_signature"),
                                        {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                                        {"id": "ocsp_no_check"}]},
                "tsa": {"issuer": "root", "validity": {"valid-from": long_ago, "valid-to": far},
                        "extensions": [_usage("digital_signature"),
                                       {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]}]},
                "unit": leaf,
                "expired": {**leaf, "validity": {"valid-from": long_ago, "valid-to": _iso(now - timedelta(days=2))}},
                "future": {**leaf, "validity": {"valid-from": _iso(now + timedelta(days=30)), "valid-to": far}},
                "no_signature_usage": {**leaf, "extensions": [_usage("key_encipherment")] + REVOCATION_URLS},
                "plain": {**leaf, "extensions": [_usage("digital_signature", "non_repudiation")]},
            },
            "services": {
                "ocsp": {"root": {"for-issuer": "root", "responder-cert": "ocsp", "signing-key": "ocsp"}},
                "crl-repo": {"root": {"for-issuer": "root", "signing-key": "root", "simulated-update-schedule": "P30D"}},
                "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
            },
        }},
    }


def _handler(arch):
    class Services(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, body: bytes, mime: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            now = datetime.now(timezone.utc)
            registry = arch.service_registry
            if self.path.startswith(f"/{ARCH}/ocsp/"):
                responder = registry.summon_responder(self.path.rsplit("/", 1)[1], now)
                self._send(responder.build_ocsp_response(ocsp.OCSPRequest.load(data)).dump(),
                           "application/ocsp-response")
            elif self.path.startswith(f"/{ARCH}/tsa/"):
                stamper = registry.summon_timestamper(self.path.rsplit("/", 1)[1], now)
                self._send(stamper.request_tsa_response(tsp.TimeStampReq.load(data)).dump(),
                           "application/timestamp-reply")
            else:
                self.send_error(404)

        def do_GET(self) -> None:
            if self.path.startswith(f"/{ARCH}/crls/"):
                label = self.path.split("/")[3]
                self._send(arch.service_registry.get_crl(label, datetime.now(timezone.utc)).dump(),
                           "application/pkix-crl")
            else:
                self.send_error(404)

    return Services


def _p12(arch, label: str, out: Path) -> Path:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_der_private_key, pkcs12
    from cryptography.x509 import load_der_x509_certificate

    key = load_der_private_key(arch.key_set.get_private_key("unit").dump(), None)
    cert = load_der_x509_certificate(arch.get_cert(label).dump())
    root = load_der_x509_certificate(arch.get_cert("root").dump())
    out.write_bytes(pkcs12.serialize_key_and_certificates(
        KEY_LABEL.encode(), key, cert, [root], BestAvailableEncryption(P12_PASSWORD.encode())))
    return out


@contextmanager
def throwaway_pki(folder: Path) -> Iterator[TestPki]:
    """The CA, its services on loopback (until the block ends) and the unit's PKCS#12 files in `folder`."""
    from certomancer.registry import CertomancerConfig

    folder.mkdir(parents=True, exist_ok=True)
    _write_keys(folder, ["root", "ocsp", "tsa", "unit"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config = CertomancerConfig(_config(folder, datetime.now(timezone.utc)), key_search_dir=str(folder),
                               external_url_prefix=url)
    arch = config.get_pki_arch(ARCH)
    server.RequestHandlerClass = _handler(arch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root_pem = folder / "root.pem"
    root_pem.write_bytes(pem.armor("CERTIFICATE", arch.get_cert("root").dump()))
    p12 = {label: _p12(arch, label, folder / f"{label}.p12")
           for label in ("unit", "expired", "future", "no_signature_usage", "plain")}
    try:
        yield TestPki(folder, url, root_pem, p12, f"{url}/{ARCH}/tsa/tsa")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _softhsm(conf: Path, *args: str) -> None:
    result = subprocess.run(["softhsm2-util", *args], capture_output=True, text=True,
                            env={**os.environ, "SOFTHSM2_CONF": str(conf)}, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"softhsm2-util {args[0]}: {result.stderr or result.stdout}")


def store_certificates(p12: str, password: str) -> None:
    """Put the unit's certificate and its CA certificate on the token (run in a child process:
    a PKCS#11 library reads SOFTHSM2_CONF once per process, at its first use)."""
    import pkcs11
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
    from pkcs11 import Attribute, CertificateType, ObjectClass

    _, cert, chain = pkcs12.load_key_and_certificates(Path(p12).read_bytes(), password.encode())
    token = pkcs11.lib(str(SOFTHSM_LIB)).get_token(token_label=TOKEN_LABEL)
    with token.open(rw=True, user_pin=USER_PIN) as session:  # the unit's certificate and its CA, as CA tokens ship
        for label, ident, item in ((KEY_LABEL, b"\x01", cert), ("ca-goc", b"\x02", chain[0])):
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: ident,
                Attribute.VALUE: item.public_bytes(Encoding.DER), Attribute.SUBJECT: item.subject.public_bytes(),
                Attribute.ISSUER: item.issuer.public_bytes(),
            })


@contextmanager
def softhsm_token(test_pki: TestPki, folder: Path) -> Iterator[Token]:
    """A SoftHSM2 token in `folder` holding the unit's key and certificates; SOFTHSM2_CONF set for
    this process (and the processes it starts) until the block ends."""
    if not SOFTHSM_LIB.exists():
        raise RuntimeError("Debian softhsm2 is not installed (scripts/install-deps.sh test)")
    (folder / "tokens").mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    _softhsm(conf, "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", USER_PIN, "--so-pin", SO_PIN)
    _softhsm(conf, "--import", str(test_pki.folder / "unit.key.pem"), "--token", TOKEN_LABEL,
             "--label", KEY_LABEL, "--id", "01", "--pin", USER_PIN)
    script = "import sys; from sohoa.testkit.pki import store_certificates; store_certificates(*sys.argv[1:])"
    stored = subprocess.run([sys.executable, "-c", script, str(test_pki.p12["unit"]), P12_PASSWORD],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "SOFTHSM2_CONF": str(conf)})
    if stored.returncode != 0:
        raise RuntimeError(f"cannot store the certificates on the token: {stored.stderr[-500:]}")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        yield Token(conf, SOFTHSM_LIB, TOKEN_LABEL, KEY_LABEL, USER_PIN)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous
