"""The hand-computed ratio scenario shared by the ratio tests, and the catalog fixtures they run on
(SQLite and a real PostgreSQL). Import with `from ratio_scenario import *`.

Hierarchy (3 levels):
    P  000.00.00.H36 UBND tỉnh Nam Định (province)
    ├─ S1 000.00.12.H36 Sở Tư pháp (department)
    ├─ D1 000.00.31.H36 UBND huyện Mỹ Lộc (district)
    │   ├─ C1 001.01.31.H36 UBND xã Mỹ Hà (commune)
    │   └─ C2 002.01.31.H36 UBND xã Mỹ Thắng (commune, no dossiers)
    └─ D2 000.00.32.H36 UBND huyện Vụ Bản (district, no dossiers)

Every dossier below, with what it has (comp = a component record, reuse = a reuse link, res = a
result record) and what it counts for in 2024-Q1 (dd = dossier digitised, ru = reused, rd = result
digitised, el = electronic result; "recv" and "iss" = in the received / issued denominators):

S1 a1 recv 01-10, no result, comp .................. recv dd
S1 a2 recv 02-05, result 02-20 paper, 2×comp + res . recv dd | iss rd el
S1 a3 recv 03-28, result 04-03 electronic, reuse ... recv ru (dd ✗: result issued, not digitised)
S1 a4 recv 2023-12-20, result 01-08 paper, res ..... | iss rd el (Q1 received: no)
S1 a5 recv 01-15, result 01-30 paper, nothing ...... recv | iss
D1 b1 recv 02-10, result 03-01 electronic, comp .... recv (dd ✗) | iss el
D1 b2 recv 03-31 (last day), no result, comp+reuse . recv dd ru
D1 b3 recv 04-01 (outside), comp ................... (nothing in Q1)
C1 c1 recv 01-02, result 01-05 electronic, comp+res  recv dd | iss rd el
C1 c2 recv 02-29, nothing .......................... recv
C1 c3 recv 03-15, result 03-20 paper, reuse + res .. recv dd ru | iss rd el (first a bare row)
P  p1 recv 03-10, result 03-12 electronic, nothing . recv | iss el
C1 c9 is a bare dossier (a record names it, the registry never sent it): never counted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sohoa.archive.catalog import Catalog, Record, ReuseLink
from sohoa.ratios.models import Dossier

__all__ = [
    "AGENCIES_CSV",
    "C1",
    "C2",
    "D1",
    "D2",
    "DOSSIERS_CSV",
    "EXPECTED_MONTHS",
    "EXPECTED_Q1",
    "S1",
    "P",
    "add_records",
    "catalog",
    "dossier",
    "load_scenario",
    "write_scenario",
]

P, S1, D1, C1, C2, D2 = ("000.00.00.H36", "000.00.12.H36", "000.00.31.H36", "001.01.31.H36",
                         "002.01.31.H36", "000.00.32.H36")

AGENCIES_CSV = f"""code,name,parent_code,level
{C1},UBND xã Mỹ Hà,{D1},commune
{P},UBND tỉnh Nam Định,,province
{S1},Sở Tư pháp,{P},department
{D1},UBND huyện Mỹ Lộc,{P},district
{C2},UBND xã Mỹ Thắng,{D1},commune
{D2},UBND huyện Vụ Bản,{P},district
"""


def dossier(agency: str, received: str, n: int) -> str:
    """The dossier code <agency>-YYMMDD-NNNN for a received date YYYY-MM-DD."""
    return f"{agency}-{received[2:4]}{received[5:7]}{received[8:10]}-{n:04d}"


# name → (agency, received_on, result_issued_on, result_form)
DOSSIERS = {
    "a1": (S1, "2024-01-10", "", ""),
    "a2": (S1, "2024-02-05", "2024-02-20", "paper"),
    "a3": (S1, "2024-03-28", "2024-04-03", "electronic"),
    "a4": (S1, "2023-12-20", "2024-01-08", "paper"),
    "a5": (S1, "2024-01-15", "2024-01-30", "paper"),
    "b1": (D1, "2024-02-10", "2024-03-01", "electronic"),
    "b2": (D1, "2024-03-31", "", ""),
    "b3": (D1, "2024-04-01", "", ""),
    "c1": (C1, "2024-01-02", "2024-01-05", "electronic"),
    "c2": (C1, "2024-02-29", "", ""),
    "c3": (C1, "2024-03-15", "2024-03-20", "paper"),
    "p1": (P, "2024-03-10", "2024-03-12", "electronic"),
}
CODES = {name: dossier(agency, received, 1) for name, (agency, received, _, _) in DOSSIERS.items()}
HEADER = "dossier_code,agency_code,procedure_code,received_on,channel,owner_id,result_issued_on,result_form\n"
DOSSIERS_CSV = HEADER + \
    "".join(f"{CODES[name]},{agency},1.000{i % 3},{received},{('direct', 'postal')[i % 2]},"
            f"0012040{i:05d},{issued},{form}\n"
            for i, (name, (agency, received, issued, form)) in enumerate(DOSSIERS.items()))

# name → kinds of the records filed in it ("component" | "result"); reuse links separately.
RECORDS = {"a1": ["component"], "a2": ["component", "component", "result"], "a4": ["result"],
           "b1": ["component"], "b2": ["component"], "b3": ["component"], "c1": ["component", "result"],
           "c3": ["result"]}
REUSED_INTO = ["a3", "b2", "c3"]

# agency → (received, dossier_digitised, reused, issued, result_digitised, electronic), rolled up, 2024-Q1
EXPECTED_Q1 = {
    P: (10, 5, 3, 7, 4, 6),
    S1: (4, 2, 1, 3, 2, 2),
    D1: (5, 3, 2, 3, 2, 3),
    C1: (3, 2, 1, 2, 2, 2),
    C2: (0, 0, 0, 0, 0, 0),
    D2: (0, 0, 0, 0, 0, 0),
}
# P's rolled-up counts per month of 2024-Q1 (they add up to EXPECTED_Q1[P])
EXPECTED_MONTHS = {
    "2024-01": (3, 2, 0, 3, 2, 2),
    "2024-02": (3, 1, 0, 1, 1, 1),
    "2024-03": (4, 2, 3, 3, 1, 3),
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def catalog(request, tmp_path) -> Catalog:
    """An empty catalog on each backend, migrated by Alembic the way the application does it
    (PostgreSQL: a fresh database on the session's cluster, see conftest)."""
    if request.param == "sqlite":
        catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    else:
        catalog = Catalog(request.getfixturevalue("postgres_url"))
    yield catalog
    catalog.dispose()


def write_scenario(folder: Path) -> tuple[Path, Path]:
    agencies, dossiers = folder / "agencies.csv", folder / "dossiers.csv"
    agencies.write_text(AGENCIES_CSV, encoding="utf-8")
    dossiers.write_text(DOSSIERS_CSV, encoding="utf-8")
    return agencies, dossiers


def _record(n: int, kind: str, agency: str, dossier_code: str | None) -> Record:
    sha = f"{n:064x}"
    return Record(id=f"R{n:024d}", code=f"{agency}-TP-{n:010d}", kind=kind, agency_code=agency,
                  dossier_code=dossier_code, retention_code="06", page_count=1, original_sha256=sha,
                  prefix=f"{agency}/2024/01/R{n:024d}/", created_at=datetime(2024, 1, 1, tzinfo=UTC),
                  metadata_json={})


def add_records(catalog: Catalog) -> None:
    """Records and reuse links of the scenario; c3 and c9 start as bare rows, as an early record leaves them."""
    with catalog.session() as session, session.begin():
        for name in ("c3",):
            session.add(Dossier(code=CODES[name], agency_code=C1, in_registry=False))
        c9 = dossier(C1, "2024-01-20", 9)
        session.add(Dossier(code=c9, agency_code=C1, received_on=date(2024, 1, 20), in_registry=False))
        n = 0
        for name, kinds in RECORDS.items():
            for kind in kinds:
                n += 1
                session.add(_record(n, kind, DOSSIERS[name][0], CODES[name]))
        session.add(_record(100, "component", C1, c9))
        session.add(_record(101, "result", C1, c9))
        # Already-digitised records of old dossiers (not in the registry), reused into new ones.
        session.add(_record(200, "component", S1, None))
        session.add(_record(201, "result", C1, None))
        session.flush()
        links = [("R" + f"{200:024d}", CODES["a3"]), ("R" + f"{201:024d}", CODES["b2"]),
                 ("R" + f"{200:024d}", CODES["c3"]), ("R" + f"{201:024d}", CODES["c3"])]
        for record_id, code in links:
            session.add(ReuseLink(record_id=record_id, dossier_code=code,
                                  at=datetime(2024, 3, 1, tzinfo=UTC), by="cán bộ một cửa"))


def load_scenario(catalog: Catalog, folder: Path) -> None:
    """The whole scenario through the Python APIs: agencies, records, registry (in that order)."""
    from sohoa.ratios.agencies import import_agencies
    from sohoa.ratios.registry import import_dossiers

    agencies, dossiers = write_scenario(folder)
    assert not import_agencies(catalog, agencies).rejected
    add_records(catalog)
    report = import_dossiers(catalog, dossiers)
    assert (report.inserted, report.updated, report.rejected) == (12, 0, [])
