"""Tables. API schemas are separate (api/schemas.py); these only say how rows are stored."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

NO_DEADLINE = date(9999, 12, 31)  # sorts after every real deadline; shown as null

# Named constraints, so later migrations can alter them on every database (SQLite included).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class AuditRow(SQLModel, table=True):
    """Projection of one workflow's state, written at every transition by an activity.

    `next_deadline` is the deadline the case currently runs against (response, then review;
    NO_DEADLINE when none), so dashboards can sort by it; the composite indexes serve the
    listings by office, party, inspector and status in deadline order with keyset paging.
    The office-and-status one also lets the dashboard count an office's open cases by
    status, and list its overdue reviews, from the index instead of every row of the office;
    the cases flagged for revocation are found from an index of their own, never by reading
    every unfulfilled case's state.
    """

    __tablename__ = "audits"
    __table_args__ = (
        Index("ix_audits_office_deadline", "customs_office", "next_deadline", "id"),
        Index("ix_audits_party_deadline", "party_bin", "next_deadline", "id"),
        Index("ix_audits_inspector_deadline", "inspector_id", "next_deadline", "id"),
        Index("ix_audits_status_deadline", "status", "next_deadline", "id"),
        Index(
            "ix_audits_office_status_deadline", "customs_office", "status", "next_deadline", "id"
        ),
        Index("ix_audits_deadline", "next_deadline", "id"),
        Index("ix_audits_flagged_office", "revocation_proposed", "customs_office"),
    )

    id: str = Field(primary_key=True, max_length=20)
    version: int
    status: str = Field(max_length=32)
    customs_office: str = Field(max_length=5)
    inspector_id: str = Field(max_length=500)
    party_bin: str = Field(max_length=12)
    party_name: str = Field(max_length=500)
    issued_on: date
    delivered_on: date | None = None
    response_deadline: date | None = None
    review_deadline: date | None = None
    next_deadline: date = Field(default=NO_DEADLINE)
    overdue: bool = Field(default=False, index=True)
    # A payment dated within the period was posted after the decision: a supervisor decides.
    revocation_proposed: bool = Field(default=False)
    amount_due: Decimal = Field(sa_type=Numeric(18, 2))
    amount_paid: Decimal = Field(sa_type=Numeric(18, 2))
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime


class CabinetNoticeRow(SQLModel, table=True):
    """A document placed in the party's personal cabinet: legally, its delivery."""

    __tablename__ = "cabinet_notices"
    __table_args__ = (UniqueConstraint("audit_id", "document_id"),)

    id: int | None = Field(default=None, primary_key=True)
    audit_id: str = Field(index=True, max_length=20)
    party_bin: str = Field(index=True, max_length=12)
    document_id: str = Field(max_length=64)
    title: str = Field(max_length=500)
    published_at: datetime


class DocumentRow(SQLModel, table=True):
    """A rendered document exactly as issued; the hashes prove it was not changed since.

    `pdf` is the signed PDF/A as delivered (absent for documents issued before PDFs were); a
    holder's copy is found again by `pdf_sha256`, and the signer fields say whose key sealed it.
    """

    __tablename__ = "documents"

    id: str = Field(primary_key=True, max_length=64)
    audit_id: str = Field(index=True, max_length=20)
    number: str = Field(unique=True, max_length=64)
    kind: str = Field(max_length=32)
    language: str = Field(max_length=2)
    issued_on: date
    title: str = Field(max_length=500)
    html: str = Field(sa_type=Text)
    text: str = Field(sa_type=Text)
    sha256: str = Field(max_length=64)
    text_sha256: str = Field(max_length=64)
    created_at: datetime
    pdf: bytes | None = Field(default=None, sa_type=LargeBinary)
    pdf_sha256: str | None = Field(default=None, index=True, max_length=64)
    signer_subject: str | None = Field(default=None, max_length=1000)
    signer_serial: str | None = Field(default=None, max_length=64)
    signed_at: datetime | None = None


