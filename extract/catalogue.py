"""The document-type catalogue: built-in types (data/doctypes.yaml) merged with an admin's own YAML.

An admin extends it without code: `SOHOA_DOCTYPES_FILE` points at a YAML file with the same schema;
an entry with an existing code replaces that type, a new code adds one. A file that cannot be read or
does not follow the schema is a one-line usage error, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sohoa.core.codes import RETENTION_CODES
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.extract.model import FIELD_NAMES
from sohoa.extract.text import fold, nfc

BUILTIN = Path(__file__).parent / "data" / "doctypes.yaml"
GROUPS = ("hanh-chinh", "ho-tich", "nhan-than", "dat-dai", "xay-dung", "kinh-doanh", "mot-cua", "khac")
_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,15}$")
_KEYS = {"code", "name", "group", "cues", "symbol", "fields", "retention", "valid_months", "has_valid_until"}


@dataclass(frozen=True)
class DocType:
    code: str
    name: str  # Vietnamese, e.g. "Quyết định"
    group: str
    cues: tuple[str, ...]  # title lines in capitals
    fields: tuple[str, ...]
    retention: str
    symbol: str | None = None  # "QĐ" as in "12/QĐ-UBND"
    valid_months: int | None = None
    has_valid_until: bool = False

    @property
    def administrative(self) -> bool:
        return self.group == "hanh-chinh"


@dataclass(frozen=True)
class Catalogue:
    types: dict[str, DocType]

    def by_symbol(self, symbol: str) -> DocType | None:
        key = fold(symbol)
        return next((t for t in self.types.values() if t.symbol and fold(t.symbol) == key), None)

    def cues(self) -> list[tuple[str, DocType]]:
        """(folded cue, type), longest first: "GIẤY CHỨNG NHẬN KẾT HÔN" is tried before "GIẤY"."""
        pairs = [(fold(cue), t) for t in self.types.values() for cue in t.cues]
        return sorted(pairs, key=lambda p: -len(p[0]))


def load_catalogue(extra: Path | None = None) -> Catalogue:
    """The built-in catalogue, with `extra` (an admin's YAML) merged over it by code."""
    types = dict(_builtin())
    if extra is not None:
        types.update(_read(Path(extra)))
    return Catalogue(types)


@lru_cache(maxsize=1)
def _builtin() -> tuple[tuple[str, DocType], ...]:
    return tuple(_read(BUILTIN).items())


def _read(path: Path) -> dict[str, DocType]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad(path, f"cannot read ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _bad(path, f"not valid YAML ({' '.join(str(exc).split())[:120]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("types"), list):
        raise _bad(path, "expected a mapping with a list under 'types'")
    types: dict[str, DocType] = {}
    for i, entry in enumerate(data["types"]):
        doc_type = _entry(path, i, entry)
        types[doc_type.code] = doc_type
    return types


def _entry(path: Path, i: int, entry: Any) -> DocType:
    where = f"types[{i}]"
    if not isinstance(entry, dict):
        raise _bad(path, f"{where}: expected a mapping")
    unknown = set(entry) - _KEYS
    if unknown:
        raise _bad(path, f"{where}: unknown keys {sorted(unknown)}")
    code = entry.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        raise _bad(path, f"{where}: code must be 1-16 capital ASCII letters or digits, like QD or GKS")
    where = f"type {code}"
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _bad(path, f"{where}: name is required")
    group = entry.get("group")
    if group not in GROUPS:
        raise _bad(path, f"{where}: group must be one of {', '.join(GROUPS)}")
    cues = entry.get("cues")
    if not isinstance(cues, list) or not cues or not all(isinstance(c, str) and c.strip() for c in cues):
        raise _bad(path, f"{where}: cues must be a non-empty list of title lines")
    fields = entry.get("fields", [])
    if not isinstance(fields, list) or not set(fields) <= set(FIELD_NAMES):
        raise _bad(path, f"{where}: fields must be a list of {', '.join(FIELD_NAMES)}")
    retention = entry.get("retention")
    if retention not in RETENTION_CODES:
        raise _bad(path, f"{where}: retention must be one of {', '.join(RETENTION_CODES)} (quote it: \"01\")")
    symbol = entry.get("symbol")
    if symbol is not None and (not isinstance(symbol, str) or not symbol.strip()):
        raise _bad(path, f"{where}: symbol must be text like QĐ")
    months = entry.get("valid_months")
    if months is not None and (not isinstance(months, int) or isinstance(months, bool) or not 0 < months <= 1200):
        raise _bad(path, f"{where}: valid_months must be a whole number of months")
    has_until = entry.get("has_valid_until", False)
    if not isinstance(has_until, bool):
        raise _bad(path, f"{where}: has_valid_until must be true or false")
    return DocType(code, nfc(name.strip()), group, tuple(nfc(c.strip()) for c in cues), tuple(fields), retention,
                   nfc(symbol.strip()) if symbol else None, months, has_until or months is not None)


def _bad(path: Path, message: str) -> SohoaError:
    return SohoaError(f"{path}: document types: {message}", ExitCode.USAGE)
