"""Embedded full-text index on SQLite FTS5 (the default: no server needed).

Each text field is indexed twice: as written (unicode61, diacritics kept) and
folded by model.fold() (no tone marks, đ→d, which unicode61's
remove_diacritics does not do). A query term matches either; bm25 weights the
exact columns higher, so `đất` ranks an exact `đất` above a folded `dat`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import date
from pathlib import Path
from typing import Iterable

from sohoa.search.model import (
    FACET_FIELDS, TEXT_FIELDS, Hit, SearchDoc, SearchQuery, SearchResult, fold,
)

FIELDS = list(TEXT_FIELDS)
EXACT_WEIGHT = 2.0  # an exact-diacritic hit counts double a folded one
SNIPPET_RADIUS = 80
FILTER_COLUMNS = ("agency_code", "dossier_code", "procedure_code", "doc_type_code", "kind", "owner_id")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS docs (
    rowid INTEGER PRIMARY KEY,
    record_id TEXT UNIQUE NOT NULL,
    record_code TEXT NOT NULL, kind TEXT, agency_code TEXT, dossier_code TEXT, procedure_code TEXT,
    doc_type_code TEXT, owner_id TEXT, issued_on TEXT, valid_until TEXT, created_at TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_owner ON docs(owner_id);
CREATE INDEX IF NOT EXISTS docs_dossier ON docs(dossier_code);
CREATE INDEX IF NOT EXISTS docs_agency ON docs(agency_code);
CREATE INDEX IF NOT EXISTS docs_issued ON docs(issued_on);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
    {", ".join(FIELDS)}, {", ".join(f + "_f" for f in FIELDS)},
    tokenize = "unicode61 remove_diacritics 0"
);
"""
TOKEN = re.compile(r"\w+", re.UNICODE)


class SqliteIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._db.executescript(SCHEMA)

    @property
    def _db(self) -> sqlite3.Connection:
        # One connection per thread: the web app and workers index and query concurrently.
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    def describe(self) -> str:
        return f"sqlite-fts5:{self.path}"

    # ------------------------------------------------------------------ writing

    def index(self, docs: Iterable[SearchDoc]) -> int:
        count = 0
        with self._db as db:
            for doc in docs:
                self._delete(db, doc.record_id)
                cursor = db.execute(
                    "INSERT INTO docs (record_id, record_code, kind, agency_code, dossier_code, procedure_code,"
                    " doc_type_code, owner_id, issued_on, valid_until, created_at, body)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (doc.record_id, doc.record_code, doc.kind, doc.agency_code, doc.dossier_code,
                     doc.procedure_code, doc.doc_type_code, doc.owner_id, _iso(doc.issued_on),
                     _iso(doc.valid_until), doc.created_at.isoformat(), doc.model_dump_json()),
                )
                values = [getattr(doc, f) or "" for f in FIELDS]
                db.execute(
                    f"INSERT INTO docs_fts (rowid, {', '.join(FIELDS)}, {', '.join(f + '_f' for f in FIELDS)})"
                    f" VALUES (?, {', '.join('?' * (2 * len(FIELDS)))})",
                    [cursor.lastrowid, *values, *(fold(v) for v in values)],
                )
                count += 1
        return count

    @staticmethod
    def _delete(db: sqlite3.Connection, record_id: str) -> None:
        row = db.execute("SELECT rowid FROM docs WHERE record_id = ?", (record_id,)).fetchone()
        if row:
            db.execute("DELETE FROM docs_fts WHERE rowid = ?", (row[0],))
            db.execute("DELETE FROM docs WHERE rowid = ?", (row[0],))

    def delete(self, record_id: str) -> None:
        with self._db as db:
            self._delete(db, record_id)

    def recreate(self) -> None:
        with self._db as db:
            db.execute("DELETE FROM docs_fts")
            db.execute("DELETE FROM docs")

    # ------------------------------------------------------------------ reading

    def get(self, record_id: str) -> SearchDoc | None:
        row = self._db.execute("SELECT body FROM docs WHERE record_id = ?", (record_id,)).fetchone()
        return SearchDoc.model_validate_json(row[0]) if row else None

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def search(self, query: SearchQuery) -> SearchResult:
        query = query.exact()
        terms = TOKEN.findall(query.text)
        where, params = _filters(query)
        if not terms:
            return self._run(None, where, params, query, terms)
        result = self._run(_match(terms, "AND"), where, params, query, terms)
        if result.total == 0 and len(terms) > 1:  # OCR noise: rank by the words that do match
            result = self._run(_match(terms, "OR"), where, params, query, terms)
        return result

    def _run(self, match: str | None, where: list[str], params: list, query: SearchQuery,
             terms: list[str]) -> SearchResult:
        weights = ", ".join([str(w * EXACT_WEIGHT) for w in TEXT_FIELDS.values()] +
                            [str(w) for w in TEXT_FIELDS.values()])
        if match:
            source = (f"(SELECT rowid AS rid, bm25(docs_fts, {weights}) AS score FROM docs_fts"
                      f" WHERE docs_fts MATCH ?) m JOIN docs d ON d.rowid = m.rid")
            params = [match, *params]
        else:
            source = "(SELECT 0.0 AS score) m JOIN docs d"
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        db = self._db
        total = db.execute(f"SELECT count(*) FROM {source} {condition}", params).fetchone()[0]
        facets = {
            field: {str(k): v for k, v in db.execute(
                f"SELECT d.{field}, count(*) FROM {source} {condition} {'AND' if where else 'WHERE'}"
                f" d.{field} IS NOT NULL GROUP BY d.{field} ORDER BY count(*) DESC", params).fetchall()}
            for field in FACET_FIELDS
        }
        order = ("m.score ASC, d.issued_on DESC" if match and query.sort == "relevance"
                 else "d.issued_on IS NULL, d.issued_on DESC, d.created_at DESC")
        rows = db.execute(
            f"SELECT d.body, m.score FROM {source} {condition} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, query.size, (query.page - 1) * query.size],
        ).fetchall()
        hits = []
        for body, score in rows:
            doc = SearchDoc.model_validate_json(body)
            hits.append(Hit(
                record_id=doc.record_id, record_code=doc.record_code, title=doc.title, kind=doc.kind,
                agency_code=doc.agency_code, doc_type_code=doc.doc_type_code, owner_id=doc.owner_id,
                issued_on=doc.issued_on, valid_until=doc.valid_until, score=-float(score),
                snippet=snippet(doc.text or doc.title or "", terms),
            ))
        return SearchResult(total=total, hits=hits, facets=facets)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _match(terms: list[str], joiner: str) -> str:
    exact_cols = " ".join(FIELDS)
    folded_cols = " ".join(f + "_f" for f in FIELDS)
    parts = []
    for term in terms:
        folded = fold(term)
        if folded == term.lower():  # typed without diacritics: no spelling to prefer
            parts.append(f"{{{folded_cols}}} : {_quote(folded)}")
        else:
            parts.append(f"({{{exact_cols}}} : {_quote(term.lower())} OR {{{folded_cols}}} : {_quote(folded)})")
    return f" {joiner} ".join(parts)


