"""drivers.camera.opencv_camera: newest frame, RGB, and recovery from unplugging.

Only the operating-system edge is replaced: `cv2.VideoCapture` becomes a fake
device that follows a script (absent, delivers some frames then vanishes,
steady). Everything else, including cv2's colour conversion, is real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from drivers.camera.opencv_camera import OpenCvCamera

WAIT = 10.0  # an upper bound for something to happen, never a pace


class FakeVideoCapture:
    """One open attempt of a scripted device.

    Plans, one per construction: "absent" (does not open), ("vanish", n)
    (n frames, then reads fail while the handle still says it is open, as a
    V4L2 device does after unplugging), ("close", n) (n frames, then the
    handle reports closed), ("raise", n) (n frames, then read() throws) and
    "steady" (frames for ever, the last plan repeats).
    """

    plans: list[Any] = []
    instances: list[FakeVideoCapture] = []
    constructed = threading.Event()
    lock = threading.Lock()
    sequence = 0  # frame counter across all instances

    def __init__(self, device: Any, api: int | None = None) -> None:
        cls = type(self)
        with cls.lock:
            self.plan = cls.plans.pop(0) if len(cls.plans) > 1 else cls.plans[0]
            cls.instances.append(self)
        self.device, self.api = device, api
        self.props: dict[int, float] = {}
        self.released = False
        self.reads = 0
        self._open = self.plan != "absent"
        cls.constructed.set()

    def isOpened(self) -> bool:  # noqa: N802 -- cv2's name
        return self._open and not self.released

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        if self.plan == "steady":
            time.sleep(0.001)  # the device's frame period, so the thread does not spin
            return True, self._frame()
        kind, count = self.plan
        if self.reads <= count:
            return True, self._frame()
        if kind == "close":
            self._open = False
        if kind == "raise":
            raise cv2.error("VIDIOC_DQBUF: No such device")
        return False, None

    def release(self) -> None:
        self.released = True

    def _frame(self) -> np.ndarray:
        with type(self).lock:
            type(self).sequence += 1
            red = 30 + type(self).sequence % 200
        bgr = np.empty((48, 64, 3), dtype=np.uint8)
        bgr[..., 0], bgr[..., 1], bgr[..., 2] = 10, 20, red
        return bgr


@pytest.fixture
def fake_device(monkeypatch: pytest.MonkeyPatch) -> type[FakeVideoCapture]:
    FakeVideoCapture.plans = ["steady"]
    FakeVideoCapture.instances = []
    FakeVideoCapture.constructed = threading.Event()
    FakeVideoCapture.sequence = 0
    monkeypatch.setattr(cv2, "VideoCapture", FakeVideoCapture)
    return FakeVideoCapture


@pytest.fixture
def cameras() -> Iterator[list[OpenCvCamera]]:
    made: list[OpenCvCamera] = []
    yield made
    for cam in made:
        cam.stop()


def until(cam: OpenCvCamera, condition: Any) -> None:
    """Wait frame by frame until `condition()` holds; fail after a bound."""
    for _ in range(2000):
        if condition():
            return
        cam.wait_for_frame(WAIT)
    pytest.fail(f"condition not reached; status {cam.status}")


def test_is_usable() -> None:
    assert OpenCvCamera.is_usable()


def test_frames_are_rgb_and_the_newest_wins(fake_device: type[FakeVideoCapture], cameras: list) -> None:
    cam = OpenCvCamera(2, 640, 480, 25, retry_initial=0.0)
    cameras.append(cam)
    assert cam.latest_frame() is None
    assert not cam.status.connected
    cam.start()
    cam.start()  # idempotent
    first = cam.wait_for_frame(WAIT)
    second = cam.wait_for_frame(WAIT)
    assert first is not None and second is not None and first is not second
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8
    red, green, blue = (int(v) for v in first[0, 0])
    assert (red >= 30, green, blue) == (True, 20, 10)  # BGR from the device, RGB out
    assert int(second[0, 0, 0]) != int(first[0, 0, 0])  # a newer frame, not a copy
    status = cam.status
    assert status.connected and status.frames_captured >= 2 and status.device == "2"

    capture = fake_device.instances[0]
    assert capture.device == 2
    assert capture.props[cv2.CAP_PROP_FRAME_WIDTH] == 640
    assert capture.props[cv2.CAP_PROP_FRAME_HEIGHT] == 480
    assert capture.props[cv2.CAP_PROP_FPS] == 25
    assert capture.props[cv2.CAP_PROP_BUFFERSIZE] == 1
    assert capture.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")

    cam.stop()
    assert capture.released
    assert cam.latest_frame() is None
    assert not cam.status.connected


def test_reconnects_after_the_device_disappears_in_every_way(
    fake_device: type[FakeVideoCapture], cameras: list
) -> None:
    fake_device.plans = ["absent", "absent", ("vanish", 3), "absent", ("close", 2), ("raise", 2), "steady"]
    cam = OpenCvCamera("/dev/video0", retry_initial=0.0, failed_reads_before_reconnect=3)
    cameras.append(cam)
    cam.start()

    until(cam, lambda: cam.status.reconnects >= 3 and cam.status.frames_captured >= 3 + 2 + 2 + 5)

    status = cam.status
    assert status.connected
    assert status.reconnects == 3  # opened four times: once, then after each loss
    assert status.last_error is None  # cleared by the successful open
    instances = fake_device.instances
    assert [i.plan for i in instances[:7]] == [
        "absent",
        "absent",
        ("vanish", 3),
        "absent",
        ("close", 2),
        ("raise", 2),
        "steady",
    ]
    assert all(i.released for i in instances[:-1])  # every lost handle was let go
    assert cv2.CAP_PROP_FOURCC not in instances[2].props  # a path, not an index: no MJPG request
    cam.stop()
    assert instances[-1].released


def test_a_missing_device_is_retried_and_reported(fake_device: type[FakeVideoCapture], cameras: list) -> None:
    fake_device.plans = ["absent"]
    cam = OpenCvCamera(0, retry_initial=0.0)
    cameras.append(cam)
    cam.start()
    for _ in range(2000):
        if len(fake_device.instances) >= 3:
            break
        fake_device.constructed.wait(WAIT)
        fake_device.constructed.clear()
    else:
        pytest.fail("the camera stopped retrying")
    status = cam.status
    assert not status.connected and status.frames_captured == 0
    assert status.last_error == "the device could not be opened"
    assert cam.wait_for_frame(0.0) is None
    cam.stop()
    assert all(i.released for i in fake_device.instances)


def test_a_constructor_that_throws_is_survived(
    fake_device: type[FakeVideoCapture], monkeypatch: pytest.MonkeyPatch, cameras: list
) -> None:
    attempts: list[int] = []

    def flaky(device: Any, api: int | None = None) -> FakeVideoCapture:
        attempts.append(1)
        if len(attempts) == 1:
            raise cv2.error("backend failed to initialise")
        return FakeVideoCapture(device, api)

    monkeypatch.setattr(cv2, "VideoCapture", flaky)
    cam = OpenCvCamera(0, retry_initial=0.0, api_preference=cv2.CAP_V4L2)
    cameras.append(cam)
    cam.start()
    until(cam, lambda: cam.status.frames_captured >= 1)
    assert len(attempts) >= 2
    assert fake_device.instances[0].api == cv2.CAP_V4L2


def test_invalid_settings() -> None:
    with pytest.raises(ValueError):
        OpenCvCamera(0, failed_reads_before_reconnect=0)
