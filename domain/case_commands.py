"""What can be asked of a case: one immutable command per thing a user, a timer or an
activity's result can ask. `domain/case_rules.py` decides what each one does."""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from domain.assessment import Assessment
from domain.case import (
    Cancellation,
    DocumentRequest,
    DocumentsProvided,
    Explanation,
    InspectionAct,
    MailReturned,
    Payment,
    PostalReceipt,
    Reassignment,
    ReviewDecision,
)
from domain.consequences import Appeal, AppealOutcome, RevocationDecision
from domain.penalty import PenaltyTerms
from domain.rates import DatedTable


@dataclass(frozen=True)
class FixTerms:
    """The rate tables and penalty terms (and, for audits started from lines, the assessment)
    the case runs on."""

    base_rates: DatedTable
    penalty_terms: PenaltyTerms
    assessment: Assessment | None = None


@dataclass(frozen=True)
class TermsFailed:
    reason: str


@dataclass(frozen=True)
class DispatchMail:
    documents: tuple[str, ...]


@dataclass(frozen=True)
class PrepareHandover:
    """The documents are ready to be handed to the party's representative against signature."""

    documents: tuple[str, ...]


@dataclass(frozen=True)
class PlaceInCabinet:
    """The notification is in the party's cabinet: legal delivery on that Almaty day."""

    reference: str
    placed_on: date


@dataclass(frozen=True)
class DeliverDecision:
    """The decision is in the party's cabinet: delivered on that Almaty day."""

    reference: str
    placed_on: date


@dataclass(frozen=True)
class RecordReceipt:
    receipt: PostalReceipt


@dataclass(frozen=True)
class RecordReturned:
    returned: MailReturned


@dataclass(frozen=True)
class RecordInspectionAct:
    act: InspectionAct


DeadlineName = Literal[
    "response", "review", "inspection", "documents", "decision", "appeal", "suspension"
]


@dataclass(frozen=True)
class SetDeadline:
    """A deadline counted (by an activity that reads the calendar) for the case to keep."""

    deadline: DeadlineName
    day: date
    request_id: str | None = None
    reason: str = "counted"


@dataclass(frozen=True)
class RecordPayment:
    payment: Payment
    # Cases started before the follow-up after a decision existed end at the decision and
    # refuse later payments as closed: their workflow says so, to replay as they ran.
    counts_after_decision: bool = True


@dataclass(frozen=True)
class SubmitExplanation:
    explanation: Explanation


@dataclass(frozen=True)
class RequestDocuments:
    request: DocumentRequest


@dataclass(frozen=True)
class ProvideDocuments:
    provided: DocumentsProvided


@dataclass(frozen=True)
class Review:
    decision: ReviewDecision
    role: str = "inspector"


@dataclass(frozen=True)
class Cancel:
    cancellation: Cancellation


@dataclass(frozen=True)
class Reassign:
    reassignment: Reassignment


@dataclass(frozen=True)
class FileAppeal:
    appeal: Appeal


@dataclass(frozen=True)
class DecideAppeal:
    outcome: AppealOutcome


@dataclass(frozen=True)
class DecideRevocation:
    decision: RevocationDecision
    role: str = "inspector"


Period = Literal["response", "review", "inspection", "appeal", "suspension"]


@dataclass(frozen=True)
class DeadlinePassed:
    deadline: Period


@dataclass(frozen=True)
class Remind:
    day: date
    working_days_left: int


Command = (
    FixTerms
    | TermsFailed
    | DispatchMail
    | PrepareHandover
    | PlaceInCabinet
    | DeliverDecision
    | RecordReceipt
    | RecordReturned
    | RecordInspectionAct
    | SetDeadline
    | RecordPayment
    | SubmitExplanation
    | RequestDocuments
    | ProvideDocuments
    | Review
    | Cancel
    | Reassign
    | FileAppeal
    | DecideAppeal
    | DecideRevocation
    | DeadlinePassed
    | Remind
)
