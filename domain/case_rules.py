"""The rules of a case: what each command does to it, or why it is refused.

`decide(state, command, now)` is pure and synchronous: it returns the events a command
causes (possibly none, when the command is stale) or raises `Refused` with the reason a user
is shown. The workflow calls it from update validators (to refuse early, changing nothing)
and from handlers, timers and activity results (to change the case before its next `await`),
so two requests that race can never both pass a rule that only one of them may pass.
"""

from datetime import date, datetime

from domain import review_rules
from domain.case import (
    CaseEvent,
    Payment,
)
from domain.case_commands import (
    Cancel,
    Command,
    DeadlinePassed,
    DecideAppeal,
    DecideRevocation,
    DeliverDecision,
    DispatchMail,
    FileAppeal,
    FixTerms,
    Period,
    PlaceInCabinet,
    PrepareHandover,
    ProvideDocuments,
    Reassign,
    RecordInspectionAct,
    RecordPayment,
    RecordReceipt,
    RecordReturned,
    Remind,
    RequestDocuments,
    Review,
    SetDeadline,
    SubmitExplanation,
    TermsFailed,
)
from domain.case_state import CaseState, event
from domain.clock import close_of_business, end_of_day, local_date
from domain.consequence_rules import (
    appeal_period_over,
    decide_appeal,
    decide_revocation,
    decision_inspection_act,
    decision_receipt,
    decision_returned,
    deliver_decision,
    file_appeal,
    payment_after_decision,
    suspension_due,
)
from domain.lifecycle import AuditStatus, EventKind
from domain.notices import DocumentKind
from domain.refusals import Phrase, Refused
from domain.shared_rules import (
    require_awaiting,
    require_date_between,
    require_open,
    require_status,
    then_fulfil,
)
from domain.storable import MAX_AMOUNT

# ---- the rules -----------------------------------------------------------------------------


