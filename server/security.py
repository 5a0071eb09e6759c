"""Who may call the hub: kiosk request signatures, admin tokens, rate limits.

Kiosk requests are signed with HMAC-SHA256 over (DOMAIN.md §4: integration
APIs sign requests and accept a timestamp within a minute):

    METHOD \\n PATH?QUERY \\n hex(SHA-256(body)) \\n TIMESTAMP \\n NONCE

sent in X-Kiosk-Id, X-Timestamp (unix seconds), X-Nonce and X-Signature
(lower-case hex). The hub rejects a timestamp outside ±clock_skew_seconds and
any nonce it has already seen from that kiosk within the window, so a captured
request cannot be sent again. The path is the one on the wire (raw, with its
query string): a reverse proxy in front of the hub must not rewrite it.

Both ends compute the signature with `kiosk.request_signing`; the kiosk's
side is `drivers.hub.http_client`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from datetime import datetime, timezone

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kiosk.request_signing import sign_request
from server.db import upsert
from server.models import AdminToken, Kiosk, RateWindow, RequestNonce

SIGNATURE_HEADERS = ("X-Kiosk-Id", "X-Timestamp", "X-Nonce", "X-Signature")
_NONCE_PATTERN = re.compile(r"[A-Za-z0-9_\-]{16,64}")
_KIOSK_ID_PATTERN = re.compile(r"[A-Za-z0-9_\-]{1,40}")
RATE_WINDOW_SECONDS = 60


class SecretBox:
    """Encrypts kiosk HMAC secrets at rest with the hub's server-side key.

    The hub must know each kiosk's secret to check its signatures, so the
    secret cannot be hashed like a password. AES-256-GCM with a key derived
    (HKDF) from the settings key; the kiosk id is bound in as associated data
    so a ciphertext copied onto another kiosk's row does not decrypt.
    """

    _INFO = b"kiosk-hub/kiosk-secret/v1"

    def __init__(self, server_key: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=self._INFO).derive(server_key)
        self._aead = AESGCM(derived)

    def seal(self, kiosk_id: str, secret: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode("utf-8"), kiosk_id.encode("utf-8"))
        return "v1:" + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, kiosk_id: str, sealed: str) -> str:
        if not sealed.startswith("v1:"):
            raise ValueError("unknown secret format")
        raw = base64.b64decode(sealed[3:])
        return self._aead.decrypt(raw[:12], raw[12:], kiosk_id.encode("utf-8")).decode("utf-8")


def new_kiosk_secret() -> str:
    return secrets.token_urlsafe(32)


def new_kiosk_id() -> str:
    return "kiosk-" + secrets.token_hex(4)


def new_admin_token() -> str:
    return "kha_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_admin_token(session: Session, label: str, now: datetime) -> str:
    """Create an admin token; the caller shows it once, the hub keeps its hash."""
    token = new_admin_token()
    session.add(AdminToken(label=label, token_sha256=token_digest(token), created_at=now))
    return token


def admin_token_valid(session: Session, token: str) -> bool:
    row = session.scalar(select(AdminToken).where(AdminToken.token_sha256 == token_digest(token)))
    return row is not None and row.revoked_at is None


def issue_kiosk(session: Session, box: SecretBox, name: str, now: datetime) -> tuple[str, str]:
    """Create a kiosk credential; returns (kiosk_id, secret), shown once."""
    kiosk_id = new_kiosk_id()
    while session.get(Kiosk, kiosk_id) is not None:  # 32 random bits: astronomically rare
        kiosk_id = new_kiosk_id()
    secret = new_kiosk_secret()
    session.add(Kiosk(kiosk_id=kiosk_id, name=name, secret_encrypted=box.seal(kiosk_id, secret), active=True, created_at=now))
    return kiosk_id, secret


class AuthFailure(Exception):
    """A request the hub refuses; `reason` is safe to show the technician."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class KioskAuthenticator:
    """Checks one signed kiosk request, records its nonce and counts it."""

    # Pruning old nonces and rate windows is cheap but need not run per request.
    _PRUNE_EVERY_SECONDS = 30

    def __init__(self, box: SecretBox, clock_skew_seconds: int, rate_limit_per_minute: int) -> None:
        self._box = box
        self._skew = clock_skew_seconds
        self._limit = rate_limit_per_minute
        self._last_prune = 0.0
        self._prune_lock = threading.Lock()

    def authenticate(
        self,
        session: Session,
        *,
        kiosk_id: str | None,
        timestamp: str | None,
        nonce: str | None,
        signature: str | None,
        method: str,
        path_and_query: str,
        body: bytes,
        now: float,
    ) -> str:
        """Return the kiosk id, or raise AuthFailure. Runs inside the caller's transaction."""
        if not (kiosk_id and timestamp and nonce and signature):
            raise AuthFailure(401, "missing signature headers (X-Kiosk-Id, X-Timestamp, X-Nonce, X-Signature)")
        if not _KIOSK_ID_PATTERN.fullmatch(kiosk_id):
            raise AuthFailure(401, "malformed X-Kiosk-Id")
        if not _NONCE_PATTERN.fullmatch(nonce):
            raise AuthFailure(401, "malformed X-Nonce (16-64 characters of A-Z a-z 0-9 _ -)")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise AuthFailure(401, "malformed X-Timestamp (unix seconds expected)") from None
        if abs(now - sent_at) > self._skew:
            raise AuthFailure(
                401, f"timestamp outside the allowed ±{self._skew} s window: check the kiosk clock (NTP)"
            )

        kiosk = session.get(Kiosk, kiosk_id)
        if kiosk is None or not kiosk.active:
            raise AuthFailure(401, "unknown or disabled kiosk")
        try:
            secret = self._box.open(kiosk_id, kiosk.secret_encrypted)
        except Exception:
            # Wrong server key (settings changed) or a tampered row: the kiosk
            # cannot be authenticated until an admin re-issues its credential.
            raise AuthFailure(401, "kiosk credential unusable on this hub; re-issue it") from None
        expected = sign_request(secret, method, path_and_query, body, timestamp, nonce)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise AuthFailure(401, "signature does not match")

        # ON CONFLICT DO NOTHING ... RETURNING gives a row only when the nonce
        # is new; no exception, so the transaction stays usable on PostgreSQL.
        inserted = session.execute(
            upsert(session, RequestNonce)
            .values(kiosk_id=kiosk_id, nonce=nonce, seen_at=int(now))
            .on_conflict_do_nothing(index_elements=["kiosk_id", "nonce"])
            .returning(RequestNonce.nonce)
        ).first()
        if inserted is None:
            raise AuthFailure(401, "nonce already used: replayed request")

        window = int(now) - int(now) % RATE_WINDOW_SECONDS
        stmt = upsert(session, RateWindow).values(kiosk_id=kiosk_id, window_start=window, count=1)
        count = session.execute(
            stmt.on_conflict_do_update(
                index_elements=["kiosk_id", "window_start"], set_={"count": RateWindow.count + 1}
            ).returning(RateWindow.count)
        ).scalar_one()

        self._maybe_prune(session, now)
        if count > self._limit:
            retry_after = max(1, window + RATE_WINDOW_SECONDS - int(now))
            raise AuthFailure(429, f"rate limit of {self._limit} requests per minute exceeded", retry_after)
        return kiosk_id

    def _maybe_prune(self, session: Session, now: float) -> None:
        with self._prune_lock:
            if now - self._last_prune < self._PRUNE_EVERY_SECONDS:
                return
            self._last_prune = now
        # A nonce older than the skew window can never be accepted again (its
        # timestamp would be refused first), so it need not be remembered.
        session.execute(delete(RequestNonce).where(RequestNonce.seen_at < int(now) - 2 * self._skew))
        session.execute(delete(RateWindow).where(RateWindow.window_start < int(now) - 10 * RATE_WINDOW_SECONDS))


def utcnow(clock_value: float) -> datetime:
    return datetime.fromtimestamp(clock_value, timezone.utc)
