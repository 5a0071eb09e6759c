"""The on-screen keyboard (ui/keyboard.py): choosing it before Qt starts, the
fallback when it cannot run, and — in a process of its own, because Qt reads
QT_IM_MODULE once — the keyboard in a real kiosk window
(tests/ui_keyboard_session.py)."""

from __future__ import annotations

import gc
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton, QWidget
from test_ui_samples import RecordingDesk, representative_states

from kiosk.config import load_config
from ui import keyboard
from ui.keyboard import DESKTOP_DISABLE, IM_MODULE, plugin_dirs, plugin_present, prepare, takes_text
from ui.window import KioskOptions, KioskWindow

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def fresh_log(monkeypatch):
    """The "unavailable" message is said once per process: start from unsaid."""
    monkeypatch.setattr(keyboard, "_said_unavailable", False)


def _unavailable_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ui.keyboard" and "unavailable" in r.getMessage()]


# -- choosing the input method ----------------------------------------------------------------


def test_the_plugin_and_the_vietnamese_layout_ship_with_pyside6() -> None:
    assert plugin_present(plugin_dirs({}))
    layouts = Path(plugin_dirs({})[-1]).parent / "qml" / "QtQuick" / "VirtualKeyboard" / "Layouts"
    assert any(layouts.glob("*qtvkblayoutsplugin*"))  # vi_VN is compiled into it (checked live in the session)


def test_switched_off_in_the_configuration_nothing_is_set(fresh_log, caplog) -> None:
    env: dict[str, str] = {}
    assert prepare(False, environ=env) is False
    assert env == {} and not _unavailable_records(caplog)


def test_a_missing_plugin_is_said_once_and_changes_nothing(fresh_log, caplog, tmp_path: Path) -> None:
    env: dict[str, str] = {}
    with caplog.at_level(logging.WARNING, logger="ui.keyboard"):
        assert prepare(True, search=[tmp_path], environ=env) is False
        assert prepare(True, search=[tmp_path], environ=env) is False
    assert env == {}
    records = _unavailable_records(caplog)
    assert len(records) == 1 and "not installed" in records[0].getMessage()


def test_too_late_once_the_application_exists(qapp, fresh_log, caplog) -> None:
    env: dict[str, str] = {}
    with caplog.at_level(logging.WARNING, logger="ui.keyboard"):
        assert prepare(True, environ=env) is False
    assert "QT_IM_MODULE" not in env and DESKTOP_DISABLE not in env
    assert "already exists" in _unavailable_records(caplog)[0].getMessage()


def test_configuration_key_defaults_on_and_can_be_switched_off() -> None:
    assert load_config(None, {})["kiosk.virtual_keyboard"] is True
    assert load_config(None, {"KIOSK_KIOSK_VIRTUAL_KEYBOARD": "false"})["kiosk.virtual_keyboard"] is False


# -- the window without the keyboard's input method --------------------------------------------


def test_window_starts_without_the_keyboard_when_it_cannot_run(qtbot, fresh_log, caplog) -> None:
    # This process's QApplication was created without QT_IM_MODULE: the
    # situation of a kiosk whose plugin is missing. No crash, one log line.
    assert os.environ.get("QT_IM_MODULE") != IM_MODULE
    gc.collect()
    with caplog.at_level(logging.WARNING, logger="ui.keyboard"):
        w = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000, virtual_keyboard=True))
        qtbot.addWidget(w)
        w2 = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000, virtual_keyboard=True))
        qtbot.addWidget(w2)
    assert w.keyboard is None and w2.keyboard is None
    assert len(_unavailable_records(caplog)) == 1
    w.show()
    for state in list(representative_states().values())[:3]:
        w.render(state)  # the screens work as before


def test_no_patient_screen_has_a_text_field(qtbot) -> None:
    """Patients type only the ID, on the keypad's buttons: nothing on their
    screens can summon a system keyboard."""
    gc.collect()
    w = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000))
    qtbot.addWidget(w)
    patient = [*w.screens.values(), w.keypad.keypad, w.top_bar, w.countdown, w.notice]
    typed_into = [c for p in patient for c in p.findChildren(QWidget) if takes_text(c)]
    assert typed_into == []


def test_what_counts_as_a_text_field(qtbot) -> None:
    edit, read_only, button = QLineEdit(), QLineEdit(), QPushButton("OK")
    read_only.setReadOnly(True)
    for widget in (edit, read_only, button):
        qtbot.addWidget(widget)
    assert takes_text(edit) and not takes_text(read_only) and not takes_text(button) and not takes_text(None)
    edit.setEnabled(False)
    assert not takes_text(edit)


def test_number_settings_open_the_number_layout(qtbot) -> None:
    from launcher.wiring import build_kiosk
    from ui.technician.pages import ConfigPage

    kiosk = build_kiosk(load_config(None, {"KIOSK_HUB_BACKEND": "simulated", "KIOSK_CAMERA_BACKEND": "none"}))
    try:
        from launcher.technician import build_technician

        page = ConfigPage(build_technician(kiosk))
        qtbot.addWidget(page)
        page.opened()
        page.key.setCurrentText("kiosk.idle_timeout_seconds")
        assert page.value.inputMethodHints() & Qt.InputMethodHint.ImhFormattedNumbersOnly
        page.key.setCurrentText("kiosk.hospital_name")
        assert page.value.inputMethodHints() == Qt.InputMethodHint.ImhNone
    finally:
        kiosk.stop()


# -- the keyboard itself, in its own process ----------------------------------------------------


def test_keyboard_in_a_real_window(artifacts_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_IM_MODULE", DESKTOP_DISABLE)}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["KIOSK_ARTIFACTS"] = str(artifacts_dir)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/ui_keyboard_session.py", "-q", "-p", "no:cacheprovider"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout


# -- touch targets at the configured DPI (issue 8: "15 mm at the configured DPI") ------------------


def test_touch_targets_follow_the_configured_screen_dpi(qtbot) -> None:
    gc.collect()
    w = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000, screen_dpi=300))
    qtbot.addWidget(w)
    ratio = w.screen().devicePixelRatio() if w.screen() is not None else 1.0
    # 15 mm at 300 dpi = 177.2 dots.
    assert w.metrics.touch_px >= math.ceil(15 / 25.4 * 300 / ratio)
    plain = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000))
    qtbot.addWidget(plain)
    assert plain.metrics.touch_px < w.metrics.touch_px  # the offscreen screen reports 96 dpi
    assert load_config(None, {})["kiosk.screen_dpi"] == 0
    assert load_config(None, {"KIOSK_KIOSK_SCREEN_DPI": "141"})["kiosk.screen_dpi"] == 141
