"""QR decoding on camera-like 1280x720 frames: zxing-cpp against OpenCV.

    .venv/bin/python bench/qr_decode.py            # under a minute (time-boxed)
    .venv/bin/python bench/qr_decode.py --quick    # a few seconds (the test suite's smoke run)

Part 1 - decoders. A generated set of frames, each a QR code on a card in a
cluttered scene, under one hard condition at a time: rotation, perspective,
blur, low contrast, glare, small modules (2 px) and clutter, plus a plain
baseline. The payloads are the kiosk's real kinds (CCCD with Vietnamese
UTF-8, BHYT in hex, a VNeID token, VietQR). Each frame goes through:

- zxing-cpp, as the kiosk runs it (`drivers.camera.decoder.ZxingQrDecoder`);
- OpenCV's QRCodeDetector (`OpenCvQrDecoder`, the fallback), the BASELINE;
- OpenCV's QRCodeDetectorAruco.

A frame counts as decoded when the exact payload comes out. Reported: the
decode rate per condition side by side, and the median and p95 time per
frame, as ratios to the baseline (">1x" = faster than OpenCV's detector).

Part 2 - the screen while decoding. The identify screen's camera preview
(`ui.camera_preview.CameraPreviewWidget`, offscreen) shows a simulated
30 fps camera, first alone, then while the `QrScanner` worker decodes with
zxing-cpp flat out (no pause between frames: the worst case) and at the
kiosk's pace. Reported: distinct frames shown per second and the longest
stall of the UI event loop, as ratios to the preview alone.

The frames are generated from a fixed seed, so two runs see the same set.
Absolute times depend on the machine; the ratios are the result.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from drivers.camera.decoder import OpenCvQrDecoder, ZxingQrDecoder, to_grayscale  # noqa: E402
from kiosk.qr import build_vietqr  # noqa: E402

WIDTH, HEIGHT = 1280, 720

PAYLOADS = {
    "cccd": "001058012345|011234567|NGUYỄN VĂN AN|02071958|Nam|Số 12 Ngõ 45 Phố Hào Nam, Phường Ô Chợ Dừa, Quận Đống Đa, Hà Nội|10042021",
    "bhyt": "|".join(
        [
            "HT2010123456789",
            "NGUYỄN VĂN AN".encode().hex(),
            "02/07/1958",
            "1",
            "Số 12 Ngõ 45 Phố Hào Nam, Đống Đa, Hà Nội".encode().hex(),
            "01 - 001",
            "01/01/2026",
            "-",
            "15/12/2025",
            "0123456789",
            "-",
            "4",
            "01/01/2020",
            "a1b2c3d4e5",
            "-",
            "Bảo hiểm xã hội thành phố Hà Nội".encode().hex(),
            "$",
        ]
    ),
    "vneid": "VNEID:AQFn3Xk8q9Zp0r7YcW2tL5mN4vB6xJ1hG3sD8fK2",
}


def _vietqr() -> str:
    return build_vietqr("970436", "0011001234567", 42100, "KHAM BENH A012")


# -- frame generation -----------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def qr_modules(text: str) -> np.ndarray:
    """The symbol as 0/255 modules with a 4-module quiet zone, byte-mode UTF-8."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=4)
    code.add_data(text.encode("utf-8"))
    code.make(fit=True)
    return np.array(code.make_image().get_image().convert("L"), dtype=np.uint8)


