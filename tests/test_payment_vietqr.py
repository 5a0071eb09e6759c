"""VietQR for fee-paying patients: the code, the ticket, the bank callback, "paid".

Real parts throughout: the hub runs in-process on SQLite over HTTP on
127.0.0.1, the simulated bank reads the VietQR text and posts a signed
callback to it, the kiosk asks through the real `HttpHubClient`, and the
printed ticket is decoded back with zxing.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from drivers.camera.decoder import ZxingQrDecoder
from drivers.hub.http_client import HttpHubClient
from drivers.printer.raster import TicketRasterizer, ensure_qt_gui_application, qr_png
from drivers.printer.sample import SAMPLE_PAYMENT, sample_fee_paying_layout, sample_ticket
from kiosk.config import load_config
from kiosk.domain import VIETNAM_TZ, InsuranceStatus, VisitType
from kiosk.errors import ConfigError
from kiosk.flow import Step
from kiosk.payment import (
    PaymentSettings,
    PaymentWatcher,
    find_reference,
    payment_reference,
    payment_request,
)
from kiosk.qr import VietQr, parse_qr
from kiosk.ticket import QrBlock
from launcher.wiring import build_kiosk
from server.embedded import start_embedded_hub
from server.payments import CALLBACK_PATH, callback_secret, callback_secret_file, sign_callback
from server.simulated_bank import PaymentRefused, SimulatedBank

# -- the reference and the code -------------------------------------------------------


def test_reference_is_stable_short_and_ascii() -> None:
    ref = payment_reference("c0ffee00000040008000000000000012")
    assert ref == payment_reference("c0ffee00000040008000000000000012")
    assert ref.startswith("KB") and len(ref) == 18 and ref.isascii() and ref.isalnum() and ref == ref.upper()
    assert ref != payment_reference("c0ffee00000040008000000000000013")
    with pytest.raises(ValueError):
        payment_reference("")


@pytest.mark.parametrize(
    "note",
    [
        "{ref}",
        "MBVCB.123456.{ref}.CT tu 0123 toi 4567",
        "{lower} chuyen tien",  # lower-cased by an app
        "IBFT {spaced} FT25073",  # split by a bank's line wrapping
    ],
)
def test_reference_found_in_what_banks_do_to_a_note(note: str) -> None:
    ref = payment_reference("k-1234567890")
    spaced = ref[:6] + " " + ref[6:12] + "-" + ref[12:]
    assert find_reference(note.format(ref=ref, lower=ref.lower(), spaced=spaced)) == ref


def test_no_reference_in_an_unrelated_note() -> None:
    assert find_reference("chuyen tien an trua") is None
    assert find_reference("KB12345") is None  # too short to be ours


def test_payment_request_builds_a_dynamic_vietqr_that_parses_back() -> None:
    ticket = replace(sample_ticket(), amount_due=150_000)
    payment = payment_request(ticket, SAMPLE_PAYMENT)
    assert payment is not None
    code = parse_qr(payment.qr_payload)
    assert isinstance(code, VietQr)
    assert code.crc_ok and code.dynamic
    assert (code.bank_bin, code.account, code.amount) == ("970403", "0011012345678", 150_000)
    assert code.purpose == payment.reference == payment_reference(ticket.registration_key)
    assert (code.currency, code.country, code.service_code) == ("704", "VN", "QRIBFTTA")


def test_no_vietqr_when_nothing_is_due_or_payment_is_off() -> None:
    ticket = sample_ticket()
    assert payment_request(replace(ticket, amount_due=0), SAMPLE_PAYMENT) is None
    assert payment_request(ticket, replace(SAMPLE_PAYMENT, enabled=False)) is None
    assert payment_request(ticket, None) is None


def test_misconfigured_account_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="bank_bin"):
        payment_request(sample_ticket(), PaymentSettings(True, "97040", "0011012345678"))


def test_config_requires_bank_and_account_when_enabled() -> None:
    with pytest.raises(ConfigError, match="payment.bank_bin"):
        load_config(None, environ={"KIOSK_PAYMENT_ENABLED": "true", "KIOSK_PAYMENT_ACCOUNT": "123"})
    with pytest.raises(ConfigError, match="payment.bank_bin"):
        load_config(None, environ={"KIOSK_PAYMENT_BANK_BIN": "97A403"})
    with pytest.raises(ConfigError, match="payment.account"):
        load_config(None, environ={"KIOSK_PAYMENT_ACCOUNT": "0011-0123"})
    config = load_config(
        None,
        environ={"KIOSK_PAYMENT_ENABLED": "1", "KIOSK_PAYMENT_BANK_BIN": "970403", "KIOSK_PAYMENT_ACCOUNT": "0011012345678"},
    )
    assert config["payment.enabled"] and config["payment.bank_bin"] == "970403"


# -- on paper: both codes decode back with zxing ------------------------------------------


@pytest.mark.parametrize("width", [576, 384])
def test_printed_vietqr_decodes_back_with_zxing(qapp, width: int) -> None:
    layout = sample_fee_paying_layout()
    image = TicketRasterizer(width, 203).render(layout)
    frame = np.stack([np.asarray(image.convert("L"))] * 3, axis=-1)
    found = ZxingQrDecoder().decode(frame)
    vietqrs = [parse_qr(text) for text in found if text.startswith("000201")]
    assert len(vietqrs) == 1, found
    code = vietqrs[0]
    assert isinstance(code, VietQr) and code.crc_ok and code.amount == 150_000
    # The registration-reference QR is on the ticket too, and is not confused with it.
    assert sample_ticket().episode_key in found
    assert "THANH TOÁN / PAYMENT" in layout.text()


def test_screen_vietqr_image_decodes_back(qapp) -> None:
    payment = payment_request(replace(sample_ticket(), amount_due=150_000), SAMPLE_PAYMENT)
    assert payment is not None
    image = Image.open(io.BytesIO(qr_png(payment.qr_payload))).convert("L")
    frame = np.stack([np.asarray(image)] * 3, axis=-1)
    assert ZxingQrDecoder().decode(frame) == [payment.qr_payload]


# -- the hub: bank callback over HTTP ------------------------------------------------------


@pytest.fixture
def hub(tmp_path: Path):
    h = start_embedded_hub(tmp_path / "hub.sqlite3")
    yield h
    h.stop()


def _registered_key(hub) -> tuple[str, int]:
    """Register a fee-paying visit at the hub; return its key and amount due."""
    from kiosk.domain import Citizen, Identity, IdentitySource, InsuranceCheck, Registration, Sex, Verification

    client = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)
    reference = client.reference_data()
    service = reference.services[0]
    citizen = Citizen("001090012345", "TRẦN VĂN BÌNH", datetime(1990, 1, 1).date(), Sex.MALE)
    registration = Registration(
        key="pay" + format(int(time.time() * 1e6), "x"),
        kiosk_id="K01",
        identity=Identity(citizen, IdentitySource.CHIP, Verification.CHIP_READ),
        insurance=InsuranceCheck("050", InsuranceStatus.NOT_FOUND, "Không có thẻ", "No card"),
        visit_type=VisitType.NEW,
        department_code=service.department_code,
        service_code=service.code,
        created_at=datetime.now(VIETNAM_TZ),
    )
    receipt = client.register(registration)
    assert receipt.amount_due > 0
    return registration.key, receipt.amount_due


def _vietqr_for(key: str, amount: int) -> str:
    ticket = replace(sample_ticket(), registration_key=key, amount_due=amount)
    payment = payment_request(ticket, SAMPLE_PAYMENT)
    assert payment is not None
    return payment.qr_payload


def test_bank_callback_marks_the_registration_paid(hub) -> None:
    key, amount = _registered_key(hub)
    client = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret)
    before = client.payment_status(key)
    assert before.paid_amount == 0 and not before.covers(amount) and before.amount_due == amount

    bank = SimulatedBank(hub.url, callback_secret(hub.settings))
    delivery = bank.pay(_vietqr_for(key, amount))
    assert delivery.status_code == 200 and delivery.answer == {"ok": True, "matched": True, "duplicate": False}

    after = client.payment_status(key)
    assert after.reference == payment_reference(key)
    assert after.paid_amount == amount and after.covers(amount) and after.paid_at is not None


def test_a_repeated_callback_is_counted_once(hub) -> None:
    key, amount = _registered_key(hub)
    bank = SimulatedBank(hub.url, callback_secret(hub.settings))
    first = bank.pay(_vietqr_for(key, amount), amount=amount // 2)
    note = f"MBVCB.{first.transaction_id}.{payment_reference(key)}"
    again = bank.deliver(first.transaction_id, "0011012345678", amount // 2, note)
    assert again.status_code == 200 and again.answer["duplicate"] is True
    status = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret).payment_status(key)
    assert status.paid_amount == amount // 2 and not status.covers(amount)


def test_partial_payments_add_up(hub) -> None:
    key, amount = _registered_key(hub)
    bank = SimulatedBank(hub.url, callback_secret(hub.settings))
    bank.pay(_vietqr_for(key, amount), amount=amount - 1000)
    bank.pay(_vietqr_for(key, amount), amount=1000)
    assert HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret).payment_status(key).covers(amount)


def test_a_payment_before_the_registration_arrives_is_kept(hub) -> None:
    # An offline number: the patient pays before the outbox delivers the visit.
    key = "offline" + "0" * 25
    bank = SimulatedBank(hub.url, callback_secret(hub.settings))
    assert bank.pay(_vietqr_for(key, 150_000)).answer["matched"] is True
    status = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret).payment_status(key)
    assert status.amount_due is None and status.paid_amount == 150_000 and status.covers(150_000)


def test_transfer_without_reference_is_kept_unmatched(hub) -> None:
    bank = SimulatedBank(hub.url, callback_secret(hub.settings))
    answer = bank.deliver("FT1", "0011012345678", 50_000, "chuyen tien an trua")
    assert answer.status_code == 200 and answer.answer["matched"] is False


def _post(hub, body: bytes, timestamp: str, signature: str) -> requests.Response:
    return requests.post(
        hub.url + CALLBACK_PATH,
        data=body,
        headers={"X-Bank-Timestamp": timestamp, "X-Bank-Signature": signature, "Content-Type": "application/json"},
        timeout=5,
    )


def _body(**changes) -> bytes:
    data = {
        "transaction_id": "FT9",
        "account": "0011012345678",
        "amount": 150_000,
        "content": payment_reference("k-forged-1"),
        "transferred_at": datetime.now(VIETNAM_TZ).isoformat(),
    }
    data.update(changes)
    return json.dumps(data).encode()


def test_wrong_signature_is_refused_and_nothing_is_stored(hub) -> None:
    body, now = _body(), str(int(time.time()))
    assert _post(hub, body, now, sign_callback("not-the-secret", now, body)).status_code == 401
    assert _post(hub, body, now, "").status_code == 401
    # Signed, then tampered with: the amount changed after signing.
    signature = sign_callback(callback_secret(hub.settings), now, body)
    assert _post(hub, _body(amount=1_500_000), now, signature).status_code == 401
    status = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret).payment_status("k-forged-1")
    assert status.paid_amount == 0


def test_stale_callback_is_refused(hub) -> None:
    body, old = _body(), str(int(time.time()) - 3600)
    response = _post(hub, body, old, sign_callback(callback_secret(hub.settings), old, body))
    assert response.status_code == 401 and "X-Bank-Timestamp" in response.json()["reason"]


@pytest.mark.parametrize(
    "body",
    [b"not json", _body(amount=-5), _body(amount="150000abc"), _body(transaction_id=""), _body(transferred_at="2025-03-14T08:00:00")],
)
def test_malformed_callback_is_a_clear_422(hub, body: bytes) -> None:
    now = str(int(time.time()))
    response = _post(hub, body, now, sign_callback(callback_secret(hub.settings), now, body))
    assert response.status_code == 422 and response.json()["error"] == "invalid_request"


def test_callback_secret_file_is_private(hub) -> None:
    callback_secret(hub.settings)
    assert callback_secret_file(hub.settings).stat().st_mode & 0o077 == 0


def test_bank_refuses_a_code_with_a_bad_crc(hub) -> None:
    text = _vietqr_for("k-1234567890", 150_000)
    corrupted = text[:-4] + ("0000" if text[-4:] != "0000" else "1111")
    with pytest.raises(PaymentRefused, match="CRC"):
        SimulatedBank(hub.url, callback_secret(hub.settings)).pay(corrupted)


def test_status_for_a_malformed_key_is_rejected(hub) -> None:
    from kiosk.errors import HubRejected

    with pytest.raises(HubRejected):
        HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret).payment_status("bad key!")


# -- the kiosk: fee-paying check-in, VietQR on screen and ticket, then "paid" -----------------


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    """Bounded wait for another thread (card watcher, scanner)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def check_in_until_done(kiosk, fee_paying: bool = True):
    """Check in the first sample citizen whose insurance does (not) cover the visit;
    stop on the result screen."""
    desk, flow = kiosk.desk, kiosk.flow
    for slot in (1, 2, 3, 4):
        kiosk.simulator.tap(slot)
        wait_for(lambda: flow.state.step is Step.IDENTITY_CHECK, what="chip read")
        desk.confirm_identity()
        insurance = flow.state.session.insurance
        kiosk.simulator.lift()
        if insurance.status.covered == fee_paying:
            desk.cancel()
            continue
        desk.continue_from_insurance()
        desk.choose_visit_type(VisitType.NEW)
        reference = flow.state.reference
        dept = reference.departments[0]
        desk.choose_department(dept.code)
        if flow.state.step is Step.DEPARTMENT:
            desk.choose_service(reference.services_of(dept.code)[0].code)
        desk.confirm()
        assert flow.state.step is Step.DONE
        return flow.state
    raise AssertionError("no sample citizen of that kind")


