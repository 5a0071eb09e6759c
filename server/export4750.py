"""The day's check-ins as the Decision 4750/QĐ-BYT check-in table.

Field names and formats follow DOMAIN.md §3. The XML uses the envelope of the
check-in message (CHI_TIEU_TRANG_THAI_KCB / DSACH_TRANG_THAI_KCB /
TRANG_THAI_KCB); it is not signed here - CHUKYDONVI is added by whatever
system holds the hospital's signing certificate and sends it on.

DIA_CHI, GIAY_CHUYEN_TUYEN and MA_NOI_DI are XML1 fields rather than check-in ones; they
are appended after the check-in fields because the HIS importing this file
needs them to open the visit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.domain import VIETNAM_TZ
from server.models import Patient, Service, VisitPaper
from server.models import Registration as RegistrationRow

FIELDS = (
    "MA_LK",
    "STT",
    "MA_BN",
    "HO_TEN",
    "SO_CCCD",
    "NGAY_SINH",
    "GIOI_TINH",
    "MA_THE_BHYT",
    "MA_DKBD",
    "GT_THE_TU",
    "GT_THE_DEN",
    "MA_DOITUONG_KCB",
    "NGAY_VAO",
    "MA_LOAI_KCB",
    "MA_CSKCB",
    "MA_DICH_VU",
    "TEN_DICH_VU",
    "DIA_CHI",
    "GIAY_CHUYEN_TUYEN",
    "MA_NOI_DI",
)


def patient_code(patient_id: int) -> str:
    """MA_BN: the hub's patient number, stable for the person."""
    return f"BN{patient_id:08d}"


def _birth(d: date | None) -> str:
    # yyyyMMddHHmm with "0000" for the unknown time of birth (DOMAIN.md §3).
    return f"{d:%Y%m%d}0000" if d else ""


def _day(d: date | None) -> str:
    return f"{d:%Y%m%d}" if d else ""


def _moment(dt: datetime) -> str:
    return dt.astimezone(VIETNAM_TZ).strftime("%Y%m%d%H%M")


def checkin_records(
    session: Session, day: date, hospital_code: str, department: str | None = None
) -> list[dict[str, Any]]:
    query = (
        select(RegistrationRow, Patient, Service, VisitPaper.from_facility)
        .join(Patient, Patient.id == RegistrationRow.patient_id)
        .join(Service, Service.code == RegistrationRow.service_code)
        # The referral paper the visit used (server.papers), for MA_NOI_DI.
        .outerjoin(VisitPaper, VisitPaper.used_by_key == RegistrationRow.key)
        .where(RegistrationRow.service_day == day)
        .order_by(RegistrationRow.created_at, RegistrationRow.id)
    )
    if department:
        query = query.where(RegistrationRow.department_code == department)
    records = []
    for stt, (reg, patient, service, from_facility) in enumerate(session.execute(query).all(), start=1):
        records.append(
            {
                "MA_LK": reg.episode_key,
                "STT": stt,
                "MA_BN": patient_code(patient.id),
                "HO_TEN": patient.full_name,
                "SO_CCCD": patient.id_number or "",  # none: identified by BHYT card only
                "NGAY_SINH": _birth(patient.date_of_birth),
                "GIOI_TINH": patient.sex,
                "MA_THE_BHYT": reg.card_code or "",
                "MA_DKBD": reg.registered_facility or "",
                "GT_THE_TU": _day(reg.card_valid_from),
                "GT_THE_DEN": _day(reg.card_valid_to),
                "MA_DOITUONG_KCB": reg.visit_category or "",
                "NGAY_VAO": _moment(reg.created_at),
                "MA_LOAI_KCB": reg.visit_kind,
                "MA_CSKCB": hospital_code,
                "MA_DICH_VU": service.code,
                "TEN_DICH_VU": service.name_vi,
                "DIA_CHI": patient.address or "",
                "GIAY_CHUYEN_TUYEN": reg.paper_number or "",
                "MA_NOI_DI": from_facility or "",
            }
        )
    return records


def records_to_xml(records: list[dict[str, Any]]) -> bytes:
    root = ET.Element("CHI_TIEU_TRANG_THAI_KCB")
    listing = ET.SubElement(root, "DSACH_TRANG_THAI_KCB")
    for record in records:
        item = ET.SubElement(listing, "TRANG_THAI_KCB")
        for name in FIELDS:
            ET.SubElement(item, name).text = str(record[name])
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
