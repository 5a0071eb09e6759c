"""Technician mode's core: the PIN gate and its lockout, the audit log, the
console's operations over the real wiring (simulated devices, real SQLite
outbox, an embedded hub over HTTP), config edits validated before saving."""

from __future__ import annotations

import io
import json
import stat
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kiosk.clock import ManualClock
from kiosk.config import load_config
from kiosk.errors import ConfigError, HubRejected, PrinterOutOfPaper
from kiosk.technician import (
    LOCKOUT_SECONDS,
    MAX_FAILURES,
    PinRejected,
    RecentLog,
    check_new_pin,
    scrub,
)
from launcher.technician import Argon2PinHasher, build_technician, http_hub_probe, set_pin_command, technician_gate
from launcher.wiring import build_kiosk

# Cheap parameters: the tests check the logic, not argon2's cost.
FAST = Argon2PinHasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
PIN = "482915"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture()
def gate(tmp_path: Path, clock: ManualClock):
    g = technician_gate(tmp_path, clock, FAST)
    g.set_pin(PIN, via="test")
    return g


# -- the PIN ------------------------------------------------------------------------------


def test_pin_is_stored_as_an_argon2_hash_readable_by_the_owner_only(gate, tmp_path: Path) -> None:
    text = gate.path.read_text()
    assert PIN not in text
    assert json.loads(text)["hash"].startswith("$argon2id$")
    assert mode(gate.path) == 0o600
    assert gate.unlock(PIN).granted


@pytest.mark.parametrize("pin", ["12345", "1234567890123", "12a456", "111111", "123456", "987654", "４８２９１５"])
def test_weak_or_malformed_pins_are_refused(pin: str) -> None:
    with pytest.raises(PinRejected):
        check_new_pin(pin)


def test_five_failures_lock_the_gate_even_across_a_restart(gate, tmp_path: Path, clock: ManualClock) -> None:
    for i in range(MAX_FAILURES - 1):
        answer = gate.unlock("000001")
        assert not answer.granted and answer.remaining == MAX_FAILURES - 1 - i
    locked = gate.unlock("000001")
    assert locked.locked_seconds == LOCKOUT_SECONDS
    # The right PIN does not help while locked, nor does a new process.
    again = technician_gate(tmp_path, clock, FAST)
    assert again.unlock(PIN).locked_seconds > 0
    clock.advance(LOCKOUT_SECONDS + 1)
    assert again.unlock(PIN).granted


def test_a_success_resets_the_count(gate) -> None:
    for _ in range(MAX_FAILURES - 1):
        gate.unlock("000001")
    assert gate.unlock(PIN).granted
    assert gate.unlock("000001").remaining == MAX_FAILURES - 1


def test_no_pin_set_refuses_entry(tmp_path: Path, clock: ManualClock) -> None:
    g = technician_gate(tmp_path, clock, FAST)
    answer = g.unlock("")
    assert not answer.granted and not answer.pin_set


def test_a_damaged_pin_file_keeps_the_gate_shut(gate) -> None:
    gate.path.write_text("{not json")
    assert not gate.unlock(PIN).granted


def test_audit_log_records_entries_without_the_pin(gate) -> None:
    gate.unlock("000001")
    gate.unlock(PIN)
    events = [e["event"] for e in gate.audit.entries()]
    assert events == ["pin_changed", "entry_refused", "entry_granted"]
    assert PIN not in gate.audit.path.read_text() and "000001" not in gate.audit.path.read_text()
    assert mode(gate.audit.path) == 0o600


def test_set_technician_pin_cli(tmp_path: Path) -> None:
    config = load_config(None, {"KIOSK_KIOSK_DATA_DIR": str(tmp_path)})
    assert set_pin_command(config, from_stdin=True, stdin=io.StringIO("111111\n")) == 1  # refused, nothing written
    assert not (tmp_path / "technician-pin.json").exists()
    assert set_pin_command(config, from_stdin=True, stdin=io.StringIO(f"{PIN}\n")) == 0
    assert technician_gate(tmp_path, hasher=Argon2PinHasher()).unlock(PIN).granted


def test_cli_has_the_subcommand(tmp_path: Path, monkeypatch) -> None:
    from launcher.cli import main

    monkeypatch.setenv("KIOSK_KIOSK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PIN}\n"))
    assert main(["set-technician-pin", "--pin-stdin"]) == 0


# -- the console over the real wiring ------------------------------------------------------------


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
def console(built, clock: ManualClock):
    c = build_technician(built, clock=clock, hasher=FAST)
    yield c
    c.watch_cards(False)


def test_test_read_without_and_with_a_card(console, built) -> None:
    assert console.test_read().code == "no_card"
    built.simulator.tap(1)
    result = console.test_read()
    assert result.ok and result.code == "ok" and result.detail == "9000"
    assert [e["result"] for e in console.gate.audit.entries() if e["event"] == "test_read"] == ["no_card", "ok"]


