"""Risk screening at scale: import rate, a full screening run, peak memory, and precision
and recall on planted cases, on SQLite and PostgreSQL.

    python -m bench.screening [--lines 1000000] [--items 200000] [--postgres postgresql://...]
        [--analyse]

Generates declaration lines (2 000 ten-digit codes of uneven popularity under 600 headings,
5 000 importers, two years, honest unit values spread ±8 % around each code's price) with
1 % of lines planted at 30-60 % of the price, and postal items (40 000 recipients) with
planted splitting (4-8 parcels in one month) and bulk parcels (4-10 units of one type).
The feeds go through the import code the API uses (CSV, one call per 100 000 rows); the
run calls the workflow's activities in order in a child process, whose peak resident
memory (DuckDB included, it runs in-process) is reported on its own. `--analyse` gathers
the planner's statistics between the import and the run, as autovacuum may have done by
the first run after deployment: `screened_lines` and `screened_items` then look empty to
the planner while the run fills them.
"""

import argparse
import csv
import io
import logging
import multiprocessing
import os
import queue
import random
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from temporalio.testing import ActivityEnvironment

from activities.screening import ScreeningActivities
from bench.listings import postgres_database, sqlite_database
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from db.reference import load_rate_tables
from db.screening_imports import import_declarations, import_postal_items
from db.screening_models import CandidateRow
from db.screening_store import create_run
from domain.identifiers import bin_check_digit
from domain.screening.records import DECLARATION_COLUMNS, POSTAL_COLUMNS
from domain.screening.run import BatchOrder, PostalOrder, RunOrder

LAST_DAY = date(2026, 11, 27)
DAYS = 730
IMPORT_CHUNK = 100_000


def identifiers(count: int, stem: int) -> list[str]:
    found: list[str] = []
    number = stem
    while len(found) < count:
        check = bin_check_digit(f"{number:011d}")
        if check is not None:
            found.append(f"{number:011d}{check}")
        number += 7
    return found


def declaration_lines(count: int, seed: int = 7) -> tuple[list[dict[str, Any]], set[str]]:
    """Lines and the keys (`price:<declaration>:<line>`) of the planted under-pricing."""
    rng = random.Random(seed)
    declarants = identifiers(5000, 95040000045)
    headings = [str(number) for number in rng.sample(range(100_000, 1_000_000), 600)]
    heading_price = {h: 10 ** rng.uniform(2, 5) for h in headings}
    codes = []
    for n in range(2000):
        heading = headings[n % len(headings)]
        codes.append(
            (
                f"{heading}{n:04d}",
                rng.choice(["796", "166", "112"]) if n >= len(headings) else "796",
                heading_price[heading] * rng.uniform(0.8, 1.25),
            )
        )
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(codes))]
    planted: set[str] = set()
    rows: list[dict[str, Any]] = []
    number = 0
    while len(rows) < count:
        number += 1
        day = LAST_DAY - timedelta(days=rng.randrange(DAYS))
        declarant = rng.choice(declarants)
        declaration = f"55{rng.randrange(100, 400)}/{day:%d%m%y}/{number:07d}"
        for line_no, (code, unit, price) in enumerate(
            rng.choices(codes, weights, k=rng.randint(1, 5)), start=1
        ):
            unit_value = price * rng.lognormvariate(0, 0.08)
            if rng.random() < 0.01:
                unit_value = price * rng.uniform(0.3, 0.6)
                planted.add(f"price:{declaration}:{line_no}")
            quantity = rng.randint(1, 500)
            value = round(unit_value * quantity, 2)
            rows.append(
                {
                    "declaration_number": declaration,
                    "registered_on": day.isoformat(),
                    "customs_office": declaration[:5],
                    "declarant_bin": declarant,
                    "line_no": line_no,
                    "hs_code": code,
                    "description": "goods",
                    "origin_country": rng.choice(["CN", "TR", "DE", "RU", "KR"]),
                    "quantity": quantity,
                    "unit": unit,
                    "invoice_value": f"{value / 480:.2f}",
                    "currency": "USD",
                    "exchange_rate": "480",
                    "customs_value_kzt": f"{value:.2f}",
                    "incoterms": "FCA",
                    "transport_to_border": "",
                    "insurance_to_border": "",
                    "duty_rate_percent": rng.choice(["0", "5", "10", "15"]),
                }
            )
    kept = rows[:count]
    return kept, planted & {f"price:{r['declaration_number']}:{r['line_no']}" for r in kept}


