"""Blocks of queue numbers leased to kiosks for offline use.

Revision ID: 0004_number_leases
Revises: 0003
Create Date: 2026-11-22

Written against `server.models.NumberLease` as of this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_number_leases"
down_revision = "0003"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "number_leases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lease_key", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("first_number", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("leased_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_number_leases_department_code_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_leases")),
        sa.UniqueConstraint("lease_key", name=op.f("uq_number_leases_lease_key")),
    )
    op.create_index("ix_number_leases_kiosk_day", "number_leases", ["kiosk_id", "service_day"])


def downgrade() -> None:
    op.drop_index("ix_number_leases_kiosk_day", table_name="number_leases")
    op.drop_table("number_leases")
