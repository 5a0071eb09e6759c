"""The sync worker against a recording hub, on a real outbox file.

Deterministic parts use `run_once()` with a `ManualClock`; the thread is
exercised with bounded waits for conditions, never with timing assertions.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from kiosk.clock import ManualClock
from kiosk.domain import Citizen, HubReceipt, InsuranceCheck, ReferenceData, Registration
from kiosk.errors import HubRejected, HubUnavailable
from offline_cache.store import ACKED, IN_FLIGHT, PENDING, REJECTED, OutboxStore
from offline_cache.sync import SyncWorker
from test_outbox_store import KEY, T0, make_registration

WAIT_LIMIT = 10.0  # seconds: only reached when a test is about to fail


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Wait, bounded, for something the worker thread does."""
    pause = threading.Event()
    for _ in range(int(WAIT_LIMIT / 0.01)):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError(f"timed out waiting for: {what}")


class RecordingHub:
    """A `kiosk.ports.HubClient` that records every call.

    `mode` switches it: "up" answers (idempotently by key, like the real
    hub), "down" raises HubUnavailable (with `retry_after` if set),
    "reject" raises HubRejected, "error" raises a plain bug. `gate`, when
    set, holds every register() until opened: a hub that hangs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.mode = "up"
        self.retry_after: float | None = None
        self.gate: threading.Event | None = None
        self.calls: list[tuple[str, str | None, str]] = []  # key, printed_number, outcome
        self.pings = 0
        self.accepted: dict[str, HubReceipt] = {}
        self.accept_count: Counter[str] = Counter()
        self.printed: dict[str, str | None] = {}
        self._in_progress: Counter[str] = Counter()
        self.max_concurrent_per_key = 0
        self._next_number = 0

    def register(self, registration: Registration, printed_number: str | None = None) -> HubReceipt:
        key = registration.key
        with self._lock:
            self._in_progress[key] += 1
            self.max_concurrent_per_key = max(self.max_concurrent_per_key, self._in_progress[key])
        try:
            gate = self.gate
            if gate is not None:
                gate.wait(WAIT_LIMIT)
            with self._lock:
                mode = self.mode
                self.calls.append((key, printed_number, mode))
                if mode == "down":
                    raise HubUnavailable("connection refused", retry_after=self.retry_after)
                if mode == "reject":
                    raise HubRejected("service KB01 is not offered today", status=422)
                if mode == "error":
                    raise RuntimeError("bug in the client")
                self.printed[key] = printed_number
                if key not in self.accepted:
                    self._next_number += 1
                    self.accepted[key] = HubReceipt(
                        registration_key=key,
                        queue_number=self._next_number,
                        display_number=f"A-{self._next_number:03d}",
                        episode_key=f"LK{self._next_number:06d}",
                        room="P.101",
                        estimated_wait_minutes=10,
                        amount_due=0,
                    )
                self.accept_count[key] += 1
                return self.accepted[key]
        finally:
            with self._lock:
                self._in_progress[key] -= 1

    def ping(self) -> bool:
        with self._lock:
            self.pings += 1
            return self.mode != "down"

    def reference_data(self) -> ReferenceData:
        return ReferenceData(departments=(), services=())

    def check_insurance(self, citizen: Citizen, card_code: str | None) -> InsuranceCheck:
        raise HubUnavailable("not used by the outbox")

    def failed_calls(self) -> int:
        with self._lock:
            return sum(1 for _k, _p, mode in self.calls if mode != "up")


class UpperBound(random.Random):
    """Jitter that always draws the cap: makes the backoff schedule exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(tmp_path, clock):
    s = OutboxStore(tmp_path / "outbox.sqlite3", KEY, "K01", clock=clock)
    yield s
    s.close()


@pytest.fixture
def hub() -> RecordingHub:
    return RecordingHub()


@pytest.fixture
def make_worker(store, hub, clock):
    workers: list[SyncWorker] = []

    def make(**kwargs) -> SyncWorker:
        kwargs.setdefault("poll_interval", 0.02)
        worker = SyncWorker(store, hub, clock, **kwargs)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        if hub.gate is not None:
            hub.gate.set()
        assert worker.stop(timeout=WAIT_LIMIT)


def add(store: OutboxStore, count: int, prefix: str = "r") -> list[str]:
    keys = [f"{prefix}{i:02d}" for i in range(count)]
    for key in keys:
        store.add(make_registration(key))
    return keys


