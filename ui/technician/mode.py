"""Technician mode over the kiosk window: the PIN page, then the console.

The mode covers the patient screens but not the top bar, so the language
switch stays in reach. It closes itself after `IDLE_SECONDS` without a touch:
a technician who walks away must not leave the console to the next patient.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QGridLayout, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from kiosk.technician import TechnicianConsole
from ui.i18n import translate
from ui.technician.pages import PAGES, ConsolePage
from ui.technician.pin import PinPage
from ui.widgets import button

IDLE_SECONDS = 300

_NAV_TEXT = {
    "readers": lambda: translate("Technician", "Đầu đọc"),
    "camera": lambda: translate("Technician", "Camera"),
    "printer": lambda: translate("Technician", "Máy in"),
    "hub": lambda: translate("Technician", "Máy chủ"),
    "config": lambda: translate("Technician", "Cấu hình"),
    "outbox": lambda: translate("Technician", "Hàng đợi gửi"),
    "logs": lambda: translate("Technician", "Nhật ký"),
}


class ConsoleView(QWidget):
    """The pages, with a column of large buttons to move between them."""

    def __init__(self, console: TechnicianConsole, on_exit: Callable[[], None], on_restart: Callable[[], None]) -> None:
        super().__init__()
        self.console = console
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 12, 24, 12)
        column.setSpacing(12)
        # The page buttons in two rows across the top: a column of nine
        # 15 mm buttons would not fit an 800-pixel-high screen.
        nav = QGridLayout()
        nav.setSpacing(8)
        self.pages: dict[str, ConsolePage] = {}
        self.nav_buttons: dict[str, QPushButton] = {}
        self.stack = QStackedWidget()
        for i, cls in enumerate(PAGES):
            page = cls(console)
            self.pages[cls.name] = page
            self.stack.addWidget(page)
            b = button()
            b.setObjectName(f"nav-{cls.name}")
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, n=cls.name: self.show_page(n))
            self.nav_buttons[cls.name] = b
            nav.addWidget(b, i // 4, i % 4)
        self.exit = button("primary")
        self.exit.setObjectName("technician-exit")
        self.exit.clicked.connect(on_exit)
        nav.addWidget(self.exit, 1, 3)
        # Restarting belongs with the configuration: it is how saved
        # settings take effect.
        self.restart = self.pages["config"].restart
        self.restart.clicked.connect(on_restart)
        column.addLayout(nav)
        column.addWidget(self.stack, 1)
        self._current: ConsolePage | None = None
        self.retranslate()

    def show_page(self, name: str) -> None:
        page = self.pages[name]
        if self._current is not None and self._current is not page:
            self._current.closed()
        self._current = page
        self.stack.setCurrentWidget(page)
        for n, b in self.nav_buttons.items():
            b.setChecked(n == name)
        page.opened()

    def current_page(self) -> ConsolePage | None:
        return self._current

    def close_pages(self) -> None:
        if self._current is not None:
            self._current.closed()
        self._current = None

    def retranslate(self) -> None:
        for name, b in self.nav_buttons.items():
            b.setText(_NAV_TEXT[name]())
        self.exit.setText(translate("Technician", "Thoát"))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class TechnicianMode(QWidget):
    """Laid over `cover` (the window's screen stack), hidden until opened."""

    def __init__(self, console: TechnicianConsole, cover: QWidget, on_restart: Callable[[], None]) -> None:
        super().__init__(cover.parentWidget())
        self.console = console
        self._cover = cover
        self.setProperty("role", "screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # Text fields are for the technician only; the window's sheet has no
        # rule for them. Large enough to hit and to read.
        self.setStyleSheet(
            "QLineEdit, QComboBox { font-size: 20pt; min-height: 56px; padding: 4px 12px;"
            " border: 2px solid #4a4a4a; border-radius: 8px; background: #ffffff; color: #111111; }"
        )
        self.stack = QStackedWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.pin = PinPage(console.gate, self._granted, self.close_mode)
        self.view = ConsoleView(console, self.close_mode, self._restart)
        self.stack.addWidget(self.pin)
        self.stack.addWidget(self.view)
        self._on_restart = on_restart
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_SECONDS * 1000)
        self._idle.timeout.connect(self._timed_out)
        cover.installEventFilter(self)
        self.hide()

    @property
    def unlocked(self) -> bool:
        return self.isVisible() and self.stack.currentWidget() is self.view

    def open(self) -> None:
        """The gesture was made: ask for the PIN."""
        if self.isVisible():
            return
        self.pin.reset()
        self.stack.setCurrentWidget(self.pin)
        self.setGeometry(self._cover.geometry())
        self.show()
        self.raise_()
        self._idle.start()
        app = QApplication.instance()
        if app is not None:
            # Every press inside the mode, on any child, keeps it open.
            app.installEventFilter(self)

    def _granted(self) -> None:
        self.stack.setCurrentWidget(self.view)
        self.view.show_page("readers")
        self._idle.start()

    def close_mode(self) -> None:
        if self.stack.currentWidget() is self.view and self.isVisible():
            self.console.audit("exit")
        self.view.close_pages()
        self.pin.reset()
        self.stack.setCurrentWidget(self.pin)
        self._idle.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.hide()

    def _timed_out(self) -> None:
        if self.stack.currentWidget() is self.view:
            self.console.audit("exit", reason="idle")
            self.stack.setCurrentWidget(self.pin)  # so close_mode does not log twice
        self.close_mode()

    def _restart(self) -> None:
        self.console.audit("restart")
        self.close_mode()
        # The service manager starts the kiosk again (packaging/, Restart=always).
        self._on_restart()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self._cover and event.type() in (QEvent.Type.Resize, QEvent.Type.Move) and self.isVisible():
            self.setGeometry(self._cover.geometry())
        # InputMethod: a letter typed on the on-screen keyboard (ui/keyboard.py),
        # which reaches the field as an input method event, not a key press.
        elif event.type() in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.TouchBegin,
            QEvent.Type.KeyPress,
            QEvent.Type.InputMethod,
        ):
            if obj.isWidgetType() and (obj is self or self.isAncestorOf(obj)):  # type: ignore[arg-type]
                self._idle.start()
        return False
