"""An explanation accepted in part, as pure rules (domain/review_rules.py): the decision lists
the declarations accepted and not, the party owes the rest, and a part acceptance that does
not add up is refused."""

from datetime import date
from decimal import Decimal

import pytest

from domain.case import (
    ReviewDecision,
)
from domain.case_commands import (
    Review,
    SetDeadline,
    SubmitExplanation,
)
from domain.case_view import snapshot
from domain.charges import Charges
from domain.lifecycle import AuditStatus, EventKind
from tests.factories import explanation_for
from tests.rule_cases import Case, at, kinds


def _under_review(case: Case) -> None:
    case.do(SubmitExplanation(explanation_for(snapshot(case.state, []))), at(date(2026, 2, 10)))
    case.do(SetDeadline("review", date(2026, 2, 24)))


def test_an_explanation_accepted_in_part_leaves_the_rest_owed() -> None:
    declarations = ["55201/050326/0001234", "55201/050326/0001235"]
    case = Case(declarations=declarations)
    _under_review(case)
    part = ReviewDecision(
        decision="accept_in_part",
        reasons="the second declaration's price is not proven",
        accepted=[declarations[0]],
        charges=Charges(customs_duty=Decimal("331065"), vat=Decimal("305779.80")),
    )
    events = case.do(Review(part), at(date(2026, 2, 20)))
    assert kinds(events) == [EventKind.CHARGES_REDUCED, EventKind.DECISION_UNFULFILLED]
    assert events[0].details["accepted"] == [declarations[0]]
    assert events[0].details["rejected"] == [declarations[1]]
    assert case.state.status == AuditStatus.UNFULFILLED
    assert snapshot(case.state, []).amount_due == Decimal("636844.80")
    assert case.state.rejected_declarations == (declarations[1],)


@pytest.mark.parametrize(
    ("accepted", "charges", "reason"),
    [
        (["55201/999999/0000001"], {"customs_duty": "1"}, "not_a_declaration"),
        (["55201/050326/0001234", "55201/050326/0001235"], {"vat": "1"}, "all_accepted"),
        (["55201/050326/0001234"], None, "charges_needed"),
        (["55201/050326/0001234"], {"customs_duty": "700000"}, "raises_a_charge"),
        (
            ["55201/050326/0001234"],
            {"customs_duty": "662130", "vat": "611559.60", "customs_fee": "20000"},
            "not_lower",
        ),
    ],
)
def test_a_part_acceptance_that_does_not_add_up_is_refused(
    accepted: list[str], charges: dict[str, str] | None, reason: str
) -> None:
    case = Case(declarations=["55201/050326/0001234", "55201/050326/0001235"])
    _under_review(case)
    part = ReviewDecision(
        decision="accept_in_part",
        reasons="partly proven",
        accepted=accepted,
        charges=Charges.model_validate(charges) if charges else None,
    )
    refusal = case.refused(Review(part), at(date(2026, 2, 20)))
    assert refusal.code == "invalid_input" and refusal.wording.reason == reason
    assert case.state.status == AuditStatus.UNDER_REVIEW


def test_a_part_acceptance_already_paid_fulfils() -> None:
    case = Case(declarations=["55201/050326/0001234", "55201/050326/0001235"])
    _under_review(case)
    case.now = at(date(2026, 2, 12))
    case.pay(Decimal("700000"), date(2026, 2, 12))
    part = ReviewDecision(
        decision="accept_in_part",
        reasons="partly proven",
        accepted=["55201/050326/0001234"],
        charges=Charges(customs_duty=Decimal("331065"), vat=Decimal("305779.80")),
    )
    events = case.do(Review(part), at(date(2026, 2, 20)))
    assert kinds(events) == [EventKind.CHARGES_REDUCED, EventKind.FULFILLED]
