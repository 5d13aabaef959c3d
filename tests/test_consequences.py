"""What follows an unfulfilled decision, as pure rules (domain/consequence_rules.py): the
appeal period from delivery, appeals and their outcomes, the revocation a late-posted payment
dated within the period allows, and the Art. 125 suspension and its lifting. Dates are
around Nauryz 2026 (21-25 March off)."""

from datetime import date
from decimal import Decimal

import pytest

from domain.case import (
    InspectionAct,
    MailReturned,
    PostalReceipt,
)
from domain.case_commands import (
    DeadlinePassed,
    DecideAppeal,
    DecideRevocation,
    FileAppeal,
    RecordInspectionAct,
    RecordReceipt,
    RecordReturned,
    SetDeadline,
)
from domain.case_view import snapshot
from domain.charges import Charges
from domain.consequences import (
    PERIODS,
    AppealOutcome,
    RevocationDecision,
)
from domain.lifecycle import AuditStatus, EventKind
from tests.factories import AMOUNT_DUE, audit_start
from tests.rule_cases import APPEAL, CALENDAR, DEADLINE, Case, at, kinds


def test_the_appeal_period_counts_from_delivery_across_nauryz() -> None:
    """Delivered on Thursday 19 March 2026: 20 March, then 26, 27, 30 and 31 March (Nauryz
    21-25 March off) make five working days; not counted from the decision's issue."""
    case = Case()
    case.decided_on_silence(date(2026, 3, 4))
    case.served(date(2026, 3, 19))
    assert PERIODS["appeal"].working_days == 5
    assert case.state.appeal_deadline == date(2026, 3, 31)
    shown = snapshot(case.state, []).after_decision
    assert shown is not None and shown.appeal_deadline == date(2026, 3, 31)
    assert shown.delivered_on == date(2026, 3, 19) and shown.decided_on == date(2026, 3, 4)


def test_a_decision_on_paper_is_delivered_by_its_receipt() -> None:
    party = {**audit_start().party.model_dump(), "address": "Almaty, Abay ave. 1"}
    case = Case(delivery_method="registered_mail", party=party)
    case.decided_on_silence()
    assert case.state.decision_awaiting == "postal_receipt"
    early = PostalReceipt(delivered_on=date(2026, 3, 3), receipt_no="RR9")
    refusal = case.refused(RecordReceipt(early), at(date(2026, 3, 10)))
    assert refusal.code == "invalid_input" and "2026-03-04" in refusal.message
    receipt = PostalReceipt(delivered_on=date(2026, 3, 9), receipt_no="RR9")
    case.do(RecordReceipt(receipt), at(date(2026, 3, 10)))
    assert case.state.decision_delivered_on == date(2026, 3, 9)
    assert case.state.decision_awaiting is None
    assert case.refused(RecordReceipt(receipt), at(date(2026, 3, 10))).code == "wrong_state"


def test_a_decision_letter_that_comes_back_is_served_by_an_inspection_act() -> None:
    """Before: a returned decision could not be recorded and its case waited for ever."""
    party = {**audit_start().party.model_dump(), "address": "Almaty, Abay ave. 1"}
    case = Case(delivery_method="registered_mail", party=party)
    case.decided_on_silence()
    back = MailReturned(returned_on=date(2026, 3, 10), reason="no one at the address")
    case.do(RecordReturned(back), at(date(2026, 3, 11)))
    assert case.state.decision_awaiting == "inspection_act"
    assert case.state.awaiting is None and case.state.returned_on is None  # the notice's
    receipt = PostalReceipt(delivered_on=date(2026, 3, 11), receipt_no="RR9")
    assert case.refused(RecordReceipt(receipt), at(date(2026, 3, 11))).code == "wrong_state"
    act = InspectionAct(act_no="A-7", act_date=date(2026, 3, 12), finding="party_absent")
    served = case.do(RecordInspectionAct(act), at(date(2026, 3, 12)))
    assert kinds(served) == [EventKind.DECISION_DELIVERED]
    assert served[0].details["finding"] == "party_absent"
    assert case.state.decision_delivered_on == date(2026, 3, 12)


