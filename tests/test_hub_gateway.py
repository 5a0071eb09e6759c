"""The insurance gateway client against the simulated gateway, served alone over HTTP."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from datetime import date

import pytest
import requests

from kiosk import insurance
from kiosk.domain import Citizen, InsuranceStatus, Sex
from server.embedded import ServedApp, serve_app_in_thread
from server.gateway import InsuranceGateway, parse_expiry
from server.simulated_gateway import card_for_result, create_simulated_gateway

OFFICER = ("NGUYỄN THỊ TIẾP ĐÓN", "001190000001")
AN = Citizen("001058012345", "NGUYỄN VĂN AN", date(1958, 7, 2), Sex.MALE)
TTL = 1800


class Clock:
    """A clock that moves only when told to; both sides of a test can share one."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gateway_clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(gateway_clock: Clock) -> Iterator[ServedApp]:
    app = create_simulated_gateway(
        username="bv01001", password="mat-khau", officer_name=OFFICER[0], officer_id=OFFICER[1], token_ttl_seconds=TTL, clock=gateway_clock
    )
    served = serve_app_in_thread(app)
    yield served
    served.stop()


def client(url: str, clock: Clock | None = None, **overrides: object) -> InsuranceGateway:
    options: dict = {
        "officer_name": OFFICER[0],
        "officer_id": OFFICER[1],
        "password_md5": True,
        "timeout": 5.0,
        "clock": clock or time.time,
    }
    options.update(overrides)
    username = options.pop("username", "bv01001")
    password = options.pop("password", "mat-khau")
    return InsuranceGateway(url, username, password, **options)


def login(url: str) -> dict:
    answer = requests.post(
        url + "/api/token/take", json={"username": "bv01001", "password": hashlib.md5(b"mat-khau").hexdigest()}, timeout=10
    )
    assert answer.status_code == 200
    return answer.json()["APIKey"]


def raw_check(url: str, key: dict, card: str) -> requests.Response:
    return requests.post(
        url + "/api/egw/KQNhanLichSuKCB2024",
        params={
            "token": key["access_token"],
            "id_token": key["id_token"],
            "username": "bv01001",
            "password": hashlib.md5(b"mat-khau").hexdigest(),
        },
        json={"maThe": card, "hoTen": "A B", "ngaySinh": "01/01/1990", "hoTenCb": OFFICER[0], "cccdCb": OFFICER[1]},
        timeout=10,
    )


def test_login_gives_a_token_with_an_expiry(gateway: ServedApp, gateway_clock: Clock) -> None:
    key = login(gateway.url)
    assert key["access_token"] and key["id_token"]
    assert parse_expiry(key["expires_in"], gateway_clock()) == pytest.approx(gateway_clock() + TTL, abs=1)


def test_wrong_password_is_refused(gateway: ServedApp) -> None:
    answer = requests.post(gateway.url + "/api/token/take", json={"username": "bv01001", "password": "x"}, timeout=10)
    assert answer.status_code == 401 and answer.json()["maKetQua"] == "401"


def test_an_expired_token_is_refused(gateway: ServedApp, gateway_clock: Clock) -> None:
    key = login(gateway.url)
    assert raw_check(gateway.url, key, card_for_result("000")).json()["maKetQua"] == "000"
    gateway_clock.now += TTL + 1
    expired = raw_check(gateway.url, key, card_for_result("000"))
    assert expired.status_code == 401 and expired.json()["maKetQua"] == "401"


def test_a_made_up_token_is_refused(gateway: ServedApp) -> None:
    assert raw_check(gateway.url, {"access_token": "x", "id_token": "y"}, card_for_result("000")).status_code == 401


