"""The typed result of extraction: proposals (value, confidence, page, box, source) and their JSON form.

`Extraction.to_json` is what is stored beside a record (`extracted.json`) and what `sohoa extract --json`
prints; `Extraction.from_json` reads it back with strict validation, because stored data outlives code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sohoa.core.errors import ExitCode, SohoaError

VERSION = 1
FIELD_NAMES = (
    "doc_type_code", "doc_type_name", "number_symbol", "issued_on", "issuing_agency", "issuing_parent",
    "title", "summary", "owner_id", "owner_name", "date_of_birth", "valid_until",
)


@dataclass(frozen=True)
class Proposal:
    """One value read off the pages, where it was read and how sure the rule is."""

    value: str | list[str]
    confidence: float  # 0..1
    page: int  # 1-based
    box: list[float]  # [x0, y0, x1, y1] in PDF points, origin top-left
    source: str  # which rule proposed it, e.g. "pattern:number-symbol"

    def to_json(self) -> dict:
        return {"value": self.value, "confidence": round(self.confidence, 3), "page": self.page,
                "box": [round(v, 2) for v in self.box], "source": self.source}

    @classmethod
    def from_json(cls, data: Any, where: str = "proposal") -> Proposal:
        if not isinstance(data, dict) or set(data) != {"value", "confidence", "page", "box", "source"}:
            raise _bad(f"{where}: expected the keys value, confidence, page, box, source")
        value, confidence, page, box, source = (data[k] for k in ("value", "confidence", "page", "box", "source"))
        if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            raise _bad(f"{where}: value must be a string or a list of strings")
        if not _number(confidence) or not 0.0 <= confidence <= 1.0:
            raise _bad(f"{where}: confidence must be a number in 0..1")
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise _bad(f"{where}: page must be an integer >= 1")
        if not isinstance(box, list) or len(box) != 4 or not all(_number(v) for v in box):
            raise _bad(f"{where}: box must be four numbers [x0, y0, x1, y1]")
        if not isinstance(source, str) or not source:
            raise _bad(f"{where}: source must be a non-empty string")
        return cls(value, float(confidence), page, [float(v) for v in box], source)


@dataclass
class Extraction:
    """Everything proposed for one document: its type, its fields and the other persons' IDs."""

    doc_type: Proposal | None = None  # value = catalogue code
    fields: dict[str, Proposal] = field(default_factory=dict)
    other_ids: list[Proposal] = field(default_factory=list)
    other_names: list[str | None] = field(default_factory=list)  # the name beside each of other_ids

    def owners(self) -> list[dict]:
        """Every person on the pages: the owner first, then the others, as {"id", "name"}."""
        people = []
        if "owner_id" in self.fields:
            name = self.fields.get("owner_name")
            people.append({"id": self.fields["owner_id"].value, "name": name.value if name else None})
        for proposal, name in zip(self.other_ids, self._names()):
            people.append({"id": proposal.value, "name": name})
        return people

    def _names(self) -> list[str | None]:
        return list(self.other_names) + [None] * (len(self.other_ids) - len(self.other_names))

    def to_json(self) -> dict:
        return {
            "version": VERSION,
            "doc_type": self.doc_type.to_json() if self.doc_type else None,
            "fields": {name: p.to_json() for name, p in self.fields.items()},
            "other_ids": [p.to_json() for p in self.other_ids],
            "owners": self.owners(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Extraction:
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise _bad(f"extracted data: expected an object with version {VERSION}")
        unknown = set(data) - {"version", "doc_type", "fields", "other_ids", "owners"}
        if unknown:
            raise _bad(f"extracted data: unknown keys {sorted(unknown)}")
        doc_type = data.get("doc_type")
        fields_in = data.get("fields", {})
        if not isinstance(fields_in, dict):
            raise _bad("extracted data: fields must be an object")
        bad_names = sorted(set(fields_in) - set(FIELD_NAMES))
        if bad_names:
            raise _bad(f"extracted data: unknown fields {bad_names}")
        others = data.get("other_ids", [])
        if not isinstance(others, list):
            raise _bad("extracted data: other_ids must be a list")
        owners = data.get("owners", [])
        if not isinstance(owners, list) or not all(isinstance(o, dict) for o in owners):
            raise _bad("extracted data: owners must be a list of objects")
        names_by_id = {o.get("id"): o.get("name") for o in owners}
        other_ids = [Proposal.from_json(p, f"other_ids[{i}]") for i, p in enumerate(others)]
        return cls(
            doc_type=Proposal.from_json(doc_type, "doc_type") if doc_type is not None else None,
            fields={name: Proposal.from_json(p, f"fields.{name}") for name, p in fields_in.items()},
            other_ids=other_ids,
            other_names=[_name_or_none(names_by_id.get(p.value)) for p in other_ids],
        )


def _name_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _bad(message: str) -> SohoaError:
    return SohoaError(message, ExitCode.DAMAGED)
