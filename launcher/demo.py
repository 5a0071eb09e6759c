"""`kiosk demo`: the whole kiosk on simulated devices with an in-process hub.

With a display it opens the kiosk full screen plus the simulator panel, a
small handle in the top bar's free middle (keys 1–4 tap a sample citizen's
card, 0 lifts it). Without one (CI, an SSH
session) it checks in every sample citizen through the real screens on
Qt's offscreen platform, saves a screenshot of every screen it passes and
every printed ticket into the output folder, and exits 0 when every citizen
got a ticket.

The state (hub database, outbox, keys) lives in a fresh temporary folder, so
every demo starts from an empty day; the output folder keeps only what a
person wants to look at.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config import load_config
from kiosk.flow import FlowState, Step
from launcher.app import headless, qt_application
from launcher.payment_demo import DEMO_PAYMENT_ENVIRON, demo_bank_shortcut, pay_on_screen

log = logging.getLogger(__name__)

DEMO_TECHNICIAN_PIN = "246810"

# Which visit each sample citizen asks for in the scripted run, so the
# screenshots show each kind of visit and several departments.
_SCRIPT = {
    1: ("visit-new", 0),
    2: ("visit-re_exam", 1),
    3: ("visit-new", 2),
    4: ("visit-referral", 3),
}


def demo_config(state_dir: Path, output: Path):
    return load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(state_dir),
            "KIOSK_PRINTER_FOLDER": str(output / "tickets"),
            "KIOSK_KIOSK_FULLSCREEN": "true",
            **DEMO_PAYMENT_ENVIRON,
        },
    )


@dataclass
class ScriptedCheckIn:
    """Drives the real kiosk window the way a patient would: by clicking its
    buttons, and by tapping cards on the simulated reader.

    Every wait is bounded; a step that does not come is an error with the
    step's name, never a hang.
    """

    app: object
    window: object
    kiosk: object
    screens_dir: Path
    timeout: float = 30.0
    shots: list[Path] = field(default_factory=list)
    _label: str = "start"
    _last_step: Step | None = None

    def __post_init__(self) -> None:
        self.screens_dir.mkdir(parents=True, exist_ok=True)

    # -- waiting and looking -------------------------------------------------------

    def pump(self, seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.005)

    def wait_until(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self.app.processEvents()
            if predicate():
                self.pump(0.1)  # let the screen render what it just received
                return
            time.sleep(0.01)
        raise TimeoutError(f"demo: waited {self.timeout:.0f} s for {what}")

    def state(self) -> FlowState:
        return self.kiosk.flow.state

    def wait_step(self, step: Step, *, idle_work: bool = True) -> None:
        def ready() -> bool:
            s = self.state()
            shown = self.window.current_screen() is self.window.screens[step]
            return s.step is step and shown and not (idle_work and s.busy)

        self.wait_until(ready, f"the {step.value} screen")

    def shoot(self, name: str) -> Path:
        path = self.screens_dir / f"{len(self.shots) + 1:02d}-{self._label}-{name}.png"
        self.window.grab().save(str(path))
        self.shots.append(path)
        return path

    def click(self, object_name: str) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QAbstractButton

        screen = self.window.current_screen()
        button = screen.findChild(QAbstractButton, object_name)
        if button is None or not button.isVisible():
            raise LookupError(f"demo: no visible button {object_name!r} on {type(screen).__name__}")
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    def click_attr(self, attr: str) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        button = getattr(self.window.current_screen(), attr)
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    def first_tile(self, prefix: str, index: int = 0) -> str:
        from PySide6.QtWidgets import QAbstractButton

        names = [
            b.objectName()
            for b in self.window.current_screen().findChildren(QAbstractButton)
            if b.objectName().startswith(prefix) and b.isVisible()
        ]
        if not names:
            raise LookupError(f"demo: no {prefix}* tiles on screen")
        return names[index % len(names)]

    # -- the script ------------------------------------------------------------------

    def welcome_and_identify(self) -> None:
        self._label = "welcome"
        self.wait_step(Step.IDLE)
        self.shoot("idle")
        self.click_attr("start")
        self.wait_step(Step.IDENTIFY)
        self.shoot("identify")
        self.click_attr("back")
        self.wait_step(Step.IDLE)

    def check_in(self, slot: int) -> str:
        visit, department_index = _SCRIPT.get(slot, ("visit-new", slot))
        self._label = f"citizen{slot}"
        self.wait_step(Step.IDLE)
        self.kiosk.simulator.tap(slot)
        self.wait_step(Step.IDENTITY_CHECK)
        self.shoot("identity_check")
        self.click_attr("yes")
        self.wait_step(Step.INSURANCE)
        self.shoot("insurance")
        self.click_attr("next")
        self.wait_step(Step.VISIT_TYPE)
        self.shoot("visit_type")
        self.click(visit)
        self.wait_step(Step.DEPARTMENT)
        self.shoot("department")
        self.click(self.first_tile("department-", department_index))
        self.wait_until(
            lambda: self.state().step is Step.CONFIRM or self.state().session.department is not None,
            "a department choice",
        )
        if self.state().step is Step.DEPARTMENT:
            self.pump(0.1)
            self.shoot("service")
            self.click(self.first_tile("service-"))
        self.wait_step(Step.CONFIRM)
        self.shoot("confirm")
        self.click("confirm")
        self.wait_until(lambda: self.state().step in (Step.PRINTING, Step.DONE), "printing")
        if self.state().step is Step.PRINTING:
            self.shoot("printing")
        self.wait_step(Step.DONE)
        self.shoot("done")
        if self.state().session.payment is not None:
            # A fee-paying patient pays the VietQR with the simulated bank;
            # the kiosk's payment watcher turns the panel to "paid".
            if not pay_on_screen(self.kiosk):
                raise RuntimeError(f"{self._label}: the simulated bank did not take the payment")
            self.wait_until(lambda: self.state().session.payment.paid, "the hub confirming the VietQR payment")
            self.shoot("done-paid")
        number = self.state().session.ticket.display_number
        self.kiosk.simulator.lift()
        self.click("finish")
        self.wait_step(Step.IDLE)
        return number

    def vneid(self, slot: int) -> None:
        """A phone's VNeID code held to the camera: the hub's simulated
        verifier names the citizen; the demo stops at "is this you?"."""
        self._label = f"vneid{slot}"
        self.wait_step(Step.IDLE)
        self.kiosk.simulator.show_vneid(slot)
        self.wait_step(Step.IDENTITY_CHECK)
        self.shoot("identity_check")
        self.kiosk.simulator.lift()
        self.click_attr("not_me")
        self.wait_step(Step.IDLE)

    def unknown_qr(self) -> None:
        self._label = "unknown-qr"
        self.wait_step(Step.IDLE)
        self.kiosk.simulator.show_qr("https://example.com/khuyen-mai")
        self.wait_step(Step.ERROR)
        self.shoot("error")
        self.kiosk.simulator.lift()
        self.click_attr("home")
        self.wait_step(Step.IDLE)


def run_demo(output: Path, *, scripted: bool = False) -> int:
    from launcher.wiring import build_kiosk
    from ui.runner import DeskRunner
    from ui.keyboard import prepare as prepare_keyboard
    from ui.window import KioskOptions, KioskWindow

    scripted = scripted or headless()
    output = output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    state_dir = Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    config = demo_config(state_dir, output)
    # Before the QApplication (Qt picks its input method then): technician
    # mode types on the on-screen keyboard, as on a kiosk without keys.
    keyboard = False if scripted else prepare_keyboard(config["kiosk.virtual_keyboard"])
    app = qt_application()
    kiosk = build_kiosk(config)
    kiosk.start()
    runner = DeskRunner(kiosk.desk, kiosk.flow, kiosk.sync)
    hospital = kiosk.config["kiosk.hospital_name"]
    try:
        if scripted:
            window = KioskWindow(runner, KioskOptions(hospital_name=hospital))
            window.attach_camera(kiosk.camera_preview, mirror=kiosk.config["camera.mirror_preview"])
            window.resize(1280, 800)
            window.show()
            return _scripted(app, window, kiosk, output)
        from launcher.technician import build_technician

        # Technician mode in the demo: five taps on the hospital name, PIN 246810
        # (the demo's data folder is new each run, so is its PIN file).
        technician = build_technician(kiosk)
        technician.gate.set_pin(DEMO_TECHNICIAN_PIN, via="demo")
        window = KioskWindow(
            runner,
            KioskOptions(
                hospital_name=hospital, fullscreen=True, hide_cursor=False, block_shortcuts=False, virtual_keyboard=keyboard
            ),
            technician=technician,
        )
        window.attach_camera(kiosk.camera_preview, mirror=kiosk.config["camera.mirror_preview"])
        window.show_kiosk()
        panel = demo_panel(kiosk, window)
        pay_key = demo_bank_shortcut(window, kiosk)  # noqa: F841 - kept alive with the window
        panel.show()
        print(f"Kiosk demo running. Hub: {kiosk.embedded_hub.url}  Tickets: {output / 'tickets'}")
        print("Keys 1-4 tap a sample citizen's card, 0 lifts it. Close the window (Ctrl+Q) to stop.")
        print("The 'Thẻ mẫu (demo)' handle in the top bar opens the sample cards and VNeID codes.")
        print("Key P: the simulated bank pays the VietQR on screen (fee-paying patients).")
        print(f"Technician mode: tap the hospital name 5 times, PIN {DEMO_TECHNICIAN_PIN}.")
        # Spoken prompts, as on a real kiosk (silent without espeak-ng).
        from drivers.voice import voice_prompter
        from kiosk.voice import VoiceGuide

        kiosk.flow.subscribe(VoiceGuide(voice_prompter("auto")))
        return app.exec()
    finally:
        window.request_exit()
        runner.shutdown(5)
        kiosk.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


def demo_panel(kiosk, window):  # noqa: ANN001, ANN201
    """The simulator panel, collapsed into a handle docked in the free middle
    of the kiosk's top bar (the one strip no screen puts content in)."""
    from ui.simulator_panel import SimulatorPanel, top_bar_free_area

    sim = kiosk.simulator
    citizens = [(c["full_name"], lambda s=c["slot"]: sim.tap(s)) for c in sim.citizens]
    codes = [(c["full_name"], lambda s=c["slot"]: sim.show_vneid(s)) for c in sim.citizens]
    panel = SimulatorPanel(citizens, sim.lift, codes=codes)
    bar = window.top_bar
    panel.dock(lambda: top_bar_free_area(bar), window, bar, bar.hospital, bar.status, bar.large_text, bar.language)
    return panel


def _scripted(app, window, kiosk, output: Path) -> int:  # noqa: ANN001
    script = ScriptedCheckIn(app, window, kiosk, output / "screens")
    script.wait_until(lambda: kiosk.flow.state.reference is not None, "reference data from the hub")
    script.welcome_and_identify()
    numbers = {}
    for citizen in kiosk.simulator.citizens:
        slot = citizen["slot"]
        numbers[slot] = script.check_in(slot)
        print(f"citizen {slot}: ticket {numbers[slot]}")
    script.vneid(2)
    script.unknown_qr()
    tickets = sorted((output / "tickets").glob("*.png"))
    # Put the ticket images beside the screenshots, as the demo promises.
    for ticket in tickets:
        shutil.copy2(ticket, output / f"ticket-{ticket.name}")
    print(f"{len(script.shots)} screenshots in {output / 'screens'}, {len(tickets)} tickets in {output / 'tickets'}")
    if len(numbers) != len(kiosk.simulator.citizens) or len(tickets) < len(numbers):
        print("demo: not every citizen got a ticket")
        return 1
    return 0
