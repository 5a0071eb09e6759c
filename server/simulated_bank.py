"""A simulated bank: a patient's banking app pays a VietQR, the bank calls the hub.

For the tests and the demo. It does what the real chain does, over real
HTTP: read the VietQR text the patient scanned (`kiosk.qr.parse_qr`, CRC
checked), "book" a transfer with the code's amount and purpose, and deliver
the bank's signed callback (`server.payments`) to the hub. The transfer note
is mangled the way banks do (upper case, their own prefix and suffix,
punctuation dropped), so the hub's reference matching is exercised too.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import requests

from kiosk.domain import VIETNAM_TZ
from kiosk.qr import VietQr, parse_qr
from server.payments import CALLBACK_PATH, sign_callback


class PaymentRefused(Exception):
    """The simulated banking app would not pay this code (bad CRC, not a VietQR)."""


@dataclass(frozen=True)
class BankDelivery:
    transaction_id: str
    status_code: int
    answer: dict


class SimulatedBank:
    def __init__(
        self,
        hub_url: str,
        secret: str,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 5.0,
    ) -> None:
        self._url = hub_url.rstrip("/") + CALLBACK_PATH
        self._secret = secret
        self._clock = clock
        self._timeout = timeout
        self._serial = itertools.count(1)

    def pay(self, qr_text: str, *, amount: int | None = None) -> BankDelivery:
        """Pay the code as a banking app would: its amount unless `amount` overrides it."""
        code = parse_qr(qr_text)
        if not isinstance(code, VietQr):
            raise PaymentRefused("not a VietQR payment code")
        if not code.crc_ok:
            # Banking apps refuse a code whose CRC does not match.
            raise PaymentRefused("VietQR CRC mismatch")
        paid = amount if amount is not None else code.amount
        if not paid:
            raise PaymentRefused("a static code needs an amount typed in")
        transaction_id = f"FT{int(self._clock())}{next(self._serial):04d}"
        note = f"MBVCB.{transaction_id}.{(code.purpose or '').upper()}.CT tu 0123456789 NGUYEN VAN A toi {code.account}"
        return self.deliver(transaction_id, code.account, paid, note)

    def deliver(self, transaction_id: str, account: str, amount: int, note: str, *, secret: str | None = None) -> BankDelivery:
        """Send one signed callback (again, for a retry) and return the hub's answer."""
        body = json.dumps(
            {
                "transaction_id": transaction_id,
                "account": account,
                "amount": amount,
                "content": note,
                "transferred_at": datetime.fromtimestamp(self._clock(), VIETNAM_TZ).isoformat(),
            },
            separators=(",", ":"),
        ).encode("utf-8")
        timestamp = str(int(self._clock()))
        signature = sign_callback(self._secret if secret is None else secret, timestamp, body)
        response = requests.post(
            self._url,
            data=body,
            headers={"Content-Type": "application/json", "X-Bank-Timestamp": timestamp, "X-Bank-Signature": signature},
            timeout=self._timeout,
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return BankDelivery(transaction_id, response.status_code, answer)
