"""Fuzzing the hub from its own OpenAPI description (hypothesis).

Request bodies are generated from the JSON schemas the hub publishes at
/openapi.json: sometimes valid, sometimes a field of the wrong type or
shape, sometimes plain garbage. Kiosk requests are signed correctly (the
signature is not what is fuzzed here; tests/test_hub_security.py does that),
so every body reaches validation and the handlers. The hub must never
answer 5xx, and every refusal must have the one error shape.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.request_signing import sign_request
from server.embedded import EmbeddedHub, start_embedded_hub

KIOSK_POSTS = ["/api/v1/registrations", "/api/v1/insurance/check", "/api/v1/papers/lookup", "/api/v1/kiosks/heartbeat"]
ADMIN_POSTS = ["/api/v1/admin/appointments", "/api/v1/admin/referrals", "/api/v1/admin/patients/lookup"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedHub]:
    embedded = start_embedded_hub(tmp_path_factory.mktemp("fuzz") / "hub.sqlite3", rate_limit_per_minute=1_000_000)
    yield embedded
    embedded.stop()


@pytest.fixture(scope="module")
def openapi(hub: EmbeddedHub) -> dict[str, Any]:
    return requests.get(hub.url + "/openapi.json", timeout=10).json()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
_JUNK = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

# Codes that must name existing rows for a request to get past validation
# into the handlers (a schema cannot say which codes exist).
_LIKELY = {
    "id_number": st.sampled_from(["079190004567", "001058012345", "000000000000", ""]),
    "department_code": st.sampled_from(["NOI", "TMH", "NOPE"]),
    "service_code": st.sampled_from(["KB.NOI", "KB.TMH", "KYC.NOI", "NOPE"]),
}
_AWARE = st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)).map(lambda d: d.isoformat())


def from_schema(spec: dict[str, Any], schema: dict[str, Any], name: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    schema = _resolve(spec, schema)
    if name in _LIKELY:
        return st.one_of(_LIKELY[name], _JUNK) if depth else _LIKELY[name]
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return st.one_of([from_schema(spec, s, name, depth) for s in schema[key]])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = {
            k: from_schema(spec, v, k, depth + 1) if depth < 4 else _SCALARS for k, v in properties.items()
        }
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
    if kind == "array":
        return st.lists(from_schema(spec, schema.get("items", {}), name, depth + 1), max_size=3)
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        if schema.get("format") == "date":
            return st.dates().map(lambda d: d.isoformat())
        if schema.get("format") == "date-time":
            return _AWARE
        low = int(schema.get("minLength", 0))
        return st.text(min_size=low, max_size=max(low, int(schema.get("maxLength", 40))))
    if kind == "integer":
        return st.integers(
            min_value=int(schema.get("minimum", -(2**40))), max_value=int(schema.get("maximum", 2**40))
        )
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    return _SCALARS


def body_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    operation = spec["paths"][path]["post"]
    return operation["requestBody"]["content"]["application/json"]["schema"]


def bodies(spec: dict[str, Any], path: str) -> st.SearchStrategy[Any]:
    # Mostly schema-shaped bodies, some plain junk of any JSON shape.
    return st.one_of(from_schema(spec, body_schema(spec, path)), from_schema(spec, body_schema(spec, path)), _JUNK)


def signed_post(hub: EmbeddedHub, path: str, body: bytes) -> requests.Response:
    timestamp, nonce = str(int(time.time())), secrets.token_urlsafe(18)
    headers = {
        "Content-Type": "application/json",
        "X-Kiosk-Id": hub.kiosk_id,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": sign_request(hub.kiosk_secret, "POST", path, body, timestamp, nonce),
    }
    return requests.post(hub.url + path, data=body, headers=headers, timeout=30)


def check_answer(answer: requests.Response) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        error = answer.json()
        assert set(error) == {"error", "reason"} and isinstance(error["reason"], str)


_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("path", KIOSK_POSTS)
def test_kiosk_endpoints_never_fail_on_generated_bodies(hub: EmbeddedHub, openapi: dict[str, Any], path: str) -> None:
    @_FUZZ
    @given(body=bodies(openapi, path))
    def run(body: Any) -> None:
        check_answer(signed_post(hub, path, json.dumps(body, ensure_ascii=False).encode("utf-8")))

    run()


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_admin_endpoints_never_fail_on_generated_bodies(hub: EmbeddedHub, openapi: dict[str, Any], path: str) -> None:
    @_FUZZ
    @given(body=bodies(openapi, path))
    def run(body: Any) -> None:
        answer = requests.post(
            hub.url + path, json=body, headers={"Authorization": f"Bearer {hub.admin_token}"}, timeout=30
        )
        check_answer(answer)

    run()


@_FUZZ
@given(raw=st.binary(max_size=200))
def test_bytes_that_are_not_json_are_refused_cleanly(hub: EmbeddedHub, raw: bytes) -> None:
    check_answer(signed_post(hub, "/api/v1/registrations", raw))
