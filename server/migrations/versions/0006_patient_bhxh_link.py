"""A patient record remembers its BHXH number, so one person keeps one record.

Revision ID: 0006_patient_bhxh_link
Revises: 0005_outage_band
Create Date: 2026-11-22

Before this revision a patient who came first with only a BHYT card QR
("BHXH:<10>") and later with the CCCD chip ("CCCD:<12>") got two records.
`patients.bhxh_number` links the BHXH number (the last ten characters of the
BHYT card code, DOMAIN.md §1) to the record, unique, so that the CCCD
check-in finds and upgrades the BHYT-only record (server.patients).

Backfill, on SQLite and PostgreSQL alike (substr/length/upper are common to
both):
- a BHYT-only record gets the number in its key;
- a CCCD record gets the number of the card it last showed, unless another
  record has or could claim the same number: that is left for the next
  check-in to settle, which merges a BHYT-only duplicate into the CCCD
  record, or flags two different CCCD holders to staff.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_patient_bhxh_link"
down_revision = "0005_outage_band"
branch_labels = None
depends_on = None

_CARD_BHXH = "upper(substr({t}.insurance_card_code, length({t}.insurance_card_code) - 9))"
_HAS_CARD = "{t}.insurance_card_code IS NOT NULL AND length({t}.insurance_card_code) >= 10"


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("bhxh_number", sa.String(length=10), nullable=True))
        batch.create_unique_constraint(op.f("uq_patients_bhxh_number"), ["bhxh_number"])
    op.execute("UPDATE patients SET bhxh_number = substr(patient_key, 6) WHERE patient_key LIKE 'BHXH:%'")
    mine = _CARD_BHXH.format(t="patients")
    theirs = _CARD_BHXH.format(t="other")
    op.execute(
        f"UPDATE patients SET bhxh_number = {mine} "
        f"WHERE bhxh_number IS NULL AND {_HAS_CARD.format(t='patients')} "
        "AND NOT EXISTS (SELECT 1 FROM patients other WHERE other.id <> patients.id "
        f"AND (other.bhxh_number = {mine} OR ({_HAS_CARD.format(t='other')} AND {theirs} = {mine})))"
    )


def downgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.drop_constraint(op.f("uq_patients_bhxh_number"), type_="unique")
        batch.drop_column("bhxh_number")
