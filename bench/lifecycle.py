"""Cost per case: the full lifecycle against a bare workflow, side by side on one dev server.

    python -m bench.lifecycle [--audits 200] [--concurrency 20] [--poll SECONDS]

Lifecycle: HTTP `POST /audits` -> cabinet delivery (notice, memo, alerts to the local mail
sink and SMS gateway) -> `POST .../payments` in full -> FULFILLED, through the real API and
worker on a fresh SQLite database. Bare: a workflow that runs 14 activities that do nothing,
waits for one signal and ends. Prints throughput, CPU per case (this process, which runs
API and worker, plus the Temporal server's process), history events and bytes per case,
the latency of `POST /audits`, and each figure's ratio to the bare workflow. The CPU the
activities spend on their own threads is shown apart, per activity: it is their own work
(PDFs, signatures, database writes, sending), which the bare workflow's empty activities
do not do, so what is left compares the orchestration of the two. While a case is served
the benchmark follows it as a client should, each read waiting for the case to move past
the version it has seen (`after_version` and `wait`); with `--poll` it reads it again every
that many seconds instead, and each read's query to the case counts in the lifecycle's CPU.
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from bench.activity_cpu import ActivityCpu
from bench.bare_case import BareCase, bare_step
from bench.product import running_product
from tests.conftest import serving
from tests.factories import AMOUNT_DUE, start_body


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads) so far (Linux /proc)."""
    stat = Path(f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid() -> int:
    """The Temporal dev server started by this process (its only `temporal` child)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"start-dev" in cmdline:
                return int(entry.name)
    raise RuntimeError("the dev server process was not found")


async def history_cost(client: Client, ids: list[str]) -> tuple[float, float]:
    events = size = 0
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        events += len(history.events)
        size += sum(e.ByteSize() for e in history.events)
    return events / len(ids), size / len(ids)


async def run_all(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def guarded(n: int) -> None:
        async with gate:
            await one(n)

    started = time.perf_counter()
    await asyncio.gather(*(guarded(n) for n in range(count)))
    return time.perf_counter() - started


async def measure(count: int, concurrency: int, poll: float | None) -> None:
    activities = ActivityCpu()
    async with running_product([activities]) as product:
        client = product.env.client
        pid = server_pid()
        queue = f"{product.settings.temporal_task_queue}-bare"
        bare_worker = Worker(client, task_queue=queue, workflows=[BareCase], activities=[bare_step])
        async with (
            bare_worker,
            serving(create_app(product.settings, client=client)) as base,
            httpx.AsyncClient(base_url=base, timeout=60) as api,
        ):
            figures = {
                "bare": await bare_run(client, queue, count, concurrency, pid),
                "lifecycle": await lifecycle_run(
                    api, client, product.headers, count, concurrency, pid, poll, activities
                ),
            }
    report(figures, count, concurrency, activities)


async def bare_run(
    client: Client, queue: str, count: int, concurrency: int, pid: int
) -> dict[str, float]:
    ids = [f"bare-{uuid.uuid4()}" for _ in range(count)]

    async def one(n: int) -> None:
        handle = await client.start_workflow(BareCase.run, id=ids[n], task_queue=queue)
        await handle.signal(BareCase.pay)
        await handle.result()

    cpu = time.process_time(), cpu_seconds(pid)
    wall = await run_all(count, concurrency, one)
    used = time.process_time() - cpu[0], cpu_seconds(pid) - cpu[1]
    events, size = await history_cost(client, ids[:20])
    return {
        "wall": wall,
        "app_cpu": used[0],
        "server_cpu": used[1],
        "events": events,
        "bytes": size,
    }


async def lifecycle_run(
    api: httpx.AsyncClient,
    client: Client,
    headers: dict[str, dict[str, str]],
    count: int,
    concurrency: int,
    pid: int,
    poll: float | None,
    activities: ActivityCpu,
) -> dict[str, float]:
    ids: list[str] = []
    start_latency: list[float] = []

    async def one(n: int) -> None:
        began = time.perf_counter()
        reply = await api.post("/audits", json=start_body(), headers=headers["inspector"])
        start_latency.append(time.perf_counter() - began)
        reply.raise_for_status()
        audit_id = reply.json()["id"]
        ids.append(audit_id)
        case = reply.json()
        if case["status"] != "AWAITING_RESPONSE":
            case = await until(api, audit_id, "AWAITING_RESPONSE", headers["inspector"], poll)
        payment = {"reference": f"T-{n}", "amount": str(AMOUNT_DUE), "paid_at": case["issued_on"]}
        paid = await api.post(
            f"/audits/{audit_id}/payments", json=payment, headers=headers["treasury"]
        )
        paid.raise_for_status()
        await client.get_workflow_handle(audit_id).result()

    activities.reset()
    cpu = time.process_time(), cpu_seconds(pid)
    wall = await run_all(count, concurrency, one)
    used = time.process_time() - cpu[0], cpu_seconds(pid) - cpu[1]
    activity_work = sum(activities.seconds.values())
    events, size = await history_cost(client, ids[:20])
    ordered = sorted(start_latency)
    return {
        "wall": wall,
        "app_cpu": used[0],
        "server_cpu": used[1],
        "activity_work": activity_work,
        "events": events,
        "bytes": size,
        "start_p50": statistics.median(ordered),
        "start_p95": ordered[int(0.95 * (len(ordered) - 1))],
    }


async def until(
    api: httpx.AsyncClient,
    audit_id: str,
    status: str,
    headers: dict[str, str],
    every: float | None = None,
) -> dict[str, Any]:
    """Read the case until it has `status` (a minute at most): by default as a client that
    follows it should, waiting on each read for the case to move past the version it has
    seen; with `every`, reading it again every `every` seconds, each read a query to the
    case that costs CPU of its own."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    case: dict[str, Any] = {}
    while case.get("status") != status:
        if loop.time() > deadline:
            raise RuntimeError(f"{audit_id} never reached {status}")
        params: dict[str, Any] = {}
        if case and every is None:
            params = {"after_version": case["version"], "wait": 20}
        elif case and every is not None:
            await asyncio.sleep(every)
        reply = await api.get(f"/audits/{audit_id}", params=params, headers=headers)
        if reply.status_code == 429:  # the caller's share of waits is taken: as it says
            await asyncio.sleep(float(reply.headers["retry-after"]))
            continue
        case = reply.raise_for_status().json()
    return case


def report(
    figures: dict[str, dict[str, float]], count: int, concurrency: int, activities: ActivityCpu
) -> None:
    bare, full = figures["bare"], figures["lifecycle"]
    print(f"{count} cases, concurrency {concurrency}, one dev server, {os.cpu_count()} cores")
    print(f"{'':28}{'bare':>12}{'lifecycle':>12}{'ratio':>8}")

    def row(label: str, b: float, f: float, fmt: str = ".2f") -> None:
        print(f"{label:28}{b:>12{fmt}}{f:>12{fmt}}{f / b:>8.2f}")

    row("throughput (cases/s)", count / bare["wall"], count / full["wall"])
    row("app CPU per case (ms)", 1000 * bare["app_cpu"] / count, 1000 * full["app_cpu"] / count)
    row(
        "server CPU per case (ms)",
        1000 * bare["server_cpu"] / count,
        1000 * full["server_cpu"] / count,
    )
    total_bare = bare["app_cpu"] + bare["server_cpu"]
    total_full = full["app_cpu"] + full["server_cpu"]
    row("all CPU per case (ms)", 1000 * total_bare / count, 1000 * total_full / count)
    work = full["activity_work"]
    print(f"{'  of which activities (ms)':28}{'':>12}{1000 * work / count:>12.2f}")
    row("  all CPU less that (ms)", 1000 * total_bare / count, 1000 * (total_full - work) / count)
    row("history events per case", bare["events"], full["events"], ".0f")
    row("history bytes per case", bare["bytes"], full["bytes"], ".0f")
    print(
        f"POST /audits p50 {full['start_p50'] * 1000:.0f} ms, p95 {full['start_p95'] * 1000:.0f} ms"
    )
    print(f"\n{'activity CPU per case':40}{'ms':>8}{'calls':>8}")
    for name, seconds in sorted(activities.seconds.items(), key=lambda item: -item[1]):
        calls = activities.calls[name] / count
        print(f"{name:40}{1000 * seconds / count:>8.2f}{calls:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audits", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--poll", type=float, default=None)
    args = parser.parse_args()
    asyncio.run(measure(args.audits, args.concurrency, args.poll))


if __name__ == "__main__":
    main()
