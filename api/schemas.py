"""Request and response bodies. Requests reject unknown fields so a typo is a 422, not a
silently ignored value."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.assessment import AuditLine
from domain.case import (
    AuditId,
    AuditStart,
    Cancellation,
    CaseSnapshot,
    DocumentRequest,
    DocumentsProvided,
    Explanation,
    InspectionAct,
    MailReturned,
    Party,
    Payment,
    PostalReceipt,
    Reassignment,
    ReviewDecision,
)
from domain.charges import ChargeLine, Charges
from domain.lifecycle import AuditStatus
from domain.settlement import Settlement

_STRICT = ConfigDict(extra="forbid")


class PartyIn(Party):
    model_config = _STRICT


class ChargesIn(Charges):
    model_config = _STRICT


class ChargeLineIn(ChargeLine):
    model_config = _STRICT


class AuditLineIn(AuditLine):
    model_config = _STRICT

    declared: ChargeLineIn
    adjusted: ChargeLineIn


class StartAuditRequest(AuditStart):
    """As the workflow's start order, but the id may be left to the system."""

    model_config = _STRICT

    audit_id: AuditId | None = None  # type: ignore[assignment]
    party: PartyIn
    charges: ChargesIn | None = None
    lines: Annotated[list[AuditLineIn], Field(min_length=1, max_length=500)] | None = None  # type: ignore[assignment]


class ExplanationRequest(Explanation):
    model_config = _STRICT


class PaymentRequest(Payment):
    model_config = _STRICT


class PostalReceiptRequest(PostalReceipt):
    model_config = _STRICT


class MailReturnedRequest(MailReturned):
    model_config = _STRICT


class InspectionActRequest(InspectionAct):
    model_config = _STRICT


class DocumentRequestIn(DocumentRequest):
    model_config = _STRICT


class DocumentsProvidedIn(DocumentsProvided):
    model_config = _STRICT

    request_id: str = ""  # taken from the URL


class ReassignRequest(Reassignment):
    model_config = _STRICT


class ReviewRequest(ReviewDecision):
    model_config = _STRICT


class CancelRequest(Cancellation):
    model_config = _STRICT


class AuditSummary(BaseModel):
    """One row of a listing, read from the projection."""

    id: str
    status: AuditStatus
    customs_office: str
    inspector_id: str
    party_bin: str
    party_name: str
    delivered_on: date | None
    response_deadline: date | None
    review_deadline: date | None
    next_deadline: date | None = None
    overdue: bool
    amount_due: Decimal
    amount_paid: Decimal


class AuditPage(BaseModel):
    items: list[AuditSummary]
    next_cursor: str | None


class PaymentAccepted(BaseModel):
    audit_id: str
    reference: str
    result: Literal["accepted", "duplicate", "queued", "unknown_audit"]
    detail: str


class UnmatchedPayment(BaseModel):
    id: int
    audit_id: str
    reference: str
    amount: Decimal
    paid_at: date
    kind: str | None
    reason: str
    received_at: datetime


class CaseView(CaseSnapshot):
    """The case, plus what the party owes if it pays today (penalty keeps running).

    `live` is false when no worker answered and this is the copy the read model stored at
    `stored_at`."""

    owed_today: Settlement | None
    live: bool = True
    stored_at: datetime | None = None


class Health(BaseModel):
    temporal: str
    database: str