def _filters(query: SearchQuery) -> tuple[list[str], list]:
    where: list[str] = []
    params: list = []
    if query.agencies:
        where.append(f"d.agency_code IN ({', '.join('?' * len(query.agencies))})")
        params.extend(query.agencies)
    for column in FILTER_COLUMNS[1:]:
        value = getattr(query, column)
        if value:
            where.append(f"d.{column} = ?")
            params.append(value)
    if query.issued_from:
        where.append("d.issued_on >= ?")
        params.append(query.issued_from.isoformat())
    if query.issued_to:
        where.append("d.issued_on <= ?")
        params.append(query.issued_to.isoformat())
    if query.valid_on:
        where.append("(d.valid_until IS NULL OR d.valid_until >= ?)")
        params.append(query.valid_on.isoformat())
    return where, params


def snippet(text: str, terms: list[str]) -> str:
    """~160 characters around the first match, matches (exact or folded) wrapped in <mark>."""
    from html import escape

    folded = fold(text)
    if not terms or len(folded) != len(text):  # folding kept offsets for NFC Vietnamese only
        return escape(text[: 2 * SNIPPET_RADIUS])
    spans = sorted(
        (m.start(), m.end())
        for t in {fold(t) for t in terms}
        for m in re.finditer(r"(?<!\w)" + re.escape(t) + r"(?!\w)", folded)
    )
    if not spans:
        return escape(text[: 2 * SNIPPET_RADIUS])

    def coverage(anchor: int) -> int:  # distinct query words inside the window starting near anchor
        return len({folded[s:e] for s, e in spans if anchor <= s and e <= anchor + 2 * SNIPPET_RADIUS})

    best = max((s for s, _ in spans), key=lambda s: (coverage(max(0, s - 20)), -s))
    start = max(0, best - 20)
    end = min(len(text), start + 2 * SNIPPET_RADIUS)
    out, cursor = [], start
    for s, e in spans:
        if s < cursor or e > end:
            continue
        out.append(escape(text[cursor:s]))
        out.append("<mark>" + escape(text[s:e]) + "</mark>")
        cursor = e
    out.append(escape(text[cursor:end]))
    return ("…" if start else "") + "".join(out).replace("\n", " ") + ("…" if end < len(text) else "")
