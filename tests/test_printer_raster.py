"""The ticket rasterizer: a TicketLayout becomes the 1-bit image a printer prints."""

from __future__ import annotations

import io
import os
import threading

import numpy as np
import pytest
from PIL import Image

from drivers.printer.raster import (
    WIDTH_58MM,
    WIDTH_80MM,
    TicketRasterizer,
    ensure_qt_gui_application,
    threshold,
)
from drivers.printer.sample import sample_layout, sample_ticket
from kiosk.domain import NumberIssuer
from kiosk.ticket import Align, ImageBlock, QrBlock, RuleBlock, TextBlock, TextSize, TicketLayout


@pytest.fixture(scope="module")
def rasterizer(qapp) -> TicketRasterizer:
    return TicketRasterizer(WIDTH_80MM)


def ink_rows(image: Image.Image) -> np.ndarray:
    """Per row: does it have any printed (black) dot?"""
    return (np.asarray(image.convert("L")) == 0).any(axis=1)


def test_ticket_is_one_bit_at_printer_width(rasterizer, artifacts_dir):
    image = rasterizer.render(sample_layout())
    assert image.mode == "1"
    assert image.width == 576
    assert 800 < image.height < 3000
    image.save(artifacts_dir / "ticket-A-012-80mm.png", dpi=(203, 203))


def test_58mm_paper_is_384_dots_wide_and_still_fits_the_number(qapp, artifacts_dir):
    narrow = TicketRasterizer(WIDTH_58MM)
    image = narrow.render(sample_layout())
    assert image.mode == "1" and image.width == 384
    # Nothing drawn in the outermost dot columns: the number was shrunk to
    # fit rather than cut off.
    pixels = np.asarray(image.convert("L"))
    assert (pixels[:, :2] == 255).all() and (pixels[:, -2:] == 255).all()
    image.save(artifacts_dir / "ticket-A-012-58mm.png", dpi=(203, 203))


def test_only_black_and_white_pixels(rasterizer):
    image = rasterizer.render(sample_layout())
    assert set(np.unique(np.asarray(image.convert("L")))) <= {0, 255}


def test_threshold_does_not_dither():
    # A dithering conversion turns a uniform mid-grey into a dot pattern; a
    # threshold turns it into one colour. Thermal text must get the latter.
    for grey, expected in ((100, 0), (159, 0), (160, 255), (230, 255)):
        out = threshold(Image.new("L", (64, 64), grey), 160)
        assert out.mode == "1"
        assert set(np.unique(np.asarray(out.convert("L")))) == {expected}


def test_render_png_is_the_printed_image(rasterizer):
    layout = sample_layout()
    png = rasterizer.render_png(layout)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = Image.open(io.BytesIO(png))
    assert decoded.info.get("dpi") is not None and round(decoded.info["dpi"][0]) == 203
    assert decoded.mode == "1"
    assert decoded.tobytes() == rasterizer.render(layout).tobytes()


def test_rendering_is_deterministic(rasterizer):
    assert rasterizer.render(sample_layout()).tobytes() == rasterizer.render(sample_layout()).tobytes()


def test_renders_the_same_on_a_worker_thread(rasterizer):
    # The printer thread renders; the GUI application lives on the main thread.
    result: dict[str, object] = {}

    def work() -> None:
        try:
            result["image"] = rasterizer.render(sample_layout())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            result["error"] = exc

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(30)
    assert "error" not in result, result.get("error")
    assert result["image"].tobytes() == rasterizer.render(sample_layout()).tobytes()


def test_ensure_application_returns_the_existing_one(qapp):
    assert ensure_qt_gui_application() is qapp


def test_ensure_application_refuses_worker_threads_only_when_it_would_create_one(qapp):
    # With an application present any thread may ask for it.
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(ensure_qt_gui_application()))
    worker.start()
    worker.join(10)
    assert seen == [qapp]


def test_font_covers_vietnamese(rasterizer):
    from PySide6.QtGui import QFontDatabase

    assert QFontDatabase.WritingSystem.Vietnamese in QFontDatabase.writingSystems(rasterizer.font_family)


def test_tone_marks_are_drawn_above_capitals(rasterizer):
    # "E" and "Ễ" differ only by the stacked circumflex and tilde: the
    # accented one must have ink above the plain one's cap height.
    def ink_top(text: str) -> int:
        image = rasterizer.render(TicketLayout((TextBlock(text, TextSize.LARGE),)))
        return int(np.argmax(ink_rows(image)))

    assert ink_top("NGUYỄN") < ink_top("NGUYEN") - 5
    assert ink_top("HỮU") < ink_top("HUU") - 5


def test_decomposed_and_precomposed_vietnamese_render_alike(rasterizer):
    # Text from a chip or QR may arrive decomposed (E + U+0302 + U+0303);
    # the font's mark positioning must place it like the precomposed letter.
    import unicodedata

    precomposed = rasterizer.render(TicketLayout((TextBlock("NGUYỄN", TextSize.LARGE),)))
    decomposed = rasterizer.render(TicketLayout((TextBlock(unicodedata.normalize("NFD", "NGUYỄN"), TextSize.LARGE),)))
    a, b = np.asarray(precomposed.convert("L")), np.asarray(decomposed.convert("L"))
    assert a.shape == b.shape
    assert (a != b).mean() < 0.002


