"""Field-staff mode: registrations carried by hand in an encrypted bundle.

A laptop (profile "field", no printer) registers people with no network,
exports them; a connected kiosk or the hub imports them, idempotently. Real
SQLite outboxes, the real CLI entry points, the embedded hub over HTTP.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from kiosk.clock import SystemClock
from kiosk.config import load_config
from kiosk.domain import VIETNAM_TZ
from launcher.cli import main as kiosk_cli
from offline_cache.bundle import (
    MAGIC,
    BundleError,
    export_pending,
    import_bundle,
    open_bundle,
    read_file,
)
from offline_cache.keys import load_or_create_key
from offline_cache.store import OutboxStore
from offline_cache.sync import SyncWorker
from server.embedded import start_embedded_hub
from test_outbox_store import KEY, make_registration

PASSPHRASE = "ruộng lúa xanh 2026"


@pytest.fixture
def hub(tmp_path):
    served = start_embedded_hub(tmp_path / "hub" / "hub.sqlite3")
    yield served
    served.stop()


def visit(key: str, kiosk_id: str, minutes: int = 0):
    reg = make_registration(key, kiosk_id=kiosk_id, minutes=minutes)
    return dataclasses.replace(reg, service_code="KB.NOI", created_at=datetime.now(VIETNAM_TZ))


def laptop_outbox(path: Path, kiosk_id: str, count: int = 3) -> OutboxStore:
    store = OutboxStore(path, KEY, kiosk_id, "L01", clock=SystemClock())
    for n in range(count):
        store.add(visit(f"field-{n:04d}", kiosk_id))
        store.assign_offline_number(f"field-{n:04d}", "A", datetime.now(VIETNAM_TZ).date())
    return store


def hub_rows(hub) -> list[tuple]:
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as db:
        rows = db.execute(
            "SELECT key, kiosk_id, origin_kiosk_id, display_number FROM registrations ORDER BY key"
        ).fetchall()
    db.close()
    return rows


def test_a_bundle_round_trips_and_hides_what_it_carries(tmp_path):
    with laptop_outbox(tmp_path / "laptop.sqlite3", "FIELD1") as laptop:
        assert export_pending(laptop, tmp_path / "day.bundle", PASSPHRASE, datetime.now(VIETNAM_TZ)) == 3
        assert laptop.pending_count() == 3  # export changes nothing on the laptop
    data = read_file(tmp_path / "day.bundle")
    assert data.startswith(MAGIC)
    assert (tmp_path / "day.bundle").stat().st_mode & 0o777 == 0o600
    for secret in ("NGUYỄN VĂN AN", "001058012345", "HT2010123456789"):
        assert secret.encode("utf-8") not in data
    bundle = open_bundle(data, PASSPHRASE)
    assert bundle.kiosk_id == "FIELD1"
    assert [r.registration.key for r in bundle.records] == ["field-0000", "field-0001", "field-0002"]
    assert [r.printed_number for r in bundle.records] == ["L01-A001", "L01-A002", "L01-A003"]
    assert bundle.records[0].registration.identity.citizen.full_name == "NGUYỄN VĂN AN"


def test_a_wrong_passphrase_a_changed_byte_or_a_changed_header_is_refused(tmp_path):
    with laptop_outbox(tmp_path / "laptop.sqlite3", "FIELD1") as laptop:
        export_pending(laptop, tmp_path / "day.bundle", PASSPHRASE, datetime.now(VIETNAM_TZ))
    data = read_file(tmp_path / "day.bundle")
    with pytest.raises(BundleError, match="wrong passphrase"):
        open_bundle(data, PASSPHRASE + "!")
    flipped = bytearray(data)
    flipped[-20] ^= 0x01
    with pytest.raises(BundleError, match="changed or damaged"):
        open_bundle(bytes(flipped), PASSPHRASE)
    # The header is authenticated: claiming another kiosk breaks the tag.
    with pytest.raises(BundleError, match="changed or damaged"):
        open_bundle(data.replace(b'"kiosk_id":"FIELD1"', b'"kiosk_id":"FIELD2"', 1), PASSPHRASE)
    with pytest.raises(BundleError, match="outside the accepted range"):
        open_bundle(data.replace(b'"n":32768', b'"n":1073741824', 1), PASSPHRASE)
    with pytest.raises(BundleError, match="not a check-in bundle"):
        open_bundle(b"PK\x03\x04 a zip file", PASSPHRASE)
    with pytest.raises(BundleError, match="header is damaged"):
        open_bundle(MAGIC + b"{not json\n", PASSPHRASE)
    with pytest.raises(BundleError, match="at least"):
        export_pending(OutboxStore(tmp_path / "x.sqlite3", KEY, "FIELD1"), tmp_path / "x.bundle", "short", datetime.now(VIETNAM_TZ))
    assert not (tmp_path / "x.bundle").exists()


def test_a_connected_kiosk_imports_a_bundle_once_and_delivers_it(tmp_path, hub):
    with laptop_outbox(tmp_path / "laptop.sqlite3", "FIELD1") as laptop:
        export_pending(laptop, tmp_path / "day.bundle", PASSPHRASE, datetime.now(VIETNAM_TZ))
    hub.add_kiosk("FIELD1")
    bundle = open_bundle(read_file(tmp_path / "day.bundle"), PASSPHRASE)
    from drivers.hub.http_client import HttpHubClient

    client = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)
    with OutboxStore(tmp_path / "kiosk.sqlite3", KEY, hub.kiosk_id, clock=SystemClock()) as kiosk:
        first = import_bundle(kiosk, bundle)
        second = import_bundle(kiosk, bundle)
        assert (first.added, first.known) == (3, 0)
        assert (second.added, second.known) == (0, 3)
        assert kiosk.pending_count() == 3
        SyncWorker(kiosk, client, SystemClock()).run_once(force=True)
        assert kiosk.pending_count() == 0
        third = import_bundle(kiosk, bundle)  # after delivery: still nothing new
        assert (third.added, third.known) == (0, 3) and kiosk.pending_count() == 0
    client.close()
    rows = hub_rows(hub)
    # Delivered by the kiosk, made by the laptop, under the numbers it printed.
    assert rows == [
        (f"field-{n:04d}", hub.kiosk_id, "FIELD1", f"L01-A{n + 1:03d}") for n in range(3)
    ]


def test_the_hub_imports_a_bundle_idempotently_through_the_admin_api(tmp_path, hub):
    field_id, _secret = hub.add_kiosk("field laptop")
    with laptop_outbox(tmp_path / "laptop.sqlite3", field_id) as laptop:
        export_pending(laptop, tmp_path / "day.bundle", PASSPHRASE, datetime.now(VIETNAM_TZ))
    data = read_file(tmp_path / "day.bundle")

    def post(body: bytes, passphrase: str = PASSPHRASE):
        return requests.post(
            f"{hub.url}/api/v1/admin/bundles",
            data=body,
            headers={
                "Authorization": f"Bearer {hub.admin_token}",
                "Content-Type": "application/octet-stream",
                "X-Bundle-Passphrase": quote(passphrase),
            },
            timeout=30,
        )

    first = post(data)
    assert first.status_code == 200, first.text
    assert first.json() | {"rejected": None} == {
        "kiosk_id": field_id, "records": 3, "created": 3, "known": 0, "rejected": None
    }
    before = hub_rows(hub)
    again = post(data)
    assert again.json()["created"] == 0 and again.json()["known"] == 3
    assert hub_rows(hub) == before  # importing twice changed nothing
    assert [row[3] for row in before] == ["L01-A001", "L01-A002", "L01-A003"]

    wrong = post(data, PASSPHRASE + "x")
    assert wrong.status_code == 422 and "wrong passphrase" in wrong.json()["reason"]
    flipped = bytearray(data)
    flipped[-1] ^= 0x80
    assert post(bytes(flipped)).status_code == 422
    unauthenticated = requests.post(f"{hub.url}/api/v1/admin/bundles", data=data, timeout=30)
    assert unauthenticated.status_code in (401, 403, 422)
    assert hub_rows(hub) == before


def test_the_hub_refuses_a_bundle_from_a_kiosk_it_does_not_know(tmp_path, hub):
    with laptop_outbox(tmp_path / "laptop.sqlite3", "STRANGER") as laptop:
        export_pending(laptop, tmp_path / "day.bundle", PASSPHRASE, datetime.now(VIETNAM_TZ))
    answer = requests.post(
        f"{hub.url}/api/v1/admin/bundles",
        data=read_file(tmp_path / "day.bundle"),
        headers={"Authorization": f"Bearer {hub.admin_token}", "X-Bundle-Passphrase": quote(PASSPHRASE)},
        timeout=30,
    )
    assert answer.status_code == 422 and answer.json()["error"] == "unknown_kiosk"
    assert hub_rows(hub) == []


def test_the_cli_exports_on_a_field_laptop_and_imports_on_a_kiosk(tmp_path, capsys, monkeypatch):
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n", encoding="utf-8")
    laptop_dir, kiosk_dir = tmp_path / "laptop", tmp_path / "kiosk"
    laptop_env = {"KIOSK_KIOSK_DATA_DIR": str(laptop_dir), "KIOSK_KIOSK_ID": "L01", "KIOSK_KIOSK_PROFILE": "field"}
    for name, value in laptop_env.items():
        monkeypatch.setenv(name, value)
    config = load_config(None)
    assert config["kiosk.profile"] == "field"
    laptop_dir.mkdir()
    key = load_or_create_key(laptop_dir / "outbox.key")
    with OutboxStore(laptop_dir / "outbox.sqlite3", key, "L01", "L01") as store:
        store.add(visit("field-0001", "L01"))
    bundle = tmp_path / "day.bundle"
    assert kiosk_cli(["export-bundle", "--out", str(bundle), "--passphrase-file", str(passphrase_file)]) == 0
    assert "1 registration(s) written" in capsys.readouterr().out

    monkeypatch.setenv("KIOSK_KIOSK_DATA_DIR", str(kiosk_dir))
    monkeypatch.setenv("KIOSK_KIOSK_ID", "K01")
    monkeypatch.setenv("KIOSK_KIOSK_PROFILE", "kiosk")
    args = ["import-bundle", str(bundle), "--passphrase-file", str(passphrase_file)]
    assert kiosk_cli(args) == 0
    assert "1 registration(s) added" in capsys.readouterr().out
    assert kiosk_cli(args) == 0
    assert "0 registration(s) added to the outbox, 1 already there" in capsys.readouterr().out
    passphrase_file.write_text("not the passphrase", encoding="utf-8")
    assert kiosk_cli(args) == 1
    assert "wrong passphrase" in capsys.readouterr().err


def test_a_field_laptop_needs_no_printer(tmp_path):
    from launcher.printer_tools import build_printer

    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_PROFILE": "field",
            "KIOSK_PRINTER_BACKEND": "escpos",  # a kiosk's configuration copied to the laptop
            "KIOSK_PRINTER_HOST": "192.0.2.10",
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
        },
    )
    printer, _renderer = build_printer(config)
    assert type(printer).__name__ == "FileTicketPrinter"
