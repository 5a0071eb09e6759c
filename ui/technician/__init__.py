"""Technician mode: hidden gesture + PIN, then diagnostics and set-up pages.

`attach_technician(window, console)` adds it to a `KioskWindow`: the corner
gesture on the top bar opens the PIN page; the console reaches devices only
through `kiosk.technician.TechnicianConsole`.
"""

from __future__ import annotations

from typing import Any

from kiosk.technician import TechnicianConsole
from ui.technician.gesture import CornerTapFilter
from ui.technician.mode import TechnicianMode


def attach_technician(window: Any, console: TechnicianConsole) -> TechnicianMode:
    mode = TechnicianMode(console, window.stack, window.request_exit)
    window.technician_gesture = CornerTapFilter(window.top_bar, mode.open)
    return mode


__all__ = ["TechnicianMode", "attach_technician"]
