"""The PIN page: a large keypad, the digits shown as dots, clear answers."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from kiosk.technician import MAX_PIN_LENGTH, TechnicianGate, Unlock
from ui.i18n import translate
from ui.technician.worker import BUSY_AFTER_MS, Background
from ui.widgets import BusyIndicator, button, label


class PinPage(QWidget):
    """Asks for the PIN; calls `on_granted()` or `on_cancel()`."""

    def __init__(self, gate: TechnicianGate, on_granted: Callable[[], None], on_cancel: Callable[[], None]) -> None:
        super().__init__()
        self.setProperty("role", "screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._gate = gate
        self._on_granted = on_granted
        self._on_cancel = on_cancel
        self._pin = ""
        self._background = Background(self)
        self._answer: Unlock | None = None

        root = QVBoxLayout(self)
        root.setContentsMargins(40, 16, 40, 16)
        root.setSpacing(12)
        self.title = label("title")
        self.dots = label("title", align=Qt.AlignmentFlag.AlignCenter)
        self.message = label("lead", align=Qt.AlignmentFlag.AlignCenter)
        heading = QHBoxLayout()
        heading.addWidget(self.title, 1)
        root.addLayout(heading)
        root.addWidget(self.dots)
        root.addWidget(self.message)
        # argon2 takes about half a second on purpose: the turning ring says
        # the PIN is being checked (shown after BUSY_AFTER_MS).
        self.busy = BusyIndicator(56)
        self.busy.hide()
        heading.addWidget(self.busy)  # beside the title: the keypad keeps its height
        self._busy_later = QTimer(self)
        self._busy_later.setSingleShot(True)
        self._busy_later.setInterval(BUSY_AFTER_MS)
        self._busy_later.timeout.connect(self.busy.show)
        self._background.busy_changed.connect(self._busy_changed)

        grid = QGridLayout()
        grid.setSpacing(12)
        self.digit_buttons: dict[str, QWidget] = {}
        for i, digit in enumerate("123456789"):
            grid.addWidget(self._digit(digit), i // 3, i % 3)
        self.erase = button()
        self.erase.setObjectName("pin-erase")
        self.erase.clicked.connect(self._erase)
        grid.addWidget(self.erase, 3, 0)
        grid.addWidget(self._digit("0"), 3, 1)
        self.ok = button("primary")
        self.ok.setObjectName("pin-ok")
        self.ok.clicked.connect(self.submit)
        grid.addWidget(self.ok, 3, 2)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addLayout(grid, 2)
        row.addStretch(1)
        root.addLayout(row, 1)

        footer = QHBoxLayout()
        self.cancel = button()
        self.cancel.setObjectName("pin-cancel")
        self.cancel.clicked.connect(self._cancel)
        footer.addWidget(self.cancel)
        footer.addStretch(1)
        root.addLayout(footer)
        self.retranslate()

    def _digit(self, digit: str) -> QWidget:
        b = button()
        b.setObjectName(f"pin-{digit}")
        b.setText(digit)
        b.clicked.connect(lambda: self.press(digit))
        self.digit_buttons[digit] = b
        return b

    def _busy_changed(self, busy: bool) -> None:
        if busy:
            self._busy_later.start()
        else:
            self._busy_later.stop()
            self.busy.hide()

    # -- input ------------------------------------------------------------------------

    def press(self, digit: str) -> None:
        if len(self._pin) < MAX_PIN_LENGTH and self._background.running == 0:
            self._pin += digit
            self._show_dots()

    def _erase(self) -> None:
        self._pin = self._pin[:-1]
        self._show_dots()

    def _show_dots(self) -> None:
        self.dots.setText("●" * len(self._pin) if self._pin else "–")

    def reset(self) -> None:
        self._pin = ""
        self._answer = None
        self._show_dots()
        self.retranslate()

    def _cancel(self) -> None:
        self.reset()
        self._on_cancel()

    def submit(self) -> None:
        if not self._pin or self._background.running:
            return
        pin, self._pin = self._pin, ""
        self._show_dots()
        self.message.setText(translate("TechnicianPin", "Đang kiểm tra…"))
        # argon2 takes a noticeable moment on purpose: off the UI thread.
        self._background.run(lambda: self._gate.unlock(pin), self._answered)

    def _answered(self, answer: Unlock | None, error: BaseException | None) -> None:
        if error is not None or answer is None:
            answer = Unlock(False, remaining=0)
        self._answer = answer
        if answer.granted:
            self.reset()
            self._on_granted()
            return
        self._show_answer()

    def _show_answer(self) -> None:
        answer = self._answer
        if answer is None:
            self.message.setText(translate("TechnicianPin", "Nhập mã PIN kỹ thuật rồi bấm OK."))
        elif not answer.pin_set:
            self.message.setText(
                translate("TechnicianPin", "Chưa đặt mã PIN. Đặt bằng lệnh: kiosk set-technician-pin")
            )
        elif answer.locked_seconds:
            minutes = max(1, (answer.locked_seconds + 59) // 60)
            self.message.setText(
                translate("TechnicianPin", "Sai quá nhiều lần. Thử lại sau {minutes} phút.").format(minutes=minutes)
            )
        else:
            self.message.setText(
                translate("TechnicianPin", "Sai mã PIN. Còn {count} lần thử.").format(count=answer.remaining)
            )

    def retranslate(self) -> None:
        self.title.setText(translate("TechnicianPin", "Chế độ kỹ thuật"))
        self.erase.setText(translate("TechnicianPin", "Xoá"))
        self.ok.setText("OK")
        self.cancel.setText(translate("TechnicianPin", "Quay lại"))
        self._show_dots()
        self._show_answer()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
