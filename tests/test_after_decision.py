"""What follows an unfulfilled decision, on the time-skipping test server with the real
worker, the local banks' interface and the documents store: the appeal period from the
decision's delivery, an appeal and its outcome, the suspension order and its lifting, and a
supervisor's revocation after a late-posted payment dated in time."""

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from config import Settings
from db.models import DocumentRow
from domain.calendar import WorkingCalendar
from domain.case import CaseSnapshot, Payment, PostalReceipt
from domain.case_commands import DecideRevocation
from domain.case_rules import decide
from domain.case_state import evolve, initial_state
from domain.charges import Charges
from domain.clock import local_date
from domain.consequences import Appeal, AppealOutcome, RevocationDecision
from domain.lifecycle import AuditStatus, EventKind
from domain.notices import DocumentKind
from tests.cases import decided, finished, posted_case, start_case, until_after_decision, wait_for
from tests.factories import (
    AMOUNT_DUE,
    audit_start,
    explanation_for,
    review_order,
    revocation_order,
)
from worker import build_worker
from workflows.cameral_audit import CameralAudit
from workflows.messages import CarriedCase

APPEAL = Appeal(authority="higher_authority", grounds="The price is proven", documents=["d-1"])


async def bank_orders(bank_gateway: str, audit_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=bank_gateway) as bank:
        orders: list[dict[str, Any]] = (await bank.get("/orders")).json()
    return [o for o in orders if o["audit_id"] == audit_id]


def documents_of(engine: Engine, audit_id: str) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(select(DocumentRow).where(DocumentRow.audit_id == audit_id)).all()
    return {row.number: row.kind for row in rows}


async def test_unpaid_the_banks_are_ordered_after_the_appeal_period_and_released_on_payment(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
    bank_gateway: str,
) -> None:
    calendar = WorkingCalendar()
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        served = await decided(time_env, handle)
        after = served.after_decision
        assert after is not None and after.delivered_on is not None
        await until_after_decision(handle, "appeal_deadline")
        await time_env.sleep(timedelta(days=25))  # the appeal period, then the suspension's
        ordered = await until_after_decision(handle, "suspension_order")
        orders = await bank_orders(bank_gateway, served.id)
        today = local_date(await time_env.get_current_time())
        owed = AMOUNT_DUE + Decimal("100000.00")  # the debt with its penalty, and a credit
        await handle.execute_update(
            CameralAudit.record_payment, Payment(reference="DEBT", amount=owed, paid_at=today)
        )
        result: CaseSnapshot = await finished(handle)  # nothing left to do: the case ends
        released = await bank_orders(bank_gateway, served.id)
    final = ordered.after_decision
    assert final is not None and final.appeal_deadline is not None and final.final_on
    assert final.appeal_deadline == calendar.nth_working_day_after(after.delivered_on, 5)
    assert final.final_on == final.appeal_deadline
    assert final.suspension_due == calendar.nth_working_day_after(final.final_on, 5)
    assert final.suspended_on == final.suspension_due
    assert [o["order"] for o in orders] == ["suspend"]
    assert orders[0]["document_number"] == f"{served.id}/S1"
    assert Decimal(orders[0]["amount_owed"]) > AMOUNT_DUE  # the penalty since the deadline
    assert [o["order"] for o in released] == ["suspend", "lift"]
    assert released[1]["document_number"] == f"{served.id}/L1"
    assert result.status == AuditStatus.UNFULFILLED
    assert result.after_decision is not None
    assert result.after_decision.debt_settled_on == today
    # Lifted the day it is paid; paid on a day off, on the next working day (the order is
    # dated on a working day). Which it is depends on the day this test runs.
    assert result.after_decision.lifted_on == calendar.working_day_on_or_after(today)
    issued = documents_of(engine, served.id)
    assert issued[f"{served.id}/S1"] == DocumentKind.SUSPENSION_ORDER
    assert issued[f"{served.id}/L1"] == DocumentKind.LIFTING_ORDER
    sent = [
        e.details["channel"]
        for e in result.events
        if e.kind == EventKind.DELIVERY_ATTEMPT and e.details["document"].endswith("/S1")
    ]
    assert "bank" in sent and "cabinet" in sent  # the banks, and a copy to the party


