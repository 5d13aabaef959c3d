"""A case driven through the pure rules as the workflow drives it, one command at a time,
with the dates the rule tests share (around Nauryz 2026 and 8 March)."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from db.reference import load_rate_tables
from domain.calendar import WorkingCalendar
from domain.case import (
    CaseEvent,
    Payment,
)
from domain.case_commands import (
    Command,
    DeadlinePassed,
    DeliverDecision,
    FixTerms,
    PlaceInCabinet,
    RecordPayment,
    SetDeadline,
)
from domain.case_rules import decide
from domain.case_state import CaseState, event, evolve, initial_state
from domain.clock import ALMATY
from domain.consequences import (
    Appeal,
)
from domain.lifecycle import EventKind
from domain.notices import DocumentKind
from domain.penalty import UNRECORDED
from domain.refusals import Refused
from tests.factories import audit_start

RATES = load_rate_tables()
ISSUED = date(2026, 2, 2)
DEADLINE = date(2026, 3, 3)
CALENDAR = WorkingCalendar()


def at(day: date, hour: int = 11) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ALMATY)


class Case:
    """A case driven through the rules as the workflow drives it, one command at a time."""

    def __init__(self, **start: Any) -> None:
        self.state: CaseState = initial_state(audit_start(**start), ISSUED)
        self.now = at(ISSUED)
        for command in (
            FixTerms(RATES.base_rate, UNRECORDED),
            PlaceInCabinet("N1", ISSUED),
            SetDeadline("response", DEADLINE),
        ):
            self.do(command)

    def do(self, command: Command, when: datetime | None = None) -> list[CaseEvent]:
        events = decide(self.state, command, when or self.now)
        self.fold(events)
        return events

    def fold(self, events: list[CaseEvent]) -> None:
        for item in events:
            self.state = evolve(self.state, item)

    def refused(self, command: Command, when: datetime | None = None) -> Refused:
        with pytest.raises(Refused) as refusal:
            decide(self.state, command, when or self.now)
        return refusal.value

    def decided_on_silence(self, decided_on: date = date(2026, 3, 4)) -> None:
        """Silence: decided on the working day after the deadline, issued and placed."""
        self.do(SetDeadline("decision", decided_on), at(DEADLINE, 23))
        self.do(DeadlinePassed("response"), at(decided_on, 18))
        self.issue_decision(decided_on)

    def issue_decision(self, on: date) -> None:
        self.now = at(on, 18)
        number = self.state.next_number(DocumentKind.DECISION)
        self.fold(
            [
                event(
                    EventKind.DOCUMENT_ISSUED,
                    self.now,
                    document=number,
                    document_kind=str(DocumentKind.DECISION),
                    document_id="d1",
                    sha256="0" * 64,
                )
            ]
        )

    def served(self, on: date) -> None:
        self.do(DeliverDecision(self.state.decision_number or "", on), at(on, 18))
        self.do(SetDeadline("appeal", CALENDAR.nth_working_day_after(on, 5)))

    def pay(self, amount: Decimal, paid_at: date, reference: str = "P1") -> list[CaseEvent]:
        payment = Payment(reference=reference, amount=amount, paid_at=paid_at)
        return self.do(RecordPayment(payment))


def kinds(events: list[CaseEvent]) -> list[EventKind]:
    return [e.kind for e in events]


APPEAL = Appeal(authority="higher_authority", grounds="Price proven", documents=["doc-1"])
