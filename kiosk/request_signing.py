"""How a kiosk signs its requests to the hub, for both ends of the wire.

HMAC-SHA256 with the kiosk's secret over (DOMAIN.md §4: integration APIs
sign requests and accept a timestamp within a minute):

    METHOD \\n PATH?QUERY \\n hex(SHA-256(body)) \\n TIMESTAMP \\n NONCE

The kiosk's HTTP client (`drivers.hub.http_client`) signs with it and the
hub (`server.security`) checks with it: one definition, so the two cannot
drift apart. Standard library only, as everything in `kiosk/`.
"""

from __future__ import annotations

import hashlib
import hmac


def canonical_request(method: str, path_and_query: str, body: bytes, timestamp: str, nonce: str) -> bytes:
    """The bytes that are signed. The path is the one on the wire, raw, with its query."""
    return "\n".join(
        [method.upper(), path_and_query, hashlib.sha256(body).hexdigest(), timestamp, nonce]
    ).encode("utf-8")


def sign_request(secret: str, method: str, path_and_query: str, body: bytes, timestamp: str, nonce: str) -> str:
    """The lower-case hex HMAC-SHA256 of `canonical_request` under `secret`."""
    message = canonical_request(method, path_and_query, body, timestamp, nonce)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
