"""screened postal items in a narrow table of their own, as screened lines are

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "screened_items",
        sa.Column(
            "item_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_screened_items")),
    )
    op.execute(
        "INSERT INTO screened_items (item_id, run_id) "
        "SELECT id, screened_run FROM postal_items WHERE screened_run IS NOT NULL"
    )
    with op.batch_alter_table("postal_items", schema=None) as batch_op:
        batch_op.drop_index("ix_postal_items_pending")
        batch_op.drop_column("screened_run")


def downgrade() -> None:
    with op.batch_alter_table("postal_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("screened_run", sa.Integer(), nullable=True))
        batch_op.create_index("ix_postal_items_pending", ["screened_run"], unique=False)
    op.execute(
        "UPDATE postal_items SET screened_run = "
        "(SELECT run_id FROM screened_items WHERE item_id = postal_items.id)"
    )
    op.drop_table("screened_items")
