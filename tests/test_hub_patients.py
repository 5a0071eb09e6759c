"""One patient, one record: a BHYT-card-only check-in and a CCCD check-in of
the same person meet on the BHXH number (server.patients).

Real hub on 127.0.0.1 (SQLite, and PostgreSQL when test-services.sh started
one), driven through the kiosk's HttpHubClient and the admin API; the
database is read directly only to count records.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text

from drivers.hub.http_client import HttpHubClient
from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    HubReceipt,
    Identity,
    IdentitySource,
    InsuranceCheck,
    InsuranceStatus,
    Registration,
    Sex,
    Verification,
    VisitType,
)
from server import migrate
from server.db import create_hub_engine, session_factory
from server.embedded import EmbeddedHub
from server.models import Patient
from server.models import Registration as RegistrationRow
from server.patients import OTHER_BHXH_NOTE, SHARED_BHXH_NOTE
from postgres_support import DATABASES, embedded_hub_on


@pytest.fixture(scope="module", params=DATABASES)
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedHub]:
    with embedded_hub_on(request.param, tmp_path_factory.mktemp("patients"), "kiosk_patients_test") as embedded:
        yield embedded


_counter = iter(range(10_000_000))
NAME = "ĐỖ THỊ MỘT NGƯỜI"


def someone() -> tuple[str, str]:
    """A fresh (CCCD number, BHYT card code) pair for one test person."""
    n = next(_counter) + os.getpid() % 1000 * 10_000
    return f"0790{n:08d}", f"GD479{n:010d}"


def client(hub: EmbeddedHub) -> HttpHubClient:
    return HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)


def today() -> date:
    return datetime.now(VIETNAM_TZ).date()


def by_card(hub: EmbeddedHub, card: str, key: str | None = None) -> Registration:
    """A check-in with only the BHYT card's QR: no CCCD number."""
    citizen = Citizen("", NAME, date(1955, 3, 4), Sex.FEMALE)
    return Registration(
        key=key or uuid.uuid4().hex,
        kiosk_id=hub.kiosk_id,
        identity=Identity(citizen, IdentitySource.BHYT_QR, Verification.NOT_VERIFIED, insurance_card_code=card),
        insurance=None,
        visit_type=VisitType.NEW,
        department_code="NOI",
        service_code="KB.NOI",
        created_at=datetime.now(VIETNAM_TZ),
    )


def by_chip(hub: EmbeddedHub, cccd: str, card: str | None, status: InsuranceStatus = InsuranceStatus.VALID) -> Registration:
    """A CCCD chip check-in; `card` is what the insurance check found for it."""
    citizen = Citizen(cccd, NAME, date(1955, 3, 4), Sex.FEMALE, place_of_residence="Phường 1, Quận 3")
    insurance = InsuranceCheck("000", status, "", "", card_code=card) if card else None
    return Registration(
        key=uuid.uuid4().hex,
        kiosk_id=hub.kiosk_id,
        identity=Identity(citizen, IdentitySource.CHIP, Verification.CHIP_READ),
        insurance=insurance,
        visit_type=VisitType.NEW,
        department_code="NOI",
        service_code="KB.NOI",
        created_at=datetime.now(VIETNAM_TZ),
    )


def records_for(hub: EmbeddedHub, cccd: str, card: str) -> list[Patient]:
    engine = create_hub_engine(hub.settings.resolved_database_url())
    try:
        with session_factory(engine)() as session:
            return list(
                session.scalars(
                    select(Patient)
                    .where((Patient.id_number == cccd) | (Patient.patient_key == "BHXH:" + card[-10:])
                           | (Patient.bhxh_number == card[-10:]))
                    .order_by(Patient.id)
                ).all()
            )
    finally:
        engine.dispose()


def patient_of(hub: EmbeddedHub, receipt: HubReceipt) -> int:
    engine = create_hub_engine(hub.settings.resolved_database_url())
    try:
        with session_factory(engine)() as session:
            return session.scalar(select(RegistrationRow.patient_id).where(RegistrationRow.key == receipt.registration_key))
    finally:
        engine.dispose()


def admin_post(hub: EmbeddedHub, path: str, body: dict) -> requests.Response:
    return requests.post(
        hub.url + "/api/v1/admin" + path, json=body, headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10
    )


def admin_get(hub: EmbeddedHub, path: str, **params: str) -> requests.Response:
    return requests.get(
        hub.url + "/api/v1/admin" + path, params=params, headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10
    )


def export_codes(hub: EmbeddedHub, receipts: list[HubReceipt]) -> set[str]:
    """The MA_BN the Decision 4750 export gives these visits."""
    answer = admin_get(hub, "/checkins", date=today().isoformat(), department="NOI")
    assert answer.status_code == 200, answer.text
    episodes = {r.episode_key for r in receipts}
    codes = {r["MA_BN"] for r in answer.json()["records"] if r["MA_LK"] in episodes}
    assert len([r for r in answer.json()["records"] if r["MA_LK"] in episodes]) == len(receipts)
    return codes


