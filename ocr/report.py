"""Typed reports of an OCR run (`sohoa ocr --json`, and the plan and pages the workers stage as JSON).

Plain dataclasses, not pydantic models: `sohoa ocr` builds one before its first page, and
importing pydantic and building the models cost about a tenth of a second of its start-up
(issue #17). `model_dump`, `model_dump_json` and `model_validate` keep the names the callers
used; `model_validate` coerces each field to its declared type and raises TypeError or
ValueError on malformed data, as the staging area expects.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self


class _Report:
    """JSON in and out for the report dataclasses below."""

    __slots__ = ()

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def model_dump_json(self, indent: int | None = None) -> str:
        separators = None if indent is not None else (",", ":")
        return json.dumps(self.model_dump(), ensure_ascii=False, indent=indent, separators=separators)

    @classmethod
    def model_validate(cls, data: object) -> Self:
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} must be a JSON object, not {type(data).__name__}")
        values = {}
        for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
            if spec.name in data:
                values[spec.name] = _COERCE[str(spec.type)](data[spec.name])
        return cls(**values)


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _seconds(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise TypeError("seconds must be an object")
    return {str(k): float(v) for k, v in value.items()}


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return [str(v) for v in value]


def _list_of(item: Callable[[object], Any]) -> Callable[[object], list]:
    def coerce(value: object) -> list:
        if not isinstance(value, list):
            raise TypeError("expected a list")
        return [item(v) for v in value]
    return coerce


@dataclass(slots=True)
class PageReport(_Report):
    number: int
    mode: str  # color | gray | bilevel
    source_dpi: float
    width_pt: float
    height_pt: float
    rotation: int = 0  # clockwise degrees applied to make the page upright
    rotation_certain: bool = True
    skew_deg: float = 0.0  # counter-clockwise skew of the text on the paper
    blank: bool = False
    ocr: bool = False  # Tesseract ran on this page
    text_source: str = "ocr"  # ocr | pdf (born-digital text kept) | none (blank)
    confidence: float | None = None  # mean word confidence, 0-100
    words: int = 0
    characters: int = 0
    image: str = ""  # how the archival image is stored
    image_bytes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    worker: int = 0  # process id that handled the page
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ValidationReport(_Report):
    validator: str
    valid: bool
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FileReport(_Report):
    input: str
    input_type: str
    output: str
    pdfa: str
    language: str
    tesseract: str  # the engine's version; filled in when the pages are assembled
    sohoa: str
    page_count: int
    output_bytes: int = 0
    bytes_per_page: float = 0.0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    validation: list[ValidationReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pages: list[PageReport] = field(default_factory=list)


_COERCE: dict[str, Callable[[object], Any]] = {
    "int": int, "float": float, "str": str, "bool": bool, "float | None": _optional_float,
    "dict[str, float]": _seconds, "list[str]": _strings,
    "list[PageReport]": _list_of(PageReport.model_validate),
    "list[ValidationReport]": _list_of(ValidationReport.model_validate),
}
