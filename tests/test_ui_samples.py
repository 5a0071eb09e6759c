"""Sample patients, reference data and flow states for the UI tests.

Built from the domain classes directly (no desk, no devices): the screens
only ever see `FlowState` snapshots, so that is what the tests hand them.
Also holds `RecordingDesk`, the test double for `ui.operations.CheckInOperations`.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date, datetime

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    Department,
    Identity,
    IdentitySource,
    InsuranceCheck,
    InsuranceStatus,
    NumberIssuer,
    QueueTicket,
    ReferenceData,
    Service,
    Sex,
    Verification,
    VisitType,
)
from drivers.printer.raster import qr_png
from kiosk.flow import ErrorInfo, FlowState, Session, Step
from kiosk.payment import PaymentSettings, payment_request

PATIENT_NAME = "NGUYỄN THỊ HƯỜNG"
PATIENT_ID = "001158012345"


def _png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def face_png() -> bytes:
    """A drawn portrait, standing in for a DG2 face image."""
    img = QImage(300, 400, QImage.Format.Format_RGB32)
    img.fill(QColor("#C9D6E8"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#3A4350"))
    p.drawEllipse(QRectF(40, 260, 220, 220))  # shoulders
    p.setBrush(QColor("#E8C4A0"))
    p.drawEllipse(QPointF(150, 170), 75, 95)  # face
    p.end()
    return _png(img)


def ticket_png(number: str = "A-012") -> bytes:
    """A stand-in for the rasterised ticket preview (1-bit look, 576 wide)."""
    img = QImage(576, 820, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setPen(QColor("black"))
    font = QFont("Noto Sans", 22)
    p.setFont(font)
    p.drawText(QRectF(0, 30, 576, 60), Qt.AlignmentFlag.AlignCenter, "BỆNH VIỆN ĐA KHOA TỈNH")
    p.drawText(QRectF(0, 90, 576, 50), Qt.AlignmentFlag.AlignCenter, "PHIẾU SỐ THỨ TỰ / QUEUE TICKET")
    font.setPointSize(90)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 160, 576, 220), Qt.AlignmentFlag.AlignCenter, number)
    font.setPointSize(22)
    font.setBold(False)
    p.setFont(font)
    p.drawText(QRectF(0, 420, 576, 60), Qt.AlignmentFlag.AlignCenter, "Phòng 105 · Tầng 1")
    p.drawText(QRectF(0, 480, 576, 60), Qt.AlignmentFlag.AlignCenter, "Khoa Nội tổng hợp")
    p.end()
    return _png(img)


def citizen(photo: bool = True) -> Citizen:
    return Citizen(
        id_number=PATIENT_ID,
        full_name=PATIENT_NAME,
        date_of_birth=date(1951, 3, 9),
        sex=Sex.FEMALE,
        place_of_residence="Số 8 Phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội",
        photo=face_png() if photo else None,
    )


def identity(verification: Verification = Verification.GENUINE, photo: bool = True) -> Identity:
    return Identity(citizen=citizen(photo), source=IdentitySource.CHIP, verification=verification)


DEPARTMENTS = (
    Department("NOI", "Khoa Nội tổng hợp", "General Internal Medicine", "105", "1", "A"),
    Department("NGOAI", "Khoa Ngoại tổng hợp", "General Surgery", "204", "2", "B"),
    Department("TMH", "Khoa Tai Mũi Họng", "Ear, Nose and Throat", "110", "1", "C"),
    Department("RHM", "Khoa Răng Hàm Mặt", "Dentistry and Oral Surgery", "112", "1", "D"),
    Department("MAT", "Khoa Mắt", "Ophthalmology", "301", "3", "E"),
    Department("CTCH", "Khoa Chấn thương chỉnh hình", "Orthopaedics and Trauma", "208", "2", "F"),
)

SERVICES = (
    Service("KB-NOI", "NOI", "Khám Nội tổng quát", "General internal medicine consultation", 150_000, 39_000),
    Service("KB-NOI-TM", "NOI", "Khám Tim mạch", "Cardiology consultation", 200_000, 39_000),
    Service("KB-NOI-TD", "NOI", "Khám Nội tiết – Đái tháo đường", "Endocrinology and diabetes", 200_000, 39_000),
    Service("KB-NGOAI", "NGOAI", "Khám Ngoại tổng quát", "General surgery consultation", 150_000, 39_000),
    Service("KB-TMH", "TMH", "Khám Tai Mũi Họng", "ENT consultation", 150_000, 39_000),
)

REFERENCE = ReferenceData(DEPARTMENTS, SERVICES, fetched_at=datetime(2026, 11, 23, 6, 0, tzinfo=VIETNAM_TZ))

# A larger hospital, written the way the hub stores it: rooms and floors
# with their words ("P.101", "Tầng 1").
MANY_DEPARTMENTS = tuple(
    Department(code, vi, en, f"P.{room}", f"Tầng {room // 100}", prefix)
    for code, vi, en, room, prefix in (
        ("NOI", "Khám Nội tổng quát", "General internal medicine", 101, "A"),
        ("NHI", "Khám Nhi", "Paediatrics", 104, "B"),
        ("TMH", "Tai Mũi Họng", "Ear, nose and throat", 201, "C"),
        ("RHM", "Răng Hàm Mặt", "Dentistry and oral surgery", 205, "D"),
        ("MAT", "Mắt", "Ophthalmology", 208, "E"),
        ("SAN", "Sản phụ khoa", "Obstetrics and gynaecology", 301, "G"),
        ("DALIEU", "Da liễu", "Dermatology", 305, "H"),
        ("TIMMACH", "Tim mạch", "Cardiology", 110, "K"),
        ("NOITIET", "Nội tiết - Đái tháo đường", "Endocrinology and diabetes", 112, "L"),
        ("CXK", "Cơ xương khớp", "Musculoskeletal (rheumatology)", 310, "M"),
    )
)
MANY_REFERENCE = ReferenceData(MANY_DEPARTMENTS, SERVICES)


def insurance(status: InsuranceStatus = InsuranceStatus.VALID) -> InsuranceCheck:
    messages = {
        InsuranceStatus.VALID: ("Thẻ còn giá trị sử dụng.", "The card is valid."),
        InsuranceStatus.EXPIRED: (
            "Thẻ đã hết hạn. Vui lòng gia hạn thẻ tại cơ quan BHXH, hoặc khám dịch vụ.",
            "The card has expired. Please renew it at the social security office, or pay as a private patient.",
        ),
    }
    vi, en = messages.get(status, ("Vui lòng đến quầy tiếp đón.", "Please go to the reception desk."))
    return InsuranceCheck(
        result_code="000" if status is InsuranceStatus.VALID else "010",
        status=status,
        message_vi=vi,
        message_en=en,
        card_code="HT2010123456789",
        registered_facility="01001",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )


def ticket(issuer: NumberIssuer = NumberIssuer.HUB) -> QueueTicket:
    return QueueTicket(
        registration_key="k1",
        display_number="A-012" if issuer is NumberIssuer.HUB else "K01-A-003",
        issuer=issuer,
        department=DEPARTMENTS[0],
        service=SERVICES[0],
        masked_name="NGUYỄN T. H.",
        issued_at=datetime(2026, 11, 23, 7, 45, tzinfo=VIETNAM_TZ),
        insurance_status=InsuranceStatus.VALID,
        amount_due=39_000,
        estimated_wait_minutes=25,
    )


def full_session() -> Session:
    return Session(
        identity=identity(),
        insurance=insurance(),
        visit_type=VisitType.NEW,
        department=DEPARTMENTS[0],
        service=SERVICES[0],
    )


PRINT_ERROR = ErrorInfo(
    "printer_paper_out",
    "Máy in hết giấy. Vui lòng ghi nhớ số thứ tự trên màn hình và báo nhân viên.",
    "The printer is out of paper. Please note the number on the screen and tell a staff member.",
)

CARD_REMOVED = ErrorInfo(
    "card_removed",
    "Thẻ bị nhấc ra khi đang đọc. Vui lòng đặt lại thẻ và giữ yên đến khi xong.",
    "The card was lifted while reading. Please place it again and hold it until done.",
    Step.IDENTIFY,
)


STATE_NAMES = (
    "idle",
    "identify",
    "identify-show_qr",
    "identify-after_qr",
    "identify-busy",
    "identity_check",
    "identity_check-qr_only",
    "insurance-busy",
    "insurance",
    "insurance-expired",
    "visit_type",
    "department",
    "department-services",
    "department-many",
    "confirm",
    "printing",
    "printing-ticket",
    "done",
    "done-print_error",
    "done-vietqr",
    "done-vietqr-paid",
    "done-vietqr-print_error",
    "error",
)


@functools.cache
def representative_states() -> dict[str, FlowState]:
    """One state per step (and a few variants), as the desk would produce them.

    Needs a QApplication (the photo and the ticket preview are drawn with Qt).
    """
    s = full_session()
    done = replace(s, ticket=ticket(), ticket_preview_png=ticket_png())
    return {
        "idle": FlowState(Step.IDLE, Session(), reference=REFERENCE),
        "identify": FlowState(Step.IDENTIFY, Session(), prompt="place_card", reference=REFERENCE),
        "identify-show_qr": FlowState(Step.IDENTIFY, Session(), prompt="show_qr", reference=REFERENCE),
        "identify-after_qr": FlowState(
            Step.IDENTIFY, Session(), prompt="place_card_after_qr", reference=REFERENCE
        ),
        "identify-busy": FlowState(Step.IDENTIFY, Session(), busy=True, progress="dg13", reference=REFERENCE),
        "identity_check": FlowState(Step.IDENTITY_CHECK, Session(identity=identity()), reference=REFERENCE),
        "identity_check-qr_only": FlowState(
            Step.IDENTITY_CHECK,
            Session(identity=identity(Verification.NOT_VERIFIED, photo=False)),
            reference=REFERENCE,
        ),
        "insurance-busy": FlowState(
            Step.INSURANCE, Session(identity=identity()), busy=True, progress="insurance", reference=REFERENCE
        ),
        "insurance": FlowState(
            Step.INSURANCE, Session(identity=identity(), insurance=insurance()), reference=REFERENCE
        ),
        "insurance-expired": FlowState(
            Step.INSURANCE,
            Session(identity=identity(), insurance=insurance(InsuranceStatus.EXPIRED)),
            reference=REFERENCE,
        ),
        "visit_type": FlowState(
            Step.VISIT_TYPE, Session(identity=identity(), insurance=insurance()), reference=REFERENCE
        ),
        "department": FlowState(
            Step.DEPARTMENT,
            replace(s, department=None, service=None),
            reference=REFERENCE,
        ),
        "department-services": FlowState(Step.DEPARTMENT, replace(s, service=None), reference=REFERENCE),
        "department-many": FlowState(
            Step.DEPARTMENT, replace(s, department=None, service=None), reference=MANY_REFERENCE
        ),
        "confirm": FlowState(Step.CONFIRM, s, reference=REFERENCE),
        "printing": FlowState(Step.PRINTING, s, busy=True, progress="register", reference=REFERENCE),
        "printing-ticket": FlowState(Step.PRINTING, done, busy=True, progress="print", reference=REFERENCE),
        "done": FlowState(Step.DONE, done, reference=REFERENCE),
        "done-print_error": FlowState(
            Step.DONE,
            replace(done, print_error=PRINT_ERROR, ticket=ticket(NumberIssuer.KIOSK)),
            reference=REFERENCE,
        ),
        "done-vietqr": FlowState(Step.DONE, fee_paying_done(), reference=REFERENCE),
        "done-vietqr-paid": FlowState(
            Step.DONE,
            replace(fee_paying_done(), payment=fee_paying_done().payment.settled(None)),
            reference=REFERENCE,
        ),
        "done-vietqr-print_error": FlowState(
            Step.DONE, replace(fee_paying_done(), print_error=PRINT_ERROR), reference=REFERENCE
        ),
        "error": FlowState(Step.ERROR, s, error=CARD_REMOVED, reference=REFERENCE),
    }


PAYMENT_SETTINGS = PaymentSettings(
    enabled=True, bank_bin="970403", account="0011012345678", account_name="BENH VIEN DA KHOA TINH"
)


def fee_paying_done() -> Session:
    """A fee-paying patient's result: the VietQR beside the number."""
    fee_ticket = replace(ticket(), insurance_status=InsuranceStatus.NOT_FOUND, amount_due=150_000)
    payment = payment_request(fee_ticket, PAYMENT_SETTINGS)
    assert payment is not None
    payment = replace(payment, qr_png=qr_png(payment.qr_payload))
    return replace(full_session(), ticket=fee_ticket, ticket_preview_png=ticket_png(), payment=payment)


