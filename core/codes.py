"""Validators of the Vietnamese codes sohoa stores (DESIGN.md "Codes").

Each validator returns the normalised code or raises `InvalidCode` with a
message that says what the code should look like.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from sohoa.core.errors import InvalidCode

AGENCY_RE: Final = re.compile(r"^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[0-9A-Z]{3}$")
DOSSIER_RE: Final = re.compile(r"^(?P<agency>[^-]+)-(?P<yymmdd>\d{6})-(?P<seq>\d{4})$")
RESULT_RE: Final = re.compile(r"^(?P<dossier>.+)-KQ(?P<n>[1-9]\d*)$")
CCCD_RE: Final = re.compile(r"^\d{12}$")
TAX_RE: Final = re.compile(r"^\d{10}(-\d{3})?$")
CMND_RE: Final = re.compile(r"^\d{9}$")  # the identity card before CCCD, still printed on older papers

RETENTION_CODES: Final[dict[str, str]] = {
    "01": "Vĩnh viễn (permanent)",
    "02": "70 năm",
    "03": "50 năm",
    "04": "30 năm",
    "05": "20 năm",
    "06": "10 năm",
    "07": "Khác (other)",
}
RETENTION_YEARS: Final[dict[str, int | None]] = {
    "01": None, "02": 70, "03": 50, "04": 30, "05": 20, "06": 10, "07": 10,
}


def agency_code(value: str) -> str:
    code = value.strip().upper()
    if not AGENCY_RE.match(code):
        raise InvalidCode(
            f"invalid agency code {value!r}: expected four dot-separated groups "
            "like 000.00.12.H36 (QCVN 102:2016)"
        )
    return code


def dossier_code(value: str) -> str:
    code = value.strip().upper()
    match = DOSSIER_RE.match(code)
    if not match:
        raise InvalidCode(
            f"invalid dossier code {value!r}: expected <agency code>-YYMMDD-NNNN "
            "like 000.00.12.H36-240115-0001"
        )
    agency_code(match["agency"])
    yymmdd = match["yymmdd"]
    try:
        date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        raise InvalidCode(f"invalid dossier code {value!r}: {yymmdd} is not a date YYMMDD") from None
    return code


def result_code(dossier: str, n: int) -> str:
    if n < 1:
        raise InvalidCode(f"result number must be >= 1, got {n}")
    return f"{dossier_code(dossier)}-KQ{n}"


def personal_id(value: str) -> str:
    code = value.strip()
    if not CCCD_RE.match(code):
        raise InvalidCode(f"invalid personal ID {value!r}: a CCCD has exactly 12 digits")
    return code


def tax_code(value: str) -> str:
    code = value.strip()
    if not TAX_RE.match(code):
        raise InvalidCode(f"invalid tax code {value!r}: expected 10 digits or 10digits-3digits")
    return code


def owner_id(value: str) -> str:
    """A personal ID (12-digit CCCD, or a 9-digit CMND of older papers) or an organisation tax code
    (10 or 10-3 digits)."""
    code = value.strip()
    if CCCD_RE.match(code) or TAX_RE.match(code) or CMND_RE.match(code):
        return code
    raise InvalidCode(
        f"invalid owner ID {value!r}: expected a 12-digit CCCD, a 9-digit CMND or a tax code (10 or 10-3 digits)"
    )


def retention_code(value: str) -> str:
    code = value.strip().zfill(2)
    if code not in RETENTION_CODES:
        raise InvalidCode(f"invalid retention code {value!r}: expected 01..07")
    return code