# -- online --------------------------------------------------------------------------


def test_delivers_pending_rows_when_the_hub_is_up(store, hub, make_worker):
    keys = add(store, 5)
    worker = make_worker(batch_size=2)
    worker.start()

    wait_until(lambda: store.pending_count() == 0, "all rows delivered")

    for key in keys:
        assert store.entry(key).status == ACKED
        assert store.receipt(key) == hub.accepted[key]
        assert hub.accept_count[key] == 1
    assert [k for k, _p, _m in hub.calls] == keys  # oldest first
    assert worker.online()


def test_a_single_pass_sends_everything_due_in_batches(store, hub, make_worker):
    keys = add(store, 7)
    worker = make_worker(batch_size=3)
    assert worker.run_once() == 7
    assert all(store.entry(k).status == ACKED for k in keys)
    assert worker.run_once() == 0


# -- down, backoff, back -------------------------------------------------------------------


def test_down_hub_pauses_the_loop_then_each_row_is_delivered_exactly_once(store, hub, make_worker, clock):
    keys = add(store, 5)
    hub.mode = "down"
    worker = make_worker(batch_size=5, base_delay=1.0, max_delay=8.0, rng=random.Random(7))

    # The first send fails: the hub is down, so the rest of the batch is
    # not sent at all but given back, unattempted.
    assert worker.run_once() == 1
    assert not worker.online()
    first = store.entry(keys[0])
    assert (first.status, first.attempts) == (PENDING, 1)
    assert first.last_error == "hub unavailable: connection refused"
    for key in keys[1:]:
        entry = store.entry(key)
        assert (entry.status, entry.attempts) == (PENDING, 0)
    # Paused: the clock has not moved, so nothing is sent.
    assert worker.run_once() == 0
    assert hub.failed_calls() == 1

    # Still down after the pause: one probe per pause, attempts grow.
    clock.advance(10)
    assert worker.run_once() == 1
    assert hub.failed_calls() == 2

    hub.mode = "up"
    clock.advance(10)
    worker.run_once()

    assert store.pending_count() == 0
    assert all(store.entry(k).status == ACKED for k in keys)
    assert all(hub.accept_count[k] == 1 for k in keys)
    assert worker.online()
    assert worker.run_once() == 0
    assert sum(hub.accept_count.values()) == 5


def test_backoff_is_exponential_and_capped(store, hub, make_worker, clock):
    (key,) = add(store, 1)
    hub.mode = "down"
    worker = make_worker(base_delay=1.0, max_delay=8.0, rng=UpperBound(), ping_interval=1e6)

    delays = []
    for _ in range(6):
        before = clock.now()
        assert worker.run_once() == 1
        entry = store.entry(key)
        delays.append((entry.next_attempt_at - before).total_seconds())
        clock.advance(delays[-1])

    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert store.entry(key).attempts == 6


def test_full_jitter_stays_within_the_cap(store, hub, make_worker, clock):
    (key,) = add(store, 1)
    hub.mode = "down"
    worker = make_worker(base_delay=1.0, max_delay=300.0, rng=random.Random(1), ping_interval=1e6)
    for attempt in range(12):
        before = clock.now()
        worker.run_once()
        delay = (store.entry(key).next_attempt_at - before).total_seconds()
        assert 0 < delay <= min(300.0, 2.0**attempt)
        clock.advance(300)


def test_retry_after_is_honoured(store, hub, make_worker, clock):
    (key,) = add(store, 1)
    hub.mode, hub.retry_after = "down", 30.0
    worker = make_worker(ping_interval=5.0)

    assert worker.run_once() == 1
    assert store.entry(key).next_attempt_at == T0 + timedelta(seconds=30)

    hub.mode = "up"  # back early, but it asked for 30 s of quiet
    clock.advance(29)
    store.add(make_registration("new-row", minutes=0))  # due now, still waits
    assert worker.run_once() == 0
    assert len(hub.calls) == 1 and hub.pings == 0  # not even a ping

    clock.advance(1.5)
    assert worker.run_once() == 2
    assert store.entry(key).status == ACKED and store.entry("new-row").status == ACKED


