"""New visit, re-examination or referral: three big buttons, each explained.

The paper number (appointment or referral paper) is not typed here: an
on-screen keyboard is the hardest thing on a kiosk for an elderly patient,
and the paper itself is shown in the consulting room. The screen reminds
the patient to bring it.
"""

from __future__ import annotations

from kiosk.domain import VisitType
from kiosk.flow import FlowState, Step
from ui.i18n import translate
from ui.screens.base import Screen
from ui.screens.words import visit_type_words
from ui.widgets import TileButton, label


class VisitTypeScreen(Screen):
    step = Step.VISIT_TYPE

    def build(self) -> None:
        self.choices: dict[VisitType, TileButton] = {}
        for visit_type in VisitType:
            tile = TileButton()
            tile.setObjectName(f"visit-{visit_type.value}")
            tile.clicked.connect(lambda _=False, v=visit_type: self.desk.choose_visit_type(v, None))
            self.choices[visit_type] = tile
            self.body_layout.addWidget(tile)
        self.paper_hint = label("muted")
        self.body_layout.addWidget(self.paper_hint)
        self.body_layout.addStretch(1)

        self.back = self.action("", self.desk.back)
        self.footer.addWidget(self.back)
        self.footer.addStretch(1)
        self.metrics_changed()

    def metrics_changed(self) -> None:
        for tile in self.choices.values():
            tile.setMinimumHeight(int(1.2 * self.metrics.touch_px))

    def retranslate(self) -> None:
        self.title.setText(translate("VisitTypeScreen", "Bạn đến khám theo hình thức nào?"))
        for visit_type, tile in self.choices.items():
            tile.set_texts(*visit_type_words(visit_type))
        self.paper_hint.setText(
            translate(
                "VisitTypeScreen",
                "Tái khám hoặc chuyển tuyến: nhớ mang theo giấy hẹn hoặc giấy chuyển tuyến.",
            )
        )
        self.back.setText(translate("VisitTypeScreen", "Quay lại"))

    def show_state(self, state: FlowState) -> None:
        pass  # the choices do not depend on the patient
