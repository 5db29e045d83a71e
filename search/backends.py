"""Open the configured search index and build index documents from archived records."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.settings import Settings, get_settings
from sohoa.search.model import SearchDoc, SearchIndex


def search_url(settings: Settings) -> str:
    return settings.search_url or f"sqlite:///{(settings.data_dir.resolve() / 'search.db')}"


def open_index(url: str, ca_certs: Path | None = None) -> SearchIndex:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from sohoa.search.sqlite_index import SqliteIndex

        return SqliteIndex(Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else Path(url[9:]))
    if scheme in ("http", "https"):
        from sohoa.search.es_index import ElasticIndex

        return ElasticIndex(url, ca_certs=ca_certs)
    raise SohoaError(f"unsupported SOHOA_SEARCH_URL {url!r}: use sqlite:///FILE or http://host:9200",
                     ExitCode.USAGE)


def open_configured_index(settings: Settings | None = None) -> SearchIndex:
    settings = settings or get_settings()
    return open_index(search_url(settings), settings.search_ca)


def document(metadata: dict, text: str) -> SearchDoc:
    """The index document of a record: its catalog metadata and its text."""
    return SearchDoc(
        record_id=metadata["record_id"], record_code=metadata["record_code"], kind=metadata["kind"],
        agency_code=metadata["agency_code"], dossier_code=metadata.get("dossier_code"),
        procedure_code=metadata.get("procedure_code"), doc_type_code=metadata.get("doc_type_code"),
        owner_id=metadata.get("owner_id"), title=metadata.get("title"),
        owner_ids=list(dict.fromkeys(filter(None, [metadata.get("owner_id"), *metadata.get("other_ids", [])]))),
        owner_names=metadata.get("owner_name"), doc_type_name=metadata.get("doc_type_name"),
        number_symbol=metadata.get("number_symbol"), issuing_agency=metadata.get("issuing_agency"),
        summary=metadata.get("summary"), issued_on=metadata.get("issued_on"),
        valid_until=metadata.get("valid_until"), created_at=metadata["created_at"],
        page_count=metadata.get("page_count", 0), text=text.replace("\f", "\n"),
    )
