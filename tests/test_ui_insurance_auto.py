"""A covered insurance answer goes on by itself after a readable pause; any
other answer waits for the patient's touch."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest
from PySide6.QtWidgets import QApplication
from test_ui_samples import RecordingDesk, representative_states

from kiosk.domain import InsuranceStatus
from kiosk.flow import FlowState, Session, Step
from ui.i18n import ENGLISH, VIETNAMESE
from ui.window import KioskOptions, KioskWindow


@pytest.fixture
def desk() -> RecordingDesk:
    return RecordingDesk()


@pytest.fixture
def window(qtbot, desk: RecordingDesk) -> KioskWindow:
    # Windows of earlier tests still in reference cycles go now, not when the
    # cycle collector happens to run in the middle of an event they receive
    # (a language switch reaches every window).
    gc.collect()
    w = KioskWindow(desk, KioskOptions(tick_ms=3_600_000))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    yield w
    w.set_language(VIETNAMESE)


def with_status(status: InsuranceStatus) -> FlowState:
    state = representative_states()["insurance"]
    session = replace(state.session, insurance=replace(state.session.insurance, status=status))
    return replace(state, session=session)


def test_valid_goes_on_by_itself_after_the_countdown(window: KioskWindow, desk: RecordingDesk) -> None:
    screen = window.screens[Step.INSURANCE]
    window.render(with_status(InsuranceStatus.VALID))
    assert screen.next.text() == "Tiếp tục (5)"
    window.set_language(ENGLISH)
    QApplication.processEvents()  # LanguageChange is a posted event
    assert screen.next.text() == "Continue (5)"
    for _ in range(4):
        screen._auto.timeout.emit()
    assert "continue_from_insurance" not in desk.names() and screen.next.text() == "Continue (1)"
    screen._auto.timeout.emit()
    assert desk.names().count("continue_from_insurance") == 1
    assert not screen._auto.isActive()


def test_a_new_card_note_gets_more_time(window: KioskWindow) -> None:
    window.render(with_status(InsuranceStatus.VALID_NEW_CARD))
    assert window.screens[Step.INSURANCE].next.text() == "Tiếp tục (8)"


@pytest.mark.parametrize(
    "status",
    [InsuranceStatus.EXPIRED, InsuranceStatus.NOT_FOUND, InsuranceStatus.DATA_MISMATCH, InsuranceStatus.SEE_DESK, InsuranceStatus.UNAVAILABLE],
)
def test_other_answers_wait_for_a_touch(window: KioskWindow, status: InsuranceStatus) -> None:
    window.render(with_status(status))
    screen = window.screens[Step.INSURANCE]
    assert not screen._auto.isActive() and screen.next.text() == "Tiếp tục"


def test_leaving_the_step_stops_the_countdown(window: KioskWindow, desk: RecordingDesk) -> None:
    window.render(with_status(InsuranceStatus.VALID))
    screen = window.screens[Step.INSURANCE]
    assert screen._auto.isActive()
    window.render(FlowState(Step.IDLE, Session()))  # back, cancel or the idle wipe
    assert not screen._auto.isActive()
    window.render(representative_states()["insurance-busy"])
    assert not screen._auto.isActive()
