"""Check-ins through the real screens, with simulated devices and a real hub.

The window is driven by clicks on its buttons (pytest-qt, offscreen); the
card is a simulated chip read over APDUs; the hub is the embedded FastAPI
server over HTTP on 127.0.0.1 with a SQLite file. Screenshots of every screen
passed go to artifacts/e2e/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from PySide6.QtWidgets import QWidget

from kiosk.config import load_config
from kiosk.domain import NumberIssuer
from kiosk.flow import Step
from launcher.demo import ScriptedCheckIn
from launcher.wiring import build_kiosk
from ui.runner import DeskRunner
from ui.window import KioskOptions, KioskWindow


@pytest.fixture
def rig(qapp, qtbot, tmp_path: Path, artifacts_dir: Path, request):
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_HUB_REGISTER_TIMEOUT_SECONDS": "3",
        },
    )
    kiosk = build_kiosk(config)
    kiosk.start()
    runner = DeskRunner(kiosk.desk, kiosk.flow, kiosk.sync)
    window = KioskWindow(runner, KioskOptions(hospital_name=config["kiosk.hospital_name"]))
    window.resize(1280, 800)
    window.show()
    qtbot.addWidget(window)
    script = ScriptedCheckIn(qapp, window, kiosk, artifacts_dir / "e2e" / request.node.name)
    script.wait_until(lambda: kiosk.flow.state.reference is not None, "reference data")
    yield script
    window.request_exit()
    runner.shutdown(5)
    kiosk.stop()


def visible_text(window) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(label.text() for label in window.findChildren(QLabel) if label.isVisible())


def test_every_sample_citizen_checks_in_through_the_screens(rig):
    rig.welcome_and_identify()
    numbers = [rig.check_in(slot) for slot in (1, 2, 3, 4)]
    rig.unknown_qr()

    # Each patient went to a different department: each got number 1 there.
    assert [n.split("-")[1] for n in numbers] == ["001"] * 4
    assert len({n.split("-")[0] for n in numbers}) == 4
    # Every step of the flow had a screen, and each was photographed.
    shot_steps = {p.stem.rsplit("-", 1)[1] for p in rig.shots}
    assert {s.value for s in Step} <= shot_steps | {"service"}
    # The hub holds four check-in records and the outbox is empty.
    kiosk = rig.kiosk
    assert kiosk.outbox.pending_count() == 0
    hub = kiosk.embedded_hub
    day = kiosk.desk.flow.state.reference.fetched_at or None
    records = requests.get(
        f"{hub.url}/api/v1/admin/checkins",
        params={"date": kiosk.desk._clock.now().date().isoformat(), "format": "json"},
        headers={"Authorization": f"Bearer {hub.admin_token}"},
        timeout=5,
    ).json()
    rows = records["records"] if isinstance(records, dict) else records
    assert len(rows) == 4, day
    tickets = sorted((kiosk.config.data_dir().parent / "tickets").glob("*.png"))
    assert len(tickets) == 4


def test_hub_down_prints_a_number_leased_while_online(rig):
    from kiosk.domain import VIETNAM_TZ

    kiosk = rig.kiosk
    today = kiosk.desk._clock.now().astimezone(VIETNAM_TZ).date()
    prefixes = {d.queue_prefix for d in kiosk.flow.state.reference.departments}
    kiosk.sync.sync_now()  # a pass with the hub online tops the leases up
    rig.wait_until(lambda: all(kiosk.outbox.leased_numbers_left(p, today) == 10 for p in prefixes), "leased blocks")
    kiosk.embedded_hub.stop()
    number = rig.check_in(1)
    prefix, digits = number.split("-")
    assert prefix in prefixes and int(digits) > 100  # the department's outage band, in the hub's format
    assert kiosk.outbox.leased_numbers_left(prefix, today) == 9
    assert kiosk.outbox.pending_count() == 1


def test_printer_out_of_paper_shows_the_number_and_guidance(rig, qtbot):
    printer = rig.kiosk.printer
    printer.paper_out = True
    kiosk = rig.kiosk
    kiosk.simulator.tap(2)
    rig.wait_step(Step.IDENTITY_CHECK)
    rig.click_attr("yes")
    rig.wait_step(Step.INSURANCE)
    rig.click_attr("next")
    rig.wait_step(Step.VISIT_TYPE)
    rig.click("visit-new")
    rig.wait_step(Step.DEPARTMENT)
    rig.click(rig.first_tile("department-"))
    rig.wait_until(lambda: kiosk.flow.state.session.department is not None, "department")
    if kiosk.flow.state.step is Step.DEPARTMENT:
        rig.click(rig.first_tile("service-"))
    rig.wait_step(Step.CONFIRM)
    rig.click("confirm")
    rig.wait_step(Step.DONE)
    rig.shoot("done-paper-out")
    session = kiosk.flow.state.session
    assert session.print_error is not None and session.print_error.code == "printer_paper_out"
    number = rig.window.current_screen().findChild(QWidget, "queue-number")
    assert number.isVisible() and number.text() == session.ticket.display_number
    assert session.print_error.guidance_vi.split(".")[0] in visible_text(rig.window)
    # Nothing lost: the registration reached the hub and the ticket can be
    # printed again once paper is back.
    assert kiosk.outbox.pending_count() == 0
    printer.paper_out = False
    rig.click("reprint")
    rig.wait_until(lambda: len(list(printer.folder.glob("*.png"))) == 1, "the reprint")


def test_idle_timeout_wipes_the_screens(rig):
    kiosk = rig.kiosk
    kiosk.flow.idle_timeout = 1.0  # seconds; the configured minimum is 10
    kiosk.simulator.tap(1)
    rig.wait_step(Step.IDENTITY_CHECK)
    name = kiosk.flow.state.session.identity.citizen.full_name
    assert name in visible_text(rig.window)
    kiosk.simulator.lift()
    rig.wait_step(Step.IDLE)
    from PySide6.QtWidgets import QLabel

    everything = "\n".join(label.text() for label in rig.window.findChildren(QLabel))
    assert name not in everything
    assert kiosk.flow.state.session.identity is None


def test_demo_runs_headless_and_exits_zero(tmp_path: Path):
    """`make demo` without a display: every citizen, screenshots, tickets."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = tmp_path / "demo-output"
    done = subprocess.run(
        [sys.executable, "-m", "launcher.cli", "demo", "--output", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    screens = list((out / "screens").glob("*.png"))
    tickets = list(out.glob("ticket-*.png"))
    assert len(tickets) == 4
    assert len(screens) >= 30
    for citizen_line in ("citizen 1: ticket", "citizen 4: ticket"):
        assert citizen_line in done.stdout
    # Nothing identifying in what the demo printed (its log).
    for secret in ("NGUYỄN VĂN AN", "001058012345", "TRẦN THỊ BÌNH"):
        assert secret not in done.stdout + done.stderr
