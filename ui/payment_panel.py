"""The VietQR panel on the result screen: pay the fee from your phone, or at the cashier.

Shown beside the queue number, not as a step of its own: the number is what
every patient needs, paying by phone is what some patients can do. A step
that waits for a payment would keep a patient who pays cash (or has no
banking app) in front of a screen that asks for something they cannot give.
The same code is printed on the ticket, so nobody has to pay before leaving
the kiosk.

While the hub has not seen the money the panel says what to do in three
short lines; once it has, the code goes away and the panel turns green:
"Đã nhận thanh toán" (received). The panel only renders the `PaymentRequest`
it is given; the desk's payment watcher keeps that up to date.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from kiosk.payment import PaymentRequest
from kiosk.ticket import format_vnd
from ui.i18n import translate
from ui.widgets import TonePanel, label


class PaymentPanel(TonePanel):
    def __init__(self, parent=None) -> None:  # noqa: ANN001 - QWidget | None
        super().__init__(parent)
        self.setObjectName("payment")
        self.title = label("strong")
        self.code = label(align=Qt.AlignmentFlag.AlignCenter)
        self.code.setObjectName("vietqr")
        self.how = label()
        self.cash = label("bold")
        # The code on the left, what to do beside it: the panel stays as
        # short as the code, so the result screen needs no scrolling.
        self.layout_.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(16)
        row.addWidget(self.code, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.setSpacing(8)
        for w in (self.how, self.cash):
            words.addWidget(w)
        words.addStretch(1)
        row.addLayout(words, 1)
        self.layout_.addLayout(row)
        self._payment: PaymentRequest | None = None
        self._code_side = 300

    def set_code_side(self, side: int) -> None:
        """The QR's side on screen in pixels: big enough for a phone at arm's length."""
        self._code_side = side
        self._show()

    def show_payment(self, payment: PaymentRequest | None) -> None:
        self._payment = payment
        self.setVisible(payment is not None)
        self._show()

    def clear(self) -> None:
        self._payment = None
        for w in (self.title, self.how, self.cash):
            w.clear()
        self.code.clear()
        self.hide()

    def retranslate(self) -> None:
        self._show()

    def _show(self) -> None:
        payment = self._payment
        if payment is None:
            return
        amount = format_vnd(payment.amount)
        # No "waiting for payment" line: it would tell a patient to stay at
        # the kiosk, when they can just as well pay later from the ticket.
        # The beneficiary's name is left to the banking app, which shows it
        # before the patient confirms.
        if payment.paid:
            self.set_tone("success")
            self.title.setText(translate("PaymentPanel", "Đã nhận {amount}. Cảm ơn bạn!").format(amount=amount))
            self.how.setText(translate("PaymentPanel", "Bạn không cần trả tiền ở quầy thu ngân nữa."))
            self.cash.clear()
            self.cash.hide()
            self.code.clear()
            self.code.hide()
            return
        self.set_tone("info")
        self.title.setText(translate("PaymentPanel", "Trả {amount} bằng điện thoại").format(amount=amount))
        self.how.setText(translate("PaymentPanel", "Mở ứng dụng ngân hàng và quét mã này. Mã cũng có trên phiếu."))
        self.cash.setText(translate("PaymentPanel", "Hoặc trả tại quầy thu ngân."))
        self.cash.show()
        pixmap = QPixmap()
        if payment.qr_png and pixmap.loadFromData(payment.qr_png):
            # Scaled without smoothing: grey module edges make phones hesitate.
            pixmap = pixmap.scaled(
                QSize(self._code_side, self._code_side),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
            self.code.setPixmap(pixmap)
            self.code.show()
        else:
            self.code.clear()
            self.code.hide()
