"""Names and payloads of the side effects a case asks for.

The workflow refers to activities by these names so that it never imports the I/O code; the
activities register under the same names.
"""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from domain.assessment import AuditLine
from domain.case import CaseSnapshot, Party, Payment
from domain.charges import Charges
from domain.notices import Channel, DeliveryStatus, DocumentKind

RENDER_DOCUMENT = "render_document"
PLACE_IN_CABINET = "place_document_in_cabinet"
SEND_EMAIL = "send_email_alert"
SEND_SMS = "send_sms_alert"
SEND_WEBHOOK = "send_webhook_alert"
DISPATCH_REGISTERED_MAIL = "dispatch_registered_mail"
NOTIFY_STAFF = "notify_staff"
ASSESS_CHARGES = "assess_charges"
SETTLE_PAYMENTS = "settle_payments"
COMPUTE_DEADLINE = "compute_deadline"
COMPUTE_REMINDERS = "compute_reminder_days"
SAVE_PROJECTION = "save_case_projection"

ALERT_ACTIVITIES = {
    Channel.EMAIL: SEND_EMAIL,
    Channel.SMS: SEND_SMS,
    Channel.WEBHOOK: SEND_WEBHOOK,
}

DeadlineKind = Literal["response", "review", "appeal", "inspection", "documents"]


class DeadlineRequest(BaseModel):
    kind: DeadlineKind
    counted_from: date
    working_days: int | None = None  # for "documents": as many as the inspector set


class ReminderDay(BaseModel):
    day: date
    working_days_left: int


class AssessRequest(BaseModel):
    lines: list[AuditLine]
    notification_date: date


class SettleRequest(BaseModel):
    charges: Charges
    payments: list[Payment]
    as_of: date
    notification_date: date
    response_deadline: date | None


class RenderRequest(BaseModel):
    """Render one document of a case; `document_id` makes a retried render a no-op."""

    document_id: str
    number: str
    kind: DocumentKind
    issued_on: date
    case: CaseSnapshot
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
    published_at: datetime


class AlertRequest(BaseModel):
    audit_id: str
    party: Party
    document: RenderedDocument
    deadline: date | None = None


class DeliveryOutcome(BaseModel):
    """What became of one document on one channel, with the failed tries before it."""

    channel: Channel
    status: DeliveryStatus
    provider_id: str | None = None
    attempts: int = 1
    failures: list[str] = []
    detail: str = ""


class StaffNotice(BaseModel):
    audit_id: str
    customs_office: str
    inspector_id: str
    subject: str
    body: str