def background(rng: np.random.Generator, clutter: bool) -> np.ndarray:
    """A counter seen by a webcam: a gradient, and with `clutter` the things
    that lie on one (papers with print, a keyboard's grid, pens, a logo)."""
    t = np.linspace(0, 1, HEIGHT, dtype=np.float32)[:, None, None]
    top = rng.uniform(70, 130, 3).astype(np.float32)
    bottom = top * rng.uniform(0.5, 0.8)
    frame = np.ascontiguousarray(np.broadcast_to(top + (bottom - top) * t, (HEIGHT, WIDTH, 3)), dtype=np.uint8)
    if clutter:
        for _ in range(14):
            x, y = int(rng.integers(0, WIDTH - 200)), int(rng.integers(0, HEIGHT - 150))
            w, h = int(rng.integers(80, 300)), int(rng.integers(60, 220))
            colour = tuple(float(c) for c in rng.uniform(30, 245, 3))
            cv2.rectangle(frame, (x, y), (x + w, y + h), colour, -1)
            for line in range(int(rng.integers(2, 7))):  # printed lines of text
                ly = y + 12 + line * 18
                if ly < y + h - 6:
                    cv2.putText(frame, "BENH VIEN 0123 KHAM", (x + 6, ly), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1)
        gx, gy = int(rng.integers(0, WIDTH - 260)), int(rng.integers(0, HEIGHT - 110))
        for i in range(12):  # a keyboard-like grid of squares: finder-pattern bait
            for j in range(4):
                cv2.rectangle(frame, (gx + i * 22, gy + j * 26), (gx + i * 22 + 16, gy + j * 26 + 20), (15, 15, 15), 2)
        for _ in range(6):
            p1 = (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)))
            p2 = (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)))
            cv2.line(frame, p1, p2, tuple(float(c) for c in rng.uniform(0, 255, 3)), int(rng.integers(2, 6)))
    return frame.astype(np.float32)


@dataclass(frozen=True)
class Condition:
    name: str
    module_px: float = 5.0
    angle: tuple[float, float] = (-6.0, 6.0)  # degrees
    tilt: float = 0.02  # perspective: each corner moves up to this share of the side
    blur: float = 0.6  # Gaussian sigma, px
    contrast: float = 1.0  # 1: black on white; lower: greyer and dimmer
    glare: bool = False
    clutter: bool = False


CONDITIONS = (
    Condition("plain"),
    Condition("rotation", angle=(20.0, 340.0)),
    Condition("perspective", tilt=0.16),
    Condition("blur", blur=2.2),
    Condition("low_contrast", contrast=0.22),
    Condition("glare", glare=True),
    Condition("small_modules", module_px=2.0),
    Condition("clutter", clutter=True, module_px=4.0),
)


def render(rng: np.random.Generator, payload: str, c: Condition) -> np.ndarray:
    modules = qr_modules(payload)
    side = modules.shape[0] * c.module_px
    card_pad = side * 0.25
    card_side = side + 2 * card_pad
    # The symbol on a white card, drawn big and warped down, so modules
    # land on fractional pixels as through a lens.
    scale = 3
    big = cv2.resize(modules, None, fx=c.module_px * scale, fy=c.module_px * scale, interpolation=cv2.INTER_NEAREST)
    pad = int(round(card_pad * scale))
    card = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=235)
    card_rgb = cv2.cvtColor(card, cv2.COLOR_GRAY2RGB)
    n = card.shape[0]

    half = card_side / 2 * 1.05
    cx = rng.uniform(half + 10, WIDTH - half - 10) if WIDTH > 2 * half + 20 else WIDTH / 2
    cy = rng.uniform(half + 10, HEIGHT - half - 10) if HEIGHT > 2 * half + 20 else HEIGHT / 2
    theta = np.deg2rad(rng.uniform(*c.angle))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    unit = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * card_side / 2
    dst = unit @ rot.T + (cx, cy)
    dst += rng.uniform(-c.tilt, c.tilt, (4, 2)) * card_side
    src = np.array([[0, 0], [n, 0], [n, n], [0, n]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(card_rgb, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR).astype(np.float32)
    mask = cv2.warpPerspective(np.ones((n, n), np.float32), m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)[:, :, None]

    frame = background(rng, c.clutter) * (1 - mask) + warped * mask
    if c.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), c.blur)
    if c.contrast < 1:
        # Dim light and a grey print: the whole range squeezed low.
        frame = 70 + (frame - 128) * c.contrast
    if c.glare:
        # A ceiling light on the laminate: a saturated blob over part of the code.
        gx = cx + rng.uniform(-0.25, 0.25) * side
        gy = cy + rng.uniform(-0.25, 0.25) * side
        sigma = side * rng.uniform(0.12, 0.2)
        xx = np.arange(WIDTH, dtype=np.float32)[None, :]
        yy = np.arange(HEIGHT, dtype=np.float32)[:, None]
        # Separable: exp(-(dx²+dy²)/2σ²) = exp(-dx²/2σ²)·exp(-dy²/2σ²).
        blob = np.exp(-((yy - gy) ** 2) / (2 * sigma**2)) * np.exp(-((xx - gx) ** 2) / (2 * sigma**2))
        frame = frame + (230 * blob)[:, :, None]
    frame += _sensor_noise(rng)
    return np.clip(frame, 0, 255).astype(np.uint8)


