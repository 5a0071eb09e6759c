"""Fleet: kiosks report a heartbeat; the admin page lists them and today's queues.

The page is loaded by headless Chromium (Debian's chromium package) from the
hub on 127.0.0.1, and the DOM Chromium built is checked: what a technician's
browser would show, not just the HTML the hub sent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from drivers.hub.http_client import HttpHubClient
from kiosk.domain import VIETNAM_TZ, Citizen, Identity, IdentitySource, Registration, Sex, Verification, VisitType
from kiosk.errors import HubUnavailable
from offline_cache.heartbeat import HeartbeatWorker
from server.embedded import EmbeddedHub, start_embedded_hub

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedHub]:
    embedded = start_embedded_hub(tmp_path_factory.mktemp("fleet") / "hub.sqlite3")
    yield embedded
    embedded.stop()


def client(hub: EmbeddedHub, kiosk_id: str | None = None, secret: str | None = None) -> HttpHubClient:
    return HttpHubClient(hub.url, kiosk_id or hub.kiosk_id, secret or hub.kiosk_secret)


def test_the_heartbeat_worker_reports_version_devices_and_outbox_depth(hub: EmbeddedHub) -> None:
    refreshed = []
    worker = HeartbeatWorker(
        client(hub).heartbeat,
        version="9.9.9-test",
        device_status=lambda: {"printer": {"ok": False, "paper_out": True, "detail": "paper out"}},
        outbox_depth=lambda: 3,
        on_hub_reachable=lambda: refreshed.append(True),
    )
    assert worker.beat_once() is True
    assert refreshed == [True]
    listed = requests.get(
        hub.url + "/api/v1/admin/kiosks", headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10
    ).json()
    mine = next(k for k in listed if k["kiosk_id"] == hub.kiosk_id)
    assert mine["version"] == "9.9.9-test" and mine["outbox_depth"] == 3
    assert mine["devices"]["printer"]["paper_out"] is True


def test_a_beat_to_a_hub_that_is_down_is_only_logged(hub: EmbeddedHub) -> None:
    def down(*_args: object) -> None:
        raise HubUnavailable("no route")

    worker = HeartbeatWorker(down, version="1", device_status=dict, outbox_depth=lambda: 0)
    assert worker.beat_once() is False
    assert worker.last_error == "hub_unavailable"


def test_a_broken_device_status_is_reported_not_raised(hub: EmbeddedHub) -> None:
    def broken() -> dict:
        raise OSError("usb gone")

    sent = []
    worker = HeartbeatWorker(lambda *a: sent.append(a), version="1", device_status=broken, outbox_depth=lambda: 1)
    assert worker.beat_once() is True
    assert sent[0][1]["status"]["ok"] is False and sent[0][2] == 1


def test_the_fleet_page_needs_the_admin_token(hub: EmbeddedHub) -> None:
    assert requests.get(hub.url + "/admin", timeout=10).status_code == 401
    wrong = requests.get(hub.url + "/admin", auth=("admin", "not-a-token"), timeout=10)
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    garbled = requests.get(hub.url + "/admin", headers={"Authorization": "Basic %%%"}, timeout=10)
    assert garbled.status_code == 401


def _register_one(hub: EmbeddedHub, department: str) -> str:
    citizen = Citizen("0799" + uuid.uuid4().int.__str__()[:8], "ĐỖ VĂN TRANG", None, Sex.MALE)
    receipt = client(hub).register(
        Registration(
            key=uuid.uuid4().hex,
            kiosk_id=hub.kiosk_id,
            identity=Identity(citizen, IdentitySource.CHIP, Verification.CHIP_READ),
            insurance=None,
            visit_type=VisitType.NEW,
            department_code=department,
            service_code=f"KB.{department}",
            created_at=datetime.now(VIETNAM_TZ),
        )
    )
    return receipt.display_number


def test_headless_chromium_shows_the_kiosks_and_todays_queues(hub: EmbeddedHub, tmp_path: Path) -> None:
    assert CHROMIUM is not None, "chromium missing: the Makefile installs Debian's chromium"
    silent_id, _secret = hub.add_kiosk("Sảnh B - máy 2")  # issued, never reported
    client(hub).heartbeat("1.2.3", {"printer": {"ok": True}, "card_reader": {"ok": True}}, 0)
    numbers = [_register_one(hub, "TMH") for _ in range(2)]
    client(hub).lease_numbers("TMH", datetime.now(VIETNAM_TZ).date(), 7, "fleet-lease-0001")

    host = hub.url.removeprefix("http://")
    # Basic credentials in the URL: Chromium sends them for a top-level page.
    url = f"http://admin:{quote(hub.admin_token, safe='')}@{host}/admin"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=90,
    )
    dom = done.stdout
    assert "<table" in dom, f"chromium did not render the page: {done.stderr[-2000:]}"
    kiosk_row = re.search(rf'<tr data-kiosk="{hub.kiosk_id}">(.*?)</tr>', dom, re.S).group(1)
    assert "1.2.3" in kiosk_row and "online" in kiosk_row
    silent_row = re.search(rf'<tr data-kiosk="{silent_id}">(.*?)</tr>', dom, re.S).group(1)
    assert "silent" in silent_row and "Sảnh B - máy 2" in silent_row
    queue_row = re.search(r'<tr data-department="TMH">(.*?)</tr>', dom, re.S).group(1)
    assert numbers[-1] in queue_row, "the last number handed out today"
    cells = re.findall(r'<td class="num">(.*?)</td>', queue_row)
    # TMH takes 120 a day: 2 patients leave 118; the 7 leased numbers do not count.
    assert cells == ["2", numbers[-1], "118", "7 (C-201 … C-207)"]
    assert "ĐỖ VĂN TRANG" not in dom, "no personal data on the fleet page"

    shot = Path(__file__).resolve().parent.parent / "artifacts" / "hub-fleet-page.png"
    shot.parent.mkdir(exist_ok=True)
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,900", url],
        capture_output=True,
        timeout=90,
    )


def test_a_wired_kiosk_beats_at_start_up(tmp_path: Path) -> None:
    import time

    from drivers.printer.raster import ensure_qt_gui_application
    from kiosk import __version__
    from kiosk.config import load_config
    from launcher.wiring import build_kiosk

    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_CAMERA_BACKEND": "none",
        },
    )
    kiosk = build_kiosk(config)
    kiosk.start()
    try:
        hub = kiosk.embedded_hub
        deadline = time.monotonic() + 20
        mine = None
        while time.monotonic() < deadline:  # bounded: the first beat is sent at start
            listed = requests.get(
                hub.url + "/api/v1/admin/kiosks", headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10
            ).json()
            mine = next(k for k in listed if k["kiosk_id"] == hub.kiosk_id)
            if mine["version"]:
                break
            time.sleep(0.05)
        assert mine is not None and mine["version"] == __version__
        assert mine["outbox_depth"] == 0
        assert mine["devices"]["printer"]["ok"] is True
        assert mine["devices"]["reference"]["ok"] is True
    finally:
        kiosk.stop()
