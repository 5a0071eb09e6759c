"""A fixed sample ticket: the printer test page.

A technician prints it when installing or checking a printer (every glyph
class Vietnamese needs is on it: stacked marks as in Ễ, horns as in Ữ and
ơ, đ/Đ, dot-below as in ặ and Ị), and the printer tests use it as their known input: the golden ESC/POS
bytes in tests/golden/ are this ticket. Changing it changes the golden file.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from drivers.printer.raster import default_logo_path
from kiosk.domain import VIETNAM_TZ, Department, InsuranceStatus, NumberIssuer, QueueTicket, Service
from kiosk.payment import PaymentSettings, payment_request
from kiosk.ticket import TicketLayout, ticket_layout

SAMPLE_HOSPITAL = "BỆNH VIỆN HỮU NGHỊ ĐA KHOA NGHỆ AN"


def sample_ticket(issuer: NumberIssuer = NumberIssuer.HUB) -> QueueTicket:
    department = Department(
        code="KKB",
        name_vi="Khoa Khám bệnh",
        name_en="Outpatient clinic",
        room="105",
        floor="1",
        queue_prefix="A",
    )
    service = Service(
        code="KB.RHM",
        department_code="KKB",
        name_vi="Khám Răng Hàm Mặt",
        name_en="Dental and maxillofacial",
        price=150_000,
        insured_price=38_700,
    )
    return QueueTicket(
        registration_key="c0ffee00-0000-4000-8000-000000000012",
        display_number="A-012",
        issuer=issuer,
        department=department,
        service=service,
        masked_name="NGUYỄN V. A.",
        issued_at=datetime(2025, 3, 14, 8, 5, tzinfo=VIETNAM_TZ),
        insurance_status=InsuranceStatus.VALID,
        amount_due=38_700,
        estimated_wait_minutes=25,
        episode_key="79024.20250314.000012",
    )


def sample_layout(*, with_logo: bool = True, issuer: NumberIssuer = NumberIssuer.HUB) -> TicketLayout:
    return ticket_layout(sample_ticket(issuer), SAMPLE_HOSPITAL, default_logo_path() if with_logo else None)


#: The NAPAS example account (DOMAIN.md §5) so a printed test code is
#: recognisably not a live account.
SAMPLE_PAYMENT = PaymentSettings(enabled=True, bank_bin="970403", account="0011012345678", account_name="BV HUU NGHI DA KHOA NGHE AN")


def sample_fee_paying_layout(*, with_logo: bool = True) -> TicketLayout:
    """A fee-paying patient's ticket, with the VietQR payment section."""
    ticket = replace(sample_ticket(), insurance_status=InsuranceStatus.NOT_FOUND, amount_due=150_000)
    payment = payment_request(ticket, SAMPLE_PAYMENT)
    return ticket_layout(ticket, SAMPLE_HOSPITAL, default_logo_path() if with_logo else None, payment)
