"""The hub end to end: a real server on 127.0.0.1, used through HttpHubClient.

Tests that depend on the database (idempotency, queue numbers, export) run
against SQLite and, when KIOSK_TEST_POSTGRES_URL is set (packaging/
test-services.sh sets it), against PostgreSQL too.
"""

from __future__ import annotations

import json
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from drivers.hub.http_client import HttpHubClient
from drivers.hub.simulated import InMemoryHubClient
from kiosk import insurance
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
from kiosk.errors import HubRejected, HubUnavailable
from server.db import create_hub_engine
from server.embedded import EmbeddedHub, start_embedded_hub
from server.models import Patient, QueueCounter
from server.models import Registration as RegistrationRow
from server.simulated_gateway import card_for_result
from postgres_support import DATABASES, embedded_hub_on

CITIZENS_DIR = Path(__file__).resolve().parent.parent / "assets" / "citizens"


# -- fixtures -------------------------------------------------------------------




@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedHub]:
    """A SQLite hub for the tests that do not depend on the database kind."""
    embedded = start_embedded_hub(tmp_path_factory.mktemp("hub") / "hub.sqlite3")
    yield embedded
    embedded.stop()


@pytest.fixture(scope="module", params=DATABASES)
def db_hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedHub]:
    with embedded_hub_on(request.param, tmp_path_factory.mktemp("dbhub"), "kiosk_hub_test") as embedded:
        yield embedded


def client_of(hub: EmbeddedHub) -> HttpHubClient:
    return HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)


def admin_get(hub: EmbeddedHub, path: str, **params: str) -> requests.Response:
    return requests.get(hub.url + path, params=params, headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10)


def admin_send(hub: EmbeddedHub, method: str, path: str, body: dict) -> requests.Response:
    return requests.request(
        method, hub.url + path, json=body, headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10
    )


def count_rows(hub: EmbeddedHub, *where: object) -> int:
    engine = create_hub_engine(hub.settings.resolved_database_url())
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(RegistrationRow).where(*where)).scalar_one()
    finally:
        engine.dispose()


def sample(slot: int) -> tuple[Citizen, dict]:
    data = json.loads((CITIZENS_DIR / f"citizen-{slot}.json").read_text(encoding="utf-8"))
    citizen = Citizen(
        id_number=data["id_number"],
        full_name=data["full_name"],
        date_of_birth=date.fromisoformat(data["date_of_birth"]),
        sex=Sex.from_vietnamese(data["sex"]),
        place_of_residence=data["place_of_residence"],
    )
    return citizen, data


def someone(n: int) -> Citizen:
    """A made-up patient with a unique 12-digit ID."""
    return Citizen(f"0792{n:08d}", f"NGUYỄN VĂN THỬ {n}", date(1980, 1, 1), Sex.MALE, place_of_residence="Quận 1")


def registration(
    kiosk_id: str,
    citizen: Citizen,
    *,
    department: str = "NOI",
    service: str | None = None,
    at: datetime | None = None,
    insurance_check: InsuranceCheck | None = None,
    visit: VisitType = VisitType.NEW,
    paper: str | None = None,
    key: str | None = None,
) -> Registration:
    return Registration(
        key=key or str(uuid.uuid4()),
        kiosk_id=kiosk_id,
        identity=Identity(citizen, IdentitySource.CHIP, Verification.GENUINE),
        insurance=insurance_check,
        visit_type=visit,
        department_code=department,
        service_code=service or f"KB.{department}",
        created_at=at or datetime.now(VIETNAM_TZ),
        paper_number=paper,
    )


# -- reference data, health ------------------------------------------------------


def test_reference_data_is_the_seeded_outpatient_set(hub: EmbeddedHub) -> None:
    reference = client_of(hub).reference_data()
    names = {d.name_vi for d in reference.departments}
    for expected in ("Khám Nội tổng quát", "Khám Nhi", "Tai Mũi Họng", "Răng Hàm Mặt", "Mắt", "Sản phụ khoa", "Da liễu"):
        assert expected in names
    assert len({d.queue_prefix for d in reference.departments}) == len(reference.departments)
    general = reference.department("NOI")
    assert (general.room, general.floor, general.queue_prefix) == ("101", "1", "A")
    consultation = reference.service("KB.NOI")
    assert consultation.insured_price == 42_100 and consultation.price == 42_100
    assert reference.service("KYC.NOI").price > reference.service("KYC.NOI").insured_price
    assert all(reference.services_of(d.code) for d in reference.departments)
    assert reference.fetched_at is not None


