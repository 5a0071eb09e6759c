"""The sync worker against the simulated hub backend (`drivers.hub.simulated`).

Same wiring as production, only the hub backend differs: this checks the
promise the outbox and the hub make together, that a patient holding an
offline number printed during an outage is known to the hub by that number.
"""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.clock import ManualClock
from kiosk.errors import HubRejected
from offline_cache.store import ACKED, OutboxStore
from offline_cache.sync import SyncWorker
from test_outbox_store import KEY, T0, make_registration
from test_sync_worker import WAIT_LIMIT, wait_until

simulated = pytest.importorskip("drivers.hub.simulated")


def visit(key: str, service: str = "KB.NOI", department: str = "NOI"):
    return dataclasses.replace(make_registration(key, department=department), service_code=service)


@pytest.fixture
def setup(tmp_path):
    clock = ManualClock(T0)
    store = OutboxStore(tmp_path / "outbox.sqlite3", KEY, "K01", clock=clock)
    hub = simulated.InMemoryHubClient()
    worker = SyncWorker(store, hub, clock, poll_interval=0.02)
    worker.start()
    yield store, hub, worker, clock
    assert worker.stop(timeout=WAIT_LIMIT)
    store.close()


def test_online_check_in_gets_the_hubs_number(setup):
    store, hub, worker, _clock = setup
    store.add(visit("r1"))

    receipt = worker.deliver_now("r1", timeout=WAIT_LIMIT)

    assert receipt is not None and receipt.display_number == "A-001"
    assert store.receipt("r1") == receipt
    assert [s.registration.key for s in hub.registrations()] == ["r1"]


def test_offline_numbers_printed_in_an_outage_reach_the_hub(setup):
    store, hub, worker, clock = setup
    hub.down = True
    printed = {}
    for key in ("r1", "r2", "r3"):
        store.add(visit(key))
        # What the desk does: wait briefly for the hub, then print offline.
        assert worker.deliver_now(key, timeout=WAIT_LIMIT) is None
        printed[key] = store.assign_offline_number(key, "A", T0.date())
    assert list(printed.values()) == ["K01-A001", "K01-A002", "K01-A003"]
    assert hub.registrations() == []

    hub.down = False
    clock.advance(600)  # past any backoff; the worker notices within a poll
    wait_until(lambda: store.pending_count() == 0, "the outbox drained")

    at_hub = {s.registration.key: s for s in hub.registrations()}
    assert sorted(at_hub) == ["r1", "r2", "r3"]
    for key, number in printed.items():
        assert at_hub[key].printed_number == number
        assert at_hub[key].receipt.display_number == number
        assert store.entry(key).status == ACKED
        assert store.receipt(key).display_number == number


def test_a_visit_the_hub_refuses_is_kept_for_a_technician(setup):
    store, hub, worker, _clock = setup
    store.add(visit("r1", service="KB.TMH", department="NOI"))  # service of another department

    with pytest.raises(HubRejected):
        worker.deliver_now("r1", timeout=WAIT_LIMIT)

    (rejected,) = store.rejected()
    assert rejected.key == "r1" and "not offered" in rejected.reason