class DeliveryAttemptRow(SQLModel, table=True):
    """Every try to carry a document over a channel, successful or not."""

    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(index=True, max_length=200)
    audit_id: str = Field(index=True, max_length=20)
    document_number: str = Field(max_length=64)
    channel: str = Field(max_length=20)
    attempt: int
    status: str = Field(max_length=20)
    provider_id: str | None = Field(default=None, max_length=200)
    detail: str = Field(default="", max_length=2000)
    at: datetime


class PartyWebhookRow(SQLModel, table=True):
    """A party's own system that wants each document pushed to it, signed with its secret."""

    __tablename__ = "party_webhooks"

    party_bin: str = Field(primary_key=True, max_length=12)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    registered_at: datetime


class CalendarOverrideRow(SQLModel, table=True):
    """A decree newer than the `holidays` package: this day is (not) a working day."""

    __tablename__ = "calendar_overrides"

    day: date = Field(primary_key=True)
    working: bool
    note: str = Field(default="", max_length=500)


class AuditCounterRow(SQLModel, table=True):
    """Last audit number issued in a year, for ids of the form CA-<year>-<6 digits>."""

    __tablename__ = "audit_counters"

    year: int = Field(primary_key=True)
    last: int = 0


class EvidenceRow(SQLModel, table=True):
    """A file the party uploaded: the server's own receipt time, size, sniffed type and hash;
    the bytes live in the content-addressed store under that hash."""

    __tablename__ = "evidence"

    id: str = Field(primary_key=True, max_length=64)
    audit_id: str = Field(index=True, max_length=20)
    title: str = Field(max_length=500)
    kind: str = Field(max_length=40)
    filename: str = Field(max_length=255)
    media_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    received_at: datetime
    uploaded_by: str = Field(max_length=200)
    uploaded_role: str = Field(max_length=20)
    signature_sha256: str | None = Field(default=None, max_length=64)
    signature_status: str = Field(max_length=30)
    signature: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class TrailRow(SQLModel, table=True):
    """One action on a case, chained to the previous one by its hash (see db/trail.py)."""

    __tablename__ = "trail"
    __table_args__ = (
        UniqueConstraint("audit_id", "seq"),
        UniqueConstraint("audit_id", "source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    audit_id: str = Field(index=True, max_length=20)
    seq: int
    at: datetime
    actor: str = Field(max_length=200)
    role: str = Field(max_length=20)
    action: str = Field(max_length=60)
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=80)  # where it came from, so it is written once
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class PartyRow(SQLModel, table=True):
    """The audited parties known from their cases (latest contact details)."""

    __tablename__ = "parties"

    bin: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=500)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=16)
    language: str = Field(max_length=2)
    updated_at: datetime


class PaymentRow(SQLModel, table=True):
    """A payment counted for a case, as the workflow counted it (one row per reference)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("audit_id", "reference"),)

    id: int | None = Field(default=None, primary_key=True)
    audit_id: str = Field(index=True, max_length=20)
    reference: str = Field(max_length=500)
    amount: Decimal = Field(sa_type=Numeric(18, 2))
    paid_at: date
    kind: str | None = Field(default=None, max_length=20)


class UnmatchedPaymentRow(SQLModel, table=True):
    """A treasury posting no running case counted: an unknown audit id or a closed case."""

    __tablename__ = "unmatched_payments"
    __table_args__ = (UniqueConstraint("audit_id", "reference"),)

    id: int | None = Field(default=None, primary_key=True)
    audit_id: str = Field(max_length=40)
    reference: str = Field(max_length=500)
    amount: Decimal = Field(sa_type=Numeric(18, 2))
    paid_at: date
    kind: str | None = Field(default=None, max_length=20)
    reason: str = Field(max_length=500)
    received_at: datetime


class StartKeyRow(SQLModel, table=True):
    """An `Idempotency-Key` of `POST /audits`: a retry of the same request by the same user
    gets the same case, never a second one."""

    __tablename__ = "start_keys"

    owner: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    audit_id: str = Field(max_length=20)
    body_sha256: str = Field(max_length=64)
    created_at: datetime


import db.screening_models  # noqa: E402, F401  (its tables join the same metadata)