def test_health_needs_no_signature_and_ping_uses_it(hub: EmbeddedHub) -> None:
    answer = requests.get(hub.url + "/api/v1/health", timeout=10)
    assert answer.status_code == 200 and answer.json()["database"] == "ok"
    assert client_of(hub).ping() is True


def test_openapi_documents_the_kiosk_and_admin_endpoints(hub: EmbeddedHub) -> None:
    paths = requests.get(hub.url + "/openapi.json", timeout=10).json()["paths"]
    for path in (
        "/api/v1/reference",
        "/api/v1/insurance/check",
        "/api/v1/registrations",
        "/api/v1/kiosks/heartbeat",
        "/api/v1/health",
        "/api/v1/admin/checkins",
        "/api/v1/admin/kiosks",
    ):
        assert path in paths
    parameters = {p["name"] for p in paths["/api/v1/registrations"]["post"]["parameters"]}
    assert {"X-Kiosk-Id", "X-Timestamp", "X-Nonce", "X-Signature"} <= parameters


# -- insurance ----------------------------------------------------------------------


@pytest.mark.parametrize("slot", [1, 2, 3, 4])
def test_sample_citizens_get_their_insurance_result(hub: EmbeddedHub, slot: int) -> None:
    citizen, data = sample(slot)
    result = client_of(hub).check_insurance(citizen, None)
    assert result.result_code == data["insurance_result"]
    assert result.status is insurance.outcome(data["insurance_result"]).status


def test_sample_citizen_details(hub: EmbeddedHub) -> None:
    client = client_of(hub)
    an, an_data = sample(1)
    valid = client.check_insurance(an, an_data["bhyt_card_code"])  # by the BHYT code this time
    assert valid.status is InsuranceStatus.VALID
    assert valid.card_code == an_data["bhyt_card_code"]
    assert valid.registered_facility == hub.settings.hospital_code
    assert valid.valid_from is not None and valid.valid_to is not None and valid.valid_from < valid.valid_to

    binh, binh_data = sample(2)
    renewed = client.check_insurance(binh, None)
    assert renewed.status is InsuranceStatus.VALID_NEW_CARD
    assert renewed.card_code != binh_data["bhyt_card_code"]  # the new card

    cuong, _ = sample(3)
    expired = client.check_insurance(cuong, None)
    assert expired.status is InsuranceStatus.EXPIRED
    assert expired.valid_to is not None and expired.valid_to < date.today()


@pytest.mark.parametrize("code", insurance.RESULT_CODES)
def test_a_test_card_answers_each_result_code(hub: EmbeddedHub, code: str) -> None:
    result = client_of(hub).check_insurance(someone(1), card_for_result(code))
    assert result.result_code == code
    assert result.status is insurance.outcome(code).status


def test_name_and_birth_date_are_checked_against_the_register(hub: EmbeddedHub) -> None:
    client = client_of(hub)
    an, _ = sample(1)
    assert client.check_insurance(replace(an, full_name="TRẦN VĂN AN"), None).result_code == "060"
    assert client.check_insurance(replace(an, full_name="NGÔ VIẾT AN"), None).result_code == "061"
    assert client.check_insurance(replace(an, date_of_birth=date(1958, 7, 3)), None).result_code == "070"
    assert client.check_insurance(replace(an, full_name="nguyễn  văn an"), None).result_code == "000"


def test_unknown_numbers(hub: EmbeddedHub) -> None:
    client = client_of(hub)
    assert client.check_insurance(someone(2), None).result_code == "050"
    assert client.check_insurance(someone(2), "GD4791234567890").result_code == "051"


