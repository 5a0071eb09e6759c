"""An ESC/POS receipt printer on USB, TCP port 9100 or a serial line.

The ticket is rendered to a 1-bit image (`raster.TicketRasterizer`) and sent
as a GS v 0 raster bit image, then fed past the cutter and cut. The bytes of
a ticket are built once, by `escpos_ticket_bytes()` on python-escpos's Dummy
printer, and written to the connection in one piece. The simulated printer
(`file_printer.FileTicketPrinter`) stores the very same bytes, so a `.bin`
from a demo is what a real printer would have received.

python-escpos is imported lazily: the kiosk boots on a machine without it (or
without pyusb / pyserial for a given connection) and `status()` says what is
missing instead of the process failing at import.

Status uses the real-time command DLE EOT n (ESC/POS "transmit real-time
status"), which a printer answers even while offline:

    n=1 printer status   bit 3: offline
    n=2 offline cause    bit 2: cover open, bit 5: stopped by paper end, bit 6: error
    n=3 error cause      bit 3: autocutter error, bit 5: unrecoverable, bit 6: auto-recoverable
    n=4 paper sensor     bits 2-3: roll near end, bits 5-6: roll end (no paper)

Every answer has bits 1 and 4 set and bits 0 and 7 clear; a byte without
that pattern is not a status answer and is rejected rather than guessed at.
"""

from __future__ import annotations

import importlib.util
import logging
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from drivers.printer.raster import WIDTH_58MM, WIDTH_80MM, TicketRasterizer
from kiosk.errors import ConfigError, PrinterError, PrinterOffline, PrinterOutOfPaper
from kiosk.ports import PrinterStatus
from kiosk.ticket import TicketLayout

if TYPE_CHECKING:
    from escpos.escpos import Escpos

log = logging.getLogger(__name__)

#: python-escpos capability profiles whose media width matches the raster
#: width: the profile decides which cut command exists and rejects an image
#: wider than the paper. TM-T20II is the common 80 mm/203 dpi/576-dot
#: reference; POS-5890 the common 58 mm/384-dot one (it has no cutter, so
#: the ticket is only fed; configure a profile explicitly for a 58 mm cutter).
PROFILE_FOR_WIDTH: dict[int, str] = {WIDTH_80MM: "TM-T20II", WIDTH_58MM: "POS-5890"}

#: Tallest GS v 0 block sent at once. The rows one command may carry are
#: model-dependent (the ESC/POS reference lists different maxima per model,
#: and clones are stricter still), so python-escpos's conservative default
#: is kept: taller images go as blocks of this many rows, printed back to back.
RASTER_FRAGMENT_ROWS = 960

# DLE EOT n (python-escpos names n=1 and n=4 RT_STATUS_ONLINE / RT_STATUS_PAPER).
_DLE_EOT = b"\x10\x04"
_Q_PRINTER, _Q_OFFLINE_CAUSE, _Q_ERROR_CAUSE, _Q_PAPER = (_DLE_EOT + bytes([n]) for n in (1, 2, 3, 4))
_FIXED_MASK, _FIXED_BITS = 0b1001_0011, 0b0001_0010


def profile_for_width(width_dots: int) -> str:
    try:
        return PROFILE_FOR_WIDTH[width_dots]
    except KeyError:
        raise ConfigError(
            "printer.profile",
            f"no default python-escpos profile for a {width_dots}-dot printer; name one explicitly",
        ) from None