def test_a_ping_ends_the_outage_early(store, hub, make_worker, clock):
    keys = add(store, 3)
    hub.mode = "down"
    worker = make_worker(base_delay=100.0, max_delay=300.0, rng=UpperBound(), ping_interval=30.0)
    worker.run_once()
    assert store.entry(keys[0]).next_attempt_at == T0 + timedelta(seconds=100)

    hub.mode = "up"
    clock.advance(31)  # the rows' backoff is far from over, a ping is due
    worker.run_once()

    assert hub.pings == 1
    assert all(store.entry(k).status == ACKED for k in keys)


def test_an_idle_worker_pings_to_know_it_is_online(store, hub, make_worker, clock):
    listener_calls = []
    worker = make_worker(ping_interval=30.0)
    worker.add_listener(lambda online, pending: listener_calls.append((online, pending)))
    worker.run_once()
    assert hub.pings == 1 and worker.online()
    worker.run_once()
    assert hub.pings == 1  # not again before ping_interval
    hub.mode = "down"
    clock.advance(30)
    worker.run_once()
    assert not worker.online()
    assert listener_calls == [(False, 0), (True, 0), (False, 0)]


# -- rejection and bugs ------------------------------------------------------------------


def test_a_rejected_registration_is_kept_with_its_reason_and_not_retried(store, hub, make_worker, clock):
    keys = add(store, 2)
    hub.mode = "reject"
    worker = make_worker()

    assert worker.run_once() == 2

    assert [(r.key, r.reason) for r in store.rejected()] == [(k, "service KB01 is not offered today") for k in keys]
    assert all(store.entry(k).status == REJECTED for k in keys)
    assert worker.online()  # the hub answered
    hub.mode = "up"
    clock.advance(3600)
    assert worker.run_once() == 0
    assert len(hub.calls) == 2
    assert store.pending_count() == 0


def test_an_unexpected_error_is_retried_and_the_thread_survives(store, hub, make_worker, clock):
    (key,) = add(store, 1)
    hub.mode = "error"
    worker = make_worker(base_delay=1.0, max_delay=2.0)
    worker.start()

    wait_until(lambda: store.entry(key).attempts >= 1, "the failed attempt recorded")
    entry = store.entry(key)
    assert entry.last_error == "unexpected error: RuntimeError"
    assert entry.status in (PENDING, IN_FLIGHT)
    assert worker.running

    hub.mode = "up"
    clock.advance(10)
    wait_until(lambda: store.entry(key).status == ACKED, "delivered after the bug went away")
    assert hub.accept_count[key] == 1


def test_an_unreadable_row_is_set_aside_and_the_rest_delivered(store, hub, make_worker):
    keys = add(store, 3)
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE registration SET payload = X'01' || randomblob(40) WHERE key = ?", (keys[1],))
    conn.commit()
    conn.close()
    worker = make_worker()

    worker.run_once()

    assert store.entry(keys[0]).status == ACKED and store.entry(keys[2]).status == ACKED
    (rejected,) = store.rejected()
    assert rejected.key == keys[1] and "integrity" in rejected.reason
    assert keys[1] not in hub.accepted


# -- the threaded end to end ----------------------------------------------------------------


def test_outage_and_recovery_in_the_background_sends_each_key_exactly_once(store, hub, make_worker, clock):
    keys = add(store, 30)
    hub.mode = "down"
    worker = make_worker(batch_size=7, base_delay=1.0, max_delay=60.0)
    states: list[tuple[bool, int]] = []
    worker.add_listener(lambda online, pending: states.append((online, pending)))
    worker.start()

    wait_until(lambda: hub.failed_calls() >= 1, "a first failed attempt")
    assert not worker.online()
    assert store.pending_count() == 30

    hub.mode = "up"
    clock.advance(120)  # past any pause; the worker notices within one poll
    wait_until(lambda: store.pending_count() == 0, "every row delivered")

    assert all(store.entry(k).status == ACKED for k in keys)
    assert sorted(hub.accept_count) == sorted(keys)
    assert set(hub.accept_count.values()) == {1}
    assert hub.max_concurrent_per_key == 1
    wait_until(lambda: states[-1] == (True, 0), "listeners told: online, nothing pending")
    assert states[0] == (False, 30)


def test_sync_now_overrides_a_long_pause(store, hub, make_worker):
    (key,) = add(store, 1)
    hub.mode, hub.retry_after = "down", 3600.0
    worker = make_worker()
    worker.run_once()
    hub.mode = "up"
    worker.start()

    worker.sync_now()  # the technician's button

    wait_until(lambda: store.entry(key).status == ACKED, "delivered on request")


# -- deliver_now ---------------------------------------------------------------------------


