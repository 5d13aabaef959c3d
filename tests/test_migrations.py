"""The Alembic migrations build exactly the schema the models describe, on SQLite and (when
DATABASE_URL names one) PostgreSQL."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables)
from db.engine import make_engine
from db.migrate import upgrade


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
