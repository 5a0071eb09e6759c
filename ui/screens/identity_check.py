""""Is this you?": the patient confirms the identity the card gave.

Shows what a person recognises at a glance (photo, name, birth date, sex,
the last digits of the ID) and, in words, how far the kiosk trusts it. A
patient who picked up someone else's card presses "Không phải tôi", which
wipes everything at once.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout

from kiosk.flow import FlowState, Step
from ui.i18n import translate
from ui.screens.base import Screen
from ui.screens.words import identity_words, sex_words
from ui.widgets import TonePanel, image_from_bytes, label


def masked_id(id_number: str) -> str:
    """Only the last four digits: enough to tell two cards apart, not enough
    for a passer-by to copy."""
    digits = id_number.strip()
    if len(digits) <= 4:
        return digits
    return "•" * (len(digits) - 4) + digits[-4:]


class IdentityCheckScreen(Screen):
    step = Step.IDENTITY_CHECK

    def build(self) -> None:
        row = QHBoxLayout()
        row.setSpacing(40)
        self.photo = self.data_label("photo", wrap=True, align=Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignTop)

        details = QVBoxLayout()
        details.setSpacing(12)
        self.name = self.data_label("name")
        details.addWidget(self.name)
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(10)
        self.dob_caption = label("field")
        self.dob = self.data_label()
        self.sex_caption = label("field")
        self.sex = self.data_label()
        self.id_caption = label("field")
        self.id_number = self.data_label()
        for r, (caption, value) in enumerate(
            ((self.dob_caption, self.dob), (self.sex_caption, self.sex), (self.id_caption, self.id_number))
        ):
            grid.addWidget(caption, r, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, r, 1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        details.addLayout(grid)

        self.badge = TonePanel()
        self.badge_text = self.data_label("badge")
        self.badge.layout_.addWidget(self.badge_text)
        details.addWidget(self.badge)
        details.addStretch(1)
        row.addLayout(details, 1)
        self.body_layout.addLayout(row)
        self.body_layout.addStretch(1)

        self.not_me = self.action("", self.desk.cancel)
        self.yes = self.action("primary", self.desk.confirm_identity)
        self.footer.addWidget(self.not_me)
        self.footer.addStretch(1)
        self.footer.addWidget(self.yes)
        self.metrics_changed()

    def metrics_changed(self) -> None:
        w, h = self.metrics.photo_size
        self.photo.setFixedSize(w, h)

    def retranslate(self) -> None:
        self.title.setText(translate("IdentityCheckScreen", "Đây có phải là bạn không?"))
        self.dob_caption.setText(translate("IdentityCheckScreen", "Ngày sinh:"))
        self.sex_caption.setText(translate("IdentityCheckScreen", "Giới tính:"))
        self.id_caption.setText(translate("IdentityCheckScreen", "Số CCCD:"))
        self.not_me.setText(translate("IdentityCheckScreen", "Không phải tôi"))
        self.yes.setText(translate("IdentityCheckScreen", "Đúng, tiếp tục"))

    def show_state(self, state: FlowState) -> None:
        identity = state.session.identity
        if identity is None:
            self.clear()
            return
        citizen = identity.citizen
        self.name.setText(citizen.full_name)
        self.dob.setText(self.format_date(citizen.date_of_birth))
        self.sex.setText(sex_words(citizen.sex, self.language))
        self.id_number.setText(masked_id(citizen.id_number))

        w, h = self.metrics.photo_size
        pixmap = image_from_bytes(citizen.photo, QSize(w - 8, h - 8))
        if pixmap is not None:
            self.photo.setPixmap(pixmap)
        else:
            # No DG2 (QR-only identity) or a format Qt cannot show.
            self.photo.setText(translate("IdentityCheckScreen", "Không có ảnh"))

        tone, words = identity_words(identity)
        self.badge.set_tone(tone)
        self.badge_text.setText(words)