def escpos_ticket_bytes(image: Image.Image, *, profile: str | None = None, cut: str = "FULL") -> bytes:
    """The exact bytes sent to a printer for one ticket image.

    ESC @ (reset any mode a previous, possibly interrupted job left behind),
    the image as GS v 0 raster blocks, then ESC d 6 (feed the ticket past the
    cutter, which sits above the print head) and GS V (cut). Built on
    python-escpos's Dummy printer so that the command encoding is the
    library's, written once, for real and simulated printers alike.
    """
    if image.mode != "1":
        raise ValueError(f"ticket image must be 1-bit (mode '1'), got mode {image.mode!r}")
    try:
        from escpos.printer import Dummy
    except ImportError as exc:
        raise PrinterError(f"python-escpos is not installed: {exc}") from exc
    dummy = Dummy(profile=profile or profile_for_width(image.width))
    dummy.hw("INIT")
    # High density in both directions: one image pixel is one printer dot.
    dummy.image(
        image,
        impl="bitImageRaster",
        high_density_vertical=True,
        high_density_horizontal=True,
        fragment_height=RASTER_FRAGMENT_ROWS,
    )
    dummy.cut(mode=cut)
    return dummy.output


# -- connections ------------------------------------------------------------------


@dataclass(frozen=True)
class UsbConnection:
    vendor_id: int
    product_id: int
    in_endpoint: int = 0x82
    out_endpoint: int = 0x01
    # For the whole ticket write (0 would mean "wait forever"). The printer
    # takes data only as fast as it prints once its small buffer is full,
    # so this must cover printing a long ticket on a slow printer.
    timeout_ms: int = 30_000

    kind = "usb"


@dataclass(frozen=True)
class NetworkConnection:
    host: str
    port: int = 9100  # the raw "JetDirect" port every network receipt printer listens on
    timeout: float = 5.0  # connecting, and waiting for each status answer
    # Sending a whole ticket: the printer accepts bytes only as fast as it
    # prints them once its receive buffer is full.
    job_timeout: float = 30.0

    kind = "network"


@dataclass(frozen=True)
class SerialConnection:
    device: str
    # Must match the printer's setting. A raster ticket is ~110 kB: about
    # 10 s at 115200 baud, 2 minutes at 9600, so set printers to the fastest.
    baudrate: int = 115200
    timeout: float = 1.0  # waiting for each status answer
    dsrdtr: bool = True  # hardware flow control as python-escpos defaults it

    kind = "serial"


Connection = UsbConnection | NetworkConnection | SerialConnection


def connection_from_config(config: Mapping[str, Any]) -> Connection:
    """Build a connection from configuration, e.g. {"kind": "network", "host": "10.0.0.5"}.

    usb: vendor_id, product_id (ints or "0x04b8" strings), optional in_endpoint,
    out_endpoint, timeout_ms. network: host, optional port, timeout. serial:
    device, optional baudrate, timeout, dsrdtr.
    """
    kind = str(config.get("kind", "")).lower()

    def number(key: str, default: Any = None) -> int:
        value = config.get(key, default)
        if value is None:
            raise ConfigError(f"printer.{key}", "required")
        try:
            return int(value, 0) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"printer.{key}", f"not a number: {value!r}") from None

    if kind == "usb":
        return UsbConnection(
            vendor_id=number("vendor_id"),
            product_id=number("product_id"),
            in_endpoint=number("in_endpoint", 0x82),
            out_endpoint=number("out_endpoint", 0x01),
            timeout_ms=number("timeout_ms", 30_000),
        )
    if kind == "network":
        if not config.get("host"):
            raise ConfigError("printer.host", "required")
        return NetworkConnection(
            str(config["host"]),
            number("port", 9100),
            float(config.get("timeout", 5.0)),
            float(config.get("job_timeout", 30.0)),
        )
    if kind == "serial":
        if not config.get("device"):
            raise ConfigError("printer.device", "required")
        return SerialConnection(
            str(config["device"]),
            number("baudrate", 115200),
            float(config.get("timeout", 1.0)),
            bool(config.get("dsrdtr", True)),
        )
    raise ConfigError("printer.kind", f"expected usb, network or serial, not {kind!r}")


def is_usable(kind: str = "network") -> bool:
    """Whether the libraries for a connection kind are installed."""
    return unusable_reason(kind) is None


