"""The rules of a case: what each command does to it, or why it is refused.

`decide(state, command, now)` is pure and synchronous: it returns the events a command
causes (possibly none, when the command is stale) or raises `Refused` with the reason a user
is shown. The workflow calls it from update validators (to refuse early, changing nothing)
and from handlers, timers and activity results (to change the case before its next `await`),
so two requests that race can never both pass a rule that only one of them may pass.
"""

from datetime import date, datetime

from domain.case import (
    Awaiting,
    CaseEvent,
    DocumentRequest,
    DocumentsProvided,
    Explanation,
    Payment,
    RequestState,
    ReviewDecision,
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
from domain.case_state import CaseState, event, evolve
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
from domain.consequences import reduction_problem
from domain.lifecycle import AuditStatus, EventKind
from domain.notices import DocumentKind
from domain.refusals import Phrase, Refused, Value
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
                return _then_fulfil(state, [event(EventKind.TERMS_FIXED, now, **details)], now)
            assessed = event(
                EventKind.CHARGES_ASSESSED,
                now,
                **details,
                assessment=assessment.model_dump(mode="json"),
                lines=len(assessment.lines),
                amount_due=str(assessment.charges.total),
                penalty=str(assessment.penalty),
            )
            return _then_fulfil(state, [assessed], now)
        case TermsFailed(reason):
            if state.status != AuditStatus.ISSUED:
                return []
            why = f"charges could not be assessed: {reason}"
            return [event(EventKind.CANCELLED, now, reason=why, cancelled_by="system")]
        case DispatchMail(documents):
            _require_status(state, AuditStatus.ISSUED, Phrase.DISPATCH)
            return [event(EventKind.MAIL_DISPATCHED, now, documents=list(documents))]
        case PrepareHandover(documents):
            _require_status(state, AuditStatus.ISSUED, Phrase.HANDOVER)
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
                _require_awaiting(state, "hand_signature", Phrase.HAND_SIGNATURE_RECEIPT)
            else:
                _require_awaiting(state, "postal_receipt", Phrase.POSTAL_RECEIPT_RECORD)
            _require_date_between(
                Phrase.DELIVERED_ON, receipt.delivered_on, state.issued_on, today, Phrase.ISSUED
            )
            return [_delivered(now, receipt.channel, receipt.receipt_no, receipt.delivered_on)]
        case RecordReturned(returned):
            if state.status != AuditStatus.ISSUED and state.decision_number is not None:
                return decision_returned(state, returned, now)
            _require_awaiting(state, "postal_receipt", Phrase.RETURNED_MAIL)
            _require_date_between(
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
            _require_awaiting(state, "inspection_act", Phrase.INSPECTION_ACT_RECORD)
            assert state.returned_on is not None
            _require_date_between(
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
            return [_explanation(state, explanation, now)]
        case RequestDocuments(request):
            return [_document_request(state, request, now)]
        case ProvideDocuments(provided):
            return [_documents_provided(state, provided, now)]
        case Review(decision, role):
            return _review(state, decision, role, now)
        case Cancel(cancellation):
            _require_open(state, Phrase.CANCELLED)
            return [
                event(
                    EventKind.CANCELLED,
                    now,
                    reason=cancellation.reason,
                    cancelled_by=cancellation.cancelled_by or state.inspector_id,
                )
            ]
        case Reassign(reassignment):
            _require_open(state, Phrase.REASSIGNED)
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
    return _then_fulfil(state, [set_], now) if name == "response" else [set_]


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
    return _then_fulfil(state, [received], now)


def _then_fulfil(state: CaseState, events: list[CaseEvent], now: datetime) -> list[CaseEvent]:
    """`events`, followed by FULFILLED if after them the period runs and all is paid."""
    after = state
    for e in events:
        after = evolve(after, e)
    if after.status not in (AuditStatus.AWAITING_RESPONSE, AuditStatus.UNDER_REVIEW):
        return events
    settlement = after.settlement()
    if settlement is None or not settlement.fulfilled:
        return events
    fulfilled = event(
        EventKind.FULFILLED,
        now,
        amount_paid=str(after.amount_paid),
        as_of=settlement.as_of.isoformat(),
        late_penalty=str(settlement.late_penalty),
    )
    return [*events, fulfilled]


def _explanation(state: CaseState, explanation: Explanation, now: datetime) -> CaseEvent:
    _require_status(state, AuditStatus.AWAITING_RESPONSE, Phrase.EXPLANATION)
    if state.explanation is not None:
        raise Refused("wrong_state", "explanation_exists")
    assert state.response_deadline is not None
    if now >= end_of_day(state.response_deadline):
        raise Refused("wrong_state", "response_deadline_passed", deadline=state.response_deadline)
    expected: dict[Phrase, tuple[Value, Value]] = {
        Phrase.PARTY_BIN: (explanation.party_bin, state.start.party.bin),
        Phrase.NOTIFICATION_NUMBER: (explanation.notification_number, state.audit_id),
        Phrase.NOTIFICATION_DATE: (explanation.notification_date, state.issued_on),
    }
    for field, (given, wanted) in expected.items():
        if given != wanted:
            raise Refused(
                "invalid_input",
                "not_as_notified",
                str(field),
                subject=field,
                given=given,
                wanted=wanted,
            )
    return event(
        EventKind.EXPLANATION_RECEIVED,
        now,
        explanation=explanation.model_dump(mode="json"),
        received_on=local_date(now).isoformat(),
        signed_on=explanation.signed_on.isoformat(),
        documents=list(explanation.documents),
    )


def _document_request(state: CaseState, request: DocumentRequest, now: datetime) -> CaseEvent:
    _require_status(state, AuditStatus.UNDER_REVIEW, Phrase.DOCUMENT_REQUEST)
    reserved = RequestState(
        id=f"R{len(state.requests) + 1}",
        number=state.next_number(DocumentKind.DOCUMENT_REQUEST),
        items=request.items,
        requested_at=now,
        requested_by=request.requested_by or state.inspector_id,
    )
    return event(
        EventKind.DOCUMENTS_REQUESTED,
        now,
        request=reserved.model_dump(mode="json"),
        request_id=reserved.id,
        items=reserved.items,
        working_days=request.working_days,
        by=reserved.requested_by,
    )


def _documents_provided(state: CaseState, provided: DocumentsProvided, now: datetime) -> CaseEvent:
    _require_status(state, AuditStatus.UNDER_REVIEW, Phrase.DOCUMENTS)
    request = state.request(provided.request_id)
    if request is None:
        raise Refused("invalid_input", "no_such_request", "request_id", request=provided.request_id)
    if request.answered_at is not None:
        raise Refused(
            "wrong_state",
            "request_answered",
            request=request.id,
            answered_at=request.answered_at,
        )
    late = request.deadline is not None and now >= end_of_day(request.deadline)
    return event(
        EventKind.DOCUMENTS_PROVIDED,
        now,
        request_id=request.id,
        documents=list(provided.documents),
        requested_at=request.requested_at.isoformat(),
        late=late,
    )


def _review(
    state: CaseState, decision: ReviewDecision, role: str, now: datetime
) -> list[CaseEvent]:
    _require_status(state, AuditStatus.UNDER_REVIEW, Phrase.REVIEW)
    if state.overdue and role != "supervisor":
        raise Refused("forbidden", "review_overdue")
    who = decision.decided_by or state.inspector_id
    if decision.decision == "accept":
        return [event(EventKind.EXPLANATION_ACCEPTED, now, decided_by=who)]
    unfulfilled = event(
        EventKind.DECISION_UNFULFILLED, now, decided_by=who, reasons=decision.reasons
    )
    if decision.decision == "reject":
        return [unfulfilled]
    reduced = _accepted_in_part(state, decision, who, now)
    fulfilled = _then_fulfil(state, [reduced], now)
    return fulfilled if len(fulfilled) > 1 else [reduced, unfulfilled]


def _accepted_in_part(
    state: CaseState, decision: ReviewDecision, who: str, now: datetime
) -> CaseEvent:
    """The explanation holds for the `accepted` declarations: the party owes the charges of
    the others, recomputed from the lines (or given by the inspector for typed charges)."""
    declarations = state.start.declarations
    for number in decision.accepted:
        if number not in declarations:
            raise Refused("invalid_input", "not_a_declaration", "accepted", declaration=number)
    rejected = [d for d in declarations if d not in decision.accepted]
    if not rejected:
        raise Refused("invalid_input", "all_accepted", "accepted")
    assert state.charges is not None
    if state.assessment is not None:
        if decision.charges is not None:
            raise Refused("invalid_input", "charges_not_for_lines", "charges")
        owed = state.assessment.charges_for(rejected)
        if owed is None:
            raise Refused("invalid_input", "nothing_left", "accepted")
    else:
        if decision.charges is None:
            raise Refused("invalid_input", "charges_needed", "charges")
        owed = decision.charges
    # Accepting a part must lower what is owed (lines that add nothing change nothing).
    problem = reduction_problem(state.charges, owed)
    if problem:
        field = "charges" if state.assessment is None else "accepted"
        raise Refused("invalid_input", problem, field, total=str(state.charges.total))
    return event(
        EventKind.CHARGES_REDUCED,
        now,
        charges=owed.model_dump(mode="json"),
        previous=state.charges.model_dump(mode="json"),
        accepted=list(decision.accepted),
        rejected=rejected,
        reason="explanation accepted in part",
        decided_by=who,
    )


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


# ---- shared checks -------------------------------------------------------------------------


def _require_status(state: CaseState, expected: AuditStatus, what: Phrase) -> None:
    if state.status != expected:
        raise Refused(
            "wrong_state", "wrong_status", what=what, expected=expected, status=state.status
        )


def _require_open(state: CaseState, what: Phrase) -> None:
    if not state.open:
        raise Refused("wrong_state", "case_closed", status=state.status, what=what)


def _require_awaiting(state: CaseState, awaiting: Awaiting, what: Phrase) -> None:
    if state.status == AuditStatus.ISSUED and state.awaiting == awaiting:
        return
    if state.delivered_on is not None:
        raise Refused("wrong_state", "already_served", what=what, served_on=state.delivered_on)
    if state.awaiting == "inspection_act":
        assert state.returned_on is not None
        raise Refused("wrong_state", "mail_returned", what=what, returned_on=state.returned_on)
    now: Value = Phrase(state.awaiting) if state.awaiting else state.status
    raise Refused("wrong_state", "not_awaited", what=what, awaiting=Phrase(awaiting), now=now)


def _require_date_between(
    field: Phrase, day: date, earliest: date, today: date, since: Phrase
) -> None:
    if not earliest <= day <= today:
        raise Refused(
            "invalid_input",
            "date_out_of_range",
            str(field),
            subject=field,
            day=day,
            earliest=earliest,
            since=since,
            today=today,
        )
