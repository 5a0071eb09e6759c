"""Re-exam appointments and referral papers, and patients known only by a BHYT card.

Real hub on 127.0.0.1 (SQLite, and PostgreSQL when test-services.sh started
one), used through the kiosk's HttpHubClient and the admin API.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from drivers.hub.http_client import HttpHubClient
from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    Identity,
    IdentitySource,
    Registration,
    Sex,
    Verification,
    VisitType,
)
from kiosk.errors import HubRejected
from server.db import create_hub_engine, session_factory
from server.embedded import EmbeddedHub
from server.models import Patient, VisitPaper
from server.seed import DEMO_APPOINTMENT_NUMBER, DEMO_APPOINTMENT_PATIENT_ID
from postgres_support import DATABASES, embedded_hub_on





@pytest.fixture(scope="module", params=DATABASES)
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedHub]:
    with embedded_hub_on(request.param, tmp_path_factory.mktemp("papers"), "kiosk_papers_test") as embedded:
        yield embedded


_counter = iter(range(10_000_000))


def person() -> Citizen:
    n = next(_counter) + os.getpid() % 1000 * 10_000
    return Citizen(f"0011{n:08d}", "LÊ VĂN HẸN", date(1970, 5, 6), Sex.MALE)


def client(hub: EmbeddedHub) -> HttpHubClient:
    return HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)


def admin_post(hub: EmbeddedHub, path: str, body: dict) -> requests.Response:
    return requests.post(
        hub.url + "/api/v1/admin" + path, json=body, headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10
    )


def registration(hub: EmbeddedHub, citizen: Citizen, visit: VisitType, paper: str | None, card: str | None = None,
                 source: IdentitySource = IdentitySource.CHIP) -> Registration:
    return Registration(
        key=uuid.uuid4().hex,
        kiosk_id=hub.kiosk_id,
        identity=Identity(citizen, source, Verification.CHIP_READ, insurance_card_code=card),
        insurance=None,
        visit_type=visit,
        department_code="NOI",
        service_code="KB.NOI",
        created_at=datetime.now(VIETNAM_TZ),
        paper_number=paper,
    )


def today() -> date:
    return datetime.now(VIETNAM_TZ).date()


# -- appointments ---------------------------------------------------------------------


def test_an_appointment_is_found_by_id_applied_to_the_visit_and_used_up(hub: EmbeddedHub) -> None:
    patient = person()
    recorded = admin_post(
        hub,
        "/appointments",
        {"id_number": patient.id_number, "SO_GIAYHEN_KL": "GH-0042", "NGAY_HEN_KL": today().isoformat(),
         "department_code": "TIMMACH", "service_code": "KB.TIMMACH"},
    )
    assert recorded.status_code == 201, recorded.text
    answer = recorded.json()
    assert answer["qr_text"] == f"VNKIOSK:APPT:{answer['reference']}"

    paper = client(hub).find_visit_paper(patient, None)
    assert paper is not None
    assert paper.visit_type is VisitType.RE_EXAM
    assert (paper.paper_number, paper.department_code, paper.service_code) == ("GH-0042", "TIMMACH", "KB.TIMMACH")
    assert paper.appointment_date == today()

    client(hub).register(registration(hub, patient, VisitType.RE_EXAM, "GH-0042"))
    assert client(hub).find_visit_paper(patient, None) is None, "a used paper is not offered again"


def test_the_slip_qr_answers_only_for_its_own_patient(hub: EmbeddedHub) -> None:
    owner, stranger = person(), person()
    reference = admin_post(
        hub, "/appointments", {"id_number": owner.id_number, "SO_GIAYHEN_KL": "GH-7", "NGAY_HEN_KL": today().isoformat()}
    ).json()["reference"]
    assert client(hub).find_visit_paper(owner, None, reference).reference == reference
    assert client(hub).find_visit_paper(stranger, None, reference) is None
    assert client(hub).find_visit_paper(owner, None, "HNOSUCHREF") is None


def test_an_appointment_far_from_its_date_is_not_open(hub: EmbeddedHub) -> None:
    patient = person()
    for day in (today() + timedelta(days=20), today() - timedelta(days=40)):
        assert admin_post(
            hub, "/appointments", {"id_number": patient.id_number, "SO_GIAYHEN_KL": "GH-X", "NGAY_HEN_KL": day.isoformat()}
        ).status_code == 201
    assert client(hub).find_visit_paper(patient, None) is None


def test_a_cancelled_appointment_is_not_offered(hub: EmbeddedHub) -> None:
    patient = person()
    reference = admin_post(
        hub, "/appointments", {"id_number": patient.id_number, "SO_GIAYHEN_KL": "GH-9", "NGAY_HEN_KL": today().isoformat()}
    ).json()["reference"]
    assert admin_post(hub, f"/papers/{reference}/cancel", {}).status_code == 204
    assert client(hub).find_visit_paper(patient, None) is None
    assert admin_post(hub, "/papers/HNOSUCHREF/cancel", {}).status_code == 404


# -- referrals -------------------------------------------------------------------------


def test_a_referral_carries_its_paper_code_and_origin(hub: EmbeddedHub) -> None:
    patient = person()
    recorded = admin_post(
        hub,
        "/referrals",
        {"id_number": patient.id_number, "SO_CHUYENTUYEN": "CT-118", "GIAY_CHUYEN_TUYEN": "79024/CT/118",
         "MA_NOI_DI": "79024", "department_code": "MAT"},
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["qr_text"].startswith("VNKIOSK:REF:C")
    paper = client(hub).find_visit_paper(patient, None)
    assert paper is not None and paper.visit_type is VisitType.REFERRAL
    assert (paper.paper_number, paper.from_facility, paper.department_code) == ("79024/CT/118", "79024", "MAT")


def test_a_referral_recorded_by_bhyt_card_is_found_for_the_cccd_holder_with_that_card(hub: EmbeddedHub) -> None:
    patient = person()
    card = "GD4797920" + patient.id_number[-6:]
    admin_post(hub, "/referrals", {"card_code": card, "SO_CHUYENTUYEN": "CT-5", "MA_NOI_DI": "79024"})
    assert client(hub).find_visit_paper(patient, None) is None
    # A renewed card keeps the last ten characters (the BHXH number).
    assert client(hub).find_visit_paper(patient, "DN4" + card[3:]).paper_number == "CT-5"


@pytest.mark.parametrize(
    "body, error",
    [
        ({"SO_GIAYHEN_KL": "GH-1", "NGAY_HEN_KL": "2026-11-22"}, "invalid_request"),  # nobody
        ({"id_number": "123", "SO_GIAYHEN_KL": "GH-1", "NGAY_HEN_KL": "2026-11-22"}, "invalid_request"),
        ({"id_number": "001122334455", "SO_GIAYHEN_KL": "", "NGAY_HEN_KL": "2026-11-22"}, "invalid_request"),
        ({"id_number": "001122334455", "SO_GIAYHEN_KL": "GH-1", "NGAY_HEN_KL": "22/11/2026"}, "invalid_request"),
        ({"id_number": "001122334455", "SO_GIAYHEN_KL": "GH-1", "NGAY_HEN_KL": "2026-11-22",
          "department_code": "NOPE"}, "unknown_department"),
        ({"id_number": "001122334455", "SO_GIAYHEN_KL": "GH-1", "NGAY_HEN_KL": "2026-11-22",
          "department_code": "NOI", "service_code": "KB.MAT"}, "unknown_service"),
    ],
)
def test_bad_appointments_are_refused_with_a_reason_and_nothing_is_stored(hub: EmbeddedHub, body: dict, error: str) -> None:
    before = _paper_count(hub)
    answer = admin_post(hub, "/appointments", body)
    assert answer.status_code == 422 and answer.json()["error"] == error
    assert "001122334455" not in answer.text, "the refusal does not echo the ID number"
    assert _paper_count(hub) == before


def test_recording_papers_needs_an_admin_token(hub: EmbeddedHub) -> None:
    answer = requests.post(hub.url + "/api/v1/admin/appointments", json={}, timeout=10)
    assert answer.status_code == 401


def test_the_lookup_is_signed_like_every_kiosk_call(hub: EmbeddedHub) -> None:
    answer = requests.post(hub.url + "/api/v1/papers/lookup", json={"id_number": "001122334455"}, timeout=10)
    assert answer.status_code == 401


def test_the_demo_patient_has_an_open_appointment(hub: EmbeddedHub) -> None:
    citizen = Citizen(DEMO_APPOINTMENT_PATIENT_ID, "TRẦN THỊ BÌNH", date(1990, 11, 20), Sex.FEMALE)
    paper = client(hub).find_visit_paper(citizen, None)
    assert paper is not None and paper.paper_number == DEMO_APPOINTMENT_NUMBER and paper.department_code == "NOI"


# -- patients without a CCCD number --------------------------------------------------


def test_bhyt_only_patients_are_keyed_by_their_card_not_an_empty_id(hub: EmbeddedHub) -> None:
    def bhyt_patient(name: str) -> Citizen:
        return Citizen("", name, date(1950, 1, 1), Sex.FEMALE)

    n = next(_counter)
    card_a, card_b = f"HT27979{n:08d}", f"HT27979{n + 1:08d}"
    first = client(hub).register(
        registration(hub, bhyt_patient("PHẠM THỊ MỘT"), VisitType.NEW, None, card_a, IdentitySource.BHYT_QR)
    )
    second = client(hub).register(
        registration(hub, bhyt_patient("PHẠM THỊ HAI"), VisitType.NEW, None, card_b, IdentitySource.BHYT_QR)
    )
    again = client(hub).register(
        registration(hub, bhyt_patient("PHẠM THỊ MỘT"), VisitType.NEW, None, "GD4" + card_a[3:], IdentitySource.BHYT_QR)
    )
    assert len({first.display_number, second.display_number, again.display_number}) == 3
    engine = create_hub_engine(hub.settings.resolved_database_url())
    try:
        with session_factory(engine)() as session:
            rows = session.scalars(
                select(Patient).where(Patient.patient_key.in_(["BHXH:" + card_a[-10:], "BHXH:" + card_b[-10:]]))
            ).all()
            assert len(rows) == 2, "two people, and the renewed card is the same person"
            assert all(r.id_number is None for r in rows)
    finally:
        engine.dispose()


def test_a_registration_without_id_or_card_is_refused(hub: EmbeddedHub) -> None:
    nobody = Citizen("", "KHÔNG CÓ SỐ", None, Sex.UNDETERMINED)
    with pytest.raises(HubRejected) as caught:
        client(hub).register(registration(hub, nobody, VisitType.NEW, None, None, IdentitySource.BHYT_QR))
    assert caught.value.status == 422


def _paper_count(hub: EmbeddedHub) -> int:
    engine = create_hub_engine(hub.settings.resolved_database_url())
    try:
        with session_factory(engine)() as session:
            return len(session.scalars(select(VisitPaper.id)).all())
    finally:
        engine.dispose()


def test_papers_table_exists_after_migration(tmp_path: Path) -> None:
    from server import migrate

    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    migrate.upgrade(url)
    migrate.downgrade(url, revision="0001")
    migrate.upgrade(url)


def _checkins(hub: EmbeddedHub, fmt: str = "json") -> requests.Response:
    return requests.get(
        hub.url + "/api/v1/admin/checkins",
        params={"date": today().isoformat(), "department": "NOI", "format": fmt},
        headers={"Authorization": f"Bearer {hub.admin_token}"},
        timeout=10,
    )


def test_the_export_names_where_a_referral_came_from(hub: EmbeddedHub) -> None:
    patient = person()
    admin_post(
        hub, "/referrals",
        {"id_number": patient.id_number, "SO_CHUYENTUYEN": "CT-77", "GIAY_CHUYEN_TUYEN": "79024/CT/77", "MA_NOI_DI": "79024"},
    )
    paper = client(hub).find_visit_paper(patient, None)
    client(hub).register(registration(hub, patient, VisitType.REFERRAL, paper.paper_number))
    records = [r for r in _checkins(hub).json()["records"] if r["GIAY_CHUYEN_TUYEN"] == "79024/CT/77"]
    assert len(records) == 1 and records[0]["MA_NOI_DI"] == "79024"
    assert client(hub).find_visit_paper(patient, None) is None


def test_a_bhyt_only_patient_exports_an_empty_cccd_number(hub: EmbeddedHub) -> None:
    import xml.etree.ElementTree as ET

    card = f"HS47979{next(_counter) + 50_000_000:08d}"
    client(hub).register(
        registration(hub, Citizen("", "VŨ THỊ THẺ", date(1960, 2, 2), Sex.FEMALE), VisitType.NEW, None, card,
                     IdentitySource.BHYT_QR)
    )
    items = ET.fromstring(_checkins(hub, "xml").content).iter("TRANG_THAI_KCB")
    mine = [i for i in items if i.findtext("HO_TEN") == "VŨ THỊ THẺ"]
    assert mine and all(i.findtext("SO_CCCD") == "" for i in mine)
