"""Every branch of DESIGN.md §2 on the time-skipping test server with the real worker."""

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.calendar import response_deadline, review_deadline
from domain.case import (
    Cancellation,
    CaseSnapshot,
    Payment,
)
from domain.clock import local_date
from domain.lifecycle import AuditStatus, EventKind
from tests.cases import decided, finished, milestones, start_case, wait_for
from tests.factories import AMOUNT_DUE, audit_start, explanation_for, review_order
from tests.test_charges_api import SEED_LINE
from worker import build_worker
from workflows.cameral_audit import CameralAudit


def kinds(case: CaseSnapshot) -> list[str]:
    return milestones(case)


async def test_paid_in_two_parts_with_a_duplicated_reference(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        assert case.delivered_on is not None
        assert case.response_deadline == response_deadline(case.delivered_on)

        first = Payment(reference="KZT-1", amount=Decimal("1000000.00"), paid_at=case.issued_on)
        await handle.signal(CameralAudit.post_payment, first)
        await handle.signal(CameralAudit.post_payment, first)
        rest = AMOUNT_DUE - first.amount
        await handle.signal(
            CameralAudit.post_payment,
            Payment(reference="KZT-2", amount=rest, paid_at=case.issued_on),
        )
        result: CaseSnapshot = await finished(handle)

    assert result.status == AuditStatus.FULFILLED
    assert result.amount_paid == AMOUNT_DUE
    assert result.amount_outstanding == 0
    assert kinds(result).count(EventKind.PAYMENT_RECEIVED) == 2
    assert kinds(result).count(EventKind.PAYMENT_DUPLICATE) == 1
    assert kinds(result)[-1] == EventKind.FULFILLED


async def test_explanation_accepted(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)

        reviewed = await handle.execute_update(
            CameralAudit.submit_explanation, explanation_for(case)
        )
        assert reviewed.status == AuditStatus.UNDER_REVIEW
        assert reviewed.explanation_received_on is not None
        assert reviewed.review_deadline == review_deadline(reviewed.explanation_received_on)

        accepted = await handle.execute_update(
            CameralAudit.review, review_order(decision="accept", decided_by="I-002")
        )
        assert accepted.status == AuditStatus.EXPLANATION_ACCEPTED
        result: CaseSnapshot = await finished(handle)
    assert result.status == AuditStatus.EXPLANATION_ACCEPTED
    accepted_event = next(e for e in result.events if e.kind == EventKind.EXPLANATION_ACCEPTED)
    assert accepted_event.details["decided_by"] == "I-002"


async def test_explanation_rejected_records_reasons(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        rejected = await handle.execute_update(
            CameralAudit.review,
            review_order(decision="reject", reasons="SWIFT copy does not match the invoice"),
        )
        result = await decided(time_env, handle)
    assert rejected.status == result.status == AuditStatus.UNFULFILLED
    assert result.decision_reasons == "SWIFT copy does not match the invoice"
    assert EventKind.DECISION_UNFULFILLED in kinds(result)
    assert result.after_decision is not None
    assert result.after_decision.decision_number == f"{case.id}/D1"


async def test_cancellation_then_nothing_more(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        cancelled = await handle.execute_update(
            CameralAudit.cancel, Cancellation(reason="Declaration annulled", cancelled_by="S-1")
        )
        result: CaseSnapshot = await finished(handle)
    assert cancelled.status == result.status == AuditStatus.CANCELLED
    assert result.cancel_reason == "Declaration annulled"


async def test_wrong_state_and_wrong_notification_are_refused_by_validators(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        with pytest.raises(WorkflowUpdateFailedError) as early_review:
            await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
        with pytest.raises(WorkflowUpdateFailedError) as wrong_number:
            await handle.execute_update(
                CameralAudit.submit_explanation,
                explanation_for(case, notification_number="CA-2026-999999"),
            )
        after = await handle.query(CameralAudit.snapshot)
        await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
        await handle.result()

    review_error = early_review.value.cause
    assert isinstance(review_error, ApplicationError)
    assert review_error.type == "WrongState"
    assert "AWAITING_RESPONSE" in review_error.message
    number_error = wrong_number.value.cause
    assert isinstance(number_error, ApplicationError)
    assert number_error.type == "InvalidInput"
    assert "notification_number" in number_error.message
    assert after.status == AuditStatus.AWAITING_RESPONSE
    assert kinds(after) == kinds(case)  # refused updates leave no trace in the case


async def test_full_payment_during_review_fulfils(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        await handle.signal(
            CameralAudit.post_payment,
            Payment(reference="KZT-9", amount=AMOUNT_DUE + 100, paid_at=case.issued_on),
        )
        result: CaseSnapshot = await finished(handle)
    assert result.status == AuditStatus.FULFILLED
    assert result.credit == Decimal("100")


async def test_paying_after_the_deadline_during_review_owes_the_late_penalty_too(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        await time_env.sleep(timedelta(days=40))  # past the response and review deadlines
        today = local_date(await time_env.get_current_time())
        await handle.signal(
            CameralAudit.post_payment,
            Payment(reference="LATE-1", amount=AMOUNT_DUE, paid_at=today),
        )
        short = await wait_for_payment(handle, "LATE-1")
        assert short.settlement is not None
        late_penalty = short.settlement.late_penalty
        await handle.signal(
            CameralAudit.post_payment,
            Payment(reference="LATE-2", amount=late_penalty, paid_at=today, kind="penalty"),
        )
        result: CaseSnapshot = await finished(handle)
    assert short.status == AuditStatus.UNDER_REVIEW and short.overdue
    assert late_penalty > 0 and short.amount_outstanding == late_penalty
    assert result.status == AuditStatus.FULFILLED
    assert result.amount_paid == AMOUNT_DUE + late_penalty


async def wait_for_payment(handle: Any, reference: str) -> CaseSnapshot:
    for _ in range(100):
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        if case.settlement and any(p.reference == reference for p in case.payments):
            return case
        await asyncio.sleep(0.1)
    raise AssertionError(f"payment {reference} was not settled")


async def test_a_case_whose_lines_charge_nothing_is_cancelled_by_the_system(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    """Started around the API's check (straight through Temporal): fixing its terms fails for
    good, and the case is cancelled with the reason instead of retrying for ever."""
    line = {"declared": SEED_LINE, "adjusted": SEED_LINE}
    start = audit_start(lines=[line], charges=None)
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, start)
        result = await finished(handle)
    assert result.status == AuditStatus.CANCELLED
    assert "charges could not be assessed" in (result.cancel_reason or "")