def decide(state: CaseState, command: Command, now: datetime) -> list[CaseEvent]:
    """The events `command` causes in `state` at `now`; raises `Refused` if it is not taken."""
    today = local_date(now)
    match command:
        case FixTerms(base_rates, penalty_terms, assessment):
            if state.terms_fixed:
                return []
            details = {
                "base_rates": base_rates.model_dump(mode="json"),
                "penalty_terms": penalty_terms.model_dump(mode="json"),
            }
            if assessment is None:
                return then_fulfil(state, [event(EventKind.TERMS_FIXED, now, **details)], now)
            assessed = event(
                EventKind.CHARGES_ASSESSED,
                now,
                **details,
                assessment=assessment.model_dump(mode="json"),
                lines=len(assessment.lines),
                amount_due=str(assessment.charges.total),
                penalty=str(assessment.penalty),
            )
            return then_fulfil(state, [assessed], now)
        case TermsFailed(reason):
            if state.status != AuditStatus.ISSUED:
                return []
            why = f"charges could not be assessed: {reason}"
            return [event(EventKind.CANCELLED, now, reason=why, cancelled_by="system")]
        case DispatchMail(documents):
            require_status(state, AuditStatus.ISSUED, Phrase.DISPATCH)
            return [event(EventKind.MAIL_DISPATCHED, now, documents=list(documents))]
        case PrepareHandover(documents):
            require_status(state, AuditStatus.ISSUED, Phrase.HANDOVER)
            return [event(EventKind.HANDOVER_PREPARED, now, documents=list(documents))]
        case PlaceInCabinet(reference, placed_on):
            if state.status != AuditStatus.ISSUED or state.delivered_on is not None:
                return []
            return [_delivered(now, "cabinet", reference, placed_on)]
        case DeliverDecision(reference, placed_on):
            return deliver_decision(state, "cabinet", reference, placed_on, now)
        case RecordReceipt(receipt):
            if state.status != AuditStatus.ISSUED and state.decision_number is not None:
                return decision_receipt(state, receipt, now)
            if receipt.channel == "hand":
                require_awaiting(state, "hand_signature", Phrase.HAND_SIGNATURE_RECEIPT)
            else:
                require_awaiting(state, "postal_receipt", Phrase.POSTAL_RECEIPT_RECORD)
            require_date_between(
                Phrase.DELIVERED_ON, receipt.delivered_on, state.issued_on, today, Phrase.ISSUED
            )
            return [_delivered(now, receipt.channel, receipt.receipt_no, receipt.delivered_on)]
        case RecordReturned(returned):
            if state.status != AuditStatus.ISSUED and state.decision_number is not None:
                return decision_returned(state, returned, now)
            require_awaiting(state, "postal_receipt", Phrase.RETURNED_MAIL)
            require_date_between(
                Phrase.RETURNED_ON, returned.returned_on, state.issued_on, today, Phrase.ISSUED
            )
            return [
                event(
                    EventKind.MAIL_RETURNED,
                    now,
                    returned_on=returned.returned_on.isoformat(),
                    reason=returned.reason,
                )
            ]
        case RecordInspectionAct(act):
            if state.status != AuditStatus.ISSUED and state.decision_number is not None:
                return decision_inspection_act(state, act, now)
            require_awaiting(state, "inspection_act", Phrase.INSPECTION_ACT_RECORD)
            assert state.returned_on is not None
            require_date_between(
                Phrase.ACT_DATE, act.act_date, state.returned_on, today, Phrase.MAIL_CAME_BACK
            )
            delivered = _delivered(now, "inspection_act", act.act_no, act.act_date)
            delivered.details["finding"] = act.finding
            return [delivered]
        case SetDeadline():
            return _set_deadline(state, command, now)
        case RecordPayment(payment, counts_after_decision):
            return _payment(state, payment, now, counts_after_decision)
        case SubmitExplanation(explanation):
            return [review_rules.explanation(state, explanation, now)]
        case RequestDocuments(request):
            return [review_rules.document_request(state, request, now)]
        case ProvideDocuments(provided):
            return [review_rules.documents_provided(state, provided, now)]
        case Review(decision, role):
            return review_rules.review(state, decision, role, now)
        case Cancel(cancellation):
            require_open(state, Phrase.CANCELLED)
            return [
                event(
                    EventKind.CANCELLED,
                    now,
                    reason=cancellation.reason,
                    cancelled_by=cancellation.cancelled_by or state.inspector_id,
                )
            ]
        case Reassign(reassignment):
            require_open(state, Phrase.REASSIGNED)
            return [
                event(
                    EventKind.REASSIGNED,
                    now,
                    previous=state.inspector_id,
                    inspector_id=reassignment.inspector_id,
                    by=reassignment.by,
                )
            ]
        case FileAppeal(appeal):
            return file_appeal(state, appeal, now)
        case DecideAppeal(outcome):
            return decide_appeal(state, outcome, now)
        case DecideRevocation(decision, role):
            return decide_revocation(state, decision, role, now)
        case DeadlinePassed("appeal"):
            return appeal_period_over(state, now)
        case DeadlinePassed("suspension"):
            return suspension_due(state, now)
        case DeadlinePassed(deadline):
            return _deadline_passed(state, deadline, now)
        case Remind(day, left):
            if state.status != AuditStatus.AWAITING_RESPONSE or day in state.reminders_sent:
                return []
            return [
                event(
                    EventKind.REMINDER_DUE,
                    now,
                    day=day.isoformat(),
                    working_days_left=left,
                    number=state.next_number(DocumentKind.REMINDER),
                )
            ]
    raise AssertionError(f"unknown command {command!r}")


def _delivered(now: datetime, channel: str, reference: str, on: date) -> CaseEvent:
    return event(
        EventKind.DELIVERED, now, channel=channel, reference=reference, delivered_on=on.isoformat()
    )