async def test_an_appeal_holds_the_measures_until_its_outcome(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
    bank_gateway: str,
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        served = await decided(time_env, handle)
        await until_after_decision(handle, "appeal_deadline")
        appealed = await handle.execute_update(CameralAudit.file_appeal, APPEAL)
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update(CameralAudit.file_appeal, APPEAL)
        await time_env.sleep(timedelta(days=30))  # no order while the appeal runs
        waiting: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        quiet = await bank_orders(bank_gateway, served.id)
        reduced = AppealOutcome(
            outcome="reduced", charges=Charges(customs_duty=Decimal(300000)), reasons="ruling R-1"
        )
        decided_on = local_date(await time_env.get_current_time())
        outcome = await handle.execute_update(CameralAudit.decide_appeal, reduced)
    assert appealed.status == AuditStatus.APPEALED
    refusal = twice.value.cause
    assert isinstance(refusal, ApplicationError) and "already filed" in str(refusal)
    assert waiting.status == AuditStatus.APPEALED and quiet == []
    assert outcome.status == AuditStatus.UNFULFILLED
    assert outcome.charges is not None and outcome.charges.total == Decimal("300000")
    assert outcome.after_decision is not None
    assert outcome.after_decision.appeal_outcome == "reduced"
    assert outcome.after_decision.final_on == decided_on


async def test_a_payment_dated_in_time_posted_late_lets_a_supervisor_revoke(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await decided(time_env, handle)
        paid = Payment(reference="ON-TIME", amount=AMOUNT_DUE, paid_at=case.response_deadline)
        posted = await handle.execute_update(CameralAudit.record_payment, paid)
        flagged = await until_after_decision(handle, "revocation_proposed")
        with pytest.raises(WorkflowUpdateFailedError) as by_inspector:
            await handle.execute_update(
                CameralAudit.decide_revocation, revocation_order(role="inspector")
            )
        revoked = await handle.execute_update(CameralAudit.decide_revocation, revocation_order())
        result: CaseSnapshot = await finished(handle)
    assert posted.result == "accepted"
    assert flagged.after_decision is not None and flagged.after_decision.revocation_proposed
    told = [e.details["subject"] for e in result.events if e.kind == EventKind.STAFF_NOTIFIED]
    assert "A decision may have to be revoked" in told
    refusal = by_inspector.value.cause
    assert isinstance(refusal, ApplicationError) and refusal.type == "Forbidden"
    assert revoked.status == result.status == AuditStatus.FULFILLED
    assert documents_of(engine, result.id)[f"{result.id}/V1"] == DocumentKind.REVOCATION


async def test_a_decision_on_paper_counts_its_appeal_period_from_the_receipt(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    calendar = WorkingCalendar()
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle, posted = await posted_case(time_env.client, task_queue)
        served_on = posted.issued_on
        await handle.execute_update(
            CameralAudit.record_postal_receipt,
            PostalReceipt(delivered_on=served_on, receipt_no="RR-N"),
        )
        sent = await decided(time_env, handle)
        assert sent.after_decision is not None
        assert sent.after_decision.awaiting_receipt == "postal_receipt"
        assert sent.after_decision.appeal_deadline is None  # not before delivery
        received_on = local_date(await time_env.get_current_time())
        counted = await handle.execute_update(
            CameralAudit.record_postal_receipt,
            PostalReceipt(delivered_on=received_on, receipt_no="RR-D"),
        )
        for _ in range(100):
            case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
            if case.after_decision and case.after_decision.appeal_deadline:
                break
            await asyncio.sleep(0.1)
    assert counted.after_decision is not None
    assert counted.after_decision.delivered_on == received_on
    assert case.after_decision is not None
    assert case.after_decision.appeal_deadline == calendar.nth_working_day_after(received_on, 5)


async def workflow_task_failures(handle: Any) -> list[str]:
    failures = []
    async for item in handle.fetch_history_events():
        if item.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failures.append(item.workflow_task_failed_event_attributes.failure.message)
    return failures


async def test_the_suspension_day_passing_while_a_revocation_waits_is_no_busy_loop(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
    bank_gateway: str,
) -> None:
    """The defect: the suspension's timer was set although the rule could not fire (a
    revocation waited); once its moment passed the follow-up looped without yielding, the
    SDK reported a deadlock and no update could be taken any more."""
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await decided(time_env, handle)
        await until_after_decision(handle, "appeal_deadline")
        for _ in range(30):  # a day at a time until the suspension's day is counted
            await time_env.sleep(timedelta(days=1))
            await asyncio.sleep(0.3)
            counted: CaseSnapshot = await handle.query(CameralAudit.snapshot)
            if counted.after_decision and counted.after_decision.suspension_due:
                break
        paid = Payment(reference="ON-TIME", amount=AMOUNT_DUE, paid_at=case.response_deadline)
        await handle.execute_update(CameralAudit.record_payment, paid)
        await until_after_decision(handle, "debt_settled_on")
        await time_env.sleep(timedelta(days=12))  # past the suspension day's 18:00
        revoked = await handle.execute_update(CameralAudit.decide_revocation, revocation_order())
        await handle.result()
        failures = await workflow_task_failures(handle)
    assert failures == []
    assert revoked.status == AuditStatus.FULFILLED
    assert revoked.after_decision is not None and revoked.after_decision.suspension_order is None


async def test_a_paper_decision_appealed_before_its_receipt_is_followed_after_the_outcome(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
    bank_gateway: str,
) -> None:
    """The party appeals from the letter before the receipt is recorded; upheld, the
    decision is final and unpaid: the banks are ordered (before: the case waited forever)."""
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle, posted = await posted_case(time_env.client, task_queue)
        await handle.execute_update(
            CameralAudit.record_postal_receipt,
            PostalReceipt(delivered_on=posted.issued_on, receipt_no="RR-N"),
        )
        sent = await decided(time_env, handle)
        await handle.execute_update(CameralAudit.file_appeal, APPEAL)
        await handle.execute_update(CameralAudit.decide_appeal, AppealOutcome(outcome="upheld"))
        await until_after_decision(handle, "suspension_due")
        await time_env.sleep(timedelta(days=30))
        ordered = await until_after_decision(handle, "suspension_order")
    assert ordered.after_decision is not None
    assert ordered.after_decision.appeal_deadline is None  # never delivered on record
    assert ordered.after_decision.suspension_order == f"{sent.id}/S1"


async def test_a_revocation_carried_into_a_new_run_is_issued_there(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
) -> None:
    """A revocation taken in the activation where the history asked to continue as new
    leaves a FULFILLED case with its notice (and any lifting order) still to issue: the next
    run issues them (before: it ended at once, and the banks were never told)."""
    start = audit_start()
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, start)
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await decided(time_env, handle)
        paid = Payment(reference="ON-TIME", amount=AMOUNT_DUE, paid_at=case.response_deadline)
        await handle.execute_update(CameralAudit.record_payment, paid)
        flagged = await until_after_decision(handle, "revocation_proposed")
        state = initial_state(start, flagged.issued_on)
        for item in flagged.events:
            state = evolve(state, item)
        revocation = DecideRevocation(RevocationDecision(decision="revoke"), "supervisor")
        revoked = decide(state, revocation, await time_env.get_current_time())
        for item in revoked:
            state = evolve(state, item)
        carried = CarriedCase(
            state=state, events=[*flagged.events, *revoked], published=len(flagged.events)
        )
        next_run = await time_env.client.start_workflow(
            CameralAudit.run,
            args=[start, carried],
            id=f"{start.audit_id}-next",
            task_queue=task_queue,
        )
        result: CaseSnapshot = await finished(next_run)
    assert result.status == AuditStatus.FULFILLED
    assert f"{start.audit_id}/V1" in documents_of(engine, start.audit_id)


async def test_an_explanation_accepted_in_part_with_the_rest_paid_tells_the_party(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    """The rest was paid before the review: the case is FULFILLED and the party gets a
    notice naming the declarations accepted and not (before: nothing was issued)."""
    declarations = ["55201/050326/0001234", "55201/050326/0001235"]
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(
            time_env.client, task_queue, audit_start(declarations=declarations)
        )
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        await handle.execute_update(
            CameralAudit.record_payment,
            Payment(reference="P-1", amount=Decimal("700000.00"), paid_at=case.issued_on),
        )
        part = review_order(
            decision="accept_in_part",
            reasons="the second declaration's price is not proven",
            accepted=[declarations[0]],
            charges={"customs_duty": "331065.00", "vat": "305779.80"},
        )
        reviewed = await handle.execute_update(CameralAudit.review, part)
        result: CaseSnapshot = await finished(handle)
    assert reviewed.status == result.status == AuditStatus.FULFILLED
    with Session(engine) as session:
        notice = session.exec(
            select(DocumentRow).where(
                DocumentRow.audit_id == case.id, DocumentRow.kind == DocumentKind.ACCEPTANCE
            )
        ).one()
    assert declarations[0] in notice.text and declarations[1] in notice.text
    assert "частично" in notice.text  # the party's language is Russian
