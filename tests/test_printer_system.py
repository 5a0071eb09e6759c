"""The system-printer backend (QtPrintSupport), with the OS edge replaced by PDF output.

QPrinter's PdfFormat is the same QPrinter, page layout and QPainter path a
CUPS queue gets; only the last hop (the spooler) differs. The PDF is read
back with QtPdf: its page must be the ticket's physical size, and what is on
it must be the ticket (both QR codes decode, the ink matches the raster).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtPdf import QPdfDocument

from drivers.camera.decoder import ZxingQrDecoder
from drivers.printer.raster import TicketRasterizer
from drivers.printer.sample import sample_fee_paying_layout, sample_ticket
from drivers.printer.system_printer import SystemTicketPrinter
from kiosk.config import load_config
from kiosk.errors import PrinterError, PrinterOffline
from kiosk.qr import VietQr, parse_qr

POINTS_PER_INCH = 72


def _gray(image: QImage) -> np.ndarray:
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    stride = gray.bytesPerLine()
    data = np.frombuffer(bytes(gray.constBits())[: stride * gray.height()], np.uint8)
    return data.reshape(gray.height(), stride)[:, : gray.width()]


@pytest.mark.parametrize(("width", "paper_mm"), [(576, 72.0), (384, 48.0)])
def test_pdf_page_is_the_ticket_at_physical_size(qapp, tmp_path: Path, width: int, paper_mm: float) -> None:
    rasterizer = TicketRasterizer(width, 203)
    layout = sample_fee_paying_layout()
    ticket = rasterizer.render(layout)
    pdf = tmp_path / "ticket.pdf"
    printer = SystemTicketPrinter(rasterizer=rasterizer, output_pdf=pdf)
    assert printer.status().ready
    printer.print_ticket(layout)

    doc = QPdfDocument()
    assert doc.load(str(pdf)) == QPdfDocument.Error.None_
    assert doc.pageCount() == 1
    size = doc.pagePointSize(0)
    # 576 dots at 203 dpi are 72.07 mm; PDF page sizes are whole points.
    assert size.width() == pytest.approx(width / 203 * POINTS_PER_INCH, abs=1.0)
    assert size.width() * 25.4 / POINTS_PER_INCH == pytest.approx(paper_mm, abs=0.5)
    assert size.height() == pytest.approx(ticket.height / 203 * POINTS_PER_INCH, abs=1.0)

    # What is on the page: render it back at the printer's resolution.
    page = _gray(doc.render(0, QSize(ticket.width, ticket.height)))
    printed = page < 128
    expected = ~np.asarray(ticket, dtype=bool)  # mode "1": True is paper
    assert printed.shape == expected.shape
    # Same amount of ink, within the rounding of the page to whole points.
    assert printed.mean() == pytest.approx(expected.mean(), rel=0.05)
    # Row profiles line up: the text lines are where the raster has them.
    # In bands of 16 rows (2 mm), because the page, whole points in PDF, is
    # up to 0.3 pt shorter than the ticket, which shifts the bottom by a few dots.
    def bands(ink: np.ndarray) -> np.ndarray:
        rows = ink.mean(axis=1)
        return rows[: len(rows) // 16 * 16].reshape(-1, 16).mean(axis=1)

    assert np.corrcoef(bands(printed), bands(expected))[0, 1] > 0.95

    found = ZxingQrDecoder().decode(np.stack([page] * 3, axis=-1))
    assert sample_ticket().episode_key in found
    codes = [parse_qr(t) for t in found if t.startswith("000201")]
    assert len(codes) == 1 and isinstance(codes[0], VietQr) and codes[0].crc_ok


def test_missing_queue_is_offline_with_a_clear_reason(qapp) -> None:
    printer = SystemTicketPrinter("no-such-queue-kiosk-test")
    state = printer.status()
    assert not state.online and "no-such-queue-kiosk-test" in state.detail
    with pytest.raises(PrinterOffline, match="no-such-queue-kiosk-test"):
        printer.print_ticket(sample_fee_paying_layout())


def test_unwritable_pdf_is_a_printer_error(qapp, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "ticket.pdf"
    printer = SystemTicketPrinter(output_pdf=target)
    assert not printer.status().online
    with pytest.raises(PrinterError):
        printer.print_ticket(sample_fee_paying_layout())
    assert not target.exists()


def test_config_selects_the_system_backend(qapp, tmp_path: Path) -> None:
    from launcher.wiring import build_kiosk

    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_BACKEND": "system",
            "KIOSK_PRINTER_SYSTEM_PRINTER": "front-desk-tm-t20",
            "KIOSK_HUB_BACKEND": "simulated",
        },
    )
    kiosk = build_kiosk(config)
    try:
        assert isinstance(kiosk.printer, SystemTicketPrinter)
        assert kiosk.printer.printer_name == "front-desk-tm-t20"
        assert kiosk.printer.rasterizer is kiosk.renderer
    finally:
        kiosk.outbox.close()
