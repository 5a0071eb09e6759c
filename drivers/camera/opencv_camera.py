"""A USB/V4L2 camera through OpenCV (`kiosk.ports.Camera`).

One thread owns the `cv2.VideoCapture` and does nothing but read frames; the
newest frame replaces the previous one, so a slow consumer (the QR decoder)
always sees the present, never a backlog. When the device disappears (USB
unplugged, driver reset) the thread releases it and reopens it with
exponential backoff, so the kiosk recovers without a restart.

OpenCV is imported lazily: `OpenCvCamera.is_usable()` tells the launcher
whether this backend can run at all.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from kiosk.ports import Frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraStatus:
    """For the technician screen and health checks; no image data."""

    device: str
    connected: bool
    frames_captured: int
    reconnects: int  # times the device was opened again after it was lost
    last_error: str | None


class OpenCvCamera:
    """Frames are RGB uint8 arrays of shape (height, width, 3).

    Every frame is a new array that is never written to again, so a consumer
    can tell a new frame from the one it already has by identity.
    """

    def __init__(
        self,
        device: int | str = 0,
        width: int = 1280,
        height: int = 720,
        fps: int = 30,
        *,
        api_preference: int | None = None,
        fourcc: str | None = "MJPG",
        retry_initial: float = 0.5,
        retry_max: float = 10.0,
        failed_reads_before_reconnect: int = 5,
    ) -> None:
        """`device`: an index (0 = /dev/video0), a device path, a file or a
        stream URL. `fourcc` is requested from index devices only: most USB
        webcams deliver 1280x720 at 30 fps only as MJPG, and raw YUYV at that
        size is capped near 10 fps by USB 2 bandwidth."""
        if failed_reads_before_reconnect < 1:
            raise ValueError("failed_reads_before_reconnect must be at least 1")
        self._device = device
        self._width, self._height, self._fps = width, height, fps
        self._api_preference = api_preference
        self._fourcc = fourcc
        self._retry_initial = max(0.0, retry_initial)
        self._retry_max = max(self._retry_initial, retry_max)
        self._failed_reads_limit = failed_reads_before_reconnect

        self._lifecycle = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Guards everything below; `_new_frame` wakes `wait_for_frame`.
        self._new_frame = threading.Condition()
        self._frame: Frame | None = None
        self._frames_captured = 0
        self._connected = False
        self._reconnects = 0
        self._last_error: str | None = None

    @staticmethod
    def is_usable() -> bool:
        try:
            import cv2  # noqa: F401
        except ImportError:
            return False
        return True

    # -- Camera protocol -------------------------------------------------------

    def start(self) -> None:
        with self._lifecycle:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"camera-{self._device}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._lifecycle:
            thread, self._thread = self._thread, None
            self._stop.set()
            with self._new_frame:
                self._new_frame.notify_all()
            # A read() blocked inside the driver returns within the driver's
            # own timeout; the thread is a daemon, so a wedged driver cannot
            # hold up the kiosk's exit.
            if thread is not None:
                thread.join(timeout)
            with self._new_frame:
                self._frame = None

    def latest_frame(self) -> Frame | None:
        with self._new_frame:
            return self._frame

    # -- extras ----------------------------------------------------------------

    @property
    def status(self) -> CameraStatus:
        with self._new_frame:
            return CameraStatus(
                device=str(self._device),
                connected=self._connected,
                frames_captured=self._frames_captured,
                reconnects=self._reconnects,
                last_error=self._last_error,
            )

    def wait_for_frame(self, timeout: float) -> Frame | None:
        """Block until a frame newer than the current one arrives, or `timeout` s."""
        with self._new_frame:
            seen = self._frames_captured
            self._new_frame.wait_for(lambda: self._frames_captured != seen or self._stop.is_set(), timeout)
            return self._frame if self._frames_captured != seen else None

    # -- capture thread --------------------------------------------------------

    def _run(self) -> None:
        import cv2

        delay = self._retry_initial
        opened_before = False
        while not self._stop.is_set():
            capture = self._open(cv2)
            if capture is not None:
                if opened_before:
                    with self._new_frame:
                        self._reconnects += 1
                    log.info("camera %s: reconnected", self._device)
                opened_before = True
                try:
                    if self._read_until_lost(cv2, capture):
                        delay = self._retry_initial  # it delivered: start backoff afresh
                finally:
                    _release(capture)
                    with self._new_frame:
                        self._connected = False
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self._retry_max)

    def _open(self, cv2: Any) -> Any | None:
        try:
            if self._api_preference is None:
                capture = cv2.VideoCapture(self._device)
            else:
                capture = cv2.VideoCapture(self._device, self._api_preference)
            if not capture.isOpened():
                _release(capture)
                self._note_error("the device could not be opened")
                return None
            if isinstance(self._device, int) and self._fourcc:
                capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self._fourcc))
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
            capture.set(cv2.CAP_PROP_FPS, self._fps)
            # V4L2 queues 4 buffers by default: the decoder would see frames
            # a few hundred ms old. One buffer keeps what we read current.
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        except Exception as exc:  # cv2.error, or a backend that throws on open
            self._note_error(f"opening the device failed: {type(exc).__name__}")
            return None
        with self._new_frame:
            self._connected = True
            self._last_error = None
        return capture

    def _read_until_lost(self, cv2: Any, capture: Any) -> bool:
        """Read until stopped or the device is gone; True if any frame came."""
        delivered = False
        failures = 0
        while not self._stop.is_set():
            try:
                ok, bgr = capture.read()
            except Exception as exc:
                ok, bgr = False, None
                self._note_error(f"read failed: {type(exc).__name__}")
            if not ok or bgr is None:
                failures += 1
                # A single failed grab happens (USB hiccup); several in a
                # row, or a closed handle, mean the device is gone.
                if failures >= self._failed_reads_limit or not capture.isOpened():
                    self._note_error("the device stopped delivering frames")
                    log.warning("camera %s: lost, reconnecting", self._device)
                    return delivered
                continue
            failures = 0
            rgb = _to_rgb(cv2, bgr)
            if rgb is None:
                continue
            delivered = True
            with self._new_frame:
                self._frame = rgb
                self._frames_captured += 1
                self._new_frame.notify_all()
        return delivered

    def _note_error(self, message: str) -> None:
        with self._new_frame:
            self._last_error = message


def _to_rgb(cv2: Any, frame: Any) -> Any | None:
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return None


def _release(capture: Any) -> None:
    try:
        capture.release()
    except Exception:  # releasing a vanished device may throw; it is gone either way
        log.debug("camera release failed", exc_info=True)
