"""A kiosk whose clock is off by minutes keeps syncing (real hub over HTTP).

The hub accepts signed requests within ±60 s of its own clock. The client
learns the hub's time from the Date header and signs with it; created_at
stays the kiosk's own time (what the ticket shows), and the hub records its
received_at beside it.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from datetime import datetime, timezone

import pytest

from drivers.hub.http_client import HttpHubClient, hub_clock_offset
from kiosk.clock import OffsetClock
from kiosk.domain import VIETNAM_TZ
from offline_cache.store import OutboxStore
from offline_cache.sync import SyncWorker
from server.embedded import start_embedded_hub
from test_outbox_store import KEY, make_registration


@pytest.fixture
def hub(tmp_path):
    served = start_embedded_hub(tmp_path / "hub.sqlite3")
    yield served
    served.stop()


def test_the_offset_is_read_from_the_date_header():
    assert hub_clock_offset(None, 0, 0) is None
    assert hub_clock_offset("not a date", 0, 0) is None
    assert hub_clock_offset("Sun, 22 Nov 2026 04:00:00", 0, 0) is None  # no zone: not an HTTP date
    stamp = datetime(2026, 11, 22, 4, 0, tzinfo=timezone.utc).timestamp()
    # Hub at 04:00:00.5 (middle of its second) while we were at 03:58:00.5.
    assert hub_clock_offset("Sun, 22 Nov 2026 04:00:00 GMT", stamp - 120, stamp - 119) == pytest.approx(120.0)


@pytest.mark.parametrize("skew_minutes", [-10, 7])
def test_a_kiosk_minutes_off_the_hubs_clock_syncs_and_keeps_its_own_created_at(hub, tmp_path, skew_minutes):
    skew = skew_minutes * 60.0
    kiosk_clock = OffsetClock(datetime.fromtimestamp(time.time() + skew, VIETNAM_TZ))
    client = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret, clock=lambda: time.time() + skew)
    with OutboxStore(tmp_path / "outbox.sqlite3", KEY, hub.kiosk_id, clock=kiosk_clock) as store:
        created = kiosk_clock.now()
        reg = dataclasses.replace(
            make_registration("skewed-0001", kiosk_id=hub.kiosk_id), service_code="KB.NOI", created_at=created
        )
        store.add(reg)
        SyncWorker(store, client, kiosk_clock).run_once(force=True)
        assert store.pending_count() == 0 and store.rejected() == []
    assert abs(client.clock_offset + skew) <= 3
    client.close()
    with sqlite3.connect(hub.settings.data_dir / "hub.sqlite3") as db:
        created_at, received_at = db.execute("SELECT created_at, received_at FROM registrations").fetchone()
    db.close()
    as_stored = datetime.fromisoformat(created_at)
    as_stored = as_stored if as_stored.tzinfo else as_stored.replace(tzinfo=timezone.utc)
    received = datetime.fromisoformat(received_at)
    received = received if received.tzinfo else received.replace(tzinfo=timezone.utc)
    assert abs((as_stored - created).total_seconds()) < 1  # the kiosk's time, as on the ticket
    assert abs((received - as_stored).total_seconds() + skew) < 30  # the hub's own time beside it


def test_a_clock_within_tolerance_is_left_alone(hub):
    client = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret, clock=lambda: time.time() + 1.0)
    assert client.ping()
    assert client.reference_data().departments
    assert client.clock_offset == 0.0
    client.close()
