"""Requests that reach one case at the same moment, on the time-skipping server with the real
worker: each is answered once, nothing is lost, and the read model ends equal to the case."""

import asyncio
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from config import Settings
from db.models import AuditRow, CalendarOverrideRow, DocumentRow, PaymentRow
from domain.case import (
    Cancellation,
    CaseSnapshot,
    DocumentRequest,
    MailReturned,
    Payment,
    PostalReceipt,
)
from domain.case_state import CaseState
from domain.case_view import snapshot
from domain.lifecycle import AuditStatus
from tests.cases import finished, posted_case, start_case, wait_for
from tests.factories import AMOUNT_DUE, audit_start, explanation_for, review_order
from worker import build_worker
from workflows.cameral_audit import CameralAudit


async def test_two_document_requests_at_once_get_distinct_numbers_and_the_case_ends(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        asked = await asyncio.gather(
            handle.execute_update(
                CameralAudit.request_documents, DocumentRequest(items=["SWIFT copy"])
            ),
            handle.execute_update(
                CameralAudit.request_documents, DocumentRequest(items=["Price list"])
            ),
        )
        both: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
        result: CaseSnapshot = await finished(handle)
    assert len(asked) == 2
    numbers = sorted(r.number for r in both.document_requests)
    assert numbers == [f"{case.id}/Q1", f"{case.id}/Q2"]
    with Session(engine) as session:
        stored = session.exec(select(DocumentRow.number).where(DocumentRow.audit_id == case.id))
        assert {f"{case.id}/Q1", f"{case.id}/Q2"} <= set(stored)
    assert result.status == AuditStatus.EXPLANATION_ACCEPTED


async def test_a_returned_mail_report_racing_a_receipt_is_refused_or_wins_but_never_both(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle, posted = await posted_case(time_env.client, task_queue)
        today = posted.issued_on
        outcomes = await asyncio.gather(
            handle.execute_update(
                CameralAudit.record_postal_receipt,
                PostalReceipt(delivered_on=today, receipt_no="RR1"),
            ),
            handle.execute_update(
                CameralAudit.record_mail_returned,
                MailReturned(returned_on=today, reason="absent"),
            ),
            return_exceptions=True,
        )
        after: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        refused = [o for o in outcomes if isinstance(o, WorkflowUpdateFailedError)]
        await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
        await handle.result()
    assert len(refused) == 1
    if isinstance(outcomes[0], WorkflowUpdateFailedError):  # the returned mail came first
        assert after.awaiting == "inspection_act" and after.delivered_on is None
    else:
        assert after.status == AuditStatus.AWAITING_RESPONSE and after.awaiting is None
        assert after.delivered_on == today and after.response_deadline is not None


async def test_the_read_model_ends_equal_to_the_case_after_concurrent_changes(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        assert case.response_deadline is not None
        with Session(engine) as session:
            session.add(CalendarOverrideRow(day=case.response_deadline, working=False))
            session.commit()
        part = Decimal("1000.00")
        await asyncio.gather(
            *(
                handle.execute_update(
                    CameralAudit.record_payment,
                    Payment(reference=f"P-{n}", amount=part, paid_at=case.issued_on),
                )
                for n in range(5)
            ),
            handle.signal(CameralAudit.calendar_changed),
        )
        live: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        for _ in range(100):
            live = await handle.query(CameralAudit.snapshot)
            with Session(engine) as session:
                row = session.get(AuditRow, case.id)
            if row is not None and row.version == live.version:
                break
            await asyncio.sleep(0.1)
        await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
        await handle.result()
    assert live.response_deadline is not None and live.response_deadline > case.response_deadline
    assert row is not None
    assert row.response_deadline == live.response_deadline
    assert row.next_deadline == live.response_deadline
    assert Decimal(row.amount_paid) == live.amount_paid == 5 * part
    stored = snapshot(CaseState.model_validate(row.snapshot), live.events)
    assert stored.amount_outstanding == AMOUNT_DUE - 5 * part
    assert stored == live  # field by field, the stored state is the workflow's
    with Session(engine) as session:
        rows = session.exec(select(PaymentRow).where(PaymentRow.audit_id == case.id)).all()
    assert sorted(p.reference for p in rows) == [f"P-{n}" for n in range(5)]


async def test_a_document_that_cannot_be_issued_tells_staff_and_leaves_the_case_movable(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    """The defect: a taken document number failed the render activity on every retry, for
    ever, and the case could never finish."""
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        with Session(engine) as session:
            taken = session.exec(select(DocumentRow).where(DocumentRow.audit_id == case.id))
            squatter = next(iter(taken)).model_copy(update={"id": "squatter"})
            squatter.number = f"{case.id}/Q1"
            session.add(DocumentRow.model_validate(squatter.model_dump()))
            session.commit()
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        asked = await handle.execute_update(
            CameralAudit.request_documents, DocumentRequest(items=["SWIFT copy"])
        )
        await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
        result: CaseSnapshot = await finished(handle)
    assert asked.status == AuditStatus.UNDER_REVIEW
    failed = [e for e in result.events if e.kind == "document_failed"]
    assert [e.details["document"] for e in failed] == [f"{case.id}/Q1"]
    assert "IntegrityError" in failed[0].details["reason"]
    told = [e.details["subject"] for e in result.events if e.kind == "staff_notified"]
    assert "A document could not be issued" in told
    assert result.status == AuditStatus.EXPLANATION_ACCEPTED
