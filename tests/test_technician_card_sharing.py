"""The technician's test read shares the card with the patients' reads.

Over the real wiring (`launcher.wiring.build_kiosk`, simulated reader and
chip, the desk's card watcher started): the test read is one more job on the
card watcher's thread, never beside a patient's read; it waits its turn for
a bounded time, then says the reader is busy; a turn given up never touches
the card later. The chip's own hook before each APDU (`SimulatedCccdChip.sleep`)
records who sent it and holds a patient's read half-way; the waits are
bounded upper limits on other threads, never timings.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import Qt

from drivers.card.chip_sim import SimulatedCccdChip
from drivers.card.samples import sample_chip, sample_citizen
from kiosk.clock import ManualClock
from kiosk.config import load_config
from kiosk.flow import Step
from kiosk.technician import READER_BUSY, TEST_READ_TIMEOUT, KioskTechnician
from launcher.technician import Argon2PinHasher, build_technician
from launcher.wiring import Kiosk, build_kiosk, cccd_qr_text

WAIT = 10.0  # upper bound for another thread to act
FAST = Argon2PinHasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
PIN = "482915"
HOLD_AT = 6  # the patient's read is held before this APDU: inside PACE, secure messaging being set up


class ApduProbe:
    """Before each APDU the chip sees: which thread sent it, at which step
    of the patient's flow; APDU number `hold_at` waits for `release`."""

    def __init__(self, chip: SimulatedCccdChip, kiosk: Kiosk, hold_at: int | None = None) -> None:
        self._kiosk = kiosk
        self._hold_at = hold_at
        self.sent: list[tuple[int, Step]] = []
        self.held = threading.Event()
        self.release = threading.Event()
        # Any latency makes the chip call its sleep hook before each APDU;
        # the hook never sleeps.
        chip.faults.latency_seconds = 1e-9
        chip.sleep = self._before_apdu

    def _before_apdu(self, _seconds: float) -> None:
        self.sent.append((threading.get_ident(), self._kiosk.flow.state.step))
        if len(self.sent) == self._hold_at:
            self.held.set()
            assert self.release.wait(WAIT), "the test never released the read"


@pytest.fixture
def built(tmp_path: Path) -> Iterator[Kiosk]:
    from drivers.printer.raster import ensure_qt_gui_application

    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_CAMERA_BACKEND": "none",  # the QR is handed to the desk by the test
        },
    )
    k = build_kiosk(config)
    yield k
    k.stop()


@pytest.fixture
def kiosk(built: Kiosk) -> Kiosk:
    built.start()
    return built


@pytest.fixture
def console(built: Kiosk) -> Iterator[KioskTechnician]:
    c = build_technician(built, clock=ManualClock(), hasher=FAST)
    yield c
    c.watch_cards(False)


def watcher_thread(kiosk: Kiosk) -> int:
    """The ident of the desk's card watcher thread (asked through a job)."""
    seen: queue.Queue[int] = queue.Queue()
    assert kiosk.card_watcher.run_on_card_thread(lambda: seen.put(threading.get_ident()))
    return seen.get(timeout=WAIT)


def until_step(kiosk: Kiosk) -> Callable[[Step], None]:
    seen: queue.Queue[Any] = queue.Queue()
    kiosk.flow.subscribe(seen.put)

    def wait(step: Step) -> None:
        while True:
            state = seen.get(timeout=WAIT)
            if state.step is step and not state.busy:
                return

    return wait


def start_patient_read(kiosk: Kiosk, slot: int = 1) -> tuple[SimulatedCccdChip, ApduProbe]:
    """A patient shows the card's QR, then lays the card down: the desk
    reads the chip on the watcher's thread, held at APDU `HOLD_AT`."""
    kiosk.desk.begin()
    kiosk.desk.qr_scanned(cccd_qr_text(sample_citizen(slot)))
    assert kiosk.flow.state.prompt == "place_card_after_qr"
    chip = sample_chip(slot)
    probe = ApduProbe(chip, kiosk, hold_at=HOLD_AT)
    kiosk.card_reader.place(chip)
    assert probe.held.wait(WAIT), "the patient's read never started"
    return chip, probe


def personal_data(slot: int) -> list[str]:
    citizen = sample_citizen(slot)
    out = [citizen["id_number"], citizen["id_number"][-6:], citizen["full_name"], citizen["date_of_birth"]]
    out += [citizen["date_of_birth"].replace("-", "")]
    if citizen.get("old_id_number"):
        out.append(citizen["old_id_number"])
    return out


