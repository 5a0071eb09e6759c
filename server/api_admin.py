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
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api_kiosk import DepartmentOut, ReferenceOut, ServiceOut, department_out, reference_document, service_out
from server.context import admin, hub
from server.export4750 import checkin_records, patient_code, records_to_xml
from server.models import Department, Kiosk, Patient, Service
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
