"""The card watcher: reader events against polling, side by side.

    .venv/bin/python bench/card_events.py           # simulated reader, and pcscd + vpcd when there
    .venv/bin/python bench/card_events.py --quick   # a few taps, simulated only (the suite's smoke run)

Both runs use the production `kiosk.desk.CardWatcher` on the same reader:

* BASELINE "polling": the reader's events hidden, so the watcher asks
  `card_present()` every 0.25 s (its default, and what it did before);
* "events": the watcher subscribes to the reader's insert/remove events
  (`kiosk.ports.CardPresenceEvents`) and sleeps until one comes.

Two readers: the in-process `SimulatedCardReader`, and the real PC/SC path,
`PcscCardReader` over pcscd with a simulated chip behind the vpcd driver
(when KIOSK_TEST_PCSCD=1, e.g. under packaging/test-services.sh, which also
chooses this run's vpcd port in KIOSK_TEST_VPCD_PORT).

Measured:

* tap to read start: from the card entering the field (reader.place, or the
  vpcd link coming up) to the desk's `card_placed` running on the watcher's
  thread, where the chip read starts. Each tap comes after a random pause,
  so it lands at a random phase of the poll. Through pcscd the events path
  still waits for pcscd itself, which asks the vpcd slot every 400 ms
  (pcsc-lite PCSCLITE_STATUS_POLL_RATE): the watcher's poll adds to that.
* idle wakeups: context switches per second of this process's threads
  (Linux /proc/self/task/*/status) while no card is on the reader, and the
  `card_present()` calls made.

The result is the ratios (polling / events); absolute times depend on the
machine.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.card.samples import sample_chip  # noqa: E402
from drivers.card.simulated import SimulatedCardReader  # noqa: E402
from kiosk.desk import CardWatcher  # noqa: E402

POLL_INTERVAL = 0.25  # CardWatcher's default
PCSCD_POLL = 0.4  # pcsc-lite asks a reader without its own event thread (vpcd) every 400 ms
WAIT = 20.0  # upper bound for one tap to be seen


class PollOnly:
    """The same reader with its events hidden: the watcher falls back to polling."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self.name = reader.name

    def card_present(self) -> bool:
        return self._reader.card_present()

    def connect(self) -> Any:
        return self._reader.connect()

    def disconnect(self) -> None:
        self._reader.disconnect()


class Counted:
    """Counts the presence checks made through it (events pass straight on)."""

    def __init__(self, reader: Any, events: bool) -> None:
        self._reader = reader
        self.name = reader.name
        self.polls = 0
        if events:
            self.add_observer = reader.add_observer
            self.remove_observer = reader.remove_observer

    def card_present(self) -> bool:
        self.polls += 1
        return self._reader.card_present()

    def connect(self) -> Any:
        return self._reader.connect()

    def disconnect(self) -> None:
        self._reader.disconnect()


@dataclass
class Slot:
    """A reader and how to put a card on it and take it off."""

    name: str
    reader: Any
    place: Callable[[], None]
    remove: Callable[[], None]
    # Taps come after a pause drawn from [0, phase): the longest poll on the
    # way (the watcher's, or pcscd's own), so they land at random phases of both.
    phase: float = POLL_INTERVAL


def simulated_slot() -> Slot:
    reader = SimulatedCardReader()
    chip = sample_chip(1)
    return Slot("simulated", reader, lambda: reader.place(chip), reader.remove)


def pcscd_slot() -> tuple[Slot, Callable[[], None]] | None:
    if os.environ.get("KIOSK_TEST_PCSCD") != "1":
        return None
    from drivers.card.pcsc import PcscCardReader
    from drivers.card.vpcd import VirtualCardBridge

    port = int(os.environ.get("KIOSK_TEST_VPCD_PORT") or 35963)
    name = os.environ.get("KIOSK_TEST_VPCD_READER") or f"Virtual PCD 00 {port - 35963:02X}"
    reader = PcscCardReader(name)
    if not PcscCardReader.is_usable() or reader.reader_name() is None:
        print(f"(pcscd: no reader {name!r}; PC/SC rows left out)")
        return None
    bridge = VirtualCardBridge(host="127.0.0.1", port=port)
    bridge.start()
    chip = sample_chip(1)

    def place() -> None:
        bridge.insert(chip)

    def remove() -> None:
        bridge.remove()

    return Slot("pcscd + vpcd", reader, place, remove, PCSCD_POLL), bridge.stop


@dataclass
class Run:
    latencies: list[float]
    wakeups_per_s: float | None
    polls_per_s: float


