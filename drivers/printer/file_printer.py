"""The simulated receipt printer: each ticket becomes files in a folder.

A real backend, not a mock: it renders with the same `TicketRasterizer` and
encodes with the same `escpos_ticket_bytes()` as `EscposTicketPrinter`, so
for ticket N it writes

    NNNN-<number>.png   the 1-bit image the printer would print
    NNNN-<number>.bin   the exact ESC/POS bytes a real printer would receive
    NNNN-<number>.pdf   the printed area at true size (72 mm wide on 80 mm paper), for people

Faults for tests and the demo are switched on by attribute or by dropping an
empty file into the folder (so a presenter can do it from a file manager
while the kiosk runs): PAPER_OUT, PAPER_NEAR_END, COVER_OPEN, OFFLINE.

Every file is written to a hidden temporary name, flushed to disk and then
renamed, so a reader (the demo's ticket viewer, a person) never sees half a
ticket, and a full or read-only disk leaves nothing behind but an error.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter

from drivers.printer.escpos_printer import PrinterCoverOpen, escpos_ticket_bytes, profile_for_width
from drivers.printer.raster import WIDTH_80MM, TicketRasterizer, image_to_png
from kiosk.errors import PrinterError, PrinterOffline, PrinterOutOfPaper
from kiosk.ports import PrinterStatus
from kiosk.ticket import TextBlock, TextSize, TicketLayout

log = logging.getLogger(__name__)

PAPER_OUT = "PAPER_OUT"
PAPER_NEAR_END = "PAPER_NEAR_END"
COVER_OPEN = "COVER_OPEN"
OFFLINE = "OFFLINE"

_TICKET_FILE = re.compile(r"^(\d+)-.+\.(?:png|bin|pdf)$")
_TEMP_PREFIX, _TEMP_SUFFIX = ".", ".tmp"


class FileTicketPrinter:
    """`kiosk.ports.TicketPrinter` that writes tickets into `folder`."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        width_dots: int = WIDTH_80MM,
        rasterizer: TicketRasterizer | None = None,
        profile: str | None = None,
        cut: str = "FULL",
        write_pdf: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self.rasterizer = rasterizer or TicketRasterizer(width_dots)
        self.profile = profile or profile_for_width(self.rasterizer.width_dots)
        self.cut = cut
        self.write_pdf = write_pdf
        # Fault switches; the files of the same names in the folder work too.
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.offline = False
        #: Paths written by the last successful print_ticket(), PNG last.
        self.last_files: tuple[Path, ...] = ()
        self._lock = threading.Lock()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._remove_stale_temporaries()
        except OSError as exc:
            # Not fatal at start-up: status() reports it and the kiosk shows
            # "printer problem" instead of refusing to boot.
            log.error("ticket folder %s is not usable: %s", self.folder, exc)

    # -- TicketPrinter ------------------------------------------------------------

    def status(self) -> PrinterStatus:
        def switched(name: str, attribute: bool) -> bool:
            return attribute or (self.folder / name).exists()

        if switched(OFFLINE, self.offline):
            return PrinterStatus(online=False, detail="simulated: offline")
        if not self.folder.is_dir():
            return PrinterStatus(online=False, detail=f"ticket folder {self.folder} does not exist")
        if not os.access(self.folder, os.W_OK | os.X_OK):
            return PrinterStatus(online=False, detail=f"ticket folder {self.folder} is not writable")
        paper_out = switched(PAPER_OUT, self.paper_out)
        near_end = not paper_out and switched(PAPER_NEAR_END, self.paper_near_end)
        cover_open = switched(COVER_OPEN, self.cover_open)
        details = [
            text
            for flag, text in ((paper_out, "paper out"), (near_end, "paper near end"), (cover_open, "cover open"))
            if flag
        ]
        return PrinterStatus(
            online=True,
            paper_out=paper_out,
            paper_near_end=near_end,
            cover_open=cover_open,
            detail=("simulated: " + ", ".join(details)) if details else f"simulated printer writing to {self.folder}",
        )

    def print_ticket(self, layout: TicketLayout) -> None:
        """Write the ticket's files; raises PrinterOutOfPaper / PrinterOffline / PrinterError.

        Checked before anything is rendered or written, like the real
        printer's paper check: a refused ticket leaves no files and uses no
        sequence number, so printing it again after the fault is cleared
        gives exactly the ticket that would have come out.
        """
        state = self.status()
        if not state.online:
            raise PrinterOffline(state.detail)
        if state.paper_out:
            raise PrinterOutOfPaper(state.detail)
        if state.cover_open:
            raise PrinterCoverOpen(state.detail)

        image = self.rasterizer.render(layout)
        files = {
            ".bin": escpos_ticket_bytes(image, profile=self.profile, cut=self.cut),
            ".png": image_to_png(image, self.rasterizer.dpi),
        }
        if self.write_pdf:
            files[".pdf"] = ticket_pdf(image, self.rasterizer.dpi)

        with self._lock:
            try:
                stem = f"{self._next_sequence():04d}-{_file_safe(ticket_number(layout))}"
                # PNG renamed last: a viewer watching for *.png finds the
                # .bin and .pdf of that ticket already complete.
                order = [ext for ext in (".bin", ".pdf", ".png") if ext in files]
                self.last_files = _write_all(self.folder, [(f"{stem}{ext}", files[ext]) for ext in order])
            except OSError as exc:
                raise PrinterError(f"could not write ticket into {self.folder}: {_describe_os_error(exc)}") from exc

    # -- helpers ------------------------------------------------------------------

    def _next_sequence(self) -> int:
        # Scanned each time rather than counted in memory: numbering carries
        # on across restarts, and deleting old tickets cannot cause a reuse
        # of a number still in the folder.
        highest = 0
        for entry in os.scandir(self.folder):
            match = _TICKET_FILE.match(entry.name)
            if match:
                highest = max(highest, int(match.group(1)))
        return highest + 1

    def _remove_stale_temporaries(self) -> None:
        """Temporaries from a crash or power cut mid-write are never completed: remove them."""
        for entry in os.scandir(self.folder):
            if entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(_TEMP_SUFFIX):
                try:
                    os.unlink(entry.path)
                except OSError:
                    log.warning("could not remove stale temporary %s", entry.path)


