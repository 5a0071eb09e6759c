"""Registering and printing: progress, and the number as soon as it exists.

Once the desk has issued the ticket the number is shown here already, with
the preview of the paper: if the printer then hangs, the patient has seen
their number. No buttons: the flow cannot go back from here, and a print
must not be abandoned halfway.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from kiosk.flow import FlowState, Step
from ui.i18n import translate
from ui.screens.base import Screen
from ui.screens.words import progress_text
from ui.widgets import BusyIndicator, FitLabel, image_from_bytes, label


class PrintingScreen(Screen):
    step = Step.PRINTING

    def build(self) -> None:
        row = QHBoxLayout()
        row.setSpacing(40)
        left = QVBoxLayout()
        left.setSpacing(16)
        self.busy = BusyIndicator()
        left.addStretch(1)
        left.addWidget(self.busy, 0, Qt.AlignmentFlag.AlignHCenter)
        self.progress = label("lead", align=Qt.AlignmentFlag.AlignCenter)
        left.addWidget(self.progress)
        self.number_caption = label("lead", align=Qt.AlignmentFlag.AlignCenter)
        left.addWidget(self.number_caption)
        self.number = self.data_widget(FitLabel(self.metrics.number_pt, Qt.AlignmentFlag.AlignHCenter))
        left.addWidget(self.number)
        left.addStretch(1)
        row.addLayout(left, 1)
        self.preview = self.data_label("preview", align=Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignVCenter)
        self.body_layout.addLayout(row, 1)
        self.metrics_changed()

    def metrics_changed(self) -> None:
        self.busy.set_diameter(int(1.4 * self.metrics.touch_px))
        self.number.set_point_size(self.metrics.number_pt)

    def retranslate(self) -> None:
        self.number_caption.setText(translate("PrintingScreen", "Số thứ tự của bạn"))

    def show_state(self, state: FlowState) -> None:
        ticket = state.session.ticket
        self.title.setText(translate("PrintingScreen", "Vui lòng chờ trong giây lát"))
        self.progress.setText(progress_text(state.progress or "register"))
        self.number_caption.setVisible(ticket is not None)
        self.number.setText(ticket.display_number if ticket else "")
        self.number.setVisible(ticket is not None)
        t = self.metrics.touch_px
        pixmap = image_from_bytes(state.session.ticket_preview_png, QSize(4 * t, 6 * t))
        if pixmap is not None:
            self.preview.setPixmap(pixmap)
            self.preview.show()
        else:
            self.preview.clear()
            self.preview.hide()
