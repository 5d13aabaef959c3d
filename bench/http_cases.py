"""Cases driven over HTTP as the API's clients drive them: started with `POST /audits`,
paid, and followed from the version the client holds until they reach a status."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from domain.identifiers import format_audit_id
from tests.factories import AMOUNT_DUE, start_body


async def run_all(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def guarded(n: int) -> None:
        async with gate:
            await one(n)

    started = time.perf_counter()
    await asyncio.gather(*(guarded(n) for n in range(count)))
    return time.perf_counter() - started


def drive(
    base: str,
    headers: dict[str, dict[str, str]],
    first: int,
    count: int,
    concurrency: int,
    poll: float | None,
) -> tuple[list[str], list[float], float]:
    """Run `count` cases (numbered from `first`) to FULFILLED over HTTP: the case ids, the
    latencies of their `POST /audits` and the seconds it took."""
    ids: list[str] = []
    start_latency: list[float] = []

    async def all_cases() -> float:
        async with httpx.AsyncClient(base_url=base, timeout=60) as api:

            async def one(n: int) -> None:
                began = time.perf_counter()
                body = start_body(audit_id=format_audit_id(2026, 900_001 + first + n))
                reply = await api.post("/audits", json=body, headers=headers["inspector"])
                start_latency.append(time.perf_counter() - began)
                case = ok(reply).json()
                ids.append(case["id"])
                case = await until(api, case, "AWAITING_RESPONSE", headers["inspector"], poll)
                payment = {
                    "reference": f"T-{n}",
                    "amount": str(AMOUNT_DUE),
                    "paid_at": case["issued_on"],
                }
                ok(
                    await api.post(
                        f"/audits/{case['id']}/payments", json=payment, headers=headers["treasury"]
                    )
                )
                await until(api, case, "FULFILLED", headers["inspector"], poll)

            return await run_all(count, concurrency, one)

    wall = asyncio.run(all_cases())
    return ids, start_latency, wall


async def until(
    api: httpx.AsyncClient,
    case: dict[str, Any],
    status: str,
    headers: dict[str, str],
    every: float | None = None,
) -> dict[str, Any]:
    """Follow `case`, as last seen, until it has `status` (a minute at most): by default as
    a client should, each read waiting for the case to move past the version seen; with
    `every`, reading it again every `every` seconds, each read a query to the case that
    costs CPU of its own."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while case["status"] != status:
        if loop.time() > deadline:
            raise RuntimeError(f"{case['id']} never reached {status}")
        params: dict[str, Any] = {"after_version": case["version"], "wait": 20}
        if every is not None:
            await asyncio.sleep(every)
            params = {}
        reply = await api.get(f"/audits/{case['id']}", params=params, headers=headers)
        if reply.status_code == 429:  # the caller's share of waits is taken: as it says
            await asyncio.sleep(float(reply.headers["retry-after"]))
            continue
        case = ok(reply).json()
    return case


def ok(reply: httpx.Response) -> httpx.Response:
    """`reply` if it succeeded; else an error naming the request and the answer, which
    (unlike httpx's own) can be handed back from the driving process."""
    if reply.is_success:
        return reply
    request = reply.request
    raise RuntimeError(f"{request.method} {request.url}: {reply.status_code} {reply.text[:500]}")
