"""History size of a case that lives for months: payments and document-request cycles.

    python -m bench.history [--counts 10,100,1000]

Runs the real worker on the time-skipping test server with a fresh SQLite database, drives
one case per figure through N partial payments (or N request-and-answer cycles during a
review), and prints the history's events and bytes, and the bytes per payment/cycle. A flat
cost per item means the history grows with the case, not with its square. When Temporal
suggests it the case continues as new: the bytes of every run of the chain are counted.
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from temporalio.client import Client

from api.cases import CaseGateway
from bench.product import running_product
from domain.case import Payment
from domain.identifiers import format_audit_id
from tests.cases import request_cycles, start_case, wait_for
from tests.factories import audit_start, explanation_for
from workflows.cameral_audit import CameralAudit

# Through the API's gateway, which sends an update again while the case hands over to its
# next run (continue-as-new).
Driver = Callable[[CaseGateway, Any, int], Awaitable[None]]


async def payments(cases: CaseGateway, case: Any, count: int) -> None:
    for n in range(count):
        payment = Payment(reference=f"P-{n}", amount=Decimal("1.00"), paid_at=case.issued_on)
        await cases.record_payment(case.id, payment)


async def uploads(cases: CaseGateway, case: Any, count: int) -> None:
    await cases.update(case.id, CameralAudit.submit_explanation, explanation_for(case))
    await request_cycles(cases, case.id, count)


async def history_size(client: Client, workflow_id: str) -> tuple[int, int, int]:
    """Events, bytes and runs of the whole continue-as-new chain of one case."""
    events = size = runs = 0
    async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        history = await client.get_workflow_handle(
            workflow_id, run_id=execution.run_id
        ).fetch_history()
        events += len(history.events)
        size += sum(event.ByteSize() for event in history.events)
        runs += 1
    return events, size, runs


async def measure(counts: list[int]) -> None:
    async with running_product() as product:
        client, queue = product.env.client, product.settings.temporal_task_queue
        drivers: dict[str, Driver] = {"payments": payments, "request cycles": uploads}
        print(f"{'what':>15} {'count':>6} {'events':>8} {'bytes':>11} {'bytes/item':>11} runs")
        for label, drive in drivers.items():
            for n, count in enumerate(counts):
                audit_id = format_audit_id(2026, 800_000 + 10 * n + len(label))
                started = await start_case(client, queue, audit_start(audit_id))
                case = await wait_for(started, "AWAITING_RESPONSE")  # type: ignore[arg-type]
                _, before, _ = await history_size(client, audit_id)
                await drive(CaseGateway(client, queue), case, count)
                events, size, runs = await history_size(client, audit_id)
                per_item = (size - before) / count
                print(f"{label:>15} {count:>6} {events:>8} {size:>11} {per_item:>11.0f} {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="10,100,1000")
    args = parser.parse_args()
    asyncio.run(measure([int(c) for c in args.counts.split(",")]))


if __name__ == "__main__":
    main()