@pytest.fixture
def kiosk(tmp_path: Path):
    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_HUB_REGISTER_TIMEOUT_SECONDS": "3",
            "KIOSK_PAYMENT_ENABLED": "true",
            "KIOSK_PAYMENT_BANK_BIN": "970403",
            "KIOSK_PAYMENT_ACCOUNT": "0011012345678",
            "KIOSK_PAYMENT_ACCOUNT_NAME": "BENH VIEN DA KHOA TINH",
        },
    )
    k = build_kiosk(config)
    k.start()
    yield k
    k.stop()


def test_fee_paying_check_in_shows_vietqr_and_learns_it_was_paid(kiosk) -> None:
    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    state = check_in_until_done(kiosk, fee_paying=True)
    payment = state.session.payment
    ticket = state.session.ticket
    assert payment is not None and not payment.paid
    assert payment.amount == ticket.amount_due > 0
    assert payment.qr_png, "the screen gets the code as an image"
    # The same code is on the printed ticket.
    layout = kiosk.desk.last_layout
    assert any(isinstance(b, QrBlock) and b.payload == payment.qr_payload for b in layout.blocks)
    assert kiosk.desk.payment_pending()

    # Nothing paid yet: asking changes nothing.
    assert kiosk.desk.refresh_payment() is False
    bank = SimulatedBank(kiosk.embedded_hub.url, callback_secret(kiosk.embedded_hub.settings))
    assert bank.pay(payment.qr_payload).status_code == 200
    # One round of the watcher, as its thread would do it.
    watcher = PaymentWatcher(kiosk.desk.payment_pending, kiosk.desk.refresh_payment)
    assert watcher.poll_once() is True
    assert kiosk.flow.state.session.payment.paid
    assert not kiosk.desk.payment_pending() and watcher.poll_once() is False