def test_queue_number_is_very_large_and_on_one_line(rasterizer):
    layout = TicketLayout((TextBlock("A-012", TextSize.HUGE, bold=True, align=Align.CENTER),))
    rows = ink_rows(rasterizer.render(layout))
    ink_height_mm = rows.sum() * 25.4 / 203
    # At least 12 mm tall digits: legible at arm's length by low vision.
    assert ink_height_mm >= 12.0
    # One band of ink, not two lines.
    changes = np.flatnonzero(np.diff(rows.astype(int)))
    assert len(changes) == 2


def test_long_queue_number_shrinks_instead_of_wrapping(rasterizer):
    layout = TicketLayout((TextBlock("KIOSK3-A-0123", TextSize.HUGE, bold=True, align=Align.CENTER),))
    image = rasterizer.render(layout)
    rows = ink_rows(image)
    assert len(np.flatnonzero(np.diff(rows.astype(int)))) == 2  # one line
    pixels = np.asarray(image.convert("L"))
    assert (pixels[:, :4] == 255).all() and (pixels[:, -4:] == 255).all()


def test_text_wraps_within_the_paper(rasterizer):
    text = "Vui lòng đến đúng phòng và chờ gọi số. " * 6
    image = rasterizer.render(TicketLayout((TextBlock(text, TextSize.NORMAL),)))
    one_line = rasterizer.render(TicketLayout((TextBlock("Vui lòng", TextSize.NORMAL),)))
    assert image.width == 576
    assert image.height > 4 * one_line.height // 2
    pixels = np.asarray(image.convert("L"))
    assert (pixels[:, -4:] == 255).all()


def test_qr_code_scans_back_to_its_payload(rasterizer):
    zxingcpp = pytest.importorskip("zxingcpp")
    ticket = sample_ticket()
    image = rasterizer.render(sample_layout())
    results = zxingcpp.read_barcodes(np.asarray(image.convert("L")))
    payloads = [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert payloads == [ticket.episode_key]


def test_qr_modules_are_whole_dots(rasterizer):
    layout = TicketLayout((QrBlock("79024.20250314.000012"),))
    pixels = np.asarray(rasterizer.render(layout).convert("L"))
    dark_cols = np.flatnonzero((pixels == 0).any(axis=0))
    dark_rows = np.flatnonzero((pixels == 0).any(axis=1))
    side = dark_cols[-1] - dark_cols[0] + 1
    assert side == dark_rows[-1] - dark_rows[0] + 1
    # Square, centred, and a whole number of dots per module (21..177 modules).
    assert any(side % n == 0 and side // n >= 3 for n in range(21, 178, 4))
    left, right = dark_cols[0], 576 - dark_cols[-1] - 1
    assert abs(left - right) <= 1


def test_rule_is_a_solid_line(rasterizer):
    pixels = np.asarray(rasterizer.render(TicketLayout((RuleBlock(),))).convert("L"))
    full_rows = [row for row in pixels if (row[16:-16] == 0).all()]
    assert 2 <= len(full_rows) <= 6


def test_logo_is_drawn_and_missing_logo_is_skipped(rasterizer, tmp_path, caplog):
    with_logo = rasterizer.render(sample_layout(with_logo=True))
    without = rasterizer.render(sample_layout(with_logo=False))
    assert with_logo.height > without.height + 80  # 13 mm logo

    missing = TicketLayout((ImageBlock(str(tmp_path / "nope.png")), TextBlock("A-012", TextSize.HUGE)))
    image = rasterizer.render(missing)  # a patient still gets a ticket
    assert image.height > 0
    assert "not found" in caplog.text


def test_svg_logo(rasterizer):
    from drivers.printer.raster import default_logo_path

    svg = default_logo_path().replace(".png", ".svg")
    png_logo = rasterizer.render(TicketLayout((ImageBlock(default_logo_path()),)))
    svg_logo = rasterizer.render(TicketLayout((ImageBlock(svg),)))
    assert png_logo.size == svg_logo.size
    a, b = np.asarray(png_logo.convert("L")), np.asarray(svg_logo.convert("L"))
    assert (a != b).mean() < 0.02  # same drawing, two sources


def test_offline_ticket_carries_the_offline_notice(rasterizer):
    online = rasterizer.render(sample_layout(issuer=NumberIssuer.HUB))
    offline = rasterizer.render(sample_layout(issuer=NumberIssuer.KIOSK))
    assert offline.height > online.height


def test_rejects_what_is_not_a_layout(rasterizer):
    with pytest.raises(TypeError):
        rasterizer.render("A-012")  # type: ignore[arg-type]


def test_width_must_be_whole_bytes():
    with pytest.raises(ValueError):
        TicketRasterizer(580)


def test_without_a_gui_application_rendering_explains_itself():
    # Run in a fresh interpreter: this test process already has an application.
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent(
        """
        import threading
        from drivers.printer.raster import TicketRasterizer, ensure_qt_gui_application
        from drivers.printer.sample import sample_layout
        from kiosk.errors import PrinterError

        try:
            TicketRasterizer().render(sample_layout())
        except PrinterError as exc:
            print("render:", "ensure_qt_gui_application" in str(exc))

        outcome = []
        def worker():
            try:
                ensure_qt_gui_application()
            except RuntimeError as exc:
                outcome.append("main thread" in str(exc))
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        print("worker:", outcome == [True])

        app = ensure_qt_gui_application()
        print("main:", TicketRasterizer().render(sample_layout()).mode == "1")
        """
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:3] == ["render: True", "worker: True", "main: True"], done.stderr
