"""drivers.camera.scanner: newest frame only, each payload once, never dies."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest

from drivers.camera.decoder import ZxingQrDecoder
from drivers.camera.scanner import PayloadDeduplicator, QrScanner
from drivers.camera.simulated import SimulatedCamera

WAIT = 10.0  # an upper bound for something to happen, never a pace
CCCD = "048203007890||LÊ HOÀNG CƯỜNG|14022003|Nam|K82/14 Lê Duẩn, Phường Thạch Thang, Quận Hải Châu, Đà Nẵng|01082021"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FrameFeed:
    """A camera whose frames the test hands over one by one."""

    def __init__(self) -> None:
        self.frame: object | None = None

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def latest_frame(self) -> object | None:
        return self.frame

    def new_frame(self) -> object:
        self.frame = np.zeros((2, 2, 3), dtype=np.uint8)
        return self.frame


class ScriptedDecoder:
    """Answers from a script; an exception in the script is raised."""

    def __init__(self, *answers: list[str] | Exception) -> None:
        self.answers = list(answers)
        self.frames: list[object] = []

    def decode(self, frame: object) -> list[str]:
        self.frames.append(frame)
        answer = self.answers.pop(0) if self.answers else []
        if isinstance(answer, Exception):
            raise answer
        return answer


# -- de-duplication -------------------------------------------------------------


def test_a_payload_is_admitted_again_only_after_being_away_for_the_window() -> None:
    clock = FakeClock()
    dedupe = PayloadDeduplicator(window=3.0, clock=clock)
    assert dedupe.admit("A")
    clock.now += 2.0
    assert not dedupe.admit("A")  # still in view
    clock.now += 2.0
    assert not dedupe.admit("A")  # the window slides with every sighting
    assert dedupe.admit("B")  # another code is news at once
    clock.now += 3.0
    assert dedupe.admit("A")  # away for the whole window: news again
    dedupe.forget()
    assert dedupe.admit("A")
    with pytest.raises(ValueError):
        PayloadDeduplicator(window=-1)


# -- polling, stepped by hand --------------------------------------------------------


def test_only_new_frames_are_decoded_and_payloads_delivered_once() -> None:
    clock = FakeClock()
    feed = FrameFeed()
    decoder = ScriptedDecoder(["A"], ["A", "B"], ["A"])
    delivered: list[str] = []
    scanner = QrScanner(feed, decoder, delivered.append, clock=clock)

    assert scanner.poll_once() == []  # no frame yet
    frame = feed.new_frame()
    assert scanner.poll_once() == ["A"]
    assert scanner.poll_once() == []  # the same frame is not decoded twice
    assert decoder.frames == [frame]
    feed.new_frame()
    assert scanner.poll_once() == ["B"]  # A is still in view
    clock.now += 60
    feed.new_frame()
    assert scanner.poll_once() == ["A"]
    assert delivered == ["A", "B", "A"]
    status = scanner.status
    assert (status.frames_decoded, status.payloads_delivered, status.errors) == (3, 3, 0)


def test_forget_lets_a_code_still_in_view_through_again() -> None:
    feed = FrameFeed()
    scanner = QrScanner(feed, ScriptedDecoder(["A"], ["A"]), lambda p: None, clock=FakeClock())
    feed.new_frame()
    assert scanner.poll_once() == ["A"]
    scanner.forget()
    feed.new_frame()
    assert scanner.poll_once() == ["A"]


def test_decoder_camera_and_callback_failures_are_survived() -> None:
    feed = FrameFeed()
    decoder = ScriptedDecoder(RuntimeError("zxing exploded"), ["A"], ["B"])
    calls: list[str] = []

    def on_payload(payload: str) -> None:
        calls.append(payload)
        if payload == "A":
            raise ValueError("the application failed")

    scanner = QrScanner(feed, decoder, on_payload, clock=FakeClock())
    feed.new_frame()
    assert scanner.poll_once() == []
    assert scanner.status.last_error == "RuntimeError"
    feed.new_frame()
    assert scanner.poll_once() == ["A"]
    feed.new_frame()
    assert scanner.poll_once() == ["B"]
    assert calls == ["A", "B"]

    class BrokenCamera(FrameFeed):
        def latest_frame(self) -> object | None:
            raise OSError("device gone")

    broken = QrScanner(BrokenCamera(), decoder, on_payload)
    assert broken.poll_once() == []
    assert scanner.status.errors == 2 and broken.status.errors == 1


# -- the worker thread -----------------------------------------------------------------


@pytest.fixture
def camera() -> Iterator[SimulatedCamera]:
    cam = SimulatedCamera(fps=60)
    cam.start()
    yield cam
    cam.stop()


def test_the_scanner_delivers_a_payload_shown_to_a_simulated_camera(camera: SimulatedCamera) -> None:
    received: list[str] = []
    arrived = threading.Event()

    def on_payload(payload: str) -> None:
        received.append(payload)
        arrived.set()

    scanner = QrScanner(camera, ZxingQrDecoder(), on_payload, interval=0.01)
    scanner.start()
    try:
        assert scanner.running
        camera.show_payload(CCCD, caption="CCCD")
        assert arrived.wait(WAIT), "no payload within the bound"
        # Later frames of the same card in view are not news.
        decoded = scanner.status.frames_decoded
        for _ in range(500):  # bounded: each turn waits for one camera frame
            if scanner.status.frames_decoded >= decoded + 3:
                break
            camera.wait_for_frame(WAIT)
        else:
            pytest.fail("the scanner stopped decoding")
    finally:
        scanner.stop()
    assert received == [CCCD]
    assert not scanner.running


def test_the_worker_keeps_going_through_decoder_failures(camera: SimulatedCamera) -> None:
    arrived = threading.Event()
    decoder = ScriptedDecoder(*([RuntimeError("bad frame")] * 5), ["VNKIOSK:APPT:A1"])
    scanner = QrScanner(camera, decoder, lambda p: arrived.set(), interval=0.0)
    scanner.start()
    try:
        assert arrived.wait(WAIT)
        assert scanner.running
    finally:
        scanner.stop()
    assert scanner.status.errors == 5
    assert scanner.status.payloads_delivered == 1


def test_start_and_stop_are_idempotent(camera: SimulatedCamera) -> None:
    scanner = QrScanner(camera, ScriptedDecoder(), lambda p: None, interval=0.01)
    scanner.stop()  # never started
    scanner.start()
    scanner.start()
    scanner.stop()
    scanner.stop()
    assert not scanner.running
    with pytest.raises(ValueError):
        QrScanner(camera, ScriptedDecoder(), lambda p: None, interval=-1)