def ticket_number(layout: TicketLayout) -> str:
    """The queue number on a layout: its HUGE text block (see kiosk.ticket.ticket_layout)."""
    for block in layout.blocks:
        if isinstance(block, TextBlock) and block.size is TextSize.HUGE:
            return block.text
    return "ticket"


def ticket_pdf(image: Image.Image, dpi: int) -> bytes:
    """A one-page PDF exactly the ticket's paper size, the raster placed dot for dot."""
    picture = QImage.fromData(QByteArray(image_to_png(image, dpi)), "PNG")
    if picture.isNull():
        raise PrinterError("could not convert the ticket image for the PDF")
    width_mm, height_mm = image.width * 25.4 / dpi, image.height * 25.4 / dpi
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setCreator("vn-checkin-kiosk simulated printer")
    writer.setResolution(dpi)
    page = QPageSize(QSizeF(width_mm, height_mm), QPageSize.Unit.Millimeter, "Ticket", QPageSize.SizeMatchPolicy.ExactMatch)
    writer.setPageLayout(QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter()
    if not painter.begin(writer):
        raise PrinterError("could not start the PDF writer")
    try:
        # Qt stores large images in a PDF as JPEG unless told otherwise;
        # JPEG smears the hard 1-bit edges this file exists to show.
        painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering, True)
        # At resolution == dpi one device unit is one printer dot.
        painter.drawImage(QRectF(0, 0, image.width, image.height), picture)
    finally:
        painter.end()
    buffer.close()
    return bytes(buffer.data())


def _file_safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "_", text).strip("_") or "ticket"


def _describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "disk full"
    if exc.errno == errno.EROFS:
        return "file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"{type(exc).__name__}: {exc.strerror or exc}"


def _write_all(folder: Path, files: list[tuple[str, bytes]]) -> tuple[Path, ...]:
    """Write every file or none: temporaries first, renames only once all are on disk."""
    temporaries: list[tuple[Path, Path]] = []
    renamed: list[Path] = []
    try:
        for name, data in files:
            final = folder / name
            temp = folder / f"{_TEMP_PREFIX}{name}{_TEMP_SUFFIX}"
            temporaries.append((temp, final))
            _write_file(temp, data)
        for temp, final in temporaries:
            os.replace(temp, final)
            renamed.append(final)
        _fsync_directory(folder)  # make the renames themselves survive a power cut
    except OSError:
        for path in [t for t, _ in temporaries] + renamed:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError:
                log.warning("could not remove %s after a failed write", path)
        raise
    return tuple(renamed)


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        # Flushed before the rename: otherwise a power cut can leave the new
        # name pointing at an empty file on some file systems.
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except (AttributeError, OSError):  # O_DIRECTORY is POSIX-only; best effort elsewhere
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
