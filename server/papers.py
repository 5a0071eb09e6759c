"""Re-exam appointments and referral papers, and how a patient is keyed.

A patient who comes back on an appointment slip (giấy hẹn khám lại, the
XML14 table of Decision 4750/130: SO_GIAYHEN_KL, MA_CSKCB, NGAY_HEN_KL) or
with a referral paper (giấy chuyển tuyến, XML13: SO_CHUYENTUYEN,
GIAY_CHUYEN_TUYEN, MA_NOI_DI, MA_NOI_DEN) should not have to find the right
buttons: staff record the paper at the hub, and the kiosk finds it by the
patient's ID at check-in and preselects the visit type, the paper number
and the department.

When a paper is "open" (recognised at check-in):
- an appointment from `APPOINTMENT_EARLY_DAYS` before its NGAY_HEN_KL until
  `APPOINTMENT_LATE_DAYS` after it: patients come a little early or late,
  and the desk, not the kiosk, decides about those far outside the date;
- a referral from its issue date to the validity staff enter from the
  paper; when none is entered, `REFERRAL_DEFAULT_DAYS`;
- and in both cases only until a registration uses it, and never after
  staff cancel it.

Patients are keyed by their 12-digit CCCD number, or, when the kiosk knows
only a BHYT card (identified by the card's QR), by the 10-digit
social-security number at the end of the card code (DOMAIN.md §1): it is
the person's lifelong number and survives a card renewal, unlike the
15-character code.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kiosk.domain import VisitPaper as VisitPaperInfo
from kiosk.domain import VisitType
from server.models import VisitPaper

APPOINTMENT = "appointment"
REFERRAL = "referral"

APPOINTMENT_EARLY_DAYS = 3
APPOINTMENT_LATE_DAYS = 10
REFERRAL_DEFAULT_DAYS = 30

_CCCD = re.compile(r"\d{12}")
_CARD = re.compile(r"[A-Za-z0-9]{10,15}")
# Unambiguous capitals and digits (no 0/O, 1/I): a reference may be read aloud.
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def patient_key(id_number: str | None, card_code: str | None) -> str | None:
    """"CCCD:<12 digits>", else "BHXH:<last 10 of the card code>", else None."""
    if id_number and _CCCD.fullmatch(id_number.strip()):
        return "CCCD:" + id_number.strip()
    if card_code and _CARD.fullmatch(card_code.strip()):
        return "BHXH:" + card_code.strip().upper()[-10:]
    return None


def patient_keys(id_number: str | None, card_code: str | None) -> list[str]:
    """Every key the patient may have been recorded under (CCCD and BHXH)."""
    keys = []
    if id_number and _CCCD.fullmatch(id_number.strip()):
        keys.append("CCCD:" + id_number.strip())
    if card_code and _CARD.fullmatch(card_code.strip()):
        keys.append("BHXH:" + card_code.strip().upper()[-10:])
    return keys


def new_reference(kind: str) -> str:
    """"H" (hẹn) or "C" (chuyển) and nine random characters: 45 bits, unguessable
    enough that a slip's QR cannot be enumerated, and short enough to print."""
    prefix = "H" if kind == APPOINTMENT else "C"
    return prefix + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(9))


def appointment_window(appointment_date: date) -> tuple[date, date]:
    return (
        appointment_date - timedelta(days=APPOINTMENT_EARLY_DAYS),
        appointment_date + timedelta(days=APPOINTMENT_LATE_DAYS),
    )


def referral_window(issued_on: date, valid_to: date | None) -> tuple[date, date]:
    return issued_on, valid_to or issued_on + timedelta(days=REFERRAL_DEFAULT_DAYS)


def _open(today: date) -> list[object]:
    return [
        VisitPaper.used_at.is_(None),
        VisitPaper.cancelled_at.is_(None),
        VisitPaper.valid_from <= today,
        VisitPaper.valid_to >= today,
    ]


def find_open_paper(session: Session, keys: list[str], today: date, reference: str | None = None) -> VisitPaper | None:
    """The patient's open paper: the one `reference` names if it is theirs,
    else the one whose date is nearest today (appointments before referrals
    on a tie: the hospital's own plan for the patient comes first)."""
    if not keys:
        return None
    query = select(VisitPaper).where(VisitPaper.patient_key.in_(keys), *_open(today))
    if reference:
        # Someone else's slip answers nothing, the same as an unknown one.
        return session.scalar(query.where(VisitPaper.reference == reference.strip().upper()))
    papers = session.scalars(query.order_by(VisitPaper.id)).all()
    if not papers:
        return None

    def distance(p: VisitPaper) -> tuple[int, int]:
        anchor = p.appointment_date or p.issued_on or p.valid_from
        return abs((anchor - today).days), 0 if p.kind == APPOINTMENT else 1

    return min(papers, key=distance)


def use_paper(session: Session, keys: list[str], paper_number: str, today: date, registration_key: str, now: datetime) -> bool:
    """Mark the patient's open paper with this number as used by a registration."""
    number = paper_number.strip()
    if not keys or not number:
        return False
    paper = session.scalar(
        select(VisitPaper)
        .where(
            VisitPaper.patient_key.in_(keys),
            or_(VisitPaper.paper_number == number, VisitPaper.referral_code == number),
            *_open(today),
        )
        .order_by(VisitPaper.id)
        .limit(1)
    )
    if paper is None:
        return False
    paper.used_at = now
    paper.used_by_key = registration_key
    return True


def paper_number_on_visit(paper: VisitPaper) -> str:
    """What goes into GIAY_CHUYEN_TUYEN on the visit."""
    if paper.kind == REFERRAL and paper.referral_code:
        return paper.referral_code
    return paper.paper_number


def to_info(paper: VisitPaper) -> VisitPaperInfo:
    return VisitPaperInfo(
        reference=paper.reference,
        visit_type=VisitType.RE_EXAM if paper.kind == APPOINTMENT else VisitType.REFERRAL,
        paper_number=paper_number_on_visit(paper),
        department_code=paper.department_code,
        service_code=paper.service_code,
        appointment_date=paper.appointment_date,
        from_facility=paper.from_facility,
    )


def paper_dict(info: VisitPaperInfo) -> dict[str, object]:
    """The wire form the kiosk endpoint answers (drivers.hub.http_client reads it)."""
    return {
        "reference": info.reference,
        "visit_type": info.visit_type.value,
        "paper_number": info.paper_number,
        "department_code": info.department_code,
        "service_code": info.service_code,
        "appointment_date": info.appointment_date.isoformat() if info.appointment_date else None,
        "from_facility": info.from_facility,
    }
