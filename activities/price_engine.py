"""Reference samples of the price rule for many lines at once, computed in DuckDB.

Neither SQLite nor PostgreSQL can take a percentile over a sliding window (their percentile
functions are ordered-set aggregates, not window functions), and a sample per line by a
self-join grows with the square of a heading's size. DuckDB computes windowed quantiles and
distinct counts with merge-sort trees in one pass over the lines, on all cores. The lines of
a batch are exported from the application database (PostgreSQL COPY, or a cursor on
SQLite) to a temporary CSV file that DuckDB reads; nothing else leaves the database.
"""

import csv
import logging
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from psycopg import sql
from sqlalchemy.engine import Engine

from domain.screening.price import PriceRule, Stats

log = logging.getLogger(__name__)
_SIX_PLACES = Decimal("0.000001")
_COLUMNS = (
    "id",
    "hs_code",
    "hs6",
    "unit",
    "origin_country",
    "declarant_bin",
    "registered_on",
    "quantity",
    "customs_value_kzt",
    "pending",
)
_DUCK_TYPES = {
    "id": "BIGINT",
    "hs_code": "VARCHAR",
    "hs6": "VARCHAR",
    "unit": "VARCHAR",
    "origin_country": "VARCHAR",
    "declarant_bin": "VARCHAR",
    "registered_on": "DATE",
    "quantity": "DOUBLE",
    "customs_value_kzt": "DOUBLE",
    "pending": "BOOLEAN",
}


@dataclass(frozen=True)
class Slice:
    """The lines one batch judges: pending lines (not yet screened, id up to `upto_id`) of
    the 6-digit headings `first_hs6`..`last_hs6` registered `first_day`..`last_day`."""

    upto_id: int
    first_hs6: str
    last_hs6: str
    first_day: date
    last_day: date


@dataclass(frozen=True)
class LineStats:
    line_id: int
    hs10: Stats | None
    hs6: Stats | None


@dataclass(frozen=True)
class Samples:
    """What a batch judged: `judged`, the ids of every pending line exported (exactly these
    are then marked screened: a line committed after the export waits for the next run),
    and `below`, the reference samples of those that may be flagged."""

    judged: list[int]
    below: list[LineStats]


