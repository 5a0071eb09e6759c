"""The health-insurance (BHYT) answer, in colour and in words.

Colour alone never carries the meaning (some patients do not see red and
green apart): the headline says it, and the gateway's own message follows.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout

from kiosk.domain import InsuranceStatus
from kiosk.flow import FlowState, Step
from ui.i18n import translate
from ui.screens.base import Screen
from ui.screens.words import insurance_words, progress_text
from ui.widgets import BusyIndicator, TonePanel, label


class InsuranceScreen(Screen):
    step = Step.INSURANCE

    # A covered answer needs no decision: after this many seconds the screen
    # goes on by itself (one touch fewer on every insured visit). Long
    # enough to read the green headline; "a new card was issued" gets
    # NEW_CARD_EXTRA_SECONDS more for its note. The patient can still press
    # "Tiếp tục" at once, or "Quay lại". Every other answer waits for a
    # touch: it says something the patient must act on. None: always wait.
    auto_continue_seconds: int | None = 5
    NEW_CARD_EXTRA_SECONDS = 3

    def build(self) -> None:
        self.busy = BusyIndicator()
        busy_row = QHBoxLayout()
        busy_row.addStretch(1)
        busy_row.addWidget(self.busy)
        busy_row.addStretch(1)
        self.progress = label("lead", align=Qt.AlignmentFlag.AlignCenter)
        self.wait_hint = label("muted", align=Qt.AlignmentFlag.AlignCenter)

        self.panel = TonePanel()
        self.headline = self.data_label("badge")
        self.message = self.data_label()
        self.panel.layout_.addWidget(self.headline)
        self.panel.layout_.addWidget(self.message)

        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(10)
        self.code_caption = label("field")
        self.code = self.data_label()
        self.valid_caption = label("field")
        self.valid_to = self.data_label()
        grid.addWidget(self.code_caption, 0, 0)
        grid.addWidget(self.code, 0, 1)
        grid.addWidget(self.valid_caption, 1, 0)
        grid.addWidget(self.valid_to, 1, 1)
        grid.setColumnStretch(1, 1)

        self.body_layout.addStretch(1)
        self.body_layout.addLayout(busy_row)
        self.body_layout.addWidget(self.progress)
        self.body_layout.addWidget(self.wait_hint)
        self.body_layout.addWidget(self.panel)
        self.body_layout.addLayout(grid)
        # Said in words, not only as the number on the button.
        self.auto_note = label("lead")
        self.auto_note.setObjectName("auto-continue-note")
        self.auto_note.hide()
        self.body_layout.addWidget(self.auto_note)
        self.body_layout.addStretch(1)
        self._details = (self.code_caption, self.code, self.valid_caption, self.valid_to)

        self.back = self.action("", self.desk.back)
        self.next = self.action("primary", self.desk.continue_from_insurance)
        self.footer.addWidget(self.back)
        self.footer.addStretch(1)
        self.footer.addWidget(self.next)
        self._auto = QTimer(self)
        self._auto.setInterval(1000)
        self._auto.timeout.connect(self._auto_tick)
        self._auto_left = 0
        self.metrics_changed()

    # -- going on by itself after a VALID answer ---------------------------------------

    def _start_auto(self, extra: int = 0) -> None:
        if self.auto_continue_seconds is None:
            return
        if not self._auto.isActive():
            self._auto_left = self.auto_continue_seconds + extra
            self._auto.start()
        self._show_next_text()

    def stop_auto(self) -> None:
        self._auto.stop()
        self._auto_left = 0
        self._show_next_text()

    def _auto_tick(self) -> None:
        self._auto_left -= 1
        if self._auto_left <= 0:
            self.stop_auto()
            self.desk.continue_from_insurance()
            return
        self._show_next_text()

    def _show_next_text(self) -> None:
        text = translate("InsuranceScreen", "Tiếp tục")
        active = self._auto.isActive()
        if active:
            text = translate("InsuranceScreen", "Tiếp tục ({seconds})").format(seconds=self._auto_left)
            self.auto_note.setText(
                translate("InsuranceScreen", "Máy sẽ tự chuyển sang bước tiếp theo sau {seconds} giây.").format(
                    seconds=self._auto_left
                )
            )
        self.auto_note.setVisible(active)
        self.next.setText(text)

    def wipe(self) -> None:
        self.stop_auto()

    def metrics_changed(self) -> None:
        self.busy.set_diameter(int(1.4 * self.metrics.touch_px))

    def retranslate(self) -> None:
        self.wait_hint.setText(translate("InsuranceScreen", "Việc này có thể mất vài giây."))
        self.code_caption.setText(translate("InsuranceScreen", "Mã thẻ:"))
        self.valid_caption.setText(translate("InsuranceScreen", "Hạn thẻ đến:"))
        self.back.setText(translate("InsuranceScreen", "Quay lại"))
        self._show_next_text()

    def show_state(self, state: FlowState) -> None:
        check = state.session.insurance
        waiting = state.busy or check is None
        for w in (self.busy, self.progress, self.wait_hint):
            w.setVisible(waiting)
        self.panel.setVisible(not waiting)
        self.back.setVisible(not state.busy)
        self.next.setVisible(not waiting)
        if waiting or not check.status.covered:
            self.stop_auto()
        else:
            new_card = check.status is InsuranceStatus.VALID_NEW_CARD
            self._start_auto(self.NEW_CARD_EXTRA_SECONDS if new_card else 0)
        if waiting:
            self.title.setText(translate("InsuranceScreen", "Đang kiểm tra bảo hiểm y tế"))
            self.progress.setText(progress_text(state.progress or "insurance"))
            for w in self._details:
                w.setVisible(False)
            return

        assert check is not None
        self.title.setText(translate("InsuranceScreen", "Kết quả kiểm tra bảo hiểm y tế"))
        tone, headline = insurance_words(check.status)
        self.panel.set_tone(tone)
        self.headline.setText(headline)
        message = self.tr_data(check.message_vi, check.message_en)
        self.message.setText(message)
        self.message.setVisible(bool(message))
        self.code.setText(check.card_code or "")
        self.valid_to.setText(self.format_date(check.valid_to) if check.valid_to else "")
        for caption, value in ((self.code_caption, self.code), (self.valid_caption, self.valid_to)):
            caption.setVisible(bool(value.text()))
            value.setVisible(bool(value.text()))
