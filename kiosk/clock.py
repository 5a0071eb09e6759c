"""Clocks: the real one, and one that tests and the demo can move by hand."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from kiosk.domain import VIETNAM_TZ


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(VIETNAM_TZ)

    def monotonic(self) -> float:
        return time.monotonic()


class OffsetClock:
    """Real time, shifted to start at a chosen moment (the simulated clock
    backend): a demo or a rehearsal can run "tomorrow at 07:30" while
    timeouts still elapse as on the wall clock."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=VIETNAM_TZ)
        self._origin = start
        self._mono_origin = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=time.monotonic() - self._mono_origin)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to (simulated backend)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = start or datetime(2026, 11, 23, 7, 30, tzinfo=VIETNAM_TZ)
        self._mono = 1000.0

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
