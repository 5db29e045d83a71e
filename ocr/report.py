"""Typed reports of an OCR run (`sohoa ocr --json`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PageReport(BaseModel):
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
    seconds: dict[str, float] = Field(default_factory=dict)
    worker: int = 0  # process id that handled the page
    warnings: list[str] = Field(default_factory=list)


class ValidationReport(BaseModel):
    validator: str
    valid: bool
    errors: list[str] = Field(default_factory=list)


class FileReport(BaseModel):
    input: str
    input_type: str
    output: str
    pdfa: str
    language: str
    tesseract: str
    sohoa: str
    page_count: int
    output_bytes: int = 0
    bytes_per_page: float = 0.0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    validation: list[ValidationReport] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    pages: list[PageReport] = Field(default_factory=list)
