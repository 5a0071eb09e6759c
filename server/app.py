"""The hub's web application: `create_app(settings)`.

The API is described in OpenAPI at /openapi.json (browsable at /docs). Kiosk
endpoints are HMAC-signed (`server.security`), admin endpoints take a bearer
token, /api/v1/health is open.

TLS is not handled here: terminate it at a reverse proxy (nginx, Caddy) in
front of the hub and have kiosks verify the certificate (they do by default,
`HttpHubClient(verify=True)`). The signature covers the raw path, so the
proxy must pass it through unchanged.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk import __version__
from kiosk.errors import ConfigError
from server import admin_page, api_admin, api_kiosk, api_vneid, bundles, leases
from server import payments as api_payments
from server.context import HubContext
from server.db import create_hub_engine, session_factory
from server.errors import ApiError
from server.gateway import InsuranceGateway
from server.registrations import Registrar
from server.security import AuthFailure, KioskAuthenticator, SecretBox
from server.settings import HubSettings, load_settings
from server.simulated_gateway import create_simulated_gateway

log = logging.getLogger(__name__)

SIMULATED_GATEWAY_PREFIX = "/simulated-gateway"

_DESCRIPTION = """
The hospital hub that self check-in kiosks talk to: it hands out queue
numbers, checks health insurance with the social-security gateway and keeps
the check-in records (Decision 4750).

**Kiosk requests** carry four headers: `X-Kiosk-Id`, `X-Timestamp` (unix
seconds, within ±60 s of the hub), `X-Nonce` (random, never reused) and
`X-Signature` = hex HMAC-SHA256 with the kiosk secret over
`METHOD\\nPATH?QUERY\\nhex(SHA-256(body))\\nTIMESTAMP\\nNONCE`.
A bad signature, a stale timestamp or a reused nonce answers 401; too many
requests answer 429 with Retry-After.

**Admin requests** carry `Authorization: Bearer <admin token>`.

Errors have one shape: `{"error": code, "reason": text}`.
"""


def _error(status: int, code: str, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "reason": reason}, status_code=status, headers=headers)


def create_app(
    settings: HubSettings,
    *,
    clock: Callable[[], float] = time.time,
    gateway: InsuranceGateway | None = None,
    loopback_url: str | None = None,
) -> FastAPI:
    """Build the hub.

    `loopback_url` is how the hub reaches itself (http://127.0.0.1:PORT); it
    is needed only with `gateway_url = "simulated"`, where the simulated
    gateway is mounted in this app and called over HTTP like the real one.
    The database must already be migrated (`kiosk-hub init`, or
    `server.migrate.upgrade`).
    """
    engine = create_hub_engine(settings.resolved_database_url(), writer_queue=settings.sqlite_writer_queue)
    sessions = session_factory(engine)
    box = SecretBox(settings.load_secret_key())
    simulated = None
    if gateway is None:
        password = settings.load_gateway_password()
        if settings.gateway_url == "simulated":
            if not loopback_url:
                raise ConfigError("gateway_url", "the simulated gateway needs the hub's loopback URL")
            password = password or "simulated"
            simulated = create_simulated_gateway(
                username=settings.gateway_username,
                password=password,
                officer_name=settings.gateway_officer_name,
                officer_id=settings.gateway_officer_id,
                registered_facility=settings.hospital_code,
                clock=clock,
            )
            base = loopback_url.rstrip("/") + SIMULATED_GATEWAY_PREFIX
        else:
            base = settings.gateway_url
        gateway = InsuranceGateway(
            base,
            settings.gateway_username,
            password,
            officer_name=settings.gateway_officer_name,
            officer_id=settings.gateway_officer_id,
            password_md5=settings.gateway_password_md5,
            timeout=settings.gateway_timeout_seconds,
            verify=settings.gateway_verify_tls,
            clock=clock,
        )

    context = HubContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        box=box,
        authenticator=KioskAuthenticator(box, settings.clock_skew_seconds, settings.rate_limit_per_minute),
        registrar=Registrar(sessions, settings.hospital_code, clock),
        gateway=gateway,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        context.gateway.close()
        engine.dispose()

    app = FastAPI(
        title="Kiosk hub",
        description=_DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "kiosk", "description": "Called by kiosks; HMAC-signed except /health"},
            {"name": "admin", "description": "Staff and technicians; admin bearer token"},
        ],
    )
    app.state.hub = context

    @app.exception_handler(AuthFailure)
    async def _auth_failure(_request: Request, exc: AuthFailure) -> JSONResponse:
        if exc.status == 429:
            return _error(429, "rate_limited", exc.reason, {"Retry-After": str(exc.retry_after or 1)})
        return _error(exc.status, "unauthorized", exc.reason, {"WWW-Authenticate": "HMAC-SHA256"})

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.reason)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default answer echoes the offending input, which here can
        # be a name or an ID number; say where and what, never the value.
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return _error(422, "invalid_request", "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Logged by type only: a traceback's locals could hold personal data.
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        return _error(500, "internal_error", "the hub hit an unexpected error; try again")

    app.include_router(api_kiosk.router)
    app.include_router(leases.router)  # offline number blocks (issue 6)
    app.include_router(bundles.router)  # field-staff bundles (issue 6)
    app.include_router(api_admin.router)
    app.include_router(admin_page.router)
    app.include_router(api_payments.router)  # VietQR fees: the bank's callback, the kiosk's status query
    api_vneid.install(app, settings.vneid_verifier, clock)
    if simulated is not None:
        app.mount(SIMULATED_GATEWAY_PREFIX, simulated)
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and for `kiosk-hub serve --workers N`.

    Each worker process builds its own app from KIOSK_HUB_* variables (the
    CLI sets them before starting the workers).
    """
    settings = load_settings()
    return create_app(settings, loopback_url=os.environ.get("KIOSK_HUB_LOOPBACK_URL"))


__all__ = ["create_app", "app_from_environment", "SIMULATED_GATEWAY_PREFIX"]