def test_an_appeal_within_the_period_holds_the_decision_until_its_outcome() -> None:
    case = Case()
    case.decided_on_silence()
    case.served(date(2026, 3, 5))  # 6, 10, 11, 12, 13 March (8 March moved to Monday 9)
    assert case.state.appeal_deadline == date(2026, 3, 13)
    filed = case.do(FileAppeal(APPEAL), at(date(2026, 3, 13), 23))
    assert kinds(filed) == [EventKind.APPEAL_FILED]
    assert str(case.state.status) == "APPEALED"
    # the period's end passes while the appeal runs: nothing becomes final
    assert case.do(DeadlinePassed("appeal"), at(date(2026, 3, 20))) == []
    assert case.refused(FileAppeal(APPEAL)).code == "wrong_state"
    raised = Charges(customs_duty=Decimal("700000"), vat=Decimal("1"))
    refusal = case.refused(
        DecideAppeal(AppealOutcome(outcome="reduced", charges=raised, reasons="ruling R-1"))
    )
    assert refusal.code == "invalid_input" and "raise" in refusal.message
    reduced = Charges(customs_duty=Decimal("300000"), vat=Decimal("36000"))
    case.now = at(date(2026, 3, 20))
    outcome = case.do(
        DecideAppeal(AppealOutcome(outcome="reduced", charges=reduced, reasons="ruling R-1"))
    )
    assert kinds(outcome) == [
        EventKind.CHARGES_REDUCED,
        EventKind.APPEAL_DECIDED,
        EventKind.DECISION_FINAL,
    ]
    assert case.state.status == AuditStatus.UNFULFILLED
    assert case.state.charges == reduced and case.state.final_on == date(2026, 3, 20)
    # Paid as reduced, with the penalty since the deadline: the debt is settled
    today = case.state.settlement_as_of(date(2026, 3, 20))
    assert today is not None and today.outstanding > Decimal("336000")  # penalty since then
    owed = today.outstanding
    settled = case.pay(owed, date(2026, 3, 20))
    assert kinds(settled) == [EventKind.PAYMENT_RECEIVED, EventKind.DEBT_SETTLED]
    assert not case.state.following_up


def test_an_appeal_after_the_period_is_refused_and_an_annulment_cancels() -> None:
    case = Case()
    case.decided_on_silence()
    case.served(date(2026, 3, 5))
    refusal = case.refused(FileAppeal(APPEAL), at(date(2026, 3, 14), 0))
    assert refusal.message.startswith("the appeal period ended on 2026-03-13")
    other = Case()
    other.decided_on_silence()
    other.served(date(2026, 3, 5))
    other.do(FileAppeal(APPEAL), at(date(2026, 3, 6)))
    other.do(DecideAppeal(AppealOutcome(outcome="annulled", reasons="value proven")))
    assert other.state.status == AuditStatus.CANCELLED
    assert other.state.cancel_reason == "the notification was annulled on appeal: value proven"
    assert not other.state.following_up


