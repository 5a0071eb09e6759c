"""The guard against PySide6 6.12.0 dropping references to None/True/False."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject

import ui  # noqa: F401 - importing the package applies the guard
from ui.qt_compat import BALLAST, protect_singletons


def test_guard_is_applied_where_needed_and_idempotent() -> None:
    applied = protect_singletons()
    if applied:
        assert sys.getrefcount(None) > BALLAST // 2
        assert sys.getrefcount(True) > BALLAST // 2 and sys.getrefcount(False) > BALLAST // 2
    assert protect_singletons() is applied  # a second call changes nothing


def test_many_void_and_bool_calls_do_not_abort_the_interpreter() -> None:
    # Without the guard, PySide6 6.12.0 on CPython 3.11 aborts with
    # "deallocating None" after a few thousand of these.
    probe = QObject()
    for _ in range(20_000):
        probe.setObjectName("probe")
        probe.blockSignals(False)
    assert probe.objectName() == "probe"
