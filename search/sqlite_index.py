"""Embedded full-text index on SQLite FTS5 (the default: no server needed).

Tables (their layout version is PRAGMA user_version; an older file is rebuilt when opened):

- `docs`: the filter columns, one small row per record, so the joins of a query stay in cache.
  Its rowid, `seq`, grows with indexing order and keys every other table.
- `bodies`: the SearchDoc JSON, read only for the page of hits and get().
- `fts`: ranking. A contentless FTS5 table, one column per text field. A column holds every
  word of the field folded by model.fold() (no tone marks, đ→d, which unicode61's
  remove_diacritics misses), then the words written with diacritics, as written. A folded
  query word matches every spelling; a word typed with diacritics is ranked as
  `"dat" OR "đất"`, so bm25 adds the exact spelling's score and ranks `đất` above `dat`/`dạt`.
- `tally`: counting. The same folded words in one column, without positions, and with rowid
  `combo << 32 | seq`, where `combos` numbers the (agency, document type) pairs. The records of
  a pair are one rowid range: the total and both facets are one FTS range count per pair (no
  join, no GROUP BY over every match), and the agency and document-type filters pick ranges.

Speed (100,000 records, a query word in most of them): counting every match is cheap, bm25 is
not (about 1.5 µs a row, after reading the query words' whole doclists once). So bm25 ranks
the RANK_WINDOW most recently indexed matches (found by walking the doclists backwards), while
the total and the facets count every match, in another thread at the same time.

`rebuild()` (what `sohoa reindex` calls) fills `*_build` tables and renames them over the live
ones in one transaction: searches see the old complete index until the new one is complete.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from html import escape
from itertools import islice
from pathlib import Path

from sohoa.core import private
from sohoa.search.model import (
    FACET_FIELDS, TEXT_FIELDS, Hit, SearchDoc, SearchQuery, SearchResult, fold,
)

log = logging.getLogger(__name__)

# 2: the layout above. 1: without `owners` and the owner_names column (rebuilt from `bodies` on
# open). 0 (unset): the first layout, one wide `docs` table with the JSON body.
# Bump it when the tables, TEXT_FIELDS or _field() change: contentless tables must be rebuilt.
SCHEMA_VERSION = 2
FIELDS = list(TEXT_FIELDS)
WEIGHTS = ", ".join(str(w) for w in TEXT_FIELDS.values())
SEQ_BITS = 32
SEQ_MASK = (1 << SEQ_BITS) - 1
RANK_WINDOW = 2000  # matches bm25 ranks for a broad query: about 3 ms
MAX_TALLY_SEGMENTS = 8
PROBE_COST = 30  # probing the tally for one record costs as much as sorting 30 matches by date
BUILD = "_build"
TABLES = ("docs", "bodies", "combos", "fts", "tally", "owners")
LEGACY_TABLES = ("docs_fts",)
SNIPPET_RADIUS = 80
ROW_FILTERS = ("procedure_code", "kind", "dossier_code")
TOKENIZE = "tokenize = 'unicode61 remove_diacritics 0'"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS docs{{s}} (
    rowid INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, combo INTEGER NOT NULL,
    kind TEXT, procedure_code TEXT, owner_id TEXT, dossier_code TEXT,
    issued_on TEXT, valid_until TEXT, created_at TEXT
);
CREATE TABLE IF NOT EXISTS bodies{{s}} (rowid INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS owners{{s}} (owner_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (owner_id, seq));
CREATE TABLE IF NOT EXISTS combos{{s}} (
    id INTEGER PRIMARY KEY, agency_code TEXT NOT NULL, doc_type_code TEXT,
    UNIQUE (agency_code, doc_type_code)
);
CREATE VIRTUAL TABLE IF NOT EXISTS fts{{s}} USING fts5({", ".join(FIELDS)}, content = '', {TOKENIZE});
CREATE VIRTUAL TABLE IF NOT EXISTS tally{{s}} USING fts5(
    words, content = '', detail = none, columnsize = 0, {TOKENIZE}
);
INSERT INTO fts{{s}} (fts{{s}}, rank) VALUES ('crisismerge', 2);
INSERT INTO tally{{s}} (tally{{s}}, rank) VALUES ('crisismerge', 2);
"""
# crisismerge 2: FTS5 merges two segments of a level as soon as they exist, instead of letting
# up to 16 pile up. Each write (one record from ingest) adds a segment, and every query reads
# every segment: this keeps about log2(writes) of them, for a small cost per write.

