"""Render a `kiosk.ticket.TicketLayout` to the 1-bit image a thermal printer prints.

Why an image at all: receipt printers disagree on Vietnamese code pages
(TCVN-3, WPC1258) and many cannot stack a tone mark on a vowel that already
carries a diacritic (Ễ, Ữ, Ặ). Drawing the ticket with Qt's text engine and a
font that covers Vietnamese, then sending it as a raster image, prints the
same on every printer (DOMAIN.md §6). The same image is the on-screen
preview, so the patient sees exactly what comes out of the slot.

Pipeline: layout blocks -> measured pieces -> QPainter on a white QImage
(text as anti-aliased glyph outlines, so shapes are right) -> grey ->
THRESHOLD to 1 bit.
Thresholding, not dithering: a thermal head prints dots, and dithered text
edges turn into a speckled grey fringe that is harder to read than a hard
edge.

Threads: QImage, QPainter and QTextLayout may be used off the GUI thread, and
Qt 6 always supports font rendering in threads (Qt 5's
`QFontDatabase.supportsThreadedFontRendering()` is gone because it became
always true). Fonts do need a `QGuiApplication` to exist somewhere in the
process, because the font database is owned by it. The kiosk creates its
`QApplication` on the main thread at start-up; headless tools call
`ensure_qt_gui_application()` on their main thread before rendering.
"""

from __future__ import annotations

import io
import logging
import math
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import qrcode
import qrcode.constants
from PIL import Image
from PySide6.QtCore import QByteArray, QCoreApplication, QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QPainterPath,
    QTextLayout,
    QTextOption,
)

from kiosk.errors import PrinterError
from kiosk.ticket import Align, ImageBlock, QrBlock, RuleBlock, TextBlock, TextSize, TicketLayout

log = logging.getLogger(__name__)

#: Printable width of an 80 mm roll at 203 dpi (72 mm of dots) and of a 58 mm roll (48 mm).
WIDTH_80MM = 576
WIDTH_58MM = 384

#: Text sizes in typographic points; converted to dots with the printer's dpi,
#: so a 12 pt line is the same height on paper at any resolution. NORMAL is a
#: little larger than a shop receipt because many patients are elderly. HUGE
#: is the queue number: about 16 mm capitals at 80 mm width, readable at arm's
#: length. A number too wide for the paper is shrunk to fit, never wrapped.
POINT_SIZES: dict[TextSize, float] = {
    TextSize.SMALL: 10.0,
    TextSize.NORMAL: 12.0,
    TextSize.LARGE: 16.0,
    TextSize.HUGE: 64.0,
}

#: Families tried in order; each must list Vietnamese among its writing systems.
#: Noto Sans (fonts-noto-core) and DejaVu Sans (fonts-dejavu-core) both carry
#: the precomposed and combining Vietnamese marks.
PREFERRED_FAMILIES: tuple[str, ...] = ("Noto Sans", "DejaVu Sans", "Liberation Sans", "Arial")

#: Grey level (0 black .. 255 white) below which a pixel becomes a printed dot.
#: Slightly above the midpoint so that anti-aliased stem edges count as ink:
#: thermal dots fade a little, and a slightly heavier stroke reads better.
DEFAULT_THRESHOLD = 160

#: The logo is drawn this tall on paper, whatever the source file's size.
LOGO_HEIGHT_MM = 13.0
#: The QR code aims for about this side on paper: large enough for any phone
#: or counter scanner, small enough not to compete with the queue number.
QR_TARGET_MM = 26.0
#: Smallest module a thermal printer plus a phone camera reliably resolve.
QR_MIN_MODULE_DOTS = 3

_app_ref: QGuiApplication | None = None  # keeps an application we created alive


def ensure_qt_gui_application() -> QGuiApplication:
    """Return the process's `QGuiApplication`, creating one if there is none.

    Rendering text needs the font database, which a `QGuiApplication` owns.
    Qt requires that application to be created on the main thread, so this
    refuses on any other thread: call it once at start-up, then render from
    any thread. On Linux without a display (a service, CI) it selects the
    "offscreen" platform unless QT_QPA_PLATFORM already says otherwise,
    because the default platform aborts the process when it finds no display.
    """
    global _app_ref
    app = QCoreApplication.instance()
    if isinstance(app, QGuiApplication):
        return app
    if app is not None:
        raise RuntimeError(
            "a non-GUI QCoreApplication already exists; ticket rendering needs a "
            "QGuiApplication (fonts), so create that one instead"
        )
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            "the QGuiApplication must be created on the main thread; call "
            "ensure_qt_gui_application() at start-up before rendering from a worker"
        )
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # A QApplication (a QGuiApplication that also allows widgets): if the
    # same process later opens a window — the kiosk, a test — Qt aborts when
    # the application object it finds cannot host widgets.
    from PySide6.QtWidgets import QApplication

    _app_ref = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "kiosk"])
    return _app_ref


