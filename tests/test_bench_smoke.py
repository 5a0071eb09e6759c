"""The benchmarks still run: each one's --quick mode, in process, bounded."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_qr_decode_bench_quick(qapp, capsys) -> None:
    bench = _load("qr_decode")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for heading in ("Decode rate per condition", "speed relative to OpenCV QRCodeDetector", "Camera preview on the UI thread"):
        assert heading in out
    assert "zxing-cpp" in out and "OpenCV Aruco" in out


def test_outbox_bench_quick(capsys) -> None:
    bench = _load("outbox")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "Outbox cost as the backlog grows" in out
    assert "enqueue p99" in out and "flush rate" in out


def test_chip_read_bench_quick(capsys) -> None:
    bench = _load("chip_read")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "Chip read cost per strategy" in out
    assert "automatic / fixed 223" in out and "floor" in out


def test_card_events_bench_quick(capsys) -> None:
    bench = _load("card_events")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "events against polling" in out
    assert "polling / events" in out and "idle wakeups" in out
