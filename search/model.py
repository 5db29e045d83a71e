"""The search contract: documents, queries, results, and the SearchIndex Protocol.

Two implementations (search/sqlite_index.py embedded, search/es_index.py for
Elasticsearch 8) pass one contract suite (tests/test_search_contract.py).
The index is derived: `sohoa reindex` rebuilds it from the catalog.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Iterable, Literal, Protocol

from pydantic import BaseModel, Field

# Text fields searched by free text, with their weight (title and names above body text).
TEXT_FIELDS: dict[str, float] = {"title": 3.0, "owner_names": 3.0, "summary": 2.0, "number_symbol": 2.0,
                                 "issuing_agency": 1.0, "text": 1.0}
FACET_FIELDS = ("doc_type_code", "agency_code")
EXACT_ID = re.compile(r"^\d{12}$|^\d{10}(-\d{3})?$|^\d{9}$")  # CCCD, tax code or CMND
EXACT_DOSSIER = re.compile(r"^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[0-9A-Z]{3}-\d{6}-\d{4}(-KQ\d+)?$", re.I)


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics; đ/Đ become d (unicode61 and asciifolding alone miss it)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


class SearchDoc(BaseModel):
    record_id: str
    record_code: str
    kind: str
    agency_code: str
    dossier_code: str | None = None
    procedure_code: str | None = None
    doc_type_code: str | None = None
    owner_id: str | None = None
    # Every person or organisation the document names with an ID (the owner's included, e.g. both
    # spouses of a marriage certificate): a search by any of them finds it, the Kho too.
    owner_ids: list[str] = Field(default_factory=list)
    owner_names: str | None = None  # the owner's name and those of the other persons
    doc_type_name: str | None = None
    title: str | None = None
    number_symbol: str | None = None
    issuing_agency: str | None = None
    summary: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None
    created_at: datetime
    page_count: int = 0
    text: str = ""


class SearchQuery(BaseModel):
    text: str = ""
    agencies: list[str] | None = None  # already expanded to include subordinate agencies
    procedure_code: str | None = None
    doc_type_code: str | None = None
    kind: str | None = None
    owner_id: str | None = None
    dossier_code: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    valid_on: date | None = None  # only documents not expired on this day
    sort: Literal["relevance", "date"] = "relevance"
    page: int = Field(1, ge=1)
    size: int = Field(20, ge=1, le=200)

    def exact(self) -> "SearchQuery":
        """A query that is a 12-digit ID, a tax code or a dossier code is an exact lookup, never fuzzy."""
        value = self.text.strip()
        if EXACT_ID.match(value):
            return self.model_copy(update={"text": "", "owner_id": value})
        if EXACT_DOSSIER.match(value):
            code = value.upper()
            dossier = code.split("-KQ")[0]
            return self.model_copy(update={"text": "", "dossier_code": dossier})
        return self


class Hit(BaseModel):
    record_id: str
    record_code: str
    title: str | None
    kind: str
    agency_code: str
    doc_type_code: str | None
    doc_type_name: str | None = None
    owner_id: str | None
    issued_on: date | None
    valid_until: date | None
    score: float
    snippet: str = ""  # with <mark>…</mark> around matches


class SearchResult(BaseModel):
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]


class SearchIndex(Protocol):
    def index(self, docs: Iterable[SearchDoc]) -> int:
        """Add or replace documents (by record_id); returns how many."""

    def delete(self, record_id: str) -> None: ...

    def get(self, record_id: str) -> SearchDoc | None: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def count(self) -> int: ...

    def recreate(self) -> None:
        """Empty index with the current mapping (reindex builds a new one and swaps it in)."""

    def describe(self) -> str: ...
