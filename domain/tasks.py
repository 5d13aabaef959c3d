"""Names and payloads of the side effects a case asks for.

The workflow refers to activities by these names so that it never imports the I/O code; the
activities register under the same names.
"""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from domain.assessment import Assessment, AuditLine
from domain.case import CaseEvent, CaseSummary, Party
from domain.case_state import CaseState
from domain.notices import Channel, DeliveryStatus, DocumentKind
from domain.penalty import UNRECORDED, PenaltyTerms
from domain.rates import DatedTable

RENDER_DOCUMENT = "render_document"
PLACE_IN_CABINET = "place_document_in_cabinet"
SEND_EMAIL = "send_email_alert"
SEND_SMS = "send_sms_alert"
SEND_WEBHOOK = "send_webhook_alert"
DISPATCH_REGISTERED_MAIL = "dispatch_registered_mail"
NOTIFY_STAFF = "notify_staff"
FIX_TERMS = "fix_case_terms"
PROJECTION_REJECTED = "ProjectionRejected"
COMPUTE_DEADLINE = "compute_deadline"
COMPUTE_REMINDERS = "compute_reminder_days"
SAVE_PROJECTION = "save_case_projection"
SEND_BANK_ORDER = "send_bank_order"

ALERT_ACTIVITIES = {
    Channel.EMAIL: SEND_EMAIL,
    Channel.SMS: SEND_SMS,
    Channel.WEBHOOK: SEND_WEBHOOK,
}

# "dated": the day a decision is dated and issued, the working day on or after the given one
DeadlineKind = Literal[
    "response",
    "review",
    "appeal",
    "inspection",
    "documents",
    "decision",
    "dated",
    "suspension",
    "lifting",
]


class DeadlineRequest(BaseModel):
    kind: DeadlineKind
    counted_from: date
    working_days: int | None = None  # for "documents": as many as the inspector set


class ReminderDay(BaseModel):
    day: date
    working_days_left: int


class TermsRequest(BaseModel):
    """The rate tables a case runs on, and its charges worked out when it names lines."""

    lines: list[AuditLine] | None
    notification_date: date


class CaseTerms(BaseModel):
    """What a case runs on, fixed once: the base rates, the penalty terms of the settings
    (a recorded result without them is from before they were settings), the assessment."""

    base_rates: DatedTable
    penalty_terms: PenaltyTerms = UNRECORDED
    assessment: Assessment | None = None


class ProjectionUpdate(BaseModel):
    """One write to the read model: the events not yet written (`events[i]` is the case's
    event number `first_index + i`), and with the first write the case's initial state.
    The activity folds them with the same `evolve` as the workflow, so the history carries
    each event once and never a copy of the whole case."""

    audit_id: str
    initial: CaseState | None = None
    first_index: int
    events: list[CaseEvent]


class RenderRequest(BaseModel):
    """Render one document of a case; `document_id` makes a retried render a no-op."""

    document_id: str
    number: str
    kind: DocumentKind
    issued_on: date
    case: CaseSummary
    extra: dict[str, str] = {}


class RenderedDocument(BaseModel):
    document_id: str
    number: str
    kind: DocumentKind
    title: str
    sha256: str


class CabinetPlacement(BaseModel):
    audit_id: str
    party_bin: str
    document: RenderedDocument
    requested_at: datetime  # the workflow's clock: placement is never dated before it


class AlertRequest(BaseModel):
    audit_id: str
    party: Party
    document: RenderedDocument
    deadline: date | None = None


class BankOrder(BaseModel):
    """An order on the party's bank accounts (Art. 125): suspend its debit operations, or
    lift that suspension. `document` is the rendered order, in the case's trail."""

    audit_id: str
    party: Party
    order: Literal["suspend", "lift"]
    document: RenderedDocument
    issued_on: date
    amount_owed: str  # KZT, as the order states it ("0.00" in a lifting order)


class DeliveryOutcome(BaseModel):
    """What became of one document on one channel, with the failed tries before it."""

    channel: Channel
    status: DeliveryStatus
    provider_id: str | None = None
    attempts: int = 1
    failures: list[str] = []
    detail: str = ""
    delivered_on: date | None = None  # legal channels: the Almaty day the document arrived


class StaffNotice(BaseModel):
    """Something in a case needs a person. `topic` names the reason and what it concerns (a
    document, a deadline): the office gets one message per topic of a case, however often a
    retry sends it, and a second topic (the decision's alerts failing after the
    notification's) is a second message."""

    audit_id: str
    customs_office: str
    inspector_id: str
    topic: str = ""
    subject: str
    body: str
