"""One record per person, whichever document the person showed first.

A patient is keyed by the 12-digit CCCD number ("CCCD:<12>"), or, when the
kiosk saw only a BHYT card QR, by the BHXH number ("BHXH:<10>": the last ten
characters of the card code, the person's lifelong social-security number,
DOMAIN.md §1). The same person may come one day with only the BHYT card and
another day with the CCCD chip; the second check-in must find the first
record, not start a new one, or the Decision 4750 export hands the hospital
two MA_BN for one person.

`patients.bhxh_number` (unique) links the BHXH number to the record:

- BHYT only: the record holding that BHXH number, whatever its key; a new
  "BHXH:" record if none does.
- CCCD (with the BHXH number of the card shown, or the card the insurance
  gateway found for this CCCD): the CCCD record; else the BHYT-only record
  holding the number, upgraded in place (the CCCD key takes over, the id and
  so MA_BN stay); else a new record. A CCCD record that meets its BHXH
  number on a separate BHYT-only record absorbs it: the visits move over
  and the duplicate goes.
- Two different CCCD numbers with one BHXH number are never merged: the
  number stays with the record that has it, and the visit is flagged for
  staff (/api/v1/admin/attention) to check the card.

Race safety: the rows read here are locked (SELECT ... FOR UPDATE on
PostgreSQL; SQLite transactions hold the write lock from BEGIN IMMEDIATE),
and the unique constraints on patient_key, id_number and bhxh_number fail
whichever concurrent transaction comes second; the registration retries
(server.registrations) and then finds the winner's record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from kiosk.domain import Citizen, InsuranceStatus, Registration
from server.models import Patient
from server.models import Registration as RegistrationRow
from server.papers import patient_key, patient_keys

_CARD = re.compile(r"[A-Za-z0-9]{10,15}")

# Gateway answers that tie a card to the CCCD holder who was checked: the
# register found this person's card. Not a mismatch (the card may be
# someone else's) nor a non-answer.
_CARD_BELONGS = (InsuranceStatus.VALID, InsuranceStatus.VALID_NEW_CARD, InsuranceStatus.EXPIRED)

SHARED_BHXH_NOTE = (
    "the BHXH number of this visit's BHYT card is already linked to another patient with a different CCCD: "
    "records kept apart, check the card"
)
OTHER_BHXH_NOTE = "the BHYT card's BHXH number differs from the one on this patient's record: check the card"


def bhxh_number(card_code: str | None) -> str | None:
    """The BHXH number in a BHYT card code (its last ten characters), or None."""
    if card_code and _CARD.fullmatch(card_code.strip()):
        return card_code.strip().upper()[-10:]
    return None


def keys_of(patient: Patient) -> list[str]:
    """Every key the person's papers may be recorded under."""
    keys = [patient.patient_key]
    if patient.bhxh_number and "BHXH:" + patient.bhxh_number not in keys:
        keys.append("BHXH:" + patient.bhxh_number)
    return keys


def linked_keys(session: Session, id_number: str | None, card_code: str | None) -> list[str]:
    """The keys of what the kiosk read, plus those of the record they lead to:
    a paper recorded against the CCCD is found from the BHYT card alone once
    the two are linked, and the other way round."""
    keys = patient_keys(id_number, card_code)
    if not keys:
        return keys
    conditions = [Patient.patient_key.in_(keys)]
    number = bhxh_number(card_code)
    if number:
        conditions.append(Patient.bhxh_number == number)
    cccd = id_number.strip() if id_number and key_is_cccd(keys[0]) else None
    for patient in session.scalars(select(Patient).where(or_(*conditions)).order_by(Patient.id)).all():
        if cccd and patient.id_number and patient.id_number != cccd:
            continue  # another person who holds the same BHXH number: never theirs
        for key in keys_of(patient):
            if key not in keys:
                keys.append(key)
    return keys


def key_is_cccd(key: str) -> bool:
    return key.startswith("CCCD:")


@dataclass(frozen=True)
class PatientMatch:
    patient_id: int
    note: str | None  # for staff on the visit's attention; never personal data


