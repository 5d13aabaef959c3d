"""Orders on the party's bank accounts reach the banks' interface once, with the local
interface of `customs-audit dev` on a real socket: a retried activity does not send twice, an
outage is retried, a refusal or a give-up comes back to the case as a failure it can report."""

import asyncio
import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.bank import BankActivities
from activities.delivery_log import GAVE_UP, PERMANENT_FAILURE
from config import Settings
from db.models import DeliveryAttemptRow
from domain.case import Party
from domain.notices import DocumentKind
from domain.tasks import BankOrder, DeliveryOutcome, RenderedDocument
from tests.deliveries import first_try, party, run_activity
from tests.factories import next_audit_id
from workflows.courier import to_bank


def suspension(audit_id: str) -> BankOrder:
    return BankOrder(
        audit_id=audit_id,
        party=Party.model_validate(party()),
        order="suspend",
        document=RenderedDocument(
            document_id=f"doc-{audit_id}-S1",
            number=f"{audit_id}/S1",
            kind=DocumentKind.SUSPENSION_ORDER,
            title="Order suspending debit operations",
            sha256="ab" * 32,
        ),
        issued_on=date(2026, 4, 21),
        amount_owed="1294266.10",
    )


def tries(engine: Engine, audit_id: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.audit_id == audit_id, DeliveryAttemptRow.channel == "bank")
            .order_by(col(DeliveryAttemptRow.id))
        ).all()
    return [row.status for row in rows]


async def held(bank_gateway: str, audit_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=bank_gateway) as gateway:
        orders: list[dict[str, Any]] = (await gateway.get("/orders")).json()
    return [o for o in orders if o["audit_id"] == audit_id]


async def test_an_order_is_taken_once_however_often_the_activity_runs(
    engine: Engine, settings: Settings, bank_gateway: str
) -> None:
    audit_id = next_audit_id()
    bank = BankActivities(engine, settings)
    async with httpx.AsyncClient(base_url=bank_gateway) as gateway:
        before = (await gateway.get("/stats")).json()["requests"]
        first = await run_activity(bank.send_bank_order, suspension(audit_id))
        again = await run_activity(bank.send_bank_order, suspension(audit_id))
        after = (await gateway.get("/stats")).json()["requests"]
    assert first.channel == "bank" and first.status == again.status == "sent"
    assert again.provider_id == first.provider_id and again.detail.startswith("already sent")
    assert after - before == 1
    [order] = await held(bank_gateway, audit_id)
    assert order["idempotency_key"] == f"{audit_id}:{audit_id}/S1:bank"
    assert (order["order"], order["party_bin"], order["party_name"]) == (
        "suspend",
        party()["bin"],
        party()["name"],
    )
    assert order["document_number"] == f"{audit_id}/S1" and order["sha256"] == "ab" * 32
    assert (order["issued_on"], order["amount_owed"]) == ("2026-04-21", "1294266.10")
    assert order["pdf_url"] == (
        f"{settings.public_base_url}/audits/{audit_id}/documents/doc-{audit_id}-S1.pdf"
    )
    assert tries(engine, audit_id) == ["sent"]


async def test_an_interface_down_is_retried_and_the_order_goes_out_once(
    engine: Engine, settings: Settings, bank_gateway: str
) -> None:
    audit_id = next_audit_id()
    bank = BankActivities(engine, settings)
    async with httpx.AsyncClient(base_url=bank_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "fail", "times": 1})
        with pytest.raises(httpx.HTTPStatusError):  # retryable: Temporal tries again
            await run_activity(bank.send_bank_order, suspension(audit_id))
        sent = await run_activity(bank.send_bank_order, suspension(audit_id))
    assert sent.status == "sent" and sent.attempts == 2
    assert len(sent.failures) == 1 and "503" in sent.failures[0]
    assert tries(engine, audit_id) == ["temporary-failure", "sent"]
    assert len(await held(bank_gateway, audit_id)) == 1