class RecordingDesk:
    """`CheckInOperations` for tests: records each call, changes nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.left: float | None = None
        self.wipe_on_tick = False

    def _record(self, *call: object) -> None:
        self.calls.append(tuple(call))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls if c[0] not in ("touch", "tick", "seconds_left")]

    def begin(self) -> None:
        self._record("begin")

    def use_qr_without_chip(self) -> None:
        self._record("use_qr_without_chip")

    def id_typed(self, id12: str) -> None:
        self._record("id_typed", id12)

    def use_visit_paper(self) -> None:
        self._record("use_visit_paper")

    def confirm_identity(self) -> None:
        self._record("confirm_identity")

    def continue_from_insurance(self) -> None:
        self._record("continue_from_insurance")

    def choose_visit_type(self, visit_type: VisitType, paper_number: str | None = None) -> None:
        self._record("choose_visit_type", visit_type, paper_number)

    def choose_department(self, code: str) -> None:
        self._record("choose_department", code)

    def choose_service(self, code: str) -> None:
        self._record("choose_service", code)

    def confirm(self) -> None:
        self._record("confirm")

    def back(self) -> None:
        self._record("back")

    def cancel(self) -> None:
        self._record("cancel")

    def retry(self) -> None:
        self._record("retry")

    def finish(self) -> None:
        self._record("finish")

    def reprint(self) -> None:
        self._record("reprint")

    def touch(self) -> None:
        self._record("touch")

    def tick(self) -> bool:
        self._record("tick")
        return self.wipe_on_tick

    def seconds_left(self) -> float | None:
        return self.left
