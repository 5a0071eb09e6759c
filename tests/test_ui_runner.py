"""DeskRunner: operations run on one worker thread, results come back on the
GUI thread, failures are reported without personal data."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
from test_ui_samples import PATIENT_NAME, RecordingDesk, identity

from kiosk.domain import VisitType
from kiosk.flow import FlowError, FlowState, Session, Step
from ui.runner import DeskRunner
from ui.window import KioskOptions, KioskWindow


class ThreadedFlow:
    """A stand-in for CheckInFlow: listeners are called on the thread that
    changes the state, exactly as the real flow does."""

    def __init__(self) -> None:
        self._state = FlowState(Step.IDLE, Session())
        self._listeners: list[Callable[[FlowState], None]] = []
        self._lock = threading.Lock()

    @property
    def state(self) -> FlowState:
        return self._state

    def subscribe(self, listener: Callable[[FlowState], None]) -> None:
        with self._lock:
            self._listeners.append(listener)
        listener(self._state)

    def set(self, state: FlowState) -> None:
        with self._lock:
            self._state = state
            listeners = list(self._listeners)
        for listener in listeners:
            listener(state)


class BlockingDesk(RecordingDesk):
    """Records the thread each operation ran on, and moves the flow."""

    def __init__(self, flow: ThreadedFlow) -> None:
        super().__init__()
        self.flow = flow
        self.threads: dict[str, threading.Thread] = {}
        self.release = threading.Event()
        self.release.set()

    def _record(self, *call: object) -> None:
        super()._record(*call)
        self.threads[str(call[0])] = threading.current_thread()

    def begin(self) -> None:
        self.release.wait(5)
        super().begin()
        self.flow.set(FlowState(Step.IDENTIFY, Session(), prompt="place_card"))

    def confirm_identity(self) -> None:
        super().confirm_identity()
        raise FlowError("not in this step")

    def reprint(self) -> None:
        super().reprint()
        # The message carries personal data; it must never reach the log.
        raise RuntimeError(f"printer jammed on ticket of {PATIENT_NAME}")


class StatusSource:
    def __init__(self) -> None:
        self.listeners: list[Callable[[bool, int], None]] = []

    def add_listener(self, listener: Callable[[bool, int], None]) -> None:
        self.listeners.append(listener)


@pytest.fixture
def flow() -> ThreadedFlow:
    return ThreadedFlow()


@pytest.fixture
def desk(flow: ThreadedFlow) -> BlockingDesk:
    return BlockingDesk(flow)


@pytest.fixture
def runner(qtbot, desk: BlockingDesk, flow: ThreadedFlow):
    r = DeskRunner(desk, flow)
    yield r
    assert r.shutdown(5)


def test_operation_runs_off_the_gui_thread_and_state_comes_back_on_it(
    qtbot, runner: DeskRunner, desk: BlockingDesk
) -> None:
    received: list[tuple[FlowState, threading.Thread]] = []
    # A plain function, not a QObject slot: without the runner's own queued
    # hop it would run on the worker thread.
    runner.state_changed.connect(lambda s: received.append((s, threading.current_thread())))
    with qtbot.waitSignal(runner.state_changed, timeout=5000, check_params_cb=lambda s: s.step is Step.IDENTIFY):
        runner.begin()
    assert desk.threads["begin"] is not threading.main_thread()
    assert desk.threads["begin"].name == "desk-worker"
    state, thread = received[-1]
    assert state.step is Step.IDENTIFY
    assert thread is threading.main_thread()


def test_calls_return_at_once_and_keep_their_order(qtbot, runner: DeskRunner, desk: BlockingDesk) -> None:
    desk.release.clear()  # begin() blocks like a slow device
    runner.begin()
    runner.choose_visit_type(VisitType.REFERRAL, "CT-123")
    runner.choose_department("NOI")
    runner.back()
    assert desk.names() == []  # nothing ran on the caller's thread
    with qtbot.waitSignal(runner.completed, timeout=5000, check_params_cb=lambda op: op == "back"):
        desk.release.set()
    assert desk.names() == ["begin", "choose_visit_type", "choose_department", "back"]
    assert ("choose_visit_type", VisitType.REFERRAL, "CT-123") in desk.calls
    threads = {desk.threads[n] for n in ("begin", "choose_visit_type", "choose_department", "back")}
    assert len(threads) == 1  # one owner thread for the desk and its devices


def test_refused_operation_is_rejected_not_failed(qtbot, runner: DeskRunner) -> None:
    failed: list[str] = []
    runner.failed.connect(failed.append)
    with qtbot.waitSignal(runner.rejected, timeout=5000) as blocker:
        runner.confirm_identity()
    assert blocker.args == ["confirm_identity"]
    assert failed == []


def test_failure_is_reported_and_logged_without_personal_data(
    qtbot, runner: DeskRunner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[threading.Thread] = []
    runner.failed.connect(lambda _op: seen.append(threading.current_thread()))
    with qtbot.waitSignal(runner.failed, timeout=5000) as blocker:
        runner.reprint()
    assert blocker.args == ["reprint"]
    assert seen == [threading.main_thread()]
    assert "RuntimeError" in caplog.text
    assert PATIENT_NAME not in caplog.text and "jammed" not in caplog.text


def test_worker_survives_a_failure(qtbot, runner: DeskRunner, desk: BlockingDesk) -> None:
    with qtbot.waitSignal(runner.failed, timeout=5000):
        runner.reprint()
    with qtbot.waitSignal(runner.completed, timeout=5000, check_params_cb=lambda op: op == "cancel"):
        runner.cancel()
    assert "cancel" in desk.names()


def test_cheap_calls_run_on_the_caller(runner: DeskRunner, desk: BlockingDesk) -> None:
    desk.left = 12.0
    runner.touch()
    assert runner.tick() is False
    assert runner.seconds_left() == 12.0
    assert desk.threads["touch"] is threading.main_thread()


def test_status_from_any_thread_arrives_on_the_gui_thread(qtbot, desk: BlockingDesk, flow: ThreadedFlow) -> None:
    status = StatusSource()
    runner = DeskRunner(desk, flow, status)
    try:
        seen: list[tuple[bool, int, threading.Thread]] = []
        runner.status_changed.connect(lambda online, pending: seen.append((online, pending, threading.current_thread())))
        with qtbot.waitSignal(runner.status_changed, timeout=5000):
            t = threading.Thread(target=lambda: status.listeners[0](False, 4))
            t.start()
            t.join()
        assert seen == [(False, 4, threading.main_thread())]
    finally:
        runner.shutdown()


def test_states_from_racing_threads_end_at_the_newest(qtbot, runner: DeskRunner, flow: ThreadedFlow) -> None:
    last: list[FlowState] = []
    runner.state_changed.connect(last.append)
    newest = FlowState(Step.IDENTITY_CHECK, Session(identity=identity()))

    def burst() -> None:
        for progress in ("connect", "pace", "dg1", "dg13", "dg2"):
            flow.set(FlowState(Step.IDENTIFY, Session(), busy=True, progress=progress))
        flow.set(newest)

    t = threading.Thread(target=burst)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: bool(last) and last[-1] is newest, timeout=5000)
    # Rendered once per distinct newest state, not once per notification.
    assert last.count(newest) == 1


def test_shutdown_drops_later_operations(qtbot, desk: BlockingDesk, flow: ThreadedFlow) -> None:
    runner = DeskRunner(desk, flow)
    assert runner.shutdown(5)
    runner.begin()
    qtbot.wait(50)
    assert desk.names() == []


def test_window_follows_the_runner(qtbot, desk: BlockingDesk, flow: ThreadedFlow) -> None:
    status = StatusSource()
    runner = DeskRunner(desk, flow, status)
    window = KioskWindow(runner, KioskOptions(hospital_name="BV", tick_ms=3_600_000))
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(runner.state_changed, timeout=5000, check_params_cb=lambda s: s.step is Step.IDENTIFY):
            runner.begin()
        assert window.current_screen() is window.screens[Step.IDENTIFY]
        with qtbot.waitSignal(runner.status_changed, timeout=5000):
            status.listeners[0](True, 2)
        assert "2" in window.top_bar.status.text()
    finally:
        runner.shutdown()
