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

Clock skew. The hub accepts a signed request only when its timestamp is
within ±60 s of the hub's clock (`server.security`). A kiosk whose clock has
drifted further (no NTP on the hospital LAN, a dead RTC battery) would
otherwise be locked out until a technician came, its outbox growing. So the
client learns the hub's time from the `Date` header of every answer (RFC 9110
§6.6.1; whole seconds) and signs with its own clock plus the measured offset;
a 401 that taught it a new offset is retried once at once. The hub still
decides with its own clock and nonces, so replay protection is unchanged; a
forged Date header can only make the kiosk's requests fail, which whoever can
forge it could do anyway (and TLS authenticates it in production). Offsets
within `_SKEW_TOLERANCE` are ignored. The registration's created_at stays the
kiosk's own time: it is what the patient's ticket shows, and offline there
is nothing better; the hub records its own received_at beside it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import requests

from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    Identity,
    IdentitySource,
    Department,
    HubReceipt,
    InsuranceCheck,
    ReferenceData,
    Registration,
    Service,
    Verification,
)
from kiosk.errors import HubRejected, HubUnavailable, VneidExpired, VneidRejected
from kiosk.payment import PaymentStatus
from kiosk.request_signing import sign_request
from kiosk.records import (
    citizen_from_dict,
    citizen_to_dict,
    insurance_from_dict,
    receipt_from_dict,
    registration_to_dict,
)

from kiosk.domain import VisitPaper, VisitType

log = logging.getLogger(__name__)

# The Date header has one-second resolution and the round trip adds a little:
# a smaller measured offset is noise, and the local clock is kept as it is.
_SKEW_TOLERANCE = 2.0


def hub_clock_bounds(date_header: str | None, sent_at: float, received_at: float) -> tuple[float, float] | None:
    """The range hub time minus kiosk time must lie in, from an answer's Date header.

    The hub stamped Date somewhere between our sending and our receiving,
    and the header truncates to the second (RFC 9110 §5.6.7), so the hub's
    clock read [Date, Date + 1) at some local instant in [sent_at,
    received_at]. None without a usable header.
    """
    if not date_header:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    stamp = moment.timestamp()
    return stamp - received_at, stamp + 1.0 - sent_at


