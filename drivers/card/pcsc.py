"""PcscCardReader: kiosk.ports.CardReader on a PC/SC reader, through pyscard.

The backend only moves bytes (pyscard's CardConnection.doTransmit idea);
ICAO 9303 lives above the transport. pyscard is imported lazily, so the
kiosk starts, and `is_usable()` explains why, on a machine without pyscard
or without a running pcscd (python-escpos `is_usable()` idea).

Errors: pyscard's NoCardException / CardConnectionException become
kiosk.errors.NoCardError when connecting and CardRemovedError during an
exchange (a card lifted mid-read, a reset by another process, a reader
unplugged: to the patient all mean "place the card again"), except an
extended-length exchange that fails while SCardStatus still finds the card:
that is the reader's limit (CardLinkError), and the chip reader goes on
with short APDUs.

Also here: insert/remove observers on one monitor thread per reader (a new
observer hears the current state at once; reader hot-plug followed through
pcscd's PnP pseudo-reader), PC/SC transactions around a whole chip read,
and what the reader tells about its APDU size (SCARD_ATTR_MAXINPUT or the
PC/SC Part 10 TLV property dwMaxAPDUDataSize).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kiosk.errors import CardError, CardLinkError, CardRemovedError, MalformedDataError, NoCardError

log = logging.getLogger(__name__)

# ISO/IEC 7816-3/-4 (T=0): a card announces response data with 61xx
# and hands it over on GET RESPONSE. Contactless readers (T=CL, reported as
# T=1) never do, but a contact reader or a T=0 card emulator may.
_SW1_MORE_DATA = 0x61
_MAX_GET_RESPONSE = 64  # bound the loop against a card that never stops


@dataclass(frozen=True)
class Usability:
    """Whether PC/SC can be used here, and why not. Truthy when usable."""

    usable: bool
    reason: str

    def __bool__(self) -> bool:
        return self.usable


def _scard() -> Any:
    import smartcard.scard as scard  # lazy: optional hardware library

    return scard


class _Context:
    """A PC/SC context for one operation (cheap, and survives pcscd restarts)."""

    def __init__(self) -> None:
        self.scard = _scard()
        hresult, self.handle = self.scard.SCardEstablishContext(self.scard.SCARD_SCOPE_USER)
        if hresult != self.scard.SCARD_S_SUCCESS:
            raise CardError(f"PC/SC service unavailable: {self.scard.SCardGetErrorMessage(hresult)}")

    def __enter__(self) -> _Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.scard.SCardReleaseContext(self.handle)

    def readers(self) -> list[str]:
        hresult, names = self.scard.SCardListReaders(self.handle, [])
        if hresult == self.scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != self.scard.SCARD_S_SUCCESS:
            raise CardError(f"PC/SC cannot list readers: {self.scard.SCardGetErrorMessage(hresult)}")
        return list(names)

    def state(self, reader: str, known: int, timeout_ms: int) -> int | None:
        """The reader's event state after waiting up to timeout_ms for a
        change from `known`; None on timeout."""
        hresult, states = self.scard.SCardGetStatusChange(self.handle, timeout_ms, [(reader, known)])
        if hresult == self.scard.SCARD_E_TIMEOUT:
            return None
        if hresult != self.scard.SCARD_S_SUCCESS:
            raise CardError(f"PC/SC status query failed: {self.scard.SCardGetErrorMessage(hresult)}")
        return int(states[0][1])


class _PcscTransport:
    """kiosk.ports.CardTransport over a pyscard connection."""

    def __init__(self, connection: Any, lock: threading.Lock) -> None:
        self._connection = connection
        self._lock = lock
        self._max_apdu: object = _UNKNOWN
        self._lost = False  # an exchange failed because the card went away

    def transmit(self, apdu: bytes) -> bytes:
        from smartcard.Exceptions import CardConnectionException, NoCardException

        with self._lock:
            if self._connection is None:
                raise CardRemovedError("the PC/SC connection is closed")
            try:
                data, sw1, sw2 = self._connection.transmit(list(apdu))
                response = bytes(data)
                for _ in range(_MAX_GET_RESPONSE):
                    if sw1 != _SW1_MORE_DATA:
                        break
                    data, sw1, sw2 = self._connection.transmit([0x00, 0xC0, 0x00, 0x00, sw2])
                    response += bytes(data)
            except (NoCardException, CardConnectionException) as exc:
                if _is_extended(apdu) and self._card_still_there():
                    # The card is on the reader and answers status: it was
                    # the reader (driver, CCID frame size) that could not
                    # carry this extended APDU. The session falls back to
                    # short APDUs; a real removal stays CardRemovedError.
                    raise CardLinkError(f"PC/SC could not carry an extended APDU ({type(exc).__name__})") from None
                self._lost = True
                raise CardRemovedError(f"PC/SC exchange failed: {type(exc).__name__}") from None
            return response + bytes([sw1, sw2])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Exclusive use of the card for a whole read (SCardBeginTransaction):
        no other PC/SC client's APDU can land between two of ours and break
        the secure messaging counter. Ended with SCARD_LEAVE_CARD."""
        hcard = _hcard(self._connection)
        if hcard is None:
            yield  # not a pcscd handle (tests' fakes): nothing to lock
            return
        scard = _scard()
        hresult = scard.SCardBeginTransaction(hcard)
        if hresult in (scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD):
            self._lost = True
            raise CardRemovedError("the card left before the read began")
        if hresult != scard.SCARD_S_SUCCESS:
            raise CardError(f"PC/SC transaction refused: {scard.SCardGetErrorMessage(hresult)}")
        try:
            yield
        finally:
            scard.SCardEndTransaction(hcard, scard.SCARD_LEAVE_CARD)  # fails harmlessly once the card is gone

    @property
    def atr(self) -> bytes | None:
        """The card's (pseudo-)ATR, whose historical bytes may announce extended length."""
        with self._lock:
            if self._connection is None:
                return None
            try:
                return bytes(self._connection.getATR())
            except Exception:  # pyscard raises its own types; no ATR is not an error
                return None

    @property
    def max_apdu_length(self) -> int | None:
        """The longest response APDU (data + SW) the reader carries, if its
        driver says: SCARD_ATTR_MAXINPUT (PC/SC Part 3 tag 0x7A007), else the
        PC/SC Part 10 TLV property dwMaxAPDUDataSize; None when neither answers."""
        if self._max_apdu is _UNKNOWN:
            self._max_apdu = self._query_max_input()
        return self._max_apdu  # type: ignore[return-value]

    def _query_max_input(self) -> int | None:
        with self._lock:
            hcard = _hcard(self._connection)
            if hcard is None:
                return None
            try:
                scard = _scard()
                hresult, value = scard.SCardGetAttrib(hcard, scard.SCARD_ATTR_MAXINPUT)
                if hresult == scard.SCARD_S_SUCCESS and 1 <= len(value) <= 8:
                    size = int.from_bytes(bytes(value), "little")  # a DWORD, host (little-endian) order
                    return size if size >= 5 else None
                return _max_apdu_from_tlv_properties(scard, hcard)
            except Exception:  # a driver without either answer: limit unknown
                return None

    def _card_still_there(self) -> bool:
        """SCardStatus on our handle: True only when it succeeds with a card present."""
        hcard = _hcard(self._connection)
        if hcard is None:
            return False
        try:
            scard = _scard()
            hresult, _reader, state, _protocol, _atr = scard.SCardStatus(hcard)
        except Exception:
            return False
        return hresult == scard.SCARD_S_SUCCESS and bool(state & _SCARD_PRESENT)

    def close(self) -> None:
        with self._lock:
            gone = self._connection is not None and (self._lost or not self._card_still_there())
            connection, self._connection = self._connection, None
        if connection is not None:
            if gone:
                # Nothing to power down: disconnect with SCARD_LEAVE_CARD.
                # Powering down a card that left mid-exchange made pcscd's
                # vpcd slot miss the next card inserted.
                _leave_card_on_disconnect(connection)
            try:
                connection.disconnect()
                connection.release()
            except Exception:  # the card or pcscd may already be gone
                pass


