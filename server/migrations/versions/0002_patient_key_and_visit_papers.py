"""Patients keyed by CCCD or BHXH number; re-exam appointments and referral papers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

- patients.patient_key ("CCCD:<12>" or "BHXH:<10>") becomes the identity of a
  patient record, and id_number may be NULL: a patient identified only by a
  BHYT card QR has no CCCD number, and two such patients must not collide on
  an empty one.
- visit_papers: XML14 re-exam appointments and XML13 referral papers staff
  record, which kiosks recognise at check-in.

SQLite cannot alter a column in place; batch mode copies the table (Alembic
"batch migrations"), which on PostgreSQL is plain ALTER TABLE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("patient_key", sa.String(length=32), nullable=True))
    # Every existing record came with a 12-digit CCCD number (the API required it).
    op.execute("UPDATE patients SET patient_key = 'CCCD:' || id_number")
    with op.batch_alter_table("patients") as batch:
        batch.alter_column("patient_key", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("id_number", existing_type=sa.String(length=12), nullable=True)
        batch.create_unique_constraint(op.f("uq_patients_patient_key"), ["patient_key"])

    op.create_table(
        "visit_papers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("patient_key", sa.String(length=32), nullable=False),
        sa.Column("paper_number", sa.String(length=50), nullable=False),
        sa.Column("referral_code", sa.String(length=50), nullable=True),
        sa.Column("issuing_facility", sa.String(length=10), nullable=True),
        sa.Column("from_facility", sa.String(length=10), nullable=True),
        sa.Column("to_facility", sa.String(length=10), nullable=True),
        sa.Column("department_code", sa.String(length=20), nullable=True),
        sa.Column("service_code", sa.String(length=50), nullable=True),
        sa.Column("appointment_date", sa.Date(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("cancelled_at", Timestamp, nullable=True),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.Column("used_by_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_visit_papers_department_code_departments")
        ),
        sa.ForeignKeyConstraint(["service_code"], ["services.code"], name=op.f("fk_visit_papers_service_code_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_papers")),
        sa.UniqueConstraint("reference", name=op.f("uq_visit_papers_reference")),
    )
    op.create_index(op.f("ix_visit_papers_patient_key"), "visit_papers", ["patient_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_visit_papers_patient_key"), table_name="visit_papers")
    op.drop_table("visit_papers")
    # Records without a CCCD number cannot go back into the old schema.
    op.execute("DELETE FROM registrations WHERE patient_id IN (SELECT id FROM patients WHERE id_number IS NULL)")
    op.execute("DELETE FROM patients WHERE id_number IS NULL")
    with op.batch_alter_table("patients") as batch:
        batch.drop_constraint(op.f("uq_patients_patient_key"), type_="unique")
        batch.alter_column("id_number", existing_type=sa.String(length=12), nullable=False)
        batch.drop_column("patient_key")
