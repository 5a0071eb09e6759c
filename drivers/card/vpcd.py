"""VirtualCardBridge: a SimulatedCccdChip behind real pcscd, via vsmartcard's vpcd.

pcscd's vpcd driver (package vsmartcard-vpcd, /etc/reader.conf.d/vpcd)
shows a reader "Virtual PCD" and listens on TCP 127.0.0.1:35963 for a
virtual card. The card side, this bridge, connects to it; while connected
the card is "in the reader", and closing the connection takes it out.

vpcd protocol (vsmartcard, "Creating a virtual smart card"): every message
in either direction is a 2-byte big-endian length, then the payload. From
vpcd, a 1-byte payload is a control code (0x00 power off, 0x01 power on,
0x02 reset: no answer; 0x04 get ATR: answer the ATR); anything longer is a
command APDU, answered with the response APDU.

So the kiosk's production path (PcscCardReader + IcaoChipReader) can be run
end to end against a simulated card, with pcscd in the middle.
"""

from __future__ import annotations

import logging
import socket
import threading

from kiosk.errors import CardRemovedError

from .chip_sim import SimulatedCccdChip, pseudo_atr

__all__ = ["VirtualCardBridge", "pseudo_atr"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963  # vpcd's default (CHANNELID 0x8C7B in /etc/reader.conf.d/vpcd)

CTRL_POWER_OFF = 0x00
CTRL_POWER_ON = 0x01
CTRL_RESET = 0x02
CTRL_GET_ATR = 0x04

RETRY_INTERVAL = 0.5  # seconds between attempts to reach vpcd while it is not listening
CONNECT_TIMEOUT = 2.0


class VirtualCardBridge:
    """Connects a simulated chip to pcscd's vpcd reader, on its own thread."""

    def __init__(
        self,
        chip: SimulatedCccdChip | None = None,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
    ) -> None:
        self.host = host
        self.port = port
        self._cond = threading.Condition()
        self._chip = chip
        self._generation = 0  # bumps on insert/remove: a served session ends
        self._sock: socket.socket | None = None
        self._connected = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.apdus_relayed = 0

    def __repr__(self) -> str:
        return f"VirtualCardBridge({self.host}:{self.port}, connected={self._connected})"

    # -- control (any thread) ----------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="vpcd-bridge", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._drop_connection()
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def insert(self, chip: SimulatedCccdChip) -> None:
        """Put `chip` in the virtual reader (replacing any card there)."""
        with self._cond:
            self._chip = chip
            self._generation += 1
            self._drop_connection()
            self._cond.notify_all()

    def remove(self) -> None:
        """Take the card out: the connection to vpcd closes before this returns."""
        with self._cond:
            self._chip = None
            self._generation += 1
            self._drop_connection()
            self._cond.notify_all()

    @property
    def connected(self) -> bool:
        """Whether vpcd has the card (the TCP link is up)."""
        return self._connected

    def wait_connected(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._connected, timeout)

    def _drop_connection(self) -> None:
        # Caller holds the condition's lock. shutdown() wakes the bridge
        # thread's blocking recv at once; it then closes the socket.
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._connected = False

    # -- the bridge thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._chip is not None)
                if self._stopping:
                    return
                chip, generation = self._chip, self._generation
            assert chip is not None
            try:
                sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                log.debug("vpcd not reachable on %s:%d (%s)", self.host, self.port, type(exc).__name__)
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping or self._generation != generation, RETRY_INTERVAL)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._cond:
                if self._stopping or self._generation != generation:
                    sock.close()
                    continue
                self._sock = sock
                self._connected = True
                self._cond.notify_all()
            log.info("virtual card inserted into vpcd")
            lifted = False
            try:
                lifted = self._serve(sock, chip)
            except OSError:
                pass  # vpcd or we closed the link
            finally:
                with self._cond:
                    self._sock = None
                    self._connected = False
                    if lifted and self._generation == generation:
                        self._chip = None  # the card left the field by itself
                        self._generation += 1
                    self._cond.notify_all()
                sock.close()
                log.info("virtual card removed from vpcd")

    def _serve(self, sock: socket.socket, chip: SimulatedCccdChip) -> bool:
        """Answer vpcd until the link closes. True when the chip left the field."""
        while True:
            header = _recv_exact(sock, 2)
            if header is None:
                return False
            length = int.from_bytes(header, "big")
            payload = _recv_exact(sock, length)
            if payload is None:
                return False
            if length == 1:
                code = payload[0]
                if code == CTRL_GET_ATR:
                    _send(sock, chip.atr)
                elif code == CTRL_POWER_ON:
                    chip.power_on()
                elif code == CTRL_RESET:
                    chip.reset()
                elif code == CTRL_POWER_OFF:
                    chip.power_off()
                else:
                    log.warning("unknown vpcd control code %02X", code)
                continue
            try:
                response = chip.process(payload)
            except CardRemovedError:
                # Answer nothing and drop the link: to pcscd the card is gone
                # mid-exchange, exactly like a card lifted off a real reader.
                return True
            self.apdus_relayed += 1
            _send(sock, response)


# vpcd writes the length and the payload with two send() calls. With Nagle
# on its side and delayed ACKs on ours, every APDU would wait ~40 ms for an
# ACK; asking Linux to acknowledge at once (TCP_QUICKACK, which the kernel
# resets after use, hence before every recv) makes a read ~10x faster.
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < count:
        if _QUICKACK is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                pass
        part = sock.recv(count - len(buf))
        if not part:
            return None
        buf += part
    return bytes(buf)


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)