class PcscCardReader:
    """The first PC/SC reader whose name contains `reader_name_substring`
    (case-insensitive; empty matches any reader)."""

    def __init__(self, reader_name_substring: str = "") -> None:
        self.reader_name_substring = reader_name_substring
        self.name = reader_name_substring or "PC/SC reader"
        self._lock = threading.Lock()
        self._transport: _PcscTransport | None = None
        self._observers: list[Observer] = []
        self._monitor: _Monitor | None = None

    def __repr__(self) -> str:
        return f"PcscCardReader({self.reader_name_substring!r})"

    # -- availability ---------------------------------------------------------------

    @staticmethod
    def is_usable() -> Usability:
        """Whether pyscard is installed and pcscd answers."""
        try:
            _scard()
        except ImportError as exc:
            return Usability(False, f"pyscard is not installed ({exc.name or exc})")
        try:
            with _Context():
                pass
        except CardError as exc:
            return Usability(False, f"pcscd is not running or not reachable ({exc})")
        return Usability(True, "pyscard and pcscd are available")

    @staticmethod
    def list_readers() -> list[str]:
        """Names of the connected PC/SC readers; CardError if PC/SC is unavailable."""
        with _Context() as ctx:
            return ctx.readers()

    def reader_name(self) -> str | None:
        """The full name of the matching reader, or None when none is connected."""
        wanted = self.reader_name_substring.casefold()
        for name in self.list_readers():
            if wanted in name.casefold():
                return name
        return None

    def _require_reader(self) -> str:
        name = self.reader_name()
        if name is None:
            raise CardError(f"no PC/SC reader matching {self.reader_name_substring!r}")
        self.name = name
        return name

    # -- presence ----------------------------------------------------------------------

    def card_present(self) -> bool:
        try:
            with _Context() as ctx:
                name = self._require_reader()
                state = ctx.state(name, ctx.scard.SCARD_STATE_UNAWARE, 0)
                return state is not None and _present(ctx.scard, state)
        except (CardError, ImportError):
            return False

    def wait_for_card(self, timeout: float) -> bool:
        """Block until a card is on the reader (True) or `timeout` s pass (False).

        Uses SCardGetStatusChange, so it wakes on pcscd's event, not on a poll.
        """
        return self._wait(True, timeout)

    def wait_for_removal(self, timeout: float) -> bool:
        return self._wait(False, timeout)

    def _wait(self, want_present: bool, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with _Context() as ctx:
            name = self._require_reader()
            known = ctx.scard.SCARD_STATE_UNAWARE
            while True:
                remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
                state = ctx.state(name, known, remaining_ms if known != ctx.scard.SCARD_STATE_UNAWARE else 0)
                if state is not None:
                    if _present(ctx.scard, state) == want_present:
                        return True
                    known = state & ~ctx.scard.SCARD_STATE_CHANGED
                if time.monotonic() >= deadline:
                    return False

    # -- connection ----------------------------------------------------------------------

    def connect(self) -> _PcscTransport:
        """Connect to the card (T=0 or T=1); NoCardError when there is none."""
        from smartcard.Exceptions import CardConnectionException, NoCardException
        from smartcard.System import readers

        name = self._require_reader()
        reader = next((r for r in readers() if str(r) == name), None)
        if reader is None:
            raise NoCardError(f"PC/SC reader {name!r} disappeared")
        self.disconnect()
        connection = reader.createConnection()
        try:
            connection.connect()
        except NoCardException:
            _release_quietly(connection)
            raise NoCardError("no card on the PC/SC reader") from None
        except CardConnectionException as exc:
            _release_quietly(connection)
            raise NoCardError(f"the card did not answer ({type(exc).__name__})") from None
        transport = _PcscTransport(connection, threading.Lock())
        with self._lock:
            self._transport = transport
        return transport

    def disconnect(self) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    # -- insert/remove events ----------------------------------------------------------------

    def add_observer(self, callback: Observer) -> None:
        """Call `callback(present)` on every insert/remove, from the reader's
        own monitor thread; a new observer hears the current state at once
        (pyscard CardMonitor's rule), so it learns of a card already there.

        The monitor waits in SCardGetStatusChange on the reader and on
        pcscd's hot-plug pseudo-reader, so readers plugged in or out later
        are followed too (a reader unplugged = card removed).
        """
        with self._lock:
            self._observers.append(callback)
            monitor = self._monitor
            if monitor is None:
                monitor = self._monitor = _Monitor(self)
                monitor.start()
        monitor.tell_current_state(callback)

    def remove_observer(self, callback: Observer) -> None:
        with self._lock:
            if callback in self._observers:
                self._observers.remove(callback)
            monitor = self._monitor if not self._observers else None
            if monitor is not None:
                self._monitor = None
        if monitor is not None:
            monitor.stop()

    def _observers_now(self) -> list[Observer]:
        with self._lock:
            return list(self._observers)


Observer = Callable[[bool], None]
PNP_NOTIFICATION = "\\\\?PnP?\\Notification"  # pcsc-lite's hot-plug pseudo-reader
# One SCardGetStatusChange wait. Changes end it at once and SCardCancel ends
# it on stop, so the timeout is only a safety net; each one that expires
# costs a client/server round trip (about 5 context switches with
# pcsc-lite 1.9), which at 1 s made an idle kiosk wake 5 times a second
# (bench/card_events.py).
MONITOR_WAIT_MS = 60_000
MONITOR_RETRY_S = 1.0  # between attempts to reach a pcscd that is gone or restarting


class _Monitor:
    """The owner thread of a PcscCardReader's presence events.

    It alone waits on PC/SC for changes and calls the observers, in the
    order the changes happened; the chip conversation runs elsewhere.
    """

    def __init__(self, reader: PcscCardReader) -> None:
        self._reader = reader
        self._cond = threading.Condition()
        self._present: bool | None = None  # None until the first look
        self._stopping = False
        self._context: Any = None
        self._thread = threading.Thread(target=self._run, name="pcsc-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if threading.current_thread() is self._thread:
            return  # an observer stopping us from the monitor thread: the loop ends after it
        deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            # SCardCancel wakes SCardGetStatusChange at once, but only one that
            # is already waiting: pcsc-lite drops a cancel that comes before
            # the wait begins. So cancel again until the thread has gone.
            with self._cond:
                context = self._context
            if context is not None:
                try:
                    _scard().SCardCancel(context)
                except Exception:
                    pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._thread.join(min(remaining, 0.05))

    def tell_current_state(self, callback: Observer, timeout: float = 5.0) -> None:
        """Tell one new observer the state the monitor last saw (after its first look)."""
        with self._cond:
            self._cond.wait_for(lambda: self._present is not None or self._stopping, timeout)
            present = bool(self._present)
        _call(callback, present)

    def _set(self, present: bool) -> None:
        with self._cond:
            changed = present != self._present
            first = self._present is None
            self._present = present
            self._cond.notify_all()
        if changed and not first:
            for callback in self._reader._observers_now():
                _call(callback, present)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
            try:
                self._watch()
            except (CardError, ImportError) as exc:
                # pcscd gone (or restarting): no card can be read; look again later.
                log.warning("PC/SC monitor: %s", type(exc).__name__)
                self._set(False)
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, MONITOR_RETRY_S)

    def _watch(self) -> None:
        with _Context() as ctx:
            with self._cond:
                if self._stopping:
                    return
                self._context = ctx.handle
            try:
                self._loop(ctx)
            finally:
                with self._cond:
                    self._context = None

    def _loop(self, ctx: _Context) -> None:
        scard = ctx.scard
        known = scard.SCARD_STATE_UNAWARE
        pnp_known = scard.SCARD_STATE_UNAWARE
        name: str | None = None
        while True:
            with self._cond:
                if self._stopping:
                    return
            if name is None:
                name = self._reader.reader_name()
                known = scard.SCARD_STATE_UNAWARE
            watched = [(PNP_NOTIFICATION, pnp_known)] + ([(name, known)] if name else [])
            hresult, states = scard.SCardGetStatusChange(ctx.handle, MONITOR_WAIT_MS, watched)
            if hresult == scard.SCARD_E_CANCELLED:
                return
            if hresult == scard.SCARD_E_TIMEOUT:
                if name is None:
                    self._set(False)
                continue
            if hresult == scard.SCARD_E_UNKNOWN_READER:
                name = None  # our reader was unplugged
                self._set(False)
                continue
            if hresult != scard.SCARD_S_SUCCESS:
                raise CardError(f"PC/SC status query failed: {scard.SCardGetErrorMessage(hresult)}")
            for reader, event, _atr in states:
                if reader == PNP_NOTIFICATION:
                    if event & scard.SCARD_STATE_CHANGED:
                        name = None  # readers came or went: find ours again
                    pnp_known = event & ~scard.SCARD_STATE_CHANGED
                    continue
                if event & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                    name = None
                    self._set(False)
                    continue
                known = event & ~scard.SCARD_STATE_CHANGED
                self._set(_present(scard, event))
            if name is None and not self._reader.reader_name():
                self._set(False)


def _call(callback: Observer, present: bool) -> None:
    try:
        callback(present)
    except Exception:  # one broken observer must not starve the others
        log.exception("card observer failed")


_UNKNOWN = object()
# SCardStatus dwState bit "card present" (pcsc-lite pcsclite.h SCARD_PRESENT;
# pyscard does not export the SCardStatus state constants). After a removal
# SCardStatus fails with SCARD_W_REMOVED_CARD instead.
_SCARD_PRESENT = 0x0004


def _hcard(connection: Any) -> Any:
    """The PC/SC card handle under pyscard's connection decorators, or None."""
    for _ in range(8):  # decorators nest a few levels at most
        if connection is None:
            return None
        hcard = getattr(connection, "hcard", None)
        if hcard is not None:
            return hcard
        connection = getattr(connection, "component", None)
    return None


# PC/SC Part 10 (v2.02.09) §2.2 / §2.6.14: CM_IOCTL_GET_FEATURE_REQUEST lists
# the reader's features as TLV (tag, length 4, big-endian control code);
# FEATURE_GET_TLV_PROPERTIES answers TLV properties (tag, length, little-
# endian value), where dwMaxAPDUDataSize gives the largest APDU data field:
# 0 for readers that exchange short APDUs only (the CCID driver's "short
# APDU level"), 65536 for extended length (vpcd says so).
_CM_IOCTL_GET_FEATURE_REQUEST = 3400
_FEATURE_GET_TLV_PROPERTIES = 0x12
_PROPERTY_MAX_APDU_DATA_SIZE = 0x0A
_SHORT_RESPONSE_MAX = 258  # 256 data bytes + SW1 SW2


def _max_apdu_from_tlv_properties(scard: Any, hcard: Any) -> int | None:
    hresult, features = scard.SCardControl(hcard, scard.SCARD_CTL_CODE(_CM_IOCTL_GET_FEATURE_REQUEST), [])
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    raw = bytes(features)
    code = None
    for i in range(0, len(raw) - 5, 6):
        if raw[i] == _FEATURE_GET_TLV_PROPERTIES and raw[i + 1] == 4:
            code = int.from_bytes(raw[i + 2 : i + 6], "big")
    if code is None:
        return None
    hresult, properties = scard.SCardControl(hcard, code, [])
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    raw = bytes(properties)
    i = 0
    while i + 2 <= len(raw):
        tag, length = raw[i], raw[i + 1]
        value = raw[i + 2 : i + 2 + length]
        if len(value) != length:
            return None
        if tag == _PROPERTY_MAX_APDU_DATA_SIZE and length:
            size = int.from_bytes(value, "little")
            return size + 2 if size else _SHORT_RESPONSE_MAX
        i += 2 + length
    return None


def _leave_card_on_disconnect(connection: Any) -> None:
    try:
        scard = _scard()
    except ImportError:
        return
    for _ in range(8):  # pyscard keeps the disposition on the innermost connection
        if connection is None:
            return
        if getattr(connection, "hcard", None) is not None:
            connection.disposition = scard.SCARD_LEAVE_CARD
            return
        connection = getattr(connection, "component", None)


def _is_extended(apdu: bytes) -> bool:
    from drivers.card.icao.apdu import CommandApdu

    try:
        return CommandApdu.parse(apdu).extended
    except MalformedDataError:
        return False


def _present(scard: Any, state: int) -> bool:
    return bool(state & scard.SCARD_STATE_PRESENT) and not state & scard.SCARD_STATE_MUTE


def _release_quietly(connection: Any) -> None:
    try:
        connection.release()
    except Exception:
        pass
