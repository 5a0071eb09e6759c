"""The welcome screen: what to do, in one sentence, and one big button.

Most patients never touch it: placing the card or showing its QR starts the
check-in by itself. "Bắt đầu" is for those who want to be told how.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout

from kiosk.flow import FlowState, Step
from ui.i18n import translate
from ui.screens.base import Screen
from ui.widgets import icon_pixmap, label


class IdleScreen(Screen):
    step = Step.IDLE

    def build(self) -> None:
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture = label(align=Qt.AlignmentFlag.AlignCenter)
        self.instruction = label("lead", align=Qt.AlignmentFlag.AlignCenter)
        self.start = self.action("primary", self.desk.begin)
        self.start.setObjectName("start")

        self.body_layout.addStretch(1)
        self.body_layout.addWidget(self.picture)
        self.body_layout.addWidget(self.instruction)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.start)
        row.addStretch(1)
        self.body_layout.addLayout(row)
        self.body_layout.addStretch(1)
        self.metrics_changed()

    def metrics_changed(self) -> None:
        t = self.metrics.touch_px
        self.picture.setPixmap(icon_pixmap("card-and-qr", QSize(4 * t, 2 * t), self.devicePixelRatioF()))
        # The start button is the one thing to press here: make it huge.
        self.start.setMinimumSize(4 * t, int(1.4 * t))

    def retranslate(self) -> None:
        self.title.setText(translate("IdleScreen", "Xin chào! Mời bạn đăng ký khám bệnh"))
        self.instruction.setText(translate("IdleScreen", "Đặt thẻ CCCD lên đầu đọc hoặc đưa mã QR vào camera"))
        self.start.setText(translate("IdleScreen", "Bắt đầu"))

    def show_state(self, state: FlowState) -> None:
        pass  # nothing about a patient is ever shown here
