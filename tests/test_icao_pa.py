"""Passive Authentication (ICAO 9303-11 §5.1) with the generated TEST PKI:
trust store loading, genuine chips, tampered data groups, missing anchors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.icao import IcaoChipReader, tlv
from drivers.card.icao.lds import FID_EF_SOD
from drivers.card.icao.pa import PaStatus, TrustStore, parse_sod, passive_authentication
from drivers.card.samples import sample_chip, sample_citizen, sample_citizens
from drivers.card.simulated import SimulatedCardReader
from drivers.card.sample_pki import build_master_list, build_sod, csca, csca_pem, unrelated_csca
from kiosk import cccd
from kiosk.domain import Verification
from kiosk.errors import CardNotGenuineError, MalformedDataError
from kiosk.ports import CanKey

SLOTS = [c["slot"] for c in sample_citizens()]
DGS = {1: b"\x61\x03ABC", 13: b"\x6d\x02hi"}


def _trust() -> TrustStore:
    store = TrustStore()
    store.add(csca()[0])
    return store


def _read(chip, trust: TrustStore | None, **kwargs):  # type: ignore[no-untyped-def]
    reader = SimulatedCardReader()
    reader.place(chip)
    can = CanKey(cccd.can(sample_citizen(kwargs.pop("slot", 1))["id_number"]))
    chip_reader = IcaoChipReader(trust_store=trust)
    return chip_reader, chip_reader.read_identity(reader.connect(), [can], **kwargs)


@pytest.mark.parametrize("slot", SLOTS)
def test_every_sample_card_is_genuine_with_the_test_csca(slot: int) -> None:
    reader, result = _read(sample_chip(slot), _trust(), slot=slot)
    assert result.verification is Verification.GENUINE
    pa = reader.last_passive_auth
    assert pa is not None and pa.status is PaStatus.VERIFIED and set(pa.checked) == {1, 2, 13, 14, 15}
    assert any("issued by CSCA" in note for note in result.notes)


def test_without_trust_anchor_it_is_not_verifiable_never_genuine() -> None:
    _, result = _read(sample_chip(1), None)
    assert result.verification is Verification.CHIP_READ
    assert any("not verifiable" in note for note in result.notes)


def test_same_name_other_key_csca_is_not_verifiable() -> None:
    store = TrustStore()
    store.add(unrelated_csca()[0])
    reader, result = _read(sample_chip(1), store)
    assert result.verification is Verification.CHIP_READ
    assert reader.last_passive_auth is not None and reader.last_passive_auth.status is PaStatus.NOT_VERIFIABLE


def test_no_sod_is_not_verifiable() -> None:
    _, result = _read(sample_chip(1, with_sod=False), _trust())
    assert result.verification is Verification.CHIP_READ
    assert "passive authentication: no EF.SOD on the chip: data not verifiable" in result.notes


@pytest.mark.parametrize("dg", [1, 2, 13])
def test_tampered_data_group_is_forged(dg: int) -> None:
    reader, result = _read(sample_chip(1, tampered_dg=dg), _trust())
    assert result.verification is Verification.FORGED
    assert f"passive authentication: DG{dg} hash does not match EF.SOD" in result.notes


def test_tampered_face_read_on_demand_is_refused() -> None:
    chip = sample_chip(1, tampered_dg=2)
    slot = SimulatedCardReader()
    slot.place(chip)
    transport = slot.connect()
    reader = IcaoChipReader(trust_store=_trust())
    result = reader.read_identity(transport, [CanKey(cccd.can(sample_citizen(1)["id_number"]))], with_photo=False)
    assert result.verification is Verification.GENUINE  # DG1 and DG13 are fine
    with pytest.raises(CardNotGenuineError):
        reader.read_photo(transport)


def test_broken_signature_is_forged() -> None:
    sod = bytearray(build_sod(DGS))
    sod[-5] ^= 0xFF  # inside the ECDSA signature, the last field of the SOD
    result = passive_authentication(bytes(sod), DGS, _trust())
    assert result.status is PaStatus.FAILED


def test_replaced_sod_from_another_signer_is_forged_or_unverifiable() -> None:
    # A "DS" bearing the trusted CSCA's name but not signed by it.
    forged = build_sod(DGS, signer=unrelated_csca())
    assert passive_authentication(forged, DGS, _trust()).status is PaStatus.FAILED


def test_data_group_missing_from_sod_fails() -> None:
    result = passive_authentication(build_sod({1: DGS[1]}), DGS, _trust())
    assert result.status is PaStatus.FAILED and "DG13 is not listed in EF.SOD" in result.reasons


def test_sod_on_the_chip_parses() -> None:
    chip = sample_chip(2)
    sod = parse_sod(chip._files[FID_EF_SOD])
    assert sod.hash_algorithm == "sha256" and sorted(sod.hashes) == [1, 2, 13, 14, 15]


# -- the trust store -----------------------------------------------------------------------------


def test_trust_store_from_pem_der_master_list_and_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ca_cert = csca()[0]
    (tmp_path / "csca.pem").write_bytes(csca_pem())
    (tmp_path / "csca.der").write_bytes(ca_cert.public_bytes(serialization.Encoding.DER))
    (tmp_path / "list.ml").write_bytes(build_master_list([ca_cert, unrelated_csca()[0]]))
    assert len(TrustStore.from_paths([tmp_path / "csca.pem"])) == 1
    assert len(TrustStore.from_paths([tmp_path / "csca.der"])) == 1
    assert len(TrustStore.from_paths([tmp_path / "list.ml"])) == 2
    folder = TrustStore.from_paths([tmp_path])
    assert len(folder) == 2 and len(folder.sources) == 3  # duplicates merged


def test_bad_trust_store_file_is_a_typed_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "junk.pem").write_bytes(b"not a certificate")
    with pytest.raises(MalformedDataError, match="junk.pem"):
        TrustStore.from_paths([tmp_path / "junk.pem"])
    with pytest.raises(FileNotFoundError):
        TrustStore.from_paths([tmp_path / "absent.pem"])


# -- fuzzing: bad SODs never crash -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzzed_sod_bytes_never_crash(data: bytes) -> None:
    result = passive_authentication(tlv.encode(0x77, data), DGS, _trust())
    assert result.status is PaStatus.FAILED


GOOD_SOD = build_sod(DGS)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.integers(min_value=1, max_value=255))
def test_single_byte_corruption_never_verifies_altered_content(position: int, flip: int) -> None:
    sod = bytearray(GOOD_SOD)
    sod[position % len(sod)] ^= flip
    result = passive_authentication(bytes(sod), DGS, _trust())
    if result.status is PaStatus.VERIFIED:
        # Only bytes CMS leaves unsigned (e.g. SignedData.digestAlgorithms)
        # may change without effect; the signed content must be the same.
        assert parse_sod(bytes(sod)).encapsulated == parse_sod(GOOD_SOD).encapsulated

