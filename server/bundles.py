"""Importing a field-staff bundle at the hub: `POST /api/v1/admin/bundles`.

The bundle format is `offline_cache.bundle`'s (format 1: magic line, JSON
header line, AES-256-GCM under a scrypt key, header as associated data). It
is decoded here again because the hub does not import the kiosk's packages;
the end-to-end test (`tests/test_field_bundle.py`) writes bundles with one
side and reads them with the other.

Each record goes through the `Registrar`, the same path as a kiosk's own
delivery, so the import is idempotent by registration key (importing twice
changes nothing), the printed number is kept and collisions are flagged.
The exporting kiosk must be one the hub knows: it is recorded as the
deliverer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from kiosk.records import registration_from_dict
from server.context import HubContext, admin, hub
from server.errors import ApiError
from server.models import Kiosk
from server.registrations import RegistrationRejected

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(admin)])

MAGIC = b"VNCHECKIN-BUNDLE 1\n"
_MAX_N, _MAX_R, _MAX_P = 2**20, 16, 4
_MAX_HEADER = 4096
_MAX_BUNDLE = 64 * 1024 * 1024  # bytes; a day of a field team is far below this


class BundleRejectedRecord(BaseModel):
    key: str
    reason: str


class BundleImportOut(BaseModel):
    kiosk_id: str
    records: int
    created: int
    known: int
    rejected: list[BundleRejectedRecord]


def _bad(reason: str) -> ApiError:
    return ApiError(422, "bad_bundle", reason)


def decode_bundle(data: bytes, passphrase: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, records) of a bundle; ApiError 422 with a reason otherwise."""
    if not data.startswith(MAGIC):
        raise _bad("not a check-in bundle (or a format this hub does not know)")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise _bad("the bundle's header is damaged")
    head = data[: end + 1]
    try:
        header = json.loads(data[len(MAGIC) : end])
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        salt = base64.b64decode(header["salt"], validate=True)
        nonce = base64.b64decode(header["nonce"], validate=True)
        str(header["kiosk_id"])
        if header["kdf"] != "scrypt":
            raise ValueError("kdf")
    except (ValueError, KeyError, TypeError):
        raise _bad("the bundle's header is damaged") from None
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P) or len(nonce) != 12:
        raise _bad("the bundle asks for key-derivation parameters outside the accepted range")
    key = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32)
    try:
        plaintext = AESGCM(key).decrypt(nonce, data[end + 1 :], head)
    except InvalidTag:
        raise _bad("wrong passphrase, or the bundle was changed or damaged") from None
    try:
        records = json.loads(plaintext.decode("utf-8"))["records"]
        if not isinstance(records, list) or len(records) != int(header["count"]):
            raise ValueError("count")
    except (ValueError, KeyError, TypeError):
        raise _bad("the bundle's records are in a format this hub cannot read") from None
    return header, records


@router.post(
    "/bundles",
    response_model=BundleImportOut,
    summary="Import a field-staff bundle (offline registrations carried by hand)",
    description=(
        "Body: the bundle file as application/octet-stream; `X-Bundle-Passphrase`: its passphrase, "
        "UTF-8 percent-encoded. "
        "Idempotent by registration key: importing the same bundle twice changes nothing."
    ),
)
async def import_bundle(
    request: Request,
    passphrase: str = Header(
        ...,
        alias="X-Bundle-Passphrase",
        description="The passphrase the bundle was exported with, UTF-8 percent-encoded (RFC 3986 §2.1)",
    ),
) -> dict[str, Any]:
    # Header values are ISO-8859-1 on the wire (RFC 9110 §5.5); a Vietnamese
    # passphrase travels percent-encoded.
    try:
        passphrase = unquote(passphrase, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ApiError(422, "bad_passphrase", "X-Bundle-Passphrase is not UTF-8 percent-encoded") from None
    data = await request.body()
    if len(data) > _MAX_BUNDLE:
        raise ApiError(413, "too_large", "the bundle is larger than a bundle can be")
    # scrypt and the database are blocking work: off the event loop.
    return await run_in_threadpool(_import, hub(request), data, passphrase)


def _import(ctx: HubContext, data: bytes, passphrase: str) -> dict[str, Any]:
    header, records = decode_bundle(data, passphrase)
    kiosk_id = str(header["kiosk_id"])
    with ctx.sessions() as session:
        known_kiosk = session.get(Kiosk, kiosk_id)
    if known_kiosk is None:
        raise ApiError(422, "unknown_kiosk", "the bundle comes from a kiosk this hub has not issued a credential to")
    created = known = 0
    rejected: list[dict[str, str]] = []
    for item in records:
        key = str(item.get("registration", {}).get("key", "?")) if isinstance(item, dict) else "?"
        try:
            registration = registration_from_dict(item["registration"])
            printed = item.get("printed_number")
            outcome = ctx.registrar.register(registration, printed if isinstance(printed, str) else None, kiosk_id)
        except RegistrationRejected as exc:
            rejected.append({"key": key, "reason": exc.reason})
            continue
        except (ValueError, KeyError, TypeError) as exc:
            rejected.append({"key": key, "reason": f"unreadable record ({type(exc).__name__})"})
            continue
        created += outcome.created
        known += not outcome.created
    log.info("bundle from %s: %d created, %d known, %d rejected", kiosk_id, created, known, len(rejected))
    return {"kiosk_id": kiosk_id, "records": len(records), "created": created, "known": known, "rejected": rejected}
