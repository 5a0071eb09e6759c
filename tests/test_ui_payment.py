"""The VietQR panel on the result screen: shown, readable, "paid", gone for the next patient.

Driven with `FlowState` snapshots (tests/test_ui_samples.py) and a
`RecordingDesk`, as the other screen tests are.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication
from test_ui_samples import RecordingDesk, representative_states

from kiosk.flow import FlowState, Session, Step
from ui.i18n import ENGLISH, VIETNAMESE
from ui.window import KioskOptions, KioskWindow


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def desk() -> RecordingDesk:
    return RecordingDesk()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def window(qtbot, desk: RecordingDesk, clock: FakeClock) -> KioskWindow:
    w = KioskWindow(desk, KioskOptions(hospital_name="BỆNH VIỆN", tick_ms=3_600_000), clock=clock)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def show(window: KioskWindow, name: str, language: str = VIETNAMESE) -> None:
    window.render(representative_states()[name])
    window.set_language(language)
    for _ in range(3):
        QApplication.processEvents()


def test_vietqr_replaces_the_preview_and_shows_the_code(window: KioskWindow) -> None:
    show(window, "done-vietqr")
    screen = window.current_screen()
    panel = screen.payment
    assert panel.isVisibleTo(window) and not screen.preview.isVisibleTo(window)
    assert panel.code.pixmap() is not None and not panel.code.pixmap().isNull()
    # Big enough for a phone at arm's length: at least 2.5 touch targets a side.
    assert panel.code.pixmap().width() >= int(2.5 * window.metrics.touch_px)
    assert "150.000 đ" in panel.title.text()
    assert "quầy thu ngân" in panel.cash.text()
    assert not screen.amount.isVisibleTo(window), "the panel says the amount once"


def test_paid_turns_the_panel_green_and_drops_the_code(window: KioskWindow) -> None:
    show(window, "done-vietqr-paid", ENGLISH)
    panel = window.current_screen().payment
    assert panel.property("tone") == "success"
    assert not panel.code.isVisibleTo(window)
    assert "received" in panel.title.text()


def test_no_panel_without_a_fee(window: KioskWindow) -> None:
    show(window, "done")
    assert not window.current_screen().payment.isVisibleTo(window)


def test_next_patient_never_sees_the_code(window: KioskWindow) -> None:
    show(window, "done-vietqr")
    panel = window.current_screen().payment
    window.render(FlowState(Step.IDLE, Session()))
    assert panel.code.pixmap() is None or panel.code.pixmap().isNull()
    assert panel.title.text() == "" and not panel.isVisibleTo(window)


def test_unpaid_vietqr_keeps_the_result_longer(window: KioskWindow, desk: RecordingDesk, clock: FakeClock) -> None:
    show(window, "done-vietqr")
    window.tick()
    clock.now += 30  # past the usual 20 s
    window.tick()
    assert "finish" not in desk.names()
    clock.now += 31
    window.tick()
    assert desk.names().count("finish") == 1


def test_paid_vietqr_closes_at_the_usual_time(window: KioskWindow, desk: RecordingDesk, clock: FakeClock) -> None:
    show(window, "done-vietqr-paid")
    window.tick()
    clock.now += 21
    window.tick()
    assert desk.names().count("finish") == 1
