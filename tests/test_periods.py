"""The periods of a case on the time-skipping test server with the real worker: deadlines
that pass, decisions on their working days, reminders, recounts after a calendar change."""

import asyncio
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from config import Settings
from db.models import CalendarOverrideRow, DocumentRow
from devsinks.mail import MailSink
from domain.calendar import WorkingCalendar, response_deadline
from domain.case import (
    Cancellation,
    CaseSnapshot,
    InspectionAct,
    MailReturned,
    Payment,
)
from domain.clock import ALMATY, close_of_business, end_of_day, local_date
from domain.lifecycle import AuditStatus, EventKind
from domain.notices import DocumentKind
from tests.cases import (
    decided,
    finished,
    first_day_off_after,
    milestones,
    posted_case,
    start_case,
    wait_for,
)
from tests.factories import AMOUNT_DUE, audit_start, explanation_for, review_order
from worker import build_worker
from workflows.cameral_audit import CameralAudit
from workflows.search_attributes import REVIEW_OVERDUE, STATUS


async def wait_for_documents(
    handle: Any, kind: DocumentKind, count: int, timeout: float = 30
) -> CaseSnapshot:
    for _ in range(int(timeout * 10)):
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        issued = [e for e in case.events if e.details.get("document_kind") == kind]
        if len(issued) >= count:
            return case
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} {kind} documents were issued")


@pytest.mark.parametrize("decision", ["accept", "reject"])
async def test_a_decision_taken_on_a_day_off_is_issued_on_the_next_working_day(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
    decision: str,
) -> None:
    """A decision names its own date, and that date is a working day: an inspector who
    decides on a Saturday has the document issued (and delivered, and the appeal period
    counted) from the next working day, never dated a day off."""
    calendar = WorkingCalendar()
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        now = await time_env.get_current_time()
        day_off = first_day_off_after(local_date(now))
        at = datetime.combine(day_off, time(11), tzinfo=ALMATY)
        await time_env.sleep(at - now)
        reasons = {"reasons": "price unproven"} if decision == "reject" else {}
        await handle.execute_update(CameralAudit.review, review_order(decision=decision, **reasons))
        if decision == "reject":  # runs on after the decision: read it once served
            result = await decided(time_env, handle)
        else:
            result = await finished(handle)
    kind = DocumentKind.ACCEPTANCE if decision == "accept" else DocumentKind.DECISION
    with Session(engine) as session:
        issued = session.exec(
            select(DocumentRow).where(DocumentRow.audit_id == result.id, DocumentRow.kind == kind)
        ).one()
    working_day = calendar.nth_working_day_after(day_off, 1)
    assert issued.issued_on == working_day and calendar.is_working_day(issued.issued_on)
    delivered = [e for e in result.events if e.kind == EventKind.DELIVERY_ATTEMPT]
    assert local_date(delivered[-1].at) >= working_day