def test_payment_answer_for_the_previous_patient_is_ignored(kiosk) -> None:
    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    state = check_in_until_done(kiosk, fee_paying=True)
    kiosk.flow.payment_settled("KB0000000000000000", None)
    assert not kiosk.flow.state.session.payment.paid
    kiosk.flow.payment_settled(state.session.payment.reference, None)
    assert kiosk.flow.state.session.payment.paid


def test_hub_down_while_asking_keeps_waiting(kiosk) -> None:
    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    check_in_until_done(kiosk, fee_paying=True)
    kiosk.embedded_hub.stop()
    assert kiosk.desk.refresh_payment() is False
    assert kiosk.flow.state.step is Step.DONE and kiosk.desk.payment_pending()


def test_in_memory_hub_confirms_a_transfer_by_its_reference() -> None:
    from drivers.hub.simulated import InMemoryHubClient

    hub = InMemoryHubClient()
    key = "k-in-memory-0001"
    assert hub.payment_status(key).paid_amount == 0
    assert hub.record_transfer(f"IBFT {payment_reference(key).lower()} thanh toan", 150_000) is True
    assert hub.record_transfer("an trua", 10_000) is False
    status = hub.payment_status(key)
    assert status.paid_amount == 150_000 and status.covers(150_000) and status.amount_due is None


