"""The kiosk's HTTP client of the hospital hub (`kiosk.ports.HubClient`).

Every request is signed with the kiosk's secret (HMAC-SHA256 over method,
path with query, SHA-256 of the body, timestamp and nonce: the scheme
`server.security` checks; the two sides cannot share code because drivers and
server do not import each other, so the end-to-end tests hold them together).

Failures are sorted into the two errors the application understands:

- `HubUnavailable` (try again later, the kiosk issues an offline number and
  the outbox retries): no connection, timeout, 5xx, 429 (with the hub's
  Retry-After), a garbled answer, and 401/403. An authentication refusal is
  a problem of the kiosk's clock or credential that a technician fixes; the
  registration itself is fine and must not be dropped, so it waits.
- `HubRejected` (do not retry): any other 4xx - the hub read the request and
  refused it for good (unknown department, key reused for another visit...).

TLS certificates are verified by default; `verify` may name the hospital's
CA bundle.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    Department,
    HubReceipt,
    InsuranceCheck,
    ReferenceData,
    Registration,
    Service,
)
from kiosk.errors import HubRejected, HubUnavailable
from kiosk.records import (
    citizen_to_dict,
    insurance_from_dict,
    receipt_from_dict,
    registration_to_dict,
)

log = logging.getLogger(__name__)


def sign_request(secret: str, method: str, path_and_query: str, body: bytes, timestamp: str, nonce: str) -> str:
    """hex HMAC-SHA256 over METHOD \\n PATH?QUERY \\n hex(SHA-256(body)) \\n TIMESTAMP \\n NONCE."""
    message = "\n".join(
        [method.upper(), path_and_query, hashlib.sha256(body).hexdigest(), timestamp, nonce]
    ).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class HttpHubClient:
    """Talks to the hub over HTTP(S). Safe to use from several threads."""

    def __init__(
        self,
        base_url: str,
        kiosk_id: str,
        secret: str,
        timeout: float = 5.0,
        verify: bool | str = True,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._kiosk_id = kiosk_id
        self._secret = secret
        self._timeout = timeout
        self._verify = verify
        self._clock = clock
        # requests.Session is not documented as thread-safe; the kiosk calls
        # the hub from its flow thread and its outbox thread at once, so each
        # thread gets its own session (and connection pool).
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpHubClient({self._base!r}, kiosk_id={self._kiosk_id!r})"

    # -- kiosk.ports.HubClient -------------------------------------------------

    def reference_data(self) -> ReferenceData:
        data = self._call("GET", "/api/v1/reference")
        try:
            departments = tuple(
                Department(
                    code=d["code"],
                    name_vi=d["name_vi"],
                    name_en=d["name_en"],
                    room=d["room"],
                    floor=d["floor"],
                    queue_prefix=d["queue_prefix"],
                )
                for d in data["departments"]
            )
            services = tuple(
                Service(
                    code=s["code"],
                    department_code=s["department_code"],
                    name_vi=s["name_vi"],
                    name_en=s["name_en"],
                    price=int(s["price"]),
                    insured_price=int(s["insured_price"]),
                )
                for s in data["services"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HubUnavailable(f"hub sent malformed reference data ({type(exc).__name__})") from None
        return ReferenceData(departments, services, fetched_at=datetime.fromtimestamp(self._clock(), VIETNAM_TZ))

    def check_insurance(self, citizen: Citizen, card_code: str | None) -> InsuranceCheck:
        data = self._call("POST", "/api/v1/insurance/check", {"citizen": citizen_to_dict(citizen), "card_code": card_code})
        try:
            return insurance_from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise HubUnavailable(f"hub sent a malformed insurance answer ({type(exc).__name__})") from None

    def register(self, registration: Registration, printed_number: str | None = None) -> HubReceipt:
        body = registration_to_dict(registration)
        if printed_number is not None:
            body["printed_number"] = printed_number
        data = self._call("POST", "/api/v1/registrations", body)
        try:
            return receipt_from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise HubUnavailable(f"hub sent a malformed receipt ({type(exc).__name__})") from None

    def ping(self) -> bool:
        """True when the hub answers its health check; never raises."""
        try:
            response = self._session().get(self._base + "/api/v1/health", timeout=self._timeout, verify=self._verify)
        except requests.RequestException:
            return False
        return response.status_code == 200

    # -- beyond the port ---------------------------------------------------------

    def heartbeat(self, version: str, devices: dict[str, Any], outbox_depth: int) -> dict[str, Any]:
        """Tell the hub this kiosk is alive; answers the hub's view (server_time...)."""
        return self._call(
            "POST", "/api/v1/kiosks/heartbeat", {"version": version, "devices": devices, "outbox_depth": outbox_depth}
        )

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # -- internals -------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        session = self._session()
        # Serialise once: the bytes hashed are exactly the bytes sent.
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        prepared = session.prepare_request(requests.Request(method, self._base + path, data=body or None, headers=headers))
        timestamp = str(int(self._clock()))
        nonce = secrets.token_urlsafe(18)
        prepared.headers["X-Kiosk-Id"] = self._kiosk_id
        prepared.headers["X-Timestamp"] = timestamp
        prepared.headers["X-Nonce"] = nonce
        prepared.headers["X-Signature"] = sign_request(self._secret, method, prepared.path_url, body, timestamp, nonce)
        options = session.merge_environment_settings(prepared.url, {}, None, self._verify, None)
        try:
            response = session.send(prepared, timeout=self._timeout, **options)
        except requests.Timeout:
            raise HubUnavailable(f"hub did not answer {method} {path} within {self._timeout} s") from None
        except requests.RequestException as exc:
            raise HubUnavailable(f"hub unreachable ({type(exc).__name__})") from None
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        reason = data.get("reason") if isinstance(data, dict) and isinstance(data.get("reason"), str) else None
        reason = reason or f"HTTP {status}"
        if 200 <= status < 300:
            if not isinstance(data, dict):
                raise HubUnavailable(f"hub answered {method} {path} with something other than a JSON object")
            return data
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            raise HubUnavailable(f"hub rate limit: {reason}", retry_after=retry_after)
        if status >= 500 or status == 408:
            raise HubUnavailable(f"hub error on {method} {path}: {reason}", retry_after=retry_after)
        if status in (401, 403):
            log.error("hub refused the kiosk's credentials on %s %s: %s", method, path, reason)
            raise HubUnavailable(f"hub refused the kiosk's credentials: {reason}")
        raise HubRejected(reason, status)
