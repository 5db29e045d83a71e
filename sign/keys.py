"""The digitising unit's signing key: a PKCS#12 file or a PKCS#11 token (USB token, HSM).

`signer_from_settings` opens the key and checks it before any work is done: the password or PIN
opens it, the certificate is valid now, and it allows digital signatures (digitalSignature or
nonRepudiation). Every failure is one SIGNING_SETUP line that never repeats a password or PIN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from asn1crypto import pem, x509

from sohoa.core.errors import ExitCode, SohoaError

logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # pyHanko logs failures we report ourselves
SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})
CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")


def _setup_error(message: str) -> SohoaError:
    return SohoaError(message, ExitCode.SIGNING_SETUP)


@dataclass
class UnitSigner:
    """An opened key with its certificate; `close()` (or `with`) ends a token session."""

    signer: Any  # pyhanko.sign.signers.Signer
    certificate: x509.Certificate
    kind: str  # "pkcs12" or "pkcs11"
    _session: Any = field(default=None, repr=False)
    trust_roots: list[x509.Certificate] = field(default_factory=list)  # SOHOA_TRUST_ROOTS, for B-LT chains

    @property
    def unit_name(self) -> str:
        """The organisation the certificate names (O), else its common name."""
        subject = self.certificate.subject.native
        return subject.get("organization_name") or subject.get("common_name") or "?"

    @property
    def person_name(self) -> str:
        return self.certificate.subject.native.get("common_name") or self.unit_name

    @property
    def has_revocation_urls(self) -> bool:
        """The certificate names an OCSP responder or a CRL: B-LT can embed revocation data."""
        return bool(self.certificate.ocsp_urls or self.certificate.crl_distribution_points)

    def close(self) -> None:
        if self._session is not None:
            try:
                self._session.close()
            finally:
                self._session = None

    def __enter__(self) -> "UnitSigner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_certificate(cert: x509.Certificate, now: datetime | None = None) -> None:
    """Refuse a certificate that is not valid now or may not sign."""
    now = now or datetime.now(timezone.utc)
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    name = cert.subject.human_friendly
    if now < not_before:
        raise _setup_error(f"the signing certificate ({name}) is not valid yet: valid from {not_before:%Y-%m-%d}")
    if now > not_after:
        raise _setup_error(f"the signing certificate ({name}) expired on {not_after:%Y-%m-%d}")
    usage = cert.key_usage_value
    if usage is not None and not (set(usage.native) & SIGNING_USAGES):
        raise _setup_error(f"the signing certificate ({name}) does not allow digital signatures "
                           "(key usage lacks digitalSignature and nonRepudiation)")


def load_trust_roots(path: Path | None) -> list[x509.Certificate] | None:
    """The certificates of a PEM/DER file or of every certificate file in a folder."""
    if path is None:
        return None
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in CERT_SUFFIXES) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise SohoaError(f"trust roots {path} not found (SOHOA_TRUST_ROOTS)", ExitCode.SIGNING_SETUP)
    roots = []
    for file in files:
        data = file.read_bytes()
        try:
            if pem.detect(data):
                roots += [x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]
            else:
                roots.append(x509.Certificate.load(data))
        except ValueError:
            raise SohoaError(f"{file}: not a certificate (SOHOA_TRUST_ROOTS)", ExitCode.SIGNING_SETUP) from None
    return roots


def _open_pkcs12(path: Path, password: str | None) -> UnitSigner:
    from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat, NoEncryption, pkcs12
    from asn1crypto import keys
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    if not path.is_file():
        raise _setup_error(f"PKCS#12 file {path} not found (SOHOA_SIGN_P12)")
    if password is None:
        raise _setup_error("SOHOA_SIGN_P12_PASSWORD is not set for the PKCS#12 file")
    try:
        key, cert, others = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode())
    except (ValueError, TypeError):
        raise _setup_error(f"cannot open the PKCS#12 file {path}: wrong password or damaged file") from None
    if key is None or cert is None:
        raise _setup_error(f"the PKCS#12 file {path} holds no private key with its certificate")
    certificate = x509.Certificate.load(cert.public_bytes(Encoding.DER))
    check_certificate(certificate)
    signer = SimpleSigner(
        signing_cert=certificate,
        signing_key=keys.PrivateKeyInfo.load(key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())),
        cert_registry=SimpleCertificateStore.from_certs(
            [x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in others or []]),
    )
    return UnitSigner(signer, certificate, "pkcs12")


def _pin(settings) -> str:
    if settings.sign_pin:
        return settings.sign_pin
    if settings.sign_pin_file:
        try:
            return Path(settings.sign_pin_file).read_text(encoding="utf-8").strip()
        except OSError:
            raise _setup_error(f"cannot read the PIN file {settings.sign_pin_file} (SOHOA_SIGN_PIN_FILE)") from None
    raise _setup_error("no PIN for the PKCS#11 token: set SOHOA_SIGN_PIN or SOHOA_SIGN_PIN_FILE")


def _open_pkcs11(settings) -> UnitSigner:
    lib = Path(settings.sign_pkcs11_lib)
    if not lib.is_file():
        raise _setup_error(f"PKCS#11 library {lib} not found (SOHOA_SIGN_PKCS11_LIB)")
    if not settings.sign_key_label:
        raise _setup_error("SOHOA_SIGN_KEY_LABEL is not set: which key on the token signs?")
    pin = _pin(settings)
    from pkcs11.exceptions import PKCS11Error as LowLevelError
    from pyhanko.config.errors import ConfigurationError
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.pkcs11 import PKCS11Error, PKCS11Signer, open_pkcs11_session

    token = settings.sign_token_label
    criteria = TokenCriteria(label=token) if token else None
    try:
        session = open_pkcs11_session(str(lib), token_criteria=criteria, user_pin=pin)
    except (PKCS11Error, ConfigurationError):
        raise _setup_error(f"no PKCS#11 token{f' labelled {token!r}' if token else ''} is present "
                           f"(library {lib})") from None
    except LowLevelError as error:
        kind = type(error).__name__
        reason = "wrong PIN" if "Pin" in kind else f"token error {kind}"
        raise _setup_error(f"cannot log in to the PKCS#11 token: {reason}") from None
    except OSError:
        raise _setup_error(f"cannot load the PKCS#11 library {lib}") from None
    try:
        # other_certs_to_pull=None: the CA certificates the token carries too (they complete the chain)
        signer = PKCS11Signer(session, cert_label=settings.sign_key_label, key_label=settings.sign_key_label,
                              other_certs_to_pull=None)
        certificate = signer.signing_cert
        check_certificate(certificate)
    except (PKCS11Error, SigningError, LowLevelError) as error:
        session.close()
        raise _setup_error(f"no certificate and key labelled {settings.sign_key_label!r} on the token "
                           f"({str(error) or type(error).__name__})"[:300]) from None
    except SohoaError:
        session.close()
        raise
    return UnitSigner(signer, certificate, "pkcs11", _session=session)


def signer_from_settings(settings) -> UnitSigner | None:
    """The configured signing key, checked; None when signing is not configured."""
    if settings.sign_pkcs11_lib and settings.sign_p12:
        raise _setup_error("both SOHOA_SIGN_P12 and SOHOA_SIGN_PKCS11_LIB are set: configure one signing key")
    if not (settings.sign_pkcs11_lib or settings.sign_p12):
        return None
    roots = load_trust_roots(settings.trust_roots) or []
    if settings.sign_pkcs11_lib:
        signer = _open_pkcs11(settings)
    else:
        signer = _open_pkcs12(Path(settings.sign_p12), settings.sign_p12_password)
    signer.trust_roots = roots
    return signer


def require_signer(settings) -> UnitSigner:
    """The configured signing key, or a SIGNING_SETUP error saying how to configure one."""
    signer = signer_from_settings(settings)
    if signer is None:
        raise _setup_error("no signing key configured: set SOHOA_SIGN_P12 (+ SOHOA_SIGN_P12_PASSWORD) "
                           "or SOHOA_SIGN_PKCS11_LIB (+ token label, key label, PIN)")
    return signer
