"""A guard against a reference-counting defect in PySide6 6.12.0 on CPython 3.11.

What happens: in PySide6/shiboken6 6.12.0, many wrapped methods that return
nothing (`QLabel.setText`, `QTimer.start`, `QApplication.processEvents`, ...)
or return a bool/None singleton (`QObject.blockSignals`, `QObject.parent()`
without a parent) hand Python a *borrowed* reference to `None`, `True` or
`False` as if it were a new one. CPython 3.12+ does not care (PEP 683 made
those objects immortal), but on 3.11 every such call drops their reference
count by one, and after a few thousand calls the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None". A kiosk makes that
many calls in minutes. PySide6 6.11.3 does not have the defect (checked on
the same interpreter).

The fix belongs upstream, or in the pin (PySide6 ~=6.11.3, or Python 3.12).
Until then `protect_singletons()` gives the three objects a reference-count
ballast large enough for years of calls (what PEP 683 does, by hand). It
first measures whether the defect is present, so it does nothing on a fixed
PySide6 or a newer Python, and it can be deleted once the pin moves.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

# 2**48 dropped references: ~9 years at a million defective calls a second,
# and still far below the 2**63 limit of the reference-count field.
BALLAST = 1 << 48

_applied = False


def _drops_references() -> bool:
    """True when a void PySide6 call takes a reference away from None."""
    from PySide6.QtCore import QObject

    probe = QObject()
    calls = 64
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("probe")
    # Other threads may hold or release a few references meanwhile; the
    # defect loses one per call, so half of the calls is a clear signal.
    return before - sys.getrefcount(None) >= calls // 2


def protect_singletons() -> bool:
    """Apply the ballast if this PySide6 needs it. Returns True if applied."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not _drops_references():
        return False
    for singleton in (None, True, False):
        before = sys.getrefcount(singleton)
        # ob_refcnt is the first field of every object in a release build
        # of CPython 3.11 (Include/object.h, PyObject_HEAD).
        field = ctypes.c_ssize_t.from_address(id(singleton))
        field.value += BALLAST
        if sys.getrefcount(singleton) - before != BALLAST:
            # Not the layout we expected (a debug build?): undo, and say so.
            field.value -= BALLAST
            log.error("PySide6 reference-count guard not applied: unexpected object layout")
            return False
    _applied = True
    log.warning(
        "PySide6 %s drops references to None/True/False on Python %d.%d; guard applied "
        "(pin PySide6 ~=6.11.3 or use Python 3.12+ to remove the need)",
        __import__("PySide6").__version__,
        *sys.version_info[:2],
    )
    return True
