"""EscposTicketPrinter against a process-local printer on 127.0.0.1 (and a pty).

The fake printer behaves as the ESC/POS manual describes a real one: it
records every byte, answers each DLE EOT n real-time status request the
moment it sees the three bytes (even inside image data, as real firmware
does), and closes the connection when the host half-closes it at the end of
a job. Nothing in python-escpos or the driver is patched.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from PIL import Image

from drivers.printer import escpos_printer
from drivers.printer.escpos_printer import (
    EscposTicketPrinter,
    NetworkConnection,
    PrinterCoverOpen,
    SerialConnection,
    UsbConnection,
    connection_from_config,
    decode_status,
    escpos_ticket_bytes,
)
from drivers.printer.raster import WIDTH_80MM, TicketRasterizer
from drivers.printer.raster_decode import decode_escpos_raster, stack_vertically
from drivers.printer.sample import sample_layout
from kiosk.errors import ConfigError, PrinterError, PrinterOffline, PrinterOutOfPaper

# Status bytes as an Epson TM printer sends them (fixed bits 1 and 4 set).
READY = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
NEAR_END = {**READY, 4: 0x1E}  # near-end sensor bits 2-3
PAPER_OUT = {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E}  # offline; stopped by paper end; roll end bits 5-6
COVER_OPEN = {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12}  # offline; cover open bit 2
CUTTER_JAM = {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12}  # offline; error bit 6; autocutter error bit 3


@dataclass
class PrinterBrain:
    """What the printer does with the bytes it receives."""

    status: dict[int, int] = field(default_factory=lambda: dict(READY))
    answer_status: bool = True
    received: bytearray = field(default_factory=bytearray)
    answered: list[int] = field(default_factory=list)
    _scanned: int = 0

    def feed(self, data: bytes) -> bytes:
        self.received += data
        replies = bytearray()
        # Scan everything new, including the two bytes before it, so a
        # request split across two reads is still seen.
        start = max(0, self._scanned - 2)
        buf = bytes(self.received)
        i = start
        while i + 3 <= len(buf):
            if buf[i] == 0x10 and buf[i + 1] == 0x04 and buf[i + 2] in self.status and i + 3 > self._scanned:
                if self.answer_status:
                    replies.append(self.status[buf[i + 2]])
                    self.answered.append(buf[i + 2])
                i += 3
            else:
                i += 1
        self._scanned = len(buf)
        return bytes(replies)


class FakeNetworkPrinter:
    """A port-9100 printer: one thread per connection, one brain per connection."""

    def __init__(self, status: dict[int, int] | None = None, answer_status: bool = True) -> None:
        self.status = dict(status or READY)
        self.answer_status = answer_status
        self.jobs: list[PrinterBrain] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            brain = PrinterBrain(status=self.status, answer_status=self.answer_status)
            self.jobs.append(brain)
            t = threading.Thread(target=self._serve, args=(conn, brain), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket, brain: PrinterBrain) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return  # host finished the job: close our side too
                reply = brain.feed(data)
                if reply:
                    conn.sendall(reply)

    def wait_idle(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._acceptor.join(2)
        for t in self._threads:
            t.join(2)


@pytest.fixture
def fake_printer():
    printers: list[FakeNetworkPrinter] = []

    def make(status: dict[int, int] | None = None, answer_status: bool = True) -> FakeNetworkPrinter:
        p = FakeNetworkPrinter(status, answer_status)
        printers.append(p)
        return p

    yield make
    for p in printers:
        p.close()


@pytest.fixture(scope="module")
def rasterizer(qapp) -> TicketRasterizer:
    return TicketRasterizer(WIDTH_80MM)


def network_printer(fake: FakeNetworkPrinter, rasterizer, **kwargs) -> EscposTicketPrinter:
    return EscposTicketPrinter(NetworkConnection("127.0.0.1", fake.port, timeout=2.0), rasterizer=rasterizer, **kwargs)


def status_queries(*ns: int) -> bytes:
    return b"".join(b"\x10\x04" + bytes([n]) for n in ns)


# -- printing -----------------------------------------------------------------------


def test_prints_the_ticket_after_checking_paper(fake_printer, rasterizer):
    fake = fake_printer()
    printer = network_printer(fake, rasterizer)
    printer.print_ticket(sample_layout())
    fake.wait_idle()

    [job] = fake.jobs
    ticket = escpos_ticket_bytes(rasterizer.render(sample_layout()))
    # Printer status, paper sensor, then exactly the bytes the simulated printer stores.
    assert bytes(job.received) == status_queries(1, 4) + ticket
    decoded = stack_vertically(decode_escpos_raster(bytes(job.received)))
    assert np.array_equal(np.asarray(decoded), np.asarray(rasterizer.render(sample_layout())))


def test_each_job_uses_its_own_connection(fake_printer, rasterizer):
    fake = fake_printer()
    printer = network_printer(fake, rasterizer)
    printer.print_ticket(sample_layout())
    printer.print_ticket(sample_layout())
    fake.wait_idle()
    assert len(fake.jobs) == 2
    assert fake.jobs[0].received == fake.jobs[1].received


def test_paper_near_end_still_prints(fake_printer, rasterizer):
    fake = fake_printer(NEAR_END)
    printer = network_printer(fake, rasterizer)
    status = printer.status()
    assert status.online and status.paper_near_end and not status.paper_out and status.ready
    printer.print_ticket(sample_layout())
    fake.wait_idle()
    assert fake.jobs[-1].received.endswith(b"\x1dV\x00")


def test_paper_out_refuses_the_job_and_sends_no_ticket(fake_printer, rasterizer):
    fake = fake_printer(PAPER_OUT)
    printer = network_printer(fake, rasterizer)

    status = printer.status()
    assert status.paper_out and not status.online and not status.ready
    assert "paper out" in status.detail

    with pytest.raises(PrinterOutOfPaper):
        printer.print_ticket(sample_layout())
    fake.wait_idle()
    # Only status requests went out: no ticket waits in the printer to
    # appear when someone refills it.
    assert bytes(fake.jobs[-1].received) == status_queries(1, 4, 2)

    # Paper refilled: the ticket prints in full.
    fake.status.update(READY)
    printer.print_ticket(sample_layout())
    fake.wait_idle()
    assert fake.jobs[-1].received.endswith(escpos_ticket_bytes(rasterizer.render(sample_layout())))


def test_cover_open(fake_printer, rasterizer):
    fake = fake_printer(COVER_OPEN)
    printer = network_printer(fake, rasterizer)
    status = printer.status()
    assert status.cover_open and not status.ready and "cover open" in status.detail
    with pytest.raises(PrinterCoverOpen) as caught:
        printer.print_ticket(sample_layout())
    assert isinstance(caught.value, PrinterError) and not isinstance(caught.value, PrinterOutOfPaper)


def test_cutter_error_is_offline_with_the_cause(fake_printer, rasterizer):
    fake = fake_printer(CUTTER_JAM)
    printer = network_printer(fake, rasterizer)
    status = printer.status()
    assert not status.online and "autocutter error" in status.detail
    assert fake.jobs[-1].answered == [1, 4, 2, 3]
    with pytest.raises(PrinterOffline, match="autocutter"):
        printer.print_ticket(sample_layout())


def test_status_of_a_ready_printer(fake_printer, rasterizer):
    fake = fake_printer()
    status = network_printer(fake, rasterizer).status()
    assert status.ready and status.online and not status.paper_near_end and not status.cover_open


def test_printer_that_does_not_answer_status_is_offline(fake_printer, rasterizer):
    fake = fake_printer(answer_status=False)
    printer = EscposTicketPrinter(NetworkConnection("127.0.0.1", fake.port, timeout=0.3), rasterizer=rasterizer)
    status = printer.status()
    assert not status.online and "status query" in status.detail
    with pytest.raises(PrinterOffline):
        printer.print_ticket(sample_layout())
    fake.wait_idle()
    assert b"\x1dv0" not in fake.jobs[-1].received


def test_nothing_listening_is_offline(rasterizer):
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    printer = EscposTicketPrinter(NetworkConnection("127.0.0.1", port, timeout=0.5), rasterizer=rasterizer)
    status = printer.status()
    assert not status.online and "cannot open network printer" in status.detail
    with pytest.raises(PrinterOffline):
        printer.print_ticket(sample_layout())


def test_garbage_status_answer_is_not_guessed_at(fake_printer, rasterizer):
    fake = fake_printer({1: 0xFF, 2: 0xFF, 3: 0xFF, 4: 0xFF})
    status = network_printer(fake, rasterizer).status()
    assert not status.online and "unexpected answer ff" in status.detail


def test_write_only_link_prints_without_status_queries(fake_printer, rasterizer):
    fake = fake_printer()
    printer = network_printer(fake, rasterizer, query_status=False)
    assert printer.status().online
    printer.print_ticket(sample_layout())
    fake.wait_idle()
    assert bytes(fake.jobs[-1].received) == escpos_ticket_bytes(rasterizer.render(sample_layout()))


class CraftedRaster:
    """A renderer whose image data contains the bytes of a DLE EOT request."""

    width_dots = WIDTH_80MM

    def render(self, layout) -> Image.Image:
        row = (b"\x10\x04\x04" * 24)[:72]
        return Image.frombytes("1", (576, 8), row * 8, "raw", "1;I")


def test_status_requests_hidden_in_image_data_do_not_break_the_job(fake_printer):
    fake = fake_printer()
    printer = EscposTicketPrinter(NetworkConnection("127.0.0.1", fake.port, timeout=2.0), rasterizer=CraftedRaster())
    printer.print_ticket(sample_layout())
    fake.wait_idle()
    job = fake.jobs[-1]
    # The printer answered dozens of "requests" inside the image; the job
    # still arrived whole and the connection closed cleanly.
    assert len(job.answered) > 100
    assert bytes(job.received) == status_queries(1, 4) + escpos_ticket_bytes(CraftedRaster().render(None))
    assert printer.status().ready  # the next poll is not confused by them


# -- serial, over a pseudo-terminal -------------------------------------------------


def test_serial_printer_over_a_pty(rasterizer):
    master, slave = os.openpty()
    brain = PrinterBrain(status=dict(NEAR_END))
    stop = threading.Event()

    def printer_side() -> None:
        os.set_blocking(master, False)
        while not stop.is_set():
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            except OSError:
                return
            reply = brain.feed(data)
            if reply:
                os.write(master, reply)

    thread = threading.Thread(target=printer_side, daemon=True)
    thread.start()
    try:
        # A pty has no modem lines, so no DSR/DTR flow control.
        printer = EscposTicketPrinter(
            SerialConnection(os.ttyname(slave), baudrate=115200, timeout=1.0, dsrdtr=False), rasterizer=rasterizer
        )
        status = printer.status()
        assert status.online and status.paper_near_end
        printer.print_ticket(sample_layout())
        deadline = time.monotonic() + 5
        ticket = escpos_ticket_bytes(rasterizer.render(sample_layout()))
        while not brain.received.endswith(ticket) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert brain.received.endswith(ticket)
        printer.close()
    finally:
        stop.set()
        thread.join(2)
        os.close(master)
        os.close(slave)


# -- configuration and decoding ---------------------------------------------------------


def test_connection_from_config():
    assert connection_from_config({"kind": "network", "host": "10.0.0.5"}) == NetworkConnection("10.0.0.5", 9100, 5.0)
    assert connection_from_config({"kind": "usb", "vendor_id": "0x04b8", "product_id": "0x0e15"}) == UsbConnection(
        0x04B8, 0x0E15
    )
    assert connection_from_config({"kind": "serial", "device": "/dev/ttyS0", "baudrate": 38400}).baudrate == 38400
    with pytest.raises(ConfigError):
        connection_from_config({"kind": "bluetooth"})
    with pytest.raises(ConfigError):
        connection_from_config({"kind": "usb", "vendor_id": "x"})
    with pytest.raises(ConfigError):
        connection_from_config({"kind": "network"})


def test_profile_follows_width(qapp):
    assert EscposTicketPrinter(NetworkConnection("h"), width_dots=576).profile == "TM-T20II"
    assert EscposTicketPrinter(NetworkConnection("h"), width_dots=384).profile == "POS-5890"
    with pytest.raises(ConfigError):
        EscposTicketPrinter(NetworkConnection("h"), width_dots=640)


def test_missing_usb_library_is_explained_not_fatal(monkeypatch, rasterizer):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        escpos_printer.importlib.util, "find_spec", lambda name, *a: None if name == "usb" else real_find_spec(name, *a)
    )
    printer = EscposTicketPrinter(UsbConnection(0x04B8, 0x0E15), rasterizer=rasterizer)
    assert not printer.is_usable()
    status = printer.status()
    assert not status.online and "pyusb" in status.detail
    with pytest.raises(PrinterError, match="pyusb"):
        printer.print_ticket(sample_layout())


@pytest.mark.parametrize(
    ("status_bytes", "online", "paper_out", "near_end", "cover_open"),
    [
        (READY, True, False, False, False),
        (NEAR_END, True, False, True, False),
        (PAPER_OUT, False, True, False, False),
        (COVER_OPEN, False, False, False, True),
    ],
)
def test_decode_status(status_bytes, online, paper_out, near_end, cover_open):
    s = decode_status(status_bytes[1], status_bytes[4], status_bytes[2] if not online else None)
    assert (s.online, s.paper_out, s.paper_near_end, s.cover_open) == (online, paper_out, near_end, cover_open)