def card_bhxh_of(reg: Registration) -> str | None:
    """The BHXH number to link: the card the patient showed, else the card
    the gateway found for this person."""
    shown = bhxh_number(reg.identity.insurance_card_code)
    if shown:
        return shown
    insurance = reg.insurance
    if insurance is not None and insurance.status in _CARD_BELONGS:
        return bhxh_number(insurance.card_code)
    return None


def record_patient(session: Session, reg: Registration, now: datetime) -> PatientMatch | None:
    """Find or create the person's one record and refresh it from this check-in.

    None when the registration names nobody (no CCCD number, no card code).
    The latest check-in wins for name and sex; a missing birth date,
    address or card code does not erase a known one.
    """
    citizen = reg.identity.citizen
    key = patient_key(citizen.id_number, reg.identity.insurance_card_code)
    if key is None:
        return None
    number = card_bhxh_of(reg)
    card = (reg.insurance.card_code if reg.insurance else None) or reg.identity.insurance_card_code
    note: str | None = None

    # One read for both: the record under this key and the one holding the
    # number (the same row, two rows, or none).
    condition = Patient.patient_key == key if number is None else or_(Patient.patient_key == key, Patient.bhxh_number == number)
    found = _locked(session, condition)
    by_key = next((p for p in found if p.patient_key == key), None)
    holder = next((p for p in found if number is not None and p.bhxh_number == number), None)
    if not key_is_cccd(key):
        record = holder or by_key
        if record is None:
            record = _new(session, key, None, number, citizen, card, now)
    else:
        cccd = key[5:]
        record = by_key
        if record is None:
            if holder is not None and holder.id_number is None:
                # Came before with only the BHYT card: the same person, now
                # known by the CCCD. Upgrade in place so MA_BN stays.
                record = holder
                record.patient_key = key
                record.id_number = cccd
            else:
                if holder is not None:
                    note = SHARED_BHXH_NOTE
                record = _new(session, key, cccd, None if holder is not None else number, citizen, card, now)
        elif number:
            if record.bhxh_number is None:
                if holder is None:
                    record.bhxh_number = number
                elif holder.id_number is None:
                    _absorb(session, record, holder)
                    record.bhxh_number = number
                else:
                    note = SHARED_BHXH_NOTE
            elif record.bhxh_number != number:
                note = OTHER_BHXH_NOTE
    _refresh(record, citizen, card, now)
    session.flush()  # the unique constraints fire here, inside the transaction
    return PatientMatch(record.id, note)


def _locked(session: Session, condition: Any) -> list[Patient]:
    # FOR UPDATE: a concurrent upgrade or merge of these records waits for
    # ours and then re-reads them (PostgreSQL); SQLite ignores it and needs
    # none (BEGIN IMMEDIATE).
    return list(session.scalars(select(Patient).where(condition).order_by(Patient.id).with_for_update()).all())


def _new(
    session: Session, key: str, cccd: str | None, number: str | None, citizen: Citizen, card: str | None, now: datetime
) -> Patient:
    record = Patient(
        patient_key=key,
        id_number=cccd,
        bhxh_number=number,
        full_name=citizen.full_name,
        date_of_birth=citizen.date_of_birth,
        sex=citizen.sex.value,
        address=citizen.place_of_residence,
        insurance_card_code=card,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    return record


def _absorb(session: Session, record: Patient, duplicate: Patient) -> None:
    """Move a BHYT-only duplicate's visits onto the CCCD record and drop it.

    Its papers need no move: they are keyed by "BHXH:<number>", which the
    record answers to once it holds the number (`keys_of`).
    """
    session.execute(
        update(RegistrationRow).where(RegistrationRow.patient_id == duplicate.id).values(patient_id=record.id)
    )
    if record.date_of_birth is None:
        record.date_of_birth = duplicate.date_of_birth
    if record.address is None:
        record.address = duplicate.address
    session.delete(duplicate)
    # The duplicate's row (and its hold on the number) goes before the record
    # takes the number: the unit of work would otherwise update first.
    session.flush()


def _refresh(record: Patient, citizen: Citizen, card: str | None, now: datetime) -> None:
    record.full_name = citizen.full_name
    record.sex = citizen.sex.value
    if citizen.date_of_birth is not None:
        record.date_of_birth = citizen.date_of_birth
    if citizen.place_of_residence:
        record.address = citizen.place_of_residence
    if card:
        record.insurance_card_code = card
    record.updated_at = now
