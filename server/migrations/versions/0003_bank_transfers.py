"""Bank transfers reported by the bank's payment callback (VietQR fees).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Written against `server.models.BankTransfer` as of this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bank_transfers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=19), nullable=False),
        sa.Column("transferred_at", Timestamp, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transfers")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_bank_transfers_transaction_id")),
    )
    op.create_index(op.f("ix_bank_transfers_reference"), "bank_transfers", ["reference"])


def downgrade() -> None:
    op.drop_index(op.f("ix_bank_transfers_reference"), table_name="bank_transfers")
    op.drop_table("bank_transfers")