def test_the_answer_has_the_documented_fields(gateway: ServedApp) -> None:
    body = raw_check(gateway.url, login(gateway.url), card_for_result("004")).json()
    for name in (
        "maKetQua", "ghiChu", "maThe", "hoTen", "ngaySinh", "gioiTinh", "diaChi", "maDKBD", "cqBHXH", "gtTheTu",
        "gtTheDen", "maKV", "ngayDu5Nam", "maSoBHXH", "maTheCu", "maTheMoi", "gtTheTuMoi", "gtTheDenMoi",
        "maDKBDMoi", "tenDKBDMoi", "dsLichSuKCB2018", "dsLichSuKT2018",
    ):
        assert name in body
    assert body["maTheMoi"] and body["maTheMoi"] != body["maThe"]


@pytest.mark.parametrize("code", insurance.RESULT_CODES)
def test_the_client_maps_every_test_card(gateway: ServedApp, code: str) -> None:
    result = client(gateway.url).check(AN, card_for_result(code))
    assert result.result_code == code
    assert result.status is insurance.outcome(code).status


def test_the_client_reuses_its_token_and_logs_in_again_when_the_gateway_drops_it(
    gateway: ServedApp, gateway_clock: Clock
) -> None:
    own_clock = Clock()  # the client's view of time does not move
    gateway_client = client(gateway.url, own_clock)
    assert gateway_client.check(AN, None).status is InsuranceStatus.VALID
    token = gateway_client._token
    assert gateway_client.check(AN, None).status is InsuranceStatus.VALID
    assert gateway_client._token is token  # cached, no second login

    # The gateway expires the session while the client still trusts it: the
    # client gets 401, logs in again once, and the check still succeeds.
    gateway_clock.now += TTL + 1
    assert gateway_client.check(AN, None).status is InsuranceStatus.VALID
    assert gateway_client._token is not token


def test_the_client_renews_a_token_before_it_expires(gateway: ServedApp, gateway_clock: Clock) -> None:
    gateway_client = client(gateway.url, gateway_clock)
    gateway_client.check(AN, None)
    token = gateway_client._token
    gateway_clock.now += TTL - 30  # inside the renewal margin
    assert gateway_client.check(AN, None).status is InsuranceStatus.VALID
    assert gateway_client._token is not token


def test_a_plain_text_password_client_also_works(gateway: ServedApp) -> None:
    assert client(gateway.url, password_md5=False).check(AN, None).status is InsuranceStatus.VALID


def test_bad_hub_credentials_are_reported_as_a_hospital_problem(gateway: ServedApp) -> None:
    result = client(gateway.url, password="wrong").check(AN, None)
    assert result.result_code == "401"
    assert result.status is InsuranceStatus.UNAVAILABLE
    assert "not your fault" in result.message_en


def test_a_misconfigured_officer_answers_054_or_055(gateway: ServedApp) -> None:
    assert client(gateway.url, officer_id="079000000000").check(AN, None).result_code == "054"
    assert client(gateway.url, officer_name="AI ĐÓ KHÁC").check(AN, None).result_code == "055"


def test_the_request_uses_the_cccd_unless_a_card_code_is_given(gateway: ServedApp) -> None:
    gateway_client = client(gateway.url)
    assert gateway_client.check(AN, None).card_code == "HT2010123456789"  # found by CCCD
    assert gateway_client.check(AN, card_for_result("010")).result_code == "010"  # the card wins


def test_an_unreachable_gateway_gives_an_unavailable_check() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = client(f"http://127.0.0.1:{port}").check(AN, None)
    assert result.status is InsuranceStatus.UNAVAILABLE
    assert result.result_code == insurance.UNREACHABLE


def test_expiry_formats() -> None:
    now = 1_700_000_000.0
    assert parse_expiry(600, now) == now + 600
    assert parse_expiry("600", now) == now + 600
    assert parse_expiry("2023-11-14T22:23:20Z", now) == 1_700_000_600.0
    assert parse_expiry("2023-11-15T05:23:20", now) == 1_700_000_600.0  # no offset: Vietnam time
    assert parse_expiry("tomorrow", now) > now
    assert parse_expiry(None, now) > now
