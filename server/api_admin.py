"""Endpoints for hospital staff and technicians (admin bearer token).

Personal data never appears in a URL here (URLs end up in access logs):
looking a patient up is a POST with the ID number in the body.
"""

from __future__ import annotations

import logging
from datetime import date, time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from server.api_kiosk import DepartmentOut, ReferenceOut, ServiceOut, department_out, reference_document, service_out
from server.context import admin, hub
from server.export4750 import checkin_records, patient_code, records_to_xml
from server import papers
from server.models import Department, Kiosk, Patient, Service, VisitPaper
from server.models import Registration as RegistrationRow
from server.errors import ApiError
from server.security import issue_kiosk

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(admin)])


class KioskIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="Where the kiosk stands, e.g. 'Sảnh A - máy 1'")


class KioskCredential(BaseModel):
    kiosk_id: str
    secret: str = Field(description="Shown once; the hub keeps it encrypted")


class KioskOut(BaseModel):
    kiosk_id: str
    name: str
    active: bool
    last_seen_at: str | None
    version: str | None
    devices: dict[str, Any] | None
    outbox_depth: int | None


class DepartmentIn(BaseModel):
    name_vi: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    room: str = Field(min_length=1, max_length=50)
    floor: str = Field(min_length=1, max_length=50)
    queue_prefix: str = Field(pattern=r"^[A-Z0-9]{1,3}$")
    daily_capacity: int = Field(ge=1, le=9999)
    opens_at: time
    closes_at: time
    minutes_per_patient: int = Field(ge=1, le=240)
    active: bool = True
    sort_order: int = 0


class ServiceIn(BaseModel):
    department_code: str = Field(min_length=1, max_length=20)
    name_vi: str = Field(min_length=1, max_length=300)
    name_en: str = Field(min_length=1, max_length=300)
    price: int = Field(ge=0)
    insured_price: int = Field(ge=0)
    active: bool = True


class PatientLookupIn(BaseModel):
    id_number: str = Field(pattern=r"^\d{12}$")


class AttentionOut(BaseModel):
    registration_key: str
    department_code: str
    display_number: str
    service_day: date
    attention: str


class _PaperBase(BaseModel):
    id_number: str | None = Field(None, pattern=r"^\d{12}$", description="The patient's CCCD number")
    card_code: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]{10,15}$", description="BHYT card code, for a patient without a CCCD number"
    )
    department_code: str | None = Field(None, min_length=1, max_length=20, description="Department to preselect")
    service_code: str | None = Field(None, min_length=1, max_length=50, description="Service to preselect")

    @model_validator(mode="after")
    def _someone(self) -> _PaperBase:
        if not self.id_number and not self.card_code:
            raise ValueError("give the patient's CCCD number or BHYT card code")
        if self.service_code and not self.department_code:
            raise ValueError("a service needs its department_code")
        return self


class AppointmentIn(_PaperBase):
    """A re-exam appointment, as the XML14 table names its fields."""

    SO_GIAYHEN_KL: str = Field(min_length=1, max_length=50, description="Appointment slip number")
    NGAY_HEN_KL: date = Field(description="Appointment date")
    MA_CSKCB: str | None = Field(
        None, pattern=r"^[0-9A-Z]{5}$", description="Facility that gave the appointment; default: this hospital"
    )


class ReferralIn(_PaperBase):
    """A referral paper, as the XML13 table names its fields."""

    SO_CHUYENTUYEN: str = Field(min_length=1, max_length=50, description="Referral number")
    GIAY_CHUYEN_TUYEN: str | None = Field(None, min_length=1, max_length=50, description="Referral paper code")
    MA_NOI_DI: str = Field(pattern=r"^[0-9A-Z]{5}$", description="Referring facility")
    MA_NOI_DEN: str | None = Field(None, pattern=r"^[0-9A-Z]{5}$", description="Receiving facility; default: this hospital")
    NGAY_CT: date | None = Field(None, description="Date of the referral; default: today")
    valid_to: date | None = Field(None, description=f"Last day the paper is valid; default {papers.REFERRAL_DEFAULT_DAYS} days")


class PaperRecorded(BaseModel):
    reference: str
    qr_text: str = Field(description="Print it on the slip as a QR code; the kiosk reads it")
    kind: Literal["appointment", "referral"]
    valid_from: date
    valid_to: date


def _check_department(session: Any, body: _PaperBase) -> None:
    if body.department_code is None:
        return
    department = session.get(Department, body.department_code)
    if department is None or not department.active:
        raise ApiError(422, "unknown_department", f"unknown department {body.department_code!r}")
    if body.service_code is not None:
        service = session.get(Service, body.service_code)
        if service is None or not service.active or service.department_code != department.code:
            raise ApiError(422, "unknown_service", f"service {body.service_code!r} is not offered by {department.code!r}")