def _set_deadline(state: CaseState, command: SetDeadline, now: datetime) -> list[CaseEvent]:
    """Keep a counted deadline if the case still runs against it; a stale count is dropped."""
    current = {
        "response": state.response_deadline,
        "review": state.review_deadline,
        "inspection": state.inspection_deadline,
    }
    current["decision"] = state.decision_due
    current["appeal"] = state.appeal_deadline
    current["suspension"] = state.suspension_due
    after_decision = state.status == AuditStatus.UNFULFILLED
    running = {
        "decision": state.status == AuditStatus.AWAITING_RESPONSE and state.explanation is None,
        "response": state.delivered_on is not None
        and state.status in (AuditStatus.ISSUED, AuditStatus.AWAITING_RESPONSE),
        "review": state.status == AuditStatus.UNDER_REVIEW,
        "inspection": state.awaiting == "inspection_act",
        "appeal": after_decision
        and state.decision_delivered_on is not None
        and state.final_on is None
        and state.appeal is None,
        "suspension": after_decision
        and state.final_on is not None
        and state.suspension_number is None,
    }
    name = command.deadline
    if name == "documents":
        request = state.request(command.request_id or "")
        if request is None or request.deadline == command.day:
            return []
    elif not running[name] or current[name] == command.day:
        return []
    set_ = event(
        EventKind.DEADLINE_SET,
        now,
        deadline=name,
        day=command.day.isoformat(),
        reason=command.reason,
        **({"request_id": command.request_id} if command.request_id else {}),
    )
    return then_fulfil(state, [set_], now) if name == "response" else [set_]


def _payment(
    state: CaseState, payment: Payment, now: datetime, counts_after_decision: bool = True
) -> list[CaseEvent]:
    details = {
        "reference": payment.reference,
        "amount": str(payment.amount),
        "paid_at": payment.paid_at.isoformat(),
        "payment_kind": payment.kind,
    }
    if state.paid_reference(payment.reference):
        return [event(EventKind.PAYMENT_DUPLICATE, now, reference=payment.reference)]
    after_decision = counts_after_decision and state.status in (
        AuditStatus.UNFULFILLED,
        AuditStatus.APPEALED,
    )
    if not state.open and not after_decision:
        return [event(EventKind.PAYMENT_AFTER_CLOSE, now, status=str(state.status), **details)]
    if state.amount_paid + payment.amount > MAX_AMOUNT:
        raise Refused("invalid_input", "payments_too_large", "amount", limit=str(MAX_AMOUNT))
    received = event(
        EventKind.PAYMENT_RECEIVED, now, payment=payment.model_dump(mode="json"), **details
    )
    if after_decision:
        return payment_after_decision(state, received, payment, now)
    return then_fulfil(state, [received], now)


def _deadline_passed(state: CaseState, deadline: Period, now: datetime) -> list[CaseEvent]:
    """What the end of a period means, judged from the settled state, never mid-handler."""
    if deadline == "response":
        due = state.response_deadline
        if state.status != AuditStatus.AWAITING_RESPONSE or due is None:
            return []
        if now < end_of_day(due) or state.explanation is not None:
            return []
        if state.decision_due is not None and now < close_of_business(state.decision_due):
            return []  # payments dated within the period may still be posted
        return [
            event(
                EventKind.DECISION_UNFULFILLED,
                now,
                reason="no payment and no explanation by the response deadline",
                decided_on=local_date(now).isoformat(),
            )
        ]
    if deadline == "review":
        due = state.review_deadline
        if state.status != AuditStatus.UNDER_REVIEW or state.overdue or due is None:
            return []
        if now < end_of_day(due):
            return []
        return [
            event(EventKind.REVIEW_OVERDUE, now, review_deadline=due.isoformat()),
            event(EventKind.ESCALATED, now, customs_office=state.start.customs_office),
        ]
    due = state.inspection_deadline
    if state.awaiting != "inspection_act" or state.inspection_overdue or due is None:
        return []
    if now < end_of_day(due):
        return []
    return [event(EventKind.INSPECTION_OVERDUE, now, inspection_deadline=due.isoformat())]
