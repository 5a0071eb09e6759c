"""SyncWorker.add_online_task: chores that need the hub run only while it answers."""

from __future__ import annotations

import pytest

from kiosk.clock import ManualClock
from offline_cache.store import OutboxStore
from offline_cache.sync import SyncWorker
from test_outbox_store import KEY, T0

simulated = pytest.importorskip("drivers.hub.simulated")


def test_online_tasks_run_after_a_pass_with_the_hub_up_and_never_while_it_is_down(tmp_path):
    clock = ManualClock(T0)
    with OutboxStore(tmp_path / "outbox.sqlite3", KEY, "K01", clock=clock) as store:
        hub = simulated.InMemoryHubClient()
        worker = SyncWorker(store, hub, clock, ping_interval=1.0)
        runs = []

        def broken():
            raise RuntimeError("a chore that fails")

        worker.add_online_task(broken)
        worker.add_online_task(lambda: runs.append(worker.online()))

        hub.down = True
        worker.run_once()
        assert runs == [] and not worker.online()

        hub.down = False
        clock.advance(2)  # the next ping is due
        worker.run_once()
        assert runs == [True]  # the failing task before it did not stop it
        worker.run_once()
        assert runs == [True, True]
