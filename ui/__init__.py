"""The kiosk's touch screens (PySide6).

Depends on `kiosk` and PySide6 only (an import-linter contract checks it):
the screens render `kiosk.flow.FlowState` snapshots and ask for changes
through `ui.operations.CheckInOperations`, which `ui.runner.DeskRunner`
implements over the real desk on a worker thread.
"""
