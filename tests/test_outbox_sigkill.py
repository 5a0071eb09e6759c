"""Kill the kiosk with SIGKILL while it registers and syncs; nothing is lost or doubled.

The kiosk side runs as a real subprocess (`tests/outbox_kill_driver.py`): the
real encrypted outbox on a SQLite file, the real sync worker, the real HTTP
client. The hub is the embedded hub on 127.0.0.1 with its own SQLite file,
in this test process, so it lives through every kill.

The kill points are random: the test reads the driver's progress lines and
sends SIGKILL after a randomly drawn number of them, while the driver's sync
thread is claiming, sending and acknowledging concurrently, so a kill lands
between any two statements of either thread. After a bounded number of
kills the driver runs to the end and must drain its outbox. Then:

* every key the driver reported as added is at the hub exactly once, and the
  hub holds no other key (nothing lost, nothing duplicated, nothing made up);
* every offline number the driver reported as printed is the number the hub
  keeps for that visit (the patient holds that ticket);
* no number was printed for two visits, and every number printed in the
  hub's format lies in a block the hub leased to this kiosk (a lease whose
  answer a kill cut off is asked again with the same key and replayed, never
  cut twice).

The seed is printed on failure so a failing run can be replayed with
KIOSK_TEST_KILL_SEED.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from server.embedded import start_embedded_hub

DRIVER = Path(__file__).resolve().parent / "outbox_kill_driver.py"
COUNT = 1000
KILLS = 8
# The final, unkilled run adds what is left and drains the outbox.
FINAL_RUN_LIMIT_SECONDS = 100


def _read_progress(proc: subprocess.Popen[str], stop_after: int | None, added: set[str], printed: dict[str, str]) -> str:
    """Record the driver's lines; SIGKILL it after `stop_after` of them.

    Returns "killed", "drained" or "exited". Bounded: each readline returns
    a line or EOF, and the driver prints at most a few lines per registration.
    """
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        word, *rest = line.split()
        if word == "added":
            added.add(rest[0])
        elif word == "printed":
            key, number = rest
            assert printed.setdefault(key, number) == number, f"{key} printed as {printed[key]} and {number}"
        elif word == "drained":
            return "drained"
        seen += 1
        if stop_after is not None and seen >= stop_after:
            proc.send_signal(signal.SIGKILL)
            return "killed"
    return "exited"


@pytest.mark.timeout(240)
def test_sigkill_during_registrations_and_sync_loses_and_doubles_nothing(tmp_path):
    seed = int(os.environ.get("KIOSK_TEST_KILL_SEED") or secrets.randbits(32))
    rng = random.Random(seed)
    hub = start_embedded_hub(tmp_path / "hub.sqlite3", rate_limit_per_minute=1_000_000)
    command = [
        sys.executable,
        str(DRIVER),
        "--outbox", str(tmp_path / "kiosk" / "outbox.sqlite3"),
        "--key-hex", secrets.token_hex(32),
        "--hub", hub.url,
        "--kiosk-id", hub.kiosk_id,
        "--secret", hub.kiosk_secret,
        "--count", str(COUNT),
    ]
    added: set[str] = set()
    printed: dict[str, str] = {}
    kills = 0
    try:
        for _run in range(KILLS):
            # Roughly a tenth of the work between kills, so the kills are
            # spread over the whole run, drain included.
            stop_after = rng.randint(1, 2 * COUNT // KILLS)
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            try:
                outcome = _read_progress(proc, stop_after, added, printed)
            finally:
                proc.wait(timeout=30)
            if outcome == "killed":
                kills += 1
                assert proc.returncode == -signal.SIGKILL
            else:
                break

        final = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            outcome = _read_progress(final, None, added, printed)
        finally:
            final.wait(timeout=FINAL_RUN_LIMIT_SECONDS)
        assert outcome == "drained" and final.returncode == 0, f"seed {seed}: the last run did not drain"
    finally:
        hub.stop()

    with sqlite3.connect(tmp_path / "hub.sqlite3") as db:
        rows = db.execute("SELECT key, printed_number, display_number FROM registrations").fetchall()
        leases = db.execute("SELECT lease_key, first_number, last_number FROM number_leases").fetchall()
    keys = [row[0] for row in rows]
    expected = {f"kill-{i:05d}" for i in range(COUNT)}

    assert kills >= 1, f"seed {seed}: the driver finished before any kill"
    assert added <= expected
    assert len(keys) == len(set(keys)), f"seed {seed}: a key is at the hub twice"
    assert set(keys) == expected, f"seed {seed}: lost {sorted(expected - set(keys))[:5]}, extra {sorted(set(keys) - expected)[:5]}"
    at_hub = {key: (printed_number, shown) for key, printed_number, shown in rows}
    for key, number in printed.items():
        assert at_hub[key] == (number, number), f"seed {seed}: {key} printed {number}, hub keeps {at_hub[key]}"
    assert len(set(printed.values())) == len(printed), f"seed {seed}: a number was printed twice"
    leased = [n for _key, first, last in leases for n in range(first, last + 1)]
    assert len(leased) == len(set(leased)), f"seed {seed}: the hub leased a number twice"
    band_printed = {int(n.split("-")[1]) for n in printed.values() if not n.startswith("K01-")}
    assert band_printed, f"seed {seed}: no leased number was printed"
    assert band_printed <= set(leased), f"seed {seed}: printed {sorted(band_printed - set(leased))}, never leased"
    assert min(leased) == 301  # NOI's outage band (capacity 240)
    # Registrations without an offline ticket got the hub's own numbers.
    assert all(printed_number is None for key, (printed_number, _shown) in at_hub.items() if key not in printed)
