"""decided cases flagged for revocation, listed for staff from an index of their own

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "revocation_proposed", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.create_index(
            "ix_audits_flagged_office", ["revocation_proposed", "customs_office"], unique=False
        )
    # Cases flagged before the column existed: the flag is in their stored state (only an
    # unfulfilled case can carry it, so only those are read).
    audits = sa.table(
        "audits",
        sa.column("id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("snapshot", sa.JSON()),
        sa.column("revocation_proposed", sa.Boolean()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(audits.c.id, audits.c.snapshot).where(audits.c.status == "UNFULFILLED")
    )
    flagged = [row.id for row in rows if (row.snapshot or {}).get("revocation_proposed")]
    if flagged:
        connection.execute(
            audits.update().where(audits.c.id.in_(flagged)).values(revocation_proposed=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("audits", schema=None) as batch_op:
        batch_op.drop_index("ix_audits_flagged_office")
        batch_op.drop_column("revocation_proposed")
