"""Initial hub schema: kiosks, reference data, queue counters, patients, registrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written against `server.models` as of this revision. Later changes go in new
revisions; never edit this one after it has run somewhere.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# UtcDateTime (server.db) stores through this type; migrations use the plain
# type so they do not depend on application code that may change later.
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("revoked_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_admin_tokens_token_sha256")),
    )
    op.create_table(
        "kiosks",
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=True),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("devices", sa.JSON(), nullable=True),
        sa.Column("outbox_depth", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("kiosk_id", name=op.f("pk_kiosks")),
    )
    op.create_table(
        "request_nonces",
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "nonce", name=op.f("pk_request_nonces")),
    )
    op.create_index(op.f("ix_request_nonces_seen_at"), "request_nonces", ["seen_at"])
    op.create_table(
        "rate_windows",
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "window_start", name=op.f("pk_rate_windows")),
    )
    op.create_table(
        "departments",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name_vi", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("room", sa.String(length=50), nullable=False),
        sa.Column("floor", sa.String(length=50), nullable=False),
        sa.Column("queue_prefix", sa.String(length=3), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=False),
        sa.Column("closes_at", sa.Time(), nullable=False),
        sa.Column("minutes_per_patient", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
        sa.UniqueConstraint("queue_prefix", name=op.f("uq_departments_queue_prefix")),
    )
    op.create_table(
        "services",
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("name_vi", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("insured_price", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_services_department_code_departments")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_services")),
    )
    op.create_index(op.f("ix_services_department_code"), "services", ["department_code"])
    op.create_table(
        "queue_counters",
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_queue_counters_department_code_departments")
        ),
        sa.PrimaryKeyConstraint("department_code", "service_day", name=op.f("pk_queue_counters")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("sex", sa.Integer(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("insurance_card_code", sa.String(length=15), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("id_number", name=op.f("uq_patients_id_number")),
    )
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("origin_kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("service_code", sa.String(length=50), nullable=False),
        sa.Column("visit_type", sa.String(length=20), nullable=False),
        sa.Column("identity_source", sa.String(length=20), nullable=False),
        sa.Column("verification", sa.String(length=20), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("queue_number", sa.Integer(), nullable=True),
        sa.Column("printed_number", sa.String(length=40), nullable=True),
        sa.Column("display_number", sa.String(length=40), nullable=False),
        sa.Column("episode_key", sa.String(length=100), nullable=False),
        sa.Column("room", sa.String(length=50), nullable=False),
        sa.Column("estimated_wait_minutes", sa.Integer(), nullable=False),
        sa.Column("amount_due", sa.Integer(), nullable=False),
        sa.Column("visit_category", sa.String(length=10), nullable=True),
        sa.Column("visit_kind", sa.String(length=5), nullable=False),
        sa.Column("paper_number", sa.String(length=100), nullable=True),
        sa.Column("insurance_status", sa.String(length=20), nullable=True),
        sa.Column("insurance_result_code", sa.String(length=20), nullable=True),
        sa.Column("card_code", sa.String(length=15), nullable=True),
        sa.Column("registered_facility", sa.String(length=10), nullable=True),
        sa.Column("card_valid_from", sa.Date(), nullable=True),
        sa.Column("card_valid_to", sa.Date(), nullable=True),
        sa.Column("attention", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_registrations_department_code_departments")
        ),
        sa.ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"], name=op.f("fk_registrations_kiosk_id_kiosks")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_registrations_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["service_code"], ["services.code"], name=op.f("fk_registrations_service_code_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registrations")),
        sa.UniqueConstraint("key", name=op.f("uq_registrations_key")),
        sa.UniqueConstraint("episode_key", name=op.f("uq_registrations_episode_key")),
        sa.UniqueConstraint("department_code", "service_day", "queue_number", name="uq_registrations_queue_slot"),
    )
    op.create_index("ix_registrations_day_department", "registrations", ["service_day", "department_code"])
    op.create_index(op.f("ix_registrations_patient_id"), "registrations", ["patient_id"])


def downgrade() -> None:
    op.drop_table("registrations")
    op.drop_table("patients")
    op.drop_table("queue_counters")
    op.drop_table("services")
    op.drop_table("departments")
    op.drop_table("rate_windows")
    op.drop_table("request_nonces")
    op.drop_table("kiosks")
    op.drop_table("admin_tokens")
