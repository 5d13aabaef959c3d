"""What an audit case is made of: the start order, party responses, decisions and the snapshot.

These models travel through Temporal (pydantic data converter) and the API, so every rule a
user's input must meet lives here once and is enforced on both sides.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from domain.assessment import Assessment, AuditLine
from domain.charges import Charges
from domain.consequences import AfterDecision
from domain.identifiers import bin_problem
from domain.lifecycle import AuditStatus, EventKind
from domain.notices import DeliveryMethod
from domain.penalty import PenaltyTerms
from domain.settlement import PaymentKind, Settlement
from domain.storable import BusinessDate
from domain.wording import N_

Language = Literal["kk", "ru", "en"]
# What a case not yet served waits for, by its delivery method.
Awaiting = Literal["postal_receipt", "inspection_act", "hand_signature"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
PositiveAmount = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]
OfficeCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
AuditId = Annotated[str, StringConstraints(pattern=r"^CA-[0-9]{4}-[0-9]{6}$")]


def _valid_bin(value: str) -> str:
    problem = bin_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Bin = Annotated[str, AfterValidator(_valid_bin)]


class Party(BaseModel):
    """The audited party as the notification names it and the cabinet knows it."""

    bin: Bin
    name: ShortText
    email: Annotated[
        str | None, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    ] = None
    phone: Annotated[str | None, StringConstraints(pattern=r"^\+?[0-9]{10,15}$")] = None
    address: ShortText | None = None
    language: Language = "ru"


class AuditStart(BaseModel):
    """An inspector's order to start a cameral audit (Art. 417)."""

    audit_id: AuditId
    customs_office: OfficeCode
    inspector_id: ShortText
    party: Party
    declarations: Annotated[list[ShortText], Field(min_length=1, max_length=500)]
    findings: Text
    charges: Charges | None = None
    lines: Annotated[list[AuditLine], Field(min_length=1, max_length=500)] | None = None
    delivery_method: DeliveryMethod = DeliveryMethod.CABINET

    @model_validator(mode="after")
    def _charges_or_lines(self) -> "AuditStart":
        if (self.charges is None) == (self.lines is None):
            raise ValueError(N_("give either charges (typed amounts) or lines (to be computed)"))
        return self

    @model_validator(mode="after")
    def _post_needs_an_address(self) -> "AuditStart":
        if self.delivery_method == DeliveryMethod.REGISTERED_MAIL and not self.party.address:
            raise ValueError(N_("party.address is required for delivery by registered mail"))
        return self


class Explanation(BaseModel):
    """The party's dispute; Art. 417(3-2) lists what it must state besides its text."""

    text: Text
    signed_on: BusinessDate
    party_name: ShortText
    party_address: ShortText
    party_bin: Bin
    customs_authority: ShortText
    notification_number: ShortText
    notification_date: BusinessDate
    grounds: Text
    documents: Annotated[list[ShortText], Field(max_length=200)] = []
    no_documents_reason: Text | None = None

    @model_validator(mode="after")
    def _documents_or_why_not(self) -> "Explanation":
        if not self.documents and not self.no_documents_reason:
            raise ValueError(
                N_(
                    "attach at least one uploaded document (ids from POST "
                    "/audits/{id}/documents) or say in no_documents_reason why none is needed"
                )
            )
        return self


class ReviewDecision(BaseModel):
    """Customs' answer to an explanation: accept it, decide the notification unfulfilled, or
    accept it for some declarations (`accepted`) and decide it unfulfilled for the rest, which
    the party still owes: recomputed from the lines of an audit started from lines, or the
    `charges` the inspector gives for one started with typed amounts."""

    decision: Literal["accept", "reject", "accept_in_part"]
    reasons: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=20_000)] = (
        None
    )
    accepted: Annotated[list[ShortText], Field(max_length=500)] = []
    charges: Charges | None = None
    decided_by: ShortText | None = None

    @model_validator(mode="after")
    def _reject_needs_reasons(self) -> "ReviewDecision":
        if self.decision == "reject" and not self.reasons:
            raise ValueError(N_("reasons are required when the explanation is rejected"))
        if self.decision == "accept_in_part" and not self.reasons:
            raise ValueError(N_("reasons are required for the part that is not accepted"))
        if self.decision == "accept_in_part" and not self.accepted:
            raise ValueError(N_("name the accepted declarations when accepting in part"))
        if self.decision != "accept_in_part" and (self.accepted or self.charges):
            raise ValueError(N_("accepted and charges belong to a decision accepting in part"))
        return self


