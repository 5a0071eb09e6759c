"""The camera on screen and the scanner behind it, under pytest-qt.

A real `SimulatedCamera` thread films a generated card; the real `QrScanner`
worker decodes it with zxing-cpp; the identify screen polls the scanner for
the newest frame with its UI-side timer. The decoder is wrapped to record
which thread ran each decode: the UI thread must never be one of them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal

from drivers.camera.decoder import ZxingQrDecoder
from drivers.camera.scanner import QrScanner
from drivers.camera.simulated import SimulatedCamera
from kiosk.flow import FlowState, Session, Step
from kiosk.ports import CameraPreview, QrOutline
from kiosk.qr import CccdQr, parse_qr
from test_ui_samples import RecordingDesk
from ui.camera_preview import CameraPreviewWidget, frame_to_image
from ui.window import KioskOptions, KioskWindow

CARD_TEXT = "001058012345|011234567|NGUYỄN VĂN AN|02071958|Nam|Số 12 Ngõ 45 Phố Hào Nam, Đống Đa, Hà Nội|10042021"


class ThreadRecordingDecoder:
    """The production decoder, noting the thread of every call."""

    def __init__(self) -> None:
        self._inner = ZxingQrDecoder()
        self.threads: set[int] = set()
        self.calls = 0
        self._lock = threading.Lock()

    def _note(self) -> None:
        with self._lock:
            self.threads.add(threading.get_ident())
            self.calls += 1

    def decode(self, frame):  # noqa: ANN001, ANN201
        self._note()
        return self._inner.decode(frame)

    def decode_located(self, frame):  # noqa: ANN001, ANN201
        self._note()
        return self._inner.decode_located(frame)


class PayloadBridge(QObject):
    """What a UI does with the scanner's callback: hop to the GUI thread."""

    payload = Signal(str)


@pytest.fixture
def rig():
    camera = SimulatedCamera(fps=30)
    decoder = ThreadRecordingDecoder()
    bridge = PayloadBridge()
    scanner = QrScanner(camera, decoder, bridge.payload.emit, interval=0.02)
    camera.start()
    scanner.start()
    yield camera, decoder, scanner, bridge
    scanner.stop()
    camera.stop()


def test_the_scanner_worker_delivers_a_code_to_the_gui_thread_by_signal(qtbot, rig) -> None:
    camera, decoder, scanner, bridge = rig
    with qtbot.waitSignal(bridge.payload, timeout=20_000) as blocker:
        camera.show_payload(CARD_TEXT, caption="CCCD")
    text = blocker.args[0]
    # camera → decoder → parser, the whole round trip, Vietnamese intact.
    assert text == CARD_TEXT
    code = parse_qr(text)
    assert isinstance(code, CccdQr) and code.full_name == "NGUYỄN VĂN AN"
    assert threading.main_thread().ident not in decoder.threads


def test_the_scanner_is_a_camera_preview_with_outlines_of_found_codes(qtbot, rig) -> None:
    camera, _decoder, scanner, _bridge = rig
    preview: CameraPreview = scanner
    qtbot.waitUntil(lambda: preview.latest_frame() is not None, timeout=10_000)
    camera.show_payload(CARD_TEXT)
    qtbot.waitUntil(lambda: len(preview.qr_outlines()) == 1, timeout=20_000)
    (outline,) = preview.qr_outlines()
    assert (outline.frame_width, outline.frame_height) == (1280, 720)
    xs = [x for x, _ in outline.corners]
    ys = [y for _, y in outline.corners]
    assert len(outline.corners) == 4 and 0 <= min(xs) < max(xs) <= 1280 and 0 <= min(ys) < max(ys) <= 720
    camera.show_nothing()
    qtbot.waitUntil(lambda: preview.qr_outlines() == (), timeout=20_000)


