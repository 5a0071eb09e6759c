"""What a queue ticket says and in what order, as data only.

The renderer (`drivers.printer.raster`) turns a `TicketLayout` into a 1-bit
image; the same image is printed and shown on screen. Keeping the layout here
lets the core decide the content without knowing about pixels or printers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.domain import InsuranceStatus, NumberIssuer, QueueTicket
from kiosk.payment import PaymentRequest


class TextSize(enum.Enum):
    SMALL = "small"
    NORMAL = "normal"
    LARGE = "large"
    HUGE = "huge"  # the queue number: readable at arm's length


class Align(enum.Enum):
    LEFT = "left"
    CENTER = "center"


@dataclass(frozen=True)
class TextBlock:
    text: str
    size: TextSize = TextSize.NORMAL
    bold: bool = False
    align: Align = Align.LEFT


@dataclass(frozen=True)
class RuleBlock:
    """A horizontal line separating sections."""


@dataclass(frozen=True)
class QrBlock:
    payload: str
    caption: str = ""


@dataclass(frozen=True)
class ImageBlock:
    path: str  # a logo file (PNG/SVG) from assets/ or the configuration


Block = TextBlock | RuleBlock | QrBlock | ImageBlock


@dataclass(frozen=True)
class TicketLayout:
    blocks: tuple[Block, ...]

    def text(self) -> str:
        """All text on the ticket, for tests and accessibility."""
        return "\n".join(b.text for b in self.blocks if isinstance(b, TextBlock))


_INSURANCE_LABEL = {
    InsuranceStatus.VALID: "BHYT: Hợp lệ / Insured",
    InsuranceStatus.VALID_NEW_CARD: "BHYT: Hợp lệ (thẻ mới) / Insured",
    InsuranceStatus.EXPIRED: "BHYT: Hết hạn / Expired",
    InsuranceStatus.NOT_FOUND: "Khám dịch vụ / Fee-paying",
    InsuranceStatus.DATA_MISMATCH: "BHYT: Cần kiểm tra tại quầy / See desk",
    InsuranceStatus.SEE_DESK: "BHYT: Cần kiểm tra tại quầy / See desk",
    InsuranceStatus.UNAVAILABLE: "BHYT: Chưa kiểm tra được / Not checked",
}


def format_vnd(amount: int) -> str:
    """Vietnamese money: dots group thousands, "đ" follows (150.000 đ)."""
    return f"{amount:,}".replace(",", ".") + " đ"


def _vnd_on_paper(amount: int) -> str:
    # A no-break space keeps "đ" with its number when a line wraps.
    return format_vnd(amount).replace(" ", "\u00a0")


def _wait_text(minutes: int) -> str:
    # "~0 phút" reads as a mistake; an estimate this rough is better said
    # as a bound. The non-breaking space keeps "phút" with its number on
    # narrow (58 mm) paper.
    if minutes < 5:
        return "dưới 5\u00a0phút"
    return f"khoảng {minutes}\u00a0phút"


def ticket_layout(
    ticket: QueueTicket,
    hospital_name: str,
    logo_path: str | None = None,
    payment: PaymentRequest | None = None,
) -> TicketLayout:
    """Lay out a queue ticket: number first and biggest, then where to go.

    With `payment` (a fee-paying patient, VietQR enabled) a payment section
    with the dynamic VietQR comes before the instructions, so the patient
    can pay from the waiting area with the ticket in hand.
    """
    dept, service = ticket.department, ticket.service
    blocks: list[Block] = []
    if logo_path:
        blocks.append(ImageBlock(logo_path))
    blocks += [
        TextBlock(hospital_name, TextSize.NORMAL, bold=True, align=Align.CENTER),
        TextBlock("PHIẾU SỐ THỨ TỰ / QUEUE TICKET", TextSize.SMALL, align=Align.CENTER),
        RuleBlock(),
        TextBlock(ticket.display_number, TextSize.HUGE, bold=True, align=Align.CENTER),
    ]
    if ticket.issuer is NumberIssuer.KIOSK:
        # Printed while the hub was unreachable: staff must know it is a
        # kiosk-local number that the hub will reconcile later.
        blocks.append(TextBlock("Số cấp tạm khi mất mạng / Offline number", TextSize.SMALL, align=Align.CENTER))
    blocks += [
        RuleBlock(),
        TextBlock(dept.name_vi, TextSize.LARGE, bold=True, align=Align.CENTER),
        TextBlock(f"Phòng {dept.room} – Tầng {dept.floor}", TextSize.LARGE, bold=True, align=Align.CENTER),
        TextBlock(f"Room {dept.room}, floor {dept.floor}", TextSize.SMALL, align=Align.CENTER),
        TextBlock(service.name_vi, TextSize.NORMAL, align=Align.CENTER),
        RuleBlock(),
        TextBlock(f"Người bệnh: {ticket.masked_name}", TextSize.NORMAL),
        TextBlock(f"Giờ lấy số: {ticket.issued_at:%H:%M  %d/%m/%Y}", TextSize.NORMAL),
    ]
    if ticket.insurance_status is not None:
        blocks.append(TextBlock(_INSURANCE_LABEL[ticket.insurance_status], TextSize.NORMAL))
    if ticket.amount_due > 0:
        blocks.append(
            TextBlock(f"Cần thanh toán / To pay: {_vnd_on_paper(ticket.amount_due)}", TextSize.NORMAL, bold=True)
        )
    if ticket.estimated_wait_minutes is not None:
        blocks.append(TextBlock(f"Thời gian chờ: {_wait_text(ticket.estimated_wait_minutes)}", TextSize.NORMAL))
    if payment is not None:
        blocks += payment_blocks(payment)
    blocks += [
        RuleBlock(),
        TextBlock(
            "Vui lòng đến đúng phòng và chờ gọi số. Giữ phiếu này đến khi khám xong.",
            TextSize.NORMAL,
        ),
        TextBlock("Please go to the room above and wait for your number.", TextSize.SMALL),
        QrBlock(ticket.episode_key or ticket.registration_key, caption="Mã đăng ký / Reference"),
    ]
    return TicketLayout(tuple(blocks))


def payment_blocks(payment: PaymentRequest) -> list[Block]:
    """The VietQR section: what to pay, the code, whom it goes to, the cash alternative.

    The transfer purpose is printed under the code: if a banking app drops it,
    the cashier can still match the transfer by hand.
    """
    payee = "\u2028".join(
        part for part in (payment.account_name, f"STK / Account: {payment.account}" if payment.account else "") if part
    )
    return [
        RuleBlock(),
        TextBlock("THANH TOÁN / PAYMENT", TextSize.NORMAL, bold=True, align=Align.CENTER),
        TextBlock(
            f"Quét mã bằng ứng dụng ngân hàng để trả {_vnd_on_paper(payment.amount)}",
            TextSize.NORMAL,
            align=Align.CENTER,
        ),
        # U+2028 LINE SEPARATOR: the line break Qt's text layout honours.
        QrBlock(payment.qr_payload, caption=f"{payee}\u2028Nội dung / Note: {payment.reference}"),
        TextBlock("Hoặc trả tại quầy thu ngân / Or pay at the cashier", TextSize.SMALL, align=Align.CENTER),
    ]
