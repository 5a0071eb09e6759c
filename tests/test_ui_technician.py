"""Technician mode through the real window: the hidden gesture, the PIN page
with its lockout, every console page (in both languages, screenshotted),
over the real wiring with simulated devices."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication
from test_ui_samples import RecordingDesk

from kiosk.clock import ManualClock
from kiosk.config import load_config
from kiosk.technician import MAX_FAILURES
from launcher.technician import Argon2PinHasher, build_technician
from launcher.wiring import build_kiosk
from ui.i18n import ENGLISH, VIETNAMESE
from ui.technician.gesture import TAPS, CornerTaps
from ui.technician.pages import PAGES
from ui.window import KioskOptions, KioskWindow

FAST = Argon2PinHasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
PIN = "482915"


@pytest.fixture()
def built(tmp_path: Path):
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text(
        f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\nfullscreen = false\n[hub]\nbackend = "simulated"\n', encoding="utf-8"
    )
    kiosk = build_kiosk(load_config(config_file, {}), ticket_folder=tmp_path / "tickets")
    yield kiosk
    kiosk.stop()


@pytest.fixture()
def console(built):
    c = build_technician(built, clock=ManualClock(), hasher=FAST)
    c.gate.set_pin(PIN, via="test")
    yield c
    c.watch_cards(False)


@pytest.fixture()
def window(qtbot, console):
    # Windows of earlier tests still in reference cycles go now, not when the
    # cycle collector happens to run in the middle of an event they receive
    # (a language switch reaches every window).
    gc.collect()
    w = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000), technician=console)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.technician.close_mode()
    w.set_language(VIETNAMESE)


def corner_taps(qtbot, window: KioskWindow, count: int = TAPS, x: int = 10) -> None:
    for _ in range(count):
        qtbot.mouseClick(window.top_bar.hospital, Qt.MouseButton.LeftButton, pos=QPoint(x, 10))


def type_pin(qtbot, window: KioskWindow, pin: str) -> None:
    page = window.technician.pin
    for digit in pin:
        qtbot.mouseClick(page.digit_buttons[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(page.ok, Qt.MouseButton.LeftButton)


def enter(qtbot, window: KioskWindow) -> None:
    corner_taps(qtbot, window)
    type_pin(qtbot, window, PIN)
    qtbot.waitUntil(lambda: window.technician.unlocked)


def settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


# -- the way in ---------------------------------------------------------------------------


def test_corner_taps_logic() -> None:
    now = [0.0]
    taps = CornerTaps(clock=lambda: now[0])
    for _ in range(TAPS - 1):
        assert not taps.tap()
        now[0] += 0.5
    assert taps.tap()
    for _ in range(TAPS):  # too slow: 1 s apart
        now[0] += 1.0
        assert not taps.tap()


def test_five_corner_taps_open_the_pin_page_and_four_do_not(qtbot, window: KioskWindow) -> None:
    mode = window.technician
    corner_taps(qtbot, window, TAPS - 1)
    assert not mode.isVisible()
    corner_taps(qtbot, window, 1, x=window.top_bar.width() // 2)  # a tap elsewhere starts over
    corner_taps(qtbot, window, TAPS - 1)
    assert not mode.isVisible()
    corner_taps(qtbot, window, 1)
    assert mode.isVisible() and not mode.unlocked
    assert mode.geometry() == window.stack.geometry()  # the top bar (language switch) stays


def test_quick_taps_that_qt_reports_as_double_clicks_still_count(qtbot, window: KioskWindow) -> None:
    # Taps closer than the double-click interval reach the bar as press,
    # double-click, press, double-click, press (what a real touchscreen or
    # X server delivers; qtbot.mouseClick sends plain presses).
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    bar = window.top_bar
    for n in range(TAPS):
        kind = QEvent.Type.MouseButtonDblClick if n % 2 else QEvent.Type.MouseButtonPress
        point = QPointF(10, 10)
        for event_type in (kind, QEvent.Type.MouseButtonRelease):
            event = QMouseEvent(
                event_type, point, bar.mapToGlobal(point), Qt.MouseButton.LeftButton,
                Qt.MouseButton.LeftButton if event_type != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton,
                Qt.KeyboardModifier.NoModifier,
            )
            QApplication.sendEvent(bar, event)
    assert window.technician.isVisible() and not window.technician.unlocked


def test_wrong_pin_then_lockout_then_right_pin_refused(qtbot, window: KioskWindow, console) -> None:
    corner_taps(qtbot, window)
    page = window.technician.pin
    type_pin(qtbot, window, "000001")
    qtbot.waitUntil(lambda: "4" in page.message.text())
    assert "Sai mã PIN" in page.message.text()
    for _ in range(MAX_FAILURES - 1):
        type_pin(qtbot, window, "000001")
        qtbot.waitUntil(lambda: page._background.running == 0)
    assert "Sai quá nhiều lần" in page.message.text()
    type_pin(qtbot, window, PIN)
    qtbot.waitUntil(lambda: page._background.running == 0)
    assert not window.technician.unlocked
    events = [e["event"] for e in console.gate.audit.entries()]
    assert events.count("entry_refused") == MAX_FAILURES and "locked_out" in events


def test_pin_page_says_when_no_pin_is_set(qtbot, window: KioskWindow, console) -> None:
    console.gate.path.unlink()
    corner_taps(qtbot, window)
    type_pin(qtbot, window, "123789")
    qtbot.waitUntil(lambda: "set-technician-pin" in window.technician.pin.message.text())


def test_cancel_and_exit_are_audited(qtbot, window: KioskWindow, console) -> None:
    corner_taps(qtbot, window)
    qtbot.mouseClick(window.technician.pin.cancel, Qt.MouseButton.LeftButton)
    assert not window.technician.isVisible()
    enter(qtbot, window)
    qtbot.mouseClick(window.technician.view.exit, Qt.MouseButton.LeftButton)
    assert not window.technician.isVisible()
    assert [e["event"] for e in console.gate.audit.entries()][-2:] == ["entry_granted", "exit"]


def test_idle_technician_mode_closes_itself(qtbot, window: KioskWindow, console) -> None:
    enter(qtbot, window)
    window.technician._idle.timeout.emit()
    assert not window.technician.isVisible()
    assert console.gate.audit.entries()[-1] == {**console.gate.audit.entries()[-1], "event": "exit", "reason": "idle"}


def test_restart_asks_the_window_to_exit(qtbot, window: KioskWindow, console, monkeypatch) -> None:
    asked = []
    monkeypatch.setattr(window.technician, "_on_restart", lambda: asked.append(True))
    enter(qtbot, window)
    window.technician.view.show_page("config")
    qtbot.mouseClick(window.technician.view.restart, Qt.MouseButton.LeftButton)
    assert asked == [True]
    assert [e["event"] for e in console.gate.audit.entries()][-2:] == ["restart", "exit"]


# -- every page: rendered, big enough, saved, in both languages -------------------------------


@pytest.mark.parametrize("language", [VIETNAMESE, ENGLISH])
def test_every_page_renders_in_both_languages(qtbot, window: KioskWindow, language: str, artifacts_dir: Path) -> None:
    folder = artifacts_dir / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    corner_taps(qtbot, window)
    window.set_language(language)
    settle()
    page = window.technician.pin
    for digit in "48":
        qtbot.mouseClick(page.digit_buttons[digit], Qt.MouseButton.LeftButton)
    assert window.grab().save(str(folder / f"technician-pin-{language}.png"))
    page.reset()
    type_pin(qtbot, window, PIN)
    qtbot.waitUntil(lambda: window.technician.unlocked)
    view = window.technician.view
    side = window.metrics.chrome_touch_px
    for cls in PAGES:
        view.show_page(cls.name)
        qtbot.waitUntil(lambda: view.pages[cls.name].background.running == 0)
        settle()
        shown = view.pages[cls.name]
        assert shown.title.text()
        if language == ENGLISH:
            assert not any(ch in shown.title.text() for ch in "ảạầđơưệố"), shown.title.text()
        for b in window.technician.findChildren(QAbstractButton):
            if b.isVisibleTo(window):
                assert b.width() >= side and b.height() >= side, f"{b.objectName()} is {b.width()}x{b.height()}"
        assert window.grab().save(str(folder / f"technician-{cls.name}-{language}.png"))


# -- page behaviour -----------------------------------------------------------------------------


def test_readers_page_test_read_and_live_events(qtbot, window: KioskWindow, built) -> None:
    enter(qtbot, window)
    page = window.technician.view.pages["readers"]
    qtbot.mouseClick(page.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Không có thẻ" in page.outcome.text())
    built.simulator.tap(1)
    qtbot.waitUntil(lambda: "thẻ đặt vào" in page.events.text())
    qtbot.mouseClick(page.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ICAO 9303" in page.outcome.text())


def test_camera_page_shows_preview_overlay_and_rate(qtbot, window: KioskWindow, built, artifacts_dir: Path) -> None:
    built.camera.start()
    built.simulator.tap(1)
    enter(qtbot, window)
    window.technician.view.show_page("camera")
    page = window.technician.view.pages["camera"]
    qtbot.waitUntil(lambda: page.overlay.isVisibleTo(window) and "CCCD" in page.overlay.text(), timeout=10_000)
    assert page.preview.pixmap() is not None and not page.preview.pixmap().isNull()
    assert "%" in page.rate.text()
    assert window.grab().save(str(artifacts_dir / "screens" / "technician-camera-qr-vi.png"))
    window.technician.close_mode()
    assert not page._poll.isActive()


def test_camera_page_without_a_camera_says_so(qtbot, window: KioskWindow, console) -> None:
    console.devices.camera = None
    enter(qtbot, window)
    window.technician.view.show_page("camera")
    assert "Không có camera" in window.technician.view.pages["camera"].preview.text()


def test_printer_page_prints_a_test_page(qtbot, window: KioskWindow, tmp_path: Path) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("printer")
    page = window.technician.view.pages["printer"]
    qtbot.waitUntil(lambda: "sẵn sàng" in page.status.text())
    qtbot.mouseClick(page.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Đã in trang thử" in page.outcome.text())
    assert list((tmp_path / "tickets").glob("*.png"))


def test_hub_page_refuses_a_bad_url_and_saves_a_good_one(qtbot, window: KioskWindow, built) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("hub")
    page = window.technician.view.pages["hub"]
    page.url.setText("http://192.0.2.7")
    page.kiosk_id.setText("K02")
    page.secret.setText("s3cret")
    qtbot.mouseClick(page.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Chưa lưu" in page.outcome.text())
    assert "hub.url" in page.outcome.text() and page.secret.text() == ""
    page.url.setText("https://hub.example")
    page.secret.setText("s3cret")
    qtbot.mouseClick(page.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Đã lưu" in page.outcome.text())
    assert load_config(built.config.source, {})["hub.url"] == "https://hub.example"


def test_hub_page_connection_test_reports_unreachable(qtbot, window: KioskWindow) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("hub")
    page = window.technician.view.pages["hub"]
    page.url.setText("http://127.0.0.1:9")  # discard port: nothing listens
    qtbot.mouseClick(page.test, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Không kết nối được" in page.outcome.text(), timeout=15_000)


def test_config_page_validates_before_saving(qtbot, window: KioskWindow, built) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("config")
    page = window.technician.view.pages["config"]
    before = built.config.source.read_text()
    page.key.setCurrentText("printer.width_dots")
    page.value.setText("500")
    qtbot.mouseClick(page.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Không hợp lệ" in page.outcome.text())
    assert "printer.width_dots" in page.outcome.text() and built.config.source.read_text() == before
    page.value.setText("384")
    qtbot.mouseClick(page.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Đã lưu" in page.outcome.text())
    assert load_config(built.config.source, {})["printer.width_dots"] == 384


def test_outbox_page_and_force_sync(qtbot, window: KioskWindow, console) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("outbox")
    page = window.technician.view.pages["outbox"]
    qtbot.waitUntil(lambda: "Chờ gửi: 0" in page.summary.text())
    qtbot.mouseClick(page.sync, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Đã yêu cầu" in page.outcome.text())
    assert console.gate.audit.entries()[-1]["event"] == "force_sync"


def test_logs_page_exports(qtbot, window: KioskWindow, built) -> None:
    enter(qtbot, window)
    window.technician.view.show_page("logs")
    page = window.technician.view.pages["logs"]
    qtbot.mouseClick(page.export, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Đã xuất" in page.outcome.text())
    assert list((built.config.data_dir() / "exports").glob("kiosk-log-*.txt"))
