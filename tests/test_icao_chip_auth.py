"""Chip Authentication (DG14, ICAO 9303-11 §6.2) and Active Authentication
(DG15, §6.1: RSA ISO/IEC 9796-2 and ECDSA), reader against the simulated chip."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.chip_sim import ChipFaults, build_dg15
from drivers.card.icao import IcaoChipReader
from drivers.card.icao.chip_auth import (
    AuthStatus,
    ecdsa_plain_sign,
    iso9796_2_sign,
    verify_active_authentication,
)
from drivers.card.icao.pa import TrustStore
from drivers.card.icao.sm import AesSm
from drivers.card.sample_pki import csca_pem, derived_ec_key, derived_rsa_key
from drivers.card.samples import sample_chip, sample_citizen
from drivers.card.simulated import SimulatedCardReader
from kiosk import cccd
from kiosk.domain import Verification
from kiosk.ports import CanKey

CHALLENGE = bytes.fromhex("0102030405060708")


def _read(chip, slot: int = 1):  # type: ignore[no-untyped-def]
    trust = TrustStore()
    trust.load_bytes(csca_pem())
    slot_reader = SimulatedCardReader()
    slot_reader.place(chip)
    reader = IcaoChipReader(trust_store=trust)
    result = reader.read_identity(slot_reader.connect(), [CanKey(cccd.can(sample_citizen(slot)["id_number"]))])
    return reader, result


def test_genuine_chip_passes_chip_and_active_authentication() -> None:
    reader, result = _read(sample_chip(1))
    assert reader.last_chip_auth is not None and reader.last_chip_auth.status is AuthStatus.PASSED
    assert reader.last_active_auth is not None and reader.last_active_auth.status is AuthStatus.PASSED
    assert "ECDSA-SHA256" in reader.last_active_auth.reason
    assert result.verification is Verification.GENUINE
    # After CA the session runs on the new AES keys.
    assert reader._session is not None and isinstance(reader._session._sm.cipher, AesSm)  # type: ignore[union-attr]


def test_rsa_active_authentication_with_iso9796_2() -> None:
    reader, result = _read(sample_chip(2, active_authentication="rsa"), slot=2)
    assert reader.last_active_auth is not None and reader.last_active_auth.status is AuthStatus.PASSED
    assert "9796-2" in reader.last_active_auth.reason
    assert result.verification is Verification.GENUINE


def test_cloned_chip_fails_both_and_is_forged() -> None:
    reader, result = _read(sample_chip(3, faults=ChipFaults(cloned_keys=True)), slot=3)
    assert reader.last_chip_auth is not None and reader.last_chip_auth.status is AuthStatus.FAILED
    assert reader.last_active_auth is not None and reader.last_active_auth.status is AuthStatus.FAILED
    assert result.verification is Verification.FORGED
    assert result.citizen.id_number == sample_citizen(3)["id_number"]  # the read itself completed


def test_chip_without_dg14_and_dg15() -> None:
    reader, result = _read(sample_chip(4, chip_authentication=False, active_authentication=None), slot=4)
    assert reader.last_chip_auth is not None and reader.last_chip_auth.status is AuthStatus.NOT_SUPPORTED
    assert reader.last_active_auth is not None and reader.last_active_auth.status is AuthStatus.NOT_SUPPORTED
    assert result.verification is Verification.GENUINE
    assert reader.last_files["DG14"].startswith("absent") and reader.last_files["DG15"].startswith("absent")


# -- the signature schemes ----------------------------------------------------------------------


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_iso9796_2_round_trip_and_wrong_challenge(hash_name: str) -> None:
    key = derived_rsa_key(b"unit test")
    dg15 = build_dg15(key.public_key())
    signature = iso9796_2_sign(key, CHALLENGE, os.urandom, hash_name)
    assert verify_active_authentication(dg15, CHALLENGE, signature, "sha256").status is AuthStatus.PASSED
    assert verify_active_authentication(dg15, b"\x00" * 8, signature, "sha256").status is AuthStatus.FAILED


def test_ecdsa_round_trip_and_wrong_key() -> None:
    key = derived_ec_key(b"unit test", ec.SECP256R1())
    signature = ecdsa_plain_sign(key, CHALLENGE)
    assert verify_active_authentication(build_dg15(key.public_key()), CHALLENGE, signature, "sha256").status is (
        AuthStatus.PASSED
    )
    other = build_dg15(derived_ec_key(b"other", ec.SECP256R1()).public_key())
    assert verify_active_authentication(other, CHALLENGE, signature, "sha256").status is AuthStatus.FAILED


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["rsa", "ec", "junk"]))
def test_fuzzed_signatures_and_keys_never_crash(signature: bytes, kind: str) -> None:
    if kind == "rsa":
        dg15 = build_dg15(derived_rsa_key(b"unit test").public_key())
    elif kind == "ec":
        dg15 = build_dg15(derived_ec_key(b"unit test", ec.SECP256R1()).public_key())
    else:
        dg15 = b"\x6f\x03\x01\x02\x03"
    result = verify_active_authentication(dg15, CHALLENGE, signature, "sha256")
    assert result.status is not AuthStatus.PASSED


def test_dg14_key_with_explicit_curve_parameters() -> None:
    """Many chips spell the curve out in DG14 instead of naming it (X9.62 specifiedCurve)."""
    from asn1crypto import keys as asn1_keys

    from drivers.card.chip_sim import build_dg14
    from drivers.card.icao import tlv
    from drivers.card.icao.chip_auth import chip_auth_key, parse_dg14
    from drivers.card.icao.ec import standard_curve

    curve = standard_curve(13)
    size = curve.field_size
    point = curve.encode(curve.multiply(12345, curve.generator))
    spki = asn1_keys.PublicKeyInfo({
        "algorithm": {"algorithm": "ec", "parameters": ("specified", {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": curve.p},
            "curve": {"a": curve.a.to_bytes(size, "big"), "b": curve.b.to_bytes(size, "big")},
            "base": curve.encode(curve.generator),
            "order": curve.n,
            "cofactor": 1,
        })},
        "public_key": point,
    }).dump()  # fmt: skip
    named = build_dg14(derived_ec_key(b"x", ec.BrainpoolP256R1()).public_key(), with_aa=False)
    infos = tlv.parse_single(named, 0x6E).require(0x31).children()
    pk_info = infos[1].value
    oid = tlv.parse_all(pk_info)[0].encode()
    explicit = tlv.encode(0x6E, tlv.encode(0x31, infos[0].encode() + tlv.encode(0x30, oid + spki)))
    key = chip_auth_key(parse_dg14(explicit))
    assert key is not None and key.curve is curve and key.public_point == point