def postal_items(count: int, seed: int = 11) -> tuple[list[dict[str, Any]], set[str]]:
    """Items and the keys of the planted splitting (`month:`) and bulk parcels (`units:`)."""
    rng = random.Random(seed)
    recipients = identifiers(40_000, 90010130000)
    products = ["phone case", "sneakers", "cosmetics", "toy", "charger", "dress", "watch"]
    rows: list[dict[str, Any]] = []
    planted: set[str] = set()
    parcel_no = 0

    def parcel(recipient: str, day: date, bulk: bool = False) -> None:
        nonlocal parcel_no
        parcel_no += 1
        parcel_id = f"RR{parcel_no:09d}KZ"
        kinds = rng.sample(products, rng.randint(1, 3))
        for n, kind in enumerate(kinds):
            quantity = rng.randint(4, 10) if bulk and n == 0 else rng.randint(1, 2)
            rows.append(
                {
                    "parcel_id": parcel_id,
                    "accepted_on": day.isoformat(),
                    "recipient_iin": recipient,
                    "sender_country": rng.choice(["CN", "TR", "US", "DE"]),
                    "product_type": kind,
                    "quantity": quantity,
                    "declared_value": f"{rng.uniform(5, 180):.2f}",
                    "currency": "EUR",
                }
            )
        if bulk:
            planted.add(f"postal:units:{parcel_id}")

    splitters = recipients[:500]
    for recipient in splitters:
        month = date(2026, rng.randint(1, 10), 1)
        for _ in range(rng.randint(4, 8)):
            parcel(recipient, month + timedelta(days=rng.randrange(28)))
        planted.add(f"postal:month:{recipient}:{month:%Y-%m}")
    for _ in range(300):
        parcel(rng.choice(recipients[500:]), LAST_DAY - timedelta(days=rng.randrange(300)), True)
    while len(rows) < count:
        parcel(rng.choice(recipients[500:]), LAST_DAY - timedelta(days=rng.randrange(365)))
    return rows, planted


def as_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), IMPORT_CHUNK):
        yield rows[start : start + IMPORT_CHUNK]


