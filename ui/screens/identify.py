"""Identification: tell the patient what to do with the card, then wait.

Three prompts come from the desk: the plain "place your card", "show the QR"
(the chip is on the reader but the kiosk needs the QR's key to open it), and
"now the card" (the QR was read; the chip will confirm it). While the chip
is read the patient must keep the card still, so that is what we say, with
the step in plain words so a long read does not look like a hang.

Beside the picture, when the kiosk has a camera, the live camera view
(`ui.camera_preview`) shows what the camera sees, with a green box on a code
it found, so a patient can aim a card or a phone.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout

from kiosk.flow import FlowState, Step
from kiosk.ports import CameraPreview
from ui.camera_preview import CameraPreviewWidget
from ui.i18n import translate
from ui.screens.base import Screen
from ui.screens.words import progress_text
from ui.widgets import BusyIndicator, icon_pixmap, label

PLACE_CARD = "place_card"
SHOW_QR = "show_qr"
PLACE_CARD_AFTER_QR = "place_card_after_qr"


class IdentifyScreen(Screen):
    step = Step.IDENTIFY

    def build(self) -> None:
        self.picture = label(align=Qt.AlignmentFlag.AlignCenter)
        self.busy = BusyIndicator()
        self.instruction = label("strong", align=Qt.AlignmentFlag.AlignCenter)
        self.progress = label("lead", align=Qt.AlignmentFlag.AlignCenter)
        self.hint = label("muted", align=Qt.AlignmentFlag.AlignCenter)

        self.camera = CameraPreviewWidget()
        self.camera_caption = label("muted", align=Qt.AlignmentFlag.AlignCenter)
        self.camera_caption.hide()
        camera_column = QVBoxLayout()
        camera_column.setSpacing(4)
        camera_column.addWidget(self.camera, 0, Qt.AlignmentFlag.AlignHCenter)
        camera_column.addWidget(self.camera_caption)

        self.body_layout.addStretch(1)
        picture_row = QHBoxLayout()
        picture_row.setSpacing(2 * self.metrics.spacing_px)
        picture_row.addStretch(1)
        picture_row.addWidget(self.picture)
        picture_row.addLayout(camera_column)
        picture_row.addStretch(1)
        self.body_layout.addLayout(picture_row)
        busy_row = QHBoxLayout()
        busy_row.addStretch(1)
        busy_row.addWidget(self.busy)
        busy_row.addStretch(1)
        self.body_layout.addLayout(busy_row)
        self.body_layout.addWidget(self.progress)
        self.body_layout.addWidget(self.instruction)
        self.body_layout.addWidget(self.hint)
        self.body_layout.addStretch(1)

        self.back = self.action("", self.desk.back)
        self.without_chip = self.action("primary", self.desk.use_qr_without_chip)
        self.footer.addWidget(self.back)
        self.footer.addStretch(1)
        self.footer.addWidget(self.without_chip)
        self._picture_name = ""
        self.busy.set_diameter(int(1.4 * self.metrics.touch_px))
        self._size_camera()

    def attach_camera(self, preview: CameraPreview | None, *, mirror: bool = True) -> None:
        """Show this camera's live picture (None: the kiosk has no camera)."""
        self.camera.set_mirror(mirror)
        self.camera.set_source(preview)
        if self.state is not None:
            self.show_state(self.state)

    def _size_camera(self) -> None:
        # 16:9 like the camera; as tall as the card picture beside it is wide.
        width = 5 * self.metrics.touch_px
        self.camera.set_preview_size(QSize(width, width * 9 // 16))

    def metrics_changed(self) -> None:
        self.busy.set_diameter(int(1.4 * self.metrics.touch_px))
        self._picture_name = ""  # redraw at the new size
        self._size_camera()

    def retranslate(self) -> None:
        self.back.setText(translate("IdentifyScreen", "Quay lại"))
        self.without_chip.setText(translate("IdentifyScreen", "Tiếp tục không dùng chip"))
        self.camera_caption.setText(translate("IdentifyScreen", "Hình ảnh từ camera"))

    def _set_picture(self, name: str) -> None:
        if name == self._picture_name:
            return
        self._picture_name = name
        if not name:
            self.picture.clear()
            self.picture.hide()
            return
        t = self.metrics.touch_px
        self.picture.setPixmap(icon_pixmap(name, QSize(4 * t, 2 * t), self.devicePixelRatioF()))
        self.picture.show()

    def show_state(self, state: FlowState) -> None:
        busy = state.busy
        self.busy.setVisible(busy)
        self.progress.setVisible(busy)
        # The flow refuses "back" while a device is working; do not offer it.
        self.back.setVisible(not busy)
        self.without_chip.setVisible(not busy and state.prompt == PLACE_CARD_AFTER_QR)

        # The live picture while the patient is aiming; not while a chip is
        # read or a code is being checked (nothing to aim then).
        live = self.camera.has_source and not busy
        self.camera.setVisible(live)
        self.camera_caption.setVisible(live)

        if busy and state.progress == "vneid":
            self._set_picture("")
            self.title.setText(translate("IdentifyScreen", "Đang xác thực mã VNeID, vui lòng chờ"))
            self.instruction.setText(translate("IdentifyScreen", "Máy đang hỏi hệ thống định danh điện tử."))
            self.progress.setText(progress_text(state.progress))
            self.hint.setText(translate("IdentifyScreen", "Việc này thường mất vài giây."))
            return

        if busy:
            self._set_picture("")
            self.title.setText(translate("IdentifyScreen", "Đang đọc thẻ, vui lòng chờ"))
            self.instruction.setText(translate("IdentifyScreen", "Giữ yên thẻ trên đầu đọc. Đừng nhấc thẻ ra."))
            self.progress.setText(progress_text(state.progress))
            self.hint.setText(translate("IdentifyScreen", "Việc đọc thẻ có thể mất khoảng 10 giây."))
            return

        if state.prompt == SHOW_QR:
            self._set_picture("qr-camera")
            self.title.setText(translate("IdentifyScreen", "Đưa mã QR trên thẻ vào camera"))
            self.instruction.setText(
                translate(
                    "IdentifyScreen",
                    "Máy đã nhận thẻ. Để mở chip, hãy để mặt trước của thẻ (có mã QR) hướng vào camera.",
                )
            )
            self.hint.setText(translate("IdentifyScreen", "Giữ thẻ yên khoảng 1 giây."))
        elif state.prompt == PLACE_CARD_AFTER_QR:
            self._set_picture("card-on-reader")
            self.title.setText(translate("IdentifyScreen", "Đã đọc mã QR. Bây giờ hãy đặt thẻ lên đầu đọc"))
            self.instruction.setText(
                translate("IdentifyScreen", "Đặt thẻ CCCD nằm yên trên đầu đọc để máy đọc chip.")
            )
            self.hint.setText(
                translate(
                    "IdentifyScreen",
                    "Nếu thẻ không có chip hoặc không đọc được, chạm “Tiếp tục không dùng chip”.",
                )
            )
        else:
            self._set_picture("card-on-reader")
            self.title.setText(translate("IdentifyScreen", "Đặt thẻ CCCD lên đầu đọc"))
            self.instruction.setText(
                translate(
                    "IdentifyScreen",
                    "Đặt thẻ nằm yên trên đầu đọc, mặt có mã QR hướng lên trên. Máy sẽ tự đọc thẻ.",
                )
            )
            self.hint.setText(
                translate("IdentifyScreen", "Bạn cũng có thể đưa mã QR của thẻ bảo hiểm y tế vào camera.")
            )

    def wipe(self) -> None:
        self.progress.clear()
        self.camera.clear()  # the last frame may show a card or a face
