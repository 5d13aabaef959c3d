"""A worker stopped in the middle of a case and started again (a new process would look the
same to Temporal) loses nothing: the case resumes from its history."""

from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from config import Settings
from db.models import AuditRow
from domain.case import CaseSnapshot, Payment
from domain.lifecycle import AuditStatus, EventKind
from tests.cases import finished, start_case, wait_for
from tests.factories import AMOUNT_DUE, audit_start, explanation_for
from worker import build_worker
from workflows.cameral_audit import CameralAudit


async def test_restarted_worker_resumes_every_case(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    client = dev_env.client
    async with build_worker(client, task_queue, engine, settings):
        paying = await start_case(client, task_queue, audit_start())
        explaining = await start_case(client, task_queue, audit_start())
        await wait_for(paying, AuditStatus.AWAITING_RESPONSE)
        before = await wait_for(explaining, AuditStatus.AWAITING_RESPONSE)

    # No worker now: the payment waits in Temporal's history, nothing is lost.
    first = Payment(reference="P-1", amount=Decimal("500000.00"), paid_at=before.issued_on)
    await paying.signal(CameralAudit.post_payment, first)

    async with build_worker(client, task_queue, engine, settings):
        reviewing = await explaining.execute_update(
            CameralAudit.submit_explanation, explanation_for(before)
        )
        rest = Payment(reference="P-2", amount=AMOUNT_DUE - first.amount, paid_at=first.paid_at)
        await paying.signal(CameralAudit.post_payment, rest)
        paid: CaseSnapshot = await finished(paying)
        explained = await wait_for(explaining, AuditStatus.UNDER_REVIEW)

    assert reviewing.status == AuditStatus.UNDER_REVIEW
    assert explained.response_deadline == before.response_deadline
    assert paid.status == AuditStatus.FULFILLED
    assert [e.details.get("reference") for e in paid.events if e.kind == "payment_received"] == [
        "P-1",
        "P-2",
    ]
    with Session(engine) as session:
        row = session.get(AuditRow, paid.id)
        assert row is not None and row.status == "FULFILLED" and row.version == paid.version
    assert EventKind.EXPLANATION_RECEIVED in [e.kind for e in explained.events]
