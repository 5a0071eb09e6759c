"""Leased queue numbers come from an outage band above the hub's own series.

Revision ID: 0005_outage_band
Revises: 0004_number_leases
Create Date: 2026-11-22

Written against `server.models.QueueCounter` as of this revision. Blocks
leased before this revision were cut from the hub's own series and stay
valid: the counter already stands past them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_outage_band"
down_revision = "0004_number_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("queue_counters", sa.Column("next_leased", sa.Integer(), nullable=True))
    # Looked up on every hub number once a day has leases, to step over them.
    op.create_index("ix_number_leases_department_day", "number_leases", ["department_code", "service_day"])


def downgrade() -> None:
    op.drop_index("ix_number_leases_department_day", table_name="number_leases")
    with op.batch_alter_table("queue_counters") as batch:
        batch.drop_column("next_leased")