def unusable_reason(kind: str) -> str | None:
    """Why a connection kind cannot be used here, or None if it can."""
    if importlib.util.find_spec("escpos") is None:
        return "python-escpos is not installed (pip install python-escpos)"
    extra = {"usb": ("usb", "pyusb"), "serial": ("serial", "pyserial")}.get(kind)
    if extra and importlib.util.find_spec(extra[0]) is None:
        return f"{extra[1]} is not installed, needed for a {kind} printer (pip install {extra[1]})"
    return None


class PrinterCoverOpen(PrinterError):
    """The cover is open. The patient guidance is PrinterError's (note the
    number on screen); the code tells staff what to fix. Belongs in
    `kiosk.errors` beside PrinterOutOfPaper; kept here until it moves."""

    code = "printer_cover_open"


# -- status decoding --------------------------------------------------------------


def _status_byte(answer: bytes | Any, query: bytes) -> int:
    data = bytes(answer or b"")
    if not data:
        raise PrinterOffline(f"printer did not answer status query {query.hex(' ')}")
    # If earlier bytes are still queued (a late answer), ours is the last one.
    value = data[-1]
    if value & _FIXED_MASK != _FIXED_BITS:
        raise PrinterError(f"unexpected answer {data.hex(' ')} to status query {query.hex(' ')}")
    return value


def decode_status(printer: int, paper: int, offline_cause: int | None = None, error_cause: int | None = None) -> PrinterStatus:
    """Map DLE EOT answer bytes to a `PrinterStatus` (bit meanings in the module docstring)."""
    online = not printer & 0x08
    paper_out = bool(paper & 0x60)
    near_end = bool(paper & 0x0C)
    cover_open = bool(offline_cause is not None and offline_cause & 0x04)
    details: list[str] = []
    if paper_out:
        details.append("paper out")
    elif near_end:
        details.append("paper near end")
    if cover_open:
        details.append("cover open")
    if offline_cause is not None and offline_cause & 0x20 and not paper_out:
        details.append("stopped by paper end")
    if error_cause is not None:
        if error_cause & 0x08:
            details.append("autocutter error")
        if error_cause & 0x20:
            details.append("unrecoverable error")
        if error_cause & 0x40:
            details.append("auto-recoverable error (head temperature or voltage)")
    elif offline_cause is not None and offline_cause & 0x40:
        details.append("printer error")
    if not online and not details:
        details.append("offline")
    return PrinterStatus(
        online=online,
        paper_out=paper_out,
        paper_near_end=near_end and not paper_out,
        cover_open=cover_open,
        detail=", ".join(details),
    )


# -- the printer ------------------------------------------------------------------