def test_deliver_now_returns_the_hubs_receipt(store, hub, make_worker):
    store.add(make_registration("r1"))
    worker = make_worker()
    worker.start()

    receipt = worker.deliver_now("r1", timeout=WAIT_LIMIT)

    assert receipt == hub.accepted["r1"]
    assert store.entry("r1").status == ACKED
    assert hub.accept_count["r1"] == 1
    # Asking again answers from the outbox, without the hub.
    assert worker.deliver_now("r1", timeout=WAIT_LIMIT) == receipt
    assert len(hub.calls) == 1


def test_deliver_now_returns_none_when_the_hub_is_down_and_the_row_stays_pending(store, hub, make_worker):
    store.add(make_registration("r1"))
    hub.mode = "down"
    worker = make_worker()
    worker.start()

    assert worker.deliver_now("r1", timeout=WAIT_LIMIT) is None

    wait_until(lambda: store.entry("r1").status == PENDING, "the row released")
    # Once by deliver_now, and perhaps before that by the worker's first pass.
    assert store.entry("r1").attempts >= 1
    assert store.entry("r1").last_error == "hub unavailable: connection refused"
    assert store.pending_count() == 1


def test_deliver_now_gives_up_on_a_hanging_hub_and_the_late_answer_is_kept(store, hub, make_worker):
    store.add(make_registration("r1"))
    hub.gate = threading.Event()  # the hub hangs
    worker = make_worker()
    worker.start()

    assert worker.deliver_now("r1", timeout=0.05) is None
    # The patient got an offline number meanwhile.
    number = store.assign_offline_number("r1", "A", T0.date())
    # A second impatient caller: still never two sends of the same key at once.
    assert worker.deliver_now("r1", timeout=0.05) is None

    hub.gate.set()  # the hub answers, late
    wait_until(lambda: store.entry("r1").status == ACKED, "acknowledged")
    assert hub.max_concurrent_per_key == 1
    # The late answer was for a send without the printed number, so the row
    # was sent once more, carrying it: the hub knows what the patient holds.
    assert hub.printed["r1"] == number
    assert hub.accept_count["r1"] == 2  # idempotent at the hub: one visit
    assert store.pending_count() == 0


def test_deliver_now_during_retry_after_does_not_wait(store, hub, make_worker):
    store.add(make_registration("r1"))
    store.add(make_registration("r2"))
    hub.mode, hub.retry_after = "down", 600.0
    worker = make_worker()
    worker.run_once()
    worker.start()
    calls = len(hub.calls)

    assert worker.deliver_now("r2", timeout=WAIT_LIMIT) is None
    assert len(hub.calls) == calls
    assert store.entry("r2").status == PENDING


def test_deliver_now_of_a_rejected_registration_raises(store, hub, make_worker):
    store.add(make_registration("r1"))
    hub.mode = "reject"
    worker = make_worker()
    worker.start()

    with pytest.raises(HubRejected, match="not offered"):
        worker.deliver_now("r1", timeout=WAIT_LIMIT)
    with pytest.raises(HubRejected):
        worker.deliver_now("r1", timeout=WAIT_LIMIT)  # from the outbox this time
    assert len(hub.calls) == 1


def test_deliver_now_without_a_running_worker_leaves_the_row_queued(store, hub, make_worker):
    store.add(make_registration("r1"))
    worker = make_worker()
    assert worker.deliver_now("r1", timeout=WAIT_LIMIT) is None
    assert store.entry("r1").status == PENDING and hub.calls == []
    with pytest.raises(KeyError):
        worker.deliver_now("unknown", timeout=0.01)


# -- lifecycle and listeners -------------------------------------------------------------------


def test_start_and_stop(store, hub, make_worker):
    worker = make_worker()
    worker.start()
    worker.start()  # no second thread
    assert worker.running
    assert worker.stop(timeout=WAIT_LIMIT)
    assert not worker.running
    assert worker.stop(timeout=WAIT_LIMIT)


def test_a_failing_listener_does_not_stop_delivery(store, hub, make_worker):
    (key,) = add(store, 1)
    seen = []

    def broken(online: bool, pending: int) -> None:
        seen.append((online, pending))
        raise RuntimeError("screen gone")

    worker = make_worker()
    worker.add_listener(broken)
    worker.run_once()
    assert store.entry(key).status == ACKED
    assert seen[0] == (False, 1) and seen[-1] == (True, 0)
