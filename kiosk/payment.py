"""Paying the visit fee by bank transfer: the dynamic VietQR and its confirmation.

A fee-paying patient (the hub's receipt says `amount_due > 0`) can pay at the
cashier or scan a dynamic VietQR (DOMAIN.md §5, NAPAS's profile of EMVCo
QRCPS-MPM) with any Vietnamese banking app. The code names the hospital's
account (bank BIN + account number from `[payment]` in the configuration),
the exact amount, and, as the transfer purpose (tag 62, sub-tag 08), a
*payment reference* derived from the registration key.

The bank tells the hub about each incoming transfer (a signed callback,
`server.payments`); the hub finds the reference in the transfer note and
adds the amount to that registration. The kiosk asks the hub
(`HubClient.payment_status`) and the screen turns to "paid".

Why a derived reference rather than the queue number or MA_LK: it must be
unique across days and kiosks, fit the 25-character EMVCo limit, and survive
what banks do to transfer notes (upper-casing, dropping punctuation and
spaces, adding their own text before or after). `KB` + 16 upper-case hex
digits does all of that, and it exists before the hub answers, so an offline
number can be paid too: the hub keeps the transfer until the registration
arrives from the outbox.

Pure standard library, like the rest of `kiosk/`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from kiosk.domain import QueueTicket
from kiosk.qr import build_vietqr

log = logging.getLogger(__name__)

REFERENCE_PREFIX = "KB"  # "khám bệnh"
_REFERENCE = re.compile(REFERENCE_PREFIX + r"[0-9A-F]{16}")


def payment_reference(registration_key: str) -> str:
    """The transfer purpose for a registration: "KB" + 16 hex digits of SHA-256(key).

    A hash rather than the key itself: kiosk keys are 32 hex digits, longer
    than fits, and a hash is the same length whatever key format a future
    kiosk uses. 64 bits: a collision among a hospital's registrations is
    beyond any practical concern.
    """
    if not registration_key:
        raise ValueError("registration key is empty")
    digest = hashlib.sha256(registration_key.encode("utf-8")).hexdigest()[:16].upper()
    return REFERENCE_PREFIX + digest


def find_reference(transfer_note: str) -> str | None:
    """The payment reference inside a bank's transfer note, or None.

    Banks pass the purpose on, but not always untouched: some upper-case it,
    some strip spaces and punctuation, most add their own words ("MBVCB.123.
    KB0A1B... .CT tu 0123 toi 4567"). So the note is folded to upper-case
    letters and digits before the reference is looked for.
    """
    folded = re.sub(r"[^0-9A-Z]", "", transfer_note.upper())
    match = _REFERENCE.search(folded)
    return match.group(0) if match else None


@dataclass(frozen=True)
class PaymentSettings:
    """`[payment]` in the kiosk configuration."""

    enabled: bool = False
    bank_bin: str = ""  # NAPAS BIN of the hospital's bank, 6 digits (e.g. 970415)
    account: str = ""  # the hospital's account number at that bank
    account_name: str = ""  # shown beside the code so the patient sees whom they pay


@dataclass(frozen=True)
class PaymentRequest:
    """What the patient is asked to pay, and whether the hub has seen it paid."""

    registration_key: str
    reference: str  # the transfer purpose, `payment_reference(registration_key)`
    amount: int  # VND
    qr_payload: str  # the dynamic VietQR text
    account_name: str
    account: str
    paid: bool = False
    paid_at: datetime | None = None
    # The code as an image for the screen, when the renderer can draw one.
    qr_png: bytes | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"PaymentRequest(reference={self.reference!r}, amount={self.amount}, paid={self.paid})"

    def settled(self, paid_at: datetime | None) -> PaymentRequest:
        return replace(self, paid=True, paid_at=paid_at)


@dataclass(frozen=True)
class PaymentStatus:
    """The hub's answer for one registration's payment."""

    reference: str
    paid_amount: int  # VND received so far under this reference
    amount_due: int | None  # None while the hub has not got the registration yet
    paid_at: datetime | None = None  # when the amount was first covered

    def covers(self, amount: int) -> bool:
        return self.paid_amount >= amount > 0


class PaymentLookup(Protocol):
    """The hub's side of a payment (`HubClient` backends implement it too).

    Raises `HubUnavailable` / `HubRejected` like every hub call."""

    def payment_status(self, registration_key: str) -> PaymentStatus: ...


def payment_request(ticket: QueueTicket, settings: PaymentSettings | None) -> PaymentRequest | None:
    """The VietQR for a ticket, or None when nothing is due or payment is off."""
    if settings is None or not settings.enabled or ticket.amount_due <= 0:
        return None
    reference = payment_reference(ticket.registration_key)
    payload = build_vietqr(settings.bank_bin, settings.account, ticket.amount_due, reference)
    return PaymentRequest(
        registration_key=ticket.registration_key,
        reference=reference,
        amount=ticket.amount_due,
        qr_payload=payload,
        account_name=settings.account_name,
        account=settings.account,
    )


class PaymentWatcher:
    """Asks the hub, on its own thread, whether a shown VietQR has been paid.

    `pending()` says whether there is anything to ask about (a cheap check of
    the flow state); `refresh()` asks the hub once and updates the flow. The
    UI only renders the result, as for every other device thread.
    """

    def __init__(self, pending: Callable[[], bool], refresh: Callable[[], None], interval: float = 3.0) -> None:
        self._pending = pending
        self._refresh = refresh
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="payment-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def poll_once(self) -> bool:
        """One round: True when the hub was asked."""
        if not self._pending():
            return False
        try:
            self._refresh()
        except Exception as exc:  # a hub hiccup must not end the watcher
            log.warning("payment status not refreshed: %s", type(exc).__name__)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll_once()
