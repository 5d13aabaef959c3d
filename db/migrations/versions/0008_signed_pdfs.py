"""signed PDF of each issued document, its hash and signer

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("pdf", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("pdf_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("signer_subject", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("signer_serial", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_documents_pdf_sha256"), ["pdf_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_index(batch.f("ix_documents_pdf_sha256"))
        for column in ("signed_at", "signer_serial", "signer_subject", "pdf_sha256", "pdf"):
            batch.drop_column(column)
