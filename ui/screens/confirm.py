"""Check everything once before the kiosk registers the visit.

The name is shown masked, as on the ticket: by now the patient has already
confirmed it, and the screen faces a waiting room.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout

from kiosk.flow import FlowState, Step
from kiosk.ticket import format_vnd
from ui.i18n import translate
from ui.screens.base import Screen
from ui.screens.words import insurance_words, room_and_floor, visit_type_words
from ui.widgets import label


class ConfirmScreen(Screen):
    step = Step.CONFIRM

    def build(self) -> None:
        self.panel = QFrame()
        self.panel.setProperty("role", "panel")
        panel_layout = QVBoxLayout(self.panel)
        panel_layout.setContentsMargins(32, 24, 32, 24)
        grid = QGridLayout()
        grid.setHorizontalSpacing(32)
        grid.setVerticalSpacing(14)
        self.captions: list[QLabel] = []
        self.values: list[QLabel] = []
        for r in range(7):
            caption = label("field")
            value = self.data_label()
            grid.addWidget(caption, r, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, r, 1, Qt.AlignmentFlag.AlignTop)
            self.captions.append(caption)
            self.values.append(value)
        grid.setColumnStretch(1, 1)
        panel_layout.addLayout(grid)
        self.body_layout.addWidget(self.panel)
        self.fee_note = self.data_label("muted")
        self.body_layout.addWidget(self.fee_note)
        self.body_layout.addStretch(1)

        self.back = self.action("", self.desk.back)
        self.go = self.action("primary", self.desk.confirm)
        self.go.setObjectName("confirm")
        self.footer.addWidget(self.back)
        self.footer.addStretch(1)
        self.footer.addWidget(self.go)

    def retranslate(self) -> None:
        self.title.setText(translate("ConfirmScreen", "Kiểm tra lại thông tin đăng ký"))
        captions = (
            translate("ConfirmScreen", "Họ tên:"),
            translate("ConfirmScreen", "Hình thức:"),
            translate("ConfirmScreen", "Khoa:"),
            translate("ConfirmScreen", "Nơi khám:"),
            translate("ConfirmScreen", "Dịch vụ:"),
            translate("ConfirmScreen", "Bảo hiểm:"),
            translate("ConfirmScreen", "Phí khám:"),
        )
        for caption, text in zip(self.captions, captions, strict=True):
            caption.setText(text)
        self.back.setText(translate("ConfirmScreen", "Quay lại"))
        self.go.setText(translate("ConfirmScreen", "Xác nhận và in phiếu"))

    def show_state(self, state: FlowState) -> None:
        s = state.session
        identity, dept, service = s.identity, s.department, s.service
        name = identity.citizen.masked_name if identity else ""
        visit = visit_type_words(s.visit_type)[0] if s.visit_type else ""
        dept_name = self.tr_data(dept.name_vi, dept.name_en) if dept else ""
        where = ""
        if dept:
            room, floor = room_and_floor(dept)
            where = translate("ConfirmScreen", "Phòng {room}, tầng {floor}").format(room=room, floor=floor)
        service_name = self.tr_data(service.name_vi, service.name_en) if service else ""
        covered = s.insurance is not None and s.insurance.status.covered
        insurance = insurance_words(s.insurance.status)[1] if s.insurance else ""
        if service is None:
            fee = ""
        elif covered:
            fee = translate("ConfirmScreen", "{amount} (giá BHYT)").format(amount=format_vnd(service.insured_price))
        else:
            fee = format_vnd(service.price)
        for value, text in zip(
            self.values, (name, visit, dept_name, where, service_name, insurance, fee), strict=True
        ):
            value.setText(text)
        self.fee_note.setText(
            translate("ConfirmScreen", "Số tiền phải trả sẽ được quầy thu ngân xác nhận.") if service else ""
        )
