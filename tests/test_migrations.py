"""The Alembic migrations build exactly the schema the models describe, on SQLite and (when
DATABASE_URL names one) PostgreSQL."""

import json
from datetime import date
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables)
from db.case_rows import projection_values
from db.engine import make_engine
from db.migrate import alembic_config, upgrade
from domain.case_state import initial_state
from tests.factories import audit_start


def differences(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    return list(found)


def test_migrations_match_the_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    assert differences(url) == []


def test_migrations_match_the_models_on_the_test_database(database_url: str) -> None:
    assert differences(database_url) == []


def test_cases_flagged_before_the_column_are_listed_after_it(tmp_path: Path) -> None:
    """0011 reads the flag from the stored state of the unfulfilled cases that carry it."""
    url = f"sqlite:///{tmp_path / 'flags.db'}"
    command.upgrade(alembic_config(url), "0010")
    state = initial_state(audit_start(), date(2026, 3, 2))
    values = {k: v for k, v in projection_values(state).items() if k != "revocation_proposed"}
    engine = make_engine(url)
    columns = ", ".join(values)
    with engine.begin() as connection:
        for audit_id, status, flagged in (
            ("CA-2026-000001", "UNFULFILLED", True),
            ("CA-2026-000002", "UNFULFILLED", False),
            ("CA-2026-000003", "FULFILLED", False),
        ):
            row = {
                **values,
                "id": audit_id,
                "status": status,
                "snapshot": json.dumps({**values["snapshot"], "revocation_proposed": flagged}),
                "amount_due": str(values["amount_due"]),
                "amount_paid": str(values["amount_paid"]),
            }
            connection.execute(
                text(f"INSERT INTO audits ({columns}) VALUES ({', '.join(':' + k for k in row)})"),
                row,
            )
    upgrade(url)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT id FROM audits WHERE revocation_proposed ORDER BY id")
        ).all()
    engine.dispose()
    assert [r.id for r in found] == ["CA-2026-000001"]
