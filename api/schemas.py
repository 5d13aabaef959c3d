"""Request and response bodies. Requests reject unknown fields so a typo is a 422, not a
silently ignored value, and hold every string to what the database can store."""

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

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
from domain.consequences import Appeal, AppealOutcome, RevocationDecision
from domain.lifecycle import AuditStatus
from domain.settlement import Settlement
from domain.storable import ascii_number, storable_text


class EdgeInput(BaseModel):
    """Base of every request body. Nested bodies are EdgeInput too, so each checks its own
    strings and a refusal names the innermost field (`party.name`)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        for text in _strings(value):
            storable_text(text)
        if info.field_name is not None and _is_number(cls.model_fields[info.field_name]):
            ascii_number(value)
        return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _is_number(field: Any) -> bool:
    annotation = field.annotation
    return annotation is Decimal or Decimal in get_args(annotation)


class PartyIn(EdgeInput, Party):
    pass


class ChargesIn(EdgeInput, Charges):
    pass


class ChargeLineIn(EdgeInput, ChargeLine):
    pass


class AuditLineIn(EdgeInput, AuditLine):
    declared: ChargeLineIn
    adjusted: ChargeLineIn


class StartAuditRequest(EdgeInput, AuditStart):
    """As the workflow's start order, but the id may be left to the system."""

    audit_id: AuditId | None = None  # type: ignore[assignment]
    party: PartyIn
    charges: ChargesIn | None = None
    lines: Annotated[list[AuditLineIn], Field(min_length=1, max_length=500)] | None = None  # type: ignore[assignment]


class ExplanationRequest(EdgeInput, Explanation):
    pass


class PaymentRequest(EdgeInput, Payment):
    pass


class PostalReceiptRequest(EdgeInput, PostalReceipt):
    pass


class MailReturnedRequest(EdgeInput, MailReturned):
    pass


class InspectionActRequest(EdgeInput, InspectionAct):
    pass


class DocumentRequestIn(EdgeInput, DocumentRequest):
    pass


class DocumentsProvidedIn(EdgeInput, DocumentsProvided):
    request_id: str = ""  # taken from the URL


class ReassignRequest(EdgeInput, Reassignment):
    pass


class ReviewRequest(EdgeInput, ReviewDecision):
    charges: ChargesIn | None = None


class AppealRequest(EdgeInput, Appeal):
    pass


class AppealOutcomeRequest(EdgeInput, AppealOutcome):
    charges: ChargesIn | None = None


class RevocationRequest(EdgeInput, RevocationDecision):
    pass


class CancelRequest(EdgeInput, Cancellation):
    pass


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
    worker: str
