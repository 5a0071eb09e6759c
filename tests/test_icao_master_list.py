"""CSCA master lists are verified before the trust store takes them: the CMS
signature, the Master List Signer's certificate profile and its chain to a
CSCA (in the list, for its own state, or configured by the operator)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from asn1crypto import cms, core
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.icao import IcaoChipReader
from drivers.card.icao.pa import (
    MasterListRejected,
    PaStatus,
    TrustStore,
    master_list_certificates,
    verify_master_list,
)
from drivers.card.sample_pki import (
    build_master_list,
    csca,
    derived_ec_key,
    document_signer,
    master_list_content,
    master_list_signer,
    unrelated_csca,
)
from drivers.card.samples import sample_chip, sample_citizen
from drivers.card.simulated import SimulatedCardReader
from kiosk import cccd
from kiosk.errors import MalformedDataError
from kiosk.ports import CanKey

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _read_pa(store: TrustStore | None) -> PaStatus:
    reader = SimulatedCardReader()
    reader.place(sample_chip(1))
    chip_reader = IcaoChipReader(trust_store=store, today=lambda: date(2026, 1, 1))
    chip_reader.read_identity(reader.connect(), [CanKey(cccd.can(sample_citizen(1)["id_number"]))], with_photo=False)
    assert chip_reader.last_passive_auth is not None
    return chip_reader.last_passive_auth.status


def test_good_list_loads_and_says_how_many_cscas() -> None:
    data = build_master_list([csca()[0], unrelated_csca()[0]])
    verified = verify_master_list(data, "test.ml", now=NOW)
    assert len(verified.certificates) == 2
    assert "TEST Master List Signer" in verified.signer and verified.anchor.endswith("(in the list)")
    store = TrustStore()
    assert store.load_bytes(data, "test.ml", now=NOW) == 2
    assert store.master_lists == [verified]
    assert _read_pa(store) is PaStatus.VERIFIED


def test_folder_load_reports_verified_lists(tmp_path: Path) -> None:
    (tmp_path / "a.ml").write_bytes(build_master_list())
    store = TrustStore.from_paths([tmp_path], now=NOW)
    assert len(store) == 1
    assert store.sources == [
        "a.ml: master list signed by CN=TEST Master List Signer (NOT FOR PRODUCTION),O=TEST ONLY - vn-checkin-kiosk,C=VN, "
        "issued by CSCA CN=TEST CSCA Viet Nam (NOT FOR PRODUCTION),O=TEST ONLY - vn-checkin-kiosk,C=VN (in the list): "
        "1 CSCA certificate(s)"
    ]


def test_signer_chained_to_a_configured_anchor_not_in_the_list(tmp_path: Path) -> None:
    # A list of other states' CSCAs, signed under the operator's own CSCA file.
    (tmp_path / "anchor.pem").write_bytes(csca()[0].public_bytes(serialization.Encoding.PEM))
    (tmp_path / "others.ml").write_bytes(build_master_list([unrelated_csca()[0]]))
    store = TrustStore.from_paths([tmp_path], now=NOW)  # certificates first, whatever the file order
    assert len(store) == 2
    assert store.master_lists[0].anchor.endswith("(configured)")
    with pytest.raises(MasterListRejected, match="not issued by a configured CSCA"):
        verify_master_list(build_master_list([unrelated_csca()[0]]), now=NOW)  # without the anchor


def _swap_content(data: bytes, content: bytes) -> bytes:
    info = cms.ContentInfo.load(data)
    signed = info["content"]
    signed["encap_content_info"] = cms.EncapsulatedContentInfo(
        {"content_type": signed["encap_content_info"]["content_type"].dotted, "content": core.ParsableOctetString(content)}
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump(force=True)


def test_tampered_content_is_refused() -> None:
    good = build_master_list([csca()[0]])
    forged = _swap_content(good, master_list_content([csca()[0], unrelated_csca()[0]]))
    with pytest.raises(MasterListRejected, match="content altered: messageDigest does not match") as info:
        verify_master_list(forged, now=NOW)
    assert info.value.code == "master_list_rejected"
    store = TrustStore()
    with pytest.raises(MasterListRejected):
        store.load_bytes(forged, now=NOW)
    assert len(store) == 0 and store.master_lists == []  # nothing taken from it


def test_flipped_byte_in_the_list_is_refused() -> None:
    data = bytearray(build_master_list([csca()[0]]))
    content = master_list_content([csca()[0]])
    at = bytes(data).find(content) + len(content) - 1  # last byte of the CSCA's signature
    data[at] ^= 0x01
    with pytest.raises(MasterListRejected, match="messageDigest"):
        verify_master_list(bytes(data), now=NOW)


def test_signature_by_another_key_is_refused() -> None:
    cert, _ = master_list_signer()
    data = build_master_list([csca()[0]], signer=(cert, derived_ec_key(b"someone else")))
    with pytest.raises(MasterListRejected, match="signature does not verify"):
        verify_master_list(data, now=NOW)


def test_signer_issued_by_a_csca_outside_the_list_is_refused() -> None:
    # Same CSCA name, other key: the list's CSCA did not issue this signer.
    data = build_master_list([csca()[0]], signer=master_list_signer(issuer="unrelated"))
    with pytest.raises(MasterListRejected, match="not issued by a configured CSCA nor by its state's CSCA"):
        verify_master_list(data, now=NOW)


def test_document_signer_is_not_a_master_list_signer() -> None:
    data = build_master_list([csca()[0]], signer=document_signer())
    with pytest.raises(MasterListRejected, match="not a Master List Signer"):
        verify_master_list(data, now=NOW)
    data = build_master_list([csca()[0]], signer=master_list_signer(with_eku=False))
    with pytest.raises(MasterListRejected, match="no extended key usage"):
        verify_master_list(data, now=NOW)


def test_expired_signer_is_refused() -> None:
    data = build_master_list([csca()[0]], signer=master_list_signer(expired=True))
    with pytest.raises(MasterListRejected, match="expired on 2021-01-01"):
        verify_master_list(data, now=NOW)
    verify_master_list(data, now=datetime(2020, 6, 1, tzinfo=UTC))  # within its validity it holds


def test_signer_not_yet_valid_is_refused() -> None:
    with pytest.raises(MasterListRejected, match="valid only from 2020-01-01"):
        verify_master_list(build_master_list(), now=datetime(2019, 1, 1, tzinfo=UTC))


def test_unsigned_list_is_refused() -> None:
    data = build_master_list([csca()[0]], signed=False)
    assert master_list_certificates(data)  # it parses: only the signature is missing
    with pytest.raises(MasterListRejected, match="not signed"):
        verify_master_list(data, now=NOW)
    with pytest.raises(MasterListRejected, match="not signed"):
        TrustStore().load_bytes(data, now=NOW)


def test_signature_without_signed_attributes_is_refused() -> None:
    info = cms.ContentInfo.load(build_master_list())
    signed = info["content"]
    si = signed["signer_infos"][0]
    bare = cms.SignerInfo({k: si[k] for k in ("version", "sid", "digest_algorithm", "signature_algorithm", "signature")})
    signed["signer_infos"] = [bare]
    raw = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump(force=True)
    with pytest.raises(MasterListRejected, match="no signed attributes"):
        verify_master_list(raw, now=NOW)


def test_list_vouched_only_by_a_csca_of_another_state_is_refused() -> None:
    # The list's only CSCA is of another country than its signer: a list
    # cannot vouch for itself with another state's CSCA.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = derived_ec_key(b"TEST CSCA of another state")
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"), x509.NameAttribute(NameOID.COMMON_NAME, "TEST other")])
    other = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(5)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC)).not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    with pytest.raises(MasterListRejected, match="not issued by"):
        verify_master_list(build_master_list([other]), now=NOW)


def test_pa_is_not_verifiable_without_an_anchor() -> None:
    assert _read_pa(None) is PaStatus.NOT_VERIFIABLE
    # A verified list that does not hold the chip's CSCA: still no anchor.
    store = TrustStore()
    store.load_bytes(build_master_list([unrelated_csca()[0]], signer=master_list_signer(issuer="unrelated")), now=NOW)
    assert len(store) == 1
    assert _read_pa(store) is PaStatus.NOT_VERIFIABLE


def test_not_a_master_list_is_malformed() -> None:
    with pytest.raises(MalformedDataError, match="neither a certificate nor a CSCA master list"):
        TrustStore().load_bytes(b"\x30\x03\x02\x01\x00", "junk.bin")
    with pytest.raises(MalformedDataError, match="junk.pem: a PEM certificate does not parse"):
        TrustStore().load_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "junk.pem")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=255))
def test_any_corrupted_byte_is_refused_or_malformed(position: int, flip: int) -> None:
    data = bytearray(_GOOD)
    data[position % len(data)] ^= flip
    try:
        verify_master_list(bytes(data), now=NOW)
    except MalformedDataError:
        return  # MasterListRejected is one too: typed, with a reason
    # A flip the DER decoder normalises away (e.g. an unused bit) may keep a valid list.
    assert bytes(data) != _GOOD


_GOOD = build_master_list([csca()[0]])
