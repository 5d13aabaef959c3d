"""Tables. API schemas are separate (api/schemas.py); these only say how rows are stored."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel


class AuditRow(SQLModel, table=True):
    """Projection of one workflow's state, written at every transition by an activity."""

    __tablename__ = "audits"

    id: str = Field(primary_key=True, max_length=20)
    version: int
    status: str = Field(index=True, max_length=32)
    customs_office: str = Field(index=True, max_length=5)
    inspector_id: str = Field(index=True, max_length=500)
    party_bin: str = Field(index=True, max_length=12)
    party_name: str = Field(max_length=500)
    issued_on: date
    delivered_on: date | None = None
    response_deadline: date | None = Field(default=None, index=True)
    review_deadline: date | None = Field(default=None, index=True)
    overdue: bool = Field(default=False, index=True)
    amount_due: Decimal = Field(sa_type=Numeric(18, 2))
    amount_paid: Decimal = Field(sa_type=Numeric(18, 2))
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime


class CabinetNoticeRow(SQLModel, table=True):
    """A document placed in the party's personal cabinet: legally, its delivery."""

    __tablename__ = "cabinet_notices"
    __table_args__ = (UniqueConstraint("audit_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    audit_id: str = Field(index=True, max_length=20)
    party_bin: str = Field(index=True, max_length=12)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=500)
    published_at: datetime


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