# On the live tables only: an index keeps its name when its table is renamed. `state` counts
# the write transactions, so that two connections can tell whether they read the same data.
LIVE = (
    "CREATE INDEX IF NOT EXISTS docs_owner ON docs(owner_id)",
    "CREATE INDEX IF NOT EXISTS owners_seq ON owners(seq)",
    "CREATE INDEX IF NOT EXISTS docs_dossier ON docs(dossier_code)",
    "CREATE INDEX IF NOT EXISTS docs_issued ON docs(issued_on, created_at)",
    "CREATE INDEX IF NOT EXISTS docs_combo ON docs(combo)",
    "CREATE TABLE IF NOT EXISTS state (generation INTEGER NOT NULL)",
    "INSERT INTO state SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM state)",
)
WORD = re.compile(r"[^\W_]+")
NEWEST = "d.issued_on DESC, d.created_at DESC, d.record_id"  # NULL dates sort last in SQLite


class SqliteIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private.prepare_sqlite(self.path)  # 0600 (its -wal and -shm follow), in a 0700 folder if new
        self._local = threading.local()
        self._open_schema()

    @property
    def _db(self) -> sqlite3.Connection:
        # One connection per thread: the web app and workers index and query concurrently.
        db = getattr(self._local, "db", None)
        if db is None:
            # Autocommit: transactions are explicit (_write/_read), so a writer takes the lock
            # up front instead of failing to upgrade a read lock under concurrent writers.
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("UPDATE state SET generation = generation + 1")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN")  # one snapshot for every statement of the block
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def describe(self) -> str:
        return f"sqlite-fts5:{self.path}"

    # ------------------------------------------------------------------ schema

    def _open_schema(self) -> None:
        if _version(self._db) == SCHEMA_VERSION:
            return
        with self._write() as db:  # one process creates or upgrades; the others find it done
            if _version(db) == SCHEMA_VERSION:
                return
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'docs'").fetchone():
                _create(db, "")
                _swap(db, build=False)
                return
            # Written by another version of sohoa. Layouts 0 (`docs.body`) and 1 (`bodies`) kept
            # every document's JSON: rebuild from it (no storage reads, unlike `sohoa reindex`).
            legacy = "body" in {row[1] for row in db.execute("PRAGMA table_info(docs)")}
            kept = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'bodies'").fetchone() is not None
            log.warning("search index %s has layout %s, not %s: rebuilding it%s", self.path, _version(db),
                        SCHEMA_VERSION, "" if legacy or kept else "; run `sohoa reindex` to fill it")
            _create(db, BUILD, drop=True)
            if legacy or kept:
                rows = "SELECT body FROM docs" if legacy else "SELECT body FROM bodies ORDER BY rowid"
                for (body,) in db.cursor().execute(rows):
                    _put(db, BUILD, SearchDoc.model_validate_json(body))
            _swap(db)

    # ------------------------------------------------------------------ writing

    def index(self, docs: Iterable[SearchDoc]) -> int:
        count = 0
        with self._write() as db:
            for doc in docs:
                _put(db, "", doc)
                count += 1
            _compact_tally(db)
        return count

    def delete(self, record_id: str) -> None:
        with self._write() as db:
            _remove(db, "", record_id)

    def recreate(self) -> None:
        self.rebuild([])

    def rebuild(self, docs: Iterable[SearchDoc], batch: int = 500) -> int:
        """Replace the whole index by `docs`, atomically: until the last document is in,
        searches (from any thread or process) see the previous index, complete."""
        with self._write() as db:
            _create(db, BUILD, drop=True)  # a rebuild that died half-way left its tables
            since = db.execute("SELECT coalesce(max(rowid), 0) FROM docs").fetchone()[0]
        count = 0
        docs = iter(docs)
        # Short transactions: ingest can index records meanwhile, it is not blocked for minutes.
        while chunk := list(islice(docs, batch)):
            with self._write() as db:
                for doc in chunk:
                    _put(db, BUILD, doc)
            count += len(chunk)
        with self._write() as db:
            # Records indexed meanwhile are newer than any version of them in `docs`: keep them.
            for (body,) in db.cursor().execute("SELECT body FROM bodies WHERE rowid > ?", (since,)):
                _put(db, BUILD, SearchDoc.model_validate_json(body))
            _swap(db)
        return count

    # ------------------------------------------------------------------ reading

    def get(self, record_id: str) -> SearchDoc | None:
        row = self._db.execute("SELECT b.body FROM docs d JOIN bodies b ON b.rowid = d.rowid"
                               " WHERE d.record_id = ?", (record_id,)).fetchone()
        return SearchDoc.model_validate_json(row[0]) if row else None

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def search(self, query: SearchQuery) -> SearchResult:
        query = query.exact()
        words = _words(query.text)
        if not words:
            with self._read() as db:
                plan = _Plan(db, query)
                total, facets = plan.tally(None)
                return plan.result(total, facets, plan.by_date(None, total), words)
        for joiner in ("AND", "OR"):  # OR: OCR noise, rank by the words that do match
            match = _match(words, joiner)
            if query.sort == "date":
                with self._read() as db:
                    plan = _Plan(db, query)
                    total, facets = plan.tally(match)
                    result = plan.result(total, facets, plan.by_date(match, total), words)
            else:
                # Counting every match and ranking the recent ones take about as long, and
                # neither needs the other: count in another thread, on its own connection.
                counting = _pool().submit(self._tally, query, match)
                with self._read() as db:
                    plan = _Plan(db, query)
                    rows = plan.ranked(match, _match(words, joiner, exact=True))
                    generation, total, facets = counting.result()
                    if generation != plan.generation:  # a write landed between the two reads
                        total, facets = plan.tally(match)
                    result = plan.result(total, facets, rows, words)
            if result.total or len(words) == 1:
                break
        return result

    def _tally(self, query: SearchQuery, match: str) -> tuple[int, int, dict[str, dict[str, int]]]:
        with self._read() as db:
            plan = _Plan(db, query)
            return plan.generation, *plan.tally(match)


