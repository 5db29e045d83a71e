"""Bóc tách: reading the metadata off a document's words (type, number, date, issuer, summary, owner)."""

from sohoa.extract.catalogue import Catalogue, DocType, load_catalogue
from sohoa.extract.engine import extract
from sohoa.extract.model import FIELD_NAMES, Extraction, Proposal

__all__ = ["FIELD_NAMES", "Catalogue", "DocType", "Extraction", "Proposal", "extract", "load_catalogue"]
