"""Listing latency with 100 000 audits on SQLite and PostgreSQL, side by side.

    python -m bench.listings [--rows 100000] [--repeat 50] [--postgres postgresql://...]

Loads the rows into a fresh SQLite file and (if a PostgreSQL URL is given or DATABASE_URL
names one) a fresh PostgreSQL database, runs each main listing `--repeat` times through the
same code the API uses, and prints p50/p95 in milliseconds and the PostgreSQL/SQLite ratio.
"""

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine, make_url

from api.readmodel import list_audits
from bench.synthetic import OFFICES, audit_rows
from db.engine import make_engine, normalise_url
from db.migrate import upgrade
from db.models import AuditRow

QUERIES: dict[str, dict[str, Any]] = {
    "office, by deadline": {"customs_office": OFFICES[3]},
    "inspector, by deadline": {"inspector_id": "I-123"},
    "party, by deadline": {"party_bin": f"{1234:012d}"},
    "under review, overdue": {"status": "UNDER_REVIEW", "overdue": True},
    "deadlines in March": {"deadline_from": date(2026, 3, 1), "deadline_to": date(2026, 3, 31)},
    "all, by deadline": {},
}


def load(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(AuditRow.__table__), rows[start : start + 5000])  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        # What autovacuum does to a table after many inserts: statistics for the planner, and
        # the visibility map without which an index-only count still reads every row.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE audits"))


def measure(engine: Engine, repeat: int) -> dict[str, tuple[float, float]]:
    results = {}
    for name, filters in QUERIES.items():
        samples = []
        for n in range(repeat):
            began = time.perf_counter()
            page = list_audits(engine, limit=50, **filters)
            if n % 2 and page.next_cursor:  # every other run reads the second page
                list_audits(engine, limit=50, cursor=page.next_cursor, **filters)
            samples.append((time.perf_counter() - began) * 1000)
        quantiles = statistics.quantiles(samples, n=20)
        results[name] = (statistics.median(samples), quantiles[18])
    return results


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    name = f"audit_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalise_url(server)).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(database: Callable[[], Any], rows: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    with database() as url:
        upgrade(url)
        engine = make_engine(url)
        began = time.perf_counter()
        load(engine, rows)
        loaded = time.perf_counter() - began
        results = measure(engine, repeat)
        engine.dispose()
    return {"load_seconds": loaded, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    rows = audit_rows(args.rows)
    sides = {"SQLite": run(sqlite_database, rows, args.repeat)}
    if args.postgres.startswith("postgres"):
        sides["PostgreSQL"] = run(lambda: postgres_database(args.postgres), rows, args.repeat)
    print(f"{args.rows} audits, {args.repeat} runs per listing (page of 50), milliseconds")
    header = f"{'listing':26}" + "".join(
        f"{side + ' p50':>16}{side + ' p95':>16}" for side in sides
    )
    print(header + ("   PG/SQLite p50" if len(sides) == 2 else ""))
    for name in QUERIES:
        line = f"{name:26}" + "".join(
            f"{s[name][0]:16.2f}{s[name][1]:16.2f}" for s in sides.values()
        )
        if len(sides) == 2:
            line += f"{sides['PostgreSQL'][name][0] / sides['SQLite'][name][0]:16.2f}"
        print(line)
    for side, result in sides.items():
        print(f"load of {args.rows} rows into {side}: {result['load_seconds']:.1f} s")


if __name__ == "__main__":
    main()
