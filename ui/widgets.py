"""Building blocks the screens share: big buttons, tone panels, a busy sign.

Looks come from `ui.theme` through the `role`/`tone` properties; nothing here
picks a colour or a font size.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.theme import PALETTE

ICONS_DIR = Path(str(resources.files("assets").joinpath("icons")))


def repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after a property the sheet selects on changed.

    Qt evaluates `[tone="..."]` selectors when a widget is polished, not when
    the property changes, and descendant selectors (`QFrame[tone] QLabel`)
    need the children polished again too.
    """
    style = widget.style()
    for w in [widget, *widget.findChildren(QWidget)]:
        style.unpolish(w)
        style.polish(w)
    widget.update()


def label(role: str = "", *, wrap: bool = True, align: Qt.AlignmentFlag | None = None) -> QLabel:
    lab = QLabel()
    if role:
        lab.setProperty("role", role)
    lab.setWordWrap(wrap)
    # Plain text only: data from a card or the hub must never be read as HTML.
    lab.setTextFormat(Qt.TextFormat.PlainText)
    if align is not None:
        lab.setAlignment(align)
    return lab


def button(role: str = "") -> QPushButton:
    b = QPushButton()
    if role:
        b.setProperty("role", role)
    # Touch screens: no focus rectangle, no keyboard traversal to show.
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.setAutoDefault(False)
    return b


class TileButton(QPushButton):
    """A large button holding a title and a detail line, both word-wrapped.

    QPushButton cannot wrap its text, and a department name at 24 pt often
    needs two lines. So the text lives in labels laid out inside the button;
    the labels let touches through to it.
    """

    def __init__(self, title: str = "", detail: str = "", role: str = "tile", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", role)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 14, 24, 14)
        layout.setSpacing(4)
        self.title_label = label("tileTitle")
        self.detail_label = label("tileDetail")
        # Centred as a block: in a row of tiles, a one-line name and a
        # two-line one keep their detail line right under the name.
        layout.addStretch(1)
        for lab in (self.title_label, self.detail_label):
            lab.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            layout.addWidget(lab)
        layout.addStretch(1)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.set_texts(title, detail)

    def set_texts(self, title: str, detail: str = "") -> None:
        self.title_label.setText(title)
        self.detail_label.setText(detail)
        self.detail_label.setVisible(bool(detail))
        # Screen readers and tests see the whole text.
        self.setAccessibleName(f"{title}\n{detail}" if detail else title)
        self.updateGeometry()

    def text_content(self) -> str:
        return self.accessibleName()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return max(self.minimumHeight(), self.layout().totalHeightForWidth(width))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = self.layout().totalSizeHint()
        return QSize(max(hint.width(), self.minimumWidth()), max(hint.height(), self.minimumHeight()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = self.layout().totalMinimumSize()
        return QSize(max(hint.width(), self.minimumWidth()), max(hint.height(), self.minimumHeight()))


class FitLabel(QWidget):
    """One line of text as large as `point_size`, shrunk only to fit the width.

    For the queue number: it must be as big as possible, and never clipped,
    whether it is "A-012" or an offline "K01-A-003". A QLabel cannot do that
    (its font is fixed by the style sheet), so this widget draws the text.
    """

    MARGIN = 4

    def __init__(
        self,
        point_size: int = 100,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._text = ""
        self._point_size = point_size
        self._align = align
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel-like
        self._text = text
        self.setAccessibleName(text)
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.setText("")

    def set_point_size(self, point_size: int) -> None:
        self._point_size = point_size
        self.updateGeometry()
        self.update()

    def _font(self, point_size: float) -> QFont:
        font = QFont(self.font())  # the family the style sheet chose
        font.setPointSizeF(point_size)
        font.setBold(True)
        return font

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        metrics = QFontMetricsF(self._font(self._point_size))
        width = metrics.horizontalAdvance(self._text) if self._text else 0
        return QSize(int(width) + 2 * self.MARGIN, int(metrics.height()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self.MARGIN * 2, self.sizeHint().height())

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 - Qt override
        if not self._text:
            return
        available = self.width() - 2 * self.MARGIN
        advance = QFontMetricsF(self._font(self._point_size)).horizontalAdvance(self._text)
        scale = min(1.0, available / advance) if advance > 0 else 1.0
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.setFont(self._font(self._point_size * scale))
        p.setPen(QColor(PALETTE.text))
        rect = self.rect().adjusted(self.MARGIN, 0, -self.MARGIN, 0)
        p.drawText(rect, int(self._align | Qt.AlignmentFlag.AlignVCenter), self._text)
        p.end()


class TonePanel(QFrame):
    """A coloured box for a status (insurance result, verification, errors)."""

    TONES = ("success", "warning", "danger", "info", "")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("tone", "info")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(24, 16, 24, 16)
        self.layout_.setSpacing(8)

    def set_tone(self, tone: str) -> None:
        if tone not in self.TONES:
            raise ValueError(tone)
        if self.property("tone") != tone:
            self.setProperty("tone", tone)
            repolish(self)


class BusyIndicator(QWidget):
    """A ring of dots that turns: the kiosk is working, keep waiting.

    Drawn by hand instead of an indeterminate progress bar, which on some
    styles is a thin bar an elderly eye does not notice.
    """

    DOTS = 12

    def __init__(self, diameter: int = 120, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._diameter = diameter
        self._phase = 0
        self._timer = QTimer(self)
        self._timer.setInterval(90)
        self._timer.timeout.connect(self._advance)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("busy")

    def set_diameter(self, diameter: int) -> None:
        self._diameter = diameter
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self._diameter, self._diameter)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt override
        # No timer running behind a hidden page.
        self._timer.stop()
        super().hideEvent(event)

    def _advance(self) -> None:
        self._phase = (self._phase + 1) % self.DOTS
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: ANN001, N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        radius = side / 2 - side / 7
        dot = side / 7
        centre_x, centre_y = self.width() / 2, self.height() / 2
        base = QColor(PALETTE.primary)
        p.setPen(QPen(Qt.PenStyle.NoPen))
        for i in range(self.DOTS):
            # The dot at the phase is solid; the ones behind it fade out.
            age = (self._phase - i) % self.DOTS
            colour = QColor(base)
            colour.setAlphaF(max(0.15, 1.0 - age / self.DOTS))
            p.setBrush(colour)
            angle = 2 * math.pi * i / self.DOTS
            x = centre_x + radius * math.cos(angle)
            y = centre_y + radius * math.sin(angle)
            p.drawEllipse(QRectF(x - dot / 2, y - dot / 2, dot, dot))
        p.end()


def icon_pixmap(name: str, size: QSize, device_pixel_ratio: float = 1.0) -> QPixmap:
    """Render one of our SVG illustrations at the size it is shown."""
    renderer = QSvgRenderer(str(ICONS_DIR / f"{name}.svg"))
    pixmap = QPixmap(size * device_pixel_ratio)
    pixmap.setDevicePixelRatio(device_pixel_ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    if renderer.isValid():
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        # Keep the drawing's proportions inside the requested box.
        view = renderer.viewBoxF()
        scale = min(size.width() / view.width(), size.height() / view.height())
        w, h = view.width() * scale, view.height() * scale
        renderer.render(p, QRectF((size.width() - w) / 2, (size.height() - h) / 2, w, h))
        p.end()
    return pixmap


def image_from_bytes(data: bytes | None, box: QSize) -> QPixmap | None:
    """A photo or ticket preview (PNG/JPEG bytes) scaled to fit `box`."""
    if not data:
        return None
    pixmap = QPixmap()
    if not pixmap.loadFromData(data):
        return None
    return pixmap.scaled(box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