_NOISE: list[np.ndarray] = []


def _sensor_noise(rng: np.random.Generator) -> np.ndarray:
    # Drawing 2.7 M normal samples per frame would cost more than the rest of
    # the frame: draw one field and shift it by a random offset each time.
    if not _NOISE:
        _NOISE.append(np.random.default_rng(0).normal(0, 3.0, (HEIGHT, WIDTH, 3)).astype(np.float32))
    return np.roll(_NOISE[0], (int(rng.integers(0, HEIGHT)), int(rng.integers(0, WIDTH))), axis=(0, 1))


def frames(per_condition: int, seed: int) -> list[tuple[str, str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    payloads = [PAYLOADS["cccd"], PAYLOADS["bhyt"], PAYLOADS["vneid"], _vietqr()]
    out = []
    # Round robin over the conditions, so that a run cut short by its time
    # budget still measures every condition.
    for i in range(per_condition):
        for c in CONDITIONS:
            payload = payloads[(i + len(out)) % len(payloads)]
            out.append((c.name, payload, render(rng, payload, c)))
    return out


# -- decoders -----------------------------------------------------------------------------


class ArucoQrDecoder:
    """OpenCV's QRCodeDetectorAruco, read the way `OpenCvQrDecoder` reads."""

    def __init__(self) -> None:
        self._detector = cv2.QRCodeDetectorAruco()

    def decode(self, frame: np.ndarray) -> list[str]:
        gray = to_grayscale(frame)
        found, raw_payloads, _points, _straight = self._detector.detectAndDecodeBytesMulti(gray)
        if not found:
            return []
        texts = []
        for raw in raw_payloads:
            try:
                texts.append(bytes(raw).decode("utf-8"))
            except UnicodeDecodeError:
                continue
        return texts


@dataclass
class Result:
    name: str
    times: list[float] = field(default_factory=list)
    hits: dict[str, list[bool]] = field(default_factory=dict)


def run_decoders(
    decoders: dict[str, Callable[[np.ndarray], list[str]]], samples: list[tuple[str, str, np.ndarray]], budget: float
) -> tuple[dict[str, Result], int]:
    """Every decoder on every frame, interleaved so that machine load hits
    all alike; stops early (with fewer frames) when `budget` s run out."""
    import unicodedata

    results = {name: Result(name) for name in decoders}
    deadline = time.monotonic() + budget
    used = 0
    for condition, payload, frame in samples:
        if time.monotonic() > deadline:
            break
        want = unicodedata.normalize("NFC", payload)
        for name, decode in decoders.items():
            start = time.perf_counter()
            try:
                texts = decode(frame)
            except Exception:  # a decoder crash is a miss, not the end of the bench
                texts = []
            results[name].times.append(time.perf_counter() - start)
            results[name].hits.setdefault(condition, []).append(want in texts)
        used += 1
    return results, used


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


# -- the screen while decoding --------------------------------------------------------------


def ui_frame_rate(seconds: float) -> list[tuple[str, float, float]]:
    """(phase, distinct preview frames per second, longest event-loop stall in s)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from drivers.camera.scanner import QrScanner
    from drivers.camera.simulated import SimulatedCamera
    from ui.camera_preview import CameraPreviewWidget

    app = QApplication.instance() or QApplication([])
    camera = SimulatedCamera(fps=30)
    camera.start()
    camera.show_payload(PAYLOADS["cccd"], caption="CCCD")

    class CameraOnly:
        def latest_frame(self):  # noqa: ANN201
            return camera.latest_frame()

        def qr_outlines(self) -> tuple:
            return ()

    widget = CameraPreviewWidget()
    widget.setFixedSize(640, 360)
    widget.show()

    def measure(source) -> tuple[float, float]:  # noqa: ANN001
        widget.set_source(source)
        heartbeat = QTimer()
        heartbeat.setInterval(5)
        clock = QElapsedTimer()
        clock.start()
        worst = [0]
        last = [0]

        def beat() -> None:
            now = clock.elapsed()
            worst[0] = max(worst[0], now - last[0])
            last[0] = now

        heartbeat.timeout.connect(beat)
        # Let the first frames through before counting.
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)
        widget.clear()
        heartbeat.start()
        clock.restart()
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            app.processEvents()
            time.sleep(0.001)
        heartbeat.stop()
        elapsed = time.monotonic() - start
        return widget.frames_shown / elapsed, worst[0] / 1000.0

    out = []
    try:
        fps, stall = measure(CameraOnly())
        out.append(("preview alone (baseline)", fps, stall))
        for label, interval in (("+ zxing decoding flat out", 0.0), ("+ zxing at the kiosk's pace", 0.1)):
            scanner = QrScanner(camera, ZxingQrDecoder(), lambda _p: None, interval=interval)
            scanner.start()
            try:
                fps, stall = measure(scanner)
                decoded = scanner.status.frames_decoded
            finally:
                scanner.stop()
            out.append((f"{label} ({decoded} frames decoded)", fps, stall))
    finally:
        widget.set_source(None)
        widget.close()
        camera.stop()
    return out


# -- report ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few frames and a short UI run (smoke test)")
    parser.add_argument("--per-condition", type=int, default=None, help="frames per condition (default 8, quick 1)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--budget", type=float, default=None, help="seconds for the decoder part (default 20, quick 1.5)")
    parser.add_argument("--ui-seconds", type=float, default=None, help="seconds per UI phase (default 3, quick 0.3)")
    args = parser.parse_args(argv)
    per_condition = args.per_condition or (1 if args.quick else 8)
    budget = args.budget or (1.5 if args.quick else 20.0)
    ui_seconds = args.ui_seconds or (0.3 if args.quick else 3.0)

    started = time.monotonic()
    samples = frames(per_condition, args.seed)
    print(f"{len(samples)} frames of {WIDTH}x{HEIGHT}: {per_condition} per condition, seed {args.seed}")

    zxing, opencv, aruco = ZxingQrDecoder(), OpenCvQrDecoder(), ArucoQrDecoder()
    decoders = {"zxing-cpp": zxing.decode, "OpenCV QRCodeDetector": opencv.decode, "OpenCV Aruco": aruco.decode}
    # One warm-up call each: first calls allocate and load.
    for decode in decoders.values():
        decode(samples[0][2])
    results, used = run_decoders(decoders, samples, budget)
    if used < len(samples):
        print(f"(time budget reached: {used} of {len(samples)} frames measured)")

    baseline = results["OpenCV QRCodeDetector"]
    names = list(decoders)
    print()
    print("Decode rate per condition (frames whose exact payload came out)")
    print(f"{'condition':<15}" + "".join(f"{n:>24}" for n in names))
    for c in CONDITIONS:
        row = f"{c.name:<15}"
        for n in names:
            hits = results[n].hits.get(c.name, [])
            row += f"{(sum(hits) / len(hits) if hits else 0):>23.0%} " if hits else f"{'-':>24}"
        print(row)
    row = f"{'all':<15}"
    for n in names:
        hits = [h for hs in results[n].hits.values() for h in hs]
        row += f"{sum(hits) / max(1, len(hits)):>23.0%} "
    print(row)

    print()
    print("Time per 1280x720 frame, as speed relative to OpenCV QRCodeDetector (>1x = faster)")
    print(f"{'decoder':<24}{'median':>10}{'p95':>10}{'median ms':>12}{'p95 ms':>10}")
    base_median, base_p95 = statistics.median(baseline.times), p95(baseline.times)
    for n in names:
        t = results[n].times
        med, tail = statistics.median(t), p95(t)
        print(f"{n:<24}{base_median / med:>9.1f}x{base_p95 / tail:>9.1f}x{med * 1e3:>12.1f}{tail * 1e3:>10.1f}")

    print()
    print("Camera preview on the UI thread (30 fps simulated camera, offscreen)")
    phases = ui_frame_rate(ui_seconds)
    base_fps, base_stall = phases[0][1], phases[0][2]
    print(f"{'phase':<52}{'fps':>7}{'vs alone':>10}{'longest stall':>15}")
    for label, fps, stall in phases:
        ratio = fps / base_fps if base_fps else float("nan")
        print(f"{label:<52}{fps:>7.1f}{ratio:>9.2f}x{stall * 1e3:>12.0f} ms")
    print()
    print(f"bench finished in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
