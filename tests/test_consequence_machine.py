"""A decided case under any order of payments, appeals, outcomes, revocations and time,
driven by hypothesis through the pure rules."""

import contextlib
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.case import (
    CaseEvent,
    Payment,
)
from domain.case_commands import (
    Command,
    DeadlinePassed,
    DecideAppeal,
    DecideRevocation,
    FileAppeal,
    RecordPayment,
    SetDeadline,
)
from domain.charges import Charges
from domain.clock import local_date
from domain.consequences import (
    AppealOutcome,
    RevocationDecision,
    last_day_to_fulfil,
)
from domain.lifecycle import AuditStatus, EventKind
from domain.refusals import Refused
from tests.factories import AMOUNT_DUE
from tests.rule_cases import APPEAL, CALENDAR, DEADLINE, Case


class AfterDecisionMachine(RuleBasedStateMachine):
    """A decided case under any order of payments (dated in time or late), appeals,
    outcomes, revocations and time: banks are ordered only on a final, unpaid decision that
    no appeal or revocation holds, released once paid, and no payment is lost."""

    @initialize()
    def decided(self) -> None:
        self.case = Case()
        self.case.decided_on_silence(date(2026, 3, 4))
        self.case.served(date(2026, 3, 5))
        self.posted: dict[str, Decimal] = {}
        self.events: list[CaseEvent] = []

    def apply(self, command: Command) -> None:
        with contextlib.suppress(Refused):
            self.events += self.case.do(command)

    @rule(hours=st.integers(min_value=1, max_value=24 * 10))
    def time_passes(self, hours: int) -> None:
        self.case.now += timedelta(hours=hours)
        for period in ("appeal", "suspension"):
            self.apply(DeadlinePassed(period))
        state = self.case.state
        if state.final_on and state.suspension_due is None:
            due = CALENDAR.nth_working_day_after(state.final_on, 5)
            self.apply(SetDeadline("suspension", due))

    @rule(
        reference=st.sampled_from(["P1", "P2", "P3"]),
        share=st.sampled_from([Decimal("0.3"), Decimal("1"), Decimal("1.1")]),
        in_time=st.booleans(),
    )
    def payment(self, reference: str, share: Decimal, in_time: bool) -> None:
        amount = (AMOUNT_DUE * share).quantize(Decimal("0.01"))
        paid_at = DEADLINE if in_time else local_date(self.case.now)
        already = self.case.state.paid_reference(reference)
        self.apply(RecordPayment(Payment(reference=reference, amount=amount, paid_at=paid_at)))
        if not already and self.case.state.paid_reference(reference):
            self.posted[reference] = amount

    @rule()
    def appeal(self) -> None:
        self.apply(FileAppeal(APPEAL))

    @rule(outcome=st.sampled_from(["upheld", "annulled", "reduced"]))
    def appeal_decided(self, outcome: str) -> None:
        charges = Charges(customs_duty=Decimal("1000")) if outcome == "reduced" else None
        reasons = None if outcome == "upheld" else "ruling R-1"
        self.apply(DecideAppeal(AppealOutcome(outcome=outcome, charges=charges, reasons=reasons)))

    @rule(decision=st.sampled_from(["revoke", "keep"]))
    def supervisor(self, decision: str) -> None:
        reasons = "another notification" if decision == "keep" else None
        self.apply(
            DecideRevocation(RevocationDecision(decision=decision, reasons=reasons), "supervisor")
        )

    @invariant()
    def orders_follow_the_rules(self) -> None:
        state = self.case.state
        for item in self.events:
            if item.kind == EventKind.SUSPENSION_ORDERED:
                assert Decimal(item.details["amount_owed"]) > 0
        if state.suspension_number:
            assert state.final_on is not None and state.appeal_outcome != "annulled"
        if state.suspension_number and (state.settled_on or state.revocation_number):
            assert state.lifting_number is not None
        if state.lifting_number:
            assert state.suspension_number is not None

    @invariant()
    def no_payment_lost(self) -> None:
        assert {p.reference: p.amount for p in self.case.state.payments} == self.posted

    @invariant()
    def revoked_only_when_paid_in_time(self) -> None:
        state = self.case.state
        if state.revocation_number:
            last = last_day_to_fulfil(state.decided_on, state.response_deadline)
            assert last is not None and any(p.paid_at <= last for p in state.payments)
            assert self.case.state.status == AuditStatus.FULFILLED


AfterDecisionMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=25, deadline=None
)
TestAfterDecision = AfterDecisionMachine.TestCase
