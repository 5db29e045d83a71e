"""Migration 0003 (registry columns, ratio targets, ratio indexes) on a catalog that already holds
data, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sohoa.core.db import MIGRATIONS, make_engine
from sqlalchemy import inspect, text


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def engine(request, tmp_path):
    # PostgreSQL: a fresh database on the session's cluster (conftest), dropped after the test.
    url = f"sqlite:///{tmp_path / 'old.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _migrate(engine, revision: str, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_0003_keeps_existing_dossiers_and_goes_back(engine):
    _migrate(engine, "0002")
    with engine.begin() as connection:  # a bare dossier row, as an early record leaves it
        connection.execute(text("INSERT INTO dossiers (code, agency_code, in_registry) "
                                "VALUES ('000.00.12.H36-240115-0001', '000.00.12.H36', false)"))
    _migrate(engine, "0003")
    inspector = inspect(engine)
    columns = {column["name"] for column in inspector.get_columns("dossiers")}
    assert {"channel", "result_issued_on", "result_form", "owner_id"} <= columns
    assert {c["name"] for c in inspector.get_columns("ratio_targets")} == {"agency_code", "indicator", "target",
                                                                          "points"}
    assert {"ix_dossiers_received_on", "ix_dossiers_result_issued_on"} <= \
        {index["name"] for index in inspector.get_indexes("dossiers")}
    assert "ix_records_dossier_kind" in {index["name"] for index in inspector.get_indexes("records")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT code, channel FROM dossiers")).all() == \
            [("000.00.12.H36-240115-0001", None)]
    _migrate(engine, "0002", down=True)
    inspector = inspect(engine)
    assert "channel" not in {column["name"] for column in inspector.get_columns("dossiers")}
    assert "ratio_targets" not in inspector.get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM dossiers")).scalar() == 1
