"""The ticket printer from configuration, and the technician's printer commands.

`build_printer` is the one place that turns `[printer]` into a backend (the
kiosk's wiring uses it too), so `kiosk print-test-page` and
`kiosk printer-status` talk to exactly the printer the kiosk would use,
without starting the rest of the kiosk (no hub, no card reader).

    kiosk printer-status --config kiosk.toml      # exit 0 ready, 1 not ready
    kiosk print-test-page --config kiosk.toml     # the fixed sample ticket

The test page is `drivers.printer.sample`: every Vietnamese glyph class a
ticket needs (stacked marks, horns, đ, dot below), the largest number size,
both QR codes, so one glance at it shows whether a printer prints tickets
right. `--fee-paying` adds the VietQR section.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from kiosk.config import KioskConfig
from kiosk.errors import PrinterError
from kiosk.ports import PrinterStatus


def build_printer(config: KioskConfig, *, ticket_folder: Path | None = None) -> tuple[Any, Any]:
    """(printer, renderer) as configured: escpos, system (CUPS) or file."""
    from drivers.printer.raster import TicketRasterizer

    renderer = TicketRasterizer(config["printer.width_dots"], config["printer.dpi"])
    backend = config["printer.backend"]
    if config["kiosk.profile"] == "field":
        # A field-staff laptop has no ticket printer: tickets are kept as images.
        backend = "file"
    if backend == "escpos":
        from drivers.printer.escpos_printer import EscposTicketPrinter, connection_from_config

        connection = connection_from_config(
            {
                "kind": config["printer.connection"],
                "host": config["printer.host"],
                "port": config["printer.port"],
                "vendor_id": config["printer.usb_vendor"] or None,
                "product_id": config["printer.usb_product"] or None,
                "device": config["printer.serial_device"],
                "baudrate": config["printer.baudrate"],
            }
        )
        return EscposTicketPrinter(connection, width_dots=renderer.width_dots, rasterizer=renderer), renderer
    if backend == "system":
        from drivers.printer.system_printer import SystemTicketPrinter

        return SystemTicketPrinter(config["printer.system_printer"], rasterizer=renderer), renderer
    from drivers.printer.file_printer import FileTicketPrinter

    folder = ticket_folder or Path(config["printer.folder"] or config.data_dir() / "tickets")
    return FileTicketPrinter(folder, width_dots=renderer.width_dots, rasterizer=renderer), renderer


def status_words(status: PrinterStatus) -> str:
    """One line a technician reads: the verdict first, then what the printer said."""
    # The cause before "offline": an ESC/POS printer takes itself offline
    # when its paper runs out or its cover opens (DLE EOT 1 bit 3).
    if status.paper_out:
        verdict = "PAPER OUT"
    elif status.cover_open:
        verdict = "COVER OPEN"
    elif not status.online:
        verdict = "OFFLINE"
    elif status.paper_near_end:
        verdict = "READY, PAPER NEAR END"
    else:
        verdict = "READY"
    return f"{verdict}: {status.detail}" if status.detail else verdict


def _close(printer: Any) -> None:
    close = getattr(printer, "close", None)
    if callable(close):
        close()


def printer_status(config: KioskConfig, *, as_json: bool = False, out: TextIO | None = None) -> int:
    """Print the configured printer's status; 0 when it can print a ticket now."""
    out = out or sys.stdout
    printer, _ = build_printer(config)
    try:
        status = printer.status()
    finally:
        _close(printer)
    if as_json:
        fields = ("online", "paper_out", "paper_near_end", "cover_open", "detail")
        record = {k: getattr(status, k) for k in fields} | {"ready": status.ready, "backend": config["printer.backend"]}
        print(json.dumps(record, ensure_ascii=False), file=out)
    else:
        print(f"printer ({config['printer.backend']}): {status_words(status)}", file=out)
    return 0 if status.ready else 1


def print_test_page(config: KioskConfig, *, fee_paying: bool = False, out: TextIO | None = None) -> int:
    """Print the sample ticket on the configured printer; 0 when it was accepted."""
    out = out or sys.stdout
    from drivers.printer.raster import ensure_qt_gui_application

    ensure_qt_gui_application()  # fonts, on the main thread, before rendering
    from drivers.printer.sample import sample_fee_paying_layout, sample_layout

    printer, _ = build_printer(config)
    try:
        layout = sample_fee_paying_layout() if fee_paying else sample_layout()
        try:
            printer.print_ticket(layout)
        except PrinterError as exc:
            print(f"test page NOT printed ({exc.code}): {exc}", file=out)
            return 1
        where = getattr(printer, "last_files", ())
        suffix = f" ({', '.join(str(p) for p in where)})" if where else ""
        print(f"test page sent to the {config['printer.backend']} printer{suffix}", file=out)
        return 0
    finally:
        _close(printer)
