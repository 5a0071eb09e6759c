"""`kiosk doctor`: every check answers OK/WARN/FAIL with a reason, never a traceback.

Real parts: configuration files, data directories and outbox files on disk,
a hub over HTTP on 127.0.0.1. Replaced at the OS edge only: the PC/SC
library, fontconfig's fc-list, the camera and the printer (`Probes`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from drivers.card.pcsc import Usability
from kiosk.errors import CardError
from kiosk.ports import PrinterStatus
from launcher.cli import main as kiosk_main
from launcher.doctor import FAIL, OK, WARN, Probes, diagnose, run_doctor
from server.embedded import start_embedded_hub


class FakePcsc:
    def __init__(self, usable: bool = True, readers: list[str] | None = None, list_error: str | None = None) -> None:
        self.usable = usable
        self.readers = readers or []
        self.list_error = list_error

    def is_usable(self) -> Usability:
        return Usability(self.usable, "ok" if self.usable else "pcscd is not running or not reachable (test)")

    def list_readers(self) -> list[str]:
        if self.list_error:
            raise CardError(self.list_error)
        return self.readers


def probes(**kwargs) -> Probes:
    defaults = dict(
        pcsc=FakePcsc(readers=["ACS ACR1252 Dual Reader [ACR1252 Dual Reader PICC] 00 00"]),
        fc_list=lambda charset: ["DejaVu Sans", "Noto Sans"],
        open_camera=lambda *a: None,
        printer_status=lambda config: PrinterStatus(online=True, detail="online, paper present"),
    )
    defaults.update(kwargs)
    return Probes(**defaults)


def statuses(report) -> dict[str, tuple[str, str]]:
    return {f.check: (f.status, f.reason) for f in report.findings}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("KIOSK_") and not name.startswith("KIOSK_TEST"):
            monkeypatch.delenv(name)


def test_invalid_configuration_fails_with_the_key_and_still_checks_the_rest(tmp_path):
    config = write_config(tmp_path, '[printer]\nwidth_dots = 500\n')
    report = diagnose(config, probes())
    found = statuses(report)
    assert found["configuration"][0] == FAIL
    assert "printer.width_dots" in found["configuration"][1]
    assert found["fonts"][0] == OK  # checks that need no configuration still run
    assert report.failed


def test_missing_configuration_file_is_a_fail_not_a_traceback(tmp_path, capsys):
    status = kiosk_main(["doctor", "--config", str(tmp_path / "nope.toml")])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL  configuration" in out and "does not exist" in out
    assert "Traceback" not in out


def test_demo_defaults_warn_but_do_not_fail(tmp_path):
    config = write_config(tmp_path, f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n')
    report = diagnose(config, probes(pcsc=FakePcsc(usable=False)))
    found = statuses(report)
    assert found["backends"][0] == WARN
    assert found["pcscd"][0] == WARN  # PC/SC not configured: informative only
    assert found["data directory"][0] == WARN and "does not exist yet" in found["data directory"][1]
    assert not report.failed
    assert run_doctor(config, out=lambda text: None, probes=probes(pcsc=FakePcsc(usable=False))) == 0


def production(tmp_path: Path, hub_url: str = "https://hub.example", extra: str = "", **hub: str) -> Path:
    lines = [
        "[kiosk]", f'data_dir = "{tmp_path / "data"}"',
        "[card]", 'backend = "pcsc"',
        "[camera]", 'backend = "opencv"', 'device = "/dev/null"',
        "[printer]", 'backend = "escpos"', 'connection = "network"', 'host = "192.0.2.10"',
        "[hub]", 'backend = "http"', f'url = "{hub_url}"',
    ]
    lines += [f'{k} = "{v}"' for k, v in hub.items()]
    return write_config(tmp_path, "\n".join(lines) + "\n" + extra)


def test_pcsc_backend_without_pcscd_fails(tmp_path):
    report = diagnose(production(tmp_path), probes(pcsc=FakePcsc(usable=False)))
    assert statuses(report)["pcscd"] == (FAIL, "pcscd is not running or not reachable (test)")
    assert report.failed


def test_pcsc_backend_without_a_reader_fails_and_listing_errors_are_reported(tmp_path):
    report = diagnose(production(tmp_path), probes(pcsc=FakePcsc(readers=[])))
    assert statuses(report)["card reader"][0] == FAIL
    report = diagnose(production(tmp_path), probes(pcsc=FakePcsc(list_error="PC/SC cannot list readers: boom")))
    assert statuses(report)["pcscd"] == (FAIL, "PC/SC cannot list readers: boom")


def test_vpcd_virtual_readers_are_flagged(tmp_path):
    readers = ["Virtual PCD 00 00", "Virtual PCD 00 01"]
    report = diagnose(production(tmp_path), probes(pcsc=FakePcsc(readers=readers)))
    found = statuses(report)
    assert found["card readers"][0] == FAIL and "35963" in found["card readers"][1]
    assert found["card reader"][0] == FAIL  # only virtual ones: no real reader


def test_reader_name_filter(tmp_path):
    config = production(tmp_path, extra="")
    text = config.read_text().replace('backend = "pcsc"', 'backend = "pcsc"\nreader = "Omnikey"')
    config.write_text(text)
    report = diagnose(config, probes())
    status, reason = statuses(report)["card reader"]
    assert status == FAIL and "Omnikey" in reason and "ACR1252" in reason


def test_camera_and_printer_problems_are_fails_with_reasons(tmp_path):
    report = diagnose(
        production(tmp_path),
        probes(
            open_camera=lambda *a: "cannot open the device",
            printer_status=lambda config: PrinterStatus(online=True, paper_out=True, detail="paper out"),
        ),
    )
    found = statuses(report)
    assert found["camera"] == (FAIL, "device /dev/null: cannot open the device")
    assert found["printer"] == (FAIL, "paper out")


def test_camera_index_without_a_device_node(tmp_path):
    config = production(tmp_path)
    config.write_text(config.read_text().replace('device = "/dev/null"', 'device = "97"'))
    found = statuses(diagnose(config, probes()))
    assert found["camera"][0] == FAIL and "/dev/video97" in found["camera"][1]


def test_a_check_that_raises_becomes_a_fail_line(tmp_path):
    def broken(config):
        raise RuntimeError("driver exploded")

    report = diagnose(production(tmp_path), probes(printer_status=broken))
    assert statuses(report)["printer"] == (FAIL, "check failed: RuntimeError: driver exploded")
    assert "Traceback" not in report.text()


def test_data_directory_mode(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    found = statuses(diagnose(production(tmp_path), probes()))
    assert found["data directory"][0] == FAIL and "0755" in found["data directory"][1]
    data.chmod(0o700)
    found = statuses(diagnose(production(tmp_path), probes()))
    assert found["data directory"][0] == OK


def test_fonts(tmp_path):
    config = production(tmp_path)
    assert statuses(diagnose(config, probes(fc_list=lambda c: [])))["fonts"][0] == FAIL
    assert statuses(diagnose(config, probes(fc_list=lambda c: ["DejaVu Sans"])))["fonts"][0] == WARN
    assert statuses(diagnose(config, probes(fc_list=lambda c: None)))["fonts"][0] == WARN


def test_real_fontconfig_finds_vietnamese_fonts_here():
    # The test machine has fonts-noto-core (Makefile SYSTEM_PACKAGES).
    from launcher.doctor import VIETNAMESE_CHARSET, _fc_list_families

    families = _fc_list_families(VIETNAMESE_CHARSET)
    assert families is not None, "fc-list missing: the Makefile installs fontconfig"
    assert "Noto Sans" in families


@pytest.fixture
def hub(tmp_path):
    served = start_embedded_hub(tmp_path / "hub" / "hub.sqlite3")
    yield served
    served.stop()


def secret_file(tmp_path: Path, secret: str, mode: int = 0o600) -> Path:
    path = tmp_path / "hub.secret"
    path.write_text(secret + "\n")
    path.chmod(mode)
    return path


def test_hub_reachable_credential_accepted_clock_close(tmp_path, hub):
    config = production(tmp_path, hub.url, kiosk_id=hub.kiosk_id, secret_file=str(secret_file(tmp_path, hub.kiosk_secret)))
    found = statuses(diagnose(config, probes()))
    assert found["hub"][0] == OK
    assert found["clock"][0] == OK
    assert found["hub credential"][0] == OK and "departments" in found["hub credential"][1]


def test_wrong_secret_is_refused(tmp_path, hub):
    config = production(tmp_path, hub.url, kiosk_id=hub.kiosk_id, secret_file=str(secret_file(tmp_path, "not-the-secret")))
    found = statuses(diagnose(config, probes()))
    assert found["hub"][0] == OK
    assert found["hub credential"][0] == FAIL and "refused" in found["hub credential"][1]


def test_kiosk_clock_an_hour_off_fails(tmp_path, hub):
    config = production(tmp_path, hub.url, kiosk_id=hub.kiosk_id, secret_file=str(secret_file(tmp_path, hub.kiosk_secret)))
    found = statuses(diagnose(config, probes(now=lambda: time.time() - 3600)))
    assert found["clock"][0] == FAIL and "behind the hub" in found["clock"][1]


def test_secret_file_readable_by_others_or_missing(tmp_path, hub):
    loose = secret_file(tmp_path, hub.kiosk_secret, 0o644)
    config = production(tmp_path, hub.url, kiosk_id=hub.kiosk_id, secret_file=str(loose))
    assert "0644" in statuses(diagnose(config, probes()))["hub credential"][1]
    config = production(tmp_path, hub.url, kiosk_id=hub.kiosk_id, secret_file=str(tmp_path / "absent"))
    assert statuses(diagnose(config, probes()))["hub credential"][0] == FAIL


def test_hub_unreachable(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = production(tmp_path, f"http://127.0.0.1:{port}")
    found = statuses(diagnose(config, probes()))
    assert found["hub"][0] == FAIL and "unreachable" in found["hub"][1]


def test_outbox_counts_waiting_and_rejected_rows_without_taking_the_lock(tmp_path):
    from datetime import datetime

    from kiosk.domain import VIETNAM_TZ
    from offline_cache.keys import load_or_create_key
    from offline_cache.store import OutboxStore
    from test_outbox_store import make_registration

    data = tmp_path / "data"
    store = OutboxStore(data / "outbox.sqlite3", load_or_create_key(data / "outbox.key"), kiosk_id="K01")
    try:
        for n in range(3):
            store.add(make_registration(f"doctor-{n}"))
        store.reject(store.claim_batch(1, datetime(2100, 1, 1, tzinfo=VIETNAM_TZ))[0], "unknown department")
        # The kiosk is "running": the store holds its lock while the doctor reads.
        found = statuses(diagnose(production(tmp_path), probes()))
    finally:
        store.close()
    assert found["outbox"][0] == WARN and found["outbox"][1].startswith("2 registration(s) not yet delivered")
    assert found["outbox rejected"][0] == WARN
    # The key gone with rows still waiting: nothing can read them.
    (data / "outbox.key").unlink()
    found = statuses(diagnose(production(tmp_path), probes()))
    assert found["outbox key"][0] == FAIL


def test_migrate_command(tmp_path, capsys):
    config = write_config(tmp_path, f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n')
    assert kiosk_main(["migrate", "--config", str(config)]) == 0
    assert "nothing to migrate" in capsys.readouterr().out
    from offline_cache.keys import load_or_create_key
    from offline_cache.store import OutboxStore

    data = tmp_path / "data"
    OutboxStore(data / "outbox.sqlite3", load_or_create_key(data / "outbox.key"), kiosk_id="K01").close()
    assert kiosk_main(["migrate", "--config", str(config)]) == 0
    assert "outbox schema at version" in capsys.readouterr().out
    (data / "outbox.key").unlink()
    assert kiosk_main(["migrate", "--config", str(config)]) == 1
    assert not (data / "outbox.key").exists()  # never papered over with a new key
