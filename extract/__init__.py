"""Bóc tách: reading the metadata off a document's words (type, number, date, issuer, summary, owner)."""

from sohoa.extract.catalogue import Catalogue, DocType, load_catalogue
from sohoa.extract.engine import extract
from sohoa.extract.model import FIELD_NAMES, Extraction, Proposal

__all__ = ["Catalogue", "DocType", "Extraction", "FIELD_NAMES", "Proposal", "extract", "load_catalogue"]