def reference_stats(engine: Engine, part: Slice, rule: PriceRule, threads: int) -> Samples:
    """Both reference samples of each pending line of `part` whose unit value is below the
    median share of either (the rule's necessary condition); the rest cannot be flagged."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="screening-") as folder:
        path = Path(folder) / "lines.csv"
        _export(engine, part, rule, path)
        exported = time.perf_counter()
        with duckdb.connect(config={"threads": threads}) as duck:
            duck.execute("SET enable_progress_bar = false")
            duck.execute(_load(path))
            judged = [row[0] for row in duck.execute(_PENDING).fetchall()]
            by_code, flagged = _queries(rule)
            duck.execute(by_code)
            rows = duck.execute(flagged, [float(rule.median_share)]).fetchall()
    log.info(
        "headings %s-%s: lines exported in %.1f s, samples of %d lines in %.1f s",
        part.first_hs6,
        part.last_hs6,
        exported - began,
        len(rows),
        time.perf_counter() - exported,
    )
    below = [
        LineStats(
            line_id=row[0],
            hs10=_stats(row[1], row[2], row[3]),
            hs6=_stats(row[4], row[5], row[6]),
        )
        for row in rows
    ]
    return Samples(judged=judged, below=below)


_PENDING = "SELECT id FROM lines WHERE pending"


def _load(path: Path) -> str:
    """The exported lines as a DuckDB table, with their unit values."""
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in _DUCK_TYPES.items())
    return f"""
    CREATE TABLE lines AS
    SELECT *, customs_value_kzt / quantity AS unit_value
    FROM read_csv('{path}', header = false, columns = {{{columns}}})
    """


def _queries(rule: PriceRule) -> tuple[str, str]:
    """Two passes. The first computes every pending line's 10-digit sample; the second the
    6-digit one, only for the lines whose 10-digit sample is too small (the rule looks at
    the heading for no other line), over only the lines inside those lines' windows: the
    heading's windows were more than half of the work when computed for every line.

    Counts and quantiles leave the line itself out (EXCLUDE CURRENT ROW). Distinct
    declarants are counted with it, and its own declarant taken off: the same number, and
    DuckDB counts distinct values over an excluding frame row by row (quadratic), over a
    plain one with a merge-sort tree."""
    days = int(rule.window_days)
    frame = f"ORDER BY registered_on RANGE BETWEEN INTERVAL {days} DAYS PRECEDING AND CURRENT ROW"
    quantiles = f"[{rule.percentile / 100}, 0.25, 0.5, 0.75]"
    origin = ", origin_country" if rule.same_origin else ""

    def sample(source: str, code: str, name: str) -> str:
        return (
            f"count(*) OVER s{name} AS n{name}, "
            f"count(DISTINCT declarant_bin) OVER w{name} - 1 AS d{name}, "
            f"quantile_cont(unit_value, {quantiles}) OVER s{name} AS q{name} "
            f"FROM {source} "
            f"WINDOW w{name} AS (PARTITION BY {code}, unit{origin} {frame}), "
            f"s{name} AS (PARTITION BY {code}, unit{origin} {frame} EXCLUDE CURRENT ROW)"
        )

    by_code = f"""
    CREATE TABLE by_code AS
    SELECT id, unit_value, registered_on, hs6, unit{origin}, {sample("lines", "hs_code", "10")}
    QUALIFY pending
    """
    flagged = f"""
    WITH short AS (
        SELECT * FROM by_code
        WHERE n10 < {int(rule.min_lines)} OR d10 < {int(rule.min_declarants)}
    ), spans AS (
        SELECT hs6, unit{origin}, min(registered_on) - INTERVAL {days} DAYS AS since,
            max(registered_on) AS until
        FROM short GROUP BY ALL
    ), spanned AS (
        SELECT lines.* FROM lines JOIN spans USING (hs6, unit{origin})
        WHERE registered_on BETWEEN since AND until
    ), by_heading AS (
        SELECT id, {sample("spanned", "hs6", "6")}
    )
    SELECT c.id, c.n10, c.d10, c.q10, h.n6, h.d6, h.q6
    FROM by_code c LEFT JOIN short USING (id) LEFT JOIN by_heading h ON h.id = short.id
    WHERE c.unit_value < $1 * CASE WHEN short.id IS NULL THEN c.q10[3] ELSE h.q6[3] END
    ORDER BY c.id
    """
    return by_code, flagged


def _stats(lines: int, declarants: int, quantiles: list[float] | None) -> Stats | None:
    if not lines or quantiles is None:
        return None
    low, q1, median, q3 = (Decimal(repr(q)).quantize(_SIX_PLACES) for q in quantiles)
    return Stats(lines=lines, other_declarants=declarants, low=low, q1=q1, median=median, q3=q3)


_SELECT = (
    "SELECT l.id, hs_code, hs6, unit, origin_country, declarant_bin, registered_on, quantity, "
    "customs_value_kzt, (s.line_id IS NULL AND l.id <= {upto}) AS pending "
    "FROM declaration_lines l LEFT JOIN screened_lines s ON s.line_id = l.id "
    "WHERE hs6 BETWEEN {first_hs6} AND {last_hs6} AND registered_on BETWEEN {since} AND {last_day}"
)


def _export(engine: Engine, part: Slice, rule: PriceRule, path: Path) -> None:
    """The lines a batch needs: its headings, from a window before its first pending day."""
    bounds: dict[str, Any] = {
        "upto": part.upto_id,
        "first_hs6": part.first_hs6,
        "last_hs6": part.last_hs6,
        "since": part.first_day - timedelta(days=rule.window_days),
        "last_day": part.last_day,
    }
    raw = engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        if engine.dialect.name == "postgresql":
            query = sql.SQL(_SELECT).format(**{k: sql.Literal(v) for k, v in bounds.items()})
            copy = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
            with (
                path.open("wb") as out,
                connection.cursor() as cursor,
                cursor.copy(copy) as stream,
            ):
                for chunk in stream:
                    out.write(chunk)
        else:
            cursor = connection.execute(
                _SELECT.format(**{k: f":{k}" for k in bounds}),
                {k: v.isoformat() if isinstance(v, date) else v for k, v in bounds.items()},
            )
            with path.open("w", newline="") as out:
                writer = csv.writer(out)
                while rows := cursor.fetchmany(10_000):
                    writer.writerows(rows)
    finally:
        raw.close()
