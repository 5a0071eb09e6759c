"""Run the desk's operations off the UI thread and bring their results back.

A desk operation may wait seconds on a chip, the hub or the printer. The UI
thread must never wait with it, or the screen freezes under the patient's
finger. So every operation goes to ONE worker thread, in the order the
patient asked for them (Electrum's one-owner-thread idea: the desk and its
devices see one caller at a time, and "back" never overtakes "confirm").

Results never come back as return values. The desk changes its `CheckInFlow`
and the flow tells its observers, from whichever thread made the change (the
worker, the card watcher, the QR scanner). The runner turns those calls into
a queued Qt signal, so `state_changed`, `status_changed`, `failed`,
`rejected` and `completed` are always emitted on the GUI thread, whatever
kind of slot is connected to them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from kiosk.domain import VisitType
from kiosk.flow import FlowError, FlowState
from ui.operations import CheckInOperations, ConnectionStatusSource, FlowSource

log = logging.getLogger(__name__)

_STOP = object()


class DeskRunner(QObject):
    """The `CheckInOperations` the window uses: each call returns at once.

    `desk` is the blocking `kiosk.desk.CheckInDesk` (or anything with the same
    operations); `flow` is its `CheckInFlow`; `status` reports the outbox's
    online state and pending count (`add_listener(cb(online, pending))`).
    """

    state_changed = Signal(object)  # FlowState, on the GUI thread
    status_changed = Signal(bool, int)  # online, pending registrations
    failed = Signal(str)  # operation name: it raised something unexpected
    rejected = Signal(str)  # operation name: not accepted in the current step
    completed = Signal(str)  # operation name: returned normally

    # Internal hops from any thread to this object's (the GUI) thread.
    _state_posted = Signal()
    _status_posted = Signal(bool, int)
    _outcome_posted = Signal(str, str)

    def __init__(
        self,
        desk: CheckInOperations,
        flow: FlowSource,
        status: ConnectionStatusSource | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._desk = desk
        self._flow = flow
        self._last_state: FlowState | None = None
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._state_posted.connect(self._emit_state, Qt.ConnectionType.QueuedConnection)
        self._status_posted.connect(self._emit_status, Qt.ConnectionType.QueuedConnection)
        self._outcome_posted.connect(self._emit_outcome, Qt.ConnectionType.QueuedConnection)
        # Daemon: a device call that never returns must not keep a kiosk that
        # is shutting down alive; `shutdown()` waits for a bounded time.
        self._worker = threading.Thread(target=self._work, name="desk-worker", daemon=True)
        self._worker.start()
        flow.subscribe(self._on_flow_state)
        if status is not None:
            status.add_listener(self._on_status)

    # -- from any thread ------------------------------------------------------------

    def _on_flow_state(self, _state: FlowState) -> None:
        # The snapshot itself is not forwarded: CheckInFlow calls its
        # listeners after releasing its lock, so two threads changing the
        # flow at once may call us in the wrong order. The GUI thread reads
        # the flow's current state instead, which is always the newest.
        self._state_posted.emit()

    def _on_status(self, online: bool, pending: int) -> None:
        self._status_posted.emit(bool(online), int(pending))

    # -- on the GUI thread -----------------------------------------------------------------

    @Slot()
    def _emit_state(self) -> None:
        state = self._flow.state
        if state is self._last_state:
            return  # several notifications, one newest state: render it once
        self._last_state = state
        self.state_changed.emit(state)

    @Slot(bool, int)
    def _emit_status(self, online: bool, pending: int) -> None:
        self.status_changed.emit(online, pending)

    @Slot(str, str)
    def _emit_outcome(self, outcome: str, operation: str) -> None:
        {"failed": self.failed, "rejected": self.rejected, "completed": self.completed}[outcome].emit(operation)

    # -- the worker thread ---------------------------------------------------------------

    def _submit(self, name: str, operation: Callable[..., object], *args: object) -> None:
        if self._closed:
            log.info("desk runner closed: %s dropped", name)
            return
        self._jobs.put((name, operation, args))

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            name, operation, args = job
            try:
                operation(*args)
            except FlowError:
                # A late or doubled touch (the step already moved on): the
                # flow refused it and nothing changed. Not a fault.
                log.info("desk operation %s not accepted in the current step", name)
                self._outcome_posted.emit("rejected", name)
            except Exception as exc:
                # The class name only: messages and tracebacks may carry
                # personal data (a name in a parse error, say).
                log.error("desk operation %s failed: %s", name, type(exc).__name__)
                self._outcome_posted.emit("failed", name)
            else:
                self._outcome_posted.emit("completed", name)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop taking operations, let the running one end; True if it did."""
        self._closed = True
        self._jobs.put(_STOP)
        self._worker.join(timeout)
        return not self._worker.is_alive()

    # -- CheckInOperations: queued -----------------------------------------------------

    def begin(self) -> None:
        self._submit("begin", self._desk.begin)

    def use_qr_without_chip(self) -> None:
        self._submit("use_qr_without_chip", self._desk.use_qr_without_chip)

    def id_typed(self, id12: str) -> None:
        self._submit("id_typed", self._desk.id_typed, id12)

    def use_visit_paper(self) -> None:
        self._submit("use_visit_paper", self._desk.use_visit_paper)

    def confirm_identity(self) -> None:
        self._submit("confirm_identity", self._desk.confirm_identity)

    def continue_from_insurance(self) -> None:
        self._submit("continue_from_insurance", self._desk.continue_from_insurance)

    def choose_visit_type(self, visit_type: VisitType, paper_number: str | None = None) -> None:
        self._submit("choose_visit_type", self._desk.choose_visit_type, visit_type, paper_number)

    def choose_department(self, code: str) -> None:
        self._submit("choose_department", self._desk.choose_department, code)

    def choose_service(self, code: str) -> None:
        self._submit("choose_service", self._desk.choose_service, code)

    def confirm(self) -> None:
        self._submit("confirm", self._desk.confirm)

    def back(self) -> None:
        self._submit("back", self._desk.back)

    def cancel(self) -> None:
        self._submit("cancel", self._desk.cancel)

    def retry(self) -> None:
        self._submit("retry", self._desk.retry)

    def finish(self) -> None:
        self._submit("finish", self._desk.finish)

    def reprint(self) -> None:
        self._submit("reprint", self._desk.reprint)

    # -- CheckInOperations: cheap, called directly on the UI thread --------------------

    def touch(self) -> None:
        self._desk.touch()

    def tick(self) -> bool:
        return self._desk.tick()

    def seconds_left(self) -> float | None:
        return self._desk.seconds_left()