class EscposTicketPrinter:
    """`kiosk.ports.TicketPrinter` for an ESC/POS printer.

    Network printers get a fresh TCP connection per job and per status poll,
    as raw port-9100 printing expects (the CUPS socket backend does the
    same): a printer that dropped an idle connection is never written to by
    mistake. USB and serial connections stay open between jobs, because
    opening a USB printer resets the device, and are reopened after an error.

    All I/O is serialised by a lock, so a status poll never interleaves its
    bytes with a ticket. The caller still owns threading: call from the
    printer's device thread, never the UI thread (a job can take seconds).
    """

    def __init__(
        self,
        connection: Connection,
        *,
        width_dots: int = WIDTH_80MM,
        profile: str | None = None,
        rasterizer: TicketRasterizer | None = None,
        cut: str = "FULL",
        query_status: bool = True,
    ) -> None:
        """`query_status=False` for a write-only link (a serial cable without
        its receive line): status() then only reports whether the connection
        opens, and printing skips the paper check."""
        self.connection = connection
        self.rasterizer = rasterizer or TicketRasterizer(width_dots)
        if self.rasterizer.width_dots != width_dots:
            raise ConfigError("printer.width_dots", f"rasterizer is {self.rasterizer.width_dots} dots, printer {width_dots}")
        self.profile = profile or profile_for_width(width_dots)
        if cut.upper() not in ("FULL", "PART"):
            raise ConfigError("printer.cut", f"expected FULL or PART, not {cut!r}")
        self.cut = cut.upper()
        self.query_status = query_status
        self._lock = threading.Lock()
        self._device: Escpos | None = None

    def is_usable(self) -> bool:
        return is_usable(self.connection.kind)

    # -- TicketPrinter ----------------------------------------------------------

    def print_ticket(self, layout: TicketLayout) -> None:
        """Render and print one ticket; raises PrinterOutOfPaper / PrinterOffline / PrinterError.

        The paper check comes first so that an empty printer refuses the
        job instead of buffering it: the patient is told at once to note the
        number on screen, and no ticket silently appears later for whoever
        refills the roll.
        """
        payload = escpos_ticket_bytes(self.rasterizer.render(layout), profile=self.profile, cut=self.cut)
        with self._lock:
            try:
                device = self._open()
                if self.query_status:
                    state = self._query(device)
                    if state.paper_out:
                        raise PrinterOutOfPaper(f"printer reports paper out ({state.detail})")
                    if state.cover_open:
                        raise PrinterCoverOpen(f"printer cover is open ({state.detail})")
                    if not state.online:
                        raise PrinterOffline(f"printer is offline ({state.detail})")
                self._send(device, payload)
            except (PrinterOutOfPaper, PrinterCoverOpen):
                raise  # the link is fine; the printer answered
            except PrinterError:
                self._discard()
                raise
            except Exception as exc:
                self._discard()
                raise _as_printer_error(exc, "printing") from exc
            finally:
                if isinstance(self.connection, NetworkConnection):
                    self._discard()

    def status(self) -> PrinterStatus:
        """The printer's real-time state; never raises (errors become `online=False`)."""
        reason = unusable_reason(self.connection.kind)
        if reason:
            return PrinterStatus(online=False, detail=reason)
        with self._lock:
            try:
                device = self._open()
                if not self.query_status:
                    return PrinterStatus(online=True, detail="connection open; this link cannot report paper or cover")
                return self._query(device)
            except Exception as exc:
                self._discard()
                error = exc if isinstance(exc, PrinterError) else _as_printer_error(exc, "status query")
                return PrinterStatus(online=False, detail=str(error))
            finally:
                if isinstance(self.connection, NetworkConnection):
                    self._discard()

    def close(self) -> None:
        with self._lock:
            self._discard()

    # -- connection handling --------------------------------------------------------

    def _open(self) -> Escpos:
        if self._device is not None:
            return self._device
        reason = unusable_reason(self.connection.kind)
        if reason:
            raise PrinterError(reason)
        from escpos.exceptions import DeviceNotFoundError

        c = self.connection
        try:
            if isinstance(c, NetworkConnection):
                from escpos.printer import Network

                device: Escpos = Network(c.host, port=c.port, timeout=c.timeout, profile=self.profile)
            elif isinstance(c, UsbConnection):
                from escpos.printer import Usb

                device = Usb(
                    c.vendor_id,
                    c.product_id,
                    timeout=c.timeout_ms,
                    in_ep=c.in_endpoint,
                    out_ep=c.out_endpoint,
                    profile=self.profile,
                )
            else:
                from escpos.printer import Serial

                device = Serial(c.device, baudrate=c.baudrate, timeout=c.timeout, dsrdtr=c.dsrdtr, profile=self.profile)
            device.open()
        except DeviceNotFoundError as exc:
            raise PrinterOffline(f"cannot open {self._describe()}: {_one_line(exc)}") from exc
        self._device = device
        return device

    def _discard(self) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        try:
            device.close()
        except Exception:  # closing a dead link may fail too; the link is gone either way
            log.debug("closing %s failed", self._describe(), exc_info=True)

    def _describe(self) -> str:
        c = self.connection
        if isinstance(c, NetworkConnection):
            return f"network printer {c.host}:{c.port}"
        if isinstance(c, UsbConnection):
            return f"USB printer {c.vendor_id:04x}:{c.product_id:04x}"
        return f"serial printer {c.device}"

    def _query(self, device: Escpos) -> PrinterStatus:
        # The ESC/POS manual warns that the printer takes the bytes 10 04 n
        # as a status request wherever they occur, even inside image data,
        # so a ticket can leave unasked-for answers queued; drop them first.
        self._drain(device)
        # query_status() rather than is_online()/paper_status(): those read
        # "no answer" as online / paper adequate, which is the one mistake a
        # kiosk must not make.
        printer = self._ask(device, _Q_PRINTER)
        paper = self._ask(device, _Q_PAPER)
        offline_cause = error_cause = None
        if printer & 0x08:
            offline_cause = self._ask(device, _Q_OFFLINE_CAUSE)
            if offline_cause & 0x40:
                error_cause = self._ask(device, _Q_ERROR_CAUSE)
        return decode_status(printer, paper, offline_cause, error_cause)

    def _ask(self, device: Escpos, query: bytes) -> int:
        if isinstance(self.connection, SerialConnection):
            # python-escpos's Serial reads read(16), and pyserial waits the
            # whole timeout for 16 bytes when the answer is one: every query
            # would cost `timeout` seconds. The answer is exactly one byte.
            device._raw(query)
            return _status_byte(device.device.read(1), query)
        return _status_byte(device.query_status(query), query)

    def _drain(self, device: Escpos) -> None:
        """Discard bytes the printer sent that nobody asked for (best effort)."""
        link = device.device
        if isinstance(self.connection, NetworkConnection):
            assert isinstance(link, socket.socket)
            link.setblocking(False)
            try:
                while link.recv(256):
                    pass
            except (BlockingIOError, InterruptedError):
                pass
            finally:
                link.settimeout(self.connection.timeout)
        elif isinstance(self.connection, SerialConnection):
            link.reset_input_buffer()
        # USB: a bulk read with nothing pending costs a full timeout, and the
        # connection is already read one answer at a time; nothing to do.

    def _send(self, device: Escpos, payload: bytes) -> None:
        """Write one whole ticket through python-escpos's byte seam, `_raw()`."""
        c = self.connection
        if isinstance(c, NetworkConnection):
            device.device.settimeout(c.job_timeout)
            device._raw(payload)
            self._finish_network_job(device)
        elif isinstance(c, SerialConnection):
            # pyserial writes block forever by default: with hardware flow
            # control a switched-off printer would hang the printer thread.
            # Allow twice the time the bytes need on the wire (10 bits each).
            device.device.write_timeout = 10.0 + 2 * len(payload) * 10 / c.baudrate
            device._raw(payload)
        else:
            device._raw(payload)

    def _finish_network_job(self, device: Escpos) -> None:
        """Half-close and wait for the printer to close, then let the caller close.

        Closing a socket with unread received data makes Linux send RST,
        which can discard ticket bytes not yet acknowledged. Shutting down
        our sending side and reading to end-of-file instead tells the
        printer the job is complete and returns once it has taken every
        byte (the CUPS socket backend ends jobs the same way). A printer that
        keeps the connection open is given `timeout` seconds.
        """
        link = device.device
        assert isinstance(link, socket.socket)
        assert isinstance(self.connection, NetworkConnection)
        link.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + self.connection.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            link.settimeout(remaining)
            try:
                if not link.recv(256):
                    return
            except TimeoutError:
                break
        log.info("%s kept the connection open after the job; closing it", self._describe())


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _as_printer_error(exc: BaseException, action: str) -> PrinterError:
    """Map a transport failure to the error the application understands."""
    try:
        from escpos.exceptions import Error as EscposError
    except ImportError:  # pragma: no cover - escpos was importable a moment ago
        EscposError = ()  # type: ignore[assignment,misc]  # noqa: N806
    if isinstance(exc, (OSError, EscposError)):
        # Broken pipe, reset, timeout, USB device gone, serial port vanished:
        # the printer cannot be reached.
        return PrinterOffline(f"{action} failed: {type(exc).__name__}: {_one_line(exc)}")
    return PrinterError(f"{action} failed: {type(exc).__name__}: {_one_line(exc)}")
