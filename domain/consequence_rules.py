"""The rules of a case after a decision recognising the notification as unfulfilled.

Called by `domain/case_rules.decide` for the commands that only make sense once a decision
exists; pure like it: each function returns the events or raises `Refused`. What the
periods are and why is in `domain/consequences.py`.
"""

from datetime import date, datetime

from domain.case import Awaiting, CaseEvent, InspectionAct, MailReturned, Payment, PostalReceipt
from domain.case_state import CaseState, event, evolve
from domain.clock import close_of_business, end_of_day, local_date
from domain.consequences import (
    Appeal,
    AppealOutcome,
    FiledAppeal,
    RevocationDecision,
    last_day_to_fulfil,
    reduction_problem,
)
from domain.lifecycle import AuditStatus, EventKind
from domain.notices import DocumentKind
from domain.refusals import Phrase, Refused, Value


def fold(state: CaseState, events: list[CaseEvent]) -> CaseState:
    for item in events:
        state = evolve(state, item)
    return state


# ---- serving the decision ------------------------------------------------------------------


def deliver_decision(
    state: CaseState, channel: str, reference: str, on: date, now: datetime
) -> list[CaseEvent]:
    """The decision reached the party on `on`: the appeal period counts from the next day."""
    if state.decision_number is None or state.decision_delivered_on is not None:
        return []
    return [
        event(
            EventKind.DECISION_DELIVERED,
            now,
            document=state.decision_number,
            channel=channel,
            reference=reference,
            delivered_on=on.isoformat(),
        )
    ]


def decision_receipt(state: CaseState, receipt: PostalReceipt, now: datetime) -> list[CaseEvent]:
    """A postal receipt, or the representative's signature, for a decision served on paper."""
    awaited: Awaiting = "hand_signature" if receipt.channel == "hand" else "postal_receipt"
    _require_decision_awaiting(state, awaited, Phrase.DECISION_RECEIPT)
    _require_since_decided(state, Phrase.DELIVERED_ON, receipt.delivered_on, now)
    return deliver_decision(state, receipt.channel, receipt.receipt_no, receipt.delivered_on, now)


def decision_returned(state: CaseState, returned: MailReturned, now: datetime) -> list[CaseEvent]:
    """The decision's letter came back: as for the notification, the address is inspected
    and the act's date is delivery (the appeal period counts from it)."""
    _require_decision_awaiting(state, "postal_receipt", Phrase.RETURNED_MAIL)
    _require_since_decided(state, Phrase.RETURNED_ON, returned.returned_on, now)
    return [
        event(
            EventKind.MAIL_RETURNED,
            now,
            document=state.decision_number,
            returned_on=returned.returned_on.isoformat(),
            reason=returned.reason,
        )
    ]


def decision_inspection_act(state: CaseState, act: InspectionAct, now: datetime) -> list[CaseEvent]:
    _require_decision_awaiting(state, "inspection_act", Phrase.INSPECTION_ACT_RECORD)
    _require_since_decided(state, Phrase.ACT_DATE, act.act_date, now)
    served = deliver_decision(state, "inspection_act", act.act_no, act.act_date, now)
    for item in served:
        item.details["finding"] = act.finding
    return served


def _require_decision_awaiting(state: CaseState, awaited: Awaiting, what: Phrase) -> None:
    if state.decision_awaiting != awaited:
        waiting = state.decision_awaiting
        current: Value = Phrase(waiting) if waiting else state.status
        raise Refused(
            "wrong_state", "not_awaited", what=what, awaiting=Phrase(awaited), now=current
        )


def _require_since_decided(state: CaseState, field: Phrase, day: date, now: datetime) -> None:
    assert state.decided_on is not None
    today = local_date(now)
    if not state.decided_on <= day <= today:
        raise Refused(
            "invalid_input",
            "date_out_of_range",
            str(field),
            subject=field,
            day=day,
            earliest=state.decided_on,
            since=Phrase.DECIDED,
            today=today,
        )