class _Plan:
    """One query on one snapshot: the (agency, doc type) pairs it covers and its row filters."""

    def __init__(self, db: sqlite3.Connection, query: SearchQuery) -> None:
        self.db, self.query = db, query
        self.generation = db.execute("SELECT generation FROM state").fetchone()[0]
        everything = db.execute("SELECT id, agency_code, doc_type_code FROM combos").fetchall()
        self.combos = {
            id_: (agency, doc_type) for id_, agency, doc_type in everything
            if (not query.agencies or agency in query.agencies)
            and (not query.doc_type_code or doc_type == query.doc_type_code)
        }
        pick = "" if len(self.combos) == len(everything) else \
            f"d.combo IN ({', '.join(map(str, self.combos))})"  # integers from the database
        self.where, self.params = _row_filters(query)
        self.rows = " AND ".join(self.where)  # docs conditions, without the pair choice
        self.rows_picked = " AND ".join(filter(None, [pick, *self.where]))
        self.offset = (query.page - 1) * query.size

    def tally(self, match: str | None) -> tuple[int, dict[str, dict[str, int]]]:
        """The total and the facets: matches per (agency, doc type) pair, added up."""
        if match is None:
            where = f"WHERE {self.rows_picked}" if self.rows_picked else ""
            counts = self.db.execute(
                f"SELECT d.combo, count(*) FROM docs d {where} GROUP BY d.combo", self.params).fetchall()
        else:
            # One range count per pair: FTS seeks to the range and counts, no per-row work.
            join = f" JOIN docs d ON d.rowid = tally.rowid & {SEQ_MASK}" if self.rows else ""
            sql = (f"SELECT count(*) FROM tally{join} WHERE tally MATCH ? AND tally.rowid BETWEEN ? AND ?"
                   + (f" AND {self.rows}" if self.rows else ""))
            counts = [(combo, self.db.execute(sql, [match, combo << SEQ_BITS, combo << SEQ_BITS | SEQ_MASK,
                                                    *self.params]).fetchone()[0])
                      for combo in self.combos]
        facets: dict[str, dict[str, int]] = {field: {} for field in FACET_FIELDS}
        for combo, n in counts:
            for field, value in zip(("agency_code", "doc_type_code"), self.combos[combo]):
                if n and value is not None:
                    facets[field][value] = facets[field].get(value, 0) + n
        by_count = {f: dict(sorted(v.items(), key=lambda kv: -kv[1])) for f, v in facets.items()}
        return sum(n for _, n in counts), by_count

    def ranked(self, match: str, exact: str) -> list[tuple[int, float]]:
        """(seq, bm25) of the page, best first, among the RANK_WINDOW most recent matches."""
        rows = f" AND {self.rows_picked}" if self.rows_picked else ""
        # FTS5 walks the matches newest first without scoring them: the window's oldest one.
        window = max(RANK_WINDOW, self.offset + self.query.size)
        join = " CROSS JOIN docs d ON d.rowid = fts.rowid" if rows else ""
        oldest = self.db.execute(
            f"SELECT fts.rowid FROM fts{join} WHERE fts MATCH ?{rows} ORDER BY fts.rowid DESC LIMIT 1 OFFSET ?",
            [match, *self.params, window - 1]).fetchone()
        # CROSS JOIN keeps fts outside: probing it once per docs row would read the whole
        # doclists again each time, for bm25's term statistics.
        return self.db.execute(
            f"SELECT fts.rowid, bm25(fts, {WEIGHTS}) AS score FROM fts CROSS JOIN docs d ON d.rowid = fts.rowid"
            f" WHERE fts MATCH ?{rows} AND fts.rowid >= ? ORDER BY score, {NEWEST} LIMIT ? OFFSET ?",
            [exact, *self.params, oldest[0] if oldest else 0, self.query.size, self.offset]).fetchall()

    def by_date(self, match: str | None, total: int) -> list[tuple[int, None]]:
        """(seq, no score) of the page, newest issue date first."""
        if self.offset >= total:
            return []
        order = f"ORDER BY {NEWEST} LIMIT ? OFFSET ?"
        page = [self.query.size, self.offset]
        where = f"WHERE {self.rows_picked}" if self.rows_picked else ""
        if match is None:
            return self.db.execute(f"SELECT d.rowid, NULL FROM docs d {where} {order}",
                                   [*self.params, *page]).fetchall()
        # Many matches: walk the newest records and probe each (about 50 µs) until the page is
        # full. Few: sort them all (about 2 µs each). The walk is bounded, so matches that are
        # all old cannot make it crawl through the archive; then the sort does the page.
        needed = self.offset + self.query.size
        records = self.db.execute("SELECT max(rowid) FROM docs").fetchone()[0]
        walk = 4 * needed * records // total + 100
        if walk * PROBE_COST < total:
            probe = "SELECT 1 FROM tally WHERE tally MATCH ? AND rowid = ?"
            rows: list[tuple[int, None]] = []
            newest = self.db.execute(f"SELECT d.rowid, d.combo FROM docs d {where} ORDER BY {NEWEST} LIMIT ?",
                                     [*self.params, walk])
            for seq, combo in newest:
                if self.db.execute(probe, (match, combo << SEQ_BITS | seq)).fetchone():
                    rows.append((seq, None))
                    if len(rows) == needed:
                        return rows[self.offset:]
        # The pairs' rowid span, so that a single pair (a typical filter) is one range.
        span = (min(self.combos) << SEQ_BITS, max(self.combos) << SEQ_BITS | SEQ_MASK)
        return self.db.execute(
            f"SELECT d.rowid, NULL FROM tally JOIN docs d ON d.rowid = tally.rowid & {SEQ_MASK}"
            " WHERE tally MATCH ? AND tally.rowid BETWEEN ? AND ?"
            + (f" AND {self.rows_picked}" if self.rows_picked else "") + f" {order}",
            [match, *span, *self.params, *page]).fetchall()

    def result(self, total: int, facets: dict[str, dict[str, int]], rows: list[tuple[int, float | None]],
               words: list[str]) -> SearchResult:
        bodies = dict(self.db.execute(
            f"SELECT rowid, body FROM bodies WHERE rowid IN ({', '.join(str(seq) for seq, _ in rows)})"))
        hits = []
        for seq, score in rows:
            doc = SearchDoc.model_validate_json(bodies[seq])
            hits.append(Hit(
                record_id=doc.record_id, record_code=doc.record_code, title=doc.title, kind=doc.kind,
                agency_code=doc.agency_code, doc_type_code=doc.doc_type_code, owner_id=doc.owner_id,
                doc_type_name=doc.doc_type_name, issued_on=doc.issued_on, valid_until=doc.valid_until,
                score=0.0 if score is None else -score,  # bm25 is lower-is-better
                snippet=snippet(doc.text or doc.title or "", words),
            ))
        return SearchResult(total=total, hits=hits, facets=facets)


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    # One per process: a forked worker must not wait on its parent's threads.
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS[pid] = ThreadPoolExecutor(4, thread_name_prefix="sohoa-search")
    return _POOLS[pid]


