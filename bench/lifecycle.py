"""Cost per case: the full lifecycle against two yardsticks, side by side on one dev server.

    python -m bench.lifecycle [--audits 200] [--concurrency 20] [--rounds 3] [--poll SECONDS]
                              [--api-process] [--postgres postgresql://...]

Lifecycle: HTTP `POST /audits` -> cabinet delivery (notice, memo, alerts to the local mail
sink and SMS gateway) -> `POST .../payments` in full -> FULFILLED, through the real API and
worker on a fresh SQLite database. Bare: a workflow that runs 14 activities that do nothing,
waits for one signal and ends. Same work: a workflow that makes the activity calls one
lifecycle case made, in order and with the same arguments (its ids replaced by its own),
on the same worker, and waits for one signal: the lifecycle's work without the case's rules,
API, updates, queries and read-model versions. The two yardsticks are started and signalled
with the Temporal client directly.

Prints throughput, CPU per case (this process, which runs API and worker as `dev` does, or
with `--api-process` the API in a process of its own as deployed, plus the Temporal
server's process), history events and bytes per case, the latency of
`POST /audits`, and the lifecycle's ratio to each yardstick. The CPU the activities spend on
their own threads is shown apart, per activity. While a case is served the benchmark follows
it as a client should, each read waiting for the case to move past the version it has seen
(`after_version` and `wait`); with `--poll` it reads it again every that many seconds
instead, and each read's query to the case counts in the lifecycle's CPU. The benchmark's
HTTP client runs in a process of its own, as the API's clients do, and is not counted; the
local mail sink and SMS gateway run in this process and count, for the lifecycle and the
same work alike.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pydantic_core import to_jsonable_python
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from bench.activity_cpu import ActivityCpu
from bench.bare_case import BareCase, BareCaseDoingTheWork, bare_step
from bench.http_cases import drive, run_all
from bench.lifecycle_report import combined, report, report_activities
from bench.listings import postgres_database
from bench.product import running_product, serving_api


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


async def measure(
    count: int,
    concurrency: int,
    poll: float | None,
    rounds: int,
    api_process: bool,
    postgres: str | None,
) -> None:
    """`rounds` rounds of `count` cases of each kind, the order turned by one each round, so
    that none always meets the fuller server and database of going last."""
    activities = ActivityCpu()
    with postgres_database(postgres) if postgres else nullcontext(None) as database:
        await measure_on(count, concurrency, poll, rounds, api_process, database, activities)
    print(f"the application database: {'PostgreSQL' if postgres else 'SQLite'}")


async def measure_on(
    count: int,
    concurrency: int,
    poll: float | None,
    rounds: int,
    api_process: bool,
    database: str | None,
    activities: ActivityCpu,
) -> None:
    async with running_product([activities], [BareCaseDoingTheWork], database) as product:
        client = product.env.client
        pid = server_pid()
        queue = product.settings.temporal_task_queue
        bare_queue = f"{queue}-bare"
        bare_worker = Worker(
            client, task_queue=bare_queue, workflows=[BareCase], activities=[bare_step]
        )
        async with bare_worker, serving_api(product, api_process) as (base, api_pid):
            steps: Callable[[int], list[Any]] | None = None
            per_activity: dict[str, float] = defaultdict(float)
            calls: Counter[str] = Counter()

            async def yardstick(workflow: Callable[[int], Started]) -> dict[str, Any]:
                return await yardstick_run(client, count, concurrency, pid, activities, workflow)

            async def bare(_: int) -> dict[str, Any]:
                return await yardstick(lambda n: (BareCase.run, [], bare_queue))

            async def lifecycle(round: int) -> dict[str, Any]:
                nonlocal steps
                figures = await lifecycle_run(
                    base,
                    client,
                    product.headers,
                    count,
                    concurrency,
                    (pid, api_pid),
                    poll,
                    activities,
                    round,
                )
                steps = steps or calls_of_one_case(activities)
                for name, seconds in activities.seconds.items():
                    per_activity[name] += seconds
                calls.update(activities.calls)
                return figures

            async def same_work(round: int) -> dict[str, Any]:
                assert steps is not None
                recorded = steps
                return await yardstick(
                    lambda n: (BareCaseDoingTheWork.run, [recorded(round * count + n)], queue)
                )

            kinds = {"bare": bare, "lifecycle": lifecycle, "same work": same_work}
            order = list(kinds)
            runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for round in range(rounds):
                for name in order[round % 3 :] + order[: round % 3]:
                    runs[name].append(await kinds[name](round))
    cases = count * rounds
    report({name: combined(runs[name]) for name in ("bare", "same work", "lifecycle")}, cases)
    report_activities(per_activity, calls, cases)
    where = "a process of its own" if api_process else "the worker's process"
    print(f"{rounds} round(s) of {count} cases of each kind, concurrency {concurrency}")
    print(f"the API ran in {where}")


Started = tuple[Any, list[Any], str]  # a yardstick case: run method, arguments, task queue


async def yardstick_run(
    client: Client,
    count: int,
    concurrency: int,
    pid: int,
    activities: ActivityCpu,
    workflow: Callable[[int], Started],
) -> dict[str, Any]:
    """Start case n as `workflow(n)` says (run method, arguments, task queue), signal it
    once and await its end."""
    ids = [f"bare-{uuid.uuid4()}" for _ in range(count)]

    async def one(n: int) -> None:
        run, args, queue = workflow(n)
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            run, args=args, id=ids[n], task_queue=queue
        )
        await handle.signal("pay")
        await handle.result()

    activities.reset()
    cpu = time.process_time(), cpu_seconds(pid)
    wall = await run_all(count, concurrency, one)
    used = time.process_time() - cpu[0], cpu_seconds(pid) - cpu[1]
    events, size = await history_cost(client, ids[:20])
    return {
        "wall": wall,
        "app_cpu": used[0],
        "server_cpu": used[1],
        "activity_work": sum(activities.seconds.values()),
        "events": events,
        "bytes": size,
    }


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def calls_of_one_case(activities: ActivityCpu) -> Callable[[int], list[Any]]:
    """The activity calls of the lifecycle case `activities` kept, for yardstick case n:
    the audit id and every uuid (document ids) replaced by n's own, so that each case
    renders, stores and sends its own documents rather than finding them done."""
    kept = activities.kept_workflow
    if kept is None:
        raise RuntimeError("no lifecycle case was seen making activity calls")
    text = json.dumps(to_jsonable_python(activities.kept_calls))

    def steps(n: int) -> list[Any]:
        own = f"{kept[:-6]}{700_000 + n:06d}"  # CA-YYYY-NNNNNN, a block the API does not use
        renamed = UUID.sub(
            lambda found: str(uuid.uuid5(uuid.NAMESPACE_OID, f"{found.group()}{n}")), text
        )
        calls: list[Any] = json.loads(renamed.replace(kept, own))
        return calls

    return steps


async def lifecycle_run(
    base: str,
    client: Client,
    headers: dict[str, dict[str, str]],
    count: int,
    concurrency: int,
    pids: tuple[int, int | None],
    poll: float | None,
    activities: ActivityCpu,
    round: int,
) -> dict[str, Any]:
    """The cases driven over HTTP by a process of their own, as the API's clients are: its
    CPU (HTTP client, JSON) is not the product's and is not counted. `pids`: the Temporal
    server's, and the API's when it runs in a process of its own (its CPU is the app's)."""
    loop = asyncio.get_running_loop()
    server, api = pids

    def app_cpu() -> float:
        return time.process_time() + (cpu_seconds(api) if api is not None else 0.0)

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as driver:
        await loop.run_in_executor(driver, drive, base, headers, 0, 0, 1, poll)  # imported
        activities.reset()
        cpu = app_cpu(), cpu_seconds(server)
        ids, start_latency, wall = await loop.run_in_executor(
            driver, drive, base, headers, round * count, count, concurrency, poll
        )
        used = app_cpu() - cpu[0], cpu_seconds(server) - cpu[1]
    activity_work = sum(activities.seconds.values())
    events, size = await history_cost(client, ids[:20])
    return {
        "wall": wall,
        "app_cpu": used[0],
        "server_cpu": used[1],
        "activity_work": activity_work,
        "events": events,
        "bytes": size,
        "start_latency": start_latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audits", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--poll", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default="",
        help="a PostgreSQL server (postgresql://...) to hold the application database, "
        "as deployed, instead of a SQLite file; an empty database is made and dropped",
    )
    parser.add_argument(
        "--api-process",
        action="store_true",
        help="run the API in a process of its own, as deployed (its CPU counts as the app's)",
    )
    args = parser.parse_args()
    asyncio.run(
        measure(
            args.audits,
            args.concurrency,
            args.poll,
            args.rounds,
            args.api_process,
            args.postgres or None,
        )
    )


if __name__ == "__main__":
    main()
