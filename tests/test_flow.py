"""The check-in state machine, driven without Qt or devices."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.domain import (
    Citizen,
    Department,
    Identity,
    IdentitySource,
    InsuranceCheck,
    InsuranceStatus,
    NumberIssuer,
    QueueTicket,
    ReferenceData,
    Service,
    Sex,
    Verification,
    VisitType,
)
from kiosk.flow import ORDER, CheckInFlow, ErrorInfo, FlowError, Step
from kiosk.clock import ManualClock

CITIZEN = Citizen("001058012345", "NGUYỄN VĂN AN", date(1958, 7, 2), Sex.MALE, photo=b"\x89PNG...")
IDENTITY = Identity(CITIZEN, IdentitySource.CHIP, Verification.CHIP_READ)
DEPT = Department("NOI", "Khoa Nội", "Internal medicine", "101", "1", "A")
OTHER_DEPT = Department("NHI", "Khoa Nhi", "Paediatrics", "201", "2", "B")
SERVICE = Service("KB-NOI", "NOI", "Khám Nội", "Internal exam", 50_000, 34_500)
CHECK = InsuranceCheck("000", InsuranceStatus.VALID, "Thẻ hợp lệ", "Card valid")


def ticket() -> QueueTicket:
    return QueueTicket("k1", "A-001", NumberIssuer.HUB, DEPT, SERVICE, CITIZEN.masked_name, ManualClock().now(), InsuranceStatus.VALID, 0)


def walk_to(flow: CheckInFlow, step: Step) -> None:
    """Drive the flow through the happy path up to `step`."""
    actions = [
        lambda: flow.start(),
        lambda: flow.identified(IDENTITY),
        lambda: flow.confirm_identity(),
        lambda: (flow.insurance_checked(CHECK), flow.continue_from_insurance()),
        lambda: flow.choose_visit_type(VisitType.NEW),
        lambda: (flow.choose_department(DEPT), flow.choose_service(SERVICE)),
        lambda: flow.confirm(),
        lambda: (flow.ticket_issued(ticket(), None), flow.printed()),
    ]
    for action in actions:
        if flow.state.step is step:
            return
        action()
    assert flow.state.step is step


def test_happy_path_visits_every_step_in_order():
    flow = CheckInFlow()
    seen: list[Step] = []
    flow.subscribe(lambda s: seen.append(s.step) if not seen or seen[-1] is not s.step else None)
    walk_to(flow, Step.DONE)
    flow.finish()
    assert seen == list(ORDER) + [Step.IDLE]
    assert flow.state.session.identity is None


def test_observer_gets_current_state_on_subscribe():
    flow = CheckInFlow()
    walk_to(flow, Step.VISIT_TYPE)
    got = []
    flow.subscribe(got.append)
    assert got[0].step is Step.VISIT_TYPE
    assert got[0].session.identity is IDENTITY


@pytest.mark.parametrize("step", [s for s in ORDER if s is not Step.IDLE])
def test_idle_timeout_wipes_personal_data_from_every_step(step):
    flow = CheckInFlow(idle_timeout=60)
    flow.touch(100.0)
    walk_to(flow, step)
    state = flow.state
    if state.busy:
        # A read or print in progress is activity: no wipe under it.
        assert flow.tick(100.0 + 3600) is False
        return
    assert flow.tick(159.0) is False
    assert flow.tick(160.0) is True
    assert flow.state.step is Step.IDLE
    assert flow.state.session.identity is None
    assert flow.state.session.ticket is None


def test_touch_restarts_the_countdown():
    flow = CheckInFlow(idle_timeout=60)
    flow.touch(0.0)
    walk_to(flow, Step.VISIT_TYPE)
    flow.touch(50.0)
    assert flow.tick(100.0) is False
    assert flow.seconds_left(100.0) == pytest.approx(10.0)
    assert flow.tick(110.0) is True


def test_events_out_of_order_are_refused():
    flow = CheckInFlow()
    with pytest.raises(FlowError):
        flow.confirm()
    walk_to(flow, Step.INSURANCE)
    with pytest.raises(FlowError):
        flow.continue_from_insurance()  # the check is still running
    flow.insurance_checked(CHECK)
    flow.continue_from_insurance()
    with pytest.raises(FlowError):
        flow.identified(IDENTITY)  # a late chip read must not restart the flow


def test_service_must_belong_to_department():
    flow = CheckInFlow()
    walk_to(flow, Step.DEPARTMENT)
    flow.choose_department(OTHER_DEPT)
    with pytest.raises(FlowError):
        flow.choose_service(SERVICE)


def test_back_walks_back_and_to_idle_wipes():
    flow = CheckInFlow()
    walk_to(flow, Step.CONFIRM)
    flow.back()
    assert flow.state.step is Step.DEPARTMENT
    flow.back()
    flow.back()
    flow.back()
    assert flow.state.step is Step.IDENTITY_CHECK
    flow.back()
    assert flow.state.step is Step.IDLE
    assert flow.state.session.identity is None


def test_no_way_back_while_printing():
    flow = CheckInFlow()
    walk_to(flow, Step.PRINTING)
    with pytest.raises(FlowError):
        flow.back()


def test_error_with_retry_keeps_session_and_without_wipes():
    flow = CheckInFlow()
    walk_to(flow, Step.IDENTIFY)
    flow.fail(ErrorInfo("card_removed", "vi", "en", retry_step=Step.IDENTIFY))
    assert flow.state.step is Step.ERROR
    flow.retry()
    assert flow.state.step is Step.IDENTIFY
    walk_to(flow, Step.INSURANCE)
    flow.fail(ErrorInfo("storage_error", "vi", "en"))
    assert flow.state.session.identity is None
    flow.retry()
    assert flow.state.step is Step.IDLE


def test_print_failure_still_reaches_done_with_the_number():
    flow = CheckInFlow()
    walk_to(flow, Step.PRINTING)
    flow.ticket_issued(ticket(), b"png")
    flow.printed(ErrorInfo("printer_paper_out", "vi", "en"))
    assert flow.state.step is Step.DONE
    assert flow.state.session.ticket.display_number == "A-001"
    assert flow.state.session.print_error.code == "printer_paper_out"


def test_reference_data_survives_wipes():
    flow = CheckInFlow()
    ref = ReferenceData((DEPT,), (SERVICE,))
    flow.set_reference(ref)
    walk_to(flow, Step.DONE)
    flow.finish()
    assert flow.state.reference is ref


def test_personal_data_stays_out_of_reprs():
    flow = CheckInFlow()
    walk_to(flow, Step.CONFIRM)
    text = repr(flow.state)
    assert "NGUYỄN" not in text and "001058012345" not in text
