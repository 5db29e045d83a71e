"""Person and organisation IDs: 12-digit CCCD, 9-digit CMND, 10 or 10-3 digit MST, checked before use.

CCCD (Thông tư 59/2021/TT-BCA): 3 digits province code (the official list below), 1 digit century and
sex (0/1 born 1900-1999 man/woman, 2/3 born 2000-2099, 4-9 later centuries: impossible today), 2 digits
year of birth, 6 digits serial. A CCCD whose province code is not on the list, whose birth year lies in
the future, or which disagrees with a known date of birth is refused.

MST: python-stdnum's `stdnum.vn.mst` (the only Vietnamese number it offers) checks the tenth digit and
the 13-digit branch form, so no home-made checksum is needed. A CMND has no check digit: 9 digits are
accepted only after a CMND label.

OCR confusions (O→0, l/I→1, S→5, B→8, spaces inside the number) are repaired only when the repaired
number passes its check; the caller lowers the confidence of a repaired ID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.exceptions import ValidationError
from stdnum.vn import mst as stdnum_mst

PROVINCE_CODES = frozenset({
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022", "024",
    "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042", "044", "045",
    "046", "048", "049", "051", "052", "054", "056", "058", "060", "062", "064", "066", "067", "068", "070",
    "072", "074", "075", "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
})
_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1", "i": "1",
                             "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2", "G": "6", "b": "6"})
_DIGITISH = re.compile(r"[0-9OoDQlI|iSsBZzGb]")


@dataclass(frozen=True)
class IdCheck:
    value: str  # normalised ID
    kind: str  # "cccd" | "cmnd" | "mst"
    repaired: bool  # OCR confusions or inner spaces were fixed to make it pass


def cccd_birth_year(value: str) -> int | None:
    """The birth year a valid-looking CCCD encodes, or None when its structure is wrong."""
    if len(value) != 12 or not value.isdigit() or value[:3] not in PROVINCE_CODES:
        return None
    year = 1900 + 100 * (int(value[3]) // 2) + int(value[4:6])
    return year if year <= date.today().year else None


def valid_cccd(value: str, born: date | None = None) -> bool:
    year = cccd_birth_year(value)
    return year is not None and (born is None or born.year == year)


def valid_mst(value: str) -> bool:
    try:
        stdnum_mst.validate(value)
    except ValidationError:
        return False
    return len(re.sub(r"\D", "", value)) in (10, 13)


def normalise_mst(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) == 10 else f"{digits[:10]}-{digits[10:]}"


def check(raw: str, kinds: tuple[str, ...], born: date | None = None) -> IdCheck | None:
    """The ID in `raw` (a number as printed, maybe with OCR noise) if it passes one of `kinds`' checks."""
    plain = raw.strip().strip(".,;:()")
    exact = re.sub(r"[\s.]", "", plain)
    spaced = exact != plain
    found = _check_one(exact, kinds, born)
    if found:
        return IdCheck(found[1], found[0], spaced)
    repaired = exact.translate(_CONFUSABLE)
    if repaired != exact and _mostly_digits(exact):
        found = _check_one(repaired, kinds, born)
        if found:
            return IdCheck(found[1], found[0], True)
    return None


def _mostly_digits(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= max(1, len(text) - 2)


def _check_one(value: str, kinds: tuple[str, ...], born: date | None) -> tuple[str, str] | None:
    if "cccd" in kinds and len(value) == 12 and value.isdigit() and valid_cccd(value, born):
        return "cccd", value
    if "cmnd" in kinds and len(value) == 9 and value.isdigit():
        return "cmnd", value
    if "mst" in kinds and re.fullmatch(r"\d{10}(-?\d{3})?", value) and valid_mst(value):
        return "mst", normalise_mst(value)
    return None


def digit_runs(words: list[str]) -> list[tuple[int, int, str]]:
    """Runs of consecutive words that look like one number (OCR may cut "0790 9100 1234" into pieces):
    (first word index, end index, joined text)."""
    runs = []
    i = 0
    while i < len(words):
        if numberish(words[i]):
            j = i
            while j + 1 < len(words) and numberish(words[j + 1]) and _joined_len(words[i:j + 2]) <= 14:
                j += 1
            runs.append((i, j + 1, " ".join(words[i:j + 1])))
            i = j + 1
        else:
            i += 1
    return runs


def numberish(word: str) -> bool:
    core = word.strip(".,;:()")
    digits = sum(ch.isdigit() for ch in core)
    return bool(core) and digits >= 2 and all(_DIGITISH.fullmatch(ch) or ch == "-" for ch in core) \
        and digits >= len(core) - 2


def _joined_len(words: list[str]) -> int:
    return len(re.sub(r"\D", "", "".join(w.translate(_CONFUSABLE) for w in words)))