# ---------------------------------------------------------------------- schema and rows


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _create(db: sqlite3.Connection, suffix: str, drop: bool = False) -> None:
    for table in TABLES if drop else ():
        db.execute(f"DROP TABLE IF EXISTS {table}{suffix}")
    for statement in SCHEMA.format(s=suffix).split(";"):
        if statement.strip():
            db.execute(statement)


def _swap(db: sqlite3.Connection, build: bool = True) -> None:
    """The `*_build` tables become the live ones (inside the caller's transaction)."""
    if build:
        for table in ("fts", "tally"):  # one segment each: the fastest layout to query
            db.execute(f"INSERT INTO {table}{BUILD} ({table}{BUILD}) VALUES ('optimize')")
        for table in TABLES + LEGACY_TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
        for table in TABLES:
            db.execute(f"ALTER TABLE {table}{BUILD} RENAME TO {table}")
    for sql in LIVE:
        db.execute(sql)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _compact_tally(db: sqlite3.Connection) -> None:
    """Merge the tally's segments into one when there are many. Every facet range count seeks
    once per segment and term: 12 segments make the counts 4 times slower. Each write adds a
    segment, and `crisismerge` 2 leaves about log2(writes) of them. The tally holds no
    positions, so merging it all is cheap: about 0.6 s per 100,000 records, every few hundred
    single-record writes."""
    segments = db.execute("SELECT count(DISTINCT segid) FROM tally_idx").fetchone()[0]
    if segments > MAX_TALLY_SEGMENTS:
        db.execute("INSERT INTO tally (tally) VALUES ('optimize')")


