"""The hub under 20 concurrent kiosks: SQLite's busy handler, SQLite's writer queue, PostgreSQL.

    .venv/bin/python bench/hub_load.py                 # SQLite both ways (about 30 s)
    KIOSK_TEST_PG_PORT=55472 sh packaging/test-services.sh .venv/bin/python bench/hub_load.py
                                                       # and PostgreSQL (about 45 s)
    .venv/bin/python bench/hub_load.py --quick         # a few seconds (smoke run)

Each kiosk is its own process with its own credential, signing its own
requests (`HttpHubClient`, HMAC-SHA256), so the kiosks do not share the
hub's interpreter lock. The hub is the embedded one (`server.embedded`, one
uvicorn worker) on 127.0.0.1: on a SQLite file with writers left to SQLite's
busy handler (`sqlite_writer_queue = false`, the BASELINE: how the hub ran
before the writer queue), on a SQLite file with the writer queue (the
default, `server.db.WriterQueue`), and on a fresh PostgreSQL database when
KIOSK_TEST_POSTGRES_URL is set (packaging/test-services.sh starts a
throw-away cluster and sets it).

Every kiosk registers visits back to back for a fixed time, spread over the
departments; the insurance check is left out so the gateway does not set
the pace. Reported per database: registrations per second and the p50 and
p99 latency of one registration, and as the result each run's figures as
ratios to the baseline's (">1x" = better than the baseline), and the share
of registrations slower than the kiosk's 5 s wait for a hub number
(hub.register_timeout_seconds). After each run the numbers are checked:
unique and gapless per department.

Absolute figures depend on the machine; the ratios are the result.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KIOSKS = 20
# hub.register_timeout_seconds: past this the kiosk prints an offline number.
KIOSK_WAIT_SECONDS = 5.0
DEPARTMENTS = ("NOI", "NHI", "TMH", "RHM", "MAT", "SAN", "DALIEU", "TIMMACH", "NOITIET", "CXK")


@dataclass
class Run:
    database: str
    registrations: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.registrations / self.seconds if self.seconds else 0.0

    def over(self, seconds: float) -> float:
        """The share of registrations slower than `seconds`."""
        return sum(1 for x in self.latencies if x > seconds) / len(self.latencies) if self.latencies else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- one kiosk (a child process) ----------------------------------------------------------


def kiosk_process(url: str, kiosk_id: str, secret: str, index: int, seconds: float, ready, start, results) -> None:
    import logging

    # A loaded machine answers slowly enough for the client's clock-offset
    # warning; the bench's output is the table, not those lines.
    logging.disable(logging.WARNING)
    from drivers.hub.http_client import HttpHubClient
    from kiosk.domain import VIETNAM_TZ, Citizen, Identity, IdentitySource, Registration, Sex, Verification, VisitType
    from kiosk.errors import HubError

    client = HttpHubClient(url, kiosk_id, secret, timeout=30)
    client.ping()  # connect before the clock starts
    latencies: list[float] = []
    errors = 0
    ready.put(index)
    start.wait()
    # time.monotonic is CLOCK_MONOTONIC: one clock for every process, so the
    # parent can take the span from the first start to the last finish.
    began_run = time.monotonic()
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        department = DEPARTMENTS[(index + n) % len(DEPARTMENTS)]
        citizen = Citizen(f"09{index:02d}{n:08d}", "BỆNH NHÂN THỬ TẢI", date(1980, 1, 1), Sex.FEMALE)
        registration = Registration(
            key=uuid.uuid4().hex,
            kiosk_id=kiosk_id,
            identity=Identity(citizen, IdentitySource.CHIP, Verification.CHIP_READ),
            insurance=None,
            visit_type=VisitType.NEW,
            department_code=department,
            service_code=f"KB.{department}",
            created_at=datetime.now(VIETNAM_TZ),
        )
        began = time.perf_counter()
        try:
            client.register(registration)
            latencies.append(time.perf_counter() - began)
        except HubError:
            errors += 1
        n += 1
    client.close()
    results.put((latencies, errors, began_run, time.monotonic()))


# -- one database --------------------------------------------------------------------------


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = "kiosk_hub_bench_" + secrets.token_hex(4)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def check_numbers(database_url: str) -> str:
    """Unique and gapless per department and day, or what is wrong."""
    from sqlalchemy import select

    from server.db import create_hub_engine
    from server.models import Registration

    engine = create_hub_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Registration.department_code, Registration.service_day, Registration.queue_number)
            ).all()
    finally:
        engine.dispose()
    by_queue: dict[tuple[str, date], list[int]] = {}
    for department, day, number in rows:
        by_queue.setdefault((department, day), []).append(number)
    for (department, _day), numbers in by_queue.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            return f"NOT gapless/unique in {department}"
    return f"unique and gapless ({len(rows)} numbers in {len(by_queue)} queues)"


def run_one(
    label: str, folder: Path, database_url: str | None, seconds: float, kiosks: int, **settings: object
) -> tuple[Run, str]:
    from sqlalchemy import text

    from server.db import create_hub_engine
    from server.embedded import start_embedded_hub

    hub = start_embedded_hub(
        folder / "hub.sqlite3",
        database_url=database_url,
        demo_appointment=False,
        rate_limit_per_minute=1_000_000,  # the bench measures the hub, not its brake
        **settings,
    )
    try:
        resolved = hub.settings.resolved_database_url()
        engine = create_hub_engine(resolved)
        with engine.begin() as connection:  # no department fills up during the run
            connection.execute(text("UPDATE departments SET daily_capacity = 1000000"))
        engine.dispose()
        credentials = [hub.add_kiosk(f"bench kiosk {i}") for i in range(kiosks)]
        context = mp.get_context("spawn")
        ready = context.Queue()
        start = context.Event()
        results = context.Queue()
        processes = [
            context.Process(
                target=kiosk_process, args=(hub.url, kid, secret, i, seconds, ready, start, results), daemon=True
            )
            for i, (kid, secret) in enumerate(credentials)
        ]
        for p in processes:
            p.start()
        for _ in processes:  # every kiosk imported and connected: bounded wait
            ready.get(timeout=120)
        start.set()
        latencies: list[float] = []
        errors = 0
        starts, ends = [], []
        for _ in processes:
            part, failed, began, ended = results.get(timeout=seconds + 120)
            latencies += part
            errors += failed
            starts.append(began)
            ends.append(ended)
        for p in processes:
            p.join(timeout=10)
        elapsed = max(ends) - min(starts)
        return Run(label, len(latencies), elapsed, latencies, errors), check_numbers(resolved)
    finally:
        hub.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--seconds", type=float, default=None, help="how long each database is loaded (default 8)")
    parser.add_argument("--kiosks", type=int, default=KIOSKS)
    parser.add_argument("--postgres-url", default=os.environ.get("KIOSK_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (1.5 if args.quick else 8.0)
    import logging

    logging.basicConfig(level=logging.WARNING)

    runs: list[tuple[Run, str]] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        runs.append(run_one("SQLite busy", Path(tmp) / "busy", None, seconds, args.kiosks, sqlite_writer_queue=False))
        runs.append(run_one("SQLite queue", Path(tmp) / "queue", None, seconds, args.kiosks))
        if args.postgres_url:
            url = stack.enter_context(postgres_database(args.postgres_url))
            runs.append(run_one("PostgreSQL", Path(tmp) / "pg", url, seconds, args.kiosks))

    print(f"\nHub load: {args.kiosks} kiosk processes registering back to back for {seconds:g} s each, one hub worker")
    print(
        f"{'database':<13} {'regs':>7} {'regs/s':>9} {'mean ms':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'>5 s':>6} {'errors':>7}  numbers"
    )
    for run, numbers in runs:
        print(
            f"{run.database:<13} {run.registrations:>7} {run.per_second:>9.1f} "
            f"{1000 * (statistics.fmean(run.latencies) if run.latencies else float('nan')):>8.1f} "
            f"{1000 * run.percentile(0.50):>8.1f} {1000 * run.percentile(0.99):>8.1f} "
            f"{1000 * max(run.latencies, default=float('nan')):>8.1f} {run.over(KIOSK_WAIT_SECONDS):>5.1%} "
            f"{run.errors:>7}  {numbers}"
        )
    baseline = runs[0][0]
    print(f"\nResult, as ratios to {baseline.database!r} (the baseline); >1x = better than the baseline:")
    print(f"  {'':<13} {'regs/s':>8} {'p50':>8} {'p99':>8} {'p99/p50':>8}")
    for run, _numbers in runs:
        print(
            f"  {run.database:<13} {run.per_second / baseline.per_second:>7.2f}x "
            f"{baseline.percentile(0.5) / run.percentile(0.5):>7.2f}x "
            f"{baseline.percentile(0.99) / run.percentile(0.99):>7.2f}x "
            f"{run.percentile(0.99) / run.percentile(0.5):>7.1f}x"
        )
    if len(runs) < 3:
        print(
            "PostgreSQL skipped: KIOSK_TEST_POSTGRES_URL is not set. Run it beside SQLite with\n"
            "  KIOSK_TEST_PG_PORT=55472 sh packaging/test-services.sh .venv/bin/python bench/hub_load.py"
        )
    bad = [numbers for _run, numbers in runs if not numbers.startswith("unique")]
    return 1 if bad or any(run.errors for run, _n in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
