"""A TEST PKI for simulated chips: CSCA -> Document Signer -> EF.SOD.

*** TEST ONLY. NOT A REAL AUTHORITY. NEVER TRUST IT ON A PRODUCTION KIOSK. ***

Keys are derived at run time from fixed, public seeds, so every run makes
the same key pairs and no private key is ever stored in the repository.
Anyone can recompute them: that is the point of a test PKI, and why the
kiosk only trusts it when configured to (`card.trust_store = "test"`, or a
simulated card backend with no trust store set).

Certificates follow ICAO 9303-12 §7 in outline (CSCA self-signed CA; DS
with digitalSignature), and EF.SOD is CMS SignedData (RFC 5652) around the
LDSSecurityObject of ICAO 9303-10 §4.6.2, signed with ECDSA-SHA256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from drivers.card.icao import tlv
from drivers.card.icao.lds import TAG_EF_SOD
from drivers.card.icao.pa import (
    ID_CSCA_MASTER_LIST,
    ID_CSCA_MASTER_LIST_SIGNING_KEY,
    ID_LDS_SECURITY_OBJECT,
    CscaMasterList,
    DataGroupHash,
    LdsSecurityObject,
)

CSCA_SEED = b"vn-checkin-kiosk TEST CSCA - not a real authority"
DS_SEED = b"vn-checkin-kiosk TEST Document Signer - not a real authority"
OTHER_CSCA_SEED = b"vn-checkin-kiosk TEST unrelated CSCA"
ML_SIGNER_SEED = b"vn-checkin-kiosk TEST Master List Signer - not a real authority"
ML_SIGNER_NOT_AFTER = datetime(2040, 1, 1, tzinfo=UTC)
EXPIRED_NOT_AFTER = datetime(2021, 1, 1, tzinfo=UTC)
NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)
CSCA_NOT_AFTER = datetime(2045, 1, 1, tzinfo=UTC)
DS_NOT_AFTER = datetime(2040, 1, 1, tzinfo=UTC)


def derived_ec_key(seed: bytes, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    """An EC private key from a public seed (test keys only)."""
    curve = curve or ec.SECP256R1()
    # Below 2^(bits-2): inside [1, n-1] for every standard curve's order.
    value = int.from_bytes(hashlib.sha512(seed).digest() * 2, "big") % (1 << (curve.key_size - 2))
    return ec.derive_private_key(value or 1, curve)


@lru_cache(maxsize=64)
def derived_rsa_key(seed: bytes, bits: int = 1024) -> rsa.RSAPrivateKey:
    """An RSA key for a seed, stable within one run (test keys only).

    RSA key generation cannot be seeded through `cryptography`, so the key
    is made once per seed and kept in memory for the process's life.
    """
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TEST ONLY - vn-checkin-kiosk"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])  # fmt: skip


def _csca(seed: bytes, common_name: str, serial: int) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = derived_ec_key(seed)
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(CSCA_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


@lru_cache(maxsize=1)
def csca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The TEST Country Signing CA."""
    return _csca(CSCA_SEED, "TEST CSCA Viet Nam (NOT FOR PRODUCTION)", 0x7E57CA)


@lru_cache(maxsize=1)
def unrelated_csca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Another CSCA with the same name but another key (tests: wrong anchor)."""
    return _csca(OTHER_CSCA_SEED, "TEST CSCA Viet Nam (NOT FOR PRODUCTION)", 0x0DD)


@lru_cache(maxsize=1)
def document_signer() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The TEST Document Signer, issued by the TEST CSCA."""
    ca_cert, csca_key = csca()
    key = derived_ec_key(DS_SEED)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("TEST Document Signer (NOT FOR PRODUCTION)"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(0x7E57D5)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(DS_NOT_AFTER)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(csca_key.public_key()), critical=False
        )
        .sign(csca_key, hashes.SHA256())
    )
    return cert, key


def csca_pem() -> bytes:
    return csca()[0].public_bytes(serialization.Encoding.PEM)


