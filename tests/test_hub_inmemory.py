"""InMemoryHubClient: the simulated hub keeps the real hub's promises."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest

from drivers.hub.simulated import DEFAULT_REFERENCE, InMemoryHubClient, card_for_result
from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    Identity,
    IdentitySource,
    InsuranceStatus,
    Registration,
    Sex,
    Verification,
    VisitType,
)
from kiosk.errors import HubRejected, HubUnavailable
from kiosk.ports import HubClient

DAY = datetime(2026, 11, 23, 8, 0, tzinfo=VIETNAM_TZ)


def person(n: int) -> Citizen:
    return Citizen(f"0480{n:08d}", f"LÊ VĂN {n}", date(1999, 9, 9), Sex.MALE)


def reg(n: int, department: str = "NOI", at: datetime = DAY, key: str | None = None) -> Registration:
    return Registration(
        key=key or str(uuid.uuid4()),
        kiosk_id="k1",
        identity=Identity(person(n), IdentitySource.CHIP, Verification.GENUINE),
        insurance=None,
        visit_type=VisitType.NEW,
        department_code=department,
        service_code=f"KB.{department}",
        created_at=at,
    )


def test_it_is_a_hub_client() -> None:
    hub: HubClient = InMemoryHubClient()
    assert hub.ping()
    assert hub.reference_data().departments == DEFAULT_REFERENCE.departments


def test_same_key_same_receipt_and_one_visit() -> None:
    hub = InMemoryHubClient()
    r = reg(1)
    assert hub.register(r) == hub.register(r)
    assert len(hub.registrations()) == 1


def test_key_reused_for_another_visit_is_rejected() -> None:
    hub = InMemoryHubClient()
    r = reg(1)
    hub.register(r)
    with pytest.raises(HubRejected) as caught:
        hub.register(reg(1, department="NHI", key=r.key))
    assert caught.value.status == 409


def test_numbers_are_gapless_per_department_and_day_under_threads() -> None:
    hub = InMemoryHubClient()
    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = list(pool.map(lambda n: hub.register(reg(n)), range(100)))
    assert sorted(r.queue_number for r in receipts) == list(range(1, 101))
    assert hub.register(reg(200, department="NHI")).display_number == "B-001"
    assert hub.register(reg(201, at=datetime(2026, 11, 24, 8, 0, tzinfo=VIETNAM_TZ))).display_number == "A-001"


def test_printed_numbers_are_kept_and_collisions_flagged() -> None:
    hub = InMemoryHubClient()
    assert hub.register(reg(1), printed_number="K1-A-004").display_number == "K1-A-004"
    first = reg(2)
    assert hub.register(first).display_number == "A-001"
    again = hub.register(first, printed_number="K1-A-005")
    assert again.display_number == "K1-A-005" and again.queue_number == 5
    clash = reg(3)
    hub.register(clash, printed_number="K1-A-004")
    flagged = {s.registration.key for s in hub.registrations() if s.attention}
    assert clash.key in flagged and first.key in flagged


def test_unknown_department_is_rejected() -> None:
    with pytest.raises(HubRejected):
        InMemoryHubClient().register(reg(1, department="XYZ"))


def test_down_switch_makes_every_call_unavailable() -> None:
    hub = InMemoryHubClient()
    hub.down = True
    assert hub.ping() is False
    for call in (
        hub.reference_data,
        lambda: hub.check_insurance(person(1), None),
        lambda: hub.register(reg(1)),
        lambda: hub.heartbeat("1", {}, 0),
    ):
        with pytest.raises(HubUnavailable):
            call()
    hub.down = False
    assert hub.register(reg(1)).queue_number == 1


def test_insurance_answers_come_from_the_sample_data() -> None:
    hub = InMemoryHubClient()
    an = Citizen("001058012345", "NGUYỄN VĂN AN", date(1958, 7, 2), Sex.MALE)
    assert hub.check_insurance(an, None).status is InsuranceStatus.VALID
    assert hub.check_insurance(person(5), card_for_result("010")).status is InsuranceStatus.EXPIRED
    assert hub.check_insurance(person(5), None).status is InsuranceStatus.NOT_FOUND


def test_co_payment_follows_the_same_rule_as_the_hub() -> None:
    hub = InMemoryHubClient()
    an = Citizen("001058012345", "NGUYỄN VĂN AN", date(1958, 7, 2), Sex.MALE)
    check = hub.check_insurance(an, None)
    insured = Registration(
        key="k-insured-1",
        kiosk_id="k1",
        identity=Identity(an, IdentitySource.CHIP, Verification.GENUINE),
        insurance=check,
        visit_type=VisitType.NEW,
        department_code="NOI",
        service_code="KYC.NOI",
        created_at=DAY,
    )
    assert hub.register(insured).amount_due == 150_000 - 42_100
    assert hub.register(reg(9)).amount_due == 42_100


def test_heartbeats_are_kept() -> None:
    hub = InMemoryHubClient()
    assert hub.heartbeat("0.1", {"printer": "ok"}, 2)["ok"] is True
    assert hub.heartbeats == [{"version": "0.1", "devices": {"printer": "ok"}, "outbox_depth": 2}]
