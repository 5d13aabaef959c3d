"""A treasury statement as CSV through the real API and worker: postings applied one at a
time against STATEMENT_CONCURRENCY at once, side by side on one dev server.

    python -m bench.statements [--cases 20] [--lines 1000] [--windows 1,16]

Each run posts a fresh statement (new references) for the same open cases and prints lines
per second, the time to the first streamed result, and each window's ratio to the first.
"""

import argparse
import asyncio
import os
import time
from typing import Any

import httpx

from api.app import create_app
from bench.http_cases import until
from bench.product import Product, running_product
from tests.conftest import serving
from tests.factories import start_body

HEADER = "audit_id,reference,amount,paid_at,kind\n"


async def measure(cases: int, lines: int, windows: list[int]) -> None:
    async with running_product() as product:
        client = product.env.client
        open_cases = await start_cases(product, cases)
        print(f"{cases} cases, {lines} lines per statement, {os.cpu_count()} cores")
        print(f"{'window':>8}{'lines/s':>10}{'first (ms)':>12}{'ratio':>8}")
        first_rate = 0.0
        for window in windows:
            settings = product.settings.model_copy(update={"statement_concurrency": window})
            async with serving(create_app(settings, client=client)) as base:
                rate, first = await post_statement(base, product, open_cases, lines, window)
            first_rate = first_rate or rate
            print(f"{window:>8}{rate:>10.1f}{first * 1000:>12.0f}{rate / first_rate:>8.2f}")


async def start_cases(product: Product, count: int) -> list[dict[str, str]]:
    inspector = product.headers["inspector"]
    async with (
        serving(create_app(product.settings, client=product.env.client)) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as api,
    ):
        started: list[dict[str, Any]] = []
        for _ in range(count):
            reply = await api.post("/audits", json=start_body(), headers=inspector)
            reply.raise_for_status()
            started.append(reply.json())
        return [await until(api, case, "AWAITING_RESPONSE", inspector) for case in started]


async def post_statement(
    base: str, product: Product, cases: list[dict[str, str]], lines: int, tag: int
) -> tuple[float, float]:
    rows = [
        f"{case['id']},W{tag}-{n},1.00,{case['issued_on']},\n"
        for n in range(lines)
        for case in [cases[n % len(cases)]]
    ]
    headers = {
        **product.headers["treasury"],
        "Content-Type": "text/csv",
        "Accept": "application/x-ndjson",
    }
    began = time.perf_counter()
    first = 0.0
    answered = 0
    async with httpx.AsyncClient(base_url=base, timeout=600) as api:
        body = (HEADER + "".join(rows)).encode()
        async with api.stream("POST", "/payments/import", content=body, headers=headers) as reply:
            reply.raise_for_status()
            async for line in reply.aiter_lines():
                if line.startswith('{"line"'):
                    answered += 1
                    first = first or time.perf_counter() - began
    wall = time.perf_counter() - began
    assert answered == lines, f"{answered} of {lines} lines answered"
    return lines / wall, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--windows", default="1,16")
    args = parser.parse_args()
    windows = [int(w) for w in args.windows.split(",")]
    asyncio.run(measure(args.cases, args.lines, windows))


if __name__ == "__main__":
    main()