def _record_paper(request: Request, body: _PaperBase, kind: str, **fields: Any) -> dict[str, Any]:
    ctx = hub(request)
    key = papers.patient_key(body.id_number, body.card_code)
    assert key is not None  # the model validator required one
    with ctx.sessions() as session, session.begin():
        _check_department(session, body)
        paper = VisitPaper(
            reference=papers.new_reference(kind),
            kind=kind,
            patient_key=key,
            department_code=body.department_code,
            service_code=body.service_code,
            created_at=ctx.now(),
            **fields,
        )
        session.add(paper)
        session.flush()
        code = "APPT" if kind == papers.APPOINTMENT else "REF"
        log.info("%s %s recorded", kind, paper.reference)
        return {
            "reference": paper.reference,
            "qr_text": f"VNKIOSK:{code}:{paper.reference}",
            "kind": kind,
            "valid_from": paper.valid_from,
            "valid_to": paper.valid_to,
        }


@router.post("/appointments", response_model=PaperRecorded, status_code=201, summary="Record a re-exam appointment (XML14)")
def add_appointment(body: AppointmentIn, request: Request) -> dict[str, Any]:
    valid_from, valid_to = papers.appointment_window(body.NGAY_HEN_KL)
    return _record_paper(
        request,
        body,
        papers.APPOINTMENT,
        paper_number=body.SO_GIAYHEN_KL.strip(),
        issuing_facility=body.MA_CSKCB or hub(request).settings.hospital_code,
        appointment_date=body.NGAY_HEN_KL,
        valid_from=valid_from,
        valid_to=valid_to,
    )


@router.post("/referrals", response_model=PaperRecorded, status_code=201, summary="Record a referral paper (XML13)")
def add_referral(body: ReferralIn, request: Request) -> dict[str, Any]:
    issued = body.NGAY_CT or hub(request).now().date()
    valid_from, valid_to = papers.referral_window(issued, body.valid_to)
    if valid_to < valid_from:
        raise ApiError(422, "bad_validity", "valid_to is before the referral date")
    return _record_paper(
        request,
        body,
        papers.REFERRAL,
        paper_number=body.SO_CHUYENTUYEN.strip(),
        referral_code=body.GIAY_CHUYEN_TUYEN.strip() if body.GIAY_CHUYEN_TUYEN else None,
        from_facility=body.MA_NOI_DI,
        to_facility=body.MA_NOI_DEN or hub(request).settings.hospital_code,
        issued_on=issued,
        valid_from=valid_from,
        valid_to=valid_to,
    )


@router.post("/papers/{reference}/cancel", status_code=204, summary="Cancel an appointment or referral")
def cancel_paper(reference: str, request: Request) -> Response:
    ctx = hub(request)
    with ctx.sessions() as session, session.begin():
        paper = session.scalar(select(VisitPaper).where(VisitPaper.reference == reference))
        if paper is None:
            raise ApiError(404, "not_found", "no such paper")
        paper.cancelled_at = paper.cancelled_at or ctx.now()
    return Response(status_code=204)


@router.post("/kiosks", response_model=KioskCredential, status_code=201, summary="Issue a kiosk credential")
def add_kiosk(body: KioskIn, request: Request) -> dict[str, str]:
    ctx = hub(request)
    with ctx.sessions() as session, session.begin():
        kiosk_id, secret = issue_kiosk(session, ctx.box, body.name, ctx.now())
    log.info("kiosk %s issued", kiosk_id)
    return {"kiosk_id": kiosk_id, "secret": secret}


@router.get("/kiosks", response_model=list[KioskOut], summary="Kiosks and their last heartbeat")
def list_kiosks(request: Request) -> list[dict[str, Any]]:
    ctx = hub(request)
    with ctx.sessions() as session:
        return [
            {
                "kiosk_id": k.kiosk_id,
                "name": k.name,
                "active": k.active,
                "last_seen_at": k.last_seen_at.isoformat() if k.last_seen_at else None,
                "version": k.version,
                "devices": k.devices,
                "outbox_depth": k.outbox_depth,
            }
            for k in session.scalars(select(Kiosk).order_by(Kiosk.created_at)).all()
        ]


@router.post("/kiosks/{kiosk_id}/disable", status_code=204, summary="Revoke a kiosk credential")
def disable_kiosk(kiosk_id: str, request: Request) -> Response:
    ctx = hub(request)
    with ctx.sessions() as session, session.begin():
        kiosk = session.get(Kiosk, kiosk_id)
        if kiosk is None:
            raise ApiError(404, "not_found", f"no kiosk {kiosk_id!r}")
        kiosk.active = False
    log.info("kiosk %s disabled", kiosk_id)
    return Response(status_code=204)