def assert_no_personal_data(slot: int, *texts: str) -> None:
    for text in texts:
        for secret in personal_data(slot):
            assert secret not in text


# -- where it runs ---------------------------------------------------------------------------


def test_the_test_read_runs_on_the_card_watchers_thread(
    kiosk: Kiosk, console: KioskTechnician, caplog: pytest.LogCaptureFixture
) -> None:
    owner = watcher_thread(kiosk)
    chip = sample_chip(1)
    probe = ApduProbe(chip, kiosk)
    kiosk.card_reader.place(chip)
    with caplog.at_level(logging.INFO):
        result = console.test_read()
    assert result.ok and result.code == "ok" and result.detail == "9000"
    assert [thread for thread, _ in probe.sent] == [owner]  # one SELECT, from the watcher's thread
    assert threading.get_ident() != owner
    reports = [r for r in caplog.records if r.getMessage().startswith("test read:")]
    assert [r.thread for r in reports] == [owner] and reports[0].threadName == "card-watcher"


def test_a_test_read_with_no_card_says_so(kiosk: Kiosk, console: KioskTechnician, caplog: pytest.LogCaptureFixture) -> None:
    owner = watcher_thread(kiosk)
    with caplog.at_level(logging.INFO):
        result = console.test_read()
    assert not result.ok and result.code == "no_card"
    assert [r.thread for r in caplog.records if r.getMessage().startswith("test read:")] == [owner]
    assert [e["result"] for e in console.gate.audit.entries() if e["event"] == "test_read"] == ["no_card"]


def test_without_a_watcher_the_test_read_runs_on_the_callers_thread(built: Kiosk, console: KioskTechnician) -> None:
    chip = sample_chip(2)
    probe = ApduProbe(chip, built)
    built.card_reader.place(chip)
    assert console.test_read().ok
    assert [thread for thread, _ in probe.sent] == [threading.get_ident()]


# -- beside a patient's read -------------------------------------------------------------------


def test_a_test_read_during_a_patients_read_waits_its_turn_and_never_interleaves(
    kiosk: Kiosk, console: KioskTechnician, caplog: pytest.LogCaptureFixture
) -> None:
    owner = watcher_thread(kiosk)
    until = until_step(kiosk)
    caplog.set_level(logging.DEBUG)
    queued = threading.Event()
    share = console.devices.share_card
    assert share is not None

    def share_and_tell(job: Callable[[bool], None]) -> None:
        share(job)
        queued.set()

    console.devices.share_card = share_and_tell
    chip, probe = start_patient_read(kiosk)
    try:
        answers: queue.Queue[Any] = queue.Queue()
        technician = threading.Thread(target=lambda: answers.put(console.test_read()), name="technician-op")
        technician.start()
        assert queued.wait(WAIT)  # the test read is asked for while the patient's read is held
        assert len(probe.sent) == HOLD_AT  # ... and has not sent anything
    finally:
        probe.release.set()
    until(Step.IDENTITY_CHECK)
    result = answers.get(timeout=WAIT)
    technician.join(WAIT)
    assert result.ok and result.code == "ok"
    # The patient's secure messaging was not broken: the chip identified them.
    assert kiosk.flow.state.session.identity.citizen.id_number == sample_citizen(1)["id_number"]
    # Every APDU from the watcher's thread; the patient's read whole, then
    # the test read's single SELECT after it.
    assert {thread for thread, _ in probe.sent} == {owner}
    steps = [step for _, step in probe.sent]
    assert steps[-1] is Step.IDENTITY_CHECK and set(steps[:-1]) == {Step.IDENTIFY}
    assert chip.apdu_count == len(probe.sent)
    assert_no_personal_data(1, repr(result), caplog.text, console.gate.audit.path.read_text(encoding="utf-8"))