def test_card_events_are_seen_live(console, built, qtbot) -> None:
    console.watch_cards(True)
    built.simulator.tap(2)
    qtbot.waitUntil(lambda: any(e.placed for e in console.card_events()))
    built.simulator.lift()
    qtbot.waitUntil(lambda: any(not e.placed for e in console.card_events()))


def test_camera_sample_names_the_code_and_counts_the_rate(console, built, qtbot) -> None:
    built.camera.start()
    built.simulator.tap(1)
    samples = []

    def decoded() -> bool:
        samples.append(console.sample_camera())
        return bool(samples[-1].kinds)

    qtbot.waitUntil(decoded)
    last = samples[-1]
    assert last.kinds == ("CccdQr",) and last.frame is not None
    assert 0 < last.decode_rate <= 1 and last.frames >= 1


def test_printer_test_page_and_out_of_paper(console, built, tmp_path: Path) -> None:
    assert console.printer_status().ready
    console.print_test_page()
    assert list((tmp_path / "tickets").glob("*.png"))
    assert "TRANG IN THỬ" in console.test_page().text()
    (tmp_path / "tickets" / "PAPER_OUT").touch()  # the file printer's switch
    assert console.printer_status().paper_out
    with pytest.raises(PrinterOutOfPaper):
        console.print_test_page()


def test_config_edit_is_validated_before_it_is_written(console, built) -> None:
    path = built.config.source
    before = path.read_text()
    with pytest.raises(ConfigError) as bad:
        console.save_config({"printer.width_dots": "500"})
    assert bad.value.key == "printer.width_dots"
    with pytest.raises(ConfigError):
        console.save_config({"kiosk.idle_timeout_seconds": "soon"})
    with pytest.raises(ConfigError):
        console.save_config({"hub.backend": "http"})  # needs hub.url: the whole file is checked
    assert path.read_text() == before
    saved = console.save_config({"kiosk.idle_timeout_seconds": "90", "kiosk.hospital_name": 'Bệnh viện "A"'})
    assert saved["kiosk.idle_timeout_seconds"] == 90.0
    reread = load_config(path, {})
    assert reread["kiosk.hospital_name"] == 'Bệnh viện "A"'
    assert reread["kiosk.data_dir"] == built.config["kiosk.data_dir"]  # untouched keys kept
    assert mode(path) == 0o600
    assert console.config_values()["kiosk.idle_timeout_seconds"] == "90.0"
    audit = [e for e in console.gate.audit.entries() if e["event"].startswith("config")]
    assert [e["event"] for e in audit] == ["config_refused", "config_refused", "config_refused", "config_saved"]


def test_hub_connection_test_and_save(console, built, tmp_path: Path) -> None:
    from server.embedded import start_embedded_hub

    hub = start_embedded_hub(tmp_path / "hub.sqlite3")
    try:
        assert console.test_hub(hub.url, hub.kiosk_id, hub.kiosk_secret) is True
        with pytest.raises(HubRejected):
            console.test_hub(hub.url, hub.kiosk_id, "wrong-secret")
    finally:
        hub.stop()
    assert http_hub_probe(hub.url, hub.kiosk_id, hub.kiosk_secret, timeout=1) is False  # nobody there now
    with pytest.raises(ConfigError):
        console.save_hub("http://192.0.2.1", "K01", "s3cret")  # plain http off the loopback
    assert not (built.config.data_dir() / "hub.secret").exists()
    console.save_hub("https://hub.example", "K07", "s3cret")
    secret_file = built.config.data_dir() / "hub.secret"
    assert secret_file.read_text().strip() == "s3cret" and mode(secret_file) == 0o600
    config = load_config(built.config.source, {})
    assert (config["hub.backend"], config["hub.url"], config["hub.kiosk_id"]) == ("http", "https://hub.example", "K07")
    assert "s3cret" not in console.gate.audit.path.read_text()


def test_outbox_view_and_force_sync(console, built) -> None:
    view = console.outbox()
    assert view.pending == 0 and view.rejected == ()
    console.force_sync()
    assert console.gate.audit.entries()[-1]["event"] == "force_sync"


def test_exported_log_masks_personal_numbers(console, built, tmp_path: Path) -> None:
    import logging

    recent = console.recent_log
    assert isinstance(recent, RecentLog)
    logging.getLogger("kiosk.test").warning("looked up 001088012345 with card DN4010123456789 and CAN 345678")
    path = console.export_logs()
    text = path.read_text()
    assert "001088012345" not in text and "0123456789" not in text and "345678" not in text
    assert "looked up" in text and mode(path) == 0o600


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("desk operation confirm failed: HubUnavailable", True),
        ("status_word 6982 at step dg13", True),
        ("id 079203001234", False),
        ("phone 0912 345 678", False),
    ],
)
def test_scrub(raw: str, kept: bool) -> None:
    assert (scrub(raw) == raw) is kept


def test_audit_times_are_local(gate, clock: ManualClock) -> None:
    at = datetime.fromisoformat(gate.audit.entries()[-1]["at"])
    assert at.utcoffset() is not None
