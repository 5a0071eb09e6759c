"""A whole check-in without the screens: real wiring, real hub over HTTP.

The kiosk is built by `launcher.wiring.build_kiosk` exactly as the demo and
production build it: the simulated reader holds a sample chip read over
APDUs (BAC + secure messaging), the simulated camera shows the card's QR to
the zxing decoder, the hub runs in-process on a SQLite file on 127.0.0.1,
the outbox is an encrypted SQLite file, and the printer writes files.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drivers.printer.raster import ensure_qt_gui_application
from kiosk.config import load_config
from kiosk.domain import NumberIssuer, VisitType
from kiosk.flow import Step
from launcher.wiring import build_kiosk


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    """Bounded wait for another thread (scanner, card watcher, sync)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def kiosk(tmp_path: Path, request):
    ensure_qt_gui_application()  # the ticket renderer needs Qt's font database
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_HUB_REGISTER_TIMEOUT_SECONDS": "3",
        }
        | getattr(request, "param", {}),
    )
    k = build_kiosk(config)
    k.start()
    yield k
    k.stop()


def check_in(kiosk, slot: int, department: str | None = None):
    desk, flow = kiosk.desk, kiosk.flow
    kiosk.simulator.tap(slot)
    wait_for(lambda: flow.state.step is Step.IDENTITY_CHECK, what="chip read")
    identity = flow.state.session.identity
    desk.confirm_identity()
    assert flow.state.step is Step.INSURANCE and flow.state.session.insurance is not None
    insurance = flow.state.session.insurance
    desk.continue_from_insurance()
    desk.choose_visit_type(VisitType.NEW)
    reference = flow.state.reference
    dept = next(d for d in reference.departments if d.code == department) if department else reference.departments[0]
    desk.choose_department(dept.code)
    if flow.state.step is Step.DEPARTMENT:
        desk.choose_service(reference.services_of(dept.code)[0].code)
    assert flow.state.step is Step.CONFIRM
    desk.confirm()
    assert flow.state.step is Step.DONE
    ticket = flow.state.session.ticket
    kiosk.simulator.lift()
    desk.finish()
    return identity, insurance, ticket


def test_every_sample_citizen_checks_in_and_gets_a_hub_number(kiosk):
    departments = [d.code for d in wait_for(lambda: kiosk.flow.state.reference, what="reference").departments]
    numbers = []
    for slot in (1, 2, 3, 4):
        identity, insurance, ticket = check_in(kiosk, slot, departments[0])
        assert identity.source.value == "chip"
        assert identity.verification.value == "genuine"  # the simulated cards chain to the TEST CSCA
        assert identity.citizen.photo, "the DG2 face reached the identity screen"
        assert ticket.issuer is NumberIssuer.HUB
        numbers.append(ticket.queue_number if hasattr(ticket, "queue_number") else ticket.display_number)
        assert insurance.result_code in {"000", "004", "010", "050"}
    # Gapless, in order, in one department.
    assert [int(n.split("-")[-1]) for n in numbers] == [1, 2, 3, 4]
    pngs = sorted((kiosk.config.data_dir().parent / "tickets").glob("*.png"))
    bins = sorted((kiosk.config.data_dir().parent / "tickets").glob("*.bin"))
    assert len(pngs) == 4 and len(bins) == 4
    assert kiosk.outbox.pending_count() == 0


@pytest.mark.parametrize(
    "kiosk",
    [{}, {"KIOSK_HUB_OFFLINE_NUMBER_BLOCK": "0"}],
    ids=["leased-band-number", "kiosk-series-without-leases"],
    indirect=True,
)
def test_hub_down_prints_an_offline_number_and_syncs_it_later(kiosk, tmp_path):
    from drivers.hub.http_client import HttpHubClient
    from kiosk.domain import VIETNAM_TZ
    from server.embedded import start_embedded_hub

    reference = wait_for(lambda: kiosk.flow.state.reference, what="reference")
    prefix = reference.departments[0].queue_prefix
    today = kiosk.desk._clock.now().astimezone(VIETNAM_TZ).date()
    block = kiosk.config["hub.offline_number_block"]
    if block:
        kiosk.sync.sync_now()  # a pass with the hub online tops the leases up
        wait_for(lambda: kiosk.outbox.leased_numbers_left(prefix, today) == block, what="a leased block")
    hub = kiosk.embedded_hub
    port = int(hub.url.rsplit(":", 1)[1])
    hub.stop()

    _, _, ticket = check_in(kiosk, 2)
    assert ticket.issuer is NumberIssuer.KIOSK
    if block:
        # The hub's own format, from the department's outage band (NOI: 240 a day, so 301 on).
        assert ticket.display_number == f"{prefix}-301"
        assert kiosk.outbox.leased_numbers_left(prefix, today) == block - 1
    else:
        assert ticket.display_number == f"K01-{prefix}001"
    assert kiosk.outbox.pending_count() == 1

    # The hub comes back on the same address and database.
    revived = start_embedded_hub(tmp_path / "data" / "hub.sqlite3", port=port)
    kiosk.embedded_hub = revived
    kiosk.sync.sync_now()
    wait_for(lambda: kiosk.outbox.pending_count() == 0, what="sync after the hub returned")
    # The hub kept the number the patient holds, and has exactly one record.
    admin = HttpHubClient(revived.url, revived.kiosk_id, revived.kiosk_secret)
    day = ticket.issued_at.date().isoformat()
    import requests

    answer = requests.get(
        f"{revived.url}/api/v1/admin/checkins",
        params={"date": day, "format": "json"},
        headers={"Authorization": f"Bearer {revived.admin_token}"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    records = body["records"] if isinstance(body, dict) else body
    assert len(records) == 1
    # The receipt the outbox got back carries the printed number, and asking
    # again with the same key gives the same answer (idempotent).
    receipt = kiosk.outbox.receipt(ticket.registration_key)
    assert receipt.display_number == ticket.display_number
    again = admin.register(kiosk.outbox.get(ticket.registration_key))
    assert again.display_number == ticket.display_number
    assert again.episode_key == records[0]["MA_LK"]
    admin.close()
    revived.stop()


def test_qr_without_the_chip_is_marked_not_verified(kiosk):
    from launcher.wiring import cccd_qr_text

    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    citizen = kiosk.simulator.citizens[0]
    kiosk.simulator.show_qr(cccd_qr_text(citizen))
    wait_for(lambda: kiosk.flow.state.prompt == "place_card_after_qr", what="QR decoded")
    kiosk.desk.use_qr_without_chip()
    identity = kiosk.flow.state.session.identity
    assert identity.verification.value == "not_verified"
    assert identity.citizen.full_name == citizen["full_name"]


def test_fully_simulated_wiring_in_memory_hub_and_shifted_clock(tmp_path):
    """Every seam on its simulated backend, chosen by configuration alone."""
    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_HUB_BACKEND": "simulated",
            "KIOSK_KIOSK_CLOCK": "simulated",
            "KIOSK_KIOSK_SIMULATED_START": "2027-01-04T07:30:00+07:00",
        },
    )
    k = build_kiosk(config)
    k.start()
    try:
        assert k.embedded_hub is None
        _, _, ticket = check_in(k, 4)
        assert ticket.issuer is NumberIssuer.HUB
        assert ticket.issued_at.date().isoformat() == "2027-01-04"
    finally:
        k.stop()
