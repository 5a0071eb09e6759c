"""The outbox under a growing backlog: durable enqueue and flush to a hub on 127.0.0.1.

    .venv/bin/python bench/outbox.py            # backlogs of 1k and 10k (about 40 s)
    .venv/bin/python bench/outbox.py --full     # and 100k (a few minutes: building it is the cost)
    .venv/bin/python bench/outbox.py --quick    # 100 and 300, small samples (the suite's smoke run)

For each backlog size N, on a fresh encrypted outbox (`OutboxStore`: WAL,
synchronous=FULL, AES-GCM) on a real file:

* durable enqueue: N registrations are added one by one, each its own
  committed transaction, as the desk does while the hub is down. Reported:
  p50 and p99 of one `add` over all N, and p50 over the last tenth (the cost
  at the full depth N).
* flush: the embedded hub is started on a fresh SQLite file and the sync
  worker (`SyncWorker.run_once`, the real `HttpHubClient`, signed requests)
  delivers the first `--sample` rows of the backlog. Reported: rows per
  second. Draining all of a 100k backlog would take the hub's own cost
  (one SQLite transaction per registration) times 100k; what grows with the
  backlog on the kiosk side is claiming due rows out of N pending, and that
  is what a sample of the head of the queue shows.

The result is the ratio of each figure to the 1k BASELINE (enqueue: ">1x" =
slower than at 1k; flush: "<1x" = slower than at 1k). Absolute times depend
on the disk (fsync) and the machine; they are printed only beside the ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

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
from offline_cache.store import OutboxStore  # noqa: E402
from offline_cache.sync import SyncWorker  # noqa: E402
from server.embedded import start_embedded_hub  # noqa: E402

# Spread over departments and days so no department meets its daily capacity.
DEPARTMENTS = ("NOI", "NHI", "TMH", "RHM", "MAT", "SAN", "DALIEU", "TIMMACH", "NOITIET", "CXK")
FIRST_DAY = date(2026, 10, 1)
DAYS = 30
DATA_KEY = bytes(range(32))


@dataclasses.dataclass
class Result:
    size: int
    add_p50: float
    add_p99: float
    add_p50_deep: float
    flushed: int
    flush_rate: float


def registration(index: int, kiosk_id: str) -> Registration:
    department = DEPARTMENTS[index % len(DEPARTMENTS)]
    day = FIRST_DAY + timedelta(days=(index // len(DEPARTMENTS)) % DAYS)
    citizen = Citizen(
        id_number=f"0019{index:08d}",
        full_name="NGƯỜI THỬ",
        date_of_birth=date(1980, 1, 1),
        sex=Sex.FEMALE,
    )
    return Registration(
        key=f"bench-{index:07d}",
        kiosk_id=kiosk_id,
        identity=Identity(citizen, IdentitySource.CHIP, Verification.CHIP_READ),
        insurance=None,
        visit_type=VisitType.NEW,
        department_code=department,
        service_code=f"KB.{department}",
        created_at=datetime(day.year, day.month, day.day, 8, 0, tzinfo=VIETNAM_TZ),
    )


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_size(size: int, sample: int, workdir: Path) -> Result:
    hub = start_embedded_hub(workdir / f"hub-{size}.sqlite3", rate_limit_per_minute=10_000_000)
    try:
        store = OutboxStore(workdir / f"outbox-{size}.sqlite3", DATA_KEY, hub.kiosk_id, "K01", clock=SystemClock())
        times: list[float] = []
        for index in range(size):
            reg = registration(index, hub.kiosk_id)
            started = time.perf_counter()
            store.add(reg)
            times.append(time.perf_counter() - started)

        client = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)
        worker = SyncWorker(store, client, SystemClock(), batch_size=50)
        # Stop after `sample` sends: the worker checks _stopping between rows.
        sent = 0
        original_send = worker._send

        def counted(key: str) -> None:
            nonlocal sent
            original_send(key)
            sent += 1
            if sent >= sample:
                worker._stopping.set()

        worker._send = counted  # type: ignore[method-assign]
        client.ping()
        started = time.perf_counter()
        worker.run_once(force=True)
        elapsed = time.perf_counter() - started
        flushed = size - store.pending_count()
        if store.rejected():
            raise SystemExit(f"the hub rejected rows: {store.rejected()[0].reason}")
        client.close()
        store.close()
    finally:
        hub.stop()
    deep = times[-max(1, size // 10) :]
    return Result(size, quantile(times, 0.5), quantile(times, 0.99), quantile(deep, 0.5), flushed, flushed / elapsed)


def report(results: list[Result]) -> None:
    base = results[0]
    print(f"\nOutbox cost as the backlog grows (BASELINE: {base.size:,} rows)")
    print("ratios to the baseline; enqueue >1x = slower, flush <1x = slower\n")
    header = f"{'backlog':>9} | {'enqueue p50':>11} | {'enqueue p99':>11} | {'p50 at depth':>12} | {'flush rate':>10}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.size:>9,} | {r.add_p50 / base.add_p50:>10.2f}x | {r.add_p99 / base.add_p99:>10.2f}x | "
            f"{r.add_p50_deep / base.add_p50_deep:>11.2f}x | {r.flush_rate / base.flush_rate:>9.2f}x"
        )
    print("\nabsolute figures on this machine, for reference only:")
    for r in results:
        print(
            f"  {r.size:>7,}: enqueue p50 {r.add_p50 * 1e3:.2f} ms, p99 {r.add_p99 * 1e3:.2f} ms, "
            f"p50 at depth {r.add_p50_deep * 1e3:.2f} ms; flush {r.flush_rate:.0f} rows/s ({r.flushed} rows)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="100 and 300 rows, small flush sample (seconds)")
    mode.add_argument("--full", action="store_true", help="add the 100k backlog (minutes)")
    parser.add_argument("--sample", type=int, default=None, help="rows flushed per backlog (default 300, quick 10)")
    args = parser.parse_args(argv)
    sizes = [100, 300] if args.quick else [1_000, 10_000] + ([100_000] if args.full else [])
    sample = args.sample or (10 if args.quick else 300)
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        results = []
        for size in sizes:
            print(f"backlog {size:,}: enqueue, then flush {min(sample, size)} rows ...", flush=True)
            results.append(run_size(size, min(sample, size), Path(tmp)))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