def test_identify_screen_shows_live_frames_and_never_decodes_on_the_ui_thread(
    qtbot, rig, artifacts_dir: Path
) -> None:
    camera, decoder, scanner, _bridge = rig
    window = KioskWindow(RecordingDesk(), KioskOptions(hospital_name="BỆNH VIỆN ĐA KHOA TỈNH", tick_ms=3_600_000))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.attach_camera(scanner)
    window.render(FlowState(Step.IDENTIFY, Session(), prompt="place_card"))
    screen = window.current_screen()
    preview: CameraPreviewWidget = screen.camera
    assert preview.isVisible()

    camera.show_payload(CARD_TEXT, caption="CCCD 1")
    # Distinct frames keep arriving through the UI timer...
    qtbot.waitUntil(lambda: preview.frames_shown >= 15, timeout=20_000)
    # ...and the box appears once the scanner (on its thread) found the code.
    qtbot.waitUntil(lambda: len(preview._outlines) == 1, timeout=20_000)
    qtbot.waitUntil(lambda: preview.frames_shown >= 20, timeout=20_000)
    assert decoder.calls > 0
    assert threading.main_thread().ident not in decoder.threads
    window.grab().save(str(artifacts_dir / "identify-camera-preview.png"))

    # Busy (a chip being read): no live picture; back at idle: nothing kept.
    window.render(FlowState(Step.IDENTIFY, Session(), busy=True, progress="dg13"))
    assert not preview.isVisible()
    window.render(FlowState(Step.IDLE, Session()))
    assert preview.frames_shown == 0 and preview._image is None


def test_vneid_check_in_progress_is_said_in_plain_words(qtbot, artifacts_dir: Path) -> None:
    window = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.render(FlowState(Step.IDENTIFY, Session(), busy=True, progress="vneid"))
    screen = window.current_screen()
    assert "VNeID" in screen.title.text()
    assert "thẻ" not in screen.instruction.text()  # no "hold the card still" for a phone
    window.grab().save(str(artifacts_dir / "identify-vneid-busy.png"))


class FlakyPreview:
    """A source that fails, then hands over things that are not frames."""

    def __init__(self) -> None:
        self.calls = 0

    def latest_frame(self):  # noqa: ANN201
        self.calls += 1
        if self.calls == 1:
            raise OSError("camera gone")
        return "not a frame" if self.calls == 2 else None

    def qr_outlines(self) -> tuple[QrOutline, ...]:
        return (QrOutline(((0.0, 0.0), (1.0, 0.0)), 0, 0),)  # degenerate: never drawn


def test_a_failing_source_or_a_bad_frame_never_breaks_the_preview(qtbot) -> None:
    widget = CameraPreviewWidget()
    qtbot.addWidget(widget)
    widget.set_source(FlakyPreview())
    widget.setFixedSize(320, 180)
    for _ in range(3):
        widget.pull()
    widget.repaint()
    assert widget.frames_shown == 0


def test_frame_to_image_takes_rgb_uint8_arrays_only() -> None:
    import numpy as np

    rgb = np.zeros((72, 128, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    image = frame_to_image(rgb)
    assert image is not None and (image.width(), image.height()) == (128, 72)
    assert image.pixelColor(0, 0).red() == 255
    assert frame_to_image(np.zeros((72, 128), np.uint8)) is None  # gray
    assert frame_to_image(np.zeros((72, 128, 3), np.float32)) is None
    assert frame_to_image(rgb[:, ::2]) is None  # not contiguous rows
    assert frame_to_image(None) is None


def test_a_vneid_identity_says_how_it_was_checked(qtbot, artifacts_dir: Path) -> None:
    from dataclasses import replace

    from test_ui_samples import identity

    from kiosk.domain import IdentitySource

    window = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    vneid = replace(identity(photo=False), source=IdentitySource.VNEID)
    window.render(FlowState(Step.IDENTITY_CHECK, Session(identity=vneid)))
    screen = window.current_screen()
    assert screen.badge_text.text() == "Đã xác thực qua ứng dụng VNeID"
    window.grab().save(str(artifacts_dir / "identity-check-vneid.png"))
    # A chip identity keeps its own words.
    window.render(FlowState(Step.IDENTITY_CHECK, Session(identity=identity(photo=False))))
    assert "chip" in screen.badge_text.text()


def test_an_expired_vneid_code_tells_the_patient_what_to_do(qtbot, artifacts_dir: Path) -> None:
    from kiosk.desk import error_info
    from kiosk.errors import VneidExpired

    window = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    error = error_info(VneidExpired("expired", 410), retry_step=Step.IDENTIFY)
    window.render(FlowState(Step.ERROR, Session(), error=error))
    window.grab().save(str(artifacts_dir / "error-vneid-expired.png"))
    texts = " ".join(lab.text() for lab in window.current_screen().findChildren(type(window.current_screen().title)))
    assert "VNeID" in texts