def threshold(gray: Image.Image, level: int = DEFAULT_THRESHOLD) -> Image.Image:
    """Grey ("L") to 1-bit by a fixed threshold: below `level` prints, the rest is paper.

    Pillow's `convert("1")` would dither (Floyd-Steinberg); a lookup table
    with output mode "1" maps each pixel on its own.
    """
    if gray.mode != "L":
        gray = gray.convert("L")
    table = [0 if v < level else 255 for v in range(256)]
    return gray.point(table, "1")


@dataclass
class _Piece:
    """One measured block: its height in dots and how to paint it at a given top."""

    height: int
    paint: Callable[[QPainter, int], None]
    gap_after: int


class TicketRasterizer:
    """Renders ticket layouts for a printer `width_dots` wide at `dpi`.

    Implements `kiosk.ports.TicketRenderer`. `render()` gives the 1-bit image
    that is printed; `render_png()` the same image as PNG for the preview.
    Stateless between calls apart from the resolved font family, so one
    instance may serve a printer thread and the UI at once.
    """

    def __init__(
        self,
        width_dots: int = WIDTH_80MM,
        dpi: int = 203,
        *,
        font_family: str | None = None,
        threshold_level: int = DEFAULT_THRESHOLD,
    ) -> None:
        if width_dots <= 0 or width_dots % 8:
            # GS v 0 sends whole bytes per row, so any other width would gain
            # padding columns; it always means a misconfigured printer width
            # (576 for 80 mm, 384 for 58 mm).
            raise ValueError(f"width_dots must be a positive multiple of 8, not {width_dots}")
        if dpi <= 0:
            raise ValueError(f"dpi must be positive, not {dpi}")
        self.width_dots = width_dots
        self.dpi = dpi
        self.threshold_level = threshold_level
        self._requested_family = font_family
        self._family: str | None = None
        self._family_lock = threading.Lock()
        # On narrow (58 mm) paper text is set up to 15% smaller so a line
        # still holds a few words; the rest is left to wrapping, since
        # shrinking further would defeat large print for elderly patients.
        self.text_scale = min(1.0, max(0.85, width_dots / WIDTH_80MM))
        # The 576/384 dots are already the printable width, so the margin is
        # small: it only keeps glyph overhangs off the outermost dots, which
        # some print heads print faintly.
        self.margin = self.dots(1.0)

    # -- units -----------------------------------------------------------------

    def dots(self, mm: float) -> int:
        return round(mm * self.dpi / 25.4)

    def pixel_size(self, points: float) -> int:
        # 1 pt = 1/72 inch. Pixel sizes (not point sizes) are given to Qt so
        # the result does not depend on the logical dpi of whatever paint
        # device or screen Qt would otherwise consult.
        return max(1, round(points * self.dpi / 72.0))

    # -- fonts -----------------------------------------------------------------

    @property
    def font_family(self) -> str:
        """The family used for all text, resolved once against Qt's font database."""
        _require_gui_application()
        with self._family_lock:
            if self._family is None:
                self._family = self._resolve_family()
            return self._family

    def _resolve_family(self) -> str:
        installed = set(QFontDatabase.families())
        vietnamese = QFontDatabase.WritingSystem.Vietnamese
        candidates = ([self._requested_family] if self._requested_family else []) + list(PREFERRED_FAMILIES)
        for family in candidates:
            if family in installed and vietnamese in QFontDatabase.writingSystems(family):
                if self._requested_family and family != self._requested_family:
                    log.warning("font %r not installed or lacks Vietnamese; using %r", self._requested_family, family)
                return family
        for family in sorted(installed):
            if vietnamese in QFontDatabase.writingSystems(family):
                log.warning("none of %s installed; using %r for Vietnamese", PREFERRED_FAMILIES, family)
                return family
        fallback = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont).family()
        log.error(
            "no installed font declares Vietnamese; tone marks may be missing. "
            "Install fonts-noto-core. Falling back to %r",
            fallback,
        )
        return fallback

    def _font(self, size: TextSize, bold: bool, pixel_size: int | None = None) -> QFont:
        font = QFont(self.font_family)
        font.setPixelSize(pixel_size or self.pixel_size(POINT_SIZES[size] * self.text_scale))
        font.setBold(bold)
        # No hinting: advance widths, and so line breaks and glyph positions,
        # are then the same on every platform plugin (offscreen in tests,
        # xcb/eglfs on the kiosk), which keeps the golden ticket bytes
        # stable; at 28+ dots per em hinting buys nothing visible.
        font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
        # Grey anti-aliasing only: sub-pixel (LCD) rendering would put colour
        # fringes into the image that the threshold turns into random dots.
        font.setStyleStrategy(QFont.StyleStrategy(QFont.StyleStrategy.PreferAntialias | QFont.StyleStrategy.NoSubpixelAntialias))
        return font

    # -- public API --------------------------------------------------------------

    def render(self, layout: TicketLayout) -> Image.Image:
        """The ticket as a 1-bit PIL image (mode "1"), `width_dots` wide."""
        if not isinstance(layout, TicketLayout):
            raise TypeError(f"expected a TicketLayout, got {type(layout).__name__}")
        _require_gui_application()
        pieces = [self._measure(block) for block in layout.blocks]
        top_pad, bottom_pad = self.dots(1.5), self.dots(2.0)
        height = top_pad + sum(p.height + p.gap_after for p in pieces) + bottom_pad
        if pieces:
            height -= pieces[-1].gap_after

        canvas = QImage(self.width_dots, height, QImage.Format.Format_RGB32)
        dpm = round(self.dpi / 0.0254)
        canvas.setDotsPerMeterX(dpm)
        canvas.setDotsPerMeterY(dpm)
        canvas.fill(QColor(Qt.GlobalColor.white))
        painter = QPainter(canvas)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.setPen(QColor(Qt.GlobalColor.black))
            y = top_pad
            for piece in pieces:
                piece.paint(painter, y)
                y += piece.height + piece.gap_after
        finally:
            painter.end()
        return threshold(_qimage_to_gray(canvas), self.threshold_level)

    def render_png(self, layout: TicketLayout) -> bytes:
        """The printed image as PNG, with its dpi recorded so viewers can show it at paper size."""
        return image_to_png(self.render(layout), self.dpi)

    def render_qr_png(self, payload: str, module_px: int = 8) -> bytes:
        """A QR symbol alone, for the screen (the VietQR beside the number)."""
        return qr_png(payload, module_px)

    # -- measuring blocks ----------------------------------------------------------

    @property
    def _content_width(self) -> int:
        return self.width_dots - 2 * self.margin

    def _measure(self, block: object) -> _Piece:
        if isinstance(block, TextBlock):
            return self._measure_text(block)
        if isinstance(block, RuleBlock):
            return self._measure_rule()
        if isinstance(block, QrBlock):
            return self._measure_qr(block)
        if isinstance(block, ImageBlock):
            return self._measure_image(block)
        raise TypeError(f"unknown ticket block {type(block).__name__}")

    def _measure_text(self, block: TextBlock) -> _Piece:
        width = self._content_width
        if block.size is TextSize.HUGE:
            # The queue number must stay on one line: "A-012" broken after
            # the hyphen would be misread. Shrink until it fits instead.
            font = self._font(block.size, block.bold)
            advance = QFontMetricsF(font).horizontalAdvance(block.text)
            if advance > width:
                font = self._font(block.size, block.bold, math.floor(font.pixelSize() * width / advance))
            wrap = QTextOption.WrapMode.NoWrap
        else:
            font = self._font(block.size, block.bold)
            # Word boundaries first; a single word longer than the paper
            # (a long code) breaks anywhere rather than running off the edge.
            wrap = QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere

        text_layout = QTextLayout(block.text, font)
        option = QTextOption()
        option.setWrapMode(wrap)
        option.setAlignment(Qt.AlignmentFlag.AlignHCenter if block.align is Align.CENTER else Qt.AlignmentFlag.AlignLeft)
        text_layout.setTextOption(option)
        text_layout.beginLayout()
        y = 0.0
        while True:
            line = text_layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            line.setPosition(QPointF(0.0, y))
            y += line.height()
        text_layout.endLayout()
        height = math.ceil(y)
        if block.size is TextSize.HUGE and text_layout.lineCount() == 1 and block.text.strip():
            # The font's line box leaves room for stacked tone marks and
            # descenders the number never has: about 8 mm of blank paper.
            # Size the block to the ink instead, with a fixed margin.
            ink = QFontMetricsF(font).tightBoundingRect(block.text)
            pad = self.dots(2.0)
            line = text_layout.lineAt(0)
            line.setPosition(QPointF(0.0, pad - ink.top() - line.ascent()))
            height = math.ceil(ink.height()) + 2 * pad
        x = float(self.margin)

        outline = _glyph_outlines(text_layout)

        def paint(painter: QPainter, top: int) -> None:
            painter.save()
            painter.translate(x, float(top))
            painter.fillPath(outline, QColor(Qt.GlobalColor.black))
            painter.restore()

        return _Piece(height, paint, gap_after=self.dots(0.8))

    def _measure_rule(self) -> _Piece:
        thickness = max(2, self.dots(0.4))
        pad = self.dots(1.2)

        def paint(painter: QPainter, top: int) -> None:
            painter.fillRect(QRect(self.margin, top + pad, self._content_width, thickness), Qt.GlobalColor.black)

        return _Piece(2 * pad + thickness, paint, gap_after=self.dots(0.8))

    def _measure_qr(self, block: QrBlock) -> _Piece:
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0)
        qr.add_data(block.payload)
        qr.make(fit=True)
        matrix = qr.get_matrix()
        n = len(matrix)
        # Whole dots per module: a module that is 6.5 dots would come out
        # as alternating 6 and 7 dot columns, which scanners tolerate badly.
        module = max(1, min(self.dots(QR_TARGET_MM) // n, self._content_width // n))
        if module < QR_MIN_MODULE_DOTS:
            log.warning("QR payload of %d characters gives %d-dot modules; it may not scan", len(block.payload), module)
        side = n * module
        quiet = 4 * module  # ISO/IEC 18004 quiet zone: 4 modules of white
        left = (self.width_dots - side) // 2

        caption: _Piece | None = None
        if block.caption:
            caption = self._measure_text(TextBlock(block.caption, TextSize.SMALL, align=Align.CENTER))

        # The symbol is built dot for dot (each module a whole square of
        # dots) and copied in unscaled, so every module edge lands exactly on
        # a dot boundary and the threshold has no grey to decide about.
        dots = np.kron(np.where(np.array(matrix, dtype=bool), 0, 255).astype(np.uint8), np.ones((module, module), np.uint8))
        symbol = QImage(dots.tobytes(), side, side, side, QImage.Format.Format_Grayscale8).copy()

        def paint(painter: QPainter, top: int) -> None:
            painter.drawImage(QPoint(left, top + quiet), symbol)
            if caption is not None:
                # Below the quiet zone, not in it: text inside it can stop
                # a scanner finding the symbol's edge.
                caption.paint(painter, top + quiet + side + quiet)

        height = quiet + side + quiet + (caption.height if caption is not None else 0)
        return _Piece(height, paint, gap_after=self.dots(0.8))

    def _measure_image(self, block: ImageBlock) -> _Piece:
        target_h = self.dots(LOGO_HEIGHT_MM)
        drawer = _load_picture(block.path, target_h, self._content_width)
        if drawer is None:
            # A missing or unreadable logo must not stop a patient getting a
            # ticket; the warning tells the technician to fix the configuration.
            return _Piece(0, lambda painter, top: None, gap_after=0)
        w, h, draw = drawer
        left = (self.width_dots - w) // 2

        def paint(painter: QPainter, top: int) -> None:
            draw(painter, QRectF(left, top, w, h))

        return _Piece(h, paint, gap_after=self.dots(1.5))


def qr_png(payload: str, module_px: int = 8) -> bytes:
    """One QR symbol as a 1-bit PNG: whole pixels per module, 4-module quiet
    zone (ISO/IEC 18004 §7.3.7), error correction M as on the ticket."""
    if module_px < 1:
        raise ValueError("module_px must be at least 1")
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    modules = np.where(np.array(qr.get_matrix(), dtype=bool), 0, 255).astype(np.uint8)
    pixels = np.kron(modules, np.ones((module_px, module_px), np.uint8))
    image = Image.fromarray(pixels, "L").point(lambda v: 255 if v else 0, "1")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def default_logo_path() -> str:
    """The hospital logo shipped with the kiosk (assets/logo.png, 1-bit, 192x192)."""
    import assets

    return str(Path(assets.__file__).with_name("logo.png"))


def image_to_png(image: Image.Image, dpi: int = 203) -> bytes:
    """PNG bytes of a 1-bit ticket image, with the print resolution recorded."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def _require_gui_application() -> None:
    if not isinstance(QCoreApplication.instance(), QGuiApplication):
        raise PrinterError(
            "ticket rendering needs a QGuiApplication for fonts; call "
            "drivers.printer.raster.ensure_qt_gui_application() on the main thread at start-up"
        )


def _qimage_to_gray(canvas: QImage) -> Image.Image:
    gray = canvas.convertToFormat(QImage.Format.Format_Grayscale8)
    stride = gray.bytesPerLine()
    data = bytes(gray.constBits())[: stride * gray.height()]
    # Qt pads each scan line to 32 bits; the stride argument tells Pillow so.
    return Image.frombytes("L", (gray.width(), gray.height()), data, "raw", "L", stride, 1)


def _glyph_outlines(text_layout: QTextLayout) -> QPainterPath:
    """The laid-out text as one filled outline, in layout coordinates.

    Drawn as outlines rather than with `QTextLayout.draw()` because Qt's
    glyph cache makes the latter non-deterministic at edge pixels: the first
    time a glyph is drawn in a thread it is rasterised differently from
    later draws out of the cache, so the same ticket came out a few dots
    different on its first print (and on every new worker thread). A filled
    outline is a pure function of the font's curves, identical on every
    call, thread and platform plugin, which the golden-bytes test relies on.
    One `addText` per laid-out line keeps the layout's line breaks and
    alignment while Qt shapes each line (tone marks placed by the font's
    mark positioning, as in the layout itself).
    """
    outline = QPainterPath()
    # Winding fill: where a tone mark overlaps its letter the two add up
    # instead of cancelling out as they would with odd-even filling.
    outline.setFillRule(Qt.FillRule.WindingFill)
    text, font = text_layout.text(), text_layout.font()
    for i in range(text_layout.lineCount()):
        line = text_layout.lineAt(i)
        segment = text[line.textStart() : line.textStart() + line.textLength()].rstrip()
        if segment:
            baseline = QPointF(line.naturalTextRect().x(), line.y() + line.ascent())
            outline.addText(baseline, font, segment)
    return outline


_Drawer = tuple[int, int, Callable[[QPainter, QRectF], None]]


def _load_picture(path: str, target_h: int, max_w: int) -> _Drawer | None:
    """Load a PNG/JPEG or SVG logo and fit it to `target_h` dots high (and `max_w` wide)."""
    file = Path(path)
    if not file.is_file():
        log.warning("ticket logo %s not found; printing without it", path)
        return None
    if file.suffix.lower() == ".svg":
        # Imported here: QtSvg is only needed for SVG logos.
        from PySide6.QtSvg import QSvgRenderer

        renderer = QSvgRenderer(QByteArray(file.read_bytes()))
        if not renderer.isValid():
            log.warning("ticket logo %s is not a valid SVG; printing without it", path)
            return None
        size = renderer.defaultSize()
        src_w, src_h = max(1, size.width()), max(1, size.height())
        scale = min(target_h / src_h, max_w / src_w)
        w, h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
        return w, h, lambda painter, rect: renderer.render(painter, rect)

    picture = QImage(str(file))
    if picture.isNull():
        log.warning("ticket logo %s could not be read as an image; printing without it", path)
        return None
    scale = min(target_h / picture.height(), max_w / picture.width())
    w, h = max(1, round(picture.width() * scale)), max(1, round(picture.height() * scale))
    # Transparent areas must become paper, not black: composite over white first.
    opaque = QImage(picture.size(), QImage.Format.Format_RGB32)
    opaque.fill(QColor(Qt.GlobalColor.white))
    p = QPainter(opaque)
    p.drawImage(0, 0, picture)
    p.end()
    scaled = opaque.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return w, h, lambda painter, rect: painter.drawImage(rect, scaled)
