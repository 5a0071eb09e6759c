"""Something went wrong: say what to do, big, and offer the ways out.

The guidance comes with the error (`ErrorInfo.guidance_vi/en`), written for
the patient, so this screen adds no technical detail of its own.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt

from kiosk.flow import FlowState, Step
from ui.i18n import translate
from ui.screens.base import Screen
from ui.widgets import TonePanel, icon_pixmap, label


class ErrorScreen(Screen):
    step = Step.ERROR

    def build(self) -> None:
        self.picture = label(align=Qt.AlignmentFlag.AlignCenter)
        self.panel = TonePanel()
        self.panel.set_tone("warning")
        self.guidance = self.data_label("lead")
        self.panel.layout_.addWidget(self.guidance)
        self.help = label("muted")
        self.body_layout.addStretch(1)
        self.body_layout.addWidget(self.picture)
        self.body_layout.addWidget(self.panel)
        self.body_layout.addWidget(self.help)
        self.body_layout.addStretch(1)

        self.home = self.action("", self.desk.cancel)
        self.again = self.action("primary", self.desk.retry)
        self.again.setObjectName("retry")
        self.footer.addWidget(self.home)
        self.footer.addStretch(1)
        self.footer.addWidget(self.again)
        self.metrics_changed()

    def metrics_changed(self) -> None:
        t = self.metrics.touch_px
        self.picture.setPixmap(icon_pixmap("attention", QSize(t, t), self.devicePixelRatioF()))

    def retranslate(self) -> None:
        self.title.setText(translate("ErrorScreen", "Chưa thực hiện được"))
        self.help.setText(translate("ErrorScreen", "Nếu cần giúp đỡ, vui lòng đến quầy tiếp đón."))
        self.home.setText(translate("ErrorScreen", "Về màn hình chính"))
        self.again.setText(translate("ErrorScreen", "Thử lại"))

    def show_state(self, state: FlowState) -> None:
        error = state.error
        if error is None:
            self.guidance.setText(translate("ErrorScreen", "Đã có lỗi. Vui lòng chạm “Về màn hình chính” và làm lại từ đầu."))
            self.again.hide()
            return
        self.guidance.setText(self.tr_data(error.guidance_vi, error.guidance_en))
        self.again.setVisible(error.retry_step is not None)
