"""Technician waits show the turning ring (issue 8: a progress animation for
every wait over 300 ms): a connection test, a test page, the PIN's argon2
check. The operation here waits on an event the test sets, so the wait is
as long as the test wants and no longer."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import QApplication
from test_ui_technician import built, console, corner_taps, enter, window  # noqa: F401 - fixtures

from ui.technician.worker import BUSY_AFTER_MS


def _wait_for(release: threading.Event):
    def operation() -> str:
        assert release.wait(10)
        return "done"

    return operation


def test_a_long_console_operation_shows_the_ring_until_it_ends(qtbot, window, artifacts_dir: Path) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("hub")
    page = window.technician.view.pages["hub"]
    outcomes: list[str] = []
    release = threading.Event()
    page.background.run(_wait_for(release), lambda result, error: outcomes.append(result))
    assert not page.busy.isVisible()  # not at once: a short wait would only flicker
    assert page._busy_later.interval() == BUSY_AFTER_MS
    qtbot.waitUntil(page.busy.isVisible, timeout=5000)
    page.say("Đang kết nối…")
    QApplication.processEvents()
    assert window.grab().save(str(artifacts_dir / "screens" / "technician-hub-busy-vi.png"))
    release.set()
    qtbot.waitUntil(lambda: outcomes == ["done"], timeout=5000)
    assert not page.busy.isVisible()


def test_a_short_operation_never_shows_it(qtbot, window) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("printer")
    page = window.technician.view.pages["printer"]
    outcomes: list[str] = []
    page.background.run(lambda: "quick", lambda result, error: outcomes.append(result))
    qtbot.waitUntil(lambda: "quick" in outcomes, timeout=5000)
    QApplication.processEvents()
    assert not page.busy.isVisible() and not page._busy_later.isActive()


def test_the_camera_page_polls_without_a_ring(qtbot, window) -> None:
    enter(qtbot, window)
    page = window.technician.view.pages["camera"]
    page._busy_changed(True)
    assert not page._busy_later.isActive() and not page.busy.isVisible()


def test_the_pin_check_shows_the_ring(qtbot, window, artifacts_dir: Path) -> None:
    corner_taps(qtbot, window)
    pin = window.technician.pin
    release = threading.Event()
    answers: list[str] = []
    pin._background.run(_wait_for(release), lambda result, error: answers.append(result))
    qtbot.waitUntil(pin.busy.isVisible, timeout=5000)
    assert window.grab().save(str(artifacts_dir / "screens" / "technician-pin-busy-vi.png"))
    release.set()
    qtbot.waitUntil(lambda: answers == ["done"], timeout=5000)
    assert not pin.busy.isVisible()
