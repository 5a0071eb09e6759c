"""The live camera picture on the identify screen, with a box on a found code.

A patient aims a card or a phone much better when they see what the camera
sees. The widget pulls the newest frame from a `kiosk.ports.CameraPreview`
with a UI-side QTimer: the call returns a reference the camera thread
already published, so the UI thread never waits on the device, and it never
decodes (the QR scanner does that on its own thread and only tells us where
it found a code). A frame already shown is not drawn again, and the timer
runs only while the widget is visible.

By default the picture is mirrored, like a mirror or a phone's selfie
camera: for a camera facing the patient, moving the card to the left then
moves it left on screen, which is what people expect. A camera looking down
at the reader is shown as it is (`camera.mirror_preview = false`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.ports import CameraPreview, QrOutline

log = logging.getLogger(__name__)

# Poll twice per frame at 30 fps, so a new frame waits at most ~16 ms to be
# shown; polling costs one attribute read when there is nothing new.
POLL_INTERVAL_MS = 15


def frame_to_image(frame: object) -> QImage | None:
    """Wrap an (h, w, 3) uint8 RGB array as a QImage without copying.

    Only the array's own attributes are used (shape, strides, the buffer),
    so the UI needs no numpy import. The image refers to the array's memory:
    keep the array alive as long as the image (`CameraPreviewWidget` does).
    None for anything else (the preview then keeps the previous picture).
    """
    shape = getattr(frame, "shape", None)
    strides = getattr(frame, "strides", None)
    if not shape or len(shape) != 3 or shape[2] != 3 or not strides or strides[1:] != (3, 1):
        return None
    if str(getattr(frame, "dtype", "")) != "uint8":
        return None
    height, width = int(shape[0]), int(shape[1])
    image = QImage(frame.data, width, height, int(strides[0]), QImage.Format.Format_RGB888)  # type: ignore[attr-defined]
    return None if image.isNull() else image


class CameraPreviewWidget(QWidget):
    """Shows a `CameraPreview`; `frames_shown` counts distinct frames drawn."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        mirror: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("cameraPreview")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._source: CameraPreview | None = None
        self._mirror = mirror
        self._clock = clock
        self._frame: object | None = None  # keeps the QImage's memory alive
        self._image: QImage | None = None
        self._outlines: tuple[QrOutline, ...] = ()
        self._failures = 0
        self.frames_shown = 0
        self._first_shown_at: float | None = None
        self._last_shown_at: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.pull)
        self.hide()

    # -- wiring --------------------------------------------------------------------

    def set_source(self, source: CameraPreview | None) -> None:
        self._source = source
        self.clear()
        self._update_timer()

    def set_mirror(self, mirror: bool) -> None:
        self._mirror = mirror
        self.update()

    @property
    def has_source(self) -> bool:
        return self._source is not None

    def set_preview_size(self, size: QSize) -> None:
        self.setFixedSize(size)

    def clear(self) -> None:
        """Forget the last picture: it may show a card or a face."""
        self._frame = None
        self._image = None
        self._outlines = ()
        self.frames_shown = 0
        self._first_shown_at = self._last_shown_at = None
        self.update()

    def frame_rate(self) -> float | None:
        """Distinct frames drawn per second since the preview was shown."""
        if self.frames_shown < 2 or self._first_shown_at is None or self._last_shown_at is None:
            return None
        span = self._last_shown_at - self._first_shown_at
        return (self.frames_shown - 1) / span if span > 0 else None

    # -- the timer (UI thread) --------------------------------------------------------

    def pull(self) -> None:
        """Take the newest frame if it is new; ask for a repaint."""
        source = self._source
        if source is None:
            return
        try:
            frame = source.latest_frame()
            outlines = source.qr_outlines()
        except Exception as exc:  # a preview must never take the screen down
            self._failures += 1
            if self._failures == 1 or self._failures % 1000 == 0:
                log.error("camera preview: %s (%d so far)", type(exc).__name__, self._failures)
            return
        changed = outlines != self._outlines
        self._outlines = outlines
        if frame is not None and frame is not self._frame:
            image = frame_to_image(frame)
            if image is not None:
                self._frame, self._image = frame, image
                self.frames_shown += 1
                now = self._clock()
                self._first_shown_at = self._first_shown_at if self._first_shown_at is not None else now
                self._last_shown_at = now
                changed = True
        if changed:
            self.update()

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().showEvent(event)
        self._update_timer()

    def hideEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        super().hideEvent(event)
        self._update_timer()

    def _update_timer(self) -> None:
        if self._source is not None and self.isVisible():
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    # -- painting ------------------------------------------------------------------------

    def _target(self, image: QImage) -> QRectF:
        # Fit the frame into the widget, keeping its aspect ratio.
        w, h = self.width(), self.height()
        scale = min(w / image.width(), h / image.height())
        tw, th = image.width() * scale, image.height() * scale
        return QRectF((w - tw) / 2, (h - th) / 2, tw, th)

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 - Qt override
        painter = QPainter(self)
        radius = min(self.width(), self.height()) * 0.06
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(self.rect()), radius, radius)
        painter.setClipPath(clip)
        painter.fillRect(self.rect(), QColor(32, 38, 44))
        image = self._image
        if image is None:
            painter.end()
            return
        target = self._target(image)
        painter.save()
        if self._mirror:
            painter.translate(self.width(), 0)
            painter.scale(-1, 1)
            target = QRectF(self.width() - target.right(), target.top(), target.width(), target.height())
        # Bilinear scaling of one 720p frame costs a few milliseconds; the
        # nearest-neighbour default shimmers on a moving card.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, image)
        painter.restore()
        self._paint_outlines(painter, target, image)
        painter.end()

    def _paint_outlines(self, painter: QPainter, target: QRectF, image: QImage) -> None:
        if not self._outlines:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor(46, 204, 113), max(3.0, self.width() / 120))
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(QColor(46, 204, 113, 40))
        for outline in self._outlines:
            if len(outline.corners) < 3 or outline.frame_width <= 0 or outline.frame_height <= 0:
                continue
            sx = target.width() / outline.frame_width
            sy = target.height() / outline.frame_height
            points = []
            for x, y in outline.corners:
                px = target.left() + x * sx
                if self._mirror:
                    px = target.left() + target.right() - px
                points.append(QPointF(px, target.top() + y * sy))
            painter.drawPolygon(QPolygonF(points))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(480, 270)