def test_unpaid_after_the_final_decision_the_banks_are_ordered_then_released() -> None:
    """Art. 125: the order on the last working day the period allows (at close of
    business, after that day's postings); lifted the day the debt is paid."""
    case = Case()
    case.decided_on_silence()
    case.served(date(2026, 3, 12))  # appeal period: 13, 16, 17, 18, 19 March
    assert case.do(DeadlinePassed("appeal"), at(date(2026, 3, 19), 23)) == []
    final = case.do(DeadlinePassed("appeal"), at(date(2026, 3, 20), 0))
    assert kinds(final) == [EventKind.DECISION_FINAL]
    due = CALENDAR.nth_working_day_after(date(2026, 3, 19), PERIODS["suspension"].working_days)
    assert due == date(2026, 3, 31)  # 20, 26, 27, 30, 31: Nauryz 21-25 March off
    case.do(SetDeadline("suspension", due))
    assert case.do(DeadlinePassed("suspension"), at(due, 17)) == []
    ordered = case.do(DeadlinePassed("suspension"), at(due, 18))
    assert kinds(ordered) == [EventKind.SUSPENSION_ORDERED]
    assert ordered[0].details["number"] == f"{case.state.audit_id}/S1"
    assert Decimal(ordered[0].details["amount_owed"]) > AMOUNT_DUE  # with the late penalty
    assert case.do(DeadlinePassed("suspension"), at(due, 19)) == []  # ordered once
    case.now = at(date(2026, 4, 2))
    half = case.pay(AMOUNT_DUE / 2, date(2026, 4, 2))
    assert kinds(half) == [EventKind.PAYMENT_RECEIVED]
    assert case.state.following_up
    rest = snapshot(case.state, []).amount_outstanding
    case.now = at(date(2026, 4, 3))
    paid = case.pay(rest, date(2026, 4, 2), reference="P2")
    assert kinds(paid) == [
        EventKind.PAYMENT_RECEIVED,
        EventKind.DEBT_SETTLED,
        EventKind.SUSPENSION_LIFTED,
    ]
    assert paid[-1].details == {
        "number": f"{case.state.audit_id}/L1",
        "suspension": f"{case.state.audit_id}/S1",
        "requested_on": "2026-04-03",
    }
    assert not case.state.following_up


def test_an_appeal_outcome_upheld_makes_the_decision_final_that_day() -> None:
    case = Case()
    case.decided_on_silence()
    case.served(date(2026, 3, 5))
    case.do(FileAppeal(APPEAL), at(date(2026, 3, 6)))
    case.do(DecideAppeal(AppealOutcome(outcome="upheld")), at(date(2026, 4, 2)))
    assert case.state.status == AuditStatus.UNFULFILLED
    assert case.state.final_on == date(2026, 4, 2)
    assert case.state.following_up


def test_a_payment_dated_in_time_posted_after_the_decision_lets_a_supervisor_revoke() -> None:
    case = Case()
    case.decided_on_silence(date(2026, 3, 4))
    case.served(date(2026, 3, 5))
    case.now = at(date(2026, 3, 6))
    posted = case.pay(AMOUNT_DUE, DEADLINE)  # paid on the last day, posted three days later
    assert kinds(posted) == [
        EventKind.PAYMENT_RECEIVED,
        EventKind.REVOCATION_PROPOSED,
        EventKind.DEBT_SETTLED,
    ]
    assert case.state.following_up  # waits for the supervisor
    # no bank order while a revocation waits
    assert kinds(case.do(DeadlinePassed("appeal"), at(date(2026, 3, 14)))) == [
        EventKind.DECISION_FINAL
    ]
    case.do(SetDeadline("suspension", date(2026, 3, 20)))
    assert case.do(DeadlinePassed("suspension"), at(date(2026, 3, 20), 19)) == []
    revoke = DecideRevocation(RevocationDecision(decision="revoke"), "inspector")
    assert case.refused(revoke).code == "forbidden"
    revoked = case.do(DecideRevocation(RevocationDecision(decision="revoke"), "supervisor"))
    assert kinds(revoked) == [EventKind.DECISION_REVOKED]
    assert revoked[0].details["number"] == f"{case.state.audit_id}/V1"
    assert case.state.status == AuditStatus.FULFILLED and not case.state.following_up


def test_a_payment_dated_in_time_posted_while_appealed_is_flagged() -> None:
    """Posted while the appeal runs: the flag is raised then, and a supervisor may revoke
    once the appeal is decided and the decision stands."""
    case = Case()
    case.decided_on_silence(date(2026, 3, 4))
    case.served(date(2026, 3, 5))
    case.do(FileAppeal(APPEAL), at(date(2026, 3, 6)))
    case.now = at(date(2026, 3, 10))
    posted = case.pay(AMOUNT_DUE, DEADLINE)  # paid on the last day, posted a week later
    assert kinds(posted) == [EventKind.PAYMENT_RECEIVED, EventKind.REVOCATION_PROPOSED]
    case.do(DecideAppeal(AppealOutcome(outcome="upheld")), at(date(2026, 4, 2)))
    assert case.state.revocation_proposed and case.state.following_up
    revoke = DecideRevocation(RevocationDecision(decision="revoke"), "supervisor")
    assert kinds(case.do(revoke, at(date(2026, 4, 3)))) == [EventKind.DECISION_REVOKED]


