"""Storing imported declaration lines and postal items: each row once, however often the
feed repeats it, with a count of what was new."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Json
from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from db.screening_models import DeclarationLineRow, PostalItemRow
from domain.screening.records import DeclarationLine, PostalItem, Refusal, Row, parse

CHUNK = 2000
COPY_FROM = 200  # rows; PostgreSQL takes a batch this large faster by COPY
REFUSALS_SHOWN = 1000


class ImportResult(BaseModel):
    stored: int
    duplicates: int
    refused: int
    refusals: list[Refusal]  # the first REFUSALS_SHOWN, by line number


def import_declarations(engine: Engine, data: bytes) -> ImportResult:
    return _import(engine, data, DeclarationLine, DeclarationLineRow.__table__, _line_values)  # type: ignore[attr-defined]


def import_postal_items(engine: Engine, data: bytes) -> ImportResult:
    return _import(engine, data, PostalItem, PostalItemRow.__table__, _item_values)  # type: ignore[attr-defined]


def insert_new(connection: Connection, table: Table, values: Sequence[dict[str, Any]]) -> int:
    """Insert the rows no unique key already holds; how many were new."""
    if connection.dialect.name == "postgresql" and len(values) >= COPY_FROM:
        return _copy_new(connection, table, values)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing().returning(table.c.id)
    return len(connection.execute(statement, values).all()) if values else 0


def _copy_new(connection: Connection, table: Table, values: Sequence[dict[str, Any]]) -> int:
    """COPY into a temporary table shaped like `table` (no constraints), then one INSERT ...
    ON CONFLICT DO NOTHING from it, in the caller's transaction: several times the rate of
    bound INSERTs."""
    columns = list(values[0])
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    staging = sql.Identifier(f"incoming_{table.name}")
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS "
                "SELECT * FROM {} WITH NO DATA"
            ).format(staging, sql.Identifier(table.name))
        )
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(staging, names)) as copy:
            for row in values:
                copy.write_row([_copyable(row[column]) for column in columns])
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
                sql.Identifier(table.name), names, names, staging
            )
        )
        stored: int = cursor.rowcount
        cursor.execute(sql.SQL("TRUNCATE {}").format(staging))
    return stored


def _copyable(value: Any) -> Any:
    return Json(value) if isinstance(value, dict) else value


def _import(
    engine: Engine, data: bytes, model: type[Row], table: Table, values: Any
) -> ImportResult:
    """All good rows in one transaction: a failure half-way stores nothing."""
    rows = parse(data, model)  # a bad file as a whole is refused here, before any write
    now = datetime.now(UTC)
    good = stored = 0
    refusals: list[Refusal] = []
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        for row in rows:
            if isinstance(row, Refusal):
                refusals.append(row)
                continue
            batch.append(values(row[1], now))
            if len(batch) == CHUNK:
                good, stored = good + len(batch), stored + insert_new(connection, table, batch)
                batch = []
        good, stored = good + len(batch), stored + insert_new(connection, table, batch)
    return ImportResult(
        stored=stored,
        duplicates=good - stored,
        refused=len(refusals),
        refusals=refusals[:REFUSALS_SHOWN],
    )


def _line_values(line: DeclarationLine, now: datetime) -> dict[str, Any]:
    return {**line.model_dump(), "hs6": line.hs_code[:6], "imported_at": now}


def _item_values(item: PostalItem, now: datetime) -> dict[str, Any]:
    return {**item.model_dump(), "imported_at": now}
