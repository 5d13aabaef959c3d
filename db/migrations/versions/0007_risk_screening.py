"""risk screening: declaration lines, postal items, runs, candidates, screened lines

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "declaration_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("declaration_number", sa.String(length=40), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("customs_office", sa.String(length=5), nullable=False),
        sa.Column("declarant_bin", sa.String(length=12), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("hs_code", sa.String(length=10), nullable=False),
        sa.Column("hs6", sa.String(length=6), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("origin_country", sa.String(length=2), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("invoice_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exchange_rate", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("customs_value_kzt", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("incoterms", sa.String(length=3), nullable=False),
        sa.Column("transport_to_border", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("insurance_to_border", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("duty_rate_percent", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declaration_lines")),
        sa.UniqueConstraint(
            "declaration_number",
            "line_no",
            name=op.f("uq_declaration_lines_declaration_number_line_no"),
        ),
    )
    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_declaration_lines_customs_office"), ["customs_office"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_declaration_lines_declarant_bin"), ["declarant_bin"], unique=False
        )
        batch_op.create_index(
            "ix_declaration_lines_hs6_unit_day", ["hs6", "unit", "registered_on"], unique=False
        )
        batch_op.create_index(
            "ix_declaration_lines_hs_unit_day", ["hs_code", "unit", "registered_on"], unique=False
        )

    op.create_table(
        "postal_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parcel_id", sa.String(length=40), nullable=False),
        sa.Column("accepted_on", sa.Date(), nullable=False),
        sa.Column("recipient_iin", sa.String(length=12), nullable=False),
        sa.Column("sender_country", sa.String(length=2), nullable=False),
        sa.Column("product_type", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("declared_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("screened_run", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postal_items")),
        sa.UniqueConstraint(
            "parcel_id",
            "product_type",
            "quantity",
            "declared_value",
            "currency",
            name="uq_postal_items_item",
        ),
    )
    with op.batch_alter_table("postal_items", schema=None) as batch_op:
        batch_op.create_index("ix_postal_items_pending", ["screened_run"], unique=False)
        batch_op.create_index(
            "ix_postal_items_recipient_day", ["recipient_iin", "accepted_on"], unique=False
        )

    op.create_table(
        "screened_lines",
        sa.Column(
            "line_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_screened_lines")),
    )
    op.create_table(
        "screening_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=10), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("customs_office", sa.String(length=5), nullable=True),
        sa.Column("hs_code", sa.String(length=10), nullable=True),
        sa.Column("declaration_number", sa.String(length=40), nullable=True),
        sa.Column("line_no", sa.Integer(), nullable=True),
        sa.Column("declarant_bin", sa.String(length=12), nullable=True),
        sa.Column("parcel_id", sa.String(length=40), nullable=True),
        sa.Column("recipient_iin", sa.String(length=12), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.Column("audit_id", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_candidates")),
        sa.UniqueConstraint("key", name=op.f("uq_screening_candidates_key")),
    )
    with op.batch_alter_table("screening_candidates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_screening_candidates_declaration", ["declaration_number", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_screening_candidates_hs_code"), ["hs_code"], unique=False
        )
        batch_op.create_index(
            "ix_screening_candidates_listing",
            ["rule", "status", "customs_office", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_screening_candidates_recipient_iin"), ["recipient_iin"], unique=False
        )

    op.create_table(
        "screening_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batches_total", sa.Integer(), nullable=False),
        sa.Column("batches_done", sa.Integer(), nullable=False),
        sa.Column("lines_screened", sa.Integer(), nullable=False),
        sa.Column("items_screened", sa.Integer(), nullable=False),
        sa.Column("price_candidates", sa.Integer(), nullable=False),
        sa.Column("postal_candidates", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_runs")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_screening_runs_workflow_id")),
    )


def downgrade() -> None:
    op.drop_table("screening_runs")
    with op.batch_alter_table("screening_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_candidates_recipient_iin"))
        batch_op.drop_index("ix_screening_candidates_listing")
        batch_op.drop_index(batch_op.f("ix_screening_candidates_hs_code"))
        batch_op.drop_index("ix_screening_candidates_declaration")

    op.drop_table("screening_candidates")
    op.drop_table("screened_lines")
    with op.batch_alter_table("postal_items", schema=None) as batch_op:
        batch_op.drop_index("ix_postal_items_recipient_day")
        batch_op.drop_index("ix_postal_items_pending")

    op.drop_table("postal_items")
    with op.batch_alter_table("declaration_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_declaration_lines_hs_unit_day")
        batch_op.drop_index("ix_declaration_lines_hs6_unit_day")
        batch_op.drop_index(batch_op.f("ix_declaration_lines_declarant_bin"))
        batch_op.drop_index(batch_op.f("ix_declaration_lines_customs_office"))

    op.drop_table("declaration_lines")
