"""SimulatedCardReader: kiosk.ports.CardReader with a SimulatedCccdChip on it.

The demo and the tests use it exactly as production uses PcscCardReader:
connect() returns a transport, the ICAO code talks through it. A card can
be placed and removed from any thread (a test, the demo's "place card"
button) while another thread reads: a transport whose card has gone raises
CardRemovedError, as a real card pulled off mid-read does.

Observers follow pyscard's CardMonitor: a callback registered while a card
is already on the reader is told so at once, so a screen opened late still
sees the card.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk.errors import CardLinkError, CardRemovedError, NoCardError

from .chip_sim import SimulatedCccdChip

log = logging.getLogger(__name__)

Observer = Callable[[bool], None]


def _is_extended(apdu: bytes) -> bool:
    from kiosk.errors import MalformedDataError

    from .icao.apdu import CommandApdu

    try:
        return CommandApdu.parse(apdu).extended
    except MalformedDataError:
        return False


class _SimulatedTransport:
    """Transport bound to one placement of one chip."""

    def __init__(self, reader: SimulatedCardReader, chip: SimulatedCccdChip, placement: int) -> None:
        self._reader = reader
        self._chip = chip
        self._placement = placement

    def transmit(self, apdu: bytes) -> bytes:
        return self._reader._transmit(self._chip, self._placement, apdu)

    @property
    def atr(self) -> bytes:
        """The (pseudo-)ATR, as PC/SC reports it after connecting."""
        return self._chip.atr

    @property
    def max_apdu_length(self) -> int | None:
        """The link's APDU limit when the reader reports it (SCARD_ATTR_MAXINPUT)."""
        return self._reader.link_max_apdu if self._reader.report_link_limit else None


class SimulatedCardReader:
    """A card slot in software. Thread-safe."""

    def __init__(
        self,
        name: str = "Simulated CCCD reader",
        *,
        link_max_apdu: int | None = None,
        report_link_limit: bool = False,
        link_extended: bool = True,
    ) -> None:
        self.name = name
        # A reader whose frames carry at most `link_max_apdu` bytes of APDU
        # (e.g. 261/258: short APDUs only). Longer ones fail in the reader,
        # with the card still on it: CardLinkError, as pcscd reports a
        # failed SCardTransmit. Whether it says so up front is
        # `report_link_limit` (some drivers answer SCARD_ATTR_MAXINPUT).
        self.link_max_apdu = link_max_apdu
        self.report_link_limit = report_link_limit
        # False: a reader that exchanges short APDUs only (a CCID reader at
        # "short APDU level"): any extended-length command fails in it.
        self.link_extended = link_extended
        # Two locks: `_lock` guards the state and is held only briefly;
        # `_events` is taken first by whatever changes presence and held
        # while observers run, so they hear about changes in the order the
        # changes happened (and never block an APDU exchange).
        self._events = threading.RLock()
        self._lock = threading.RLock()
        self._chip: SimulatedCccdChip | None = None
        self._placement = 0  # bumps on every place/remove: old transports die
        self._connected: int | None = None
        self._observers: list[Observer] = []

    def __repr__(self) -> str:
        return f"SimulatedCardReader({self.name!r}, card_present={self.card_present()})"

    # -- the card -----------------------------------------------------------------

    def place(self, chip: SimulatedCccdChip) -> None:
        """Put a card on the reader (replacing any card there)."""
        with self._events:
            with self._lock:
                if self._chip is not None:
                    self._take_off()
                chip.power_on()  # entering the field powers the chip from scratch
                self._chip = chip
                self._placement += 1
                observers = list(self._observers)
            self._notify(observers, True)

    def remove(self) -> None:
        """Take the card away; a read in progress fails with CardRemovedError."""
        with self._events:
            with self._lock:
                if self._chip is None:
                    return
                self._take_off()
                observers = list(self._observers)
            self._notify(observers, False)

    def _take_off(self) -> None:
        # Caller holds the lock.
        if self._chip is not None:
            self._chip.power_off()
        self._chip = None
        self._placement += 1
        self._connected = None

    @property
    def chip(self) -> SimulatedCccdChip | None:
        return self._chip

    # -- CardReader -------------------------------------------------------------

    def card_present(self) -> bool:
        with self._lock:
            return self._chip is not None

    def connect(self) -> _SimulatedTransport:
        """A transport to the card on the reader; NoCardError when there is none.

        Like SCardConnect after the card was powered, each connect starts
        from a freshly reset chip (no application selected, no session).
        """
        with self._lock:
            if self._chip is None:
                raise NoCardError("no card on the simulated reader")
            self._chip.reset()
            self._connected = self._placement
            return _SimulatedTransport(self, self._chip, self._placement)

    def disconnect(self) -> None:
        with self._lock:
            self._connected = None

    def _transmit(self, chip: SimulatedCccdChip, placement: int, apdu: bytes) -> bytes:
        # The lock serialises APDUs with place/remove, so a removal lands
        # between two APDUs, never inside one (as with a real reader).
        with self._lock:
            if self._chip is not chip or self._placement != placement:
                raise CardRemovedError("the card was removed from the simulated reader")
            if self._connected != placement:
                raise CardRemovedError("the transport was disconnected")
            limit = self.link_max_apdu
            if limit is not None and len(apdu) > limit:
                raise CardLinkError(f"the reader cannot carry a {len(apdu)}-byte command")
            if not self.link_extended and _is_extended(apdu):
                raise CardLinkError("the reader cannot carry extended-length APDUs")
            try:
                response = chip.process(apdu)
            except CardRemovedError:
                pass  # the chip itself left the field (an injected fault)
            else:
                if limit is not None and len(response) > limit:
                    # The card answered, but the reader lost the answer.
                    raise CardLinkError(f"the reader cannot carry a {len(response)}-byte response")
                return response
        with self._events:
            with self._lock:
                if self._chip is not chip or self._placement != placement:
                    observers = []  # someone else already took it off
                else:
                    self._take_off()
                    observers = list(self._observers)
            self._notify(observers, False)
        raise CardRemovedError("the card left the field during the exchange")

    # -- observers ----------------------------------------------------------------

    def add_observer(self, callback: Observer) -> None:
        """Call `callback(present)` on every change, and at once with the current state."""
        with self._events:
            with self._lock:
                self._observers.append(callback)
                present = self._chip is not None
            self._notify([callback], present)

    def remove_observer(self, callback: Observer) -> None:
        with self._lock:
            if callback in self._observers:
                self._observers.remove(callback)

    @staticmethod
    def _notify(observers: list[Observer], present: bool) -> None:
        # Outside the state lock: an observer may call back into the reader.
        for callback in observers:
            try:
                callback(present)
            except Exception:  # one broken observer must not starve the others
                log.exception("card observer failed")