class Payment(BaseModel):
    """One credit from the treasury feed; `reference` makes a replayed feed harmless.

    `kind` is the budget line it was paid to; without one it is applied in the order duty,
    VAT, excise, fee, penalty (see domain/settlement.py).
    """

    reference: ShortText
    amount: PositiveAmount
    paid_at: BusinessDate
    kind: PaymentKind | None = None


class PostalReceipt(BaseModel):
    """The post office's acknowledgement that the party received the registered letter, or
    (`channel: "hand"`) the date the party's representative signed for the documents."""

    channel: Literal["registered_mail", "hand"] = "registered_mail"
    delivered_on: BusinessDate
    receipt_no: ShortText


class MailReturned(BaseModel):
    """The registered letter came back undelivered."""

    returned_on: BusinessDate
    reason: ShortText


class InspectionAct(BaseModel):
    """Act of inspecting the registered address after returned mail; its date is delivery."""

    act_no: ShortText
    act_date: BusinessDate
    finding: Literal["party_absent", "handed_over"]
    inspector_id: ShortText | None = None


class DocumentRequest(BaseModel):
    """An inspector asks for further documents while reviewing an explanation."""

    items: Annotated[list[ShortText], Field(min_length=1, max_length=50)]
    working_days: Annotated[int, Field(ge=1, le=30)] | None = None
    requested_by: ShortText | None = None


class DocumentsProvided(BaseModel):
    """The party's answer to a request: the uploaded documents that make up the full set."""

    request_id: ShortText
    documents: Annotated[list[ShortText], Field(min_length=1, max_length=200)]
    note: Text | None = None


class RequestState(BaseModel):
    id: str
    items: list[str]
    requested_at: datetime
    number: str
    deadline: date | None = None  # counted right after the request is recorded
    requested_by: str
    answered_at: datetime | None = None
    documents: list[str] = []


class Reassignment(BaseModel):
    inspector_id: ShortText
    by: ShortText | None = None


class Cancellation(BaseModel):
    reason: Text
    cancelled_by: ShortText | None = None


class PendingAlert(BaseModel):
    """An alert whose first try failed and that is still being retried (for hours, if the
    gateway stays down): the case shows it so staff need not wait to phone the party."""

    document: str
    channel: str
    since: datetime
    detail: str


class CaseEvent(BaseModel):
    at: datetime
    kind: EventKind
    details: dict[str, Any] = {}


class CaseSummary(BaseModel):
    """A case at one moment without the lists that grow with time (requests, payments,
    events): what update results and render requests carry, so the history does not grow
    with the square of the case.
    `version` is the number of events so far: it grows with every change."""

    id: str
    status: AuditStatus
    version: int
    customs_office: str
    inspector_id: str
    party_bin: str
    party_name: str
    party: Party
    language: Language
    delivery_method: DeliveryMethod
    awaiting: Awaiting | None
    inspection_deadline: date | None
    alerts_failed: bool
    alerts_retrying: list[PendingAlert] = []
    declarations: list[str]
    findings: str
    charges: Charges | None
    assessment: Assessment | None
    penalty_terms: PenaltyTerms | None = None  # what its penalty runs under, once fixed
    settlement: Settlement | None
    notification_number: str
    issued_on: date
    delivered_on: date | None
    response_deadline: date | None
    explanation_received_on: date | None
    review_deadline: date | None
    overdue: bool
    amount_due: Decimal
    amount_paid: Decimal
    amount_outstanding: Decimal
    credit: Decimal
    decision_reasons: str | None
    cancel_reason: str | None
    accepted_declarations: list[str] = []  # an explanation accepted in part
    after_decision: AfterDecision | None = None  # once an unfulfilled decision is issued


class CaseSnapshot(CaseSummary):
    """Everything a user may see of a case: the summary with the lists that grow with it."""

    document_requests: list[RequestState]
    payments: list[Payment]
    events: list[CaseEvent]
    # The place of `events[0]` in the case's trail: a case that continued as new lists only
    # what its latest run holds, and the API fills in the earlier ones from the read model.
    events_from: int = 0