def test_a_test_read_that_does_not_get_the_card_in_time_says_busy_and_never_touches_it(
    kiosk: Kiosk, console: KioskTechnician
) -> None:
    until = until_step(kiosk)
    console.test_read_timeout = 0.05  # the patient's read is held until released: far longer
    chip, probe = start_patient_read(kiosk)
    try:
        result = console.test_read()
    finally:
        probe.release.set()
    assert not result.ok and result.code == READER_BUSY
    until(Step.IDENTITY_CHECK)
    after_patient = chip.apdu_count
    # Everything queued before this marker has run (the given-up test read too).
    done = threading.Event()
    assert kiosk.card_watcher.run_on_card_thread(done.set)
    assert done.wait(WAIT)
    assert chip.apdu_count == after_patient, "a test read given up must not talk to the card later"
    assert all(step is Step.IDENTIFY for _, step in probe.sent)
    assert kiosk.flow.state.session.identity.citizen.id_number == sample_citizen(1)["id_number"]
    assert [e["result"] for e in console.gate.audit.entries() if e["event"] == "test_read"] == [READER_BUSY]
    # The reader is free again: the next test read goes through.
    console.test_read_timeout = TEST_READ_TIMEOUT
    assert console.test_read().ok


def test_without_a_watcher_a_read_on_another_thread_makes_the_test_read_busy_at_once(
    built: Kiosk, console: KioskTechnician
) -> None:
    # No watcher: the desk reads where it is called (here a "scanner"
    # thread), holding the chip lock; the test read must not join in.
    desk = built.desk
    desk.begin()
    desk.qr_scanned(cccd_qr_text(sample_citizen(3)))
    chip = sample_chip(3)
    probe = ApduProbe(chip, built, hold_at=HOLD_AT)
    built.card_reader.place(chip)
    reader_thread = threading.Thread(target=desk.card_placed, name="scanner")
    reader_thread.start()
    try:
        assert probe.held.wait(WAIT)
        result = console.test_read()  # the default timeout: the answer does not wait for it
        assert result.code == READER_BUSY
    finally:
        probe.release.set()
    reader_thread.join(WAIT)
    assert not reader_thread.is_alive()
    assert built.flow.state.step is Step.IDENTITY_CHECK
    assert threading.get_ident() not in {thread for thread, _ in probe.sent}
    assert chip.apdu_count == len(probe.sent)


# -- the readers page ------------------------------------------------------------------------


@pytest.fixture
def window(qtbot, console: KioskTechnician, kiosk: Kiosk):  # noqa: ANN001, ANN201
    from test_ui_samples import RecordingDesk

    from ui.i18n import VIETNAMESE
    from ui.window import KioskOptions, KioskWindow

    gc.collect()
    console.gate.set_pin(PIN, via="test")
    w = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000), technician=console)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.technician.close_mode()
    w.set_language(VIETNAMESE)


def enter_readers_page(qtbot, window) -> Any:  # noqa: ANN001
    from test_ui_technician import enter

    enter(qtbot, window)
    window.technician.view.show_page("readers")
    return window.technician.view.pages["readers"]


def test_readers_page_says_no_card(qtbot, window, kiosk: Kiosk) -> None:  # noqa: ANN001
    page = enter_readers_page(qtbot, window)
    qtbot.mouseClick(page.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Không có thẻ trên đầu đọc" in page.outcome.text())
    assert page.test.isEnabled()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_readers_page_says_busy_without_blocking_and_shows_no_personal_data(
    qtbot, window, kiosk: Kiosk, console: KioskTechnician, language: str, artifacts_dir: Path
) -> None:  # noqa: ANN001
    from ui.i18n import ENGLISH, VIETNAMESE

    page = enter_readers_page(qtbot, window)
    window.set_language(ENGLISH if language == "en" else VIETNAMESE)
    console.test_read_timeout = 0.05
    until = until_step(kiosk)
    _chip, probe = start_patient_read(kiosk, slot=2)
    try:
        qtbot.mouseClick(page.test, Qt.MouseButton.LeftButton)
        assert not page.test.isEnabled()  # one test read at a time; the UI thread went on
        busy = "The reader is busy" if language == "en" else "Đầu đọc đang bận"
        qtbot.waitUntil(lambda: busy in page.outcome.text())
        assert page.test.isEnabled()
        placed = "card placed" if language == "en" else "thẻ đặt vào"
        qtbot.waitUntil(lambda: placed in page.events.text())  # the page's own events still flow
        folder = artifacts_dir / "screens"
        folder.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(folder / f"technician-readers-busy-{language}.png"))
    finally:
        probe.release.set()
    assert_no_personal_data(2, page.outcome.text(), page.events.text(), page.readers.text())
    until(Step.IDENTITY_CHECK)  # the patient's read is over: the card is free
    console.test_read_timeout = TEST_READ_TIMEOUT
    qtbot.mouseClick(page.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ICAO 9303" in page.outcome.text())
