"""Audit numbers: CA-<year>-<6 digits>, one sequence per year, safe under concurrency."""

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError


def next_audit_number(engine: Engine, year: int) -> int:
    """Atomically take the next number of `year` (UPDATE ... RETURNING, else first insert)."""
    for _ in range(3):
        with engine.begin() as connection:
            taken = connection.execute(
                text("UPDATE audit_counters SET last = last + 1 WHERE year = :y RETURNING last"),
                {"y": year},
            ).scalar()
            if taken is not None:
                return int(taken)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text("INSERT INTO audit_counters (year, last) VALUES (:y, 1)"), {"y": year}
                )
            return 1
        except IntegrityError:
            continue  # another request created the year's row first; take from it
    raise RuntimeError(f"could not allocate an audit number for {year}")
