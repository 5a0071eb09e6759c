"""Run the kiosk: build it from configuration and open the touch screens."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
from pathlib import Path

from kiosk.config import KioskConfig

log = logging.getLogger(__name__)


def headless() -> bool:
    """No display to show a window on (CI, a service without a session)."""
    return not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")


def qt_application():
    """The process's QApplication, created on first use.

    Without a display Qt's default platform aborts the process, so fall back
    to the offscreen platform (screenshots still work there).
    """
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        return app
    if headless() and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "kiosk"])
    app.setApplicationName("vn-checkin-kiosk")
    return app


def run_app(config: KioskConfig, *, ticket_folder: Path | None = None) -> int:
    from launcher.wiring import build_kiosk
    from ui.keyboard import prepare as prepare_keyboard
    from ui.runner import DeskRunner
    from ui.window import KioskOptions, KioskWindow

    # Before the QApplication: Qt chooses its input method when it is created.
    keyboard = prepare_keyboard(config["kiosk.virtual_keyboard"])
    app = qt_application()
    kiosk = build_kiosk(config, ticket_folder=ticket_folder)
    kiosk.start()
    runner = DeskRunner(kiosk.desk, kiosk.flow, kiosk.sync)
    if config["kiosk.fullscreen"]:
        options = KioskOptions.locked_down(config["kiosk.hospital_name"], config["kiosk.language"])
    else:
        options = KioskOptions(hospital_name=config["kiosk.hospital_name"], language=config["kiosk.language"])
    options = dataclasses.replace(options, virtual_keyboard=keyboard, screen_dpi=float(config["kiosk.screen_dpi"]))
    from launcher.technician import build_technician

    window = KioskWindow(runner, options, technician=build_technician(kiosk))
    # Spoken prompts for each step (espeak-ng's Vietnamese voice, or silence).
    from drivers.voice import voice_prompter
    from kiosk.voice import VoiceGuide

    voice = voice_prompter(config["kiosk.voice"])
    kiosk.flow.subscribe(VoiceGuide(voice))
    window.attach_camera(kiosk.camera_preview, mirror=config["camera.mirror_preview"])
    window.show_kiosk()
    # SIGTERM from the service manager: leave the event loop cleanly so the
    # outbox is closed and the sync thread stops.
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    from PySide6.QtCore import QTimer

    # Python runs signal handlers only when it gets control; Qt's loop is C++.
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(500)
    # systemd (sd_notify(3)): READY once the window is up, then WATCHDOG=1
    # from this timer on the UI thread, so a hung event loop stops the pings
    # and the service manager restarts the kiosk (WatchdogSec= in the unit).
    from launcher.sdnotify import ServiceNotifier

    service = ServiceNotifier.from_environment()
    watchdog = QTimer()
    if service.ping_milliseconds() is not None:
        watchdog.timeout.connect(lambda: service.notify("WATCHDOG=1"))
        watchdog.start(service.ping_milliseconds())
    service.notify("READY=1")
    try:
        return app.exec()
    finally:
        service.notify("STOPPING=1")
        window.request_exit()
        runner.shutdown(5)
        voice.close()
        kiosk.stop()