def test_a_reduction_on_appeal_can_make_earlier_payments_enough() -> None:
    case = Case()
    case.decided_on_silence(date(2026, 3, 4))
    case.served(date(2026, 3, 5))
    case.do(FileAppeal(APPEAL), at(date(2026, 3, 6)))
    case.now = at(date(2026, 3, 10))
    assert kinds(case.pay(Decimal("400000"), DEADLINE)) == [EventKind.PAYMENT_RECEIVED]
    reduced = Charges(customs_duty=Decimal("300000"), vat=Decimal("36000"))
    outcome = case.do(
        DecideAppeal(AppealOutcome(outcome="reduced", charges=reduced, reasons="ruling R-1")),
        at(date(2026, 4, 2)),
    )
    assert EventKind.REVOCATION_PROPOSED in kinds(outcome)


def test_no_revocation_before_the_decision_is_issued() -> None:
    """Decided on a day off, issued the next working day: a flag raised meanwhile waits."""
    case = Case()
    case.do(SetDeadline("decision", date(2026, 3, 4)), at(DEADLINE, 23))
    case.do(DeadlinePassed("response"), at(date(2026, 3, 4), 18))
    case.now = at(date(2026, 3, 4), 19)
    posted = case.pay(AMOUNT_DUE, DEADLINE)
    assert EventKind.REVOCATION_PROPOSED in kinds(posted)
    revoke = DecideRevocation(RevocationDecision(decision="revoke"), "supervisor")
    assert case.refused(revoke).wording.reason == "decision_not_issued"


def test_a_party_that_paid_may_still_appeal_until_the_decision_is_final() -> None:
    case = Case()
    case.decided_on_silence(date(2026, 3, 4))
    case.served(date(2026, 3, 5))
    case.now = at(date(2026, 3, 6))
    owed = case.state.settlement_as_of(date(2026, 3, 6))
    assert owed is not None
    assert EventKind.DEBT_SETTLED in kinds(case.pay(owed.outstanding, date(2026, 3, 6)))
    assert case.state.following_up  # the appeal period still runs
    assert kinds(case.do(FileAppeal(APPEAL), at(date(2026, 3, 10)))) == [EventKind.APPEAL_FILED]


def test_a_late_payment_dated_after_the_decision_does_not_propose_revocation() -> None:
    case = Case()
    case.decided_on_silence(date(2026, 3, 4))
    case.served(date(2026, 3, 5))
    owed = case.state.settlement_as_of(date(2026, 3, 6))
    assert owed is not None
    posted = case.pay(owed.outstanding, date(2026, 3, 6))
    assert kinds(posted) == [EventKind.PAYMENT_RECEIVED, EventKind.DEBT_SETTLED]
    refusal = case.refused(DecideRevocation(RevocationDecision(decision="revoke"), "supervisor"))
    assert refusal.code == "wrong_state"


def test_a_supervisor_may_keep_the_decision_with_reasons() -> None:
    case = Case()
    case.decided_on_silence(date(2026, 3, 4))
    case.now = at(date(2026, 3, 6))
    case.pay(AMOUNT_DUE, DEADLINE)
    with pytest.raises(ValueError, match="reasons are required"):
        RevocationDecision(decision="keep")
    keep = RevocationDecision(decision="keep", reasons="the payment names another notification")
    case.do(DecideRevocation(keep, "supervisor"))
    assert not case.state.revocation_proposed and case.state.status == AuditStatus.UNFULFILLED


def test_the_periods_are_data_with_their_source() -> None:
    assert {name: p.working_days for name, p in PERIODS.items()} == {
        "appeal": 5,
        "suspension": 5,
        "lifting": 1,
    }
    assert all(p.source and p.counted_from for p in PERIODS.values())
