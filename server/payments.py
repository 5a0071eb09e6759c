"""Visit fees paid by VietQR: the bank's callback and the kiosk's status query.

The kiosk shows (and prints) a dynamic VietQR whose transfer purpose is the
registration's payment reference (`kiosk.payment.payment_reference`). When
the hospital's bank credits the account it calls the hub:

    POST /api/v1/payments/bank-callback
    X-Bank-Timestamp: <unix seconds>
    X-Bank-Signature: <hex HMAC-SHA256(secret, TIMESTAMP + "." + raw body)>
    {"transaction_id": "FT25073...", "account": "0011012345678", "amount": 150000,
     "content": "<transfer note as the bank has it>", "transferred_at": "2025-03-14T08:07:00+07:00"}

The HMAC convention (our profile of what Vietnamese banks' "biến động số
dư" webhooks do; DOMAIN.md §4: HMAC-SHA256 over the request with a timestamp
against replay):

- the signed message is the timestamp, a full stop, and the body bytes
  exactly as sent, so no JSON canonicalisation is needed on either side;
- the timestamp must be within ±300 s of the hub's clock (banks retry
  deliveries for minutes, but each retry is signed afresh);
- the shared secret lives in `<hub data_dir>/bank-callback.secret` (created,
  mode 0600, on first use; replace its content with the secret agreed with
  the bank);
- a callback is idempotent by `transaction_id`: banks repeat a callback
  until they get a 2xx, and a repeat must not count the money twice.

Answers: 200 `{"ok": true, "matched": bool, "duplicate": bool}` (a transfer
without a reference in its note is kept, unmatched, for the cashier); 401 for
a missing, stale or wrong signature; 422 for a malformed body.

Privacy: the transfer note usually carries the payer's name and account, so
only the reference found in it is stored, and nothing of it is logged.

The kiosk asks `GET /api/v1/registrations/{key}/payment` (signed like every
kiosk request) and gets the amount received under the reference.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from kiosk.payment import find_reference, payment_reference
from server.context import HubContext, hub, signed_kiosk
from server.db import upsert
from server.errors import ApiError
from server.models import BankTransfer, Registration
from server.security import AuthFailure
from server.settings import HubSettings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1")

CALLBACK_PATH = "/api/v1/payments/bank-callback"
CALLBACK_SKEW_SECONDS = 300
SECRET_FILE_NAME = "bank-callback.secret"
_MAX_BODY_BYTES = 16_384

_secret_lock = threading.Lock()


def callback_secret_file(settings: HubSettings) -> Path:
    return Path(settings.data_dir) / SECRET_FILE_NAME


def callback_secret(settings: HubSettings) -> str:
    """The secret shared with the bank; created (random, mode 0600) if absent."""
    path = callback_secret_file(settings)
    with _secret_lock:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        if text:
            return text
        path.parent.mkdir(parents=True, exist_ok=True)
        text = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        log.info("bank callback secret created in %s; give it to the bank", path)
        return text


def sign_callback(secret: str, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256(secret, TIMESTAMP "." BODY): what the bank sends as X-Bank-Signature."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


# -- wire models ---------------------------------------------------------------------------


class BankCallbackIn(BaseModel):
    transaction_id: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$", description="The bank's unique transaction id")
    account: str = Field(pattern=r"^[0-9A-Za-z]{1,19}$", description="The hospital account credited")
    amount: int = Field(gt=0, lt=10**13, description="VND credited")
    content: str = Field("", max_length=500, description="The transfer note as the bank has it")
    transferred_at: datetime = Field(description="When the bank booked it, ISO 8601 with a UTC offset")


class BankCallbackOut(BaseModel):
    ok: bool
    matched: bool = Field(description="A payment reference was found in the note")
    duplicate: bool = Field(description="This transaction id had already been reported")


class PaymentStatusOut(BaseModel):
    reference: str
    paid_amount: int = Field(description="VND received under the reference")
    amount_due: int | None = Field(description="VND the receipt asked for; null while the registration has not arrived")
    paid_at: datetime | None = Field(description="When the transfers first covered the amount due")


# -- endpoints ---------------------------------------------------------------------------


def _verify(ctx: HubContext, timestamp: str | None, signature: str | None, body: bytes) -> None:
    if not timestamp or not signature:
        raise AuthFailure(401, "missing X-Bank-Timestamp or X-Bank-Signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise AuthFailure(401, "malformed X-Bank-Timestamp (unix seconds expected)") from None
    if abs(ctx.clock() - sent_at) > CALLBACK_SKEW_SECONDS:
        raise AuthFailure(401, f"X-Bank-Timestamp outside ±{CALLBACK_SKEW_SECONDS} s")
    expected = sign_callback(callback_secret(ctx.settings), timestamp, body)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise AuthFailure(401, "bank signature does not match")


@router.post(
    "/payments/bank-callback",
    response_model=BankCallbackOut,
    tags=["payments"],
    summary="The bank reports a credited transfer (HMAC-signed by the bank)",
)
async def bank_callback(
    request: Request,
    x_bank_timestamp: str | None = Header(None, alias="X-Bank-Timestamp"),
    x_bank_signature: str | None = Header(
        None, alias="X-Bank-Signature", description='hex HMAC-SHA256(secret, TIMESTAMP + "." + body)'
    ),
) -> dict[str, Any]:
    ctx = hub(request)
    body = await request.body()
    if len(body) > _MAX_BODY_BYTES:
        raise ApiError(413, "too_large", "callback body too large")
    # Signature first, parsing after: nothing from an unauthenticated body
    # is looked at.
    await run_in_threadpool(_verify, ctx, x_bank_timestamp, x_bank_signature, body)
    try:
        callback = BankCallbackIn.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        where = ""
        if isinstance(exc, ValidationError):
            where = "; ".join(".".join(str(p) for p in e.get("loc", ())) + ": " + e.get("msg", "") for e in exc.errors())
        raise ApiError(422, "invalid_request", where or "body is not JSON") from None
    if callback.transferred_at.tzinfo is None:
        raise ApiError(422, "invalid_request", "transferred_at: needs a UTC offset")
    reference = find_reference(callback.content)

    def store() -> bool:
        with ctx.sessions() as session, session.begin():
            inserted = session.execute(
                upsert(session, BankTransfer)
                .values(
                    transaction_id=callback.transaction_id,
                    reference=reference,
                    amount=callback.amount,
                    account=callback.account,
                    transferred_at=callback.transferred_at,
                    received_at=ctx.now(),
                )
                .on_conflict_do_nothing(index_elements=["transaction_id"])
                .returning(BankTransfer.id)
            ).first()
            return inserted is not None

    created = await run_in_threadpool(store)
    if created:
        log.info("bank transfer recorded (%s)", "matched" if reference else "no reference in the note")
    return {"ok": True, "matched": reference is not None, "duplicate": not created}


@router.get(
    "/registrations/{key}/payment",
    response_model=PaymentStatusOut,
    tags=["kiosk"],
    summary="How much has been paid by bank transfer for a registration",
)
def payment_status(
    request: Request,
    key: str = PathParam(pattern=r"^[A-Za-z0-9_.:\-]{8,64}$", description="The registration's key"),
    kiosk_id: str = Depends(signed_kiosk),
) -> dict[str, Any]:
    ctx = hub(request)
    reference = payment_reference(key)
    with ctx.sessions() as session:
        transfers = session.execute(
            select(BankTransfer.amount, BankTransfer.transferred_at)
            .where(BankTransfer.reference == reference)
            .order_by(BankTransfer.transferred_at, BankTransfer.id)
        ).all()
        amount_due = session.scalar(select(Registration.amount_due).where(Registration.key == key))
    paid, paid_at = 0, None
    for amount, at in transfers:
        paid += amount
        if paid_at is None and amount_due is not None and paid >= amount_due > 0:
            paid_at = at
    return {"reference": reference, "paid_amount": paid, "amount_due": amount_due, "paid_at": paid_at}
