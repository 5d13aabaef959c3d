"""What follows a decision recognising the notification as unfulfilled, as rules and data.

The decision ends the notification's period but not the case. From the day after its
delivery the party may appeal within the appeal period; an appeal holds every measure until
it is decided. Once the decision is final and the debt is still unpaid, the measures of
Art. 125 of the Code "On Customs Regulation in the Republic of Kazakhstan" follow: an order
suspending debit operations on the party's bank accounts, lifted by a second order once the
debt is paid. A payment dated within the period that the treasury posts only after the
decision shows the decision was wrong: the case is flagged and a supervisor may revoke it.

The periods are data (`PERIODS`): the customs lawyers are to confirm them, and each names
the reading it encodes.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from domain.charges import Charges
from domain.wording import N_

Grounds = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Reasons = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=20_000)]
DocumentId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


@dataclass(frozen=True)
class Period:
    """A period of the consequences: working days counted from the day after `counted_from`."""

    working_days: int
    counted_from: str
    source: str


PERIODS: dict[str, Period] = {
    "appeal": Period(
        5,
        "the decision's delivery (cabinet placement, postal or hand receipt)",
        "Customs Code, appeal of decisions of state revenue bodies (five working days); "
        "counted from delivery, not issue, the reading that protects the party",
    ),
    "suspension": Period(
        5,
        "the day the decision became final (the appeal period ended, or the appeal was "
        "decided) with the debt unpaid",
        "Art. 125 (measures to secure payment of an overdue customs debt); our reading: "
        "the debt is overdue only once no appeal can hold it, and the order is issued on "
        "the last day the period allows",
    ),
    "lifting": Period(
        1,
        "the day the debt is paid in full",
        "Art. 125 (the suspension is lifted once the debt is paid); the order is issued "
        "as soon as the payment is posted, always within the period",
    ),
}

Authority = Literal["higher_authority", "court"]


class Appeal(BaseModel):
    """The party's complaint against the decision: to the higher state revenue body, or a
    note that it has taken the decision to court (with the claim among `documents`)."""

    authority: Authority
    grounds: Grounds
    documents: Annotated[list[DocumentId], Field(min_length=1, max_length=200)]
    filed_by: str | None = None


class FiledAppeal(Appeal):
    filed_at: datetime


AppealResult = Literal["upheld", "annulled", "reduced"]


class AppealOutcome(BaseModel):
    """What the higher body or the court decided: the decision stands (`upheld`), the
    notification is annulled, or it is reduced to `charges` (the party owes those)."""

    outcome: AppealResult
    reasons: Reasons = None
    charges: Charges | None = None
    decided_by: str | None = None

    @model_validator(mode="after")
    def _reduced_names_the_charges(self) -> "AppealOutcome":
        if (self.outcome == "reduced") != (self.charges is not None):
            raise ValueError(N_("give charges when, and only when, the outcome is reduced"))
        if self.outcome != "upheld" and not self.reasons:
            raise ValueError(
                N_("reasons are required (the body or court, its decision's number and date)")
            )
        return self


class AfterDecision(BaseModel):
    """What the case shows of its consequences once an unfulfilled decision exists."""

    decision_number: str | None
    decided_on: date | None
    awaiting_receipt: str | None  # a decision served on paper waits for its receipt
    delivered_on: date | None
    appeal_deadline: date | None
    appeal: FiledAppeal | None
    appeal_outcome: AppealResult | None
    final_on: date | None
    suspension_due: date | None
    suspension_order: str | None
    suspended_on: date | None
    lifting_order: str | None
    lifted_on: date | None
    revocation_proposed: bool
    revocation_notice: str | None
    debt_settled_on: date | None


class RevocationDecision(BaseModel):
    """A supervisor's answer to a case flagged because a payment dated within the period
    was posted after the decision: revoke the decision, or keep it (with reasons)."""

    decision: Literal["revoke", "keep"]
    reasons: Reasons = None
    decided_by: str | None = None

    @model_validator(mode="after")
    def _keeping_needs_reasons(self) -> "RevocationDecision":
        if self.decision == "keep" and not self.reasons:
            raise ValueError(N_("reasons are required when the decision is kept"))
        return self


def reduction_problem(current: Charges, reduced: Charges) -> str | None:
    """Why `reduced` cannot replace `current` (a reason of domain/refusals), or None: a
    reduction lowers the total and raises no single charge (an increase would need a new
    notification, Art. 417)."""
    if any(getattr(reduced, name) > getattr(current, name) for name in Charges.model_fields):
        return "raises_a_charge"
    if reduced.total >= current.total:
        return "not_lower"
    return None


def last_day_to_fulfil(decided_on: date | None, response_deadline: date | None) -> date | None:
    """The last payment date that could still have fulfilled the notification: the day the
    decision was taken (a payment dated in the posting lag or during review counted too, had
    the treasury posted it in time), never before the response deadline."""
    days = [d for d in (decided_on, response_deadline) if d is not None]
    return max(days) if days else None
