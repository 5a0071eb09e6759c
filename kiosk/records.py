"""Plain-dict forms of domain objects, for the outbox and the hub wire format.

One place decides how a registration looks outside the process, so the
outbox, the hub client and the hub agree. Dates are ISO 8601 strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kiosk.domain import (
    Citizen,
    HubReceipt,
    Identity,
    IdentitySource,
    InsuranceCheck,
    InsuranceStatus,
    Registration,
    Sex,
    Verification,
    VisitType,
)

_CITIZEN_TEXT_FIELDS = (
    "id_number",
    "full_name",
    "old_id_number",
    "nationality",
    "ethnicity",
    "religion",
    "place_of_origin",
    "place_of_residence",
    "identifying_marks",
    "date_of_expiry",
    "father_name",
    "mother_name",
    "spouse_name",
)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _date(s: str | None) -> date | None:
    return date.fromisoformat(s) if s else None


def citizen_to_dict(c: Citizen) -> dict[str, Any]:
    """The photo is left out: it stays on the kiosk screen, never in storage."""
    out: dict[str, Any] = {k: getattr(c, k) for k in _CITIZEN_TEXT_FIELDS}
    out["date_of_birth"] = _iso(c.date_of_birth)
    out["date_of_issue"] = _iso(c.date_of_issue)
    out["sex"] = c.sex.value
    return out


def citizen_from_dict(d: dict[str, Any]) -> Citizen:
    return Citizen(
        **{k: d.get(k) for k in _CITIZEN_TEXT_FIELDS},
        date_of_birth=_date(d.get("date_of_birth")),
        date_of_issue=_date(d.get("date_of_issue")),
        sex=Sex(int(d.get("sex", 3))),
    )


def insurance_to_dict(i: InsuranceCheck) -> dict[str, Any]:
    return {
        "result_code": i.result_code,
        "status": i.status.value,
        "message_vi": i.message_vi,
        "message_en": i.message_en,
        "card_code": i.card_code,
        "registered_facility": i.registered_facility,
        "valid_from": _iso(i.valid_from),
        "valid_to": _iso(i.valid_to),
    }


def insurance_from_dict(d: dict[str, Any]) -> InsuranceCheck:
    return InsuranceCheck(
        result_code=d["result_code"],
        status=InsuranceStatus(d["status"]),
        message_vi=d.get("message_vi", ""),
        message_en=d.get("message_en", ""),
        card_code=d.get("card_code"),
        registered_facility=d.get("registered_facility"),
        valid_from=_date(d.get("valid_from")),
        valid_to=_date(d.get("valid_to")),
    )


def registration_to_dict(r: Registration) -> dict[str, Any]:
    return {
        "key": r.key,
        "kiosk_id": r.kiosk_id,
        "citizen": citizen_to_dict(r.identity.citizen),
        "identity_source": r.identity.source.value,
        "verification": r.identity.verification.value,
        "insurance_card_code": r.identity.insurance_card_code,
        "insurance": insurance_to_dict(r.insurance) if r.insurance else None,
        "visit_type": r.visit_type.value,
        "department_code": r.department_code,
        "service_code": r.service_code,
        "created_at": r.created_at.isoformat(),
        "paper_number": r.paper_number,
    }


def registration_from_dict(d: dict[str, Any]) -> Registration:
    identity = Identity(
        citizen=citizen_from_dict(d["citizen"]),
        source=IdentitySource(d["identity_source"]),
        verification=Verification(d["verification"]),
        insurance_card_code=d.get("insurance_card_code"),
    )
    return Registration(
        key=d["key"],
        kiosk_id=d["kiosk_id"],
        identity=identity,
        insurance=insurance_from_dict(d["insurance"]) if d.get("insurance") else None,
        visit_type=VisitType(d["visit_type"]),
        department_code=d["department_code"],
        service_code=d["service_code"],
        created_at=datetime.fromisoformat(d["created_at"]),
        paper_number=d.get("paper_number"),
    )


def receipt_to_dict(r: HubReceipt) -> dict[str, Any]:
    return {
        "registration_key": r.registration_key,
        "queue_number": r.queue_number,
        "display_number": r.display_number,
        "episode_key": r.episode_key,
        "room": r.room,
        "estimated_wait_minutes": r.estimated_wait_minutes,
        "amount_due": r.amount_due,
    }


def receipt_from_dict(d: dict[str, Any]) -> HubReceipt:
    return HubReceipt(
        registration_key=d["registration_key"],
        queue_number=int(d["queue_number"]),
        display_number=d["display_number"],
        episode_key=d["episode_key"],
        room=d["room"],
        estimated_wait_minutes=int(d["estimated_wait_minutes"]),
        amount_due=int(d["amount_due"]),
    )
