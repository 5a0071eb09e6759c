"""Moving the outbox to the hub: one background thread, at-least-once, idempotent.

`SyncWorker` is the kiosk's `kiosk.ports.Delivery`. Its thread is the only
one that calls `hub.register` (one owner thread per remote party, as for the
devices), so the hub client need not be thread-safe and a registration is
never sent twice at the same time: a row is sent only by whoever claimed it
(`OutboxStore.claim`/`claim_batch`), and only this thread claims.

Failures, and what the worker does about them:

* `HubUnavailable`: the hub is down or unreachable. The row goes back to
  pending with exponential backoff and full jitter (delay drawn uniformly
  from [0, min(max_delay, base_delay * 2**attempts)], AWS Architecture Blog,
  "Exponential Backoff And Jitter", 2015), or exactly the hub's Retry-After
  when it gave one. The whole loop pauses too: sending the rest of the batch
  to a hub that is down only burns time and battery of the UPS.
* `HubRejected`: the hub refused the registration for good. It is kept as
  rejected, with the reason, for a technician; never retried by itself.
* anything else (a bug in a client, a surprise from the network stack): the
  row is retried with backoff and the worker stays alive.

While paused, and while idle, the worker pings the hub every `ping_interval`
seconds so `online()` stays truthful; when the hub answers again every
pending row is made due at once, so an outage ends with one prompt sync
rather than each row waiting out its own backoff.

Time: `next_attempt_at` is wall-clock time from the injected `Clock`, since
it must survive a restart. Waiting is `threading.Event.wait` with a timeout
capped at `poll_interval`, so a moved wall clock (NTP after boot) or a
`ManualClock` in tests is noticed within one poll, and nothing busy-loops.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.domain import HubReceipt
from kiosk.errors import HubRejected, HubUnavailable, StorageError
from kiosk.ports import Clock, HubClient
from offline_cache.crypto import UnreadablePayload
from offline_cache.store import ACKED, REJECTED, OutboxStore

log = logging.getLogger(__name__)

Listener = Callable[[bool, int], None]

# Smallest delay a failed row waits. Full jitter may draw 0; a row must still
# never be due again within the pass that just tried it.
_MIN_DELAY = 0.001
# Shortest real wait between two passes, so that rows due "right now" under
# a clock that does not move (ManualClock) cannot make the thread spin.
_MIN_WAIT = 0.01


@dataclass
class _Waiter:
    """A deliver_now() caller waiting for one key."""

    key: str
    done: threading.Event = field(default_factory=threading.Event)
    receipt: HubReceipt | None = None
    rejected: str | None = None


@dataclass(frozen=True)
class _Outcome:
    receipt: HubReceipt | None = None
    rejected: str | None = None


class SyncWorker:
    """Delivers outbox rows to the hub; see the module docstring."""

    def __init__(
        self,
        store: OutboxStore,
        hub: HubClient,
        clock: Clock,
        batch_size: int = 20,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        *,
        ping_interval: float = 30.0,
        poll_interval: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        if poll_interval <= 0 or ping_interval <= 0:
            raise ValueError("poll_interval and ping_interval must be positive")
        self._store = store
        self._hub = hub
        self._clock = clock
        self.batch_size = batch_size
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.ping_interval = ping_interval
        self.poll_interval = poll_interval
        self._rng = rng or random.SystemRandom()

        # Guards the fields below; never held while talking to the hub or
        # calling listeners.
        self._lock = threading.Lock()
        self._online = False
        self._pause_until: datetime | None = None
        self._pause_from_hub = False  # the pause is the hub's own Retry-After
        self._failures_in_a_row = 0  # HubUnavailable streak, for the pause length
        self._last_contact: float | None = None  # clock.monotonic() of the last hub exchange
        self._listeners: list[Listener] = []
        self._online_tasks: list[Callable[[], None]] = []
        self._last_notified: tuple[bool, int] | None = None
        self._express: deque[str] = deque()
        self._waiters: dict[str, list[_Waiter]] = {}
        self._force = False
        # Keys whose release could not be written (storage failing): they are
        # in flight in the file and would stay so until a restart.
        self._unreleased: set[str] = set()

        self._pass_lock = threading.Lock()  # one pass at a time (thread or run_once)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread (no-op when already running)."""
        if self.running:
            return
        if self._thread is not None and self._thread.is_alive():
            # stop() timed out while the thread was inside a hub call; a
            # second thread would break "one sender at a time".
            raise RuntimeError("the previous sync thread has not finished yet")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-sync", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to finish and wait up to `timeout` seconds.

        A send in progress cannot be interrupted; if it outlasts `timeout`
        this returns False and the (daemon) thread ends on its own. Its row
        is then in flight in the file and resent after the next start, which
        the hub's idempotency makes harmless. Returns True once stopped.
        """
        thread = self._thread
        self._stopping.set()
        self._wake.set()
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("sync worker still busy with the hub after %.1fs", timeout)
            return False
        self._thread = None
        return True

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopping.is_set()

    # -- Delivery -------------------------------------------------------------------

    def online(self) -> bool:
        """Whether the last exchange with the hub succeeded."""
        with self._lock:
            return self._online

    def deliver_now(self, key: str, timeout: float) -> HubReceipt | None:
        """Send one registration at once and wait at most `timeout` seconds.

        The send happens on the worker thread, ahead of the batch it may be
        in the middle of. Returns the hub's receipt, or None when the hub did
        not answer in time or was unavailable: the row then stays in the
        outbox and is delivered later (late or repeated sends are harmless,
        the hub is idempotent by key). Raises `HubRejected` when the hub
        refused the registration: no number may be printed for it. Raises
        KeyError for a key the outbox does not know.
        """
        entry = self._store.entry(key)
        if entry.status == ACKED:
            return entry.receipt
        if entry.status == REJECTED:
            raise HubRejected(entry.last_error or "rejected by the hub")
        if not self.running:
            log.warning("deliver_now without a running sync worker: the registration waits in the outbox")
            return None
        with self._lock:
            if self._pause_from_hub and self._pause_until is not None and self._clock.now() < self._pause_until:
                # The hub asked for quiet (Retry-After). The patient is better
                # served by an offline number now than by a wait we know fails.
                return None
            waiter = _Waiter(key)
            self._waiters.setdefault(key, []).append(waiter)
            self._express.append(key)
        self._wake.set()
        try:
            answered = waiter.done.wait(max(0.0, timeout))
        finally:
            with self._lock:
                waiting = self._waiters.get(key, [])
                if waiter in waiting:
                    waiting.remove(waiter)
                if not waiting:
                    self._waiters.pop(key, None)
        if not answered:
            return None
        if waiter.rejected is not None:
            raise HubRejected(waiter.rejected)
        return waiter.receipt

    # -- technician and UI -------------------------------------------------------------

    def sync_now(self) -> None:
        """Force a pass now: ignore backoff and pauses (the technician's button)."""
        with self._lock:
            self._force = True
        self._wake.set()

    def add_listener(self, callback: Listener) -> None:
        """Call `callback(online, pending)` whenever either changes.

        The callback gets the current state at once, on the caller's thread,
        so a screen opened mid-outage shows it; later calls come from the
        worker thread (a Qt screen re-emits them as a signal). A failing
        callback is logged and does not stop the worker.
        """
        with self._lock:
            self._listeners.append(callback)
            online = self._online
        try:
            pending = self._store.pending_count()
        except StorageError:
            log.exception("sync: cannot count pending registrations")
            pending = 0
        self._call(callback, online, pending)

    def remove_listener(self, callback: Listener) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    # -- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        log.info("sync worker started")
        try:
            while not self._stopping.is_set():
                # Cleared before the pass: a wake-up during the pass makes the
                # wait below return at once instead of being lost.
                self._wake.clear()
                with self._lock:
                    force, self._force = self._force, False
                try:
                    self.run_once(force=force)
                    wait = self._seconds_to_next_pass()
                except Exception:
                    # Typically StorageError (disk full, I/O). Keep the thread:
                    # the outbox is the only way these registrations reach the
                    # hub, and storage problems are often cleared by a person.
                    log.exception("sync pass failed; retrying")
                    wait = self.poll_interval
                self._wake.wait(wait)
        finally:
            self._resolve_all_waiters()
            log.info("sync worker stopped")

    def _seconds_to_next_pass(self) -> float:
        with self._lock:
            if self._express or self._force:
                return 0.0
            pause_until = self._pause_until
            pause_from_hub = self._pause_from_hub
            last_contact = self._last_contact
        now = self._clock.now()
        wait = self.poll_interval
        paused = pause_until is not None and now < pause_until
        if paused:
            assert pause_until is not None
            wait = min(wait, (pause_until - now).total_seconds())
        else:
            due = self._store.next_due()
            if due is not None:
                wait = min(wait, (due - now).total_seconds())
        # The next ping, unless the hub itself asked for quiet: that pause
        # allows no ping, so waking for one would only spin.
        if last_contact is not None and not (paused and pause_from_hub):
            wait = min(wait, self.ping_interval - (self._clock.monotonic() - last_contact))
        return max(_MIN_WAIT, wait)

    def run_once(self, *, force: bool = False) -> int:
        """One pass on the caller's thread: what the worker thread does each time it wakes.

        Used by the thread, by tools that flush the outbox without starting
        a thread, and by tests. Returns how many sends were attempted.
        """
        with self._pass_lock:
            return self._pass(force)

    def _pass(self, force: bool) -> int:
        self._retry_unreleased()
        sent = self._serve_express(None)
        now = self._clock.now()
        if force:
            with self._lock:
                self._pause_until, self._pause_from_hub = None, False
            self._store.reschedule_pending(now)
        elif self._paused(now):
            if not self._ping_if_due(paused=True):
                self._notify_if_changed()
                return sent

        # Rows released during this pass are due strictly after `now`, so
        # the loop ends; `attempted` guards against a wall clock stepping
        # back under us, which could make them due again.
        attempted: set[str] = set()
        while not self._stopping.is_set():
            batch = deque(self._store.claim_batch(self.batch_size, now))
            if not batch:
                break
            while batch:
                sent += self._serve_express(batch)
                if not batch:
                    break
                if self._stopping.is_set() or self._paused(self._clock.now()) or batch[0] in attempted:
                    self._give_back(batch)
                    self._notify_if_changed()
                    return sent
                key = batch.popleft()
                attempted.add(key)
                self._send(key)
                sent += 1
        if sent == 0 and not self._paused(self._clock.now()):
            # Nothing to send (idle, or every row backing off): a ping keeps
            # online() truthful, and ends an outage early if the hub is back.
            self._ping_if_due(paused=False)
        self._notify_if_changed()
        self._run_online_tasks()
        return sent

    def add_online_task(self, task: Callable[[], None]) -> None:
        """Run `task` on the worker's thread after every full pass while the hub is online.

        For small chores that need the hub and should happen before the next
        outage (leasing offline numbers, `offline_cache.leases`). The task runs
        between passes, so it delays deliveries by its own duration: keep it
        short, and cheap when there is nothing to do. A failing task is
        logged and does not stop the worker.
        """
        with self._lock:
            self._online_tasks.append(task)

    def _run_online_tasks(self) -> None:
        with self._lock:
            if not self._online or self._stopping.is_set():
                return
            tasks = list(self._online_tasks)
        for task in tasks:
            try:
                task()
            except Exception:  # noqa: BLE001 - a chore must not stop delivery
                log.exception("sync: online task failed")

    # -- sending one row ----------------------------------------------------------------

    def _serve_express(self, batch: deque[str] | None) -> int:
        """Send the rows deliver_now() callers are waiting for, first."""
        sent = 0
        while True:
            with self._lock:
                if not self._express:
                    return sent
                key = self._express.popleft()
                if not self._waiters.get(key):
                    continue  # the caller gave up; the row waits its turn
                hub_asked_quiet = (
                    self._pause_from_hub and self._pause_until is not None and self._clock.now() < self._pause_until
                )
            if hub_asked_quiet:
                self._resolve(key, _Outcome())  # Retry-After applies to the patient's row too
                continue
            if batch is not None and key in batch:
                batch.remove(key)  # already claimed by this pass: ours to send
                owned = True
            else:
                try:
                    owned = self._store.claim(key)
                except (StorageError, KeyError):
                    log.exception("sync: cannot claim a registration for immediate delivery")
                    self._resolve(key, _Outcome())
                    continue
            if owned:
                self._send(key)
                sent += 1
            else:
                self._resolve(key, self._settled_outcome(key))

    def _settled_outcome(self, key: str) -> _Outcome:
        """The answer for a waiter whose row someone else already settled."""
        try:
            entry = self._store.entry(key)
        except (StorageError, KeyError):
            return _Outcome()
        if entry.status == ACKED:
            return _Outcome(receipt=entry.receipt)
        if entry.status == REJECTED:
            return _Outcome(rejected=entry.last_error or "rejected by the hub")
        return _Outcome()

    def _send(self, key: str) -> None:
        """Send one claimed row and settle it: acked, rejected or released.

        Whatever happens, the row does not stay in flight: a row left in
        flight is never claimed again until the next start.
        """
        try:
            self._send_claimed(key)
        except Exception as exc:  # noqa: BLE001 - our own bug must not strand the row
            log.exception("sync: internal error while sending registration %s", key)
            self._release(key, f"internal error: {type(exc).__name__}", self._backoff(0))
            self._resolve(key, _Outcome())

    def _send_claimed(self, key: str) -> None:
        try:
            entry = self._store.entry(key)
            registration = self._store.get(key)
        except UnreadablePayload as exc:
            # Retrying cannot repair it; set it aside where a technician sees it.
            log.error("sync: registration %s unreadable, set aside: %s", key, exc)
            reason = f"stored registration unreadable: {exc}"
            self._settle(self._store.reject, key, reason)
            self._resolve(key, _Outcome(rejected=reason))
            return
        except StorageError:
            log.exception("sync: cannot read registration %s", key)
            self._release(key, "cannot read from the outbox", self._backoff(0))
            self._resolve(key, _Outcome())
            return

        try:
            receipt = self._hub.register(registration, printed_number=entry.printed_number)
        except HubUnavailable as exc:
            delay = self._went_offline(exc.retry_after)
            row_delay = delay if exc.retry_after is not None else self._backoff(entry.attempts)
            log.info("sync: hub unavailable (%s), retrying in %.1fs", exc, row_delay)
            self._release(key, f"hub unavailable: {exc}", row_delay)
            self._resolve(key, _Outcome())
        except HubRejected as exc:
            self._went_online()
            log.warning("sync: hub rejected registration %s: %s", key, exc.reason)
            self._settle(self._store.reject, key, exc.reason or "rejected by the hub")
            self._resolve(key, _Outcome(rejected=exc.reason or "rejected by the hub"))
        except Exception as exc:  # noqa: BLE001 - the worker must outlive any client bug
            # Only the class name is stored: an arbitrary message may carry
            # personal data, and last_error is shown to technicians.
            log.exception("sync: unexpected error sending registration %s", key)
            self._release(key, f"unexpected error: {type(exc).__name__}", self._backoff(entry.attempts))
            self._resolve(key, _Outcome())
        else:
            self._went_online()
            if receipt.registration_key != key:
                # A hub client bug; handing this receipt to the patient would
                # print someone else's number.
                log.error("sync: the hub answered registration %s with a receipt for another", key)
                self._release(key, "receipt for another registration", self._backoff(entry.attempts))
                self._resolve(key, _Outcome())
                self._notify_if_changed()
                return
            try:
                self._store.acknowledge(key, receipt, sent_printed_number=entry.printed_number)
            except StorageError:
                # The hub has the visit; only our bookkeeping failed. Put the
                # row back so it is sent again (idempotent) once storage works.
                log.exception("sync: cannot record the receipt of %s", key)
                self._release(key, "receipt not recorded locally", self._backoff(0), attempted=False)
            # The patient's number is valid either way.
            self._resolve(key, _Outcome(receipt=receipt))
        self._notify_if_changed()

    def _give_back(self, batch: deque[str]) -> None:
        """Return claimed rows that were never sent, due when the pause ends."""
        with self._lock:
            due = self._pause_until
        due = due if due is not None and due > self._clock.now() else self._clock.now()
        while batch:
            key = batch.popleft()
            try:
                self._store.release(key, None, due, attempted=False)
            except StorageError:
                log.exception("sync: cannot release registration %s", key)
                with self._lock:
                    self._unreleased.add(key)

    def _release(self, key: str, error: str, delay: float, *, attempted: bool = True) -> None:
        due = self._clock.now() + timedelta(seconds=delay)
        try:
            self._store.release(key, error, due, attempted=attempted)
        except StorageError:
            log.exception("sync: cannot release registration %s", key)
            with self._lock:
                self._unreleased.add(key)

    def _retry_unreleased(self) -> None:
        with self._lock:
            keys, self._unreleased = self._unreleased, set()
        for key in keys:
            self._release(key, "released after a storage failure", 0.0, attempted=False)

    def _settle(self, action: Callable[[str, str], object], key: str, reason: str) -> None:
        try:
            action(key, reason)
        except StorageError:
            log.exception("sync: cannot record the outcome of %s", key)
            self._release(key, "outcome not recorded locally", self._backoff(0), attempted=False)

    # -- state ------------------------------------------------------------------------

    def _backoff(self, attempts: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**attempts)]."""
        cap = min(self.max_delay, self.base_delay * (2 ** min(attempts, 30)))
        return max(_MIN_DELAY, self._rng.uniform(0.0, cap))

    def _paused(self, now: datetime) -> bool:
        with self._lock:
            return self._pause_until is not None and now < self._pause_until

    def _went_offline(self, retry_after: float | None) -> float:
        """Pause the loop; returns the pause in seconds."""
        with self._lock:
            self._online = False
            self._last_contact = self._clock.monotonic()
            self._failures_in_a_row += 1
            if retry_after is not None:
                # The hub's own instruction (HTTP Retry-After): exactly that.
                delay = max(_MIN_DELAY, float(retry_after))
                self._pause_from_hub = True
            else:
                cap = min(self.max_delay, self.base_delay * (2 ** min(self._failures_in_a_row - 1, 30)))
                delay = max(_MIN_DELAY, self._rng.uniform(0.0, cap))
                self._pause_from_hub = False
            self._pause_until = self._clock.now() + timedelta(seconds=delay)
        return delay

    def _went_online(self) -> None:
        with self._lock:
            was_down = not self._online and self._pause_until is not None
            self._online = True
            self._last_contact = self._clock.monotonic()
            self._failures_in_a_row = 0
            self._pause_until, self._pause_from_hub = None, False
        if was_down:
            # The outage is over: everything waiting goes now, not when each
            # row's own backoff happens to end.
            try:
                self._store.reschedule_pending(self._clock.now())
            except StorageError:
                log.exception("sync: cannot reschedule pending registrations")

    def _ping_if_due(self, *, paused: bool) -> bool:
        """Ping when `ping_interval` has passed since the last exchange.

        Returns True when the hub answered. Never pings during a pause the
        hub asked for itself.
        """
        with self._lock:
            if paused and self._pause_from_hub:
                return False
            last = self._last_contact
        if last is not None and self._clock.monotonic() - last < self.ping_interval:
            return False
        try:
            alive = bool(self._hub.ping())
        except Exception:  # noqa: BLE001 - a ping that raises is a ping that failed
            log.debug("sync: ping failed", exc_info=True)
            alive = False
        if alive:
            self._went_online()
        else:
            with self._lock:
                self._online = False
                self._last_contact = self._clock.monotonic()
        self._notify_if_changed()
        return alive

    # -- waiters and listeners -------------------------------------------------------------

    def _resolve(self, key: str, outcome: _Outcome) -> None:
        with self._lock:
            waiters = self._waiters.pop(key, [])
        for waiter in waiters:
            waiter.receipt, waiter.rejected = outcome.receipt, outcome.rejected
            waiter.done.set()

    def _resolve_all_waiters(self) -> None:
        with self._lock:
            keys = list(self._waiters)
            self._express.clear()
        for key in keys:
            self._resolve(key, _Outcome())

    def _notify_if_changed(self) -> None:
        try:
            pending = self._store.pending_count()
        except StorageError:
            log.exception("sync: cannot count pending registrations")
            return
        with self._lock:
            state = (self._online, pending)
            if state == self._last_notified:
                return
            self._last_notified = state
            listeners = list(self._listeners)
        for callback in listeners:
            self._call(callback, *state)

    @staticmethod
    def _call(callback: Listener, online: bool, pending: int) -> None:
        try:
            callback(online, pending)
        except Exception:  # noqa: BLE001 - a broken screen must not stop delivery
            log.exception("sync: listener failed")
