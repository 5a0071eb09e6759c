"""A printer the operating system knows (a CUPS queue on Linux), through QtPrintSupport.

For hospitals whose receipt printer is installed as a system printer (a
vendor CUPS driver, or a shared printer on a print server) rather than
spoken to directly in ESC/POS. The ticket is the same 1-bit image
(`raster.TicketRasterizer`), placed on a page exactly its physical size:
72 mm wide for 576 dots at 203 dpi, as long as the ticket is. The image is
drawn dot for dot at the printer's resolution with no smoothing, so the
driver gets hard black-and-white edges and has nothing to dither.

What a system printer cannot do: report paper out or cover open the way
ESC/POS real-time status does. CUPS reports queue states (idle, printing,
stopped), which is what `status()` gives; a job that fails at the printer
surfaces in CUPS, not here. That is the trade for using a vendor driver.

`output_pdf` prints to a PDF file instead (QPrinter's PdfFormat): the OS edge
replaced for tests, and a way for a technician to see what the queue would get.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QByteArray, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

from drivers.printer.raster import WIDTH_80MM, TicketRasterizer, image_to_png
from kiosk.errors import PrinterError, PrinterOffline
from kiosk.ports import PrinterStatus
from kiosk.ticket import TicketLayout

log = logging.getLogger(__name__)


def ticket_page_size(image: Image.Image, dpi: int) -> QPageSize:
    """A custom page exactly the ticket's size in millimetres."""
    width_mm, height_mm = image.width * 25.4 / dpi, image.height * 25.4 / dpi
    return QPageSize(QSizeF(width_mm, height_mm), QPageSize.Unit.Millimeter, "Ticket", QPageSize.SizeMatchPolicy.ExactMatch)


def system_printer_names() -> list[str]:
    """The queues Qt's print plugin sees (CUPS on Linux); empty without CUPS."""
    return list(QPrinterInfo.availablePrinterNames())


class SystemTicketPrinter:
    """`kiosk.ports.TicketPrinter` on a system print queue.

    `printer_name` is the CUPS queue; empty means the system's default
    printer. All printing is serialised by a lock; call from the printer's
    device thread (QPainter on a QPrinter is allowed off the GUI thread).
    """

    def __init__(
        self,
        printer_name: str = "",
        *,
        width_dots: int = WIDTH_80MM,
        rasterizer: TicketRasterizer | None = None,
        output_pdf: str | os.PathLike[str] | None = None,
    ) -> None:
        self.printer_name = printer_name
        self.rasterizer = rasterizer or TicketRasterizer(width_dots)
        self.output_pdf = Path(output_pdf) if output_pdf is not None else None
        self._lock = threading.Lock()

    # -- TicketPrinter ------------------------------------------------------------

    def status(self) -> PrinterStatus:
        """The queue's state as CUPS reports it; never raises."""
        if self.output_pdf is not None:
            folder = self.output_pdf.parent
            if not folder.is_dir() or not os.access(folder, os.W_OK):
                return PrinterStatus(online=False, detail=f"PDF output folder {folder} is not writable")
            return PrinterStatus(online=True, detail=f"printing to PDF {self.output_pdf}")
        info = self._queue()
        if info is None:
            return PrinterStatus(online=False, detail=self._missing_detail())
        state = info.state()
        name = info.printerName()
        if state == QPrinter.PrinterState.Error:
            return PrinterStatus(online=False, detail=f"system printer {name}: error (see CUPS)")
        if state == QPrinter.PrinterState.Aborted:
            return PrinterStatus(online=False, detail=f"system printer {name}: stopped (cupsenable it)")
        busy = " (printing)" if state == QPrinter.PrinterState.Active else ""
        return PrinterStatus(online=True, detail=f"system printer {name}{busy}; paper and cover are not reported")

    def print_ticket(self, layout: TicketLayout) -> None:
        """Render and send one ticket; raises PrinterOffline / PrinterError."""
        image = self.rasterizer.render(layout)
        with self._lock:
            printer = self._printer()
            self._print_image(printer, image)

    # -- internals ------------------------------------------------------------------

    def _queue(self) -> QPrinterInfo | None:
        if self.printer_name:
            info = QPrinterInfo.printerInfo(self.printer_name)
        else:
            info = QPrinterInfo.defaultPrinter()
        return None if info.isNull() else info

    def _missing_detail(self) -> str:
        known = ", ".join(system_printer_names()) or "none (is CUPS running?)"
        if self.printer_name:
            return f"no system printer named {self.printer_name!r}; known: {known}"
        return f"no default system printer; known: {known}"

    def _printer(self) -> QPrinter:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        if self.output_pdf is not None:
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(self.output_pdf))
        else:
            info = self._queue()
            if info is None:
                raise PrinterOffline(self._missing_detail())
            printer.setPrinterName(info.printerName())
        printer.setDocName("queue ticket")
        printer.setColorMode(QPrinter.ColorMode.GrayScale)
        printer.setFullPage(True)  # the raster already has its margins
        return printer

    def _print_image(self, printer: QPrinter, image: Image.Image) -> None:
        dpi = self.rasterizer.dpi
        page = QPageLayout(ticket_page_size(image, dpi), QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0))
        if not printer.setPageLayout(page):
            raise PrinterError("the system printer refused a custom ticket-sized page")
        picture = QImage.fromData(QByteArray(image_to_png(image, dpi)), "PNG")
        if picture.isNull():
            raise PrinterError("could not convert the ticket image for the system printer")
        painter = QPainter()
        if not painter.begin(printer):
            # QPrinter has no error text: a vanished queue, a PDF path that
            # cannot be written, a CUPS refusal all look alike here.
            raise PrinterOffline(f"could not start a print job on {self._describe()}")
        try:
            # Nearest-neighbour scaling and lossless embedding: every printer
            # dot stays a hard black or white square.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering, True)
            resolution = printer.resolution()  # device units per inch
            target = QRectF(0, 0, image.width * resolution / dpi, image.height * resolution / dpi)
            painter.drawImage(target, picture)
        finally:
            ended = painter.end()
        if not ended or printer.printerState() == QPrinter.PrinterState.Error:
            raise PrinterError(f"the print job on {self._describe()} failed")

    def _describe(self) -> str:
        if self.output_pdf is not None:
            return f"PDF {self.output_pdf}"
        return f"system printer {self.printer_name or '(default)'}"
