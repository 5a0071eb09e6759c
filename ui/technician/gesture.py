"""The hidden way in: five taps on the top bar's left corner within three seconds.

A patient does not tap the hospital name five times by chance, and a
technician needs no tool to do it. The gesture only opens the PIN page; the
PIN is what lets anyone in.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QWidget

TAPS = 5
WITHIN_SECONDS = 3.0


class CornerTaps:
    """Counts taps; True from `tap()` on the one that completes the gesture."""

    def __init__(self, taps: int = TAPS, within: float = WITHIN_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._taps = taps
        self._within = within
        self._clock = clock
        self._times: deque[float] = deque(maxlen=taps)

    def tap(self) -> bool:
        now = self._clock()
        self._times.append(now)
        if len(self._times) == self._taps and now - self._times[0] <= self._within:
            self._times.clear()
            return True
        return False

    def reset(self) -> None:
        self._times.clear()


def corner_of(bar: QWidget) -> QRect:
    """The square at the bar's left end, as tall as the bar (at least 120 px wide)."""
    side = bar.height()
    return QRect(0, 0, max(side, 120), side)


class CornerTapFilter(QObject):
    """Installed on the top bar: presses in its corner feed a `CornerTaps`."""

    def __init__(self, bar: QWidget, on_gesture: Callable[[], None], taps: CornerTaps | None = None) -> None:
        super().__init__(bar)
        self._bar = bar
        self._on_gesture = on_gesture
        self.taps = taps or CornerTaps()
        bar.installEventFilter(self)
        # A label on the bar ignores presses and Qt passes them up to the
        # bar; a filter on the bar sees them then, in the bar's coordinates.

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # Qt turns every second press within the double-click interval into
        # MouseButtonDblClick (touch taps too, once synthesised to mouse
        # events): five quick taps arrive as press, double, press, double,
        # press. Each is a tap.
        if (
            obj is self._bar
            and event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick)
            and isinstance(event, QMouseEvent)
        ):
            point = event.position().toPoint()
            if corner_of(self._bar).contains(QPoint(point.x(), point.y())):
                if self.taps.tap():
                    self._on_gesture()
            else:
                self.taps.reset()
        return False
