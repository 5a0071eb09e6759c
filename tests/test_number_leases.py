"""Offline queue numbers leased from the hub, over real HTTP to the embedded hub.

While online the kiosk leases a block per department per day, cut from the
outage band above the department's capacity (NOI takes 240 patients a day in
the seed data, so its band starts at A-301); offline it prints from the block
in the hub's own format; when the block runs out it falls back to its own
"K01-A007" series; on sync the hub keeps every printed number and flags
collisions to staff instead of renumbering. The hub's own series (A-001,
A-002, ...) is never shifted or holed by leases.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime, timedelta

import pytest
import requests

from drivers.hub.http_client import HttpHubClient
from kiosk.clock import SystemClock
from kiosk.domain import VIETNAM_TZ
from kiosk.errors import HubRejected, HubUnavailable
from offline_cache.leases import LeaseKeeper, lease_key
from offline_cache.store import _MIGRATIONS, SCHEMA_VERSION, OutboxStore
from offline_cache.sync import SyncWorker
from server.embedded import start_embedded_hub
from server.leases import outage_band_start
from test_outbox_store import KEY, make_registration


@pytest.fixture
def hub(tmp_path):
    served = start_embedded_hub(tmp_path / "hub.sqlite3", rate_limit_per_minute=100_000)
    yield served
    served.stop()


@pytest.fixture
def client(hub):
    c = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)
    yield c
    c.close()


@pytest.fixture
def store(tmp_path, hub):
    s = OutboxStore(tmp_path / "outbox.sqlite3", KEY, hub.kiosk_id, "K01", clock=SystemClock())
    yield s
    s.close()


def today():
    return datetime.now(VIETNAM_TZ).date()


def visit(key: str, kiosk_id: str, department: str = "NOI"):
    reg = make_registration(key, department=department, kiosk_id=kiosk_id)
    return dataclasses.replace(reg, service_code=f"KB.{department}", created_at=datetime.now(VIETNAM_TZ))


def set_capacity(hub, code: str, capacity: int) -> None:
    auth = {"Authorization": f"Bearer {hub.admin_token}"}
    reference = requests.get(f"{hub.url}/api/v1/admin/reference", headers=auth, timeout=5).json()
    department = next(d for d in reference["departments"] if d["code"] == code)
    body = {k: v for k, v in department.items() if k != "code"} | {"daily_capacity": capacity}
    answer = requests.put(f"{hub.url}/api/v1/admin/departments/{code}", json=body, headers=auth, timeout=5)
    assert answer.status_code == 200, answer.text


def attention(hub) -> list[dict]:
    answer = requests.get(
        f"{hub.url}/api/v1/admin/attention",
        params={"date": today().isoformat()},
        headers={"Authorization": f"Bearer {hub.admin_token}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- the hub's side ------------------------------------------------------------------


def test_blocks_come_from_the_outage_band_and_leave_the_hubs_own_series_alone(hub, client, store):
    other_id, other_secret = hub.add_kiosk("second kiosk")
    other = HttpHubClient(hub.url, other_id, other_secret)
    try:
        first = client.lease_numbers("NOI", today(), 10, "lease-one-0001")
        second = other.lease_numbers("NOI", today(), 10, "lease-two-0001")
        store.add(visit("online-0001", hub.kiosk_id))
        receipt = client.register(store.get("online-0001"))
    finally:
        other.close()
    assert outage_band_start(240) == 301
    assert (first["first"], first["last"], first["first_display"]) == (301, 310, "A-301")
    assert (second["first"], second["last"]) == (311, 320)
    assert receipt.display_number == "A-001"  # no shift, no gap


def test_a_repeated_lease_request_gets_the_same_block(client):
    a = client.lease_numbers("NHI", today(), 5, "lease-again-01")
    b = client.lease_numbers("NHI", today(), 5, "lease-again-01")
    c = client.lease_numbers("NHI", today(), 5, "lease-again-02")
    assert (a["first"], a["last"]) == (b["first"], b["last"]) == (201, 205)  # NHI: 180 a day
    assert (c["first"], c["last"]) == (206, 210)


def test_the_hub_refuses_bad_lease_requests_with_a_reason(client):
    client.lease_numbers("NOI", today(), 3, "lease-used-0001")
    with pytest.raises(HubRejected, match="another lease"):
        client.lease_numbers("NHI", today(), 3, "lease-used-0001")
    with pytest.raises(HubRejected, match="unknown department"):
        client.lease_numbers("NOPE", today(), 3, "lease-nope-0001")
    with pytest.raises(HubRejected, match="or the day after"):
        client.lease_numbers("NOI", today() - timedelta(days=1), 3, "lease-past-0001")
    with pytest.raises(HubRejected):
        client.lease_numbers("NOI", today(), 51, "lease-huge-0001")  # more than MAX_BLOCK


def test_leased_numbers_do_not_use_up_the_days_capacity(hub, client, store):
    set_capacity(hub, "RHM", 2)
    blocks = [client.lease_numbers("RHM", today(), 50, f"lease-rhm-{n:04d}") for n in range(3)]
    assert [(b["first"], b["last"]) for b in blocks] == [(101, 150), (151, 200), (201, 250)]
    # 150 numbers are out on kiosks; the day still has room for its 2 patients.
    for n in range(2):
        store.add(visit(f"rhm-visit-{n:04d}", hub.kiosk_id, "RHM"))
        assert client.register(store.get(f"rhm-visit-{n:04d}")).display_number == f"D-{n + 1:03d}"
    # Capacity counts patients: now the day is full, for visits and for leases.
    store.add(visit("rhm-visit-full", hub.kiosk_id, "RHM"))
    with pytest.raises(HubRejected, match="seen all 2 patients"):
        client.register(store.get("rhm-visit-full"))
    with pytest.raises(HubRejected, match="no numbers left"):
        client.lease_numbers("RHM", today(), 1, "lease-rhm-full")


def test_a_capacity_raised_into_the_band_steps_over_leased_blocks(hub, client, store):
    set_capacity(hub, "RHM", 3)  # band from D-101
    block = client.lease_numbers("RHM", today(), 5, "lease-rhm-step")
    assert (block["first"], block["last"]) == (101, 105)
    set_capacity(hub, "RHM", 500)
    # As if the day had already given 100 numbers: the next runs into the block.
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as db:
        db.execute("UPDATE queue_counters SET last_number = 100 WHERE department_code = 'RHM'")
    db.close()
    numbers = []
    for n in range(2):
        store.add(visit(f"rhm-after-{n:04d}", hub.kiosk_id, "RHM"))
        numbers.append(client.register(store.get(f"rhm-after-{n:04d}")).display_number)
    assert numbers == ["D-106", "D-107"]
    # A new block comes after both the old block and the hub's own numbers.
    again = client.lease_numbers("RHM", today(), 5, "lease-rhm-again")
    assert (again["first"], again["last"]) == (601, 605)  # the band of capacity 500


# -- the kiosk's side ----------------------------------------------------------------


def test_offline_the_kiosk_prints_leased_numbers_then_its_own_series_and_the_hub_keeps_them(hub, client, store):
    keeper = LeaseKeeper(store, client, block_size=3, low_water=1)
    assert keeper.top_up([("NOI", "A")], today()) == 3
    assert keeper.top_up([("NOI", "A")], today()) == 0  # enough left: no second block
    assert store.leased_numbers_left("A", today()) == 3

    # The network is down from here: the desk prints offline numbers.
    keys = [f"offline-{n:04d}" for n in range(5)]
    printed = []
    for key in keys:
        store.add(visit(key, hub.kiosk_id))
        printed.append(store.assign_offline_number(key, "A", today()))
    assert printed == ["A-301", "A-302", "A-303", "K01-A001", "K01-A002"]
    assert store.leased_numbers_left("A", today()) == 0

    # Back online: the hub learns every printed number and keeps it.
    worker = SyncWorker(store, client, SystemClock())
    worker.run_once(force=True)
    assert store.pending_count() == 0
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as db:
        at_hub = dict(db.execute("SELECT key, display_number FROM registrations"))
    assert at_hub == dict(zip(keys, printed))
    assert attention(hub) == []  # leased numbers collide with nobody
    # The hub's own series is untouched by the block.
    store.add(visit("online-0001", hub.kiosk_id))
    assert client.register(store.get("online-0001")).display_number == "A-001"


def test_a_number_printed_twice_is_flagged_to_staff_not_renumbered(hub, client, store, tmp_path):
    # A restored backup of the kiosk's outbox would print its block again.
    # The hub cannot know which patient came first: both keep their ticket.
    answer = client.lease_numbers("NOI", today(), 2, "lease-twice-001")
    store.add_number_block("lease-twice-001", "A", today(), answer["first"], answer["last"])
    twin = OutboxStore(tmp_path / "twin.sqlite3", KEY, hub.kiosk_id, "K01", clock=SystemClock())
    try:
        twin.add_number_block("lease-twice-001", "A", today(), answer["first"], answer["last"])
        store.add(visit("first-00001", hub.kiosk_id))
        twin.add(visit("second-0001", hub.kiosk_id))
        assert store.assign_offline_number("first-00001", "A", today()) == "A-301"
        assert twin.assign_offline_number("second-0001", "A", today()) == "A-301"
        SyncWorker(store, client, SystemClock()).run_once(force=True)
        SyncWorker(twin, client, SystemClock()).run_once(force=True)
        assert store.receipt("first-00001").display_number == "A-301"
        assert twin.receipt("second-0001").display_number == "A-301"
    finally:
        twin.close()
    flagged = {row["registration_key"]: row for row in attention(hub)}
    assert set(flagged) == {"first-00001", "second-0001"}
    assert all(row["display_number"] == "A-301" for row in flagged.values())
    assert "second-0001" in flagged["first-00001"]["attention"]


def test_the_keeper_stops_quietly_when_the_hub_is_down(store):
    class Down:
        calls = 0

        def lease_numbers(self, *_args):
            Down.calls += 1
            raise HubUnavailable("hub unreachable")

    keeper = LeaseKeeper(store, Down())
    assert keeper.top_up([("NOI", "A"), ("NHI", "B")], today()) == 0
    assert Down.calls == 1  # no point asking for the second department
    store.add(visit("offline-0001", store.kiosk_id))
    assert store.assign_offline_number("offline-0001", "A", today()) == "K01-A001"


def test_a_lost_lease_answer_is_asked_again_with_the_same_key(store, client):
    class LosesFirstAnswer:
        def __init__(self):
            self.keys = []

        def lease_numbers(self, code, day, size, key):
            self.keys.append(key)
            answer = client.lease_numbers(code, day, size, key)
            if len(self.keys) == 1:
                raise HubUnavailable("connection reset after the hub answered")
            return answer

    hub = LosesFirstAnswer()
    keeper = LeaseKeeper(store, hub, block_size=4)
    assert keeper.top_up([("NOI", "A")], today()) == 0
    assert keeper.top_up([("NOI", "A")], today()) == 4
    assert hub.keys[0] == hub.keys[1] == lease_key(store.kiosk_id, "NOI", today(), 1)
    # The hub cut one block, not two: the next block follows it directly.
    assert client.lease_numbers("NOI", today(), 1, "lease-after-lost")["first"] == 305


def test_bad_blocks_are_refused_and_a_version_1_outbox_gains_the_lease_table(tmp_path):
    with OutboxStore(tmp_path / "a.sqlite3", KEY, "K01") as fresh, pytest.raises(ValueError):
        fresh.add_number_block("lease-bad-0001", "A", today(), 5, 4)
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as db:
        for statement in _MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
    db.close()
    with OutboxStore(old, KEY, "K01") as store:
        assert store.add_number_block("lease-new-0001", "A", today(), 1, 2)
        assert not store.add_number_block("lease-new-0001", "A", today(), 1, 2)  # idempotent
        assert store.leased_numbers_left("A", today()) == 2
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    db.close()


# -- wired into the kiosk -----------------------------------------------------------


def test_a_wired_kiosk_leases_while_online_and_prints_a_leased_number_when_the_hub_is_down(tmp_path):
    from kiosk.config import load_config
    from kiosk.domain import NumberIssuer
    from launcher.wiring import build_kiosk
    from test_checkin_end_to_end import check_in, wait_for

    from drivers.printer.raster import ensure_qt_gui_application

    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_HUB_REGISTER_TIMEOUT_SECONDS": "3",
            "KIOSK_HUB_OFFLINE_NUMBER_BLOCK": "4",
        },
    )
    kiosk = build_kiosk(config)
    kiosk.start()
    try:
        reference = wait_for(lambda: kiosk.flow.state.reference, what="reference")
        noi = next(d for d in reference.departments if d.code == "NOI")
        kiosk.sync.sync_now()  # a pass, a ping: the worker reports the hub online and leases
        wait_for(lambda: kiosk.outbox.leased_numbers_left(noi.queue_prefix, today()) == 4, what="a lease")
        kiosk.embedded_hub.stop()
        _, _, ticket = check_in(kiosk, 2, "NOI")
        assert ticket.issuer is NumberIssuer.KIOSK
        assert ticket.display_number == f"{noi.queue_prefix}-301"  # NOI's outage band
    finally:
        kiosk.stop()