# -- the same person ----------------------------------------------------------------


def test_bhyt_card_first_then_cccd_chip_upgrades_the_one_record(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    first = client(hub).register(by_card(hub, card))
    (record,) = records_for(hub, cccd, card)
    assert record.patient_key == "BHXH:" + card[-10:] and record.id_number is None

    second = client(hub).register(by_chip(hub, cccd, card))
    (upgraded,) = records_for(hub, cccd, card)
    assert upgraded.id == record.id, "the BHYT-only record was upgraded, not duplicated"
    assert (upgraded.patient_key, upgraded.id_number, upgraded.bhxh_number) == ("CCCD:" + cccd, cccd, card[-10:])
    assert upgraded.address == "Phường 1, Quận 3"

    # The BHXH number stays linked: the card alone still finds the person,
    # and a renewed card (same last ten characters) too.
    third = client(hub).register(by_card(hub, "DN4" + card[3:]))
    assert [r.id for r in records_for(hub, cccd, card)] == [record.id]
    assert {patient_of(hub, r) for r in (first, second, third)} == {record.id}
    assert len(export_codes(hub, [first, second, third])) == 1, "one MA_BN for the person"


def test_cccd_chip_first_then_bhyt_card_finds_the_cccd_record(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    first = client(hub).register(by_chip(hub, cccd, card))
    second = client(hub).register(by_card(hub, card))
    (record,) = records_for(hub, cccd, card)
    assert (record.patient_key, record.bhxh_number) == ("CCCD:" + cccd, card[-10:])
    assert patient_of(hub, first) == patient_of(hub, second) == record.id
    assert len(export_codes(hub, [first, second])) == 1


def test_a_card_the_gateway_could_not_tie_to_the_person_links_nothing(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    client(hub).register(by_chip(hub, cccd, card, InsuranceStatus.DATA_MISMATCH))
    client(hub).register(by_card(hub, card))
    records = records_for(hub, cccd, card)
    assert len(records) == 2, "a name/birth-date mismatch is no proof the card is this person's"
    assert records[0].bhxh_number is None


def test_a_duplicate_made_before_the_link_is_merged_at_the_next_chip_check_in(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    chip_without_card = client(hub).register(by_chip(hub, cccd, None))
    card_only = client(hub).register(by_card(hub, card))
    assert len(records_for(hub, cccd, card)) == 2, "nothing yet says they are one person"

    chip_with_card = client(hub).register(by_chip(hub, cccd, card))
    (record,) = records_for(hub, cccd, card)
    assert (record.patient_key, record.bhxh_number) == ("CCCD:" + cccd, card[-10:])
    receipts = [chip_without_card, card_only, chip_with_card]
    assert {patient_of(hub, r) for r in receipts} == {record.id}, "the duplicate's visit moved over"
    assert len(export_codes(hub, receipts)) == 1


def test_a_card_only_registration_resent_after_the_upgrade_is_the_same_visit(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    key = uuid.uuid4().hex
    first = client(hub).register(by_card(hub, card, key))
    client(hub).register(by_chip(hub, cccd, card))
    again = client(hub).register(by_card(hub, card, key))  # the outbox delivering it twice
    assert again == first


def test_papers_recorded_under_either_key_are_found_by_either_document(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    client(hub).register(by_chip(hub, cccd, card))
    citizen = Citizen(cccd, NAME, date(1955, 3, 4), Sex.FEMALE)
    card_holder = Citizen("", NAME, date(1955, 3, 4), Sex.FEMALE)

    appointment = admin_post(
        hub, "/appointments", {"id_number": cccd, "SO_GIAYHEN_KL": "GH-501", "NGAY_HEN_KL": today().isoformat()}
    )
    assert appointment.status_code == 201, appointment.text
    found = client(hub).find_visit_paper(card_holder, card)
    assert found is not None and found.paper_number == "GH-501", "the CCCD's appointment, found by the BHYT card"

    assert admin_post(hub, f"/papers/{appointment.json()['reference']}/cancel", {}).status_code == 204
    assert admin_post(hub, "/referrals", {"card_code": card, "SO_CHUYENTUYEN": "CT-502", "MA_NOI_DI": "79024"}).status_code == 201
    found = client(hub).find_visit_paper(citizen, None)
    assert found is not None and found.paper_number == "CT-502", "the card's referral, found by the CCCD alone"


def test_both_documents_at_once_from_many_kiosks_make_one_record(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    registrations = [by_card(hub, card) if i % 2 else by_chip(hub, cccd, card) for i in range(8)]
    receipts: list[HubReceipt] = []
    failures: list[BaseException] = []
    start = threading.Barrier(len(registrations))

    def send(registration: Registration) -> None:
        try:
            start.wait(timeout=30)
            receipts.append(client(hub).register(registration))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(r,)) for r in registrations]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    (record,) = records_for(hub, cccd, card)
    assert (record.patient_key, record.bhxh_number) == ("CCCD:" + cccd, card[-10:])
    assert {patient_of(hub, r) for r in receipts} == {record.id}


# -- two people ---------------------------------------------------------------------


def test_two_cccd_holders_with_one_bhxh_number_are_kept_apart_and_flagged(hub: EmbeddedHub) -> None:
    first_cccd, card = someone()
    second_cccd, _ = someone()
    first = client(hub).register(by_chip(hub, first_cccd, card))
    second = client(hub).register(by_chip(hub, second_cccd, card))
    assert patient_of(hub, first) != patient_of(hub, second), "never merged"

    records = {r.id_number: r for r in records_for(hub, second_cccd, card) + records_for(hub, first_cccd, card)}
    assert records[first_cccd].bhxh_number == card[-10:], "the number stays with the record that had it"
    assert records[second_cccd].bhxh_number is None

    flagged = admin_get(hub, "/attention", date=today().isoformat()).json()
    notes = {a["registration_key"]: a["attention"] for a in flagged}
    assert notes.get(second.registration_key) == SHARED_BHXH_NOTE
    assert first.registration_key not in notes
    assert second_cccd not in notes[second.registration_key] and card not in notes[second.registration_key]
    assert len(export_codes(hub, [first, second])) == 2

    # Each sees only their own papers: the first holder's appointment is not
    # offered to the second, though both cards carry the same BHXH number.
    admin_post(hub, "/appointments", {"id_number": first_cccd, "SO_GIAYHEN_KL": "GH-601", "NGAY_HEN_KL": today().isoformat()})
    second_person = Citizen(second_cccd, NAME, date(1955, 3, 4), Sex.FEMALE)
    assert client(hub).find_visit_paper(second_person, card) is None


def test_the_second_holder_seen_first_by_card_only_is_flagged_not_merged(hub: EmbeddedHub) -> None:
    first_cccd, card = someone()
    second_cccd, _ = someone()
    client(hub).register(by_chip(hub, first_cccd, card))
    client(hub).register(by_card(hub, card))  # the card alone: the record holding the number
    second = client(hub).register(by_chip(hub, second_cccd, card))
    notes = {a["registration_key"]: a["attention"] for a in admin_get(hub, "/attention").json()}
    assert notes.get(second.registration_key) == SHARED_BHXH_NOTE
    first_record = [r for r in records_for(hub, first_cccd, card) if r.id_number == first_cccd]
    assert first_record and first_record[0].bhxh_number == card[-10:]


# -- the migration ------------------------------------------------------------------


def test_the_migration_links_numbers_and_leaves_ambiguous_ones_to_the_next_check_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    migrate.upgrade(url, revision="0005_outage_band")
    engine = create_hub_engine(url)
    rows = [
        # patient_key, id_number, card
        ("BHXH:4790000001", None, "GD4794790000001"),  # card only
        ("CCCD:079000000001", "079000000001", "GD4794790000002"),  # CCCD with its card
        ("CCCD:079000000002", "079000000002", "GD4794790000001"),  # the card-only duplicate's person
        ("CCCD:079000000003", "079000000003", "GD4794790000003"),  # two CCCDs, one card:
        ("CCCD:079000000004", "079000000004", "DN4794790000003"),  # nobody gets the number
    ]
    try:
        with engine.begin() as connection:
            for key, cccd, card in rows:
                connection.execute(
                    text(
                        "INSERT INTO patients (patient_key, id_number, full_name, sex, insurance_card_code, created_at, updated_at) "
                        "VALUES (:key, :cccd, 'X', 3, :card, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {"key": key, "cccd": cccd, "card": card},
                )
        engine.dispose()
        migrate.upgrade(url)
        with engine.connect() as connection:
            linked = dict(connection.execute(text("SELECT patient_key, bhxh_number FROM patients")).all())
            count = connection.execute(select(func.count()).select_from(Patient)).scalar_one()
    finally:
        engine.dispose()
    assert count == len(rows), "the migration deletes nothing"
    assert linked == {
        "BHXH:4790000001": "4790000001",
        "CCCD:079000000001": "4790000002",
        "CCCD:079000000002": None,  # the card-only record keeps it; the next chip check-in merges
        "CCCD:079000000003": None,
        "CCCD:079000000004": None,
    }
    migrate.downgrade(url, revision="0005_outage_band")
    migrate.upgrade(url)


def test_a_second_bhxh_number_for_one_cccd_is_flagged_and_the_first_kept(hub: EmbeddedHub) -> None:
    cccd, card = someone()
    _, other_card = someone()
    client(hub).register(by_chip(hub, cccd, card))
    flagged = client(hub).register(by_chip(hub, cccd, other_card))
    notes = {a["registration_key"]: a["attention"] for a in admin_get(hub, "/attention").json()}
    assert notes.get(flagged.registration_key) == OTHER_BHXH_NOTE
    (record,) = [r for r in records_for(hub, cccd, card) if r.id_number == cccd]
    assert record.bhxh_number == card[-10:], "a person's BHXH number is lifelong: the first link stays"
