"""The hub's tables (SQLAlchemy 2 declarative models).

The schema is created and changed only by the Alembic migrations in
`server/migrations`; a test checks the two agree.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from server.db import UtcDateTime

# Stable constraint names, so migrations can refer to them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# -- who may talk to the hub ---------------------------------------------------


class AdminToken(Base):
    """A bearer token for the admin endpoints.

    Only the SHA-256 of the token is kept: tokens are 256-bit random strings,
    so a fast hash is as strong as a slow one here and keeps every admin
    request cheap (a password hash such as Argon2 only helps for guessable,
    human-chosen secrets).
    """

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Kiosk(Base):
    """A kiosk's credential and its last reported state.

    The HMAC secret must be known to the hub to verify signatures, so it
    cannot be hashed: it is encrypted with the server-side key from the
    settings (AES-256-GCM, `server.security.SecretBox`).
    """

    __tablename__ = "kiosks"

    kiosk_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    devices: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    outbox_depth: Mapped[int | None] = mapped_column(Integer, nullable=True)


class RequestNonce(Base):
    """Nonces seen within the signature window: a second use is a replay.

    Kept in the database rather than in memory so several hub worker
    processes share them; rows older than twice the window are pruned.
    """

    __tablename__ = "request_nonces"

    kiosk_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[int] = mapped_column(Integer, index=True)  # unix seconds


class RateWindow(Base):
    """Requests per kiosk per minute (fixed windows), shared by all workers."""

    __tablename__ = "rate_windows"

    kiosk_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # unix seconds
    count: Mapped[int] = mapped_column(Integer)


# -- reference data ------------------------------------------------------------


class Department(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    room: Mapped[str] = mapped_column(String(50))
    floor: Mapped[str] = mapped_column(String(50))
    queue_prefix: Mapped[str] = mapped_column(String(3), unique=True)
    daily_capacity: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)
    # Average consultation length, for the waiting-time estimate.
    minutes_per_patient: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    services: Mapped[list[Service]] = relationship(back_populates="department")


class Service(Base):
    __tablename__ = "services"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)  # MA_DICH_VU
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    name_vi: Mapped[str] = mapped_column(String(300))  # TEN_DICH_VU
    name_en: Mapped[str] = mapped_column(String(300))
    price: Mapped[int] = mapped_column(Integer)  # VND, fee-paying
    insured_price: Mapped[int] = mapped_column(Integer)  # VND, BHYT price
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    department: Mapped[Department] = relationship(back_populates="services")


# -- the queue -------------------------------------------------------------------


class QueueCounter(Base):
    """The last number handed out per department per day.

    Incremented with INSERT ... ON CONFLICT DO UPDATE ... RETURNING in the
    same transaction as the registration that uses the number: if the
    registration fails, the increment rolls back with it and the numbers stay
    gapless.
    """

    __tablename__ = "queue_counters"

    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    service_day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)
    # The next number of the day's outage band (`server.leases`): leased
    # blocks are cut from there, above the hub's own series, so leasing
    # neither shifts the hub's numbers nor leaves gaps in them. NULL until
    # the first lease of the day.
    next_leased: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Patient(Base):
    """A person as last described by a check-in (looked up by CCCD number).

    `patient_key` is what identifies the person: "CCCD:<12 digits>", or for a
    patient known only by a BHYT card QR (no CCCD number), "BHXH:<10 digits>",
    the social-security number in the card code, which stays the same when
    the card is renewed (`server.registrations.patient_key`).
    """

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # MA_BN derives from it
    patient_key: Mapped[str] = mapped_column(String(32), unique=True)
    id_number: Mapped[str | None] = mapped_column(String(12), unique=True, nullable=True)  # NULL: BHYT only
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[int] = mapped_column(Integer)  # GIOI_TINH 1/2/3
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    insurance_card_code: Mapped[str | None] = mapped_column(String(15), nullable=True)
    # The BHXH number (last 10 of the BHYT card code) linked to this person,
    # so a BHYT-only check-in finds the record a CCCD check-in upgraded
    # (server.patients). Unique: one number, one record; NULL when unknown
    # or when another person's record already holds it (staff are told).
    bhxh_number: Mapped[str | None] = mapped_column(String(10), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Registration(Base):
    """One check-in, with the receipt the hub gave for it.

    The receipt fields are stored, not recomputed, so the same key always
    answers the same receipt.
    """

    __tablename__ = "registrations"
    __table_args__ = (
        # Hub-issued numbers are unique per department and day. Offline
        # (printed) numbers leave queue_number NULL, and NULLs never collide.
        UniqueConstraint("department_code", "service_day", "queue_number", name="uq_registrations_queue_slot"),
        Index("ix_registrations_day_department", "service_day", "department_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the kiosk's idempotency key
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"))  # the kiosk that delivered it
    origin_kiosk_id: Mapped[str] = mapped_column(String(40))  # the kiosk that created it
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"))
    visit_type: Mapped[str] = mapped_column(String(20))
    identity_source: Mapped[str] = mapped_column(String(20))
    verification: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)  # NGAY_VAO
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    service_day: Mapped[date] = mapped_column(Date)
    queue_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    printed_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    display_number: Mapped[str] = mapped_column(String(40))
    episode_key: Mapped[str] = mapped_column(String(100), unique=True)  # MA_LK
    room: Mapped[str] = mapped_column(String(50))
    estimated_wait_minutes: Mapped[int] = mapped_column(Integer)
    amount_due: Mapped[int] = mapped_column(Integer)
    visit_category: Mapped[str | None] = mapped_column(String(10), nullable=True)  # MA_DOITUONG_KCB
    visit_kind: Mapped[str] = mapped_column(String(5))  # MA_LOAI_KCB
    paper_number: Mapped[str | None] = mapped_column(String(100), nullable=True)  # GIAY_CHUYEN_TUYEN
    insurance_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    insurance_result_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    card_code: Mapped[str | None] = mapped_column(String(15), nullable=True)  # MA_THE_BHYT
    registered_facility: Mapped[str | None] = mapped_column(String(10), nullable=True)  # MA_DKBD
    card_valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    card_valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Set when staff should look at the visit: a printed number that collides
    # with another, or a patient holding a printed number instead of the hub's.
    attention: Mapped[str | None] = mapped_column(Text, nullable=True)

    patient: Mapped[Patient] = relationship()
    department: Mapped[Department] = relationship()
    service: Mapped[Service] = relationship()


# -- papers a patient brings ------------------------------------------------------


class VisitPaper(Base):
    """A re-exam appointment (XML14) or referral paper (XML13) staff recorded.

    Recognised at check-in by the patient's key (or the slip's QR reference)
    while open: not used, not cancelled, and today within valid_from..valid_to.
    A registration that carries its paper number uses it up.
    """

    __tablename__ = "visit_papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # in the slip's QR
    kind: Mapped[str] = mapped_column(String(20))  # "appointment" | "referral"
    patient_key: Mapped[str] = mapped_column(String(32), index=True)
    paper_number: Mapped[str] = mapped_column(String(50))  # SO_GIAYHEN_KL / SO_CHUYENTUYEN
    referral_code: Mapped[str | None] = mapped_column(String(50), nullable=True)  # GIAY_CHUYEN_TUYEN
    issuing_facility: Mapped[str | None] = mapped_column(String(10), nullable=True)  # MA_CSKCB (XML14)
    from_facility: Mapped[str | None] = mapped_column(String(10), nullable=True)  # MA_NOI_DI (XML13)
    to_facility: Mapped[str | None] = mapped_column(String(10), nullable=True)  # MA_NOI_DEN (XML13)
    department_code: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), nullable=True)
    service_code: Mapped[str | None] = mapped_column(ForeignKey("services.code"), nullable=True)
    appointment_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # NGAY_HEN_KL
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # NGAY_CT
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    used_by_key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # registrations.key


# -- payments (server.payments) ----------------------------------------------------


class BankTransfer(Base):
    """One incoming transfer the bank reported through its callback.

    Unique by the bank's transaction id, so a callback the bank repeats
    (it retries until it gets a 200) is counted once. Only the payment
    reference found in the transfer note is kept, never the note itself:
    banks put the payer's name and account in it.
    """

    __tablename__ = "bank_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    reference: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # None: no reference found
    amount: Mapped[int] = mapped_column(Integer)  # VND
    account: Mapped[str] = mapped_column(String(19))  # the hospital account credited
    transferred_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the bank's time
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when the callback arrived


# -- offline number leases (server.leases) -------------------------------------------


class NumberLease(Base):
    """A block of queue numbers handed to one kiosk for one department and day.

    Cut from the day's outage band, above the hub's own series, under the
    department's `QueueCounter` row lock, so hub numbers and leased numbers
    never overlap (`server.leases`). The kiosk prints them while the hub is
    unreachable; numbers it never uses are simply never called. Unique by the kiosk's lease key: a request the kiosk repeats after
    a lost answer gets the same block, not a second one.
    """

    __tablename__ = "number_leases"
    __table_args__ = (
        Index("ix_number_leases_kiosk_day", "kiosk_id", "service_day"),
        Index("ix_number_leases_department_day", "department_code", "service_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lease_key: Mapped[str] = mapped_column(String(64), unique=True)
    kiosk_id: Mapped[str] = mapped_column(String(40))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    service_day: Mapped[date] = mapped_column(Date)
    first_number: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer)
    leased_at: Mapped[datetime] = mapped_column(UtcDateTime)