def hub_clock_offset(date_header: str | None, sent_at: float, received_at: float) -> float | None:
    """The middle of `hub_clock_bounds`: the best single estimate of the offset."""
    bounds = hub_clock_bounds(date_header, sent_at, received_at)
    return None if bounds is None else (bounds[0] + bounds[1]) / 2


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
        self._offset = 0.0  # hub clock minus ours, seconds (see the module docstring)
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

    def find_visit_paper(
        self, citizen: Citizen, card_code: str | None, reference: str | None = None
    ) -> VisitPaper | None:
        body: dict[str, Any] = {}
        if citizen.id_number:
            body["id_number"] = citizen.id_number
        if card_code:
            body["card_code"] = card_code
        if not body:
            return None  # nobody to look up: the hub would refuse the request
        if reference:
            body["reference"] = reference
        data = self._call("POST", "/api/v1/papers/lookup", body)
        paper = data.get("paper")
        if paper is None:
            return None
        try:
            appointment = paper.get("appointment_date")
            return VisitPaper(
                reference=str(paper["reference"]),
                visit_type=VisitType(paper["visit_type"]),
                paper_number=str(paper["paper_number"]),
                department_code=paper.get("department_code"),
                service_code=paper.get("service_code"),
                appointment_date=datetime.fromisoformat(appointment).date() if appointment else None,
                from_facility=paper.get("from_facility"),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise HubUnavailable(f"hub sent a malformed paper ({type(exc).__name__})") from None

    def payment_status(self, registration_key: str) -> PaymentStatus:
        """What the hub has received by bank transfer for a registration (VietQR fees)."""
        data = self._call("GET", f"/api/v1/registrations/{registration_key}/payment")
        try:
            paid_at = data.get("paid_at")
            due = data.get("amount_due")
            return PaymentStatus(
                reference=str(data["reference"]),
                paid_amount=int(data["paid_amount"]),
                amount_due=None if due is None else int(due),
                paid_at=datetime.fromisoformat(paid_at) if paid_at else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HubUnavailable(f"hub sent a malformed payment status ({type(exc).__name__})") from None

    def ping(self) -> bool:
        """True when the hub answers its health check; never raises.

        The answer's Date header also corrects the signing clock, so the
        first signed request after start-up is already on the hub's time.
        """
        sent_at = self._clock()
        try:
            response = self._session().get(self._base + "/api/v1/health", timeout=self._timeout, verify=self._verify)
        except requests.RequestException:
            return False
        self._learn_offset(response, sent_at)
        return response.status_code == 200

    @property
    def clock_offset(self) -> float:
        """Seconds the hub's clock is ahead of this kiosk's (negative: behind); 0 within tolerance."""
        return self._offset

    def _learn_offset(self, response: requests.Response, sent_at: float) -> bool:
        """Adopt the offset the answer shows; True when the signing clock changed.

        Only evidence counts: while the offset in use lies within the bounds
        this exchange allows (widened by the tolerance), it is kept, so a
        slow answer (wide bounds) never moves the clock, and a skew of
        minutes (narrow bounds far from the offset in use) does at once.
        """
        bounds = hub_clock_bounds(response.headers.get("Date"), sent_at, self._clock())
        if bounds is None:
            return False
        low, high = bounds
        old = self._offset
        if low - _SKEW_TOLERANCE <= old <= high + _SKEW_TOLERANCE:
            return False
        measured = (low + high) / 2
        new = measured if abs(measured) > _SKEW_TOLERANCE else 0.0
        # A float store is atomic under the GIL; threads racing here measured
        # the same hub, so either value is right.
        self._offset = new
        if new:
            log.warning("kiosk clock differs from the hub's by %+.0f s; signing with the hub's time (check NTP)", new)
        else:
            log.info("kiosk clock agrees with the hub's again")
        return True

    def verify_vneid(self, token: str) -> Identity:
        """POST /api/v1/vneid/verify: the hub asks its verification service.

        410 means the code outlived its minute; any other refusal of the code
        is final for that code. The token is never logged (a live credential).
        """
        try:
            data = self._call("POST", "/api/v1/vneid/verify", {"token": token})
        except HubRejected as exc:
            if exc.status == 410:
                raise VneidExpired(exc.reason, exc.status) from None
            raise VneidRejected(exc.reason, exc.status) from None
        try:
            citizen = citizen_from_dict(data["citizen"])
            verifier = str(data.get("verifier", "unknown"))
        except (KeyError, TypeError, ValueError) as exc:
            raise HubUnavailable(f"hub sent a malformed VNeID answer ({type(exc).__name__})") from None
        return vneid_identity(citizen, verifier)

    # -- beyond the port ---------------------------------------------------------

    def heartbeat(self, version: str, devices: dict[str, Any], outbox_depth: int) -> dict[str, Any]:
        """Tell the hub this kiosk is alive; answers the hub's view (server_time...)."""
        return self._call(
            "POST", "/api/v1/kiosks/heartbeat", {"version": version, "devices": devices, "outbox_depth": outbox_depth}
        )

    def lease_numbers(self, department_code: str, day: date, size: int, lease_key: str) -> dict[str, Any]:
        """Lease a block of queue numbers for offline use (POST /api/v1/leases).

        Answers {"queue_prefix", "day", "first", "last", ...}; `lease_key`
        makes a repeated request answer the same block.
        """
        data = self._call(
            "POST",
            "/api/v1/leases",
            {"lease_key": lease_key, "department_code": department_code, "day": day.isoformat(), "size": size},
        )
        try:
            first, last, prefix = int(data["first"]), int(data["last"]), str(data["queue_prefix"])
        except (KeyError, TypeError, ValueError) as exc:
            raise HubUnavailable(f"hub sent a malformed lease ({type(exc).__name__})") from None
        if not prefix or not 1 <= first <= last:
            raise HubUnavailable("hub sent an impossible lease")
        return {**data, "first": first, "last": last, "queue_prefix": prefix}

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
        options = session.merge_environment_settings(prepared.url, {}, None, self._verify, None)
        for _attempt in range(2):
            sent_at = self._clock()
            timestamp = str(int(sent_at + self._offset))
            nonce = secrets.token_urlsafe(18)
            prepared.headers["X-Kiosk-Id"] = self._kiosk_id
            prepared.headers["X-Timestamp"] = timestamp
            prepared.headers["X-Nonce"] = nonce
            prepared.headers["X-Signature"] = sign_request(self._secret, method, prepared.path_url, body, timestamp, nonce)
            try:
                response = session.send(prepared, timeout=self._timeout, **options)
            except requests.Timeout:
                raise HubUnavailable(f"hub did not answer {method} {path} within {self._timeout} s") from None
            except requests.RequestException as exc:
                raise HubUnavailable(f"hub unreachable ({type(exc).__name__})") from None
            corrected = self._learn_offset(response, sent_at)
            # The hub refuses a stale timestamp before it reads the request,
            # so sending again (new timestamp, new nonce) cannot do anything
            # twice; once only, so a wrong secret costs one extra request.
            if not (response.status_code == 401 and corrected):
                break
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


def vneid_identity(citizen: Citizen, verifier: str) -> Identity:
    """The identity a VNeID verification gives. The identification service
    vouched for the person, as a chip's signature would (under Decree
    59/2022/ND-CP a level-2 electronic identity stands in for the card)."""
    return Identity(
        citizen=citizen,
        source=IdentitySource.VNEID,
        verification=Verification.GENUINE,
        verification_notes=(f"verified by the hub's VNeID service ({verifier})",),
    )
