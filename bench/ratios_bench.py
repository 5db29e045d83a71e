"""Ratios benchmark: 1 million registry dossiers and 1 million records (plus reuse links), generated
and bulk-loaded (executemany on SQLite, COPY on PostgreSQL), then full QĐ 766 reports timed on the
embedded SQLite catalog and on a real PostgreSQL. The anchor is a bare full scan of the dossiers
(`SELECT count(*)`), the floor any report over every row must pay."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Final

from sohoa.archive.catalog import Catalog
from sohoa.ratios.agencies import AgencyRow, upsert_agencies
from sohoa.ratios.periods import parse_period, period_between
from sohoa.ratios.report import build
from sqlalchemy import text

PROVINCE: Final = "000.00.00.H36"
DAYS: Final = 731  # 2023-01-01 … 2024-12-31
FIRST_DAY: Final = date(2023, 1, 1)
CREATED_AT: Final = "2024-06-01 00:00:00.000000"
REUSE_LINKS: Final = 200_000


def agencies() -> list[AgencyRow]:
    """A province, 20 departments, 12 districts of 15 communes each: 213 agencies on 3 levels."""
    rows = [AgencyRow(PROVINCE, "UBND tỉnh", None, "province")]
    rows += [AgencyRow(f"000.00.{10 + d:02d}.H36", f"Sở {d + 1}", PROVINCE, "department") for d in range(20)]
    for district in range(12):
        code = f"000.00.{40 + district:02d}.H36"
        rows.append(AgencyRow(code, f"UBND huyện {district + 1}", PROVINCE, "district"))
        rows += [AgencyRow(f"{c + 1:03d}.{district + 1:02d}.{40 + district:02d}.H36", f"UBND xã {c + 1}", code,
                           "commune") for c in range(15)]
    return rows


def dossiers(n: int, codes: list[str], seed: int = 6) -> Iterator[tuple]:
    """(code, agency, procedure, received, channel, owner, issued, form): unique codes, received days
    spread over 2023–2024 whatever n is, 70% with a result issued 0–29 days later, 40% of them electronic."""
    rnd = random.Random(seed)
    sequence: dict[tuple[str, int], int] = {}
    for i in range(n):
        agency = codes[i % len(codes)]
        day = rnd.randrange(DAYS)
        seq = sequence[agency, day] = sequence.get((agency, day), 0) + 1  # NNNN of the code, per agency and day
        received = FIRST_DAY + timedelta(days=day)
        issued = received + timedelta(days=rnd.randrange(0, 30)) if rnd.random() < 0.7 else None
        form = ("electronic" if rnd.random() < 0.4 else "paper") if issued else None
        yield (f"{agency}-{received:%y%m%d}-{seq:04d}", agency, f"1.00{i % 9}", received.isoformat(),
               ("direct", "postal", "online")[i % 3], f"0012{i:08d}", issued.isoformat() if issued else None, form)


def records(n: int, dossier_rows: list[tuple], seed: int = 7) -> Iterator[tuple]:
    """Exactly n records: a component for ~62% of the dossiers, a result for ~55% of those with one."""
    rnd = random.Random(seed)
    made = 0
    while True:
        for code, agency, *_rest, issued, _form in dossier_rows:
            for kind, wanted in (("component", rnd.random() < 0.62), ("result", issued and rnd.random() < 0.55)):
                if wanted:
                    yield (f"R{made:024d}", f"{agency}-TP-{made:010d}", kind, agency, code, "06", 1, f"{made:064x}",
                           f"{agency}/2024/06/R{made:024d}", CREATED_AT, "{}")
                    made += 1
                    if made == n:
                        return


def reuse_links(n: int, record_count: int, dossier_rows: list[tuple], seed: int = 8) -> Iterator[tuple]:
    rnd = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    while len(seen) < n:
        pair = (f"R{rnd.randrange(record_count):024d}", dossier_rows[rnd.randrange(len(dossier_rows))][0])
        if pair not in seen:
            seen.add(pair)
            yield (*pair, CREATED_AT, "bench")


DOSSIER_COLUMNS: Final = "code, agency_code, procedure_code, received_on, channel, owner_id, result_issued_on, " \
                         "result_form, in_registry"
RECORD_COLUMNS: Final = "id, code, kind, agency_code, dossier_code, retention_code, page_count, original_sha256, " \
                        "prefix, created_at, metadata_json"
LINK_COLUMNS: Final = "record_id, dossier_code, at, by"


def load(catalog: Catalog, dossier_rows: list[tuple], record_rows: Iterator[tuple], links: Iterator[tuple]) -> None:
    """Bulk load below the ORM: the benchmark is about reading, and loading 2M rows one object at a
    time would dominate the run."""
    raw = catalog.engine.raw_connection()
    try:
        if catalog.engine.dialect.name == "postgresql":
            connection = raw.driver_connection
            with connection.cursor() as cursor:
                for table, columns, rows in (("dossiers", DOSSIER_COLUMNS, ((*r, True) for r in dossier_rows)),
                                             ("records", RECORD_COLUMNS, record_rows),
                                             ("reuse_links", LINK_COLUMNS, links)):
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
        else:
            cursor = raw.cursor()
            # A big page cache for the load only: 2M rows into 8 indexes otherwise spill pages constantly.
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.executemany(f"INSERT INTO dossiers ({DOSSIER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,1)", dossier_rows)
            cursor.executemany(f"INSERT INTO records ({RECORD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", record_rows)
            cursor.executemany(f"INSERT INTO reuse_links ({LINK_COLUMNS}) VALUES (?,?,?,?)", links)
        raw.commit()
    finally:
        raw.close()
    # What autovacuum does after a bulk import on PostgreSQL (statistics, and the visibility map that
    # index-only scans need); on SQLite, what `sqlite3 catalog.db ANALYZE` does.
    statement = "VACUUM ANALYZE" if catalog.engine.dialect.name == "postgresql" else "ANALYZE"
    with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


CSV_ROWS: Final = 100_000


def import_csv(catalog: Catalog, codes: list[str], folder: Path) -> tuple[float, int]:
    """Seconds for `sohoa dossiers import` of 100,000 new registry rows (validation and upsert, the
    real path), and the rows imported."""
    from sohoa.ratios.registry import import_dossiers

    path = folder / "registry.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("dossier_code,agency_code,procedure_code,received_on,channel,owner_id,result_issued_on,"
                  "result_form\n")
        for code, agency, procedure, received, channel, owner, issued, form in dossiers(CSV_ROWS, codes, seed=9):
            code = f"{code[:-4]}{9000 + int(code[-4:]):04d}"  # sequence numbers 9001…: new dossiers
            out.write(f"{code},{agency},{procedure},{received},{channel},{owner},{issued or ''},{form or ''}\n")
    seconds, report = _timed(lambda: import_dossiers(catalog, path))
    assert report.inserted == CSV_ROWS and not report.rejected, report.rejected[:3]
    return seconds, report.inserted


REPORTS: Final = (  # (name, period, build() options)
    ("full: 2023-01-01..2024-12-31, 213 agencies", period_between("2023-01-01", "2024-12-31"), {}),
    ("year 2024", parse_period("2024"), {}),
    ("year 2024 by month (2556 rows)", parse_period("2024"), {"by_month": True}),
    ("month 2024-03", parse_period("2024-03"), {}),
    ("one district + 15 communes, 2024-Q1", parse_period("2024-Q1"), {"agency": "000.00.45.H36"}),
)


def measure(name: str, url: str, n_dossiers: int, n_records: int, folder: Path) -> tuple[dict, list[dict]]:
    """(the load row, one row per report) for one database."""
    from sohoa.ratios import aggregate

    catalog = Catalog(url)
    tree = agencies()
    upsert_agencies(catalog, ((i, {"code": a.code, "name": a.name, "parent_code": a.parent_code or "",
                                   "level": a.level}) for i, a in enumerate(tree, start=2)))
    codes = [a.code for a in tree]
    rows = list(dossiers(n_dossiers, codes))
    links = reuse_links(min(REUSE_LINKS, n_records), n_records, rows)
    load_s, _ = _timed(lambda: load(catalog, rows, records(n_records, rows), links))
    with catalog.engine.connect() as connection:
        counted = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                   for table in ("dossiers", "records", "reuse_links")}
        floor = text("SELECT count(*) FROM dossiers WHERE in_registry")
        scan_s, _ = _timed(lambda: connection.execute(floor).scalar())
    reports = []
    for label, period, options in REPORTS:
        with catalog.engine.connect() as connection:
            scope = [aggregate.Dossier.in_registry.is_(True)]
            chosen = aggregate.choose(connection, period, scope if "agency" not in options else scope + [
                aggregate.Dossier.agency_code.in_([c for c in codes if c.endswith(".45.H36")])])
        other = "join" if chosen == "probe" else "probe"
        first_s, report = _timed(partial(build, catalog, period, **options))
        other_s, check = _timed(partial(build, catalog, period, strategy=other, **options))
        again_s, _ = _timed(partial(build, catalog, period, **options))  # with the database's pages cached
        assert [r.counts for r in check.rows] == [r.counts for r in report.rows], f"{label}: strategies disagree"
        top = report.rows[0].counts
        reports.append({"backend": name, "report": label, "received": top.received, "results issued": top.issued,
                        "strategy": chosen, "first run s": round(first_s, 2), "again s": round(again_s, 2),
                        "other strategy s": f"{other_s:.2f} ({other})"})
    import_s, imported = import_csv(catalog, codes, folder)
    catalog.dispose()
    return {"backend": name, "dossiers": counted["dossiers"], "records": counted["records"],
            "reuse links": counted["reuse_links"], "agencies": len(tree), "bulk load s": round(load_s, 1),
            "count(*) floor s": round(scan_s, 2), "CSV import rows/s": int(imported / import_s)}, reports


def run(n_dossiers: int = 1_000_000, n_records: int = 1_000_000) -> dict:
    loads, reports = [], []
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-ratios-") as work, ExitStack() as stack:
        for name, url in [("SQLite (embedded)", f"sqlite:///{Path(work) / 'catalog.db'}"),
                          ("PostgreSQL (local cluster)", None)]:
            if url is None:
                try:
                    from sohoa.testkit.pgserver import postgresql

                    url = stack.enter_context(postgresql())
                except (RuntimeError, OSError) as exc:  # no PostgreSQL server on this machine
                    loads.append({"backend": f"{name}: not available ({exc})"})
                    continue
            load_row, report_rows = measure(name, url, n_dossiers, n_records, Path(work))
            loads.append(load_row)
            reports.extend(report_rows)
    first = [row for row in reports if row["report"].startswith("full")]
    agree = len({(row["received"], row["results issued"]) for row in first}) == 1
    return {"rows": reports, "loads": loads,
            "note": "seconds = `build()` of the whole report (SQL, roll-up over the tree, targets, scores) with the "
                    "strategy sohoa picks, first run after the load and once more; the other strategy is run "
                    "too and must give the same counts. "
                    f"Both databases give the same province totals: {'yes' if agree else 'NO'}. "
                    "CSV import = 100,000 new rows through `sohoa dossiers import` into the loaded table."}


if __name__ == "__main__":
    import json
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(run(size, size), indent=2, ensure_ascii=False))
