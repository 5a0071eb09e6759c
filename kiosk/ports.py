"""The seams between the application and the outside world.

Each device or service the kiosk talks to is one small protocol here. The
backends live elsewhere (`drivers/`, `offline_cache/`), real and simulated
side by side, and configuration chooses between them. Nothing in this module
does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from kiosk.domain import (
    Citizen,
    HubReceipt,
    Identity,
    InsuranceCheck,
    ReferenceData,
    Registration,
    Verification,
    VisitPaper,
)

# -- card -------------------------------------------------------------------


@runtime_checkable
class CardTransport(Protocol):
    """One APDU in, one response (data + SW1 SW2) out.

    This is the only thing a card backend does. APDU building, status words,
    secure messaging and file parsing are written once above it (ICAO 9303
    lives in `drivers.card.icao`). Raises `kiosk.errors.CardRemovedError`
    when the card leaves the field.
    """

    def transmit(self, apdu: bytes) -> bytes: ...


class CardReader(Protocol):
    """A PC/SC slot (or its simulation) that a card can be placed on."""

    name: str

    def card_present(self) -> bool:
        """Cheap presence check, polled from a device thread."""
        ...

    def connect(self) -> CardTransport:
        """Power the card and return a transport; raises `NoCardError`."""
        ...

    def disconnect(self) -> None: ...


@runtime_checkable
class CardPresenceEvents(Protocol):
    """Optional beside `CardReader`: the reader tells about taps itself.

    pyscard CardMonitor's rule: a new observer is called at once with the
    current state (True: a card is on the reader), then on every change, in
    the order the changes happened, from whatever thread noticed them (a
    PC/SC monitor thread, the simulator's button). Observers must return
    quickly. A reader without it is polled through `card_present()`.
    """

    def add_observer(self, callback: Callable[[bool], None]) -> None: ...

    def remove_observer(self, callback: Callable[[bool], None]) -> None: ...


@dataclass(frozen=True)
class CanKey:
    """PACE password: the Card Access Number (last 6 digits of the CCCD ID)."""

    can: str


@dataclass(frozen=True)
class MrzKey:
    """BAC/PACE-MRZ key material (ICAO 9303-11 §4.3.2).

    For CCCD cards the document number is the last 9 digits of the ID.
    """

    document_number: str
    date_of_birth: date
    date_of_expiry: date | None  # None: the card does not expire (encoded "<<<<<<")


ChipAccessKey = CanKey | MrzKey


@dataclass(frozen=True)
class ChipReadResult:
    citizen: Citizen
    verification: Verification
    notes: tuple[str, ...] = ()  # reasons, safe to show a technician (no personal data)


class ChipReader(Protocol):
    """Reads and checks an identity chip over a transport."""

    def read_identity(
        self,
        transport: CardTransport,
        keys: Sequence[ChipAccessKey],
        progress: Callable[[str], None] = lambda step: None,
    ) -> ChipReadResult:
        """Try `keys` in order; report each step (a short code such as
        "bac", "dg1", "dg13") through `progress`. Raises `CardError`s."""
        ...


# -- camera -------------------------------------------------------------------

# A frame is an RGB image as a (height, width, 3) uint8 array. The core never
# looks at pixels; it only hands frames from a camera to a decoder.
Frame = Any


class Camera(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def latest_frame(self) -> Frame | None:
        """The newest frame, or None; never blocks on the device."""
        ...


class QrDecoder(Protocol):
    def decode(self, frame: Frame) -> list[str]:
        """Every QR payload found in the frame, as NFC-normalised text."""
        ...


@dataclass(frozen=True)
class QrOutline:
    """Where a QR code was seen: its corners in frame pixels, clockwise from
    the symbol's own top-left, and the size of the frame they refer to."""

    corners: tuple[tuple[float, float], ...]
    frame_width: int
    frame_height: int


class CameraPreview(Protocol):
    """What a screen shows of the camera: its newest frame and where the QR
    scanner last saw codes. Both calls are cheap and never wait on the
    device or on a decode, so a UI timer may poll them (decoding stays on
    the scanner's thread)."""

    def latest_frame(self) -> Frame | None: ...

    def qr_outlines(self) -> tuple[QrOutline, ...]:
        """Codes found in a recent frame (none once they are out of view)."""
        ...


# -- printer ------------------------------------------------------------------


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.online and not self.paper_out and not self.cover_open


class TicketPrinter(Protocol):
    def print_ticket(self, layout: Any) -> None:
        """Print a `kiosk.ticket.TicketLayout`; raises `PrinterError`."""
        ...

    def status(self) -> PrinterStatus: ...


class TicketRenderer(Protocol):
    def render_png(self, layout: Any) -> bytes:
        """The ticket as the printer will print it, for the on-screen preview."""
        ...


# -- hub ----------------------------------------------------------------------


class HubClient(Protocol):
    """The kiosk's view of the hub. Raises `HubUnavailable` (retry later) or
    `HubRejected` (do not retry)."""

    def reference_data(self) -> ReferenceData: ...

    def check_insurance(self, citizen: Citizen, card_code: str | None) -> InsuranceCheck: ...

    def register(self, registration: Registration, printed_number: str | None = None) -> HubReceipt:
        """Idempotent by `registration.key`. `printed_number` is set when the
        kiosk already printed an offline number: the hub keeps it."""
        ...

    def ping(self) -> bool: ...

    def verify_vneid(self, token: str) -> Identity:
        """Resolve a VNeID app code through the hub's verification service.

        The kiosk never reads the token itself (its format is not public and
        anyone can print a QR code): only the hub's answer identifies the
        patient, as an `Identity` with source VNEID. Raises `VneidExpired`,
        `VneidRejected` (both `HubRejected`) or `HubUnavailable`."""
        ...

    def find_visit_paper(
        self, citizen: Citizen, card_code: str | None, reference: str | None = None
    ) -> VisitPaper | None:
        """The patient's open re-exam appointment or referral, if the hub has
        one. `reference` is the id from a scanned VNKIOSK:APPT/REF code; the
        hub answers it only when it belongs to this patient."""
        ...


class ReferenceStore(Protocol):
    """The kiosk's copy of the last reference data (`offline_cache`), so a
    kiosk that starts while the hub is down still offers departments."""

    def save(self, reference: ReferenceData) -> None: ...

    def load(self) -> ReferenceData | None:
        """The saved copy (its `fetched_at` says how old), or None if there
        is none. Raises `StorageError` when the file is unreadable."""
        ...


# -- voice ----------------------------------------------------------------------


class VoicePrompter(Protocol):
    """Speaks a short prompt (`drivers.voice`: espeak-ng, or silence)."""

    def say(self, text: str, language: str = "vi") -> None:
        """Start speaking and return at once; a newer prompt cuts an older one off."""
        ...

    def stop(self) -> None:
        """Stop speaking now (the session ended)."""
        ...


# -- time -----------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware local time (Asia/Ho_Chi_Minh)."""
        ...

    def monotonic(self) -> float: ...


# -- local store ----------------------------------------------------------------


class RegistrationOutbox(Protocol):
    """The durable local record of every registration (`offline_cache/`)."""

    def add(self, registration: Registration) -> None:
        """Write the registration and its outbox row in one transaction."""
        ...

    def acknowledge(self, key: str, receipt: HubReceipt) -> None: ...

    def assign_offline_number(self, key: str, department_prefix: str, day: date) -> str:
        """Give the registration a kiosk-prefixed number, durably, and return it."""
        ...

    def pending_count(self) -> int: ...


class Delivery(Protocol):
    """Sends outbox rows to the hub (`offline_cache.sync`)."""

    def deliver_now(self, key: str, timeout: float) -> HubReceipt | None:
        """Try to send one registration at once; None if the hub did not
        answer in time (the row stays pending and is retried later)."""
        ...

    def online(self) -> bool: ...
