"""kiosk.desk.CardWatcher: taps by reader events, polling as the fall-back.

Through the real SimulatedCardReader (its observers follow pyscard's
CardMonitor rule) and, at the end, through the real wiring: a CheckInDesk
whose chip is read on the watcher's thread, including a card lifted mid-read.
The waits are bounded upper limits on other threads, never timings.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.card.chip_sim import ChipFaults
from drivers.card.samples import sample_chip, sample_citizen
from drivers.card.simulated import SimulatedCardReader
from kiosk.desk import CardWatcher
from kiosk.errors import CardError
from kiosk.ports import CardPresenceEvents
from kiosk.qr import parse_qr

WAIT = 10.0  # upper bound for another thread to act


class Recorder:
    """The desk's two calls, with the thread each ran on."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[str, str]] = queue.Queue()
        self.hold_placed: threading.Event | None = None  # set: a "read" that waits
        self.placed_started = threading.Event()

    def placed(self) -> None:
        self.calls.put(("placed", threading.current_thread().name))
        self.placed_started.set()
        if self.hold_placed is not None:
            assert self.hold_placed.wait(WAIT), "the test never released the read"

    def removed(self) -> None:
        self.calls.put(("removed", threading.current_thread().name))

    def next(self) -> tuple[str, str]:
        return self.calls.get(timeout=WAIT)

    def kinds(self, count: int) -> list[str]:
        return [self.next()[0] for _ in range(count)]


class CountingReader(SimulatedCardReader):
    """The simulated slot, counting presence polls (a probe, not a fake)."""

    def __init__(self) -> None:
        super().__init__()
        self.polls = 0

    def card_present(self) -> bool:
        self.polls += 1
        return super().card_present()


class PollOnlyReader:
    """A reader that offers no events (e.g. a backend without a monitor)."""

    def __init__(self, slot: SimulatedCardReader) -> None:
        self._slot = slot
        self.name = slot.name

    def card_present(self) -> bool:
        return self._slot.card_present()

    def connect(self):  # noqa: ANN201 - the slot's transport
        return self._slot.connect()

    def disconnect(self) -> None:
        self._slot.disconnect()


class ObserversRefused(SimulatedCardReader):
    """A reader whose event source is down when the watcher subscribes."""

    def add_observer(self, callback: Callable[[bool], None]) -> None:
        raise CardError("PC/SC monitor could not start")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _watch(reader, recorder: Recorder, interval: float = 0.25) -> Iterator[CardWatcher]:  # noqa: ANN001
    watcher = CardWatcher(reader, recorder.placed, recorder.removed, interval=interval)
    watcher.start()
    try:
        yield watcher
    finally:
        if recorder.hold_placed is not None:
            recorder.hold_placed.set()
        watcher.stop()


def test_both_readers_offer_events() -> None:
    from drivers.card.pcsc import PcscCardReader

    assert isinstance(SimulatedCardReader(), CardPresenceEvents)
    assert isinstance(PcscCardReader("x"), CardPresenceEvents)  # no pcscd needed to ask
    assert not isinstance(PollOnlyReader(SimulatedCardReader()), CardPresenceEvents)


def test_events_reader_is_never_polled(recorder: Recorder) -> None:
    reader = CountingReader()
    for watcher in _watch(reader, recorder, interval=0.001):
        reader.place(sample_chip(1))
        assert recorder.next()[0] == "placed"
        assert watcher.mode == "events"
        reader.remove()
        assert recorder.next()[0] == "removed"
        assert reader.polls == 0  # idle, the watcher's thread does not wake at all


def test_a_card_already_there_at_start_is_reported_once(recorder: Recorder) -> None:
    reader = SimulatedCardReader()
    reader.place(sample_chip(1))
    for _watcher in _watch(reader, recorder):
        assert recorder.next()[0] == "placed"
        reader.remove()
        assert recorder.next()[0] == "removed"
    assert recorder.calls.empty()


def test_taps_during_a_read_arrive_in_order_after_it_on_one_thread(recorder: Recorder) -> None:
    reader = SimulatedCardReader()
    recorder.hold_placed = threading.Event()
    for _watcher in _watch(reader, recorder):
        reader.place(sample_chip(1))
        assert recorder.placed_started.wait(WAIT)
        # The "read" is still running on the watcher's thread; these return
        # at once, on this thread, having only queued the change.
        reader.remove()
        reader.place(sample_chip(2))
        reader.remove()
        reader.place(sample_chip(3))
        recorder.hold_placed.set()
        calls = [recorder.next() for _ in range(5)]
    assert [kind for kind, _ in calls] == ["placed", "removed", "placed", "removed", "placed"]
    threads = {name for _, name in calls}
    assert threads == {"card-watcher"}  # one owner thread, never the caller's
    assert recorder.calls.empty()


