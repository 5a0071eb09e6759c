"""The reference data a new hub starts with: a typical outpatient department.

Rooms, hours and capacities are those of a mid-sized general hospital; the
admin edits them (PUT /api/v1/admin/departments/..., /services/...) to match
the real building. Prices are in VND:

- `insured_price` is the BHYT price of an outpatient consultation at a
  class-I hospital (42.100 đ in the Ministry of Health price list in force
  when this was written); it changes by circular, so it is data, not code.
- a standard consultation costs a fee-paying patient the same;
- an on-demand consultation ("khám theo yêu cầu", chosen doctor, shorter
  wait) costs more; an insured patient pays the difference above the fund's
  share (see `kiosk.insurance.amount_due`).

Service codes are the hospital's own (MA_DICH_VU is mapped to the national
catalogue by the HIS when it exports claims).

Queue prefixes avoid F, J, W and Z, which are not letters of the Vietnamese
alphabet and confuse patients reading a ticket aloud.
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Department, Service

CONSULTATION_INSURED_PRICE = 42_100

# code, name_vi, name_en, room, floor, prefix, capacity/day, minutes/patient
DEPARTMENTS: tuple[tuple[str, str, str, str, str, str, int, int], ...] = (
    ("NOI", "Khám Nội tổng quát", "General internal medicine", "101", "1", "A", 240, 6),
    ("NHI", "Khám Nhi", "Paediatrics", "104", "1", "B", 180, 8),
    ("TMH", "Tai Mũi Họng", "Ear, nose and throat", "201", "2", "C", 120, 8),
    ("RHM", "Răng Hàm Mặt", "Dentistry and oral surgery", "205", "2", "D", 80, 15),
    ("MAT", "Mắt", "Ophthalmology", "208", "2", "E", 120, 10),
    ("SAN", "Sản phụ khoa", "Obstetrics and gynaecology", "301", "3", "G", 90, 12),
    ("DALIEU", "Da liễu", "Dermatology", "305", "3", "H", 90, 10),
    ("TIMMACH", "Tim mạch", "Cardiology", "110", "1", "K", 100, 10),
    ("NOITIET", "Nội tiết - Đái tháo đường", "Endocrinology and diabetes", "112", "1", "L", 100, 8),
    ("CXK", "Cơ xương khớp", "Musculoskeletal (rheumatology)", "310", "3", "M", 90, 10),
)

# Outpatient hours of a public hospital on a weekday.
OPENS_AT = time(7, 0)
CLOSES_AT = time(16, 30)

ON_DEMAND_PRICE = 150_000

# Extra services beyond the two consultations, where a department commonly
# offers one at registration: code, department, name_vi, name_en, price, insured_price.
EXTRA_SERVICES: tuple[tuple[str, str, str, str, int, int], ...] = (
    ("KB.NHI.SS", "NHI", "Khám sơ sinh (dưới 1 tháng tuổi)", "Newborn check (under 1 month)", 42_100, 42_100),
    ("KB.SAN.THAI", "SAN", "Khám thai", "Antenatal check-up", 42_100, 42_100),
    ("KB.MAT.KX", "MAT", "Khám mắt và đo khúc xạ", "Eye examination with refraction", 80_000, 42_100),
    ("KB.RHM.TE", "RHM", "Khám răng trẻ em", "Children's dental check", 42_100, 42_100),
)


def reference_rows() -> tuple[list[Department], list[Service]]:
    departments: list[Department] = []
    services: list[Service] = []
    for order, (code, name_vi, name_en, room, floor, prefix, capacity, minutes) in enumerate(DEPARTMENTS):
        departments.append(
            Department(
                code=code,
                name_vi=name_vi,
                name_en=name_en,
                room=room,
                floor=floor,
                queue_prefix=prefix,
                daily_capacity=capacity,
                opens_at=OPENS_AT,
                closes_at=CLOSES_AT,
                minutes_per_patient=minutes,
                active=True,
                sort_order=order,
            )
        )
        services.append(
            Service(
                code=f"KB.{code}",
                department_code=code,
                name_vi=name_vi if name_vi.startswith("Khám") else f"Khám {name_vi}",
                name_en=f"{name_en[0].upper()}{name_en[1:]} consultation",
                price=CONSULTATION_INSURED_PRICE,
                insured_price=CONSULTATION_INSURED_PRICE,
                active=True,
            )
        )
        services.append(
            Service(
                code=f"KYC.{code}",
                department_code=code,
                name_vi=f"Khám theo yêu cầu - {name_vi}",
                name_en=f"On-demand consultation - {name_en}",
                price=ON_DEMAND_PRICE,
                insured_price=CONSULTATION_INSURED_PRICE,
                active=True,
            )
        )
    for code, department, name_vi, name_en, price, insured in EXTRA_SERVICES:
        services.append(
            Service(
                code=code,
                department_code=department,
                name_vi=name_vi,
                name_en=name_en,
                price=price,
                insured_price=insured,
                active=True,
            )
        )
    return departments, services


def seed_reference_data(session: Session) -> bool:
    """Insert the starting departments and services into an empty hub.

    Does nothing when any department exists: an admin's edits are never
    overwritten by a later `init`. Returns whether it seeded.
    """
    if session.scalar(select(Department.code).limit(1)) is not None:
        return False
    departments, services = reference_rows()
    session.add_all(departments)
    session.flush()
    session.add_all(services)
    return True


# -- the demo's returning patient --------------------------------------------------

# Sample citizen 2 (assets/citizens/citizen-2.json) comes back to internal
# medicine on a re-exam appointment: the demo shows the kiosk recognising it.
DEMO_APPOINTMENT_PATIENT_ID = "079190004567"
DEMO_APPOINTMENT_NUMBER = "GH-2026-000123"
DEMO_APPOINTMENT_DEPARTMENT = "NOI"


def seed_demo_appointment(session: Session, today: date, hospital_code: str) -> str | None:
    """Give the demo patient an open appointment for `today`, once.

    Only the embedded (demo and test) hub calls this; `kiosk-hub init` never
    invents patients. Returns the new paper's reference, or None when an open
    one exists already.
    """
    from datetime import datetime

    from kiosk.domain import VIETNAM_TZ
    from server import papers
    from server.models import VisitPaper

    key = papers.patient_key(DEMO_APPOINTMENT_PATIENT_ID, None)
    assert key is not None
    if papers.find_open_paper(session, [key], today) is not None:
        return None
    if session.get(Department, DEMO_APPOINTMENT_DEPARTMENT) is None:
        return None  # an admin removed the department: nothing to point at
    valid_from, valid_to = papers.appointment_window(today)
    paper = VisitPaper(
        reference=papers.new_reference(papers.APPOINTMENT),
        kind=papers.APPOINTMENT,
        patient_key=key,
        paper_number=DEMO_APPOINTMENT_NUMBER,
        issuing_facility=hospital_code,
        department_code=DEMO_APPOINTMENT_DEPARTMENT,
        service_code=f"KB.{DEMO_APPOINTMENT_DEPARTMENT}",
        appointment_date=today,
        valid_from=valid_from,
        valid_to=valid_to,
        created_at=datetime.now(VIETNAM_TZ),
    )
    session.add(paper)
    session.flush()
    return paper.reference
