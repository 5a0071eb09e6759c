"""The kiosk window: one page per step, a top bar, the idle countdown.

The window shows whatever `FlowState` it is given (`render`) and nothing
else. It keeps one screen per `Step` in a QStackedWidget and, on each
render, clears every screen but the one shown: patient data lives in one
widget tree at a time, and in none once the flow is back at IDLE (the
privacy wipe).

It also owns the things that belong to the whole kiosk rather than a step:
the language and large-text switches, the online/offline indicator, the
"are you still there?" countdown, the touch tracking that keeps a session
alive, and the lockdown that stops a patient from leaving the application.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.flow import FlowState, Session, Step
from kiosk.ports import CameraPreview
from kiosk.technician import TechnicianConsole
from ui.i18n import ENGLISH, VIETNAMESE, LanguageSwitch, translate
from ui.keyboard import attach_keyboard
from ui.operations import CheckInOperations
from ui.runner import DeskRunner
from ui.screens import SCREENS, Screen
from ui.screens.done import DoneScreen
from ui.screens.keypad import attach_keypad
from ui.technician import attach_technician
from ui.theme import Metrics, metrics_for, stylesheet
from ui.widgets import button, label, repolish

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KioskOptions:
    hospital_name: str = "BỆNH VIỆN"
    language: str = VIETNAMESE  # the language every new patient starts in
    fullscreen: bool = False  # full screen, no frame, above other windows
    hide_cursor: bool = False  # a touch screen has no pointer to show
    block_shortcuts: bool = False  # swallow Alt+F4, Alt+Tab, Ctrl+Q, ...; refuse to close
    large_text: bool = False  # the large-text mode a new patient starts in
    countdown_seconds: float = 15.0  # show "I'm still here" this long before the wipe
    done_close_seconds: float = 20.0  # the result screen closes itself after this
    # ... or after this while a VietQR waits to be paid: paying by phone takes
    # longer than reading a number (the desk's idle wipe still bounds it).
    payment_close_seconds: float = 60.0
    tick_ms: int = 1000
    # Qt Virtual Keyboard for text fields (ui/keyboard.py; `keyboard.prepare` ran before the QApplication).
    virtual_keyboard: bool = False
    # The screen's physical dots per inch (kiosk.screen_dpi), so that 15 mm
    # is 15 mm on the glass; 0: what the screen reports.
    screen_dpi: float = 0.0

    @classmethod
    def locked_down(cls, hospital_name: str, language: str = VIETNAMESE) -> KioskOptions:
        """What a kiosk in a hospital hall runs with."""
        return cls(hospital_name, language, fullscreen=True, hide_cursor=True, block_shortcuts=True)


# Key combinations a patient (or a curious child) could leave the kiosk with.
# The window manager may act on some of them before we see them (Alt+Tab on
# most desktops): the kiosk session must not run a desktop that does; this
# filter is the second line.
_ALT_KEYS = {Qt.Key.Key_F4, Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Escape, Qt.Key.Key_Space}
_CTRL_KEYS = {Qt.Key.Key_Q, Qt.Key.Key_W, Qt.Key.Key_F4, Qt.Key.Key_Escape}
_ALONE_KEYS = {Qt.Key.Key_Meta, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R, Qt.Key.Key_F11, Qt.Key.Key_Menu}


def is_escape_shortcut(event: QKeyEvent) -> bool:
    key = Qt.Key(event.key())
    mods = event.modifiers()
    if key in _ALONE_KEYS:
        return True
    if mods & Qt.KeyboardModifier.MetaModifier:
        return True
    if mods & Qt.KeyboardModifier.AltModifier and key in _ALT_KEYS:
        return True
    return bool(mods & Qt.KeyboardModifier.ControlModifier and key in _CTRL_KEYS)


class _ActivityFilter(QObject):
    """Installed on the application: every press anywhere is activity, and
    in lockdown the escape shortcuts never reach a widget."""

    _PRESSES = {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
        QEvent.Type.KeyPress,
    }

    def __init__(self, window: KioskWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) and self._window.options.block_shortcuts:
            if isinstance(event, QKeyEvent) and is_escape_shortcut(event):
                return True
        # A press travels from the OS window to the widget and up its
        # parents; count it once, at a widget.
        if kind in self._PRESSES and obj.isWidgetType():
            self._window.note_activity()
        return False


class TopBar(QWidget):
    def __init__(self, hospital_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "topBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 8, 16, 8)
        row.setSpacing(16)
        self.hospital = label("hospital")
        self.hospital.setText(hospital_name)
        self.hospital.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.status = label("online", wrap=False)
        # Margins rather than style-sheet padding: QLabel's size hint
        # ignores padding set by a sheet after a re-polish.
        self.status.setContentsMargins(14, 6, 14, 6)
        self.status.hide()  # until the outbox reports
        self.large_text = button("")
        self.large_text.setObjectName("large-text")
        self.large_text.setCheckable(True)
        self.language = button("")
        self.language.setObjectName("language")
        row.addWidget(self.hospital, 1)
        row.addWidget(self.status, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.large_text)
        row.addWidget(self.language)
        self._online: bool | None = None
        self._pending = 0
        self.retranslate()

    def set_status(self, online: bool, pending: int) -> None:
        self._online, self._pending = online, pending
        role = "online" if online else "offline"
        if self.status.property("role") != role:
            self.status.setProperty("role", role)
            repolish(self.status)
        self._show_status()
        self.status.show()
        self.status.updateGeometry()

    def _show_status(self) -> None:
        if self._online is None:
            return
        if self._online and self._pending == 0:
            text = translate("TopBar", "● Đã kết nối")
        elif self._online:
            text = translate("TopBar", "● Đang gửi {count} phiếu").format(count=self._pending)
        elif self._pending:
            text = translate("TopBar", "Mất mạng · {count} phiếu chờ gửi").format(count=self._pending)
        else:
            text = translate("TopBar", "Mất mạng")
        self.status.setText(text)

    def retranslate(self) -> None:
        self.large_text.setText(
            translate("TopBar", "Chữ nhỏ lại") if self.large_text.isChecked() else translate("TopBar", "Chữ to hơn")
        )
        self._show_status()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class CountdownBar(QWidget):
    """ "Are you still there?": shown in the last seconds before the wipe."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "countdown")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(40, 12, 40, 12)
        row.setSpacing(24)
        self.message = label()
        self.still_here = button("primary")
        self.still_here.setObjectName("still-here")
        row.addWidget(self.message, 1)
        row.addWidget(self.still_here)
        self._seconds = 0
        self.retranslate()

    def set_seconds(self, seconds: int) -> None:
        self._seconds = seconds
        self._show()

    def _show(self) -> None:
        self.message.setText(
            translate("CountdownBar", "Bạn còn ở đây không? Màn hình sẽ về trang đầu sau {seconds} giây.").format(
                seconds=self._seconds
            )
        )

    def retranslate(self) -> None:
        self.still_here.setText(translate("CountdownBar", "Tôi vẫn ở đây"))
        self._show()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class NoticeBar(QWidget):
    """A short message when a touch could not be carried out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "notice")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        row = QHBoxLayout(self)
        row.setContentsMargins(40, 12, 40, 12)
        self.message = label()
        row.addWidget(self.message)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)

    def show_failure(self, seconds: float = 8.0) -> None:
        self.retranslate()
        self.show()
        self._timer.start(int(seconds * 1000))

    def retranslate(self) -> None:
        self.message.setText(
            translate("NoticeBar", "Chưa thực hiện được. Vui lòng thử lại, hoặc đến quầy tiếp đón nếu vẫn không được.")
        )

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class KioskWindow(QMainWindow):
    """The kiosk's only window.

    `desk` is what the screens call: in production a `DeskRunner` (the
    window then also listens to its signals), in tests any object with the
    `CheckInOperations` methods. `clock` is a monotonic clock in seconds,
    replaceable in tests.
    """

    def __init__(
        self,
        desk: CheckInOperations,
        options: KioskOptions | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
        technician: TechnicianConsole | None = None,
    ) -> None:
        super().__init__(parent)
        self.desk = desk
        self.options = options or KioskOptions()
        self._clock = clock
        self.language = LanguageSwitch.shared()
        self.large_text = self.options.large_text
        self.metrics = self._compute_metrics()
        self._state: FlowState | None = None
        self._exit_requested = False
        self._done_since = 0.0
        self._last_activity = clock()
        self._finish_sent = False

        self.setWindowTitle(self.options.hospital_name)
        central = QWidget()
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.top_bar = TopBar(self.options.hospital_name)
        self.top_bar.language.clicked.connect(self._toggle_language)
        self.top_bar.large_text.toggled.connect(self.set_large_text)
        root.addWidget(self.top_bar)

        self.stack = QStackedWidget()
        self.screens: dict[Step, Screen] = {}
        for step, cls in SCREENS.items():
            screen = cls(desk, self.language, self.metrics)
            self.screens[step] = screen
            self.stack.addWidget(screen)
        root.addWidget(self.stack, 1)

        self.notice = NoticeBar()
        self.notice.hide()
        root.addWidget(self.notice)
        self.countdown = CountdownBar()
        self.countdown.still_here.clicked.connect(self._still_here)
        self.countdown.hide()
        root.addWidget(self.countdown)
        # The on-screen keyboard, below everything: the page above shrinks
        # rather than being covered (None when off or unavailable).
        self.keyboard = attach_keyboard(self, self.language) if self.options.virtual_keyboard else None
        if self.keyboard is not None:
            root.addWidget(self.keyboard)
        self.setCentralWidget(central)

        self.setStyleSheet(stylesheet(self.metrics))
        self.set_language(self.options.language)
        self.top_bar.large_text.setChecked(self.large_text)

        self._activity = _ActivityFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._activity)

        self._ticker = QTimer(self)
        self._ticker.setInterval(self.options.tick_ms)
        self._ticker.timeout.connect(self.tick)
        self._ticker.start()

        if self.options.hide_cursor:
            self.setCursor(Qt.CursorShape.BlankCursor)
        if self.options.fullscreen:
            self.setWindowFlags(
                self.windowFlags() | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
            )
        else:
            self.resize(1280, 800)

        # The numeric keypad for the 12-digit ID, offered on the identify step.
        self.keypad = attach_keypad(self, desk)
        if isinstance(desk, DeskRunner):
            self.attach(desk)
        self.render(FlowState(Step.IDLE, Session()))
        # Technician mode: a hidden gesture on the top bar, then a PIN.
        self.technician = attach_technician(self, technician) if technician is not None else None

    # -- wiring ---------------------------------------------------------------------------

    def attach(self, runner: DeskRunner) -> None:
        """Listen to a runner: its states, the outbox status, the outcomes."""
        runner.state_changed.connect(self.render)
        runner.status_changed.connect(self.set_connection_status)
        runner.failed.connect(self.operation_failed)
        runner.completed.connect(self.operation_completed)

    def attach_camera(self, preview: CameraPreview | None, *, mirror: bool = True) -> None:
        """Give the screens that show the live camera its picture
        (`kiosk.ports.CameraPreview`, polled on the UI thread; never decodes)."""
        for screen in self.screens.values():
            attach = getattr(screen, "attach_camera", None)
            if attach is not None:
                attach(preview, mirror=mirror)

    def show_kiosk(self) -> None:
        """Show as configured: full screen in lockdown, a normal window otherwise."""
        if self.options.fullscreen:
            # Without a window manager (a bare X server, some kiosk sessions)
            # the full-screen request is only a hint nobody acts on: size the
            # window to the screen ourselves as well.
            screen = self.screen() or QGuiApplication.primaryScreen()
            if screen is not None:
                self.setGeometry(screen.geometry())
            self.showFullScreen()
        else:
            self.show()

    def request_exit(self) -> None:
        """The technician's way out (lockdown refuses every other close)."""
        self._exit_requested = True
        self.close()

    # -- state ------------------------------------------------------------------------------

    @property
    def state(self) -> FlowState | None:
        return self._state

    def current_screen(self) -> Screen:
        return self.stack.currentWidget()  # type: ignore[return-value]

    @Slot(object)
    def render(self, state: FlowState) -> None:
        previous = self._state
        self._state = state
        screen = self.screens[state.step]
        # The privacy rule: only the screen on display holds patient data.
        for other in self.screens.values():
            if other is not screen:
                other.clear()
        if state.step is Step.IDLE and previous is not None and previous.step is not Step.IDLE:
            # A new patient starts with the kiosk's own settings.
            self.set_language(self.options.language)
            self.top_bar.large_text.setChecked(self.options.large_text)
            self.notice.hide()
        if state.step is Step.DONE and (previous is None or previous.step is not Step.DONE):
            self._done_since = self._clock()
            self._finish_sent = False
        screen.render(state)
        self.stack.setCurrentWidget(screen)
        self.keypad.follow(state)
        self._update_countdown()

    @Slot(bool, int)
    def set_connection_status(self, online: bool, pending: int) -> None:
        self.top_bar.set_status(online, pending)

    @Slot(str)
    def operation_failed(self, operation: str) -> None:
        if operation == "reprint":
            self._done_screen().reprint_finished(False)
            return
        self.notice.show_failure()

    @Slot(str)
    def operation_completed(self, operation: str) -> None:
        if operation == "reprint":
            self._done_screen().reprint_finished(True)

    def _done_screen(self) -> DoneScreen:
        screen = self.screens[Step.DONE]
        assert isinstance(screen, DoneScreen)
        return screen

    # -- language and text size ------------------------------------------------------------

    def set_language(self, language: str) -> None:
        self.language.set_language(language)
        bar = self.top_bar.language
        if len(self.language.available()) < 2:
            bar.hide()
        # Each language is named in itself: a patient who cannot read the
        # current one still recognises their own.
        bar.setText("English" if self.language.language == VIETNAMESE else "Tiếng Việt")

    def _toggle_language(self) -> None:
        self.set_language(ENGLISH if self.language.language == VIETNAMESE else VIETNAMESE)

    @Slot(bool)
    def set_large_text(self, on: bool) -> None:
        if self.top_bar.large_text.isChecked() != on:
            self.top_bar.large_text.setChecked(on)  # comes back here through `toggled`
            return
        self.top_bar.retranslate()
        if on == self.large_text:
            return
        self.large_text = on
        self.metrics = self._compute_metrics()
        self.setStyleSheet(stylesheet(self.metrics))
        for screen in self.screens.values():
            screen.set_metrics(self.metrics)

    def _compute_metrics(self) -> Metrics:
        screen = self.screen()
        if self.options.screen_dpi > 0:
            # Measured on the panel: physical dots, in Qt's logical pixels.
            ratio = screen.devicePixelRatio() if screen is not None else 1.0
            dpi = self.options.screen_dpi / (ratio or 1.0)
        else:
            dpi = screen.logicalDotsPerInch() if screen is not None else 96.0
        return metrics_for(dpi, self.large_text)

    # -- time ------------------------------------------------------------------------------------

    def note_activity(self) -> None:
        """A press anywhere: the patient is still here."""
        self._last_activity = self._clock()
        try:
            self.desk.touch()
        except Exception as exc:  # never let bookkeeping break a touch
            log.error("touch failed: %s", type(exc).__name__)
        if self.countdown.isVisible():
            self._update_countdown()

    def _still_here(self) -> None:
        self.note_activity()
        self._update_countdown()

    @Slot()
    def tick(self) -> None:
        """Once a second: let the desk time out, and update the countdowns."""
        try:
            wiped = self.desk.tick()
        except Exception as exc:
            log.error("tick failed: %s", type(exc).__name__)
            wiped = False
        if wiped and self._state is not None:
            # The desk's IDLE state is on its way through the event queue;
            # do not leave the data on screen until it lands.
            self.render(FlowState(Step.IDLE, Session(), reference=self._state.reference))
        self._update_countdown()

    def _seconds_left(self) -> float | None:
        try:
            return self.desk.seconds_left()
        except Exception as exc:
            log.error("seconds_left failed: %s", type(exc).__name__)
            return None

    def _update_countdown(self) -> None:
        state = self._state
        done = self._done_screen()
        if state is None or state.step in (Step.IDLE, Step.PRINTING) or state.busy:
            self.countdown.hide()
            done.set_closing_in(None)
            return
        if state.step is Step.DONE:
            self.countdown.hide()
            payment = state.session.payment
            limit = self.options.done_close_seconds
            if payment is not None and not payment.paid:
                limit = max(limit, self.options.payment_close_seconds)
            own = limit - (self._clock() - max(self._done_since, self._last_activity))
            desk_left = self._seconds_left()
            left = own if desk_left is None else min(own, desk_left)
            done.set_closing_in(max(0, math.ceil(left)))
            if left <= 0 and not self._finish_sent:
                # The result stays only as long as needed: then the same
                # wipe as "Xong".
                self._finish_sent = True
                self.desk.finish()
            return
        done.set_closing_in(None)
        left = self._seconds_left()
        if left is not None and left <= self.options.countdown_seconds:
            self.countdown.set_seconds(max(0, math.ceil(left)))
            self.countdown.show()
        else:
            self.countdown.hide()

    # -- lockdown --------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        locked = self.options.block_shortcuts or self.options.fullscreen
        if locked and not self._exit_requested:
            log.info("close refused: kiosk lockdown")
            event.ignore()
            return
        self._ticker.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._activity)
        for screen in self.screens.values():
            screen.clear()
        super().closeEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        # In lockdown a minimised kiosk is a broken kiosk: come back.
        if (
            event.type() == QEvent.Type.WindowStateChange
            and self.options.fullscreen
            and not self._exit_requested
            and self.windowState() & Qt.WindowState.WindowMinimized
        ):
            QTimer.singleShot(0, self.showFullScreen)
        super().changeEvent(event)

