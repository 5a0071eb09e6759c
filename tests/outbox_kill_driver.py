"""The kiosk side of the SIGKILL test, run as its own process.

`python tests/outbox_kill_driver.py --outbox FILE --key-hex HEX --hub URL
--kiosk-id ID --secret S --count N` does what the kiosk does all day, with
the real `OutboxStore`, `SyncWorker` and `HttpHubClient`: it adds N
registrations (deterministic keys, so a restarted run knows which ones it
already holds), prints an offline number for some of them, asks for
immediate delivery of others, and lets the worker thread sync the rest.
Like a wired kiosk it keeps a block of the hub's outage numbers leased for
today (`offline_cache.leases`, topped up on the worker thread), so today's
offline tickets come from leased blocks first, then from the K01 series.

The test (`test_outbox_sigkill.py`) kills it with SIGKILL at random points
and starts it again. The driver only reports on stdout what is durable:

    added KEY              store.add() returned: the row is committed
    printed KEY NUMBER     assign_offline_number() returned: committed
    drained                every row is acked or rejected; clean exit 0

A line is written after the commit it reports, so a line the test reads is a
promise the store must keep; a kill between the commit and the line only
means the test knows less than the store does.

No personal data: the citizens are synthetic and nothing of them is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

# Run as a script: make the project importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.hub.http_client import HttpHubClient  # noqa: E402
from kiosk.clock import SystemClock  # noqa: E402
from kiosk.domain import (  # noqa: E402
    VIETNAM_TZ,
    Citizen,
    Identity,
    IdentitySource,
    Registration,
    Sex,
    Verification,
    VisitType,
)
from offline_cache.leases import LeaseKeeper, keep_topped_up  # noqa: E402
from offline_cache.store import DuplicateRegistration, OutboxStore  # noqa: E402
from offline_cache.sync import SyncWorker  # noqa: E402

# Spread over several service days so no department reaches its daily
# capacity (the seed's NOI takes 240 a day) with 1,000 registrations. Day 3
# is today, the only day numbers can be leased for, and the day of every
# offline ticket (`prints_offline`); the others are past days.
DAYS = 5
FIRST_DAY = date(2026, 11, 16)
LEASE_BLOCK = 4  # small, so a run leases several blocks and kills land between them
DEPARTMENT, SERVICE, PREFIX = "NOI", "KB.NOI", "A"
DRAIN_LIMIT_SECONDS = 90.0


def key_of(index: int) -> str:
    return f"kill-{index:05d}"


def service_day_of(index: int) -> date:
    if index % DAYS == 3:
        return datetime.now(VIETNAM_TZ).date()
    return FIRST_DAY + timedelta(days=index % DAYS)


def registration(index: int, kiosk_id: str) -> Registration:
    day = service_day_of(index)
    created = datetime(day.year, day.month, day.day, 7, 0, tzinfo=VIETNAM_TZ) + timedelta(seconds=index)
    citizen = Citizen(
        id_number=f"0010990{index:05d}",
        full_name="NGƯỜI THỬ",
        date_of_birth=date(1970, 1, 1),
        sex=Sex.FEMALE if index % 2 else Sex.MALE,
        old_id_number=None,
        place_of_residence=None,
        date_of_issue=None,
    )
    return Registration(
        key=key_of(index),
        kiosk_id=kiosk_id,
        identity=Identity(citizen, IdentitySource.CHIP, Verification.CHIP_READ),
        insurance=None,
        visit_type=VisitType.NEW,
        department_code=DEPARTMENT,
        service_code=SERVICE,
        created_at=created,
    )


def prints_offline(index: int) -> bool:
    """Every tenth patient gets an offline number (the hub was slow for them)."""
    return index % 10 == 3


def asks_now(index: int) -> bool:
    """Every seventh waits for the hub's own number, as an online check-in does."""
    return index % 7 == 0


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--key-hex", required=True)
    parser.add_argument("--hub", required=True)
    parser.add_argument("--kiosk-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args(argv)

    clock = SystemClock()
    store = OutboxStore(args.outbox, bytes.fromhex(args.key_hex), args.kiosk_id, "K01", clock=clock)
    hub = HttpHubClient(args.hub, args.kiosk_id, args.secret, timeout=5.0)
    worker = SyncWorker(
        store, hub, clock, batch_size=25, base_delay=0.05, max_delay=0.5, ping_interval=0.2, poll_interval=0.05
    )
    keeper = LeaseKeeper(store, hub, block_size=LEASE_BLOCK, low_water=2)
    keep_topped_up(worker, keeper, lambda: [(DEPARTMENT, PREFIX)], lambda: datetime.now(VIETNAM_TZ).date())
    worker.start()
    for index in range(args.count):
        reg = registration(index, args.kiosk_id)
        try:
            store.add(reg)
        except DuplicateRegistration:
            pass  # added by a run that was killed: the store has it
        else:
            say(f"added {reg.key}")
        if asks_now(index):
            worker.deliver_now(reg.key, timeout=2.0)
        if prints_offline(index):
            # Idempotent: a key that already has a number gets the same one.
            number = store.assign_offline_number(reg.key, PREFIX, reg.created_at.astimezone(VIETNAM_TZ).date())
            say(f"printed {reg.key} {number}")

    worker.sync_now()
    deadline = time.monotonic() + DRAIN_LIMIT_SECONDS
    while store.pending_count() and time.monotonic() < deadline:
        time.sleep(0.02)
    left = store.pending_count()
    worker.stop(timeout=10.0)
    rejected = store.rejected()
    store.close()
    hub.close()
    if left or rejected:
        say(f"not-drained pending={left} rejected={len(rejected)}")
        return 1
    say("drained")
    return 0


if __name__ == "__main__":
    sys.exit(main())
