"""What the rules of both periods share: the checks that refuse a command in the words of
domain/refusals, and the step that ends a case as FULFILLED once its payments cover it."""

from datetime import date, datetime

from domain.case import Awaiting, CaseEvent
from domain.case_state import CaseState, event, evolve
from domain.lifecycle import AuditStatus, EventKind
from domain.refusals import Phrase, Refused, Value


def then_fulfil(state: CaseState, events: list[CaseEvent], now: datetime) -> list[CaseEvent]:
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


def require_status(state: CaseState, expected: AuditStatus, what: Phrase) -> None:
    if state.status != expected:
        raise Refused(
            "wrong_state", "wrong_status", what=what, expected=expected, status=state.status
        )


def require_open(state: CaseState, what: Phrase) -> None:
    if not state.open:
        raise Refused("wrong_state", "case_closed", status=state.status, what=what)


def require_awaiting(state: CaseState, awaiting: Awaiting, what: Phrase) -> None:
    if state.status == AuditStatus.ISSUED and state.awaiting == awaiting:
        return
    if state.delivered_on is not None:
        raise Refused("wrong_state", "already_served", what=what, served_on=state.delivered_on)
    if state.awaiting == "inspection_act":
        assert state.returned_on is not None
        raise Refused("wrong_state", "mail_returned", what=what, returned_on=state.returned_on)
    now: Value = Phrase(state.awaiting) if state.awaiting else state.status
    raise Refused("wrong_state", "not_awaited", what=what, awaiting=Phrase(awaiting), now=now)


def require_date_between(
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
