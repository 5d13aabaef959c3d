"""Tables of the risk screening: the declarations and postal items it reads, its runs and
the candidates it proposes to inspectors."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

import db.models  # noqa: F401  (naming convention of the shared metadata first)

# Millions of rows: 64-bit ids, except on SQLite where only INTEGER keys count up by themselves.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class DeclarationLineRow(SQLModel, table=True):
    """One declaration line as imported. The indexes serve the reference samples (code,
    unit, day) and the run's batches by 6-digit heading."""

    __tablename__ = "declaration_lines"
    __table_args__ = (
        UniqueConstraint("declaration_number", "line_no"),
        Index("ix_declaration_lines_hs_unit_day", "hs_code", "unit", "registered_on"),
        Index("ix_declaration_lines_hs6_unit_day", "hs6", "unit", "registered_on"),
    )

    id: int | None = Field(default=None, sa_type=RowId, primary_key=True)
    declaration_number: str = Field(max_length=40)
    registered_on: date
    customs_office: str = Field(max_length=5, index=True)
    declarant_bin: str = Field(max_length=12, index=True)
    line_no: int
    hs_code: str = Field(max_length=10)
    hs6: str = Field(max_length=6)
    description: str = Field(max_length=500)
    origin_country: str = Field(max_length=2)
    quantity: Decimal = Field(sa_type=Numeric(20, 6))
    unit: str = Field(max_length=10)
    invoice_value: Decimal = Field(sa_type=Numeric(18, 2))
    currency: str = Field(max_length=3)
    exchange_rate: Decimal = Field(sa_type=Numeric(20, 6))
    customs_value_kzt: Decimal = Field(sa_type=Numeric(18, 2))
    incoterms: str = Field(max_length=3)
    transport_to_border: Decimal | None = Field(default=None, sa_type=Numeric(20, 6))
    insurance_to_border: Decimal | None = Field(default=None, sa_type=Numeric(20, 6))
    duty_rate_percent: Decimal | None = Field(default=None, sa_type=Numeric(9, 4))
    imported_at: datetime


class ScreenedLineRow(SQLModel, table=True):
    """A declaration line some run has judged (a line without a row is pending).

    A narrow table of its own: marking a million lines is a set-based insert of two
    columns, where an update of the wide line rows would rewrite every row and each of
    their indexes (measured: four times slower on PostgreSQL). Ids are not a watermark:
    PostgreSQL may commit a smaller id after a larger one."""

    __tablename__ = "screened_lines"

    line_id: int = Field(sa_column=Column(RowId, primary_key=True, autoincrement=False))
    run_id: int


class PostalItemRow(SQLModel, table=True):
    """One item of a postal parcel; the same item sent twice by the feed is stored once."""

    __tablename__ = "postal_items"
    __table_args__ = (
        UniqueConstraint(
            "parcel_id",
            "product_type",
            "quantity",
            "declared_value",
            "currency",
            name="uq_postal_items_item",
        ),
        Index("ix_postal_items_recipient_day", "recipient_iin", "accepted_on"),
    )

    id: int | None = Field(default=None, sa_type=RowId, primary_key=True)
    parcel_id: str = Field(max_length=40)
    accepted_on: date
    recipient_iin: str = Field(max_length=12)
    sender_country: str = Field(max_length=2)
    product_type: str = Field(max_length=100)
    quantity: int
    declared_value: Decimal = Field(sa_type=Numeric(18, 2))
    currency: str = Field(max_length=3)
    imported_at: datetime


class ScreenedItemRow(SQLModel, table=True):
    """A postal item some run has judged (an item without a row is pending): narrow for
    the same reason as `screened_lines` (marking 200 000 items by updating their rows took
    3.1 s on PostgreSQL)."""

    __tablename__ = "screened_items"

    item_id: int = Field(sa_column=Column(RowId, primary_key=True, autoincrement=False))
    run_id: int


class ScreeningRunRow(SQLModel, table=True):
    """One pass of the screening, started by the schedule or on demand; its counters grow
    batch by batch, so progress can be read while it runs."""

    __tablename__ = "screening_runs"

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str | None = Field(default=None, max_length=200, unique=True)
    trigger: str = Field(max_length=20)
    requested_by: str = Field(max_length=200)
    status: str = Field(max_length=20)
    started_at: datetime
    finished_at: datetime | None = None
    batches_total: int = 0
    batches_done: int = 0
    lines_screened: int = 0
    items_screened: int = 0
    price_candidates: int = 0
    postal_candidates: int = 0
    error: str | None = Field(default=None, max_length=2000)


class CandidateRow(SQLModel, table=True):
    """Something the screening proposes to audit; `key` makes a finding land once however
    often the same data is screened. Decided once: accepted (with its audit) or dismissed."""

    __tablename__ = "screening_candidates"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_screening_candidates_listing", "rule", "status", "customs_office", "id"),
        Index("ix_screening_candidates_declaration", "declaration_number", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    rule: str = Field(max_length=10)
    run_id: int
    status: str = Field(max_length=20, default="open")
    score: Decimal = Field(sa_type=Numeric(12, 4))
    customs_office: str | None = Field(default=None, max_length=5)
    hs_code: str | None = Field(default=None, max_length=10, index=True)
    declaration_number: str | None = Field(default=None, max_length=40)
    line_no: int | None = None
    declarant_bin: str | None = Field(default=None, max_length=12)
    parcel_id: str | None = Field(default=None, max_length=40)
    recipient_iin: str | None = Field(default=None, max_length=12, index=True)
    evidence: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=2000)
    audit_id: str | None = Field(default=None, max_length=20)
