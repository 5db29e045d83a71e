"""Elasticsearch 8 implementation of the SearchIndex contract (search/model.py).

Responsibility: keep the derived full-text index of records in an Elasticsearch cluster and
answer SearchQuery objects from it, using only standard ES 8 REST APIs through the official
`elasticsearch` client (`SOHOA_SEARCH_URL=http://host:9200`).

Layout: the physical index is `<alias>-<UTC timestamp>` and every read and write goes through
the alias (`sohoa-records` by default). `recreate()` builds a new physical index and swaps the
alias onto it in one `_aliases` call, so readers never see a missing or half-empty index name.

Text fields are analysed twice: `field` with `vi_fold` (standard tokenizer, lowercase,
asciifolding with preserve_original, so `giay chung nhan` finds `Giấy chứng nhận` and `dat`
finds `đất` — Lucene's ASCIIFoldingFilter maps đ/Đ to d) and `field.exact` with `vi_exact`
(no folding). Free text must match the folded fields; matches on `.exact` only add score, so a
query typed with diacritics ranks the exact spelling above other words with the same letters.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.search.model import (
    FACET_FIELDS, TEXT_FIELDS, Hit, SearchDoc, SearchQuery, SearchResult, fold,
)

DEFAULT_ALIAS = "sohoa-records"
log = logging.getLogger(__name__)
FOLD_ANALYZER = "vi_fold"
EXACT_ANALYZER = "vi_exact"
# An exact-diacritic match on top of the folded one: enough to win ties between spellings
# that fold alike (đất / dạt / đạt) without letting diacritics outweigh title vs body weights.
EXACT_BOOST = 2.0
SNIPPET_CHARS = 150
FACET_SIZE = 200  # buckets per facet: more agencies or document types than a page lists
BULK_CHUNK = 500
MARK = ("<mark>", "</mark>")
KEYWORD_FIELDS = ("record_id", "record_code", "kind", "agency_code", "dossier_code",
                  "procedure_code", "doc_type_code", "owner_id", "owner_ids", "doc_type_name")
DATE_FIELDS = ("issued_on", "valid_until", "created_at")
# Same word split as the SQLite backend: a multi-word query that matches nothing with every
# word required is retried with any word (OCR noise must not hide a document entirely).
WORD = re.compile(r"\w+", re.UNICODE)
# Fields a hit needs; the OCR text can be megabytes, and only its highlight is returned.
HIT_SOURCE_EXCLUDES = ["text"]


def index_settings() -> dict[str, Any]:
    """Analysis settings of every physical index."""
    return {
        # One shard: a provincial archive fits easily, and BM25 statistics stay exact
        # (several shards score the same document differently depending on where it lands).
        "number_of_shards": 1,
        "analysis": {
            "filter": {
                "vi_ascii_fold": {"type": "asciifolding", "preserve_original": True},
            },
            "analyzer": {
                FOLD_ANALYZER: {"type": "custom", "tokenizer": "standard",
                                "filter": ["lowercase", "vi_ascii_fold"]},
                EXACT_ANALYZER: {"type": "custom", "tokenizer": "standard",
                                 "filter": ["lowercase"]},
            },
        },
    }


def index_mappings() -> dict[str, Any]:
    """Explicit mapping of SearchDoc; `strict` so a field added to the model without a mapping
    fails loudly at indexing instead of being guessed by dynamic mapping."""
    properties: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        properties[name] = {
            "type": "text",
            "analyzer": FOLD_ANALYZER,
            "fields": {"exact": {"type": "text", "analyzer": EXACT_ANALYZER}},
        }
    # Offsets in the postings let the highlighter work on long OCR text without re-analysing
    # it (re-analysis is capped by index.highlight.max_analyzed_offset, 1 M characters).
    properties["text"]["index_options"] = "offsets"
    properties.update({name: {"type": "keyword"} for name in KEYWORD_FIELDS})
    properties.update({name: {"type": "date"} for name in DATE_FIELDS})
    properties["page_count"] = {"type": "integer"}
    return {"dynamic": "strict", "properties": properties}


def public_url(url: str) -> str:
    """The URL without user name and password (for messages, logs and events)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class ElasticIndex:
    """SearchIndex on Elasticsearch 8, reached through the alias `index`."""

    def __init__(self, url: str, index: str = DEFAULT_ALIAS, *,
                 request_timeout: float = 30.0, ca_certs: Path | None = None) -> None:
        self.url = public_url(url)
        self.alias = index
        # An https server is verified against `ca_certs` (SOHOA_SEARCH_CA: the deployment's own CA),
        # else against the public CAs; the certificate and the host name are always checked.
        tls = {"ca_certs": str(ca_certs), "verify_certs": True} if ca_certs else {}
        if ca_certs and not Path(ca_certs).is_file():
            raise SohoaError(f"invalid SOHOA_SEARCH_CA: no file {str(ca_certs)!r}", ExitCode.USAGE)
        try:
            self.client = Elasticsearch(url, request_timeout=request_timeout, max_retries=2,
                                        retry_on_timeout=True, **tls)
        except ValueError as exc:  # e.g. no port: the client refuses to guess one
            raise SohoaError(f"invalid SOHOA_SEARCH_URL {self.url!r}: {exc}",
                             ExitCode.USAGE) from None
        self._ready = False

    def describe(self) -> str:
        return f"elasticsearch:{self.url}/{self.alias}"

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ errors

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Client exceptions become one-line SohoaErrors (the CLI prints them, no traceback)."""
        try:
            yield
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise SohoaError(f"search index unreachable at {self.url} ({_reason(exc)})",
                             ExitCode.OUTPUT_ERROR) from None
        except helpers.BulkIndexError as exc:  # only raised for errors we did not collect
            raise SohoaError(f"search index {self.url} rejected documents: {exc}",
                             ExitCode.OUTPUT_ERROR) from None
        except ApiError as exc:
            raise SohoaError(
                f"search index error at {self.url}: {exc.meta.status} {_api_reason(exc)}",
                ExitCode.OUTPUT_ERROR) from None

    # ------------------------------------------------------------------ layout

    def _physical_name(self) -> str:
        # Microseconds and a random suffix: two recreates (or processes) never pick the same name.
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S%f")
        return f"{self.alias}-{stamp}-{secrets.token_hex(2)}"

    def _create_physical(self, name: str, with_alias: bool) -> None:
        aliases = {self.alias: {}} if with_alias else None
        self.client.indices.create(index=name, settings=index_settings(), mappings=index_mappings(),
                                   aliases=aliases)

    def _behind_alias(self) -> list[str]:
        if not self.client.indices.exists_alias(name=self.alias):
            return []
        return sorted(self.client.indices.get_alias(name=self.alias).body)

    def _ensure(self) -> None:
        """Create the first physical index and the alias if the name is unknown to the cluster.

        Called before every operation, so a write never auto-creates a concrete index with a
        dynamic mapping under the alias's name.
        """
        if self._ready:
            return
        with self._errors():
            if not self.client.indices.exists(index=self.alias):  # true for an alias or an index
                name = self._physical_name()
                self._create_physical(name, with_alias=True)
                # Two processes starting on an empty cluster can both get here; the alias would
                # then point at two indices and refuse writes. The earliest name wins, the
                # others drop their own (empty) index.
                behind = self._behind_alias()
                if len(behind) > 1 and name != behind[0]:
                    self.client.indices.delete(index=name)
            else:
                self._add_new_fields()
        self._ready = True

    def _add_new_fields(self) -> None:
        """An index made by an older sohoa lacks the fields added since (mappings only grow):
        add them, so new documents index and old ones are found as before."""
        wanted = index_mappings()["properties"]
        body = self.client.indices.get_mapping(index=self.alias).body
        for name, mapping in (body.items() if isinstance(body, dict) else ()):
            have = (mapping.get("mappings") or {}).get("properties") or {} if isinstance(mapping, dict) else {}
            if "record_id" not in have:  # not an index of ours: leave it alone
                continue
            missing = {field: spec for field, spec in wanted.items() if field not in have}
            if missing:
                log.warning("search index %s: adding fields %s", name, ", ".join(sorted(missing)))
                self.client.indices.put_mapping(index=name, properties=missing)

    def recreate(self) -> None:
        """A new empty physical index swapped in behind the alias; the old ones are deleted."""
        with self._errors():
            new = self._physical_name()
            self._create_physical(new, with_alias=False)
            self._swap_alias_to(new)
        self._ready = True

    def rebuild(self, docs: Iterable[SearchDoc], batch: int = 500) -> int:
        """Fill a new physical index aside, then swap the alias onto it in one atomic call: searches
        see the old, complete index until the new one is complete (`sohoa reindex`)."""
        with self._errors():
            new = self._physical_name()
            self._create_physical(new, with_alias=False)
        try:
            total = self._bulk(docs, new)
        except BaseException:
            with self._errors():
                self.client.indices.delete(index=new)
            raise
        with self._errors():
            self._swap_alias_to(new)
        self._ready = True
        return total

    def _swap_alias_to(self, new: str) -> None:
        old = self._behind_alias()
        actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": self.alias}} for name in old]
        if not old and self.client.indices.exists(index=self.alias):
            # A concrete index holds the alias's name (created by hand or by a stray write):
            # replace it by the alias in the same atomic call.
            actions.append({"remove_index": {"index": self.alias}})
        actions.append({"add": {"index": new, "alias": self.alias}})
        # One call: ES applies all actions atomically, readers see the old or the new index.
        self.client.indices.update_aliases(actions=actions)
        for name in old:
            try:
                self.client.indices.delete(index=name)
            except NotFoundError:  # another process already removed it
                pass

    # ------------------------------------------------------------------ writing

    def index(self, docs: Iterable[SearchDoc]) -> int:
        self._ensure()
        return self._bulk(docs, self.alias)

    def _bulk(self, docs: Iterable[SearchDoc], target: str) -> int:
        def actions() -> Iterator[dict[str, Any]]:
            for doc in docs:
                yield {"_op_type": "index", "_index": target, "_id": doc.record_id,
                       "_source": doc.model_dump(mode="json")}

        indexed = 0
        failures: list[dict[str, Any]] = []
        with self._errors():
            # streaming_bulk chunks the stream (a reindex can be the whole archive) and retries
            # documents the cluster rejected with 429 (queue full).
            for ok, item in helpers.streaming_bulk(self.client, actions(), chunk_size=BULK_CHUNK,
                                                   raise_on_error=False, max_retries=3):
                if ok:
                    indexed += 1
                else:
                    failures.append(item)
            # Searchable on return, as the contract (and the SQLite backend) promise.
            self.client.indices.refresh(index=target)
        if failures:
            first = next(iter(failures[0].values()), {})
            reason = (first.get("error") or {}) if isinstance(first, dict) else {}
            detail = reason.get("reason", reason) if isinstance(reason, dict) else reason
            raise SohoaError(
                f"search index {self.url} rejected {len(failures)} document(s); first "
                f"{first.get('_id')}: {detail}", ExitCode.OUTPUT_ERROR)
        return indexed

    def delete(self, record_id: str) -> None:
        self._ensure()
        with self._errors():
            try:
                self.client.delete(index=self.alias, id=record_id, refresh=True)
            except NotFoundError:  # deleting an absent record is not an error
                pass

    # ------------------------------------------------------------------ reading

    def get(self, record_id: str) -> SearchDoc | None:
        self._ensure()
        with self._errors():
            try:
                response = self.client.get(index=self.alias, id=record_id)
            except NotFoundError:
                return None
        return SearchDoc.model_validate(response["_source"])

    def count(self) -> int:
        self._ensure()
        with self._errors():
            return int(self.client.count(index=self.alias)["count"])

    def search(self, query: SearchQuery) -> SearchResult:
        self._ensure()
        # IDs and dossier codes are exact lookups: they must never reach the analysed text query.
        query = query.exact()
        text = unicodedata.normalize("NFC", query.text.strip())
        with self._errors():
            response = self._search(query, text, "and")
            if response["hits"]["total"]["value"] == 0 and len(WORD.findall(text)) > 1:
                response = self._search(query, text, "or")
        return self._result(response)

    def _search(self, query: SearchQuery, text: str, operator: str) -> Any:
        return self.client.search(
            index=self.alias,
            query=self._query(query, text, operator),
            sort=_sort(query),
            track_scores=True,  # a date-sorted page still reports relevance
            track_total_hits=True,  # exact totals beyond 10 000
            from_=(query.page - 1) * query.size,
            size=query.size,
            source_excludes=HIT_SOURCE_EXCLUDES,
            highlight=_highlight(text),
            aggs={field: {"terms": {"field": field, "size": FACET_SIZE}} for field in FACET_FIELDS},
        )

    @staticmethod
    def _query(query: SearchQuery, text: str, operator: str) -> dict[str, Any]:
        bool_query: dict[str, Any] = {"filter": _filters(query)}
        if text:
            # Recall: the words folded (model.fold, the same mapping as asciifolding) against the
            # folded fields, so `đất`, `dat` and `dạt` all match the same documents and score
            # alike there; the preference for the spelling as typed is the `.exact` clause's job
            # alone. (Sending `đất` unfolded would also work on Elasticsearch, where the folded
            # and original query tokens share a position and form one synonym clause; the test
            # emulator instead requires each of them under operator `and`.)
            #
            # combined_fields (a multi-field match, ES >= 7.13) is term-centric: with operator
            # `and` every word must occur in *some* field, so `giấy khai sinh Nguyễn Văn An`
            # finds the title in `title` and the name in `text`. multi_match `best_fields`
            # would require all words in one field; its `cross_fields` type would do, but the
            # test emulator applies the operator per field there (see the README).
            bool_query["must"] = [{"combined_fields": {
                "query": fold(text), "operator": operator,
                "fields": [f"{name}^{weight}" for name, weight in TEXT_FIELDS.items()],
            }}]
            # Optional: adds score where the words typed *with* diacritics occur spelled so.
            # Words typed without any are no signal: `dung` would otherwise reward the literal
            # word (as in `nội dung`) over `dụng`, which the user may well have meant.
            marked = [w for w in WORD.findall(text) if fold(w) != w.lower()]
            if marked:
                # combined_fields again (operator `or`: a boost, not a filter): one set of term
                # statistics across the fields, so a name rare in body text but named in a summary
                # does not lift a record that merely has the words scattered through its text.
                bool_query["should"] = [{"combined_fields": {
                    "query": " ".join(marked), "operator": "or", "boost": EXACT_BOOST,
                    "fields": [f"{name}.exact^{weight}" for name, weight in TEXT_FIELDS.items()],
                }}]
        else:
            bool_query["must"] = [{"match_all": {}}]
        return {"bool": bool_query}

    @staticmethod
    def _result(response: Any) -> SearchResult:
        hits = []
        for raw in response["hits"]["hits"]:
            source = raw["_source"]
            hits.append(Hit(
                record_id=source["record_id"], record_code=source["record_code"],
                title=source.get("title"), kind=source["kind"], agency_code=source["agency_code"],
                doc_type_code=source.get("doc_type_code"), owner_id=source.get("owner_id"),
                doc_type_name=source.get("doc_type_name"),
                issued_on=source.get("issued_on"), valid_until=source.get("valid_until"),
                score=float(raw.get("_score") or 0.0), snippet=_snippet(raw.get("highlight", {})),
            ))
        aggregations = response.get("aggregations", {})
        facets = {field: {str(bucket["key"]): int(bucket["doc_count"])
                          for bucket in aggregations.get(field, {}).get("buckets", [])}
                  for field in FACET_FIELDS}
        return SearchResult(total=int(response["hits"]["total"]["value"]), hits=hits, facets=facets)


# ---------------------------------------------------------------------- query parts


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    """Filter clauses: no scoring, cacheable by ES."""
    clauses: list[dict[str, Any]] = []
    # An empty list means "no restriction", as in the SQLite backend (None and [] alike).
    if query.agencies:
        clauses.append({"terms": {"agency_code": list(query.agencies)}})
    for field in ("procedure_code", "doc_type_code", "kind", "dossier_code"):
        value = getattr(query, field)
        if value:
            clauses.append({"term": {field: value}})
    if query.owner_id:  # the owner, or any other person the document names with an ID
        clauses.append({"bool": {"minimum_should_match": 1, "should": [
            {"term": {"owner_id": query.owner_id}}, {"term": {"owner_ids": query.owner_id}}]}})
    issued: dict[str, str] = {}
    if query.issued_from:
        issued["gte"] = query.issued_from.isoformat()
    if query.issued_to:
        issued["lte"] = query.issued_to.isoformat()
    if issued:
        clauses.append({"range": {"issued_on": issued}})
    if query.valid_on:
        # Valid on that day: not yet expired, or no expiry date at all.
        clauses.append({"bool": {"minimum_should_match": 1, "should": [
            {"range": {"valid_until": {"gte": query.valid_on.isoformat()}}},
            {"bool": {"must_not": [{"exists": {"field": "valid_until"}}]}},
        ]}})
    return clauses


def _sort(query: SearchQuery) -> list[Any]:
    newest = [{"issued_on": {"order": "desc", "missing": "_last"}},
              {"created_at": {"order": "desc", "missing": "_last"}}]
    # record_id last: equal keys would otherwise order arbitrarily, and pages would overlap.
    tie = [{"record_id": {"order": "asc"}}]
    if query.sort == "date":
        return newest + tie
    return ["_score", *newest, *tie]


def _highlight(text: str) -> dict[str, Any]:
    def field(name: str, whole: bool) -> dict[str, Any]:
        spec: dict[str, Any] = {"no_match_size": SNIPPET_CHARS}
        spec.update({"number_of_fragments": 0} if whole
                    else {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1})
        if text:
            # Highlight every folded match of any word, whatever clause produced the score.
            spec["highlight_query"] = {"match": {name: {"query": fold(text)}}}
        return spec

    return {
        "pre_tags": [MARK[0]], "post_tags": [MARK[1]],
        # The snippet is shown as HTML and OCR text is untrusted: escape it, keep only our tags.
        "encoder": "html",
        "fields": {"text": field("text", whole=False), "title": field("title", whole=True)},
    }


def _snippet(highlight: dict[str, list[str]]) -> str:
    """The text fragment with a match, else the title with a match, else the start of the text."""
    text = next(iter(highlight.get("text") or []), "")
    title = next(iter(highlight.get("title") or []), "")
    for candidate in (text, title):
        if MARK[0] in candidate:
            return candidate.replace("\n", " ")
    return (text or title).replace("\n", " ")


def _reason(exc: Exception) -> str:
    """A short cause of a connection failure, e.g. `Connection refused`, on one line."""
    if isinstance(exc, ConnectionTimeout):
        return "timed out"
    message = str(getattr(exc, "message", exc))
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", message)
    if found:
        return found.group(1).strip()
    return " ".join(message.split())[:120]


def _api_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        cause = (error.get("root_cause") or [error])[0]
        return " ".join(f"{cause.get('type', '')}: {cause.get('reason', '')}".split())[:300]
    return " ".join(str(exc.message).split())[:300]
