"""VNeID verification: a VNeID app code in, a verified citizen out.

The VNeID app shows a QR code that is valid for about a minute. Its payload
is not public (DOMAIN.md §1), so neither the kiosk nor the hub reads personal
data out of it: the hub hands the whole token to a configured verification
service, which answers who the token belongs to or refuses it. The kiosk
trusts only the hub's answer.

`vneid_verifier` (hub setting) chooses the service:

- "off" (the default): no service; the endpoint answers 501 and the kiosk
  asks for the card instead;
- "simulated": `SimulatedVneidVerifier`, for the demo, tests and training.
  It issues and checks its own tokens, one per sample citizen in
  `assets/citizens`, each valid for `TOKEN_TTL_SECONDS`.

A real service plugs in as another `VneidVerifier`; its contract with the hub
is the three outcomes below (a citizen, `VneidTokenInvalid`/`VneidTokenExpired`,
or `VneidServiceUnavailable`).

Simulated tokens (never to be confused with real ones; they only name the
fictional sample citizens)::

    "VNEID:" + base64url(version 0x01 | slot (1 byte) | issued-at (4 bytes,
                         unix seconds, big-endian) | nonce (4 bytes) |
                         HMAC-SHA256(key, the 10 bytes before)[:16])

The key is a public constant: anyone can mint a token for a sample citizen,
which is why "simulated" is never the default. The MAC still makes a
mistyped or truncated token fail as "invalid" rather than name someone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import struct
import time
from collections.abc import Callable
from typing import Any, Protocol

from kiosk.domain import Citizen, Sex
from kiosk.records import citizen_from_dict
from server.simulated_gateway import load_sample_citizens

log = logging.getLogger(__name__)

TOKEN_PREFIX = "VNEID:"
# The VNeID app renews its code about every minute.
TOKEN_TTL_SECONDS = 60.0
# A phone's clock may run a little ahead of the hub's.
_FUTURE_TOLERANCE_SECONDS = 30.0

SIMULATED_KEY = b"vn-checkin-kiosk simulated VNeID verifier, not a secret"
_VERSION = 1
_BODY = struct.Struct(">BBI4s")  # version, slot, issued-at, nonce
_MAC_BYTES = 16


class VneidError(Exception):
    """Base class; `reason` is safe to log and to send to the kiosk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VneidTokenInvalid(VneidError):
    """Not a token the service issued, or it names nobody it knows."""


class VneidTokenExpired(VneidError):
    """A real token, but older than its validity: the patient must show a new one."""


class VneidServiceUnavailable(VneidError):
    """The service could not be asked (down, timed out, not configured)."""


class VneidVerifier(Protocol):
    name: str

    def verify(self, token: str) -> Citizen:
        """The citizen the token belongs to; raises a `VneidError`."""
        ...


class DisabledVneidVerifier:
    """What a hub without a verification service has."""

    name = "off"

    def verify(self, token: str) -> Citizen:
        raise VneidServiceUnavailable("this hub has no VNeID verification service configured")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded, altchars=b"-_", validate=True)


def simulated_token(slot: int, issued_at: float | None = None, *, key: bytes = SIMULATED_KEY) -> str:
    """A simulated VNeID app code for sample citizen `slot`, issued at
    `issued_at` (unix seconds; now when None). What the demo's phone shows."""
    if not 0 <= slot <= 255:
        raise ValueError("slot must fit in one byte")
    moment = int(time.time() if issued_at is None else issued_at)
    body = _BODY.pack(_VERSION, slot, moment, secrets.token_bytes(4))
    mac = hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return TOKEN_PREFIX + _b64encode(body + mac)


class SimulatedVneidVerifier:
    """Resolves simulated tokens to the sample citizens, by the hub's clock."""

    name = "simulated"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        ttl_seconds: float = TOKEN_TTL_SECONDS,
        key: bytes = SIMULATED_KEY,
    ) -> None:
        self._clock = clock
        self._ttl = ttl_seconds
        self._key = key
        self._people = {int(p["slot"]): p for p in load_sample_citizens()}

    def verify(self, token: str) -> Citizen:
        if not token.startswith(TOKEN_PREFIX):
            raise VneidTokenInvalid("not a VNeID code")
        try:
            raw = _b64decode(token[len(TOKEN_PREFIX) :])
        except (binascii.Error, ValueError):
            raise VneidTokenInvalid("the VNeID code is not base64url") from None
        if len(raw) != _BODY.size + _MAC_BYTES:
            raise VneidTokenInvalid("the VNeID code has the wrong length")
        body, mac = raw[: _BODY.size], raw[_BODY.size :]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]
        # Constant time: the MAC is the only thing between a guess and a name.
        if not hmac.compare_digest(mac, expected):
            raise VneidTokenInvalid("the VNeID code was not issued by this service")
        version, slot, issued_at, _nonce = _BODY.unpack(body)
        if version != _VERSION:
            raise VneidTokenInvalid("unknown VNeID code version")
        age = self._clock() - issued_at
        if age < -_FUTURE_TOLERANCE_SECONDS:
            raise VneidTokenInvalid("the VNeID code is dated in the future")
        if age > self._ttl:
            raise VneidTokenExpired(f"the VNeID code expired {age - self._ttl:.0f} s ago")
        person = self._people.get(slot)
        if person is None:
            raise VneidTokenInvalid("the VNeID code names nobody this service knows")
        return _citizen(person)


def _citizen(person: dict[str, Any]) -> Citizen:
    # The sample files write sex as printed on the card ("Nam"/"Nữ").
    data = dict(person)
    data["sex"] = Sex.from_vietnamese(str(person.get("sex", ""))).value
    return citizen_from_dict(data)


def verifier_from_settings(name: str, clock: Callable[[], float]) -> VneidVerifier:
    """The verifier a hub setting names; raises ValueError for an unknown one."""
    if name == "off":
        return DisabledVneidVerifier()
    if name == "simulated":
        return SimulatedVneidVerifier(clock=clock)
    raise ValueError(f"unknown VNeID verifier {name!r}; use 'off' or 'simulated'")


__all__ = [
    "TOKEN_TTL_SECONDS",
    "DisabledVneidVerifier",
    "SimulatedVneidVerifier",
    "VneidError",
    "VneidServiceUnavailable",
    "VneidTokenExpired",
    "VneidTokenInvalid",
    "VneidVerifier",
    "simulated_token",
    "verifier_from_settings",
]