def _context_switches() -> int | None:
    """Voluntary + involuntary context switches of every thread of this process."""
    total = 0
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/status") as status:
                for line in status:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
    except OSError:
        return None
    return total


def measure(slot: Slot, events: bool, taps: int, idle_seconds: float, rng: random.Random) -> Run:
    reader = Counted(slot.reader if events else PollOnly(slot.reader), events)
    seen: queue.Queue[tuple[str, float]] = queue.Queue()

    def placed() -> None:
        seen.put(("placed", time.perf_counter()))  # where card_placed starts the read

    def removed() -> None:
        seen.put(("removed", time.perf_counter()))

    def expect(kind: str) -> float:
        got, at = seen.get(timeout=WAIT)
        if got != kind:
            raise RuntimeError(f"expected {kind}, the watcher said {got}")
        return at

    watcher = CardWatcher(reader, placed, removed, interval=POLL_INTERVAL)
    watcher.start()
    try:
        # Idle: no card; the watcher subscribed (or polls) and waits.
        time.sleep(min(0.3, idle_seconds))
        before, polls_before = _context_switches(), reader.polls
        time.sleep(idle_seconds)
        after, polls_after = _context_switches(), reader.polls
        wakeups = None if before is None or after is None else (after - before - 1) / idle_seconds  # -1: our sleep
        latencies = []
        for _ in range(taps):
            time.sleep(rng.uniform(0, slot.phase))  # a random phase of the polls
            tapped = time.perf_counter()
            slot.place()
            latencies.append(expect("placed") - tapped)
            slot.remove()
            expect("removed")
        expected_mode = "events" if events else "polling"
        if watcher.mode != expected_mode:
            raise RuntimeError(f"watcher ran in {watcher.mode} mode, not {expected_mode}")
    finally:
        watcher.stop()
    return Run(latencies, wakeups, (polls_after - polls_before) / idle_seconds)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _ratio(baseline: float | None, value: float | None) -> str:
    if baseline is None or value is None:
        return "n/a"
    if value <= 0:
        return "inf" if baseline > 0 else "1.0x"
    return f"{baseline / value:.1f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few taps on the simulated reader only")
    args = parser.parse_args(argv)
    rng = random.Random(9303)
    taps, idle = (2, 0.25) if args.quick else (20, 2.0)

    slots: list[tuple[Slot, int]] = [(simulated_slot(), taps)]
    closers: list[Callable[[], None]] = []
    if not args.quick:
        pcscd = pcscd_slot()
        if pcscd is not None:
            slots.append((pcscd[0], 14))  # each tap waits for pcscd's own 400 ms poll
            closers.append(pcscd[1])
        else:
            print("(pcscd + vpcd not available: run under packaging/test-services.sh for the PC/SC rows)")

    print(f"Card watcher: events against polling every {POLL_INTERVAL * 1000:.0f} ms (BASELINE)")
    print(f"{'reader':<14} {'watcher':<8} {'taps':>4} {'tap→read median ms':>19} {'p95 ms':>8}"
          f" {'idle wakeups/s':>15} {'polls/s':>8}")  # fmt: skip
    results: list[tuple[str, Run, Run]] = []
    try:
        for slot, count in slots:
            runs = {}
            for label, events in (("polling", False), ("events", True)):
                run = measure(slot, events, count, idle, rng)
                runs[label] = run
                wake = "n/a" if run.wakeups_per_s is None else f"{run.wakeups_per_s:.1f}"
                print(f"{slot.name:<14} {label:<8} {count:>4} {statistics.median(run.latencies) * 1000:>19.2f}"
                      f" {_ms(run.latencies, 0.95):>8.2f} {wake:>15} {run.polls_per_s:>8.1f}")  # fmt: skip
            results.append((slot.name, runs["polling"], runs["events"]))
    finally:
        for close in closers:
            close()

    print()
    print("Result: polling / events (higher = events better)")
    for name, polling, events in results:
        print(f"  {name:<14} tap→read median {_ratio(statistics.median(polling.latencies), statistics.median(events.latencies))}"
              f", p95 {_ratio(_ms(polling.latencies, 0.95), _ms(events.latencies, 0.95))}"
              f", idle wakeups {_ratio(polling.wakeups_per_s, events.wakeups_per_s)}"
              f" ({'n/a' if polling.wakeups_per_s is None else f'{polling.wakeups_per_s:.1f}'}"
              f" → {'n/a' if events.wakeups_per_s is None else f'{events.wakeups_per_s:.1f}'} per s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
