"""The simulated printer writes each ticket as files, whole or not at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from PIL import Image

from drivers.printer.escpos_printer import escpos_ticket_bytes
from drivers.printer.file_printer import FileTicketPrinter
from drivers.printer.raster import WIDTH_58MM, TicketRasterizer
from drivers.printer.raster_decode import decode_escpos_raster, stack_vertically
from drivers.printer.sample import sample_layout
from kiosk.errors import PrinterError, PrinterOffline, PrinterOutOfPaper
from kiosk.ports import PrinterStatus, TicketPrinter


@pytest.fixture
def printer(qapp, tmp_path) -> FileTicketPrinter:
    return FileTicketPrinter(tmp_path / "tickets")


def ticket_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".png", ".bin", ".pdf"))


def all_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_is_a_ticket_printer(printer):
    port: TicketPrinter = printer  # checked by the type checker; TicketPrinter is not runtime-checkable
    assert callable(port.print_ticket) and callable(port.status)


def test_writes_png_bin_and_pdf_named_by_sequence_and_number(printer):
    printer.print_ticket(sample_layout())
    assert ticket_files(printer.folder) == ["0001-A-012.bin", "0001-A-012.pdf", "0001-A-012.png"]
    assert [p.name for p in printer.last_files] == ["0001-A-012.bin", "0001-A-012.pdf", "0001-A-012.png"]


def test_bin_is_exactly_what_a_real_printer_gets_and_png_is_its_raster(printer):
    layout = sample_layout()
    printer.print_ticket(layout)
    image = printer.rasterizer.render(layout)
    data = (printer.folder / "0001-A-012.bin").read_bytes()
    assert data == escpos_ticket_bytes(image)
    png = Image.open(printer.folder / "0001-A-012.png")
    assert png.mode == "1" and png.width == 576
    assert png.tobytes() == image.tobytes()
    assert stack_vertically(decode_escpos_raster(data)).tobytes() == png.tobytes()


def test_pdf_is_one_page_at_paper_width(printer):
    printer.print_ticket(sample_layout())
    pdf = (printer.folder / "0001-A-012.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type/Page") >= 1
    # 72 mm of dots = 204.1 pt wide MediaBox.
    assert b"/MediaBox" in pdf


def test_58mm_simulated_printer(qapp, tmp_path):
    printer = FileTicketPrinter(tmp_path, rasterizer=TicketRasterizer(WIDTH_58MM), write_pdf=False)
    printer.print_ticket(sample_layout())
    assert ticket_files(tmp_path) == ["0001-A-012.bin", "0001-A-012.png"]
    assert Image.open(tmp_path / "0001-A-012.png").width == 384


def test_sequence_continues_across_restarts(printer, qapp):
    printer.print_ticket(sample_layout())
    printer.print_ticket(sample_layout())
    again = FileTicketPrinter(printer.folder)
    again.print_ticket(sample_layout())
    assert [n for n in ticket_files(printer.folder) if n.endswith(".png")] == [
        "0001-A-012.png",
        "0002-A-012.png",
        "0003-A-012.png",
    ]


def test_status_ready(printer):
    status = printer.status()
    assert isinstance(status, PrinterStatus)
    assert status.ready and status.online and not status.paper_out


@pytest.mark.parametrize("switch_by_file", [False, True])
def test_paper_out_refuses_and_loses_nothing(printer, switch_by_file):
    if switch_by_file:
        (printer.folder / "PAPER_OUT").touch()
    else:
        printer.paper_out = True
    assert printer.status().paper_out and not printer.status().ready

    with pytest.raises(PrinterOutOfPaper):
        printer.print_ticket(sample_layout())
    assert ticket_files(printer.folder) == []  # nothing half-printed

    # Refill: the same ticket prints in full, with the number it would have had.
    if switch_by_file:
        (printer.folder / "PAPER_OUT").unlink()
    else:
        printer.paper_out = False
    printer.print_ticket(sample_layout())
    assert "0001-A-012.png" in ticket_files(printer.folder)
    assert (printer.folder / "0001-A-012.bin").read_bytes() == escpos_ticket_bytes(printer.rasterizer.render(sample_layout()))


def test_paper_near_end_still_prints(printer):
    (printer.folder / "PAPER_NEAR_END").touch()
    status = printer.status()
    assert status.paper_near_end and status.ready
    printer.print_ticket(sample_layout())
    assert "0001-A-012.png" in ticket_files(printer.folder)


def test_cover_open_and_offline_refuse(printer):
    (printer.folder / "COVER_OPEN").touch()
    with pytest.raises(PrinterError) as caught:
        printer.print_ticket(sample_layout())
    assert not isinstance(caught.value, PrinterOutOfPaper)
    (printer.folder / "COVER_OPEN").unlink()

    printer.offline = True
    assert not printer.status().online
    with pytest.raises(PrinterOffline):
        printer.print_ticket(sample_layout())
    assert ticket_files(printer.folder) == []


def test_disk_full_raises_printer_error_and_leaves_no_file(printer, monkeypatch):
    real_write = os.write
    calls = {"n": 0}

    def write_until_full(fd, data):
        # Let the first chunk through so a temporary file really exists and
        # must be cleaned up; then the disk is full.
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data[:100])

    monkeypatch.setattr(os, "write", write_until_full)
    with pytest.raises(PrinterError, match="disk full"):
        printer.print_ticket(sample_layout())
    monkeypatch.undo()
    assert all_files(printer.folder) == []  # no ticket file and no temporary

    printer.print_ticket(sample_layout())  # space freed: the next print is whole
    assert ticket_files(printer.folder) == ["0001-A-012.bin", "0001-A-012.pdf", "0001-A-012.png"]


def test_failure_after_some_renames_removes_the_finished_files_too(printer, monkeypatch):
    real_replace = os.replace
    done = {"n": 0}

    def replace_then_fail(src, dst):
        done["n"] += 1
        if done["n"] == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(PrinterError):
        printer.print_ticket(sample_layout())
    assert all_files(printer.folder) == []


def test_read_only_file_system(printer, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(PrinterError, match="read-only"):
        printer.print_ticket(sample_layout())
    monkeypatch.undo()
    assert all_files(printer.folder) == []


def test_stale_temporaries_from_a_crash_are_removed(qapp, tmp_path):
    (tmp_path / ".0007-A-012.png.tmp").write_bytes(b"half a ticket")
    FileTicketPrinter(tmp_path)
    assert all_files(tmp_path) == []


def test_missing_folder_is_reported_not_fatal(qapp, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    printer = FileTicketPrinter(blocker / "tickets")  # cannot be created
    status = printer.status()
    assert not status.online and "does not exist" in status.detail
    with pytest.raises(PrinterOffline):
        printer.print_ticket(sample_layout())


def test_number_with_odd_characters_gives_a_safe_file_name(printer):
    from dataclasses import replace

    from kiosk.ticket import TextBlock, TextSize

    layout = sample_layout()
    blocks = tuple(
        replace(b, text="K/3 A:012") if isinstance(b, TextBlock) and b.size is TextSize.HUGE else b for b in layout.blocks
    )
    printer.print_ticket(type(layout)(blocks))
    assert "0001-K_3_A_012.png" in ticket_files(printer.folder)