class _FoldTable(dict):
    """str.translate table doing model.fold() character by character: the same result for
    Vietnamese, at C speed (fold() walks a generator per character)."""

    def __missing__(self, code: int) -> str:
        self[code] = fold(chr(code))
        return self[code]


FOLD_TABLE = _FoldTable()


def _spellings(word: str) -> tuple[str, str]:
    """A word folded, and as written (lower case): the index and the queries both use this."""
    return word.translate(FOLD_TABLE), word.lower()


def _field(value: str | None) -> tuple[str, str]:
    """A text field as `fts` indexes it (every word folded, then the words whose spelling
    differs from their folding: positions do not matter, no query uses phrases) and as
    `tally` does (folded words only)."""
    words = WORD.findall(unicodedata.normalize("NFC", value or ""))
    # Whole-string translate/lower: per word, as _spellings() does, but without a call per word.
    folded, lower = (" ".join(words).translate(FOLD_TABLE).split(" "), " ".join(words).lower().split(" "))
    if not len(folded) == len(lower) == len(words):  # a character folded to a space
        folded, lower = map(list, zip(*map(_spellings, words))) if words else ([], [])
    spelled = [word for plain, word in zip(folded, lower) if word != plain]
    return " ".join(folded + spelled), " ".join(folded)


def _fts_rows(doc: SearchDoc) -> tuple[list[str], str]:
    """What `fts` (one column per field) and `tally` (one column) index for a document."""
    fields = [_field(getattr(doc, f)) for f in FIELDS]
    return [spelled for spelled, _ in fields], " ".join(folded for _, folded in fields)


def _put(db: sqlite3.Connection, s: str, doc: SearchDoc) -> None:
    _remove(db, s, doc.record_id)
    key = (doc.agency_code, doc.doc_type_code)
    row = db.execute(f"SELECT id FROM combos{s} WHERE agency_code = ? AND doc_type_code IS ?", key).fetchone()
    combo = row[0] if row else db.execute(
        f"INSERT INTO combos{s} (agency_code, doc_type_code) VALUES (?, ?)", key).lastrowid
    seq = db.execute(
        f"INSERT INTO docs{s} (record_id, combo, kind, procedure_code, owner_id, dossier_code,"
        " issued_on, valid_until, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (doc.record_id, combo, doc.kind, doc.procedure_code, doc.owner_id, doc.dossier_code,
         _iso(doc.issued_on), _iso(doc.valid_until), doc.created_at.isoformat())).lastrowid
    db.execute(f"INSERT INTO bodies{s} (rowid, body) VALUES (?, ?)", (seq, doc.model_dump_json()))
    db.executemany(f"INSERT OR IGNORE INTO owners{s} (owner_id, seq) VALUES (?, ?)",
                   [(owner, seq) for owner in _owners(doc)])
    fields, words = _fts_rows(doc)
    db.execute(f"INSERT INTO fts{s} (rowid, {', '.join(FIELDS)}) VALUES (?{', ?' * len(FIELDS)})", [seq, *fields])
    db.execute(f"INSERT INTO tally{s} (rowid, words) VALUES (?, ?)", (combo << SEQ_BITS | seq, words))