def test_a_cccd_number_starting_like_a_vietqr_is_still_a_cccd() -> None:
    # Found by hypothesis: ID 000201000000 (born 2001) begins with EMVCo's "000201".
    from datetime import date

    from kiosk.domain import Sex
    from kiosk.qr import CccdQr

    card = CccdQr("000201000000", None, "A", date(2001, 1, 1), Sex.MALE, "", date(2020, 1, 1))
    assert isinstance(parse_qr(card.qr_text()), CccdQr)
    assert isinstance(parse_qr(_vietqr_for("k-1234567890", 1000)), VietQr)


def test_paper_out_keeps_the_vietqr_on_screen_and_the_reprint_carries_it(kiosk) -> None:
    from drivers.printer.raster_decode import decode_escpos_raster, stack_vertically

    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    kiosk.printer.paper_out = True
    state = check_in_until_done(kiosk, fee_paying=True)
    assert state.session.print_error is not None and state.session.print_error.code == "printer_paper_out"
    payment = state.session.payment
    assert payment is not None and payment.qr_png, "the code is on screen when the ticket is not"
    assert not list(kiosk.printer.folder.glob("*.bin"))

    kiosk.printer.paper_out = False  # staff refilled the roll
    kiosk.desk.reprint()
    (raw,) = [p for p in kiosk.printer.last_files if p.suffix == ".bin"]
    image = stack_vertically(decode_escpos_raster(raw.read_bytes()))
    frame = np.stack([np.asarray(image.convert("L"))] * 3, axis=-1)
    assert payment.qr_payload in ZxingQrDecoder().decode(frame)


def test_misconfigured_account_still_gives_the_ticket(kiosk) -> None:
    wait_for(lambda: kiosk.flow.state.reference, what="reference")
    desk = kiosk.desk
    desk.settings = replace(desk.settings, payment=PaymentSettings(True, "12345", "0011012345678"))
    state = check_in_until_done(kiosk, fee_paying=True)
    assert state.session.ticket.amount_due > 0
    assert state.session.payment is None and state.session.print_error is None
    assert not any(isinstance(b, QrBlock) and b.payload.startswith("000201") for b in desk.last_layout.blocks)
