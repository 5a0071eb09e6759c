"""The demo's card simulator: tap a sample citizen's card on the reader.

A small floating window for whoever runs the demo, not for patients, so it
must never hide what a patient needs. Collapsed (the default) it is one
small handle docked in the free middle of the kiosk's top bar, between the
hospital's name and the status/buttons on the right (measured on every
screen at 1280×800: that strip is empty on all of them). A click opens a
compact grid under the handle; any choice closes it again.

It knows nothing about drivers: it gets plain callables (the launcher
passes the simulator's tap, show-VNeID and lift), and it calls them on the
GUI thread, so they must be quick (putting a simulated card on a simulated
reader is; the card watcher thread does the reading).

Keys 1–4 tap citizens 1–4 and 0 lifts the card, from any window of the
application, so the demo can be driven without opening the panel — except
while a text field has the keyboard focus: there a digit is typed (a
technician entering an address or a PIN with a hardware keyboard).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import translate
from ui.theme import PALETTE

log = logging.getLogger(__name__)

Action = Callable[[], None]
FreeArea = Callable[[], QRect]
MAX_KEYED_CITIZENS = 4  # keys 1..4; more citizens get buttons only
_GAP_MARGIN = 12  # px kept clear on each side of the handle in the top bar
_DOCK_EVENTS = (QEvent.Type.Resize, QEvent.Type.Move, QEvent.Type.Show, QEvent.Type.Hide)


def typing_widget(widget: QWidget | None) -> bool:
    """True when `widget` takes typed text, so digits belong to it."""
    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QAbstractSpinBox):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return False


class _DigitKeys(QObject):
    """Application-wide digit keys, as an event filter rather than QShortcut:
    a shortcut steps aside only for a widget that claims the key through
    ShortcutOverride (QLineEdit does; a spin box or a custom field need not),
    while a filter decides from the focused widget itself, in one place."""

    def __init__(self, keys: dict[int, Action], run: Callable[[Action], None], parent: QObject) -> None:
        super().__init__(parent)
        self.keys = keys
        self._run = run

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.MouseButtonPress and isinstance(watched, QWidget):
            panel = self.parent()
            # A press anywhere outside the open panel closes it: the person
            # went back to the kiosk, so the grid gets out of its way.
            if isinstance(panel, SimulatorPanel) and panel.expanded and watched.window() is not panel:
                panel.collapse()
            return False
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        action = self.keys.get(event.key())
        # Plain digits and the numeric keypad's digits only: Ctrl+1 and the
        # like stay with whoever handles them.
        extra = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if action is None or extra != Qt.KeyboardModifier.NoModifier:
            return False
        if typing_widget(QApplication.focusWidget()):
            return False  # the digit is typed, not a card tapped
        if not event.isAutoRepeat():  # a held key taps once
            self._run(action)
        return True


class SimulatorPanel(QWidget):
    def __init__(
        self,
        citizens: Sequence[tuple[str, Action]],
        remove_card: Action,
        *,
        codes: Sequence[tuple[str, Action]] = (),
        parent: QWidget | None = None,
    ) -> None:
        """`citizens`: (name, put the card on the reader); `codes`: (name,
        show the citizen's VNeID code to the camera), in the same order."""
        super().__init__(
            parent,
            Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint,
        )
        self._citizens = list(citizens)
        self._codes = list(codes)
        self._remove_card = remove_card
        self._free_area: FreeArea | None = None
        # One placing per burst of top-bar events (a language change moves
        # every label at once); a child timer dies with the panel.
        self._place_timer = QTimer(self)
        self._place_timer.setSingleShot(True)
        self._place_timer.setInterval(0)
        self._place_timer.timeout.connect(self.place)
        self.setObjectName("simulator-panel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(
            f"""
            QWidget#simulator-panel {{ background: {PALETTE.surface}; border: 2px solid {PALETTE.border};
                                       border-radius: 10px; }}
            QWidget {{ font-family: "Noto Sans", "DejaVu Sans"; font-size: 13pt; color: {PALETTE.text}; }}
            QPushButton {{ padding: 4px 12px; min-height: 34px; border: 2px solid {PALETTE.border};
                           border-radius: 8px; background: {PALETTE.background}; color: {PALETTE.secondary_text};
                           text-align: left; }}
            QPushButton:pressed {{ background: {PALETTE.pressed_bg}; }}
            QPushButton#simulator-handle {{ text-align: center; font-weight: bold; font-size: 12pt;
                                            border-style: dashed; min-height: 30px; }}
            QLabel#simulator-heading {{ font-weight: bold; font-size: 11pt; }}
            QLabel#simulator-hint {{ font-size: 11pt; color: {PALETTE.text_muted}; }}
            """
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.handle = QPushButton()
        self.handle.setObjectName("simulator-handle")
        self.handle.setCheckable(True)
        self.handle.toggled.connect(self._set_expanded)
        layout.addWidget(self.handle)

        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(4, 2, 4, 4)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        body.addLayout(grid)
        self.card_heading = QLabel()
        self.card_heading.setObjectName("simulator-heading")
        self.code_heading = QLabel()
        self.code_heading.setObjectName("simulator-heading")
        grid.addWidget(self.card_heading, 0, 0)
        if self._codes:
            grid.addWidget(self.code_heading, 0, 1)
        else:
            self.code_heading.hide()
        self.place_buttons: list[QPushButton] = []
        for row, (name, action) in enumerate(self._citizens):
            key = f"{row + 1} · " if row < MAX_KEYED_CITIZENS else ""
            place = QPushButton(f"{key}{name}")
            place.setObjectName(f"simulator-card-{row + 1}")
            place.clicked.connect(lambda _=False, act=action: self._choose(act))
            grid.addWidget(place, row + 1, 0)
            self.place_buttons.append(place)
        self.code_buttons: list[QPushButton] = []
        for row, (name, action) in enumerate(self._codes):
            code = QPushButton()
            code.setObjectName(f"simulator-vneid-{row + 1}")
            code.setProperty("citizen", name)
            code.clicked.connect(lambda _=False, act=action: self._choose(act))
            grid.addWidget(code, row + 1, 1)
            self.code_buttons.append(code)
        self.remove_button = QPushButton()
        self.remove_button.setObjectName("simulator-lift")
        self.remove_button.clicked.connect(lambda: self._choose(self._remove_card))
        body.addWidget(self.remove_button)
        self.hint = QLabel()
        self.hint.setObjectName("simulator-hint")
        body.addWidget(self.hint)
        layout.addWidget(self.body)
        self.body.hide()

        keys = {Qt.Key.Key_1.value + i: action for i, (_n, action) in enumerate(self._citizens[:MAX_KEYED_CITIZENS])}
        keys[Qt.Key.Key_0.value] = self._remove_card
        self.keys = _DigitKeys(keys, self._run, self)
        app = QApplication.instance()
        if app is not None:
            # A child of the panel: Qt drops the filter when the panel goes.
            app.installEventFilter(self.keys)
        self.retranslate()

    # -- expanding and collapsing ----------------------------------------------------

    @property
    def expanded(self) -> bool:
        return self.handle.isChecked()

    def _set_expanded(self, on: bool) -> None:
        self.body.setVisible(on)
        if self.handle.isChecked() != on:
            self.handle.setChecked(on)  # comes back here through `toggled`
            return
        self._retranslate_handle()
        self.adjustSize()
        self.place()

    def collapse(self) -> None:
        self._set_expanded(False)

    def _choose(self, action: Action) -> None:
        self._run(action)
        self.collapse()  # out of the patient's way again

    @staticmethod
    def _run(action: Action) -> None:
        try:
            action()
        except Exception as exc:  # a demo hiccup must not take the kiosk down
            log.error("simulator action failed: %s", type(exc).__name__)

    # -- docking ------------------------------------------------------------------------

    def dock(self, free_area: FreeArea, *watch: QWidget) -> None:
        """Keep the handle inside `free_area()` (global coordinates), placed
        again whenever one of `watch` moves, resizes, shows or hides (the
        language, large text and the connection status change the top bar)."""
        self._free_area = free_area
        for widget in watch:
            widget.installEventFilter(self)
            # The kiosk window closes first at exit: nothing left to dock to.
            widget.destroyed.connect(self._undock)
        self.place()

    def _undock(self) -> None:
        self._free_area = None
        self._place_timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in _DOCK_EVENTS:
            self._place_timer.start()
        return False

    def place(self) -> None:
        if self._free_area is None:
            return
        area = self._free_area()
        self.adjustSize()
        size = self.size()
        x = max(area.left(), area.center().x() - size.width() // 2)
        # The handle stays where it was; when expanded the grid hangs under it.
        margins = self.layout().contentsMargins()
        collapsed_height = self.handle.sizeHint().height() + margins.top() + margins.bottom()
        y = area.center().y() - collapsed_height // 2
        screen = (self.screen() or QApplication.primaryScreen()).availableGeometry()
        x = min(max(x, screen.left()), screen.right() - size.width() + 1)
        y = min(max(y, screen.top()), screen.bottom() - size.height() + 1)
        self.move(x, y)

    # -- language --------------------------------------------------------------------------

    def _retranslate_handle(self) -> None:
        arrow = "▴" if self.handle.isChecked() else "▾"
        title = translate("SimulatorPanel", "Thẻ mẫu (demo)")
        self.handle.setText(f"{title} {arrow}")
        self.handle.setToolTip(translate("SimulatorPanel", "Mô phỏng thẻ CCCD (demo)"))

    def retranslate(self) -> None:
        self.setWindowTitle(translate("SimulatorPanel", "Mô phỏng thẻ CCCD (demo)"))
        self._retranslate_handle()
        self.card_heading.setText(translate("SimulatorPanel", "Đặt thẻ CCCD"))
        self.code_heading.setText(translate("SimulatorPanel", "Mã VNeID"))
        for button in self.code_buttons:
            button.setText(translate("SimulatorPanel", "VNeID"))
            button.setToolTip(str(button.property("citizen")))
        self.remove_button.setText("0 · " + translate("SimulatorPanel", "Nhấc thẻ"))
        self.hint.setText(translate("SimulatorPanel", "Phím 1–4: đặt thẻ mẫu 1–4. Phím 0: nhấc thẻ."))
        self.adjustSize()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
            self.place()
        super().changeEvent(event)


def top_bar_free_area(top_bar: QWidget) -> QRect:
    """The empty middle of the kiosk's top bar, in global coordinates: right
    of the hospital's name as drawn, left of the first visible widget on the
    right (the connection status, else the large-text button)."""
    hospital: QLabel = top_bar.hospital  # type: ignore[attr-defined]
    drawn = QFontMetrics(hospital.font()).horizontalAdvance(hospital.text())
    text_right = hospital.contentsRect().left() + min(drawn, hospital.contentsRect().width())
    left = hospital.mapToGlobal(QPoint(text_right, 0)).x() + _GAP_MARGIN
    right_widgets = [top_bar.status, top_bar.large_text, top_bar.language]  # type: ignore[attr-defined]
    first = next((w for w in right_widgets if w.isVisible()), None)
    right = (first.mapToGlobal(QPoint(0, 0)).x() if first else top_bar.mapToGlobal(QPoint(top_bar.width(), 0)).x())
    right -= _GAP_MARGIN
    top = top_bar.mapToGlobal(QPoint(0, 0)).y()
    return QRect(left, top, max(0, right - left), top_bar.height())
