"""Client of the social-security (BHXH) insurance gateway, DOMAIN.md §2.

Two calls: `POST /api/token/take` (login, token cached until it expires) and
`POST /api/egw/KQNhanLichSuKCB2024` (the card check). The answer goes through
`kiosk.insurance.interpret`; whatever goes wrong on the way (network, time
budget, a broken answer) becomes an UNAVAILABLE check, never an error for the
kiosk: a patient is never stopped because the gateway is down.

Nothing personal is logged: no name, ID number or card code; only result
codes and timings.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import requests

from kiosk.domain import VIETNAM_TZ, Citizen, InsuranceCheck
from kiosk.insurance import interpret, normalise_code, unreachable

log = logging.getLogger(__name__)

TOKEN_PATH = "/api/token/take"
CHECK_PATH = "/api/egw/KQNhanLichSuKCB2024"

# Renew a token this long before the gateway says it expires, so a check
# never starts with a token that dies in flight.
_TOKEN_MARGIN_SECONDS = 60
# When the gateway gives no usable expiry, assume a short life rather than a
# long one: a needless login is cheaper than a failed check.
_DEFAULT_TOKEN_SECONDS = 600


class _LoginRefused(Exception):
    """The gateway refused our credentials (maKetQua 401)."""


class _Unreachable(Exception):
    """No usable answer within the time budget."""


@dataclass(frozen=True)
class _Token:
    access_token: str
    id_token: str
    expires_at: float  # unix seconds


def parse_expiry(value: Any, now: float) -> float:
    """`expires_in` as seconds from now, or as a date-time (seen both ways)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return now + float(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return now + float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return now + _DEFAULT_TOKEN_SECONDS
        if moment.tzinfo is None:
            # A gateway in Vietnam writing local time without an offset.
            moment = moment.replace(tzinfo=VIETNAM_TZ)
        return moment.timestamp()
    return now + _DEFAULT_TOKEN_SECONDS


class InsuranceGateway:
    """Asks the gateway about one patient at a time; thread-safe."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        officer_name: str,
        officer_id: str,
        password_md5: bool = True,
        timeout: float = 4.0,
        verify: bool | str = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._username = username
        # What goes on the wire: the MD5 hex of the password when the gateway
        # expects it hashed (DOMAIN.md: unconfirmed, so configurable).
        self._password = hashlib.md5(password.encode("utf-8")).hexdigest() if password_md5 else password
        self._officer_name = officer_name
        self._officer_id = officer_id
        self._timeout = timeout
        self._verify = verify
        self._clock = clock
        self._session = requests.Session()
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._session.close()

    # -- public ---------------------------------------------------------------

    def check(self, citizen: Citizen, card_code: str | None) -> InsuranceCheck:
        deadline = time.monotonic() + self._timeout
        started = time.monotonic()
        try:
            payload = self._check_with_login(citizen, card_code, deadline)
        except _LoginRefused:
            log.error("insurance gateway refused the hub's login: check gateway_username/password")
            return interpret({"maKetQua": "401"})
        except _Unreachable as exc:
            log.warning("insurance gateway unreachable: %s", exc)
            return unreachable()
        result = interpret(payload)
        log.info(
            "insurance check answered %s (%s) in %.0f ms",
            result.result_code,
            result.status.value,
            (time.monotonic() - started) * 1000,
        )
        return result

    # -- internals --------------------------------------------------------------

    def _check_with_login(self, citizen: Citizen, card_code: str | None, deadline: float) -> dict[str, Any]:
        token = self._current_token(deadline)
        status, payload = self._query(token, citizen, card_code, deadline)
        if status == 401 or normalise_code(payload.get("maKetQua")) == "401":
            # The gateway may end a session before the expiry it announced
            # (restart, login elsewhere): log in again once and retry.
            self._forget(token)
            token = self._current_token(deadline)
            status, payload = self._query(token, citizen, card_code, deadline)
        if status >= 500 and "maKetQua" not in payload:
            raise _Unreachable(f"gateway answered HTTP {status}")
        return payload

    def _remaining(self, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0.05:
            raise _Unreachable("time budget used up")
        return left

    def _post(self, path: str, body: dict[str, Any], deadline: float, params: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        try:
            response = self._session.post(
                self._base + path, json=body, params=params, timeout=self._remaining(deadline), verify=self._verify
            )
        except requests.RequestException as exc:
            raise _Unreachable(type(exc).__name__) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if response.status_code == 401:
                return 401, {}
            raise _Unreachable(f"HTTP {response.status_code} without a JSON object")
        return response.status_code, data

    def _current_token(self, deadline: float) -> _Token:
        with self._lock:
            token = self._token
            if token is not None and self._clock() < token.expires_at - _TOKEN_MARGIN_SECONDS:
                return token
            token = self._login(deadline)
            self._token = token
            return token

    def _forget(self, token: _Token) -> None:
        with self._lock:
            if self._token is token:
                self._token = None

    def _login(self, deadline: float) -> _Token:
        status, data = self._post(TOKEN_PATH, {"username": self._username, "password": self._password}, deadline)
        api_key = data.get("APIKey")
        if status == 401 or normalise_code(data.get("maKetQua")) == "401":
            raise _LoginRefused()
        if not isinstance(api_key, dict) or not api_key.get("access_token"):
            raise _Unreachable(f"login answered HTTP {status} without a token")
        now = self._clock()
        return _Token(
            access_token=str(api_key["access_token"]),
            id_token=str(api_key.get("id_token", "")),
            expires_at=parse_expiry(api_key.get("expires_in"), now),
        )

    def _query(self, token: _Token, citizen: Citizen, card_code: str | None, deadline: float) -> tuple[int, dict[str, Any]]:
        body = {
            # maThe accepts the 15-character BHYT code, the 10-digit BHXH
            # number or the 12-digit CCCD number; the card code wins when the
            # patient showed their insurance card.
            "maThe": (card_code or citizen.id_number).strip(),
            "hoTen": citizen.full_name,
            "ngaySinh": citizen.date_of_birth.strftime("%d/%m/%Y") if citizen.date_of_birth else "",
            "hoTenCb": self._officer_name,
            "cccdCb": self._officer_id,
        }
        # The gateway wants its credentials in the query string (DOMAIN.md §2).
        # urllib3 logs request lines at DEBUG; the CLI keeps it at WARNING so
        # they never reach a log file.
        params = {
            "token": token.access_token,
            "id_token": token.id_token,
            "username": self._username,
            "password": self._password,
        }
        return self._post(CHECK_PATH, body, deadline, params)


def token_expiry_iso(expires_at: float) -> str:
    """How the simulated gateway writes `expires_in` (an ISO date-time)."""
    return datetime.fromtimestamp(expires_at, timezone.utc).isoformat().replace("+00:00", "Z")

