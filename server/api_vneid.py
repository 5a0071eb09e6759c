"""The VNeID verification endpoint kiosks call (HMAC-signed, `server.security`).

A kiosk that sees a VNeID app code sends the whole code here and gets back
the citizen the configured verification service (`server.vneid`) says it
belongs to. The code is a live credential for about a minute and the answer
is personal data: neither is logged.

Answers: 200 with the citizen; 410 `vneid_expired` (show a fresh code); 422
`vneid_invalid` (not a code the service knows); 501 `vneid_not_configured`
and 503 `vneid_unavailable` (ask for the card instead).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kiosk.errors import ConfigError
from kiosk.records import citizen_to_dict
from server.api_kiosk import CitizenIn
from server.context import signed_kiosk
from server.errors import ApiError
from server.vneid import (
    DisabledVneidVerifier,
    VneidServiceUnavailable,
    VneidTokenExpired,
    VneidTokenInvalid,
    VneidVerifier,
    verifier_from_settings,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1")


class VneidVerifyIn(BaseModel):
    # The longest code the kiosk's parser accepts ("VNEID:" + 1024), with room.
    token: str = Field(min_length=1, max_length=1100, description="The whole text of the VNeID app's QR code")


class VneidVerifyOut(BaseModel):
    citizen: CitizenIn
    verifier: str = Field(description="Which verification service answered ('simulated' in demos)")
    assurance: Literal["vneid"] = "vneid"


def install(app: FastAPI, name: str, clock: Callable[[], float]) -> None:
    """Give `app` the verifier the hub setting `vneid_verifier` names and the route."""
    try:
        app.state.vneid = verifier_from_settings(name, clock)
    except ValueError as exc:
        raise ConfigError("vneid_verifier", str(exc)) from None
    app.include_router(router)


def _verifier(request: Request) -> VneidVerifier:
    return getattr(request.app.state, "vneid", None) or DisabledVneidVerifier()


@router.post(
    "/vneid/verify",
    response_model=VneidVerifyOut,
    tags=["kiosk"],
    summary="Resolve a VNeID app code to a citizen through the verification service",
    responses={
        410: {"description": "The code is older than its validity (about a minute): show a new one"},
        422: {"description": "Not a code the verification service issued"},
        501: {"description": "No verification service is configured on this hub"},
        503: {"description": "The verification service could not be asked"},
    },
)
async def verify_vneid(body: VneidVerifyIn, request: Request, kiosk_id: str = Depends(signed_kiosk)) -> dict[str, Any]:
    verifier = _verifier(request)
    try:
        # A real service is a network call: keep it off the event loop.
        citizen = await run_in_threadpool(verifier.verify, body.token.strip())
    except VneidTokenExpired as exc:
        log.info("kiosk %s: VNeID code expired", kiosk_id)
        raise ApiError(410, "vneid_expired", exc.reason) from None
    except VneidTokenInvalid as exc:
        log.info("kiosk %s: VNeID code refused (%s)", kiosk_id, exc.reason)
        raise ApiError(422, "vneid_invalid", exc.reason) from None
    except VneidServiceUnavailable as exc:
        if isinstance(verifier, DisabledVneidVerifier):
            raise ApiError(501, "vneid_not_configured", exc.reason) from None
        log.warning("kiosk %s: VNeID service unavailable (%s)", kiosk_id, exc.reason)
        raise ApiError(503, "vneid_unavailable", exc.reason) from None
    log.info("kiosk %s: VNeID code verified by %s", kiosk_id, verifier.name)
    return {"citizen": citizen_to_dict(citizen), "verifier": verifier.name, "assurance": "vneid"}