def test_repeated_presence_is_not_news(recorder: Recorder) -> None:
    reader = SimulatedCardReader()
    for watcher in _watch(reader, recorder):
        reader.place(sample_chip(1))
        assert recorder.next()[0] == "placed"
        reader.place(sample_chip(2))  # a swap without a gap: the slot says "present" again
        reader.remove()
        assert recorder.next()[0] == "removed"
        assert watcher.mode == "events"
    assert recorder.calls.empty()


def test_reader_without_events_is_polled(recorder: Recorder) -> None:
    slot = SimulatedCardReader()
    for watcher in _watch(PollOnlyReader(slot), recorder, interval=0.001):
        slot.place(sample_chip(1))
        assert recorder.next() == ("placed", "card-watcher")
        assert watcher.mode == "polling"
        slot.remove()
        assert recorder.next()[0] == "removed"


def test_events_refused_falls_back_to_polling(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    reader = ObserversRefused()
    with caplog.at_level(logging.WARNING, logger="kiosk.desk"):
        for watcher in _watch(reader, recorder, interval=0.001):
            reader.place(sample_chip(1))
            assert recorder.next()[0] == "placed"
            assert watcher.mode == "polling"
            reader.remove()
            assert recorder.next()[0] == "removed"
    assert any("polling instead" in r.getMessage() and "card_error" in r.getMessage() for r in caplog.records)


def test_a_failing_desk_call_does_not_stop_the_watcher(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    reader = SimulatedCardReader()
    calls: queue.Queue[str] = queue.Queue()

    def placed() -> None:
        calls.put("placed")
        raise RuntimeError("desk broke")

    def removed() -> None:
        calls.put("removed")
        raise RuntimeError("desk broke again")

    watcher = CardWatcher(reader, placed, removed)
    watcher.start()
    try:
        with caplog.at_level(logging.ERROR, logger="kiosk.desk"):
            for _ in range(2):
                reader.place(sample_chip(1))
                assert calls.get(timeout=WAIT) == "placed"
                reader.remove()
                assert calls.get(timeout=WAIT) == "removed"
    finally:
        watcher.stop()
    assert [r.getMessage() for r in caplog.records].count("card tap handling failed") == 2
    assert [r.getMessage() for r in caplog.records].count("card removal handling failed") == 2


def test_stop_unsubscribes_and_a_restart_sees_the_card(recorder: Recorder) -> None:
    reader = SimulatedCardReader()
    watcher = CardWatcher(reader, recorder.placed, recorder.removed)
    watcher.start()
    reader.place(sample_chip(1))
    assert recorder.next()[0] == "placed"
    watcher.stop()
    assert watcher.mode == "stopped"
    assert reader._observers == []  # nothing left behind on the reader
    reader.remove()
    reader.place(sample_chip(2))  # while stopped: nobody is told
    assert recorder.calls.empty()
    watcher.start()
    try:
        assert recorder.next()[0] == "placed"  # the card on the reader at restart
    finally:
        watcher.stop()
    assert reader._observers == []


@pytest.mark.parametrize("events", [True, False], ids=["events", "polling"])
def test_queued_jobs_run_on_the_watcher_thread_after_the_taps_before_them(recorder: Recorder, events: bool) -> None:
    slot = SimulatedCardReader()
    reader = slot if events else PollOnlyReader(slot)
    watcher = CardWatcher(reader, recorder.placed, recorder.removed, interval=0.001)
    assert not watcher.run_on_card_thread(lambda: None)  # not running: the caller does it itself
    watcher.start()
    try:
        slot.place(sample_chip(1))
        assert recorder.next()[0] == "placed"

        def job() -> None:
            recorder.calls.put(("job", threading.current_thread().name))

        def broken() -> None:
            raise RuntimeError("job broke")

        assert watcher.run_on_card_thread(broken)  # logged; the watcher goes on
        assert watcher.run_on_card_thread(job)
        assert recorder.next() == ("job", "card-watcher")
        slot.remove()
        assert recorder.next()[0] == "removed"
    finally:
        watcher.stop()
    assert not watcher.run_on_card_thread(lambda: None)


# -- through the real wiring: the desk reads the chip on the watcher's thread ---------------------


@pytest.fixture
def kiosk(tmp_path: Path):
    from drivers.printer.raster import ensure_qt_gui_application
    from kiosk.config import load_config
    from launcher.wiring import build_kiosk

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
    k.start()
    yield k
    k.stop()


def _qr(slot: int) -> str:
    from launcher.wiring import cccd_qr_text

    return cccd_qr_text(sample_citizen(slot))


def _states(kiosk):  # noqa: ANN001, ANN202
    from kiosk.flow import Step

    seen: queue.Queue[tuple[object, str]] = queue.Queue()
    kiosk.flow.subscribe(lambda state: seen.put((state, threading.current_thread().name)))

    def until(step: Step) -> list[tuple[object, str]]:
        got = []
        while True:
            state, thread = seen.get(timeout=WAIT)
            got.append((state, thread))
            if state.step is step and not state.busy:
                return got

    return until


def test_desk_reads_on_the_watcher_thread_and_a_lift_mid_read_is_card_pulled(kiosk) -> None:  # noqa: ANN001
    from kiosk.flow import Step

    assert kiosk.card_watcher.mode in ("events", "stopped")  # its thread may still be subscribing
    until = _states(kiosk)
    kiosk.desk.begin()
    kiosk.desk.qr_scanned(_qr(2))
    assert kiosk.flow.state.prompt == "place_card_after_qr"
    kiosk.card_reader.place(sample_chip(2, faults=ChipFaults(lift_after_apdus=12)))
    seen = until(Step.ERROR)
    assert kiosk.flow.state.error is not None and kiosk.flow.state.error.code == "card_removed"
    reads = [thread for state, thread in seen if state.busy]
    assert reads and set(reads) == {"card-watcher"}, "the chip is read on the watcher's own thread"
    assert not kiosk.card_reader.card_present()
    assert kiosk.card_watcher.mode == "events"

    kiosk.desk.retry()
    kiosk.card_reader.place(sample_chip(2))  # placed again, held still
    seen = until(Step.IDENTITY_CHECK)
    assert kiosk.flow.state.session.identity.citizen.id_number == sample_citizen(2)["id_number"]
    assert {thread for state, thread in seen if state.busy} == {"card-watcher"}


def test_a_qr_shown_after_the_tap_is_read_on_the_watcher_thread(kiosk) -> None:  # noqa: ANN001
    from kiosk.flow import Step

    until = _states(kiosk)
    kiosk.desk.begin()
    kiosk.card_reader.place(sample_chip(1))  # no key yet: the desk asks for the QR
    until(Step.IDENTIFY)
    assert _wait_for_prompt(kiosk, "show_qr")
    kiosk.desk.qr_scanned(_qr(1))  # from this (the scanner's) thread
    seen = until(Step.IDENTITY_CHECK)
    assert kiosk.flow.state.session.identity.citizen.id_number == sample_citizen(1)["id_number"]
    assert {thread for state, thread in seen if state.busy} == {"card-watcher"}


def test_a_queued_read_is_dropped_once_the_card_is_gone(kiosk) -> None:  # noqa: ANN001
    desk = kiosk.desk
    desk.begin()
    qr = parse_qr(_qr(1))
    desk._pending_qr = qr  # the QR came while the card lay on the reader ...
    desk._read_chip_if_still_wanted(qr)  # ... which it had left when the job ran
    assert kiosk.flow.state.prompt == "place_card" and not kiosk.flow.state.busy


def _wait_for_prompt(kiosk, prompt: str) -> bool:  # noqa: ANN001
    seen: queue.Queue[str] = queue.Queue()
    kiosk.flow.subscribe(lambda state: seen.put(state.prompt))
    while True:
        if seen.get(timeout=WAIT) == prompt:
            return True


def test_retry_with_the_card_still_on_the_reader_reads_it_again(kiosk) -> None:  # noqa: ANN001
    # The read fails (a garbled secure-messaging answer) while the card stays
    # put; the patient presses "Thử lại" without touching the card. No tap
    # will come, so the desk must look at the reader itself.
    from kiosk.flow import Step

    until = _states(kiosk)
    kiosk.desk.begin()
    kiosk.desk.qr_scanned(_qr(3))
    kiosk.card_reader.place(sample_chip(3, faults=ChipFaults(corrupt_response_mac=frozenset({1}))))
    until(Step.ERROR)
    assert kiosk.card_reader.card_present()
    kiosk.desk.retry()
    seen = until(Step.IDENTITY_CHECK)
    assert kiosk.flow.state.session.identity.citizen.id_number == sample_citizen(3)["id_number"]
    assert {thread for state, thread in seen if state.busy} == {"card-watcher"}