def peak_mib() -> float:
    """This process's peak resident memory since it started (VmHWM): `ru_maxrss` would
    count the parent's pages the child had for a moment between fork and exec."""
    for entry in Path("/proc/self/status").read_text().splitlines():
        if entry.startswith("VmHWM:"):
            return int(entry.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def screen(url: str, results: Any) -> None:
    """The whole run in this (child) process, timed, with its own peak memory."""
    logging.basicConfig(level=logging.INFO, format="    %(message)s")
    engine = make_engine(url)
    settings = Settings(database_url=url)
    steps = ScreeningActivities(engine, settings, load_rate_tables(None))
    began = time.perf_counter()
    run_id = create_run(engine, "bench").id
    plan = ActivityEnvironment().run(steps.open_run, RunOrder(run_id=run_id, trigger="manual"))
    planned = time.perf_counter() - began
    for index, batch in enumerate(plan.batches):
        order = BatchOrder(
            run_id=plan.run_id, upto_line_id=plan.upto_line_id, index=index, batch=batch
        )
        steps.screen_prices(order)
    priced = time.perf_counter() - began
    steps.screen_postal(PostalOrder(run_id=plan.run_id, upto_item_id=plan.upto_item_id))
    total = time.perf_counter() - began
    with engine.connect() as connection:
        keys = {
            key: evidence.get("reference", {}).get("level", "postal")
            for key, evidence in connection.execute(
                select(CandidateRow.key, CandidateRow.evidence)  # type: ignore[call-overload]
            )
        }
    engine.dispose()
    results.put(
        {
            "plan_seconds": planned,
            "price_seconds": priced - planned,
            "postal_seconds": total - priced,
            "total_seconds": total,
            "batches": len(plan.batches),
            "peak_mib": peak_mib(),
            "keys": keys,
        }
    )


def measure(
    database: Callable[[], AbstractContextManager[str]],
    lines: list[dict[str, Any]],
    items: list[dict[str, Any]],
    analyse: bool,
) -> dict[str, Any]:
    line_files = [as_csv(part, DECLARATION_COLUMNS) for part in chunks(lines)]
    item_files = [as_csv(part, POSTAL_COLUMNS) for part in chunks(items)]
    with database() as url:
        upgrade(url)
        engine = make_engine(url)
        began = time.perf_counter()
        stored = [import_declarations(engine, data).stored for data in line_files]
        lines_seconds = time.perf_counter() - began
        began = time.perf_counter()
        stored += [import_postal_items(engine, data).stored for data in item_files]
        items_seconds = time.perf_counter() - began
        assert sum(stored) == len(lines) + len(items), "the generator made rows the import refused"
        if analyse:
            with engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        engine.dispose()
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        child = context.Process(target=screen, args=(url, results))
        child.start()
        while True:
            try:
                outcome: dict[str, Any] = results.get(timeout=5)
                break
            except queue.Empty:
                if not child.is_alive():
                    raise RuntimeError(f"the screening process exited ({child.exitcode})") from None
        child.join()
    return {"lines_seconds": lines_seconds, "items_seconds": items_seconds, **outcome}


def score(found: dict[str, str], planted: set[str], prefix: str) -> str:
    """Precision and recall, and how many flags (true ones) came from each reference level."""
    flagged = {key for key in found if key.startswith(prefix)}
    hits = flagged & planted
    precision = len(hits) / len(flagged) if flagged else 0.0
    recall = len(hits) / len(planted) if planted else 0.0
    levels = sorted(set(found[key] for key in flagged))
    by_level = ", ".join(
        f"{level} {sum(found[k] == level for k in flagged)} "
        f"({sum(found[k] == level for k in hits)} planted)"
        for level in levels
    )
    return (
        f"{len(flagged)} flagged, {len(planted)} planted: "
        f"precision {precision:.3f}, recall {recall:.3f}; by reference: {by_level}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--analyse", action="store_true", help="ANALYZE before the run")
    args = parser.parse_args()
    began = time.perf_counter()
    lines, planted_lines = declaration_lines(args.lines)
    items, planted_items = postal_items(args.items)
    print(
        f"generated {len(lines)} lines, {len(items)} items in {time.perf_counter() - began:.0f} s"
    )
    databases: dict[str, Callable[[], AbstractContextManager[str]]] = {}
    if not args.skip_sqlite:
        databases["SQLite"] = sqlite_database
    if args.postgres.startswith("postgres"):
        databases["PostgreSQL"] = lambda: postgres_database(args.postgres)
    for name, database in databases.items():
        result = measure(database, lines, items, args.analyse)
        print(f"== {name}")
        print(
            f"import: {len(lines) / result['lines_seconds']:,.0f} lines/s "
            f"({result['lines_seconds']:.0f} s), {len(items) / result['items_seconds']:,.0f} "
            f"items/s ({result['items_seconds']:.0f} s)"
        )
        print(
            f"screening: {result['total_seconds']:.1f} s in all (plan {result['plan_seconds']:.1f},"
            f" {result['batches']} price batches {result['price_seconds']:.1f}, postal "
            f"{result['postal_seconds']:.1f}); peak memory {result['peak_mib']:.0f} MiB"
        )
        print(f"price rule: {score(result['keys'], planted_lines, 'price:')}")
        print(f"postal rule: {score(result['keys'], planted_items, 'postal:')}")


if __name__ == "__main__":
    main()