def _remove(db: sqlite3.Connection, s: str, record_id: str) -> None:
    row = db.execute(f"SELECT d.rowid, d.combo, b.body FROM docs{s} d JOIN bodies{s} b ON b.rowid = d.rowid"
                     " WHERE d.record_id = ?", (record_id,)).fetchone()
    if row is None:
        return
    seq, combo, body = row
    # A contentless FTS5 table forgets a row only when given the very values it indexed:
    # derived again from the stored document (a change to _field bumps SCHEMA_VERSION).
    fields, words = _fts_rows(SearchDoc.model_validate_json(body))
    db.execute(f"INSERT INTO fts{s} (fts{s}, rowid, {', '.join(FIELDS)})"
               f" VALUES ('delete', ?{', ?' * len(FIELDS)})", [seq, *fields])
    db.execute(f"INSERT INTO tally{s} (tally{s}, rowid, words) VALUES ('delete', ?, ?)",
               (combo << SEQ_BITS | seq, words))
    db.execute(f"DELETE FROM docs{s} WHERE rowid = ?", (seq,))
    db.execute(f"DELETE FROM bodies{s} WHERE rowid = ?", (seq,))
    db.execute(f"DELETE FROM owners{s} WHERE seq = ?", (seq,))


def _owners(doc: SearchDoc) -> list[str]:
    return list(dict.fromkeys(filter(None, [doc.owner_id, *doc.owner_ids])))


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


# ---------------------------------------------------------------------- queries


def _words(text: str) -> list[str]:
    return WORD.findall(unicodedata.normalize("NFC", text))


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _match(words: list[str], joiner: str, exact: bool = False) -> str:
    """The FTS5 expression. Matching needs only the folded words (every spelling of a word is
    indexed folded too); `exact` adds each word as typed, so that bm25 rewards that spelling.
    A folded word is sent once (`nhận nhân`: one `nhan`): bm25 reads each term's whole
    doclist for its statistics, the main cost of ranking common words."""
    spellings: dict[str, set[str]] = {}
    for word in words:
        folded, lower = _spellings(word)
        spellings.setdefault(folded, set())
        if exact and lower != folded:
            spellings[folded].add(lower)
    return f" {joiner} ".join(
        f"({' OR '.join(map(_quote, [folded, *sorted(typed)]))})" if typed else _quote(folded)
        for folded, typed in spellings.items())


def _row_filters(query: SearchQuery) -> tuple[list[str], list]:
    """Conditions on docs columns (the agency and document-type filters pick pairs instead)."""
    where: list[str] = []
    params: list = []
    for column in ROW_FILTERS:
        value = getattr(query, column)
        if value:
            where.append(f"d.{column} = ?")
            params.append(value)
    if query.owner_id:  # the owner, or any other person the document names with an ID
        where.append("d.rowid IN (SELECT seq FROM owners WHERE owner_id = ?)")
        params.append(query.owner_id)
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
    folded = text.translate(FOLD_TABLE)
    if not terms or len(folded) != len(text):  # folding kept offsets for NFC Vietnamese only
        return escape(text[: 2 * SNIPPET_RADIUS])
    words = sorted({_spellings(t)[0] for t in terms}, key=len, reverse=True)
    pattern = r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)"
    spans = [m.span() for m in re.finditer(pattern, folded)]
    if not spans:
        return escape(text[: 2 * SNIPPET_RADIUS])
    starts = [s for s, _ in spans]

    def coverage(anchor: int) -> int:  # distinct query words inside the window starting at anchor
        limit = anchor + 2 * SNIPPET_RADIUS
        inside = spans[bisect_left(starts, anchor):bisect_right(starts, limit)]
        return len({folded[s:e] for s, e in inside if e <= limit})

    best = max(starts, key=lambda s: (coverage(max(0, s - 20)), -s))
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
