"""Watch a camera for QR codes and report each payload once.

`QrScanner` runs one worker thread that takes the camera's newest frame,
decodes it and hands new payloads to `on_payload`. It decodes only frames it
has not seen (frames are new objects; see `OpenCvCamera`), so while decoding
is slower than the camera, stale frames are simply skipped rather than
queued. It survives anything the decoder, the camera or the callback throw.

`on_payload` runs on the scanner thread. A UI must hand the payload over to
its own thread (a Qt signal) instead of touching widgets from the callback.

The scanner is also the screens' `kiosk.ports.CameraPreview`: the camera's
newest frame, and the outlines of the codes found in the last decoded
frame, so the preview can draw a box without decoding anything itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.ports import Camera, Frame, QrDecoder, QrOutline

log = logging.getLogger(__name__)


class PayloadDeduplicator:
    """Admits a payload unless it was already seen within `window` seconds.

    The window slides: every sighting renews it. A patient keeps holding a
    card in front of the camera long after it was read; the payload must
    not start a second check-in until the card has been away for `window`
    seconds (or the application calls `forget()`, e.g. back on the welcome
    screen).
    """

    def __init__(self, window: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        if window < 0:
            raise ValueError("window must not be negative")
        self._window = window
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def admit(self, payload: str) -> bool:
        now = self._clock()
        with self._lock:
            # Drop expired entries so the memory holds only what is in view.
            self._last_seen = {p: t for p, t in self._last_seen.items() if now - t < self._window}
            fresh = payload not in self._last_seen
            self._last_seen[payload] = now
            return fresh

    def forget(self) -> None:
        with self._lock:
            self._last_seen.clear()


@dataclass(frozen=True)
class ScannerStatus:
    running: bool
    frames_decoded: int
    payloads_delivered: int
    errors: int  # decoder, camera and callback failures, all survived
    last_error: str | None  # exception class name only: messages may hold payloads


class QrScanner:
    def __init__(
        self,
        camera: Camera,
        decoder: QrDecoder,
        on_payload: Callable[[str], None],
        *,
        interval: float = 0.1,
        dedupe_window: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`interval`: the pause between two decodes, so that the scanner
        leaves CPU to the UI (a 720p decode takes tens of ms). `clock` is
        the monotonic clock the de-duplication window is measured with."""
        if interval < 0:
            raise ValueError("interval must not be negative")
        self._camera = camera
        self._decoder = decoder
        self._on_payload = on_payload
        self._interval = interval
        self._dedupe = PayloadDeduplicator(dedupe_window, clock)

        self._lifecycle = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._poll_lock = threading.Lock()  # one decode at a time
        self._last_frame: Frame | None = None
        self._frames_decoded = 0
        self._delivered = 0
        self._errors = 0
        self._last_error: str | None = None
        self._clock = clock
        # Outlines of the last decoded frame, published whole (one tuple
        # assignment) so the UI thread reads them without taking a lock.
        self._outlines: tuple[tuple[QrOutline, ...], float] = ((), 0.0)
        # zxing-cpp and OpenCV decoders also say where each code is; any
        # other QrDecoder still works, without boxes.
        self._locate = getattr(decoder, "decode_located", None)

    # Outlines older than this are stale: the scanner has stopped or stalled.
    OUTLINE_HOLD_SECONDS = 1.0

    def latest_frame(self) -> Frame | None:
        """The camera's newest frame (`CameraPreview`); never decodes."""
        return self._camera.latest_frame()

    def qr_outlines(self) -> tuple[QrOutline, ...]:
        outlines, at = self._outlines
        if outlines and self._clock() - at > self.OUTLINE_HOLD_SECONDS:
            return ()
        return outlines

    def start(self) -> None:
        """Start the worker. The camera is started and stopped by its owner."""
        with self._lifecycle:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="qr-scanner", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lifecycle:
            thread, self._thread = self._thread, None
            self._stop.set()
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def forget(self) -> None:
        """Let the payloads in view be delivered again (a new patient's turn)."""
        self._dedupe.forget()

    @property
    def status(self) -> ScannerStatus:
        with self._poll_lock:
            return ScannerStatus(
                running=self.running,
                frames_decoded=self._frames_decoded,
                payloads_delivered=self._delivered,
                errors=self._errors,
                last_error=self._last_error,
            )

    def poll_once(self) -> list[str]:
        """Decode the newest frame if it is new; deliver and return new payloads.

        The worker thread calls this in a loop; tests and a one-shot CLI can
        call it directly.
        """
        with self._poll_lock:
            try:
                frame = self._camera.latest_frame()
                if frame is None or frame is self._last_frame:
                    return []
                self._last_frame = frame
                if self._locate is not None:
                    located = self._locate(frame)
                    payloads = [text for text, _ in located]
                    self._outlines = (tuple(outline for _, outline in located), self._clock())
                else:
                    payloads = self._decoder.decode(frame)
                self._frames_decoded += 1
            except Exception as exc:
                self._note_error("decoding a frame", exc)
                return []
            delivered = []
            for payload in payloads:
                if not self._dedupe.admit(payload):
                    continue
                delivered.append(payload)
                self._delivered += 1
                try:
                    self._on_payload(payload)
                except Exception as exc:
                    self._note_error("the payload callback", exc)
            return delivered

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            if self._stop.wait(self._interval):
                break

    def _note_error(self, where: str, exc: Exception) -> None:
        self._errors += 1
        self._last_error = type(exc).__name__
        # Log the first failure, then only every 100th: a broken camera would
        # otherwise write ten lines a second. Only the exception's class is
        # logged: its message or traceback may quote the payload, which is
        # personal data.
        if self._errors == 1 or self._errors % 100 == 0:
            log.error("QR scanner: %s failed (%s), %d failures so far", where, type(exc).__name__, self._errors)


def decode_image_file(path: str | Path, decoder: QrDecoder | None = None) -> list[str]:
    """Every QR payload in an image file (PNG, JPEG, ...), NFC-normalised.

    For `kiosk decode-qr` and for technicians checking a photographed card.
    Raises `OSError` when the file is missing or is not an image.
    """
    from drivers.camera.decoder import default_decoder
    from drivers.camera.simulated import load_rgb

    frame = load_rgb(path)
    return (decoder or default_decoder()).decode(frame)
