"""The tables ratios owns: the agency tree, the one-stop dossier registry and the per-agency targets.

Not derived: they come from CSV imports (`sohoa agencies import`, `sohoa dossiers import`,
`sohoa targets set`), not from object storage, so `rebuild-catalog` never touches them. Only
ratios/ writes them; other packages call agencies.py, registry.py and targets.py.

Records name their dossier by code only (a plain column of the archive's `records`), so a record
may be stored before the registry sends its dossier; the ratios join them by that code.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sohoa.core.db import Base


class Agency(Base):
    __tablename__ = "agencies"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    parent_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("agencies.code"), nullable=True)
    level: Mapped[str] = mapped_column(String(20), default="")


class Dossier(Base):
    """A dossier of the one-stop registry.

    `in_registry` is true for every row the registry import writes. Databases from before this
    split may also hold bare rows (false) that early records created; no count includes them, and
    a later import of the same code completes them.
    """

    __tablename__ = "dossiers"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(32), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    in_registry: Mapped[bool] = mapped_column(default=False)  # imported from the one-stop system
    owner_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Registry columns (migration 0003, issue #6): how it arrived, when and how its result was issued.
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)  # direct | postal | online
    result_issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    result_form: Mapped[str | None] = mapped_column(String(12), nullable=True)  # paper | electronic
    # Migration 0011 (issue #19): the one-stop system's result code (MaKetQua), and what needed no
    # scanning under TT 03/2025/TT-VPCP Điều 5.2: components received electronically, components
    # exempted per reason, out of `components` (all components of the dossier; None = not sent).
    result_code: Mapped[str | None] = mapped_column(String(96), nullable=True)
    components: Mapped[int | None] = mapped_column(Integer, nullable=True)
    electronic_components: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    exempt_desk: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # shown at the desk only
    exempt_verification: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # agency replies
    exempt_secret: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # secret documents
    exempt_other: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RatioTarget(Base):
    """A per-agency target (and points) of one QĐ 766 indicator; agency "*" is the default for all.

    NULL target or points means "inherit from the parent agency" (issue #6).
    """

    __tablename__ = "ratio_targets"
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(32), primary_key=True)
    target: Mapped[float | None] = mapped_column(Float, nullable=True)  # a fraction 0..1
    points: Mapped[float | None] = mapped_column(Float, nullable=True)


class Procedure(Base):
    """An administrative procedure of the national catalogue (code as in the one-stop registry, e.g.
    1.001193), with its name and field: what forms and pages show instead of the code (migration 0013)."""

    __tablename__ = "procedures"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    field: Mapped[str] = mapped_column(String(300), default="")


# Indexes the ratio queries lean on (migration 0003): period filters on the registry dates.
Index("ix_dossiers_received_on", Dossier.received_on)
Index("ix_dossiers_result_issued_on", Dossier.result_issued_on)