def test_in_memory_hub_answers_like_the_real_one(hub: EmbeddedHub) -> None:
    real, memory = client_of(hub), InMemoryHubClient()
    cases = [(sample(slot)[0], None) for slot in (1, 2, 3, 4)]
    cases += [(someone(3), card_for_result(code)) for code in insurance.RESULT_CODES]
    for citizen, card in cases:
        assert memory.check_insurance(citizen, card) == real.check_insurance(citizen, card)


def test_gateway_down_is_an_unavailable_answer_not_an_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    embedded = start_embedded_hub(tmp_path / "hub.sqlite3", gateway_url=f"http://127.0.0.1:{dead_port}")
    try:
        result = client_of(embedded).check_insurance(sample(1)[0], None)
    finally:
        embedded.stop()
    assert result.status is InsuranceStatus.UNAVAILABLE
    assert result.result_code == insurance.UNREACHABLE


# -- registration: idempotency ------------------------------------------------------


def test_same_key_twice_gives_one_row_and_the_same_receipt(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    citizen, _ = sample(1)
    check = client.check_insurance(citizen, None)
    reg = registration(db_hub.kiosk_id, citizen, department="NHI", insurance_check=check, at=datetime(2026, 5, 4, 8, 0, tzinfo=VIETNAM_TZ))
    first = client.register(reg)
    second = client.register(reg)
    assert first == second
    assert first.display_number == "B-001" and first.room == "104"
    assert count_rows(db_hub, RegistrationRow.key == reg.key) == 1


def test_same_key_from_four_threads_at_once_is_still_one_visit(db_hub: EmbeddedHub) -> None:
    reg = registration(db_hub.kiosk_id, someone(10), department="MAT", at=datetime(2026, 5, 5, 8, 0, tzinfo=VIETNAM_TZ))
    credentials = [db_hub.add_kiosk(f"race kiosk {i}") for i in range(4)]
    clients = [HttpHubClient(db_hub.url, kiosk_id, secret) for kiosk_id, secret in credentials]
    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = list(pool.map(lambda c: c.register(reg), clients))
    assert len(set(receipts)) == 1
    assert receipts[0].display_number == "E-001"
    assert count_rows(db_hub, RegistrationRow.key == reg.key) == 1
    # The numbers taken by the losing attempts were rolled back: the next is 2.
    assert client_of(db_hub).register(
        registration(db_hub.kiosk_id, someone(11), department="MAT", at=datetime(2026, 5, 5, 8, 1, tzinfo=VIETNAM_TZ))
    ).queue_number == 2


def test_a_key_reused_for_another_visit_is_rejected(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    reg = registration(db_hub.kiosk_id, someone(12), department="NOI")
    client.register(reg)
    with pytest.raises(HubRejected) as caught:
        client.register(registration(db_hub.kiosk_id, someone(12), department="NHI", key=reg.key))
    assert caught.value.status == 409


def test_unknown_department_or_service_is_rejected(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    with pytest.raises(HubRejected) as caught:
        client.register(registration(db_hub.kiosk_id, someone(13), department="NOPE"))
    assert caught.value.status == 422
    with pytest.raises(HubRejected):
        client.register(registration(db_hub.kiosk_id, someone(13), department="NOI", service="KB.NHI"))


# -- registration: queue numbers -------------------------------------------------------


def test_numbers_are_unique_and_gapless_under_concurrent_kiosks(db_hub: EmbeddedHub) -> None:
    # The bar: 20 kiosks at once, on SQLite and on PostgreSQL.
    kiosks, per_kiosk = 20, 5
    day = datetime(2026, 6, 1, 7, 30, tzinfo=VIETNAM_TZ)
    credentials = [db_hub.add_kiosk(f"hall kiosk {i}") for i in range(kiosks)]

    def run(index: int) -> list[HubReceipt]:
        kiosk_id, secret = credentials[index]
        client = HttpHubClient(db_hub.url, kiosk_id, secret)
        try:
            return [
                client.register(registration(kiosk_id, someone(1000 + index * per_kiosk + i), department="TMH", at=day))
                for i in range(per_kiosk)
            ]
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=kiosks) as pool:
        receipts = [r for batch in pool.map(run, range(kiosks)) for r in batch]

    numbers = sorted(r.queue_number for r in receipts)
    assert numbers == list(range(1, kiosks * per_kiosk + 1))
    assert len({r.display_number for r in receipts}) == kiosks * per_kiosk
    assert len({r.episode_key for r in receipts}) == kiosks * per_kiosk
    assert {r.display_number for r in receipts} == {f"C-{n:03d}" for n in range(1, 101)}


def test_leases_and_hub_numbers_never_overlap_under_concurrent_kiosks(db_hub: EmbeddedHub) -> None:
    # Kiosks lease outage blocks while others take hub numbers, at once: the
    # hub's series stays 1..N with no gap and every block lies in the band.
    kiosks, rounds, block = 10, 3, 3
    now = datetime.now(VIETNAM_TZ)  # leases are for today (the hub's clock)
    credentials = [db_hub.add_kiosk(f"band kiosk {i}") for i in range(kiosks)]

    def run(index: int) -> tuple[list[int], list[tuple[int, int]]]:
        kiosk_id, secret = credentials[index]
        client = HttpHubClient(db_hub.url, kiosk_id, secret)
        numbers, blocks = [], []
        try:
            for r in range(rounds):
                lease = client.lease_numbers("SAN", now.date(), block, f"band-{index:02d}-{r:02d}-lease")
                blocks.append((lease["first"], lease["last"]))
                who = someone(5000 + index * rounds + r)
                numbers.append(client.register(registration(kiosk_id, who, department="SAN", at=now)).queue_number)
        finally:
            client.close()
        return numbers, blocks

    with ThreadPoolExecutor(max_workers=kiosks) as pool:
        results = list(pool.map(run, range(kiosks)))
    numbers = sorted(n for got, _ in results for n in got)
    leased = sorted(n for _, blocks in results for first, last in blocks for n in range(first, last + 1))
    assert numbers == list(range(1, kiosks * rounds + 1))
    # SAN takes 90 a day: its band starts at G-101, and blocks are cut back to back.
    assert leased == list(range(101, 101 + kiosks * rounds * block))


def test_numbers_restart_each_day_and_are_per_department(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    monday = datetime(2026, 6, 8, 9, 0, tzinfo=VIETNAM_TZ)
    tuesday = datetime(2026, 6, 9, 9, 0, tzinfo=VIETNAM_TZ)
    # 23:59 Vietnam time is still Monday even though it is Monday 16:59 UTC.
    late_monday = datetime(2026, 6, 8, 23, 59, tzinfo=VIETNAM_TZ)
    numbers = [
        client.register(registration(db_hub.kiosk_id, someone(2000 + i), department="DALIEU", at=at)).display_number
        for i, at in enumerate([monday, monday, late_monday, tuesday, tuesday])
    ]
    assert numbers == ["H-001", "H-002", "H-003", "H-001", "H-002"]
    other = client.register(registration(db_hub.kiosk_id, someone(2010), department="SAN", at=monday))
    assert other.display_number == "G-001"


def test_a_full_department_refuses_and_loses_no_number(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    day = datetime(2026, 6, 15, 8, 0, tzinfo=VIETNAM_TZ)
    department = admin_get(db_hub, "/api/v1/admin/reference").json()["departments"]
    cxk = next(d for d in department if d["code"] == "CXK")
    body = {k: v for k, v in cxk.items() if k != "code"} | {"daily_capacity": 2}
    assert admin_send(db_hub, "PUT", "/api/v1/admin/departments/CXK", body).status_code == 200
    assert client.register(registration(db_hub.kiosk_id, someone(3000), department="CXK", at=day)).queue_number == 1
    assert client.register(registration(db_hub.kiosk_id, someone(3001), department="CXK", at=day)).queue_number == 2
    with pytest.raises(HubRejected) as caught:
        client.register(registration(db_hub.kiosk_id, someone(3002), department="CXK", at=day))
    assert caught.value.status == 409
    admin_send(db_hub, "PUT", "/api/v1/admin/departments/CXK", body | {"daily_capacity": 10})
    assert client.register(registration(db_hub.kiosk_id, someone(3003), department="CXK", at=day)).queue_number == 3


def test_estimated_wait_counts_people_ahead_before_opening(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    early = datetime(2026, 6, 16, 6, 30, tzinfo=VIETNAM_TZ)  # the clinic opens at 07:00
    waits = [
        client.register(registration(db_hub.kiosk_id, someone(3100 + i), department="RHM", at=early)).estimated_wait_minutes
        for i in range(3)
    ]
    assert waits == [30, 45, 60]  # 30 min to opening, then 15 min per patient ahead


# -- registration: offline (printed) numbers ---------------------------------------------


def test_printed_number_is_kept_and_consumes_no_hub_number(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    day = datetime(2026, 7, 1, 8, 0, tzinfo=VIETNAM_TZ)
    offline = client.register(registration(db_hub.kiosk_id, someone(4000), department="NOITIET", at=day), printed_number="K1-L-007")
    assert offline.display_number == "K1-L-007"
    assert offline.queue_number == 7
    online = client.register(registration(db_hub.kiosk_id, someone(4001), department="NOITIET", at=day))
    assert online.display_number == "L-001"


def test_printed_number_sent_again_after_the_hub_answered_is_recorded(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    day = datetime(2026, 7, 2, 8, 0, tzinfo=VIETNAM_TZ)
    reg = registration(db_hub.kiosk_id, someone(4100), department="NOITIET", at=day)
    assert client.register(reg).display_number == "L-001"
    # The kiosk timed out waiting, printed an offline ticket, and its outbox
    # now delivers the same key with the number the patient holds.
    again = client.register(reg, printed_number="K2-L-003")
    assert again.display_number == "K2-L-003"
    assert client.register(reg) == again
    assert count_rows(db_hub, RegistrationRow.key == reg.key) == 1
    flagged = admin_get(db_hub, "/api/v1/admin/attention", date="2026-07-02").json()
    assert [f["registration_key"] for f in flagged] == [reg.key]
    assert "K2-L-003" in flagged[0]["attention"]


def test_a_colliding_printed_number_is_flagged_for_staff(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    day = datetime(2026, 7, 3, 8, 0, tzinfo=VIETNAM_TZ)
    first = registration(db_hub.kiosk_id, someone(4200), department="TIMMACH", at=day)
    assert client.register(first).display_number == "K-001"
    clash = registration(db_hub.kiosk_id, someone(4201), department="TIMMACH", at=day)
    assert client.register(clash, printed_number="K-001").display_number == "K-001"
    flagged = {f["registration_key"] for f in admin_get(db_hub, "/api/v1/admin/attention", date="2026-07-03").json()}
    assert flagged == {first.key, clash.key}


# -- what the hub records -------------------------------------------------------------------


def test_amount_due_and_visit_category_follow_the_insurance(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    day = datetime(2026, 8, 3, 9, 0, tzinfo=VIETNAM_TZ)
    dues = {}
    for slot in (1, 2, 3, 4):
        citizen, _ = sample(slot)
        check = client.check_insurance(citizen, None)
        dues[slot] = client.register(registration(db_hub.kiosk_id, citizen, department="NOI", at=day, insurance_check=check)).amount_due
    assert dues == {1: 0, 2: 42_100 - 33_680, 3: 42_100, 4: 42_100}
    records = admin_get(db_hub, "/api/v1/admin/checkins", date="2026-08-03").json()["records"]
    assert [r["MA_DOITUONG_KCB"] for r in records] == ["1.1", "1.1", "", ""]


def test_checkin_export_json_and_xml(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    day = datetime(2026, 8, 10, 8, 15, tzinfo=VIETNAM_TZ)
    an, an_data = sample(1)
    check = client.check_insurance(an, None)
    referred = registration(
        db_hub.kiosk_id, an, department="TMH", at=day, insurance_check=check, visit=VisitType.REFERRAL, paper="CT-2026-0042"
    )
    receipt = client.register(referred)
    client.register(registration(db_hub.kiosk_id, someone(5000), department="NHI", at=day))

    answer = admin_get(db_hub, "/api/v1/admin/checkins", date="2026-08-10", department="TMH")
    assert answer.status_code == 200
    document = answer.json()
    assert document["MA_CSKCB"] == db_hub.settings.hospital_code
    (record,) = document["records"]
    assert record == {
        "MA_LK": receipt.episode_key,
        "STT": 1,
        "MA_BN": record["MA_BN"],
        "HO_TEN": "NGUYỄN VĂN AN",
        "SO_CCCD": an_data["id_number"],
        "NGAY_SINH": "195807020000",
        "GIOI_TINH": 1,
        "MA_THE_BHYT": an_data["bhyt_card_code"],
        "MA_DKBD": db_hub.settings.hospital_code,
        "GT_THE_TU": f"{check.valid_from:%Y%m%d}",
        "GT_THE_DEN": f"{check.valid_to:%Y%m%d}",
        "MA_DOITUONG_KCB": "1.1",
        "NGAY_VAO": "202608100815",
        "MA_LOAI_KCB": "01",
        "MA_CSKCB": db_hub.settings.hospital_code,
        "MA_DICH_VU": "KB.TMH",
        "TEN_DICH_VU": "Khám Tai Mũi Họng",
        "DIA_CHI": an_data["place_of_residence"],
        "GIAY_CHUYEN_TUYEN": "CT-2026-0042",
        "MA_NOI_DI": "",
    }
    assert record["MA_BN"].startswith("BN")

    everything = admin_get(db_hub, "/api/v1/admin/checkins", date="2026-08-10", format="xml")
    assert everything.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(everything.content)
    assert root.tag == "CHI_TIEU_TRANG_THAI_KCB"
    items = root.findall("./DSACH_TRANG_THAI_KCB/TRANG_THAI_KCB")
    assert [i.findtext("STT") for i in items] == ["1", "2"]
    assert items[0].findtext("HO_TEN") == "NGUYỄN VĂN AN"
    assert items[0].findtext("GIAY_CHUYEN_TUYEN") == "CT-2026-0042"
    assert items[1].findtext("MA_THE_BHYT") == ""


def test_checkins_need_an_admin_token(db_hub: EmbeddedHub) -> None:
    answer = requests.get(db_hub.url + "/api/v1/admin/checkins", params={"date": "2026-08-10"}, timeout=10)
    assert answer.status_code == 401
    wrong = requests.get(
        db_hub.url + "/api/v1/admin/checkins", params={"date": "2026-08-10"}, headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert wrong.status_code == 401


def test_patient_record_is_created_then_updated(db_hub: EmbeddedHub) -> None:
    client = client_of(db_hub)
    patient = someone(6000)
    client.register(registration(db_hub.kiosk_id, patient, department="NOI"))
    moved = replace(patient, place_of_residence="Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh")
    client.register(registration(db_hub.kiosk_id, moved, department="NHI"))
    answer = admin_send(db_hub, "POST", "/api/v1/admin/patients/lookup", {"id_number": patient.id_number})
    assert answer.status_code == 200
    record = answer.json()
    assert record["address"] == moved.place_of_residence
    assert len(record["visits"]) == 2
    engine = create_hub_engine(db_hub.settings.resolved_database_url())
    try:
        with engine.connect() as connection:
            assert connection.execute(
                select(func.count()).select_from(Patient).where(Patient.id_number == patient.id_number)
            ).scalar_one() == 1
    finally:
        engine.dispose()


def test_admin_edits_reach_the_kiosks(db_hub: EmbeddedHub) -> None:
    new_price = {
        "department_code": "MAT",
        "name_vi": "Khám Mắt",
        "name_en": "Ophthalmology consultation",
        "price": 45_000,
        "insured_price": 42_100,
    }
    assert admin_send(db_hub, "PUT", "/api/v1/admin/services/KB.MAT", new_price).status_code == 200
    assert client_of(db_hub).reference_data().service("KB.MAT").price == 45_000
    retired = new_price | {"active": False}
    admin_send(db_hub, "PUT", "/api/v1/admin/services/KB.MAT", retired)
    with pytest.raises(KeyError):
        client_of(db_hub).reference_data().service("KB.MAT")
    admin_send(db_hub, "PUT", "/api/v1/admin/services/KB.MAT", new_price | {"price": 42_100})


def test_heartbeat_is_recorded(db_hub: EmbeddedHub) -> None:
    answer = client_of(db_hub).heartbeat("0.1.0", {"printer": "ok", "reader": "no card"}, 3)
    assert answer["ok"] is True and answer["kiosk_id"] == db_hub.kiosk_id
    kiosks = admin_get(db_hub, "/api/v1/admin/kiosks").json()
    mine = next(k for k in kiosks if k["kiosk_id"] == db_hub.kiosk_id)
    assert mine["version"] == "0.1.0" and mine["outbox_depth"] == 3 and mine["devices"]["printer"] == "ok"


def test_counter_rows_match_the_numbers_handed_out(db_hub: EmbeddedHub) -> None:
    # After all the tests above: every counter equals the highest hub number
    # of its department and day - nothing was consumed without a visit.
    engine = create_hub_engine(db_hub.settings.resolved_database_url())
    try:
        with engine.connect() as connection:
            counters = connection.execute(select(QueueCounter)).all()
            for counter in counters:
                highest = connection.execute(
                    select(func.max(RegistrationRow.queue_number)).where(
                        RegistrationRow.department_code == counter.department_code,
                        RegistrationRow.service_day == counter.service_day,
                    )
                ).scalar_one()
                assert highest == counter.last_number
    finally:
        engine.dispose()


# -- hub down ---------------------------------------------------------------------------------


def test_a_stopped_hub_is_unavailable(tmp_path: Path) -> None:
    embedded = start_embedded_hub(tmp_path / "hub.sqlite3")
    client = client_of(embedded)
    assert client.ping()
    embedded.stop()
    assert client.ping() is False
    with pytest.raises(HubUnavailable):
        client.reference_data()
    with pytest.raises(HubUnavailable):
        client.register(registration(embedded.kiosk_id, someone(7000)))
    with pytest.raises(HubUnavailable):
        client.check_insurance(someone(7000), None)


def test_a_time_without_offset_is_rejected(hub: EmbeddedHub) -> None:
    naive = registration(hub.kiosk_id, someone(8000), at=datetime(2026, 9, 9, 8, 0))
    with pytest.raises(HubRejected) as caught:
        client_of(hub).register(naive)
    assert caught.value.status == 422


def test_logs_carry_no_names_id_numbers_or_card_codes(hub: EmbeddedHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="server")
    caplog.set_level("DEBUG", logger="drivers")
    client = client_of(hub)
    an, data = sample(1)
    check = client.check_insurance(an, data["bhyt_card_code"])
    receipt = client.register(registration(hub.kiosk_id, an, insurance_check=check), printed_number="K9-A-001")
    client.register(registration(hub.kiosk_id, an, key=receipt.registration_key))
    with pytest.raises(HubRejected):  # an error path too
        client.register(registration(hub.kiosk_id, an, department="NHI", key=receipt.registration_key))
    assert caplog.records  # the hub did log what happened
    for secret in (an.full_name, an.id_number, data["bhyt_card_code"], "NGUYỄN", an.place_of_residence):
        assert secret not in caplog.text


def test_restarting_the_embedded_hub_keeps_its_data_and_kiosk(tmp_path: Path) -> None:
    day = datetime(2026, 10, 1, 8, 0, tzinfo=VIETNAM_TZ)
    first = start_embedded_hub(tmp_path / "hub.sqlite3")
    try:
        assert client_of(first).register(registration(first.kiosk_id, someone(9000), at=day)).queue_number == 1
    finally:
        first.stop()
    second = start_embedded_hub(tmp_path / "hub.sqlite3")
    try:
        assert (second.kiosk_id, second.kiosk_secret) == (first.kiosk_id, first.kiosk_secret)
        assert client_of(second).register(registration(second.kiosk_id, someone(9001), at=day)).queue_number == 2
        old_token = requests.get(
            second.url + "/api/v1/admin/kiosks", headers={"Authorization": f"Bearer {first.admin_token}"}, timeout=10
        )
        assert old_token.status_code == 401
        assert admin_get(second, "/api/v1/admin/kiosks").status_code == 200
    finally:
        second.stop()
