"""The kiosk's touch screens (PySide6).

Depends on `kiosk` and PySide6 only (an import-linter contract checks it):
the screens render `kiosk.flow.FlowState` snapshots and ask for changes
through `ui.operations.CheckInOperations`, which `ui.runner.DeskRunner`
implements over the real desk on a worker thread.
"""

from ui.qt_compat import protect_singletons

# Before any screen exists: PySide6 6.12.0 on CPython 3.11 would otherwise
# abort the process after a few thousand calls (see ui/qt_compat.py).
protect_singletons()
