"""The scenarios recorded for tests/test_replay.py: each drives a case through one branch of
its lifecycle on the time-skipping server and returns its handle."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config import Settings
from db.models import CalendarOverrideRow
from domain.case import (
    Cancellation,
    CaseSnapshot,
    DocumentRequest,
    DocumentsProvided,
    InspectionAct,
    MailReturned,
    Payment,
    PostalReceipt,
)
from domain.clock import ALMATY, local_date
from domain.lifecycle import AuditStatus
from tests.cases import (
    decided,
    first_day_off_after,
    posted_case,
    start_case,
    until_after_decision,
    wait_for,
)
from tests.factories import (
    AMOUNT_DUE,
    audit_start,
    explanation_for,
    review_order,
    revocation_order,
)
from workflows.cameral_audit import CameralAudit

Handle = WorkflowHandle[Any, Any]
Scenario = Callable[[WorkflowEnvironment, str, Engine, Settings], Awaitable[Handle]]


async def _awaiting(env: WorkflowEnvironment, queue: str, **overrides: Any) -> tuple[Handle, Any]:
    handle = await start_case(env.client, queue, audit_start(**overrides))
    return handle, await wait_for(handle, AuditStatus.AWAITING_RESPONSE)


async def accepted(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await _awaiting(env, queue)
    await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
    await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
    return handle


async def accepted_on_a_day_off(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await _awaiting(env, queue)
    await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
    now = await env.get_current_time()
    day_off = first_day_off_after(local_date(now))
    await env.sleep(datetime.combine(day_off, time(11), tzinfo=ALMATY) - now)
    await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
    return handle


async def rejected(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await _awaiting(env, queue)
    await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
    await handle.execute_update(
        CameralAudit.review, review_order(decision="reject", reasons="price unproven")
    )
    return handle


async def partial_payments(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await _awaiting(env, queue)
    first = Decimal("1000000.00")
    for reference, amount in (("R-1", first), ("R-1", first), ("R-2", AMOUNT_DUE - first)):
        payment = Payment(reference=reference, amount=amount, paid_at=case.issued_on)
        await handle.execute_update(CameralAudit.record_payment, payment)
    return handle


async def silent(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, _ = await _awaiting(env, queue)
    return handle


async def cancelled(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, _ = await _awaiting(env, queue)
    await handle.execute_update(CameralAudit.cancel, Cancellation(reason="withdrawn"))
    return handle


async def calendar_change(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await _awaiting(env, queue)
    with Session(engine) as session:
        session.add(CalendarOverrideRow(day=case.response_deadline, working=False))
        session.commit()
    await handle.signal(CameralAudit.calendar_changed)
    for _ in range(50):
        moved = await handle.query(CameralAudit.snapshot)
        if moved.response_deadline != case.response_deadline:
            break
        await asyncio.sleep(0.1)
    return handle


async def document_requests(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await _awaiting(env, queue)
    await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
    await handle.execute_update(
        CameralAudit.request_documents, DocumentRequest(items=["SWIFT copy"])
    )
    await handle.execute_update(
        CameralAudit.provide_documents, DocumentsProvided(request_id="R1", documents=["d-1"])
    )
    await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
    return handle


async def overdue_review(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await _awaiting(env, queue)
    await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
    await env.sleep(timedelta(days=30))
    await handle.execute_update(
        CameralAudit.review, review_order(role="supervisor", decision="accept")
    )
    return handle


async def registered_mail(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await posted_case(env.client, queue)
    receipt = PostalReceipt(delivered_on=case.issued_on, receipt_no="RR1")
    await handle.execute_update(CameralAudit.record_postal_receipt, receipt)
    await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
    return handle


async def returned_mail(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle, case = await posted_case(env.client, queue)
    returned = MailReturned(returned_on=case.issued_on, reason="absent")
    answer = await handle.execute_update(CameralAudit.record_mail_returned, returned)
    assert answer.inspection_deadline is not None
    await env.sleep(timedelta(days=12))
    act_date = answer.inspection_deadline + timedelta(1)
    act = InspectionAct(act_no="A-1", act_date=act_date, finding="party_absent")
    await handle.execute_update(CameralAudit.record_inspection_act, act)
    await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
    return handle


async def hand_delivery(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    handle = await start_case(env.client, queue, audit_start(delivery_method="hand"))
    for _ in range(100):
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        if case.awaiting == "hand_signature":
            break
        await asyncio.sleep(0.1)
    signed = PostalReceipt(channel="hand", delivered_on=case.issued_on, receipt_no="signed")
    await handle.execute_update(CameralAudit.record_postal_receipt, signed)
    await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
    return handle


async def alert_retrying(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    gateway = settings.sms_gateway_url.removesuffix("/messages")
    async with httpx.AsyncClient(base_url=gateway) as faults:
        await faults.post("/faults", json={"mode": "fail", "times": 3})
    handle, _ = await _awaiting(env, queue)
    for _ in range(200):
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        sms = [e for e in case.events if e.details.get("channel") == "sms"]
        if sms and sms[-1].details.get("status") == "sent":
            break
        await asyncio.sleep(0.1)
    assert any(e.kind == "alert_retrying" for e in case.events)
    await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
    return handle


async def suspended_then_paid(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    """Unpaid after the decision: the appeal period ends, the banks are ordered to suspend,
    the debt is paid and the order is lifted; then the case ends."""
    handle, _ = await _awaiting(env, queue)
    await decided(env, handle)
    await env.sleep(timedelta(days=21))  # past the appeal period and the suspension's
    await until_after_decision(handle, "suspension_order")
    today = local_date(await env.get_current_time())
    enough = AMOUNT_DUE + Decimal("200000.00")  # the debt with its penalty, and a credit
    await handle.execute_update(
        CameralAudit.record_payment, Payment(reference="DEBT", amount=enough, paid_at=today)
    )
    return handle


async def revoked(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    """A payment dated on the deadline is posted after the decision; a supervisor revokes."""
    handle, case = await _awaiting(env, queue)
    await decided(env, handle)
    paid = Payment(reference="ON-TIME", amount=AMOUNT_DUE, paid_at=case.response_deadline)
    await handle.execute_update(CameralAudit.record_payment, paid)
    await handle.execute_update(CameralAudit.decide_revocation, revocation_order())
    return handle


async def payment_while_deciding(
    env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
) -> Handle:
    """Rejected on a day off after the response deadline; a payment is posted while the
    decision waits for the working day, then the rest, dated that day off too."""
    handle, case = await _awaiting(env, queue)
    await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
    now = await env.get_current_time()
    day_off = first_day_off_after(case.response_deadline)
    await env.sleep(datetime.combine(day_off, time(11), tzinfo=ALMATY) - now)
    await handle.execute_update(
        CameralAudit.review,
        review_order(role="supervisor", decision="reject", reasons="not proven"),
    )
    await wait_for(handle, AuditStatus.UNFULFILLED)
    late = local_date(await env.get_current_time())
    await handle.signal(
        CameralAudit.post_payment,
        Payment(reference="LATE", amount=Decimal("1000.00"), paid_at=late),
    )
    await decided(env, handle)
    enough = AMOUNT_DUE + Decimal("200000.00")
    await handle.execute_update(
        CameralAudit.record_payment, Payment(reference="REST", amount=enough, paid_at=late)
    )
    # dated the day the decision was taken: a supervisor may revoke it, and does
    await until_after_decision(handle, "revocation_proposed")
    await handle.execute_update(CameralAudit.decide_revocation, revocation_order())
    return handle


def then_cancelled(scenario: Scenario) -> Scenario:
    """The scenario, and the case cancelled before its deadline decides it (a case decided
    unpaid never ends, so its history could not be recorded)."""

    async def run(
        env: WorkflowEnvironment, queue: str, engine: Engine, settings: Settings
    ) -> Handle:
        handle = await scenario(env, queue, engine, settings)
        await handle.execute_update(CameralAudit.cancel, Cancellation(reason="test over"))
        return handle

    return run


# Cases left unpaid after a decision never end, so the decided branches are recorded through
# suspended_then_paid and revoked.
_EVERY_ENDING_BRANCH: dict[str, Scenario] = {
    "accepted": accepted,
    "partial_payments": partial_payments,
    "cancelled": cancelled,
    "calendar_change": then_cancelled(calendar_change),
    "document_requests": document_requests,
    "overdue_review": overdue_review,
    "registered_mail": registered_mail,
    "returned_mail_inspection_act": returned_mail,
    "hand_delivery": hand_delivery,
    "alert_retrying": alert_retrying,
    "accepted_on_a_day_off": accepted_on_a_day_off,
    "suspended_then_paid": suspended_then_paid,
    "revoked": revoked,
    "payment_while_deciding": payment_while_deciding,
}

SCENARIOS: dict[str, Scenario] = {
    "accepted": accepted,
    "rejected": rejected,
    "partial_payments": partial_payments,
    "silent": silent,  # recorded before the decision waited for the posting lag
    "silent_posting_lag": silent,
    "cancelled": cancelled,
    "calendar_change": calendar_change,
    "document_requests": document_requests,
    "overdue_review": overdue_review,
    "registered_mail": registered_mail,
    "returned_mail_inspection_act": returned_mail,
    "hand_delivery": hand_delivery,
    "alert_retrying": alert_retrying,  # recorded before outcomes were recorded as they came
    "alert_outcomes_as_they_come": alert_retrying,
    "accepted_on_a_day_off": accepted_on_a_day_off,
    "suspended_then_paid": suspended_then_paid,  # recorded before the projection was held
    "revoked": revoked,  # likewise
    # Recorded after bookkeeping events waited for the next write (projection-held-until-rest)
    "accepted_projection_held": accepted,
    "rejected_projection_held": rejected,
    "partial_payments_projection_held": partial_payments,
    "silent_projection_held": silent,
    "cancelled_projection_held": cancelled,
    "calendar_change_projection_held": calendar_change,
    "document_requests_projection_held": document_requests,
    "overdue_review_projection_held": overdue_review,
    "registered_mail_projection_held": registered_mail,
    "returned_mail_inspection_act_projection_held": returned_mail,
    "hand_delivery_projection_held": hand_delivery,
    "alert_retrying_projection_held": alert_retrying,
    "accepted_on_a_day_off_projection_held": accepted_on_a_day_off,
    "suspended_then_paid_projection_held": suspended_then_paid,
    "revoked_projection_held": revoked,
    # recorded before the follow-up (the payment is refused as closed), then after it
    "payment_while_deciding": payment_while_deciding,
    "payment_while_deciding_followed_up": payment_while_deciding,
    # recorded after the follow-up's documents were dated on working days
    "suspended_then_paid_orders_in_turn": suspended_then_paid,
    "revoked_orders_in_turn": revoked,
    # recorded after each milestone of workflows/versions.py (a case started since one asks
    # only it): our own short steps as local activities, then a handover that stops waiting,
    # then one local step at a time
    **{f"{name}_local_steps": scenario for name, scenario in _EVERY_ENDING_BRANCH.items()},
    **{f"{name}_handover": scenario for name, scenario in _EVERY_ENDING_BRANCH.items()},
    **{f"{name}_one_step": scenario for name, scenario in _EVERY_ENDING_BRANCH.items()},
}
