"""an office's cases by status in deadline order, for the dashboard

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audits_office_status_deadline",
        "audits",
        ["customs_office", "status", "next_deadline", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_audits_office_status_deadline", table_name="audits")
