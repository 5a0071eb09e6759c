"""The result: the queue number, huge, and where to go.

If the printer failed the number still exists (the desk registered it), so
the screen says so plainly: remember or photograph the number, or try the
printer again. The screen closes itself (the window calls `finish` after
about 20 s without a touch, never later than the desk's idle wipe).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from kiosk.flow import FlowState, Step
from kiosk.ticket import format_vnd
from ui.i18n import translate
from ui.payment_panel import PaymentPanel
from ui.screens.base import Screen
from ui.screens.words import room_and_floor
from ui.widgets import FitLabel, TonePanel, button, image_from_bytes, label

REPRINT_IDLE, REPRINT_RUNNING, REPRINT_DONE, REPRINT_FAILED = "idle", "running", "done", "failed"


class DoneScreen(Screen):
    step = Step.DONE

    def build(self) -> None:
        # Left: the number and where to go, read from a step away. Right:
        # the ticket preview, or what to do when the printer failed.
        row = QHBoxLayout()
        row.setSpacing(32)
        left = QVBoxLayout()
        left.setSpacing(8)
        self.number = self.data_widget(FitLabel(self.metrics.number_pt))
        self.number.setObjectName("queue-number")
        self.where = self.data_label("strong")
        self.department = self.data_label("lead")
        self.instructions = self.data_label()
        self.amount = self.data_label()
        self.wait = self.data_label()
        for w in (self.number, self.where, self.department, self.instructions, self.amount, self.wait):
            left.addWidget(w)
        left.addStretch(1)
        row.addLayout(left, 1)

        right = QVBoxLayout()
        self.preview = self.data_label("preview", align=Qt.AlignmentFlag.AlignCenter)
        right.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.print_problem = TonePanel()
        self.print_problem.set_tone("danger")
        self.problem_title = label("bold")
        self.problem_text = self.data_label()
        self.problem_photo = label()
        self.reprint = button("")
        self.reprint.setObjectName("reprint")
        self.reprint.clicked.connect(self._on_reprint)
        self.reprint_status = label()
        for w in (self.problem_title, self.problem_text, self.problem_photo, self.reprint, self.reprint_status):
            self.print_problem.layout_.addWidget(w)
        self.print_problem.layout_.setAlignment(self.reprint, Qt.AlignmentFlag.AlignLeft)
        right.addWidget(self.print_problem)
        # VietQR for a fee-paying patient: in place of the ticket preview.
        self.payment = self.data_widget(PaymentPanel())
        self.payment.hide()
        right.addWidget(self.payment)
        right.addStretch(1)
        row.addLayout(right)
        self.body_layout.addLayout(row)

        self.closing = label("muted")
        self.done = self.action("primary", self.desk.finish)
        self.done.setObjectName("finish")
        self.footer.addWidget(self.closing, 1)
        self.footer.addWidget(self.done)
        self._reprint = REPRINT_IDLE
        self._closing_seconds: int | None = None
        self.metrics_changed()

    def metrics_changed(self) -> None:
        self.number.set_point_size(self.metrics.number_pt)
        self.print_problem.setFixedWidth(int(6.2 * self.metrics.touch_px))
        self.payment.setFixedWidth(int(6.2 * self.metrics.touch_px))
        self.payment.set_code_side(int(2.6 * self.metrics.touch_px))

    def retranslate(self) -> None:
        self.problem_title.setText(
            translate("DoneScreen", "Máy in chưa in được phiếu, nhưng số thứ tự của bạn vẫn có hiệu lực.")
        )
        self.problem_photo.setText(translate("DoneScreen", "Bạn có thể chụp ảnh màn hình này."))
        self.reprint.setText(translate("DoneScreen", "In lại phiếu"))
        self.done.setText(translate("DoneScreen", "Xong"))
        self._show_reprint_status()
        self._show_closing()
        self.payment.retranslate()

    # -- what the window tells us ---------------------------------------------------------

    def set_closing_in(self, seconds: int | None) -> None:
        """Seconds until the screen closes by itself (None: not counting)."""
        self._closing_seconds = seconds
        self._show_closing()

    def reprint_finished(self, ok: bool) -> None:
        self._reprint = REPRINT_DONE if ok else REPRINT_FAILED
        self._show_reprint_status()

    # -- internals -------------------------------------------------------------------------

    def _on_reprint(self) -> None:
        self._reprint = REPRINT_RUNNING
        self._show_reprint_status()
        self.desk.reprint()

    def _show_reprint_status(self) -> None:
        texts = {
            REPRINT_IDLE: "",
            REPRINT_RUNNING: translate("DoneScreen", "Đang in lại..."),
            REPRINT_DONE: translate("DoneScreen", "Đã in lại. Vui lòng lấy phiếu."),
            REPRINT_FAILED: translate("DoneScreen", "Vẫn chưa in được. Hãy ghi lại số thứ tự ở trên."),
        }
        self.reprint_status.setText(texts[self._reprint])
        self.reprint_status.setVisible(self._reprint != REPRINT_IDLE)

    def _show_closing(self) -> None:
        if self._closing_seconds is None:
            self.closing.clear()
            return
        self.closing.setText(
            translate("DoneScreen", "Màn hình sẽ tự đóng sau {seconds} giây để bảo vệ thông tin của bạn.").format(
                seconds=self._closing_seconds
            )
        )

    def show_state(self, state: FlowState) -> None:
        s = state.session
        ticket = s.ticket
        if ticket is None:  # the flow never reaches DONE without one; be safe
            self.clear()
            return
        dept = ticket.department
        failed = s.print_error is not None
        self.title.setText(translate("DoneScreen", "Đăng ký xong! Số thứ tự của bạn là:"))
        self.number.setText(ticket.display_number)
        room, floor = room_and_floor(dept)
        self.where.setText(translate("DoneScreen", "Mời bạn đến phòng {room}, tầng {floor}").format(room=room, floor=floor))
        self.department.setText(self.tr_data(dept.name_vi, dept.name_en))
        if failed:
            self.instructions.setText(translate("DoneScreen", "Chờ gọi số thứ tự trước cửa phòng khám."))
        else:
            self.instructions.setText(
                translate("DoneScreen", "Hãy lấy phiếu ở khe máy in và chờ gọi số trước cửa phòng khám.")
            )
        if ticket.amount_due > 0 and s.payment is None:
            self.amount.setText(
                translate("DoneScreen", "Số tiền cần trả tại quầy thu ngân: {amount}").format(
                    amount=format_vnd(ticket.amount_due)
                )
            )
        else:
            self.amount.clear()
        # With a VietQR the payment panel says the amount (and "paid").
        self.amount.setVisible(ticket.amount_due > 0 and s.payment is None)
        if ticket.estimated_wait_minutes:
            self.wait.setText(
                translate("DoneScreen", "Thời gian chờ dự kiến: khoảng {minutes} phút").format(
                    minutes=ticket.estimated_wait_minutes
                )
            )
        else:
            self.wait.clear()
        self.wait.setVisible(bool(ticket.estimated_wait_minutes))
        self.print_problem.setVisible(failed)
        self.payment.show_payment(s.payment)
        if s.print_error is not None:
            self.problem_text.setText(self.tr_data(s.print_error.guidance_vi, s.print_error.guidance_en))

        t = self.metrics.touch_px
        # Without paper the preview would only repeat the number beside it;
        # the space goes to what to do instead.
        pixmap = None if failed or s.payment is not None else image_from_bytes(s.ticket_preview_png, QSize(3 * t, int(5.2 * t)))
        if pixmap is not None:
            self.preview.setPixmap(pixmap)
            self.preview.show()
        else:
            self.preview.clear()
            self.preview.hide()

    def wipe(self) -> None:
        self._reprint = REPRINT_IDLE
        self._closing_seconds = None
        self.reprint_status.clear()
        self.closing.clear()
