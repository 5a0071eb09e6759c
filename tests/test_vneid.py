"""VNeID app codes: verified by the hub over real HTTP, never read by the kiosk.

The hub runs on 127.0.0.1 with its simulated verifier (`server.vneid`); the
kiosk asks it through the production `HttpHubClient`. One shared clock
drives the hub, the client's request signatures and the token's age, so
"a minute later" needs no waiting.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from drivers.hub.http_client import HttpHubClient
from drivers.hub.simulated import InMemoryHubClient
from kiosk.desk import CheckInDesk
from kiosk.domain import IdentitySource, Verification
from kiosk.errors import ConfigError, HubRejected, HubUnavailable, VneidExpired, VneidRejected
from kiosk.flow import Step
from kiosk.qr import VneidToken, parse_qr
from server.embedded import start_embedded_hub
from server.simulated_gateway import load_sample_citizens
from server.vneid import (
    TOKEN_TTL_SECONDS,
    DisabledVneidVerifier,
    SimulatedVneidVerifier,
    VneidServiceUnavailable,
    VneidTokenExpired,
    VneidTokenInvalid,
    simulated_token,
    verifier_from_settings,
)

CITIZENS = {int(c["slot"]): c for c in load_sample_citizens()}


class SharedClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> SharedClock:
    return SharedClock()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, clock: SharedClock):
    h = start_embedded_hub(tmp_path_factory.mktemp("vneid") / "hub.sqlite3", clock=clock)
    yield h
    h.stop()


@pytest.fixture
def client(hub, clock: SharedClock):
    c = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret, timeout=5.0, clock=clock)
    yield c
    c.close()


# -- over HTTP ------------------------------------------------------------------


@pytest.mark.parametrize("slot", sorted(CITIZENS))
def test_a_fresh_code_resolves_to_its_sample_citizen(client: HttpHubClient, clock: SharedClock, slot: int) -> None:
    token = simulated_token(slot, clock.now)
    assert isinstance(parse_qr(token), VneidToken)  # the kiosk's parser sees an opaque token
    identity = client.verify_vneid(token)
    assert identity.source is IdentitySource.VNEID
    assert identity.verification is Verification.GENUINE
    assert identity.citizen.id_number == CITIZENS[slot]["id_number"]
    assert identity.citizen.full_name == CITIZENS[slot]["full_name"]
    assert identity.citizen.date_of_birth.isoformat() == CITIZENS[slot]["date_of_birth"]


def test_a_code_older_than_a_minute_is_expired(client: HttpHubClient, clock: SharedClock) -> None:
    token = simulated_token(1, clock.now - TOKEN_TTL_SECONDS - 1)
    with pytest.raises(VneidExpired) as caught:
        client.verify_vneid(token)
    assert caught.value.status == 410
    assert isinstance(caught.value, HubRejected)  # final for this code


def test_the_same_code_expires_as_the_hub_clock_moves_on(client: HttpHubClient, clock: SharedClock) -> None:
    token = simulated_token(2, clock.now)
    assert client.verify_vneid(token).citizen.id_number == CITIZENS[2]["id_number"]
    clock.now += TOKEN_TTL_SECONDS + 5
    try:
        with pytest.raises(VneidExpired):
            client.verify_vneid(token)
    finally:
        clock.now = time.time()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),  # MAC no longer matches
        lambda t: t[:20],  # truncated
        lambda t: "VNEID:" + "A" * 40,  # right shape, never issued
        lambda t: "VNEID:!!!!not-base64!!!!",
        lambda t: t.replace("VNEID:", "VNEIX:"),
    ],
    ids=["tampered", "truncated", "forged", "garbled", "wrong-prefix"],
)
def test_codes_the_service_did_not_issue_are_rejected(client: HttpHubClient, clock: SharedClock, mangle) -> None:
    with pytest.raises(VneidRejected) as caught:
        client.verify_vneid(mangle(simulated_token(1, clock.now)))
    assert not isinstance(caught.value, VneidExpired)
    assert caught.value.status == 422


def test_a_valid_code_for_nobody_and_a_code_from_the_future_are_rejected(client: HttpHubClient, clock: SharedClock) -> None:
    with pytest.raises(VneidRejected, match="nobody"):
        client.verify_vneid(simulated_token(99, clock.now))
    with pytest.raises(VneidRejected, match="future"):
        client.verify_vneid(simulated_token(1, clock.now + 300))


def test_an_empty_or_oversized_token_is_refused_by_validation(client: HttpHubClient) -> None:
    for token in ("", "VNEID:" + "A" * 2000):
        with pytest.raises(VneidRejected) as caught:
            client.verify_vneid(token)
        assert caught.value.status == 422


def test_an_unsigned_request_is_refused(hub, clock: SharedClock) -> None:
    import requests

    response = requests.post(hub.url + "/api/v1/vneid/verify", json={"token": simulated_token(1, clock.now)}, timeout=5)
    assert response.status_code == 401


def test_neither_the_token_nor_the_person_is_logged(client: HttpHubClient, clock: SharedClock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    token = simulated_token(3, clock.now)
    client.verify_vneid(token)
    with pytest.raises(VneidRejected):
        client.verify_vneid(token[:-2] + "zz")
    text = caplog.text
    body = token[len("VNEID:") :]
    assert body[:12] not in text
    assert CITIZENS[3]["full_name"] not in text and CITIZENS[3]["id_number"] not in text


def test_a_hub_without_a_verifier_answers_not_configured(tmp_path: Path) -> None:
    h = start_embedded_hub(tmp_path / "hub.sqlite3", vneid_verifier="off")
    c = HttpHubClient(h.url, h.kiosk_id, h.kiosk_secret, timeout=5.0)
    try:
        with pytest.raises(HubUnavailable, match="no VNeID verification service"):
            c.verify_vneid(simulated_token(1))
    finally:
        c.close()
        h.stop()


def test_an_unknown_verifier_setting_stops_the_hub_from_starting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="vneid_verifier"):
        start_embedded_hub(tmp_path / "hub.sqlite3", vneid_verifier="telepathy")


def test_an_unreachable_hub_is_unavailable_not_a_rejection(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = HttpHubClient(f"http://127.0.0.1:{port}", "K", "secret", timeout=1.0)
    with pytest.raises(HubUnavailable):
        c.verify_vneid(simulated_token(1))


# -- the verifier itself -----------------------------------------------------------


def test_verifier_outcomes_without_http() -> None:
    now = [1_900_000_000.0]
    verifier = SimulatedVneidVerifier(clock=lambda: now[0])
    token = simulated_token(4, now[0])
    assert verifier.verify(token).id_number == CITIZENS[4]["id_number"]
    assert simulated_token(4, now[0]) != token  # each code is new, like the app's
    now[0] += TOKEN_TTL_SECONDS + 0.5
    with pytest.raises(VneidTokenExpired):
        verifier.verify(token)
    with pytest.raises(VneidTokenInvalid):
        verifier.verify(simulated_token(4, now[0], key=b"another service"))
    with pytest.raises(VneidServiceUnavailable):
        DisabledVneidVerifier().verify(token)
    with pytest.raises(ValueError):
        verifier_from_settings("telepathy", time.time)
    with pytest.raises(ValueError):
        simulated_token(256)


def test_the_in_memory_hub_accepts_the_same_codes_and_expires_them() -> None:
    hub = InMemoryHubClient()
    now = time.time()
    hub.vneid_clock = lambda: now
    identity = hub.verify_vneid(simulated_token(2, now))
    assert identity.source is IdentitySource.VNEID and identity.citizen.id_number == CITIZENS[2]["id_number"]
    with pytest.raises(VneidExpired):
        hub.verify_vneid(simulated_token(2, now - TOKEN_TTL_SECONDS - 1))
    with pytest.raises(VneidRejected):
        hub.verify_vneid(simulated_token(2, now, key=b"another service"))
    with pytest.raises(VneidRejected):
        hub.verify_vneid(simulated_token(42, now))
    hub.down = True
    with pytest.raises(HubUnavailable):
        hub.verify_vneid(simulated_token(2, now))


# -- the desk: a scanned VNeID code ----------------------------------------------------


def _desk(hub_client) -> CheckInDesk:
    from kiosk.clock import SystemClock
    from kiosk.desk import DeskSettings
    from kiosk.flow import CheckInFlow

    class Unused:
        def __getattr__(self, name: str):
            raise AssertionError(f"the VNeID path must not touch {name}")

    return CheckInDesk(
        settings=DeskSettings(kiosk_id="K01", hospital_name="BV"),
        flow=CheckInFlow(idle_timeout=60),
        card_reader=Unused(),
        chip_reader=Unused(),
        hub=hub_client,
        outbox=Unused(),
        delivery=Unused(),
        printer=Unused(),
        renderer=Unused(),
        clock=SystemClock(),
    )


def test_a_scanned_code_identifies_the_patient_through_the_hub(client: HttpHubClient, clock: SharedClock) -> None:
    desk = _desk(client)
    desk.qr_scanned(simulated_token(1, clock.now))
    state = desk.flow.state
    assert state.step is Step.IDENTITY_CHECK
    identity = state.session.identity
    assert identity.source is IdentitySource.VNEID
    assert identity.citizen.id_number == CITIZENS[1]["id_number"]


def test_an_expired_code_asks_for_a_new_one(client: HttpHubClient, clock: SharedClock) -> None:
    desk = _desk(client)
    desk.qr_scanned(simulated_token(1, clock.now - 600))
    state = desk.flow.state
    assert state.step is Step.ERROR and state.error.code == "vneid_expired"
    assert "VNeID" in state.error.guidance_vi and state.error.retry_step is Step.IDENTIFY
    desk.retry()
    assert desk.flow.state.step is Step.IDENTIFY


def test_a_forged_code_is_refused_and_identifies_nobody(client: HttpHubClient) -> None:
    desk = _desk(client)
    desk.qr_scanned("VNEID:" + "x" * 40)
    state = desk.flow.state
    assert state.step is Step.ERROR and state.error.code == "vneid_rejected"
    assert state.session.identity is None


def test_a_hub_that_cannot_be_asked_says_use_the_card(tmp_path: Path) -> None:
    hub = InMemoryHubClient()
    hub.down = True
    desk = _desk(hub)
    desk.qr_scanned(simulated_token(1))
    state = desk.flow.state
    assert state.step is Step.ERROR and state.error.code == "vneid_unavailable"
    assert state.session.identity is None


def test_a_hub_client_that_answers_a_weaker_identity_is_not_believed() -> None:
    from dataclasses import replace

    class Confused(InMemoryHubClient):
        def verify_vneid(self, token: str):
            return replace(super().verify_vneid(token), source=IdentitySource.CCCD_QR)

    desk = _desk(Confused())
    desk.qr_scanned(simulated_token(1))
    assert desk.flow.state.step is Step.ERROR and desk.flow.state.error.code == "vneid_rejected"


# -- the whole way: camera → decoder → parser → hub → flow ------------------------------


def test_a_vneid_code_held_to_the_simulated_camera_checks_the_patient_in(tmp_path: Path) -> None:
    from drivers.printer.raster import ensure_qt_gui_application
    from kiosk.config import load_config
    from launcher.wiring import build_kiosk

    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={"KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"), "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets")},
    )
    kiosk = build_kiosk(config)
    kiosk.start()
    try:
        kiosk.simulator.show_vneid(3)
        deadline = time.monotonic() + 20
        while kiosk.flow.state.step is not Step.IDENTITY_CHECK and time.monotonic() < deadline:
            time.sleep(0.02)
        state = kiosk.flow.state
        assert state.step is Step.IDENTITY_CHECK, state.step
        assert state.session.identity.source is IdentitySource.VNEID
        assert state.session.identity.citizen.id_number == CITIZENS[3]["id_number"]
    finally:
        kiosk.stop()