# ---- the appeal ----------------------------------------------------------------------------


def file_appeal(state: CaseState, appeal: Appeal, now: datetime) -> list[CaseEvent]:
    """An appeal within the period holds the decision (and every measure) until decided."""
    if state.appeal is not None:
        raise Refused("wrong_state", "appeal_exists", filed_at=state.appeal.filed_at)
    if state.status != AuditStatus.UNFULFILLED:
        raise Refused(
            "wrong_state",
            "wrong_status",
            what=Phrase.APPEAL,
            expected=AuditStatus.UNFULFILLED,
            status=state.status,
        )
    if state.decision_number is None:
        raise Refused("wrong_state", "decision_not_issued")
    deadline = state.appeal_deadline
    if deadline is not None and (state.final_on is not None or now >= end_of_day(deadline)):
        raise Refused("wrong_state", "appeal_period_passed", deadline=deadline)
    filed = FiledAppeal(**appeal.model_dump(), filed_at=now)
    return [
        event(
            EventKind.APPEAL_FILED,
            now,
            appeal=filed.model_dump(mode="json"),
            authority=appeal.authority,
            documents=list(appeal.documents),
        )
    ]


def decide_appeal(state: CaseState, outcome: AppealOutcome, now: datetime) -> list[CaseEvent]:
    """The appeal's outcome: the decision stands (and is final today), the notification is
    annulled, or it is reduced to what the party still owes (final today as reduced)."""
    if state.status != AuditStatus.APPEALED:
        raise Refused(
            "wrong_state",
            "wrong_status",
            what=Phrase.APPEAL_OUTCOME,
            expected=AuditStatus.APPEALED,
            status=state.status,
        )
    details = {
        "outcome": outcome.outcome,
        "reasons": outcome.reasons or "",
        "decided_by": outcome.decided_by or state.inspector_id,
    }
    if outcome.outcome == "annulled":
        why = "the notification was annulled on appeal"
        reason = f"{why}: {outcome.reasons}" if outcome.reasons else why
        return [event(EventKind.APPEAL_DECIDED, now, **details, reason=reason)]
    events: list[CaseEvent] = []
    if outcome.charges is not None:
        assert state.charges is not None
        problem = reduction_problem(state.charges, outcome.charges)
        if problem:
            raise Refused("invalid_input", problem, "charges", total=str(state.charges.total))
        events.append(
            event(
                EventKind.CHARGES_REDUCED,
                now,
                charges=outcome.charges.model_dump(mode="json"),
                previous=state.charges.model_dump(mode="json"),
                reason="appeal",
            )
        )
    events.append(event(EventKind.APPEAL_DECIDED, now, **details))
    events.append(event(EventKind.DECISION_FINAL, now, final_on=local_date(now).isoformat()))
    events += _revocation_proposed(fold(state, events), now)
    return then_settled(state, events, now)


# ---- the periods ---------------------------------------------------------------------------


def appeal_period_over(state: CaseState, now: datetime) -> list[CaseEvent]:
    due = state.appeal_deadline
    if state.status != AuditStatus.UNFULFILLED or due is None:
        return []
    if state.final_on is not None or state.appeal is not None or now < end_of_day(due):
        return []
    return [event(EventKind.DECISION_FINAL, now, final_on=due.isoformat())]


def suspension_due(state: CaseState, now: datetime) -> list[CaseEvent]:
    """The debt is still unpaid on the last day the period allows: order the banks to
    suspend debit operations (Art. 125). Not while a revocation waits for a supervisor."""
    due = state.suspension_due
    if state.status != AuditStatus.UNFULFILLED or due is None:
        return []
    if state.suspension_number or state.settled_on or state.revocation_proposed:
        return []
    if now < close_of_business(due):
        return []
    today = local_date(now)
    owed = state.settlement_as_of(today)
    return [
        event(
            EventKind.SUSPENSION_ORDERED,
            now,
            number=state.next_number(DocumentKind.SUSPENSION_ORDER),
            ordered_on=today.isoformat(),
            decision=state.decision_number,
            amount_owed=str(owed.outstanding if owed else 0),
        )
    ]


