"""Rendering the dashboard's 50-case board with many audits in the read model.

    python -m bench.pages [--rows 100000] [--repeat 50] [--postgres postgresql://...]

Loads synthetic rows (as bench.listings does) into a fresh SQLite file, or PostgreSQL when
a URL is given or DATABASE_URL names one, serves the whole app with uvicorn on a Temporal
dev server, signs in as an inspector of the busiest office and GETs the board pages over
HTTP. Prints p50/p95 in milliseconds for each query the board makes (page of 50, the
supervisor's overdue reviews, the two charts' counts: the same functions the page calls),
the board page (listing, deadlines in working days, two charts) for an inspector and for a
supervisor, its second page (keyset cursor) and a filtered board, and the page's size.
"""

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.readmodel import list_audits
from bench.listings import load, postgres_database, sqlite_database
from bench.synthetic import audit_rows
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from devserver import find_binary
from domain.lifecycle import AuditStatus
from tests.conftest import serving
from tests.pages import session_cookie
from web import board
from web.casefile import today
from workflows.payloads import data_converter
from workflows.search_attributes import SEARCH_ATTRIBUTES


def quantiles(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), statistics.quantiles(samples, n=20)[18]


async def timed(call: Any, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    return quantiles(samples)


def queries(engine: Any, office: str) -> dict[str, Any]:
    """Each read the board makes, as the page calls it."""
    return {
        "listing query (page of 50)": lambda: list_audits(
            engine, customs_office=office, open_only=True, limit=50
        ),
        "overdue reviews query": lambda: list_audits(
            engine,
            customs_office=office,
            status=AuditStatus.UNDER_REVIEW,
            overdue=True,
            limit=50,
        ),
        "open by status (chart)": lambda: board.open_by_status(engine, office),
        "deadlines per week (chart)": lambda: board.deadlines_per_week(engine, office, today()),
    }


async def measure(url: str, rows: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    office = Counter(r["customs_office"] for r in rows).most_common(1)[0][0]
    engine = make_engine(url)
    load(engine, rows)
    folder = tempfile.TemporaryDirectory()
    settings = Settings(data_dir=Path(folder.name), database_url=url)
    results: dict[str, Any] = {"office": office}
    async with await WorkflowEnvironment.start_local(
        data_converter=data_converter,
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
    ) as env:
        app = create_app(settings, client=env.client)
        async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as web:
            web.cookies.set("ca_session", session_cookie(app, "inspector", office=office))
            first = await web.get("/dashboard")
            assert first.status_code == 200, first.text[:500]
            cursor = re.search(r"cursor=([A-Za-z0-9_-]+)", first.text)
            second = f"/dashboard?cursor={cursor[1]}" if cursor else "/dashboard"
            results["page_bytes"] = len(first.content)
            results["rows_on_page"] = first.text.count('scope="row"><a href="/dashboard/audits/')
            for name, query in queries(engine, office).items():
                results[name] = await timed(lambda q=query: asyncio.to_thread(q), repeat)
            results["GET board"] = await timed(lambda: web.get("/dashboard"), repeat)
            results["GET board, page 2"] = await timed(lambda: web.get(second), repeat)
            results["GET board, status filter"] = await timed(
                lambda: web.get("/dashboard?status=UNDER_REVIEW"), repeat
            )
            supervisor = {"ca_session": session_cookie(app, "supervisor", office=office)}
            results["GET board as supervisor"] = await timed(
                lambda: web.get("/dashboard", cookies=supervisor), repeat
            )
    engine.dispose()
    folder.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    rows = audit_rows(args.rows)
    side = "PostgreSQL" if args.postgres.startswith("postgres") else "SQLite"
    database = postgres_database(args.postgres) if side == "PostgreSQL" else sqlite_database()
    with database as url:
        upgrade(url)
        results = asyncio.run(measure(url, rows, args.repeat))
    print(
        f"{args.rows} audits on {side}, office {results['office']}, {args.repeat} runs each, "
        f"milliseconds; the board shows {results['rows_on_page']} cases "
        f"({results['page_bytes'] / 1024:.0f} KiB of HTML)"
    )
    print(f"{'what':34}{'p50':>10}{'p95':>10}")
    for name, figures in results.items():
        if isinstance(figures, tuple):
            print(f"{name:34}{figures[0]:10.2f}{figures[1]:10.2f}")


if __name__ == "__main__":
    main()
