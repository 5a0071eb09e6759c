"""A returning patient: the hub's appointment preselects the visit at the kiosk.

Real wiring (`launcher.wiring.build_kiosk`): sample chip over APDUs, the
embedded hub on 127.0.0.1 with sample citizen 2's demo appointment.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drivers.printer.raster import ensure_qt_gui_application
from kiosk.config import load_config
from kiosk.domain import VisitPaper, VisitType
from kiosk.flow import FlowError, Step
from launcher.wiring import build_kiosk, cccd_qr_text
from server.seed import DEMO_APPOINTMENT_NUMBER


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def make_kiosk(tmp_path: Path, **env: str):
    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_HUB_REGISTER_TIMEOUT_SECONDS": "3",
            **env,
        },
    )
    kiosk = build_kiosk(config)
    kiosk.start()
    return kiosk


@pytest.fixture
def kiosk(tmp_path: Path):
    k = make_kiosk(tmp_path)
    yield k
    k.stop()


def identify(kiosk, slot: int) -> None:
    kiosk.simulator.tap(slot)
    wait_for(lambda: kiosk.flow.state.step is Step.IDENTITY_CHECK, what="chip read")
    kiosk.desk.confirm_identity()
    assert kiosk.flow.state.step is Step.INSURANCE and not kiosk.flow.state.busy


def test_a_re_exam_patient_gets_visit_type_department_and_service_in_one_touch(kiosk) -> None:
    flow, desk = kiosk.flow, kiosk.desk
    wait_for(lambda: flow.state.reference, what="reference")
    identify(kiosk, 2)
    paper = flow.state.session.visit_paper
    assert paper is not None and paper.visit_type is VisitType.RE_EXAM
    desk.continue_from_insurance()
    assert flow.state.step is Step.VISIT_TYPE
    desk.use_visit_paper()
    session = flow.state.session
    assert flow.state.step is Step.CONFIRM
    assert session.visit_type is VisitType.RE_EXAM
    assert session.paper_number == DEMO_APPOINTMENT_NUMBER
    assert (session.department.code, session.service.code) == ("NOI", "KB.NOI")
    desk.back()  # the choices can still be changed, step by step
    assert flow.state.step is Step.DEPARTMENT
    desk.choose_service("KB.NOI")
    desk.confirm()
    assert flow.state.step is Step.DONE
    kiosk.simulator.lift()
    desk.finish()
    # The card watcher polls: let it see the card go before the next tap.
    wait_for(lambda: not desk._card_on_reader, what="card lifted")

    # The paper is used: the next check-in of the same patient is a plain one.
    # (The scanner ignores the same QR seen again within a moment, so the
    # card's QR is handed to the desk as the camera would after a pause.)
    citizen = next(c for c in kiosk.simulator.citizens if c["slot"] == 2)
    kiosk.simulator.tap(2)
    wait_for(lambda: flow.state.step is Step.IDENTIFY and not flow.state.busy, what="card seen")
    desk.qr_scanned(cccd_qr_text(citizen))
    wait_for(lambda: flow.state.step is Step.IDENTITY_CHECK, what="chip read")
    desk.confirm_identity()
    assert flow.state.session.visit_paper is None
    desk.cancel()


def test_a_patient_without_a_paper_sees_nothing_preselected(kiosk) -> None:
    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    identify(kiosk, 1)
    assert kiosk.flow.state.session.visit_paper is None
    kiosk.desk.continue_from_insurance()
    with pytest.raises(FlowError):
        kiosk.desk.use_visit_paper()
    kiosk.desk.choose_visit_type(VisitType.RE_EXAM)  # typed nothing, found nothing
    assert kiosk.flow.state.session.paper_number is None


def test_choosing_re_exam_by_hand_fills_in_the_paper_number(kiosk) -> None:
    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    identify(kiosk, 2)
    kiosk.desk.continue_from_insurance()
    kiosk.desk.choose_visit_type(VisitType.RE_EXAM)
    assert kiosk.flow.state.session.paper_number == DEMO_APPOINTMENT_NUMBER
    assert kiosk.flow.state.step is Step.DEPARTMENT


def test_a_scanned_slip_then_the_card_finds_the_appointment(kiosk) -> None:
    hub = kiosk.embedded_hub
    from drivers.hub.http_client import HttpHubClient
    from kiosk.domain import Citizen, Sex

    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    probe = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)
    paper = probe.find_visit_paper(Citizen("079190004567", "X", None, Sex.FEMALE), None)
    kiosk.desk.qr_scanned(f"VNKIOSK:APPT:{paper.reference}")
    assert kiosk.flow.state.step is Step.IDENTIFY and kiosk.flow.state.prompt == "place_card"
    identify(kiosk, 2)
    assert kiosk.flow.state.session.visit_paper.reference == paper.reference


def test_someone_elses_slip_does_not_give_their_appointment(kiosk) -> None:
    hub = kiosk.embedded_hub
    from drivers.hub.http_client import HttpHubClient
    from kiosk.domain import Citizen, Sex

    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    probe = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)
    paper = probe.find_visit_paper(Citizen("079190004567", "X", None, Sex.FEMALE), None)
    kiosk.desk.qr_scanned(f"VNKIOSK:APPT:{paper.reference}")
    identify(kiosk, 1)  # citizen 1 holds citizen 2's slip
    assert kiosk.flow.state.session.visit_paper is None


def test_hub_down_at_the_lookup_still_lets_the_patient_go_on(tmp_path: Path) -> None:
    kiosk = make_kiosk(tmp_path, KIOSK_HUB_BACKEND="simulated", KIOSK_CAMERA_BACKEND="none")
    try:
        hub = kiosk.desk._hub  # the in-memory hub: a network outage is a flag
        hub.add_visit_paper("079190004567", None, VisitPaper("HTEST00001", VisitType.RE_EXAM, "GH-1", "NOI"))
        wait_for(lambda: kiosk.flow.state.reference, what="reference")
        hub.down = True
        kiosk.desk.qr_scanned(
            "079190004567||TRẦN THỊ BÌNH|20111990|Nữ|45/7 Nguyễn Đình Chiểu, Phường Đa Kao, Quận 1, TP. Hồ Chí Minh|10052021"
        )
        kiosk.desk.use_qr_without_chip()
        kiosk.desk.confirm_identity()
        state = kiosk.flow.state
        assert state.step is Step.INSURANCE and state.session.visit_paper is None
        assert state.session.insurance.status.value == "unavailable"
        kiosk.desk.continue_from_insurance()
        kiosk.desk.choose_visit_type(VisitType.RE_EXAM, "GH-1")  # typed from the paper
        assert kiosk.flow.state.session.paper_number == "GH-1"
    finally:
        kiosk.stop()