# ---- payments and the revocation -----------------------------------------------------------


def payment_after_decision(
    state: CaseState, received: CaseEvent, payment: Payment, now: datetime
) -> list[CaseEvent]:
    """A payment posted after the decision counts against the debt; one dated early enough
    may show the decision was wrong (`_revocation_proposed`)."""
    events = [received, *_revocation_proposed(fold(state, [received]), now)]
    return then_settled(state, events, now)


def _revocation_proposed(state: CaseState, now: datetime) -> list[CaseEvent]:
    """Payments dated early enough to have fulfilled the notification, had the treasury
    posted them in time, flag the case for a supervisor, who may revoke the decision. Asked
    again when an appeal is decided (a reduction may make them enough, and one posted while
    the appeal ran is judged then)."""
    if state.status not in (AuditStatus.UNFULFILLED, AuditStatus.APPEALED):
        return []
    last = last_day_to_fulfil(state.decided_on, state.response_deadline)
    if state.revocation_proposed or last is None:
        return []
    dated_in_time = [p for p in state.payments if p.paid_at <= last]
    if not dated_in_time:
        return []
    # judged as the case would have been had the treasury posted them in time
    settlement = state.settlement_as_of(max(p.paid_at for p in dated_in_time))
    if settlement is None or not settlement.fulfilled:
        return []
    return [
        event(
            EventKind.REVOCATION_PROPOSED,
            now,
            dated_up_to=last.isoformat(),
            references=[p.reference for p in dated_in_time],
            decision=state.decision_number,
        )
    ]


def decide_revocation(
    state: CaseState, decision: RevocationDecision, role: str, now: datetime
) -> list[CaseEvent]:
    if role != "supervisor":
        raise Refused("forbidden", "supervisor_only", what=Phrase.REVOKE)
    if state.status != AuditStatus.UNFULFILLED or not state.revocation_proposed:
        raise Refused("wrong_state", "no_revocation_proposed")
    if state.decision_number is None:  # decided on a day off: issued the next working day
        raise Refused("wrong_state", "decision_not_issued")
    who = decision.decided_by or state.inspector_id
    if decision.decision == "keep":
        return [event(EventKind.REVOCATION_DECLINED, now, reasons=decision.reasons, decided_by=who)]
    revoked = event(
        EventKind.DECISION_REVOKED,
        now,
        number=state.next_number(DocumentKind.REVOCATION),
        decision=state.decision_number,
        reasons=decision.reasons or "",
        decided_by=who,
    )
    return [revoked, *_lift(fold(state, [revoked]), now)]


def then_settled(state: CaseState, events: list[CaseEvent], now: datetime) -> list[CaseEvent]:
    """`events`, followed by DEBT_SETTLED once the payments cover the debt with its penalty
    to the day of the last payment, and the lifting of a suspension (at once: within the
    period of `PERIODS["lifting"]`)."""
    after = fold(state, events)
    if after.status != AuditStatus.UNFULFILLED or after.settled_on is not None:
        return events
    settlement = after.settlement()
    if settlement is None or not settlement.fulfilled:
        return events
    settled = event(
        EventKind.DEBT_SETTLED,
        now,
        as_of=settlement.as_of.isoformat(),
        amount_paid=str(after.amount_paid),
        late_penalty=str(settlement.late_penalty),
    )
    return [*events, settled, *_lift(evolve(after, settled), now)]


def _lift(state: CaseState, now: datetime) -> list[CaseEvent]:
    if state.suspension_number is None or state.lifting_number is not None:
        return []
    return [
        event(
            EventKind.SUSPENSION_LIFTED,
            now,
            number=state.next_number(DocumentKind.LIFTING_ORDER),
            suspension=state.suspension_number,
            requested_on=local_date(now).isoformat(),
        )
    ]
