"""Who may call the hub: signatures, clock window, replay, rate limit, secrets at rest."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from drivers.hub.http_client import HttpHubClient, parse_retry_after
from kiosk.request_signing import canonical_request, sign_request
from kiosk.errors import HubUnavailable
from server.db import create_hub_engine
from server.embedded import EmbeddedHub, start_embedded_hub
from server.models import AdminToken, Kiosk


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedHub]:
    embedded = start_embedded_hub(tmp_path_factory.mktemp("sec") / "hub.sqlite3")
    yield embedded
    embedded.stop()


def signed_headers(
    kiosk_id: str, secret: str, method: str, path: str, body: bytes, *, timestamp: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    timestamp_text = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    return {
        "X-Kiosk-Id": kiosk_id,
        "X-Timestamp": timestamp_text,
        "X-Nonce": nonce,
        "X-Signature": sign_request(secret, method, path, body, timestamp_text, nonce),
        "Content-Type": "application/json",
    }


HEARTBEAT = json.dumps({"version": "t", "devices": {}, "outbox_depth": 0}).encode()


def test_the_signed_string_is_the_documented_one() -> None:
    # The wire format both ends share (kiosk.request_signing), pinned: a
    # change here breaks every deployed kiosk against an upgraded hub.
    args = ("POST", "/api/v1/registrations?x=1", b'{"a":1}', "1700000000", "n" * 20)
    body_hash = "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    assert canonical_request(*args) == f"POST\n/api/v1/registrations?x=1\n{body_hash}\n1700000000\n{'n' * 20}".encode()
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", canonical_request(*args), hashlib.sha256).hexdigest()
    assert sign_request("s3cret", *args) == expected


def test_a_correctly_signed_request_passes(hub: EmbeddedHub) -> None:
    path = "/api/v1/kiosks/heartbeat"
    answer = requests.post(
        hub.url + path, data=HEARTBEAT, headers=signed_headers(hub.kiosk_id, hub.kiosk_secret, "POST", path, HEARTBEAT), timeout=10
    )
    assert answer.status_code == 200


def test_missing_headers_are_refused(hub: EmbeddedHub) -> None:
    answer = requests.get(hub.url + "/api/v1/reference", timeout=10)
    assert answer.status_code == 401
    assert "missing signature headers" in answer.json()["reason"]


def test_a_wrong_secret_is_refused(hub: EmbeddedHub) -> None:
    client = HttpHubClient(hub.url, hub.kiosk_id, "not-the-secret")
    with pytest.raises(HubUnavailable) as caught:
        client.reference_data()
    assert "signature does not match" in str(caught.value)


def test_a_tampered_body_is_refused(hub: EmbeddedHub) -> None:
    path = "/api/v1/kiosks/heartbeat"
    headers = signed_headers(hub.kiosk_id, hub.kiosk_secret, "POST", path, HEARTBEAT)
    tampered = HEARTBEAT.replace(b'"outbox_depth": 0', b'"outbox_depth": 9')
    answer = requests.post(hub.url + path, data=tampered, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["reason"] == "signature does not match"


def test_a_signature_for_another_path_is_refused(hub: EmbeddedHub) -> None:
    headers = signed_headers(hub.kiosk_id, hub.kiosk_secret, "GET", "/api/v1/reference?x=1", b"")
    answer = requests.get(hub.url + "/api/v1/reference", headers=headers, timeout=10)
    assert answer.status_code == 401


@pytest.mark.parametrize("offset", [-120, 120])
def test_a_timestamp_outside_the_window_is_refused(hub: EmbeddedHub, offset: int) -> None:
    path = "/api/v1/reference"
    headers = signed_headers(hub.kiosk_id, hub.kiosk_secret, "GET", path, b"", timestamp=int(time.time()) + offset)
    answer = requests.get(hub.url + path, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert "timestamp outside the allowed ±60 s window" in answer.json()["reason"]
    # The kiosk's client learns the hub's time from the Date header of that
    # refusal and signs on the hub's clock (drivers.hub.http_client).
    client = HttpHubClient(hub.url, hub.kiosk_id, hub.kiosk_secret, clock=lambda: time.time() + offset)
    assert client.reference_data().departments
    assert abs(client.clock_offset + offset) <= 3


def test_a_replayed_request_is_refused(hub: EmbeddedHub) -> None:
    path = "/api/v1/kiosks/heartbeat"
    headers = signed_headers(hub.kiosk_id, hub.kiosk_secret, "POST", path, HEARTBEAT)
    first = requests.post(hub.url + path, data=HEARTBEAT, headers=headers, timeout=10)
    replay = requests.post(hub.url + path, data=HEARTBEAT, headers=headers, timeout=10)
    assert first.status_code == 200
    assert replay.status_code == 401
    assert replay.json() == {"error": "unauthorized", "reason": "nonce already used: replayed request"}


def test_an_unknown_or_disabled_kiosk_is_refused(hub: EmbeddedHub) -> None:
    with pytest.raises(HubUnavailable, match="unknown or disabled kiosk"):
        HttpHubClient(hub.url, "kiosk-00000000", "x").reference_data()
    kiosk_id, secret = hub.add_kiosk("to be retired")
    client = HttpHubClient(hub.url, kiosk_id, secret)
    client.reference_data()
    answer = requests.post(
        f"{hub.url}/api/v1/admin/kiosks/{kiosk_id}/disable", headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=10
    )
    assert answer.status_code == 204
    with pytest.raises(HubUnavailable, match="unknown or disabled kiosk"):
        client.reference_data()


def test_admin_can_issue_a_kiosk_credential_that_works(hub: EmbeddedHub) -> None:
    answer = requests.post(
        hub.url + "/api/v1/admin/kiosks",
        json={"name": "Sảnh B - máy 2"},
        headers={"Authorization": f"Bearer {hub.admin_token}"},
        timeout=10,
    )
    assert answer.status_code == 201
    credential = answer.json()
    assert HttpHubClient(hub.url, credential["kiosk_id"], credential["secret"]).ping()
    assert HttpHubClient(hub.url, credential["kiosk_id"], credential["secret"]).reference_data().departments


def test_secrets_are_not_stored_in_clear(hub: EmbeddedHub) -> None:
    engine = create_hub_engine(hub.settings.resolved_database_url())
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(Kiosk.secret_encrypted).where(Kiosk.kiosk_id == hub.kiosk_id)).scalar_one()
            tokens = connection.execute(select(AdminToken.token_sha256)).scalars().all()
    finally:
        engine.dispose()
    assert hub.kiosk_secret not in stored and stored.startswith("v1:")
    assert hub.admin_token not in tokens and all(len(t) == 64 for t in tokens)
    raw = Path(hub.settings.resolved_database_url().removeprefix("sqlite:///")).read_bytes()
    assert hub.kiosk_secret.encode() not in raw and hub.admin_token.encode() not in raw


def test_validation_errors_do_not_echo_personal_data(hub: EmbeddedHub) -> None:
    path = "/api/v1/insurance/check"
    body = json.dumps({"citizen": {"id_number": "NGUYEN VAN BI MAT", "full_name": "LÊ THỊ RIÊNG TƯ"}}).encode()
    answer = requests.post(
        hub.url + path, data=body, headers=signed_headers(hub.kiosk_id, hub.kiosk_secret, "POST", path, body), timeout=10
    )
    assert answer.status_code == 422
    assert "citizen.id_number" in answer.json()["reason"]
    assert "BI MAT" not in answer.text and "RIÊNG TƯ" not in answer.text


def test_rate_limit_answers_429_and_the_client_reports_retry_after(tmp_path: Path) -> None:
    frozen = time.time()  # one fixed instant: the whole test sits in one window
    embedded = start_embedded_hub(tmp_path / "hub.sqlite3", clock=lambda: frozen, rate_limit_per_minute=3)
    try:
        client = HttpHubClient(embedded.url, embedded.kiosk_id, embedded.kiosk_secret, clock=lambda: frozen)
        for _ in range(3):
            client.reference_data()
        with pytest.raises(HubUnavailable) as caught:
            client.reference_data()
        window_end = int(frozen) - int(frozen) % 60 + 60
        assert caught.value.retry_after == window_end - int(frozen)
        assert 0 < caught.value.retry_after <= 60

        path = "/api/v1/reference"
        raw = requests.get(
            embedded.url + path,
            headers=signed_headers(embedded.kiosk_id, embedded.kiosk_secret, "GET", path, b"", timestamp=int(frozen)),
            timeout=10,
        )
        assert raw.status_code == 429
        assert raw.headers["Retry-After"] == str(window_end - int(frozen))
        # Another kiosk has its own budget.
        other_id, other_secret = embedded.add_kiosk("second")
        HttpHubClient(embedded.url, other_id, other_secret, clock=lambda: frozen).reference_data()
    finally:
        embedded.stop()


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("17") == 17
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 30) == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
