"""A numeric keypad for typing the 12-digit CCCD number.

For a patient whose card's QR the camera cannot read (worn print, a shaking
hand): the typed number gives the chip's CAN, like the QR would
(`CheckInDesk.id_typed`). The keypad opens from the identify step ("Nhập số
CCCD"), lies over the screens like a sheet of paper, and forgets the digits
whenever it closes or the flow leaves the identify step.

Not a `Screen`: it is not a step of the flow, only another way to give the
identify step its key.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from kiosk.cccd import validate_id_number
from kiosk.flow import FlowState, Step
from ui.i18n import translate
from ui.operations import CheckInOperations
from ui.widgets import button, label

ID_DIGITS = 12


def grouped(digits: str) -> str:
    """"001088012345" as "001 088 012 345", the blanks shown as "_"."""
    padded = digits.ljust(ID_DIGITS, "_")
    return " ".join(padded[i : i + 3] for i in range(0, ID_DIGITS, 3))


class IdKeypad(QWidget):
    """The keypad sheet, laid over `cover` (the window's screen stack)."""

    def __init__(self, desk: CheckInOperations, cover: QWidget) -> None:
        super().__init__(cover.parentWidget())
        self.desk = desk
        self._cover = cover
        self._digits = ""
        self._problem = False
        self.setProperty("role", "screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        row = QHBoxLayout(self)
        row.setContentsMargins(40, 16, 40, 16)
        row.setSpacing(40)
        left = QVBoxLayout()
        left.setSpacing(16)
        self.title = label("title")
        self.display = label("title")
        self.display.setObjectName("keypad-display")
        self.hint = label("lead")
        self.message = label("lead")
        self.message.setObjectName("keypad-message")
        for w in (self.title, self.display, self.hint, self.message):
            left.addWidget(w)
        left.addStretch(1)
        footer = QHBoxLayout()
        footer.setSpacing(24)
        self.back = button()
        self.back.setObjectName("keypad-back")
        self.back.clicked.connect(self.close_keypad)
        self.done = button("primary")
        self.done.setObjectName("keypad-done")
        self.done.clicked.connect(self.submit)
        footer.addWidget(self.back)
        footer.addWidget(self.done)
        footer.addStretch(1)
        left.addLayout(footer)
        row.addLayout(left, 1)

        grid = QGridLayout()
        grid.setSpacing(12)
        self.keys: dict[str, QPushButton] = {}
        for i, digit in enumerate("123456789"):
            grid.addWidget(self._key(digit), i // 3, i % 3)
        self.erase = button()
        self.erase.setObjectName("keypad-erase")
        self.erase.clicked.connect(self.erase_one)
        grid.addWidget(self.erase, 3, 0)
        grid.addWidget(self._key("0"), 3, 1)
        self.clear_all = button()
        self.clear_all.setObjectName("keypad-clear")
        self.clear_all.clicked.connect(self.clear)
        grid.addWidget(self.clear_all, 3, 2)
        row.addLayout(grid, 1)

        cover.installEventFilter(self)
        self.hide()
        self.retranslate()

    def _key(self, digit: str) -> QPushButton:
        b = button()
        b.setObjectName(f"keypad-{digit}")
        b.setText(digit)
        b.clicked.connect(lambda: self.press(digit))
        self.keys[digit] = b
        return b

    @property
    def digits(self) -> str:
        return self._digits

    # -- input -----------------------------------------------------------------------

    def press(self, digit: str) -> None:
        if len(self._digits) < ID_DIGITS:
            self._digits += digit
            self._problem = False
            self._show()

    def erase_one(self) -> None:
        self._digits = self._digits[:-1]
        self._problem = False
        self._show()

    def clear(self) -> None:
        """Forget the digits (privacy: called whenever the sheet closes)."""
        self._digits = ""
        self._problem = False
        self._show()

    def submit(self) -> None:
        if len(self._digits) != ID_DIGITS:
            return
        if validate_id_number(self._digits):
            # Said here, before the desk sees it: the patient fixes a typo
            # without leaving the keypad.
            self._problem = True
            self._show()
            return
        typed = self._digits
        self.close_keypad()
        self.desk.id_typed(typed)

    # -- showing -----------------------------------------------------------------------

    def open_keypad(self) -> None:
        self.clear()
        self.setGeometry(self._cover.geometry())
        self.show()
        self.raise_()

    def close_keypad(self) -> None:
        self.clear()
        self.hide()

    def _show(self) -> None:
        self.display.setText(grouped(self._digits))
        self.done.setEnabled(len(self._digits) == ID_DIGITS)
        if self._problem:
            self.message.setText(
                translate("IdKeypad", "Số này chưa đúng. Vui lòng xem lại từng chữ số trên thẻ, sửa rồi bấm Xong.")
            )
        else:
            left = ID_DIGITS - len(self._digits)
            self.message.setText(
                translate("IdKeypad", "Còn {count} chữ số.").format(count=left)
                if left
                else translate("IdKeypad", "Đủ 12 chữ số. Bấm Xong.")
            )

    def retranslate(self) -> None:
        self.title.setText(translate("IdKeypad", "Nhập số CCCD"))
        self.hint.setText(
            translate("IdKeypad", "12 chữ số in ở mặt trước thẻ, dòng “Số định danh cá nhân”. Sau đó đặt thẻ lên đầu đọc.")
        )
        self.back.setText(translate("IdKeypad", "Quay lại"))
        self.done.setText(translate("IdKeypad", "Xong"))
        self.erase.setText(translate("IdKeypad", "Xoá"))
        self.clear_all.setText(translate("IdKeypad", "Xoá hết"))
        self._show()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self._cover and event.type() in (QEvent.Type.Resize, QEvent.Type.Move) and self.isVisible():
            self.setGeometry(self._cover.geometry())
        return False


class KeypadEntry(QObject):
    """The "Nhập số CCCD" button on the identify step, and its keypad."""

    def __init__(self, window: QWidget, desk: CheckInOperations) -> None:
        super().__init__(window)
        identify = window.screens[Step.IDENTIFY]  # type: ignore[attr-defined]
        self.keypad = IdKeypad(desk, window.stack)  # type: ignore[attr-defined]
        self.button = button()
        self.button.setObjectName("type-id")
        self.button.clicked.connect(self.keypad.open_keypad)
        # Into the identify screen's footer (Screen.footer), left of its actions.
        identify.footer.insertWidget(0, self.button)
        self.button.hide()
        self.retranslate()
        self.button.installEventFilter(self)

    def follow(self, state: FlowState) -> None:
        """On every render: offered only on the identify step, not while a
        card is read; and the digits go as soon as the step is left."""
        offer = state.step is Step.IDENTIFY and not state.busy
        self.button.setVisible(offer)
        if not offer and self.keypad.isVisible():
            self.keypad.close_keypad()

    def retranslate(self) -> None:
        self.button.setText(translate("IdKeypad", "Nhập số CCCD"))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self.button and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False


def attach_keypad(window: QWidget, desk: CheckInOperations) -> KeypadEntry:
    return KeypadEntry(window, desk)
