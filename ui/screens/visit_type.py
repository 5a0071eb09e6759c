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
        # The hub knows this patient's appointment or referral: offer it
        # first, as one touch that fills in the visit, paper and department.
        self.paper = TileButton(role="primary")
        self.paper.setObjectName("visit-paper")
        self.paper.clicked.connect(lambda _=False: self.desk.use_visit_paper())
        self.paper.hide()
        self.body_layout.addWidget(self.paper)
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
        self.paper.setMinimumHeight(int(1.2 * self.metrics.touch_px))
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
        self._paper_texts()

    def show_state(self, state: FlowState) -> None:
        self._paper = state.session.visit_paper
        self._reference = state.reference
        self._paper_texts()

    def wipe(self) -> None:
        self._paper = None
        self.paper.set_texts("", "")
        self.paper.hide()

    def _paper_texts(self) -> None:
        paper = getattr(self, "_paper", None)
        if paper is None:
            self.paper.hide()
            return
        if paper.visit_type is VisitType.RE_EXAM:
            title = translate("VisitTypeScreen", "Tôi có lịch hẹn tái khám")
        else:
            title = translate("VisitTypeScreen", "Tôi có giấy chuyển tuyến")
        detail = ""
        reference = getattr(self, "_reference", None)
        if paper.department_code and reference is not None:
            try:
                dept = reference.department(paper.department_code)
                detail = self.tr_data(dept.name_vi, dept.name_en)
            except KeyError:
                detail = ""
        if paper.appointment_date is not None:
            day = paper.appointment_date.strftime("%d/%m/%Y")
            detail = f"{detail} – {day}" if detail else day
        self.paper.set_texts(title, detail)
        self.paper.show()