async def test_a_refused_order_is_a_permanent_failure(
    engine: Engine, settings: Settings, bank_gateway: str
) -> None:
    audit_id = next_audit_id()
    bank = BankActivities(engine, settings)
    async with httpx.AsyncClient(base_url=bank_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "reject", "times": 1})
        with pytest.raises(ApplicationError) as refused:
            await run_activity(bank.send_bank_order, suspension(audit_id))
    assert refused.value.non_retryable and refused.value.type == PERMANENT_FAILURE
    assert "400" in refused.value.message
    assert tries(engine, audit_id) == ["permanent-failure"]
    assert await held(bank_gateway, audit_id) == []


async def test_an_outage_longer_than_the_retry_hours_is_given_up(
    engine: Engine, settings: Settings, bank_gateway: str
) -> None:
    audit_id = next_audit_id()
    bank = BankActivities(engine, settings.model_copy(update={"bank_order_retry_hours": 6}))
    late = ActivityEnvironment()
    late.info = dataclasses.replace(
        first_try().info, attempt=40, scheduled_time=datetime.now(UTC) - timedelta(hours=7)
    )
    async with httpx.AsyncClient(base_url=bank_gateway) as gateway:
        await gateway.post("/faults", json={"mode": "fail", "times": 1})
        with pytest.raises(ApplicationError) as gave_up:
            await asyncio.to_thread(late.run, bank.send_bank_order, suspension(audit_id))
    assert gave_up.value.non_retryable and gave_up.value.type == GAVE_UP
    assert "503" in gave_up.value.message


class Sent(BaseModel):
    outcome: DeliveryOutcome
    retrying: list[str]


@workflow.defn(sandboxed=False)
class SendsAnOrder:
    """Only what a case does with an order: hand it to the courier and keep the outcome."""

    @workflow.run
    async def run(self, order: BankOrder) -> Sent:
        retrying: list[str] = []
        outcome = await to_bank(order, retrying=retrying.append)
        return Sent(outcome=outcome, retrying=retrying)


@workflow.defn(sandboxed=False)
class SendsAnOrderQuietly:
    """The same without hearing of retries: one activity retried until it is done."""

    @workflow.run
    async def run(self, order: BankOrder) -> DeliveryOutcome:
        return await to_bank(order)


async def test_the_courier_retries_an_order_and_reports_a_refusal_without_raising(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, bank_gateway: str
) -> None:
    queue = f"bank-{uuid.uuid4()}"
    bank = BankActivities(engine, settings)
    with ThreadPoolExecutor(4) as threads:
        async with (
            Worker(
                dev_env.client,
                task_queue=queue,
                workflows=[SendsAnOrder, SendsAnOrderQuietly],
                activities=[bank.send_bank_order],
                activity_executor=threads,
            ),
            httpx.AsyncClient(base_url=bank_gateway) as gateway,
        ):

            async def send(order: BankOrder) -> Sent:
                result: Sent = await dev_env.client.execute_workflow(
                    SendsAnOrder.run,
                    order,
                    id=f"bank-order-{uuid.uuid4()}",
                    task_queue=queue,
                )
                return result

            await gateway.post("/faults", json={"mode": "fail", "times": 2})
            down = await send(suspension(audit_id := next_audit_id()))
            await gateway.post("/faults", json={"mode": "reject", "times": 1})
            refused = await send(suspension(refused_id := next_audit_id()))
            await gateway.post("/faults", json={"mode": "fail", "times": 1})
            quiet: DeliveryOutcome = await dev_env.client.execute_workflow(
                SendsAnOrderQuietly.run,
                suspension(quiet_id := next_audit_id()),
                id=f"bank-order-{uuid.uuid4()}",
                task_queue=queue,
            )
    assert down.outcome.status == "sent" and down.outcome.channel == "bank"
    assert len(down.retrying) == 1 and "503" in down.retrying[0]
    assert tries(engine, audit_id) == ["temporary-failure", "temporary-failure", "sent"]
    assert len(await held(bank_gateway, audit_id)) == 1
    assert refused.outcome.status == "permanent-failure" and "400" in refused.outcome.detail
    assert refused.retrying == []  # a refusal is final at once: nothing to wait for
    assert tries(engine, refused_id) == ["permanent-failure"]
    assert quiet.status == "sent" and quiet.attempts == 2
    assert tries(engine, quiet_id) == ["temporary-failure", "sent"]