async def test_silence_until_the_deadline_is_unfulfilled(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        result = await decided(time_env, handle)
    assert result.status == AuditStatus.UNFULFILLED
    decision = next(e for e in result.events if e.kind == EventKind.DECISION_UNFULFILLED)
    assert case.response_deadline is not None
    # Decided after the treasury's posting lag: at the close of the next working day after
    # the 20th, and dated that working day (never a weekend or holiday).
    calendar = WorkingCalendar()
    decision_day = calendar.nth_working_day_after(case.response_deadline, 1)
    assert decision.at >= close_of_business(decision_day)
    assert local_date(decision.at) == decision_day
    assert decision.details["decided_on"] == decision_day.isoformat()
    assert calendar.is_working_day(decision_day)


async def test_a_payment_made_on_the_last_day_and_posted_next_morning_fulfils(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        assert case.response_deadline is not None
        next_morning = end_of_day(case.response_deadline) + timedelta(hours=9)
        await time_env.sleep(next_morning - await time_env.get_current_time())
        waiting: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        await handle.execute_update(
            CameralAudit.record_payment,
            Payment(reference="LAST-DAY", amount=AMOUNT_DUE, paid_at=case.response_deadline),
        )
        result: CaseSnapshot = await finished(handle)
    assert waiting.status == AuditStatus.AWAITING_RESPONSE  # not decided at 00:00
    assert result.status == AuditStatus.FULFILLED
    assert result.settlement is not None and result.settlement.late_penalty == 0


async def test_explanation_after_the_deadline_is_refused(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await time_env.sleep(timedelta(days=40))
        closed = await wait_for(handle, AuditStatus.UNFULFILLED)
        with pytest.raises((RPCError, WorkflowUpdateFailedError)):  # closed or closing
            await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
    assert closed.explanation_received_on is None
    assert EventKind.DECISION_UNFULFILLED in milestones(closed)
    assert EventKind.EXPLANATION_RECEIVED not in milestones(closed)


async def test_overdue_review_is_flagged_and_still_decidable(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        reviewing = await handle.execute_update(
            CameralAudit.submit_explanation, explanation_for(case)
        )
        assert reviewing.review_deadline is not None
        await time_env.sleep(timedelta(days=30))
        overdue: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        attributes = (await handle.describe()).typed_search_attributes
        with pytest.raises(WorkflowUpdateFailedError) as by_inspector:
            await handle.execute_update(
                CameralAudit.review, review_order(decision="accept", decided_by="I-001")
            )
        taken = await handle.execute_update(
            CameralAudit.review,
            review_order(role="supervisor", decision="accept", decided_by="S-1"),
        )
        await handle.result()
    assert overdue.status == AuditStatus.UNDER_REVIEW
    assert overdue.overdue is True
    assert EventKind.REVIEW_OVERDUE in milestones(overdue)
    assert EventKind.ESCALATED in milestones(overdue)
    assert attributes.get(REVIEW_OVERDUE) is True
    assert attributes.get(STATUS) == "UNDER_REVIEW"
    assert taken.status == AuditStatus.EXPLANATION_ACCEPTED
    # The rule is the workflow's own, not the read model's: an inspector is refused.
    refusal = by_inspector.value.cause
    assert isinstance(refusal, ApplicationError) and refusal.type == "Forbidden"


async def test_calendar_change_rearms_the_running_deadline(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        old = case.response_deadline
        assert old is not None
        with Session(engine) as session:
            session.add(CalendarOverrideRow(day=old, working=False, note="decree"))
            session.commit()
        await handle.signal(CameralAudit.calendar_changed)
        for _ in range(50):
            moved: CaseSnapshot = await handle.query(CameralAudit.snapshot)
            if moved.response_deadline != old:
                break
            await asyncio.sleep(0.1)
        assert moved.response_deadline is not None and moved.response_deadline > old
        # Past the old deadline the case is still open: the timer followed the decree.
        await time_env.sleep(
            end_of_day(old) - await time_env.get_current_time() + timedelta(hours=1)
        )
        still_open: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        result = await decided(time_env, handle)
    assert still_open.status == AuditStatus.AWAITING_RESPONSE
    assert result.status == AuditStatus.UNFULFILLED
    decision = next(e for e in result.events if e.kind == EventKind.DECISION_UNFULFILLED)
    assert decision.at >= end_of_day(moved.response_deadline)


async def test_reminders_go_out_5_and_1_working_days_before_the_deadline(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
    mail_sink: MailSink,
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        assert case.response_deadline is not None
        calendar = WorkingCalendar()
        expected = [calendar.working_days_before(case.response_deadline, n) for n in (5, 1)]
        now = await time_env.get_current_time()
        at_nine = datetime.combine(expected[1], time(9, 30), tzinfo=ALMATY)
        await time_env.sleep(at_nine - now)
        reminded = await wait_for_documents(handle, DocumentKind.REMINDER, 2)
        await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
        await handle.result()
    issued = [e for e in reminded.events if e.details.get("document_kind") == "reminder"]
    assert [local_date(e.at) for e in issued] == expected
    assert all(e.at.astimezone(ALMATY).time() >= time(9, 0) for e in issued)
    numbers = [e.details["document"] for e in issued]
    assert numbers == [f"{case.id}/R1", f"{case.id}/R2"]
    assert any(numbers[1] in str(m["Subject"]) for m in mail_sink.messages)


async def test_inspection_act_overdue_is_flagged_and_staff_told(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle, posted = await posted_case(time_env.client, task_queue)
        returned = await handle.execute_update(
            CameralAudit.record_mail_returned,
            MailReturned(returned_on=posted.issued_on, reason="no one at the address"),
        )
        assert returned.inspection_deadline is not None
        await time_env.sleep(timedelta(days=20))  # past 5 working days even over Nauryz
        overdue: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        act_date = returned.inspection_deadline + timedelta(days=1)
        served = await handle.execute_update(
            CameralAudit.record_inspection_act,
            InspectionAct(act_no="A-9", act_date=act_date, finding="party_absent"),
        )
        await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
        await handle.result()
    assert overdue.status == AuditStatus.ISSUED and overdue.awaiting == "inspection_act"
    assert EventKind.INSPECTION_OVERDUE in milestones(overdue)
    assert served.delivered_on == act_date
    assert served.response_deadline == response_deadline(act_date)
