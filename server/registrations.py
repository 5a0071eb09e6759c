"""Registering a visit: queue numbers, idempotency, patient records.

The two promises the hub makes to kiosks:

1. Idempotency. A registration carries a key made by the kiosk; the same key
   always answers the same receipt and never makes a second row. The unique
   constraint on `registrations.key` is the guard; when two deliveries of the
   same key race, the loser's transaction fails on it, rolls back, and
   answers the winner's stored receipt.

2. Gapless, unique queue numbers per department per day, under any number of
   kiosks and hub workers. The counter row is incremented with
   INSERT ... ON CONFLICT DO UPDATE ... RETURNING, which takes the row's write
   lock (PostgreSQL) or the database write lock (SQLite, BEGIN IMMEDIATE), in
   the same transaction that inserts the registration. If anything after the
   increment fails, both roll back: no number is lost and none is given twice.
   A unique constraint on (department, day, number) backs the promise up.

Nothing personal is logged; log lines carry the registration key, the kiosk
and the department only.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kiosk import insurance as rules
from kiosk.domain import VIETNAM_TZ, HubReceipt, Registration
from server.db import upsert
from server.errors import ApiError
from server.models import Department, NumberLease, Patient, QueueCounter, Service
from server.models import Registration as RegistrationRow
from server.papers import patient_key, use_paper
from server.patients import keys_of, linked_keys, record_patient

log = logging.getLogger(__name__)

# How many times a registration is retried after losing a race on a unique
# constraint; the second attempt finds the winner's row and replays it.
_ATTEMPTS = 3


class RegistrationRejected(ApiError):
    """The hub will not accept this registration; resending will not help."""


@dataclass(frozen=True)
class RegistrationOutcome:
    receipt: HubReceipt
    created: bool  # False when the key was already known


def display_number(prefix: str, number: int) -> str:
    """The number as printed and called: "A-012"."""
    return f"{prefix}-{number:03d}"


def _number_in(printed: str) -> int:
    """The trailing number of an offline ticket ("K1-A-007" -> 7), 0 if none."""
    match = re.search(r"(\d+)\D*$", printed)
    return int(match.group(1)) if match else 0


def estimate_wait_minutes(department: Department, waiting_before: int, at: datetime) -> int:
    """People ahead × minutes per patient, as well as the hub can know it.

    The hub does not (yet) hear from the calling system who has been seen, so
    it assumes the room has worked through one patient every
    `minutes_per_patient` since it opened and counts only the rest as ahead.
    Before opening, the time until opening is added.
    """
    local = at.astimezone(VIETNAM_TZ)
    opens = datetime.combine(local.date(), department.opens_at, VIETNAM_TZ)
    per_patient = max(1, department.minutes_per_patient)
    if local < opens:
        until_open = (opens - local).total_seconds() / 60
        return int(until_open + waiting_before * per_patient)
    minutes_open = (local - opens).total_seconds() / 60
    seen = int(minutes_open // per_patient)
    return max(0, waiting_before - seen) * per_patient


def service_day(created_at: datetime) -> date:
    """The queue a registration joins: the Vietnam calendar day of NGAY_VAO.

    The kiosk's clock is trusted for this because signed requests already
    prove it within a minute of the hub's.
    """
    return created_at.astimezone(VIETNAM_TZ).date()


class Registrar:
    """Turns registrations into stored visits and receipts."""

    def __init__(self, sessions: sessionmaker[Session], hospital_code: str, clock: Callable[[], float]) -> None:
        self._sessions = sessions
        self._hospital_code = hospital_code
        self._clock = clock

    def register(self, registration: Registration, printed_number: str | None, delivered_by: str) -> RegistrationOutcome:
        printed_number = printed_number.strip() if printed_number and printed_number.strip() else None
        last_error: IntegrityError | None = None
        for _attempt in range(_ATTEMPTS):
            try:
                with self._sessions() as session, session.begin():
                    existing = session.scalar(select(RegistrationRow).where(RegistrationRow.key == registration.key))
                    if existing is not None:
                        return RegistrationOutcome(self._replay(session, existing, registration, printed_number), False)
                    receipt = self._create(session, registration, printed_number, delivered_by)
                log.info(
                    "registration %s from %s: %s in %s",
                    registration.key,
                    delivered_by,
                    receipt.display_number,
                    registration.department_code,
                )
                return RegistrationOutcome(receipt, True)
            except IntegrityError as exc:
                # Lost a race: the same key (or patient) was written by another
                # transaction first. Everything this attempt did, including
                # the counter increment, is rolled back; try again and find it.
                last_error = exc
                log.info("registration %s lost a race; retrying", registration.key)
        assert last_error is not None
        raise last_error

    # -- new visit -----------------------------------------------------------------

    def _create(self, session: Session, reg: Registration, printed_number: str | None, delivered_by: str) -> HubReceipt:
        department = session.get(Department, reg.department_code)
        if department is None or not department.active:
            raise RegistrationRejected(422, "unknown_department", f"unknown department {reg.department_code!r}")
        service = session.get(Service, reg.service_code)
        if service is None or not service.active or service.department_code != department.code:
            raise RegistrationRejected(
                422, "unknown_service", f"service {reg.service_code!r} is not offered by {department.code!r}"
            )
        if reg.created_at.tzinfo is None:
            raise RegistrationRejected(422, "naive_time", "created_at must carry a UTC offset")

        day = service_day(reg.created_at)
        patient_id, patient_note = self._upsert_patient(session, reg)
        waiting_before = session.scalar(
            select(func.count())
            .select_from(RegistrationRow)
            .where(RegistrationRow.service_day == day, RegistrationRow.department_code == department.code)
        ) or 0

        if printed_number is None:
            # Capacity counts patients, offline-printed ones included; numbers
            # leased to kiosks for outages are not patients (server.leases).
            if waiting_before >= department.daily_capacity:
                raise RegistrationRejected(
                    409, "department_full", f"{department.code} has seen all {department.daily_capacity} patients for {day}"
                )
            number: int | None = self._next_number(session, department.code, day)
            shown = display_number(department.queue_prefix, number)
        else:
            # The patient already holds a ticket printed offline: that is the
            # number staff will call. No hub number is consumed for it.
            number = None
            shown = printed_number

        if reg.paper_number and reg.visit_type.value != "new":
            # The patient brought a paper staff recorded: it is used now, so
            # the next check-in does not offer it again.
            use_paper(
                session,
                linked_keys(session, reg.identity.citizen.id_number, reg.identity.insurance_card_code),
                reg.paper_number,
                day,
                reg.key,
                datetime.fromtimestamp(self._clock(), VIETNAM_TZ),
            )

        category = rules.visit_category(reg.insurance, reg.visit_type, reg.paper_number, self._hospital_code)
        due = rules.amount_due(reg.insurance, category, service.price, service.insured_price)
        insurance = reg.insurance
        card_code = (insurance.card_code if insurance else None) or reg.identity.insurance_card_code

        row = RegistrationRow(
            key=reg.key,
            kiosk_id=delivered_by,
            origin_kiosk_id=reg.kiosk_id,
            patient_id=patient_id,
            department_code=department.code,
            service_code=service.code,
            visit_type=reg.visit_type.value,
            identity_source=reg.identity.source.value,
            verification=reg.identity.verification.value,
            created_at=reg.created_at,
            received_at=datetime.fromtimestamp(self._clock(), VIETNAM_TZ),
            service_day=day,
            queue_number=number,
            printed_number=printed_number,
            display_number=shown,
            episode_key=self._episode_key(day),
            room=department.room,
            estimated_wait_minutes=estimate_wait_minutes(department, waiting_before, reg.created_at),
            amount_due=due,
            visit_category=category,
            visit_kind=rules.OUTPATIENT_EXAM,
            paper_number=reg.paper_number,
            insurance_status=insurance.status.value if insurance else None,
            insurance_result_code=insurance.result_code if insurance else None,
            card_code=card_code,
            registered_facility=insurance.registered_facility if insurance else None,
            card_valid_from=insurance.valid_from if insurance else None,
            card_valid_to=insurance.valid_to if insurance else None,
        )
        if patient_note is not None:
            self._note(row, patient_note)
            log.warning("registration %s: BHXH number conflict between patient records", reg.key)
        session.add(row)
        session.flush()  # the unique constraints fire here, inside the transaction
        if printed_number is not None:
            self._flag_collisions(session, row)
        return self._receipt(row)

    def _next_number(self, session: Session, department_code: str, day: date) -> int:
        stmt = upsert(session, QueueCounter).values(department_code=department_code, service_day=day, last_number=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["department_code", "service_day"],
            set_={"last_number": QueueCounter.last_number + 1},
        ).returning(QueueCounter.last_number, QueueCounter.next_leased)
        number, next_leased = session.execute(stmt).one()
        if next_leased is None:
            return int(number)  # no blocks leased in this queue today: the usual case
        # Leased blocks sit in the outage band above the capacity, but staff
        # may have raised the capacity into it since: step over any block the
        # series runs into. The counter row is locked by the upsert above.
        while True:
            block_end = session.scalar(
                select(NumberLease.last_number).where(
                    NumberLease.department_code == department_code,
                    NumberLease.service_day == day,
                    NumberLease.first_number <= number,
                    NumberLease.last_number >= number,
                )
            )
            if block_end is None:
                return int(number)
            number = block_end + 1
            session.execute(
                update(QueueCounter)
                .where(QueueCounter.department_code == department_code, QueueCounter.service_day == day)
                .values(last_number=number)
            )

    def _upsert_patient(self, session: Session, reg: Registration) -> tuple[int, str | None]:
        """Find (or create) the person's one record and refresh it from the
        card just read (server.patients); with a note for staff, if any."""
        match = record_patient(session, reg, datetime.fromtimestamp(self._clock(), VIETNAM_TZ))
        if match is None:
            raise RegistrationRejected(
                422, "no_patient_id", "a registration needs a 12-digit CCCD number or a BHYT card code"
            )
        return match.patient_id, match.note

    @staticmethod
    def patient_key_of(reg: Registration) -> str | None:
        """CCCD number first; a BHYT-QR-only patient by the card's BHXH number
        (the card the patient showed, not a renewed one the gateway named)."""
        return patient_key(reg.identity.citizen.id_number, reg.identity.insurance_card_code)

    def _episode_key(self, day: date) -> str:
        """MA_LK: unique per visit; hospital, day and 48 random bits.

        Random rather than derived from the queue number so it is the same
        kind of value for hub and offline numbers; the unique constraint
        catches the (vanishing) chance of a repeat and the retry draws anew.
        """
        return f"{self._hospital_code}{day:%Y%m%d}{secrets.token_hex(6).upper()}"

    # -- a key seen before ---------------------------------------------------------

    def _replay(self, session: Session, row: RegistrationRow, reg: Registration, printed_number: str | None) -> HubReceipt:
        # The record may have been upgraded (BHXH key to CCCD) or merged
        # since: any key it answers to is the same person.
        patient = session.get(Patient, row.patient_id)
        stored_keys = keys_of(patient) if patient is not None else []
        if (
            row.department_code != reg.department_code
            or row.service_code != reg.service_code
            or self.patient_key_of(reg) not in stored_keys
        ):
            raise RegistrationRejected(
                409, "key_reused", "this registration key was already used for a different visit"
            )
        if printed_number is not None:
            if row.printed_number is None:
                # The kiosk printed an offline ticket before the hub's answer
                # reached it: the patient holds the printed number, so that is
                # the one to call. The hub number stays issued (the counter
                # never goes back) and staff are told it will not be answered.
                hub_number = row.display_number
                row.printed_number = printed_number
                row.display_number = printed_number
                self._note(row, f"patient holds printed number {printed_number}; hub number {hub_number} not handed out")
                session.flush()
                self._flag_collisions(session, row)
                log.info("registration %s: printed number recorded on replay", row.key)
            elif row.printed_number != printed_number:
                self._note(row, f"second printed number {printed_number} reported; kept {row.printed_number}")
        return self._receipt(row)

    def _flag_collisions(self, session: Session, row: RegistrationRow) -> None:
        """Mark visits that share a printed number with another in the same queue."""
        assert row.printed_number is not None
        others = session.scalars(
            select(RegistrationRow).where(
                RegistrationRow.service_day == row.service_day,
                RegistrationRow.department_code == row.department_code,
                RegistrationRow.id != row.id,
                or_(
                    RegistrationRow.display_number == row.printed_number,
                    RegistrationRow.printed_number == row.printed_number,
                ),
            )
        ).all()
        for other in others:
            self._note(row, f"number {row.printed_number} also held by registration {other.key}")
            self._note(other, f"number {row.printed_number} also held by registration {row.key}")
        if others:
            log.warning("registration %s: printed number collides in %s", row.key, row.department_code)

    @staticmethod
    def _note(row: RegistrationRow, text: str) -> None:
        row.attention = f"{row.attention}; {text}" if row.attention else text

    @staticmethod
    def _receipt(row: RegistrationRow) -> HubReceipt:
        return HubReceipt(
            registration_key=row.key,
            queue_number=row.queue_number if row.printed_number is None and row.queue_number is not None else _number_in(row.display_number),
            display_number=row.display_number,
            episode_key=row.episode_key,
            room=row.room,
            estimated_wait_minutes=row.estimated_wait_minutes,
            amount_due=row.amount_due,
        )

