"""What every request handler needs, and the two ways a caller proves who it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from kiosk.domain import VIETNAM_TZ
from server.gateway import InsuranceGateway
from server.registrations import Registrar
from server.security import AuthFailure, KioskAuthenticator, SecretBox, admin_token_valid
from server.settings import HubSettings


@dataclass
class HubContext:
    settings: HubSettings
    engine: Engine
    sessions: sessionmaker[Session]
    box: SecretBox
    authenticator: KioskAuthenticator
    registrar: Registrar
    gateway: InsuranceGateway
    clock: Callable[[], float]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), VIETNAM_TZ)


def hub(request: Request) -> HubContext:
    return request.app.state.hub


async def signed_kiosk(
    request: Request,
    x_kiosk_id: str | None = Header(None, alias="X-Kiosk-Id", description="The kiosk's id from its credential"),
    x_timestamp: str | None = Header(None, alias="X-Timestamp", description="Unix time in seconds, within ±60 s of the hub"),
    x_nonce: str | None = Header(None, alias="X-Nonce", description="16-64 random characters, never reused"),
    x_signature: str | None = Header(
        None,
        alias="X-Signature",
        description="hex HMAC-SHA256 with the kiosk secret over METHOD\\nPATH?QUERY\\nhex(SHA-256(body))\\nTIMESTAMP\\nNONCE",
    ),
) -> str:
    """The authenticated kiosk id of a signed request (401/429 otherwise)."""
    ctx = hub(request)
    # The body is read here to hash it; Starlette caches it, so the handler
    # still gets it for its own parsing.
    body = await request.body()
    raw_path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = raw_path.decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    path_and_query = f"{path}?{query}" if query else path

    def check() -> str:
        with ctx.sessions() as session, session.begin():
            return ctx.authenticator.authenticate(
                session,
                kiosk_id=x_kiosk_id,
                timestamp=x_timestamp,
                nonce=x_nonce,
                signature=x_signature,
                method=request.method,
                path_and_query=path_and_query,
                body=body,
                now=ctx.clock(),
            )

    # Database work off the event loop.
    return await run_in_threadpool(check)


_bearer = HTTPBearer(auto_error=False, description="An admin token from `kiosk-hub init` or `kiosk-hub admin-token`")


def admin(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthFailure(401, "admin token required (Authorization: Bearer ...)")
    ctx = hub(request)
    with ctx.sessions() as session:
        if not admin_token_valid(session, credentials.credentials):
            raise AuthFailure(401, "admin token not valid")
