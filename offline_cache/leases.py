"""Keeping a block of hub numbers on the kiosk for the next outage.

While the hub answers, `LeaseKeeper.top_up` makes sure the outbox holds at
least `low_water` leased numbers per department for today (`server.leases`
explains the hub side). When the network then fails, the desk's offline
number (`OutboxStore.assign_offline_number`) is one of these, printed as the
hub prints its own ("A-013"), and only after they run out one of the
kiosk's own series ("K01-A007").

The lease key names the request, not the answer: it is derived from the
kiosk, the department, the day and how many blocks the kiosk already holds,
so a request whose answer was lost is repeated with the same key and the hub
answers the same block instead of cutting a second one.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, Protocol

from kiosk.errors import HubRejected, HubUnavailable, StorageError
from offline_cache.store import OutboxStore

log = logging.getLogger(__name__)


class LeasingHub(Protocol):
    """What the keeper needs of the hub client (`drivers.hub.http_client.HttpHubClient`)."""

    def lease_numbers(self, department_code: str, day: date, size: int, lease_key: str) -> Mapping[str, Any]: ...


def lease_key(kiosk_id: str, department_code: str, day: date, ordinal: int) -> str:
    """A key the hub accepts ([A-Za-z0-9_.:-]{8,64}) whatever the kiosk id looks like."""
    digest = hashlib.sha256(f"{kiosk_id}\n{department_code}\n{day.isoformat()}\n{ordinal}".encode()).hexdigest()
    return f"L{digest[:40]}"


class LeaseKeeper:
    def __init__(self, store: OutboxStore, hub: LeasingHub, *, block_size: int = 20, low_water: int = 5) -> None:
        if block_size < 1 or low_water < 0:
            raise ValueError("need block_size >= 1 and low_water >= 0")
        self._store = store
        self._hub = hub
        self.block_size = block_size
        self.low_water = low_water

    def top_up(self, departments: Iterable[tuple[str, str]], day: date) -> int:
        """Lease a block for each (department code, queue prefix) running low; numbers gained.

        Stops at the first `HubUnavailable` (offline: nothing more to do until
        the hub is back). A department the hub refuses (full for the day,
        unknown) is skipped; the kiosk series covers it.
        """
        gained = 0
        for code, prefix in departments:
            try:
                if self._store.leased_numbers_left(prefix, day) >= self.low_water:
                    continue
                ordinal = self._store.number_blocks(prefix, day) + 1
                key = lease_key(self._store.kiosk_id, code, day, ordinal)
                answer = self._hub.lease_numbers(code, day, self.block_size, key)
                if answer["queue_prefix"] != prefix:
                    # Reference data changed under us: the block would print
                    # under a prefix staff no longer call. Refresh first.
                    log.warning("lease for %s came with prefix %s, not %s; skipped", code, answer["queue_prefix"], prefix)
                    continue
                first, last = int(answer["first"]), int(answer["last"])
                if self._store.add_number_block(key, prefix, day, first, last):
                    gained += last - first + 1
                    log.info("leased %s %d-%d for %s", code, first, last, day)
            except HubUnavailable:
                log.info("lease top-up stopped: hub unavailable")
                break
            except HubRejected as exc:
                log.info("no lease for %s: %s", code, exc)
            except StorageError:
                log.exception("cannot store a lease")
                break
        return gained



def keep_topped_up(
    worker: Any,
    keeper: LeaseKeeper,
    departments: Callable[[], Iterable[tuple[str, str]]],
    today: Callable[[], date],
) -> None:
    """Top up leases on the sync worker's thread after each pass with the hub online.

    Leases are requested by the one thread that already talks to the hub for
    the outbox, right after a successful exchange, and never while the hub
    is down. With every department above `low_water` a top-up is a few local
    reads. `departments()` is read each time: reference data arrives (and
    changes) after the worker has started.
    """
    worker.add_online_task(lambda: keeper.top_up(list(departments()), today()))
