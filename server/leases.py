"""Blocks of queue numbers leased to kiosks, for the hours the network is down.

While a kiosk can reach the hub it asks, per department and day, for a block
of numbers (`POST /api/v1/leases`). Blocks are cut from the day's *outage
band*: numbers from the first hundred above the department's daily capacity
(capacity 200: A-301, A-302, ...), counted on the department's
`QueueCounter` row in the transaction that records the lease. So:

* a leased number is never also given by the hub to someone else, and two
  kiosks never lease the same number;
* the hub's own series stays 1, 2, 3 ... with no gaps, however many kiosks
  hold blocks: leasing does not shift the numbers patients get online, and
  numbers a kiosk leased but never printed are not holes staff wait on;
* leased numbers do not count against the daily capacity: capacity counts
  patients (registrations), and a block is a promise of numbers, not of
  patients;
* when the network fails, the kiosk prints numbers from its block in the
  hub's own format ("A-301"): the patient's ticket looks like every other
  and stays in the department's queue, instead of a "K01-A007" side series.
  Staff read a band number as "issued during an outage" and call it by the
  time on the ticket. Only when the block is used up does the kiosk fall back
  to its own series (`offline_cache.store.OutboxStore.assign_offline_number`).

Should staff raise a capacity past the band during the day, the hub's own
series steps over every leased block it meets (`server.registrations`).

On sync the hub keeps the printed number (`server.registrations`) and flags
any collision to staff (/api/v1/admin/attention); it never renumbers a
patient who holds a ticket.

Idempotent by the kiosk's `lease_key`: a request repeated after a lost answer
gets the same block, so a flapping network does not cut a second one.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.context import HubContext, hub, signed_kiosk
from server.db import upsert
from server.errors import ApiError
from server.models import Department, NumberLease, QueueCounter
from server.models import Registration as RegistrationRow
from server.registrations import display_number

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1")

MAX_BLOCK = 50  # numbers per lease; a kiosk asks again when it runs low
_ATTEMPTS = 3  # a lost race on lease_key is retried once it can be replayed


class LeaseIn(BaseModel):
    lease_key: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{8,64}$", description="The kiosk's idempotency key for this request")
    department_code: str = Field(min_length=1, max_length=20)
    day: date = Field(description="The service day (Vietnam calendar day) the numbers are for")
    size: int = Field(ge=1, le=MAX_BLOCK, description="How many numbers the kiosk would like")


class LeaseOut(BaseModel):
    lease_key: str
    department_code: str
    queue_prefix: str = Field(description="The department's prefix: numbers print as PREFIX-NNN")
    day: date
    first: int
    last: int = Field(description="Inclusive")
    first_display: str
    last_display: str


def _answer(lease: NumberLease, prefix: str) -> dict[str, Any]:
    return {
        "lease_key": lease.lease_key,
        "department_code": lease.department_code,
        "queue_prefix": prefix,
        "day": lease.service_day.isoformat(),
        "first": lease.first_number,
        "last": lease.last_number,
        "first_display": display_number(prefix, lease.first_number),
        "last_display": display_number(prefix, lease.last_number),
    }


def outage_band_start(daily_capacity: int) -> int:
    """The first number of the day's outage band: the first hundred above the
    capacity (capacity 200 -> 301, 80 -> 101), so band numbers read as
    apart from the hub's own series, which stops at the capacity."""
    return (daily_capacity // 100 + 1) * 100 + 1


def lease_block(ctx: HubContext, kiosk_id: str, body: LeaseIn) -> dict[str, Any]:
    """Take (or replay) a block; see the module docstring."""
    last_error: IntegrityError | None = None
    for _attempt in range(_ATTEMPTS):
        try:
            with ctx.sessions() as session, session.begin():
                return _lease_in(session, ctx, kiosk_id, body)
        except IntegrityError as exc:
            # Two deliveries of one lease_key raced; the loser's counter
            # increment rolled back with it. The retry finds the winner's row.
            last_error = exc
    assert last_error is not None
    raise last_error


def _lease_in(session: Session, ctx: HubContext, kiosk_id: str, body: LeaseIn) -> dict[str, Any]:
    department = session.get(Department, body.department_code)
    if department is None or not department.active:
        raise ApiError(422, "unknown_department", f"unknown department {body.department_code!r}")
    existing = session.scalar(select(NumberLease).where(NumberLease.lease_key == body.lease_key))
    if existing is not None:
        if (existing.kiosk_id, existing.department_code, existing.service_day) != (
            kiosk_id,
            body.department_code,
            body.day,
        ):
            raise ApiError(409, "key_reused", "this lease key was already used for another lease")
        return _answer(existing, department.queue_prefix)

    now = ctx.now()
    today = now.date()
    # Today, or tomorrow for a kiosk topping up before midnight. A block for
    # a day gone by could only make numbers nobody will call.
    if body.day not in (today, today + timedelta(days=1)):
        raise ApiError(422, "bad_day", f"numbers can be leased for {today} or the day after, not {body.day}")

    registered = session.scalar(
        select(func.count())
        .select_from(RegistrationRow)
        .where(RegistrationRow.department_code == department.code, RegistrationRow.service_day == body.day)
    ) or 0
    if registered >= department.daily_capacity:
        raise ApiError(409, "department_full", f"{department.code} has no numbers left for {body.day}")

    # Touch the counter row first: the upsert takes its row lock (PostgreSQL)
    # or the write lock (SQLite) until commit, so the hub's own numbering and
    # other leases wait while this block is cut.
    touch = upsert(session, QueueCounter).values(department_code=department.code, service_day=body.day, last_number=0)
    touch = touch.on_conflict_do_update(
        index_elements=["department_code", "service_day"],
        set_={"last_number": QueueCounter.last_number},
    ).returning(QueueCounter.last_number, QueueCounter.next_leased)
    hub_last, next_leased = session.execute(touch).one()
    first = max(next_leased or 0, outage_band_start(department.daily_capacity), hub_last + 1)
    last = first + body.size - 1
    session.execute(
        update(QueueCounter)
        .where(QueueCounter.department_code == department.code, QueueCounter.service_day == body.day)
        .values(next_leased=last + 1)
    )
    lease = NumberLease(
        lease_key=body.lease_key,
        kiosk_id=kiosk_id,
        department_code=department.code,
        service_day=body.day,
        first_number=first,
        last_number=last,
        leased_at=now,
    )
    session.add(lease)
    session.flush()  # the lease_key constraint fires inside the transaction
    log.info("kiosk %s leased %s %d-%d for %s", kiosk_id, department.code, first, last, body.day)
    return _answer(lease, department.queue_prefix)


@router.post(
    "/leases",
    response_model=LeaseOut,
    tags=["kiosk"],
    summary="Lease a block of queue numbers for offline use",
    description=(
        "Cuts `size` numbers from the department's outage band (from the first hundred above its daily "
        "capacity) for the calling kiosk. Idempotent by `lease_key`. The kiosk prints them only while it "
        "cannot reach the hub; the hub keeps a printed number at sync and flags collisions for staff."
    ),
    responses={
        409: {"description": "The department has seen its capacity of patients that day, or the lease key was reused"},
        422: {"description": "Unknown department, a day other than today or tomorrow, or a malformed request"},
    },
)
def lease(body: LeaseIn, request: Request, kiosk_id: str = Depends(signed_kiosk)) -> dict[str, Any]:
    return lease_block(hub(request), kiosk_id, body)
