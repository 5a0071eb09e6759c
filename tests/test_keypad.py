"""Typing the 12-digit ID: the desk operation (`id_typed`) over the real
wiring, and the keypad on the identify step."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication
from test_ui_samples import RecordingDesk, representative_states

from drivers.card.samples import sample_chip, sample_citizens
from kiosk.config import load_config
from kiosk.desk import TypedId
from kiosk.flow import FlowError, FlowState, Session, Step
from launcher.wiring import build_kiosk
from ui.i18n import ENGLISH, VIETNAMESE
from ui.screens.keypad import grouped
from ui.window import KioskOptions, KioskWindow

# -- the desk operation ---------------------------------------------------------------------


@pytest.fixture()
def kiosk(tmp_path: Path):
    config = load_config(
        None, {"KIOSK_KIOSK_DATA_DIR": str(tmp_path), "KIOSK_HUB_BACKEND": "simulated", "KIOSK_CAMERA_BACKEND": "none"}
    )
    k = build_kiosk(config, ticket_folder=tmp_path / "tickets")
    yield k
    k.stop()


def test_a_bad_id_gets_a_clear_error_and_nothing_is_kept(kiosk) -> None:
    kiosk.desk.begin()
    kiosk.desk.id_typed("001088012")  # too short
    state = kiosk.flow.state
    assert state.step is Step.ERROR and state.error.code == "typed_id_invalid"
    assert "12 chữ số" in state.error.guidance_vi and "12 digits" in state.error.guidance_en
    assert state.error.retry_step is Step.IDENTIFY
    kiosk.desk.retry()
    kiosk.desk.id_typed("001988012345")  # 4th digit 9: a birth after 2199
    assert kiosk.flow.state.error.code == "typed_id_invalid"
    assert kiosk.desk._pending_qr is None


def test_a_typed_id_waits_for_the_card_then_opens_the_chip_with_the_can(kiosk) -> None:
    citizen = sample_citizens()[0]
    kiosk.desk.begin()
    kiosk.desk.id_typed(citizen["id_number"])
    assert kiosk.flow.state.step is Step.IDENTIFY and kiosk.flow.state.prompt == "place_card_after_id"
    with pytest.raises(FlowError):
        kiosk.desk.use_qr_without_chip()  # a typed number alone identifies nobody
    kiosk.simulator.reader.place(sample_chip(citizen["slot"]))
    kiosk.desk.card_placed()
    state = kiosk.flow.state
    # PACE with the CAN is being added to the chip reader; until it is, the
    # chip refuses a CAN-only key and the patient is told so.
    if state.step is Step.ERROR:
        assert state.error.code == "access_key_rejected"
    else:
        assert state.step is Step.IDENTITY_CHECK
        assert state.session.identity.citizen.id_number == citizen["id_number"]


def test_an_id_is_not_taken_after_identification(kiosk) -> None:
    kiosk.desk.begin()
    kiosk.desk.cancel()
    kiosk.flow.start("place_card")
    kiosk.flow.fail  # noqa: B018 - the flow exists
    kiosk.desk.cancel()
    assert kiosk.flow.state.step is Step.IDLE
    # From IDLE a typed ID starts the session, as a scanned QR does.
    kiosk.desk.id_typed(sample_citizens()[0]["id_number"])
    assert kiosk.flow.state.step is Step.IDENTIFY


def test_typed_id_never_shows_in_a_repr() -> None:
    assert "001" not in repr(TypedId("001088012345"))


# -- the keypad ----------------------------------------------------------------------------------


@pytest.fixture()
def desk() -> RecordingDesk:
    return RecordingDesk()


@pytest.fixture()
def window(qtbot, desk: RecordingDesk) -> KioskWindow:
    # Windows of earlier tests still in reference cycles go now, not when the
    # cycle collector happens to run in the middle of an event they receive
    # (a language switch reaches every window).
    gc.collect()
    w = KioskWindow(desk, KioskOptions(tick_ms=3_600_000))
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.set_language(VIETNAMESE)


def identify() -> FlowState:
    return FlowState(Step.IDENTIFY, Session(), prompt="place_card")


def tap_digits(qtbot, window: KioskWindow, digits: str) -> None:
    for d in digits:
        qtbot.mouseClick(window.keypad.keypad.keys[d], Qt.MouseButton.LeftButton)


def test_keypad_is_offered_on_the_identify_step_only(qtbot, window: KioskWindow) -> None:
    entry = window.keypad
    window.render(FlowState(Step.IDLE, Session()))
    assert not entry.button.isVisibleTo(window)
    window.render(identify())
    assert entry.button.isVisibleTo(window)
    window.render(FlowState(Step.IDENTIFY, Session(), busy=True, progress="bac"))
    assert not entry.button.isVisibleTo(window)


def test_typing_a_valid_id_calls_the_desk_and_forgets_it(qtbot, window: KioskWindow, desk: RecordingDesk) -> None:
    window.render(identify())
    qtbot.mouseClick(window.keypad.button, Qt.MouseButton.LeftButton)
    keypad = window.keypad.keypad
    assert keypad.isVisible() and not keypad.done.isEnabled()
    number = sample_citizens()[0]["id_number"]
    tap_digits(qtbot, window, number + "9")  # a 13th digit is ignored
    assert keypad.digits == number and keypad.done.isEnabled()
    assert keypad.display.text() == grouped(number)
    qtbot.mouseClick(keypad.done, Qt.MouseButton.LeftButton)
    assert ("id_typed", number) in desk.calls
    assert not keypad.isVisible() and keypad.digits == "" and number[:6] not in keypad.display.text()


def test_an_impossible_id_is_caught_on_the_keypad(qtbot, window: KioskWindow, desk: RecordingDesk) -> None:
    window.render(identify())
    window.keypad.keypad.open_keypad()
    tap_digits(qtbot, window, "001988012345")
    qtbot.mouseClick(window.keypad.keypad.done, Qt.MouseButton.LeftButton)
    assert "chưa đúng" in window.keypad.keypad.message.text()
    assert "id_typed" not in desk.names()
    qtbot.mouseClick(window.keypad.keypad.erase, Qt.MouseButton.LeftButton)
    assert window.keypad.keypad.digits == "00198801234"


def test_the_idle_wipe_closes_the_keypad_and_drops_the_digits(qtbot, window: KioskWindow) -> None:
    window.render(identify())
    window.keypad.keypad.open_keypad()
    tap_digits(qtbot, window, "0010880")
    window.render(FlowState(Step.IDLE, Session()))
    assert not window.keypad.keypad.isVisible() and window.keypad.keypad.digits == ""


@pytest.mark.parametrize("language", [VIETNAMESE, ENGLISH])
def test_keypad_screenshot_and_targets(qtbot, window: KioskWindow, language: str, artifacts_dir: Path) -> None:
    window.render(representative_states()["identify"])
    window.set_language(language)
    for _ in range(3):
        QApplication.processEvents()
    folder = artifacts_dir / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(folder / f"identify-with-keypad-button-{language}.png"))
    window.keypad.keypad.open_keypad()
    tap_digits(qtbot, window, "0010880")
    QApplication.processEvents()
    assert window.grab().save(str(folder / f"keypad-{language}.png"))
    side = window.metrics.touch_px
    for b in window.keypad.keypad.findChildren(QAbstractButton):
        assert b.width() >= side and b.height() >= side, f"{b.objectName()} is {b.width()}x{b.height()}"
    if language == ENGLISH:
        assert window.keypad.keypad.title.text() == "Type your ID number"
