"""The pure rules of a case, driven by hypothesis through any order of commands and time.

Whatever users, the treasury feed and the clock do, the case never takes a move the
lifecycle forbids, never loses or double-counts a payment, never shows a negative amount,
and every document number it reserves is unique.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from db.reference import load_rate_tables
from domain.case import (
    Cancellation,
    CaseEvent,
    DocumentRequest,
    DocumentsProvided,
    MailReturned,
    Payment,
    PostalReceipt,
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
    PlaceInCabinet,
    ProvideDocuments,
    RecordPayment,
    RecordReceipt,
    RecordReturned,
    RequestDocuments,
    Review,
    SetDeadline,
    SubmitExplanation,
)
from domain.case_rules import decide
from domain.case_state import CaseState, event, evolve, initial_state
from domain.case_view import snapshot
from domain.charges import Charges
from domain.clock import end_of_day
from domain.consequences import Appeal, AppealOutcome, RevocationDecision
from domain.lifecycle import TERMINAL, AuditStatus, EventKind
from domain.notices import DocumentKind
from domain.penalty import UNRECORDED
from domain.refusals import Refused
from tests.factories import AMOUNT_DUE, audit_start, explanation_for
from workflows.messages import CarriedCase
from workflows.payloads import data_converter

RATES = load_rate_tables()
ISSUED = date(2026, 3, 2)
START = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


class CaseMachine(RuleBasedStateMachine):
    """Commands in any order, at any time; refusals are allowed, broken invariants are not."""

    @initialize(delivery=st.sampled_from(["cabinet", "registered_mail"]))
    def start(self, delivery: str) -> None:
        start = audit_start(
            delivery_method=delivery,
            party={**audit_start().party.model_dump(), "address": "Almaty, Abay ave. 1"},
        )
        self.state: CaseState = initial_state(start, ISSUED)
        self.events: list[CaseEvent] = []
        self.now = START
        self.posted: dict[str, Decimal] = {}
        self.statuses = [self.state.status]
        self.apply(FixTerms(RATES.base_rate, UNRECORDED))

    def apply(self, command: Command) -> None:
        try:
            events = decide(self.state, command, self.now)
        except Refused:
            return
        for item in events:
            if item.kind == EventKind.EXPLANATION_RECEIVED:
                deadline = self.state.response_deadline
                assert deadline is not None and self.now < end_of_day(deadline), "late"
            self.state = evolve(self.state, item)
            self.events.append(item)
            if self.state.status != self.statuses[-1]:
                self.statuses.append(self.state.status)

    @rule(hours=st.integers(min_value=1, max_value=24 * 15))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        for deadline in ("response", "review", "inspection", "appeal", "suspension"):
            self.apply(DeadlinePassed(deadline))

    @rule()
    def decision_issued_and_placed(self) -> None:
        """What the workflow does once a case is decided unfulfilled."""
        state = self.state
        if state.status != AuditStatus.UNFULFILLED or state.decision_number is not None:
            return
        number = state.next_number(DocumentKind.DECISION)
        issued = event(
            EventKind.DOCUMENT_ISSUED,
            self.now,
            document=number,
            document_kind=str(DocumentKind.DECISION),
            document_id="d",
            sha256="0" * 64,
        )
        self.state = evolve(self.state, issued)
        self.events.append(issued)
        self.apply(DeliverDecision(number, self.now.date()))

    @rule(days=st.integers(min_value=1, max_value=20))
    def consequence_periods_counted(self, days: int) -> None:
        if self.state.decision_delivered_on:
            self.apply(SetDeadline("appeal", self.state.decision_delivered_on + timedelta(days)))
        if self.state.final_on:
            self.apply(SetDeadline("suspension", self.state.final_on + timedelta(days)))

    @rule(authority=st.sampled_from(["higher_authority", "court"]))
    def appeal(self, authority: str) -> None:
        filed = Appeal(authority=authority, grounds="value proven", documents=["doc-1"])
        self.apply(FileAppeal(filed))

    @rule(outcome=st.sampled_from(["upheld", "annulled", "reduced"]))
    def appeal_decided(self, outcome: str) -> None:
        charges = Charges(customs_duty=Decimal("1000")) if outcome == "reduced" else None
        reasons = None if outcome == "upheld" else "ruling R-1"
        self.apply(DecideAppeal(AppealOutcome(outcome=outcome, charges=charges, reasons=reasons)))

    @rule(
        decision=st.sampled_from(["revoke", "keep"]),
        role=st.sampled_from(["inspector", "supervisor"]),
    )
    def revocation(self, decision: str, role: str) -> None:
        reasons = "payment for another notification" if decision == "keep" else None
        self.apply(DecideRevocation(RevocationDecision(decision=decision, reasons=reasons), role))

    @rule()
    def served_in_cabinet(self) -> None:
        self.apply(PlaceInCabinet("N1", self.now.date()))

    @rule()
    def postal_receipt(self) -> None:
        self.apply(RecordReceipt(PostalReceipt(delivered_on=self.now.date(), receipt_no="RR1")))

    @rule(days=st.integers(min_value=1, max_value=40))
    def deadline_counted(self, days: int) -> None:
        if self.state.delivered_on:
            day = self.state.delivered_on + timedelta(days=days)
            self.apply(SetDeadline("response", day))
        if self.state.explanation_received_on:
            day = self.state.explanation_received_on + timedelta(days=days)
            self.apply(SetDeadline("review", day))

    @rule(
        reference=st.sampled_from(["T-1", "T-2", "T-3", "T-4"]),
        share=st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal("1"), Decimal("1.2")]),
        kind=st.sampled_from([None, "customs_duty", "vat", "penalty"]),
    )
    def payment(self, reference: str, share: Decimal, kind: str | None) -> None:
        amount = (AMOUNT_DUE * share).quantize(Decimal("0.01"))
        paid = Payment(reference=reference, amount=amount, paid_at=self.now.date(), kind=kind)
        before = self.state.paid_reference(reference)
        self.apply(RecordPayment(paid))
        if not before and self.state.paid_reference(reference):
            self.posted[reference] = amount

    @rule()
    def explanation(self) -> None:
        self.apply(SubmitExplanation(explanation_for(snapshot(self.state, self.events))))

    @rule()
    def request_documents(self) -> None:
        self.apply(RequestDocuments(DocumentRequest(items=["SWIFT copy"])))

    @rule(number=st.integers(min_value=1, max_value=3))
    def provide_documents(self, number: int) -> None:
        provided = DocumentsProvided(request_id=f"R{number}", documents=["doc-1"])
        self.apply(ProvideDocuments(provided))

    @rule(
        decision=st.sampled_from(["accept", "reject"]),
        role=st.sampled_from(["inspector", "supervisor"]),
    )
    def review(self, decision: str, role: str) -> None:
        reasons = "price unproven" if decision == "reject" else None
        self.apply(Review(ReviewDecision(decision=decision, reasons=reasons), role))

    @rule()
    def cancel(self) -> None:
        self.apply(Cancel(Cancellation(reason="withdrawn")))

    @invariant()
    def only_lifecycle_moves(self) -> None:
        # evolve checks every transition; here: a terminal state is left only by an appeal
        # (and its outcome) or a supervisor's revocation of an unfulfilled decision.
        kinds = [e.kind for e in self.events]
        for earlier, later in zip(self.statuses, self.statuses[1:], strict=False):
            if earlier == AuditStatus.UNFULFILLED:
                assert later == AuditStatus.APPEALED or EventKind.DECISION_REVOKED in kinds
            else:
                assert earlier not in TERMINAL or earlier == AuditStatus.APPEALED, (earlier, later)

    @invariant()
    def banks_are_ordered_only_on_a_final_unpaid_decision_and_released_when_paid(self) -> None:
        state = self.state
        if state.suspension_number is not None:
            assert state.final_on is not None
            ordered = next(e for e in self.events if e.kind == EventKind.SUSPENSION_ORDERED)
            assert Decimal(ordered.details["amount_owed"]) > 0
        if state.lifting_number is not None:
            assert state.suspension_number is not None
        if state.suspension_number and (state.settled_on or state.revocation_number):
            assert state.lifting_number is not None

    @invariant()
    def no_payment_lost_or_counted_twice(self) -> None:
        references = [p.reference for p in self.state.payments]
        assert len(references) == len(set(references))
        assert {p.reference: p.amount for p in self.state.payments} == self.posted
        assert self.state.amount_paid == sum(self.posted.values(), Decimal(0))

    @invariant()
    def amounts_never_negative(self) -> None:
        shown = snapshot(self.state, self.events)
        for figure in (shown.amount_due, shown.amount_paid, shown.amount_outstanding, shown.credit):
            assert figure >= 0

    @invariant()
    def fulfilled_means_nothing_outstanding(self) -> None:
        if self.state.status == AuditStatus.FULFILLED:
            assert snapshot(self.state, self.events).amount_outstanding == 0

    @invariant()
    def document_numbers_unique(self) -> None:
        numbers = [r.number for r in self.state.requests]
        assert len(numbers) == len(set(numbers))

    @invariant()
    def unfulfilled_for_silence_only_after_the_deadline(self) -> None:
        for item in self.events:
            if item.kind == EventKind.DECISION_UNFULFILLED and "reason" in item.details:
                assert self.state.response_deadline is not None
                assert self.state.explanation is None


CaseMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestCaseMachine = CaseMachine.TestCase


def test_a_full_payment_at_the_deadline_minute_fulfils_before_the_timer_decides() -> None:
    """The defect: settlement ran in an activity, so a timer firing meanwhile decided the
    case UNFULFILLED with nothing outstanding. Now the payment settles as it is recorded."""
    state = initial_state(audit_start(), ISSUED)
    for command in (
        FixTerms(RATES.base_rate, UNRECORDED),
        PlaceInCabinet("N1", ISSUED),
        SetDeadline("response", date(2026, 3, 31)),
    ):
        for item in decide(state, command, START):
            state = evolve(state, item)
    last_minute = datetime(2026, 3, 31, 18, 59, tzinfo=UTC)  # 23:59 in Almaty
    payment = Payment(reference="LAST", amount=AMOUNT_DUE, paid_at=date(2026, 3, 31))
    for item in decide(state, RecordPayment(payment), last_minute):
        state = evolve(state, item)
    assert state.status == AuditStatus.FULFILLED
    midnight = datetime(2026, 3, 31, 19, 0, tzinfo=UTC)
    assert decide(state, DeadlinePassed("response"), midnight) == []


def test_requests_at_the_same_moment_get_distinct_numbers() -> None:
    state = initial_state(audit_start(), ISSUED)
    for command in (
        FixTerms(RATES.base_rate, UNRECORDED),
        PlaceInCabinet("N1", ISSUED),
        SetDeadline("response", date(2026, 3, 31)),
    ):
        for item in decide(state, command, START):
            state = evolve(state, item)
    for item in decide(state, SubmitExplanation(explanation_for(snapshot(state, []))), START):
        state = evolve(state, item)
    for _ in range(2):
        for item in decide(state, RequestDocuments(DocumentRequest(items=["SWIFT"])), START):
            state = evolve(state, item)
    assert [r.number for r in state.requests] == [f"{state.audit_id}/Q1", f"{state.audit_id}/Q2"]


def test_a_second_postal_receipt_is_refused_with_the_first_one_named() -> None:
    start = audit_start(
        delivery_method="registered_mail",
        party={**audit_start().party.model_dump(), "address": "Almaty, Abay ave. 1"},
    )
    state = initial_state(start, ISSUED)
    later = START + timedelta(days=3)
    for command in (
        FixTerms(RATES.base_rate, UNRECORDED),
        DispatchMail(("N1", "M1")),
        RecordReceipt(PostalReceipt(delivered_on=date(2026, 3, 4), receipt_no="RR1")),
    ):
        for item in decide(state, command, later):
            state = evolve(state, item)
    for late in (
        RecordReceipt(PostalReceipt(delivered_on=date(2026, 3, 5), receipt_no="RR2")),
        RecordReturned(MailReturned(returned_on=date(2026, 3, 5), reason="absent")),
    ):
        try:
            decide(state, late, later)
        except Refused as refusal:
            assert refusal.code == "wrong_state"
            assert "already served on 2026-03-04" in refusal.message
        else:
            raise AssertionError(f"{late} was taken after the receipt")
    assert state.delivered_on == date(2026, 3, 4)


def test_the_staff_notices_sent_are_handed_to_the_next_run() -> None:
    """A run continuing as new carries its state: a notice staff already had (a decision
    that may have to be revoked) is not sent again by the next run."""
    state = initial_state(audit_start(), ISSUED)
    topic = "revocation_proposed:CA-2026-000001/D1"
    told = event(EventKind.STAFF_NOTIFIED, START, subject="A decision", delivered=True, topic=topic)
    state = evolve(state, told)
    carried = CarriedCase(state=state, events=[], published=1, first_index=1)
    payload = data_converter.payload_converter.to_payloads([carried])
    [handed] = data_converter.payload_converter.from_payloads(payload, [CarriedCase])
    assert handed.state.staff_told_of == (topic,)
