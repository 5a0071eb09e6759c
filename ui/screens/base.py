"""What every screen has: a title, a scrolling body, a footer of actions.

A screen shows one `FlowState` (`render`) and forgets it (`clear`). It asks
for changes only through `CheckInOperations`; it never changes the state
itself, so what the patient sees is always what the flow says.

Privacy: every widget that shows patient data is made with `data_label`
(or is rebuilt in `show_state`), so `clear` can wipe all of it. The window
clears every screen that is not on display, so personal data lives in at
most one screen at a time, and in none once the flow is back at IDLE.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QScroller,
    QVBoxLayout,
    QWidget,
)

from kiosk.flow import FlowState, Step
from ui.i18n import LanguageSwitch, translate
from ui.operations import CheckInOperations
from ui.theme import Metrics
from ui.widgets import FitLabel, button, label


class Screen(QWidget):
    step: ClassVar[Step]

    def __init__(self, desk: CheckInOperations, language: LanguageSwitch, metrics: Metrics, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.language = language
        self.metrics = metrics
        self.state: FlowState | None = None
        self._data_labels: list[QLabel | FitLabel] = []
        self.setProperty("role", "screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)

        root = QVBoxLayout(self)
        root.setContentsMargins(40, 16, 40, 16)
        root.setSpacing(12)
        self.title = label("title")
        root.addWidget(self.title)

        # The body scrolls when large text makes it taller than the screen;
        # the footer with the main actions stays put.
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # A finger drag scrolls (touch screens send touch events, not wheel).
        QScroller.grabGesture(self.scroll.viewport(), QScroller.ScrollerGestureType.TouchGesture)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(16)
        self.scroll.setWidget(self.body)
        root.addWidget(self.scroll, 1)

        # When the body does scroll (a long department list, large text), say
        # so in words: a scroll bar alone is easy to miss. The note floats
        # over the bottom of the body rather than taking a row of its own,
        # or showing it could itself make the body scroll.
        self.more_below = label("moreBelow", align=Qt.AlignmentFlag.AlignCenter)
        self.more_below.setParent(self.scroll)
        self.more_below.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.more_below.hide()
        # The viewport narrows when the scroll bar appears: follow it.
        self.scroll.viewport().installEventFilter(self)
        bar = self.scroll.verticalScrollBar()
        bar.rangeChanged.connect(lambda *_: self._update_more_below())
        bar.valueChanged.connect(lambda *_: self._update_more_below())

        self.footer = QHBoxLayout()
        self.footer.setSpacing(24)
        root.addLayout(self.footer)

        self.build()
        self._retranslate_all()

    # -- for subclasses ----------------------------------------------------------------

    def build(self) -> None:
        """Create the widgets."""

    def retranslate(self) -> None:
        """Set every fixed text; called at start and on each language change."""

    def show_state(self, state: FlowState) -> None:
        """Fill the widgets from `state`."""

    def wipe(self) -> None:
        """Drop anything `clear` does not reach by itself (rebuilt widgets)."""

    def data_label(self, role: str = "", *, wrap: bool = True, align: Qt.AlignmentFlag | None = None) -> QLabel:
        """A label that may show patient data: `clear` empties it."""
        lab = label(role, wrap=wrap, align=align)
        self._data_labels.append(lab)
        return lab

    def data_widget(self, widget):  # noqa: ANN001, ANN201 - anything with clear()
        """Register another widget that shows patient data (it must have `clear`)."""
        self._data_labels.append(widget)
        return widget

    def action(self, role: str, slot) -> QPushButton:  # noqa: ANN001 - any callable
        b = button(role)
        b.clicked.connect(slot)
        return b

    def tr_data(self, vietnamese: str, english: str) -> str:
        return self.language.pick(vietnamese, english)

    @staticmethod
    def format_date(value: date | None) -> str:
        # dd/mm/yyyy: how dates are written in Vietnam, also on the card.
        return value.strftime("%d/%m/%Y") if value else "—"

    # -- for the window ------------------------------------------------------------------

    def render(self, state: FlowState) -> None:
        self.state = state
        self.show_state(state)

    def clear(self) -> None:
        self.state = None
        for lab in self._data_labels:
            lab.clear()  # text and pixmap
        self.wipe()

    def set_metrics(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.metrics_changed()
        if self.state is not None:
            self.show_state(self.state)

    def metrics_changed(self) -> None:
        """Sizes that the style sheet cannot set (pictures) follow here."""

    def _update_more_below(self) -> None:
        bar = self.scroll.verticalScrollBar()
        visible = bar.maximum() > 0 and bar.value() < bar.maximum()
        if visible:
            viewport = self.scroll.viewport()
            width = viewport.width()
            # A word-wrapped label's size hint assumes some default width;
            # ask for the height at the width it will really have.
            height = self.more_below.heightForWidth(width)
            if height <= 0:
                height = self.more_below.sizeHint().height()
            self.more_below.setGeometry(0, viewport.height() - height, width, height)
            self.more_below.raise_()
        self.more_below.setVisible(visible)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self.scroll.viewport() and event.type() == QEvent.Type.Resize:
            self._update_more_below()
        return super().eventFilter(obj, event)

    def _retranslate_all(self) -> None:
        self.more_below.setText(translate("Screen", "Còn nữa ở bên dưới: kéo màn hình lên để xem thêm."))
        self.retranslate()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate_all()
            if self.state is not None:
                self.show_state(self.state)
        super().changeEvent(event)
