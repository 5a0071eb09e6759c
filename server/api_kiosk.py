"""Endpoints the kiosks call. Every one but /health is signed (server.security).

The request and answer bodies are the dict forms of `kiosk.records`, so the
kiosk, its outbox and the hub agree on one wire format; the models below only
describe and validate them for OpenAPI.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, text

from kiosk import __version__
from kiosk.records import (
    citizen_from_dict,
    insurance_to_dict,
    receipt_to_dict,
    registration_from_dict,
)
from server.context import HubContext, hub, signed_kiosk
from server.models import Department, Kiosk, Service
from server.papers import find_open_paper, paper_dict, to_info
from server.patients import linked_keys

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1")


# -- wire models (kiosk.records dict forms) -------------------------------------


class CitizenIn(BaseModel):
    """`kiosk.records.citizen_to_dict`. The photo never travels."""

    model_config = ConfigDict(extra="ignore")

    id_number: str = Field(
        pattern=r"^(\d{12})?$",
        description="12-digit CCCD number (SO_CCCD); empty when only a BHYT card identified the patient",
    )
    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: date | None = None
    sex: int = Field(3, ge=1, le=3, description="GIOI_TINH: 1 male, 2 female, 3 undetermined")
    old_id_number: str | None = Field(None, max_length=12)
    nationality: str | None = Field(None, max_length=100)
    ethnicity: str | None = Field(None, max_length=100)
    religion: str | None = Field(None, max_length=100)
    place_of_origin: str | None = Field(None, max_length=500)
    place_of_residence: str | None = Field(None, max_length=500)
    identifying_marks: str | None = Field(None, max_length=500)
    date_of_issue: date | None = None
    date_of_expiry: str | None = Field(None, max_length=100)
    father_name: str | None = Field(None, max_length=200)
    mother_name: str | None = Field(None, max_length=200)
    spouse_name: str | None = Field(None, max_length=200)


class InsuranceOut(BaseModel):
    """`kiosk.records.insurance_to_dict`."""

    result_code: str = Field(max_length=20, description="maKetQua, or 'unreachable'")
    status: Literal["valid", "valid_new_card", "expired", "not_found", "data_mismatch", "see_desk", "unavailable"]
    message_vi: str = ""
    message_en: str = ""
    card_code: str | None = Field(None, max_length=15)
    registered_facility: str | None = Field(None, max_length=10)
    valid_from: date | None = None
    valid_to: date | None = None


class InsuranceCheckIn(BaseModel):
    citizen: CitizenIn
    card_code: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]{10,15}$", description="BHYT card code (15) or BHXH number (10); CCCD used when absent"
    )

    @model_validator(mode="after")
    def _someone_to_check(self) -> InsuranceCheckIn:
        if not self.citizen.id_number and not self.card_code:
            raise ValueError("give the CCCD number or a BHYT card code")
        return self


class RegistrationIn(BaseModel):
    """`kiosk.records.registration_to_dict` plus the optional offline number."""

    model_config = ConfigDict(extra="ignore")

    key: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{8,64}$", description="The kiosk's idempotency key")
    kiosk_id: str = Field(min_length=1, max_length=40, description="The kiosk that created the registration")
    citizen: CitizenIn
    identity_source: Literal["chip", "cccd_qr", "bhyt_qr", "vneid", "typed"]
    verification: Literal["genuine", "chip_read", "not_verified", "forged"]
    insurance_card_code: str | None = Field(None, max_length=15)
    insurance: InsuranceOut | None = None
    visit_type: Literal["new", "re_exam", "referral"]
    department_code: str = Field(min_length=1, max_length=20)
    service_code: str = Field(min_length=1, max_length=50)
    created_at: datetime = Field(description="NGAY_VAO, ISO 8601 with a UTC offset")
    paper_number: str | None = Field(None, max_length=100, description="GIAY_CHUYEN_TUYEN")
    printed_number: str | None = Field(
        None, max_length=40, description="The number the kiosk printed while offline; the hub keeps it"
    )

    @model_validator(mode="after")
    def _patient_is_identified(self) -> RegistrationIn:
        # Patients are keyed by CCCD number, or by the BHYT card when a card
        # QR was all the kiosk saw (server.papers.patient_key).
        card = self.insurance_card_code or ""
        if not self.citizen.id_number and not (10 <= len(card) <= 15 and card.isalnum()):
            raise ValueError("give the CCCD number or the BHYT card code (insurance_card_code)")
        return self


class PaperLookupIn(BaseModel):
    id_number: str | None = Field(None, pattern=r"^\d{12}$", description="12-digit CCCD number")
    card_code: str | None = Field(None, pattern=r"^[A-Za-z0-9]{10,15}$", description="BHYT card code or BHXH number")
    reference: str | None = Field(
        None, pattern=r"^[A-Z0-9][A-Z0-9.-]{0,19}$", description="The id in a scanned VNKIOSK:APPT:<id> / VNKIOSK:REF:<id> code"
    )

    @model_validator(mode="after")
    def _someone(self) -> PaperLookupIn:
        if not self.id_number and not self.card_code:
            raise ValueError("give the CCCD number or a BHYT card code")
        return self


class PaperOut(BaseModel):
    reference: str
    visit_type: Literal["re_exam", "referral"]
    paper_number: str = Field(description="GIAY_CHUYEN_TUYEN for the visit: SO_GIAYHEN_KL, or the referral's number")
    department_code: str | None
    service_code: str | None
    appointment_date: date | None = Field(description="NGAY_HEN_KL (appointments)")
    from_facility: str | None = Field(description="MA_NOI_DI (referrals)")


class PaperLookupOut(BaseModel):
    paper: PaperOut | None = Field(description="null when the patient has no open paper (or the code is not theirs)")


class ReceiptOut(BaseModel):
    """`kiosk.records.receipt_to_dict`."""

    registration_key: str
    queue_number: int
    display_number: str
    episode_key: str = Field(description="MA_LK")
    room: str
    estimated_wait_minutes: int
    amount_due: int = Field(description="VND")


class HeartbeatIn(BaseModel):
    version: str = Field(max_length=40)
    devices: dict[str, Any] = Field(default_factory=dict, description="Device name -> status, as the kiosk reports it")
    outbox_depth: int = Field(ge=0)


class HeartbeatOut(BaseModel):
    ok: bool
    kiosk_id: str
    server_time: datetime = Field(description="The hub's clock; a kiosk can compare it with its own")


class DepartmentOut(BaseModel):
    code: str
    name_vi: str
    name_en: str
    room: str
    floor: str
    queue_prefix: str
    daily_capacity: int
    opens_at: str = Field(description="HH:MM, Vietnam time")
    closes_at: str
    minutes_per_patient: int


class ServiceOut(BaseModel):
    code: str = Field(description="MA_DICH_VU")
    department_code: str
    name_vi: str = Field(description="TEN_DICH_VU")
    name_en: str
    price: int = Field(description="VND, fee-paying")
    insured_price: int = Field(description="VND, BHYT price")


class ReferenceOut(BaseModel):
    departments: list[DepartmentOut]
    services: list[ServiceOut]
    generated_at: datetime


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    version: str


# -- helpers --------------------------------------------------------------------


def department_out(d: Department) -> dict[str, Any]:
    return {
        "code": d.code,
        "name_vi": d.name_vi,
        "name_en": d.name_en,
        "room": d.room,
        "floor": d.floor,
        "queue_prefix": d.queue_prefix,
        "daily_capacity": d.daily_capacity,
        "opens_at": d.opens_at.strftime("%H:%M"),
        "closes_at": d.closes_at.strftime("%H:%M"),
        "minutes_per_patient": d.minutes_per_patient,
    }


def service_out(s: Service) -> dict[str, Any]:
    return {
        "code": s.code,
        "department_code": s.department_code,
        "name_vi": s.name_vi,
        "name_en": s.name_en,
        "price": s.price,
        "insured_price": s.insured_price,
    }


def reference_document(ctx: HubContext, include_inactive: bool = False) -> dict[str, Any]:
    with ctx.sessions() as session:
        departments = session.scalars(select(Department).order_by(Department.sort_order, Department.code)).all()
        services = session.scalars(select(Service).order_by(Service.department_code, Service.code)).all()
        active_departments = {d.code for d in departments if d.active}
        return {
            "departments": [department_out(d) for d in departments if include_inactive or d.active],
            "services": [
                service_out(s)
                for s in services
                if include_inactive or (s.active and s.department_code in active_departments)
            ],
            "generated_at": ctx.now().isoformat(),
        }


# -- endpoints ----------------------------------------------------------------------


@router.get("/health", response_model=HealthOut, tags=["kiosk"], summary="Is the hub up? (no authentication)")
def health(request: Request, response: Response) -> dict[str, Any]:
    ctx = hub(request)
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        log.exception("health check: database unreachable")
        database = "unreachable"
        response.status_code = 503
    return {"status": "ok" if database == "ok" else "degraded", "database": database, "version": __version__}


@router.get("/reference", response_model=ReferenceOut, tags=["kiosk"], summary="Departments and services")
def reference(request: Request, kiosk_id: str = Depends(signed_kiosk)) -> dict[str, Any]:
    return reference_document(hub(request))


@router.post(
    "/insurance/check",
    response_model=InsuranceOut,
    tags=["kiosk"],
    summary="Check a patient's health insurance with the social-security gateway",
    description="Always answers 200 with a status; when the gateway cannot be asked the status is 'unavailable'.",
)
def check_insurance(body: InsuranceCheckIn, request: Request, kiosk_id: str = Depends(signed_kiosk)) -> dict[str, Any]:
    ctx = hub(request)
    citizen = citizen_from_dict(body.citizen.model_dump(mode="json"))
    result = ctx.gateway.check(citizen, body.card_code.upper() if body.card_code else None)
    return insurance_to_dict(result)


@router.post(
    "/registrations",
    response_model=ReceiptOut,
    status_code=201,
    tags=["kiosk"],
    summary="Register a visit and get its queue number",
    description=(
        "Idempotent by `key`: sending the same registration again answers the same receipt (200) and never "
        "creates a second visit. With `printed_number` the hub keeps the kiosk's offline number instead of "
        "issuing one."
    ),
    responses={
        200: {"description": "The key was known: the stored receipt", "model": ReceiptOut},
        409: {"description": "Key reused for another visit, or the department is full today"},
        422: {"description": "Unknown department or service, or malformed registration"},
    },
)
def register(body: RegistrationIn, request: Request, response: Response, kiosk_id: str = Depends(signed_kiosk)) -> dict[str, Any]:
    ctx = hub(request)
    data = body.model_dump(mode="json")
    printed = data.pop("printed_number", None)
    registration = registration_from_dict(data)
    outcome = ctx.registrar.register(registration, printed, delivered_by=kiosk_id)
    if not outcome.created:
        response.status_code = 200
    return receipt_to_dict(outcome.receipt)


@router.post(
    "/papers/lookup",
    response_model=PaperLookupOut,
    tags=["kiosk"],
    summary="The patient's open re-exam appointment or referral paper",
    description=(
        "Found by the patient's CCCD number (or BHYT card), or by the reference in a scanned appointment slip, "
        "which answers only when it belongs to the same patient. A POST so the ID number stays out of URLs."
    ),
)
def lookup_paper(body: PaperLookupIn, request: Request, kiosk_id: str = Depends(signed_kiosk)) -> dict[str, Any]:
    ctx = hub(request)
    today = ctx.now().date()
    with ctx.sessions() as session:
        paper = find_open_paper(session, linked_keys(session, body.id_number, body.card_code), today, body.reference)
        return {"paper": paper_dict(to_info(paper)) if paper is not None else None}


@router.post("/kiosks/heartbeat", response_model=HeartbeatOut, tags=["kiosk"], summary="Report the kiosk's state")
def heartbeat(body: HeartbeatIn, request: Request, kiosk_id: str = Depends(signed_kiosk)) -> dict[str, Any]:
    ctx = hub(request)
    now = ctx.now()
    with ctx.sessions() as session, session.begin():
        kiosk = session.get(Kiosk, kiosk_id)
        if kiosk is not None:
            kiosk.last_seen_at = now
            kiosk.version = body.version
            kiosk.devices = body.devices
            kiosk.outbox_depth = body.outbox_depth
    if body.outbox_depth:
        log.info("kiosk %s reports %d registrations waiting to be sent", kiosk_id, body.outbox_depth)
    return {"ok": True, "kiosk_id": kiosk_id, "server_time": now.isoformat()}
