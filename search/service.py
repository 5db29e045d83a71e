"""Indexing records and querying them: the Python API the CLI (and the web layer) call."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date
from itertools import islice

import sohoa
from sohoa.archive import catalog_write
from sohoa.archive.backends import Archive
from sohoa.core.records import Event
from sohoa.search.backends import document
from sohoa.search.model import Hit, SearchIndex, SearchQuery, SearchResult


def index_record(archive: Archive, index: SearchIndex, record_id: str, agent: str = "sohoa") -> None:
    record = archive.catalog.record(record_id)
    if record is None:
        return
    text_key = next(o.key for o in record.objects if o.name == "text.txt")
    index.index([document(record.metadata_json, archive.store.get(text_key).decode("utf-8"))])
    catalog_write.add_event(archive.catalog, Event(
        record_id=record_id, action="indexed", agent=agent, tool=index.describe(),
        tool_version=sohoa.__version__))


def reindex(archive: Archive, index: SearchIndex, batch: int = 200) -> int:
    """Rebuild the whole index from the catalog and storage (the index is derived)."""
    docs = (document(metadata, archive.store.get(f"{prefix}/text.txt").decode("utf-8"))
            for metadata, prefix in archive.catalog.record_documents())
    rebuild = getattr(index, "rebuild", None)
    if rebuild is not None:  # builds aside, then swaps: searches keep the old index meanwhile
        return rebuild(docs, batch=batch)
    # Otherwise searches see the new index fill up (Elasticsearch: recreate() swaps the alias
    # onto an empty index first).
    index.recreate()
    total = 0
    while pending := list(islice(docs, batch)):
        total += index.index(pending)
    return total




def search(index: SearchIndex, query: SearchQuery, agencies: list[str] | None = None) -> SearchResult:
    """Run the query; `agencies` (an agency and its subordinates, from the registry) narrows it.

    None searches every agency; an empty list matches nothing (a user without an agency): the
    totals and facets then say nothing about other agencies either."""
    if agencies is not None:
        if not agencies:
            return SearchResult(total=0, hits=[], facets={})
        if query.agencies:  # a filter the user chose, inside the scope they may see
            agencies = [code for code in query.agencies if code in set(agencies)]
            if not agencies:
                return SearchResult(total=0, hits=[], facets={})
        query = query.model_copy(update={"agencies": agencies})
    return index.search(query)


def kho(index: SearchIndex, owner_id: str, today: date | None = None,
        agencies: list[str] | None = None) -> "OrderedDict[str, list[Hit]]":
    """The owner's valid digitised documents, newest first, grouped by document type; `agencies`
    limits them to those agencies (None: every agency, [] nothing)."""
    groups: OrderedDict[str, list[Hit]] = OrderedDict()
    if agencies is not None and not agencies:
        return groups
    result = index.search(SearchQuery(owner_id=owner_id, valid_on=today or date.today(), sort="date", size=200,
                                      agencies=agencies))
    for hit in result.hits:
        groups.setdefault(hit.doc_type_code or "(chưa phân loại)", []).append(hit)
    return groups


# What an e-form can prefill from an owner's documents (issue #14): the record's own metadata names.
DATA_FIELDS = ("doc_type_name", "number_symbol", "issued_on", "issuing_agency", "title", "summary", "owner_id",
               "owner_name", "date_of_birth", "valid_until", "other_ids")


def owner_data(archive: Archive, groups: "OrderedDict[str, list[Hit]]") -> dict[str, dict]:
    """Per document type of the owner's Kho, the confirmed fields of the newest valid document and
    the record they come from (fields still waiting for review are named in `pending`, never given).
    What is typed by staff or confirmed by an official counts; an unconfirmed proposal does not."""
    data: dict[str, dict] = {}
    for doc_type, hits in groups.items():
        for hit in hits:
            record = archive.catalog.record(hit.record_id)
            if record is None:
                continue
            meta = record.metadata_json
            pending = set(meta.get("unconfirmed") or []) | set(meta.get("disagreements") or [])
            fields = {name: meta.get(name) for name in DATA_FIELDS
                      if meta.get(name) not in (None, "", []) and name not in pending}
            data[doc_type] = {"record_id": record.id, "record_code": record.code,
                              "doc_type_code": meta.get("doc_type_code"), "fields": fields,
                              "pending": sorted(pending)}
            break
    return data
