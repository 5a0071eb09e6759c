"""Run a console operation off the UI thread; get its outcome back on it.

Technician operations block on devices (a test read, a test page, the hub
test), so like the desk's they never run on the UI thread. They are rare
and independent, so each gets a short-lived thread; the outcome comes back
through a queued signal (Anki's CollectionOp idea: success and failure
callbacks on the main thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

Done = Callable[[Any, BaseException | None], None]

# A wait longer than this shows the page's turning ring (issue 8: a progress
# animation for every wait over 300 ms); shorter ones would only flicker.
BUSY_AFTER_MS = 300


class Background(QObject):
    _finished = Signal(object, object, object)  # callback, result, error
    # True when the first operation starts, False when the last one ends:
    # the page shows its busy sign meanwhile.
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.running = 0

    def run(self, operation: Callable[[], Any], done: Done) -> None:
        self.running += 1
        if self.running == 1:
            self.busy_changed.emit(True)

        def work() -> None:
            try:
                result, error = operation(), None
            except Exception as exc:  # handed to `done`, shown to the technician
                log.info("technician operation failed: %s", type(exc).__name__)
                result, error = None, exc
            self._finished.emit(done, result, error)

        threading.Thread(target=work, name="technician-op", daemon=True).start()

    @Slot(object, object, object)
    def _deliver(self, done: Done, result: Any, error: BaseException | None) -> None:
        self.running -= 1
        done(result, error)
        if self.running == 0:  # `done` may have started the next one
            self.busy_changed.emit(False)