def lds_security_object(data_groups: Mapping[int, bytes], hash_name: str = "sha256") -> bytes:
    """LDSSecurityObject v0 over the given data groups (ICAO 9303-10 §4.6.2.2)."""
    values = [
        DataGroupHash({"data_group_number": n, "data_group_hash_value": hashlib.new(hash_name, data_groups[n]).digest()})
        for n in sorted(data_groups)
    ]
    return LdsSecurityObject({
        "version": 0,
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": hash_name}),
        "data_group_hash_values": values,
    }).dump()  # fmt: skip


def _signed_data(content_type: str, content: bytes, signer: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bytes:
    signer_asn1 = asn1_x509.Certificate.load(signer.public_bytes(serialization.Encoding.DER))
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": [cms.ContentType(content_type)]}),
        cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
    ])  # fmt: skip
    # RFC 5652 §5.4: sign the attributes as a SET OF (tag 31).
    signature = key.sign(b"\x31" + attrs.dump()[1:], ec.ECDSA(hashes.SHA256()))
    signer_info = cms.SignerInfo({
        "version": "v1",
        "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
            "issuer": signer_asn1.issuer, "serial_number": signer_asn1.serial_number})}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "signed_attrs": attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        "signature": signature,
    })  # fmt: skip
    signed = cms.SignedData({
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": content_type, "content": core.ParsableOctetString(content)},
        "certificates": [signer_asn1],
        "signer_infos": [signer_info],
    })  # fmt: skip
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def build_sod(
    data_groups: Mapping[int, bytes],
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
) -> bytes:
    """EF.SOD over the data groups, signed by the TEST Document Signer."""
    cert, key = signer or document_signer()
    body = _signed_data(ID_LDS_SECURITY_OBJECT, lds_security_object(data_groups), cert, key)
    return tlv.encode(TAG_EF_SOD, body)


@lru_cache(maxsize=8)
def master_list_signer(
    *, expired: bool = False, issuer: str = "test", with_eku: bool = True
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The TEST Master List Signer (ICAO 9303-12 profile: digitalSignature,
    extKeyUsage id-icao-cscaMasterListSigningKey), issued by the TEST CSCA.

    Tests: `expired` ends its validity in 2021; issuer="unrelated" has the
    other CSCA (same name, other key) sign it; `with_eku` False leaves out
    the extended key usage, so it is no Master List Signer.
    """
    ca_cert, ca_key = csca() if issuer == "test" else unrelated_csca()
    key = derived_ec_key(ML_SIGNER_SEED)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("TEST Master List Signer (NOT FOR PRODUCTION)"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(0x7E571 if not expired else 0x7E572)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(EXPIRED_NOT_AFTER if expired else ML_SIGNER_NOT_AFTER)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if with_eku:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(ID_CSCA_MASTER_LIST_SIGNING_KEY)]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256()), key


def master_list_content(certificates: list[x509.Certificate]) -> bytes:
    """CscaMasterList ::= SEQUENCE { version 0, certList SET OF Certificate }."""
    return CscaMasterList({
        "version": 0,
        "cert_list": [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certificates],
    }).dump()  # fmt: skip


def build_master_list(
    certificates: list[x509.Certificate] | None = None,
    signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    *,
    signed: bool = True,
) -> bytes:
    """A CMS CSCA master list (ICAO 9303-12) of `certificates` (default: the
    TEST CSCA), signed by the TEST Master List Signer (or `signer`); with
    `signed` False, a SignedData without any SignerInfo."""
    content = master_list_content(certificates if certificates is not None else [csca()[0]])
    cert, key = signer or master_list_signer()
    data = _signed_data(ID_CSCA_MASTER_LIST, content, cert, key)
    if signed:
        return data
    info = cms.ContentInfo.load(data)
    bare = cms.SignedData({
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {"content_type": ID_CSCA_MASTER_LIST, "content": core.ParsableOctetString(content)},
        "certificates": list(info["content"]["certificates"]),
        "signer_infos": [],
    })  # fmt: skip
    return cms.ContentInfo({"content_type": "signed_data", "content": bare}).dump()