@router.get("/reference", response_model=ReferenceOut, summary="All departments and services, inactive included")
def admin_reference(request: Request) -> dict[str, Any]:
    return reference_document(hub(request), include_inactive=True)


@router.put("/departments/{code}", response_model=DepartmentOut, summary="Create or change a department")
def put_department(code: str, body: DepartmentIn, request: Request) -> dict[str, Any]:
    if not code or len(code) > 20:
        raise ApiError(422, "bad_code", "department code must be 1-20 characters")
    ctx = hub(request)
    with ctx.sessions() as session, session.begin():
        clash = session.scalar(
            select(Department.code).where(Department.queue_prefix == body.queue_prefix, Department.code != code)
        )
        if clash is not None:
            raise ApiError(409, "prefix_taken", f"queue prefix {body.queue_prefix} is used by {clash}")
        department = session.get(Department, code) or Department(code=code)
        for name, value in body.model_dump().items():
            setattr(department, name, value)
        session.add(department)
        session.flush()
        return department_out(department)


@router.put("/services/{code}", response_model=ServiceOut, summary="Create or change a service and its prices")
def put_service(code: str, body: ServiceIn, request: Request) -> dict[str, Any]:
    if not code or len(code) > 50:
        raise ApiError(422, "bad_code", "service code must be 1-50 characters")
    ctx = hub(request)
    with ctx.sessions() as session, session.begin():
        if session.get(Department, body.department_code) is None:
            raise ApiError(422, "unknown_department", f"unknown department {body.department_code!r}")
        service = session.get(Service, code) or Service(code=code)
        for name, value in body.model_dump().items():
            setattr(service, name, value)
        session.add(service)
        session.flush()
        return service_out(service)


@router.get(
    "/checkins",
    summary="The day's check-ins as the Decision 4750 check-in table",
    responses={200: {"content": {"application/json": {}, "application/xml": {}}}},
)
def checkins(
    request: Request,
    day: date = Query(alias="date", description="YYYY-MM-DD (Vietnam calendar day)"),
    department: str | None = Query(None, max_length=20),
    format: Literal["json", "xml"] = Query("json"),
) -> Response:
    ctx = hub(request)
    with ctx.sessions() as session:
        records = checkin_records(session, day, ctx.settings.hospital_code, department)
    if format == "xml":
        return Response(records_to_xml(records), media_type="application/xml")
    return JSONResponse(
        {"date": day.isoformat(), "MA_CSKCB": ctx.settings.hospital_code, "department": department, "records": records}
    )


@router.get("/attention", response_model=list[AttentionOut], summary="Visits staff should look at (number collisions...)")
def attention(request: Request, day: date | None = Query(None, alias="date")) -> list[dict[str, Any]]:
    ctx = hub(request)
    with ctx.sessions() as session:
        query = select(RegistrationRow).where(RegistrationRow.attention.is_not(None)).order_by(RegistrationRow.id)
        if day is not None:
            query = query.where(RegistrationRow.service_day == day)
        return [
            {
                "registration_key": r.key,
                "department_code": r.department_code,
                "display_number": r.display_number,
                "service_day": r.service_day,
                "attention": r.attention,
            }
            for r in session.scalars(query).all()
        ]


@router.post("/patients/lookup", summary="A patient's record and recent visits, by CCCD number")
def patient_lookup(body: PatientLookupIn, request: Request) -> dict[str, Any]:
    ctx = hub(request)
    with ctx.sessions() as session:
        patient = session.scalar(select(Patient).where(Patient.id_number == body.id_number))
        if patient is None:
            raise ApiError(404, "not_found", "no patient with this ID number")
        visits = session.scalars(
            select(RegistrationRow)
            .where(RegistrationRow.patient_id == patient.id)
            .order_by(RegistrationRow.created_at.desc())
            .limit(20)
        ).all()
        return {
            "MA_BN": patient_code(patient.id),
            "id_number": patient.id_number,
            "full_name": patient.full_name,
            "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
            "sex": patient.sex,
            "address": patient.address,
            "insurance_card_code": patient.insurance_card_code,
            "visits": [
                {
                    "registration_key": v.key,
                    "episode_key": v.episode_key,
                    "department_code": v.department_code,
                    "service_code": v.service_code,
                    "display_number": v.display_number,
                    "created_at": v.created_at.isoformat(),
                    "insurance_status": v.insurance_status,
                }
                for v in visits
            ],
        }
