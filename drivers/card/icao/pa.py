"""Passive Authentication (ICAO 9303-11 §5.1) and the CSCA trust store.

EF.SOD ('77') wraps a CMS SignedData (RFC 5652) whose content is the
LDSSecurityObject of ICAO 9303-10 §4.6.2: the hash of every data group.
Passive Authentication checks, in this order:

1. the SignerInfo: signed attributes carry contentType = ldsSecurityObject
   and messageDigest = hash(LDSSecurityObject), and the signature over them
   verifies with the Document Signer (DS) certificate carried in the SOD;
2. the DS certificate is issued (name and signature) by a CSCA certificate
   in the trust store;
3. the hash of every data group read equals the one in the SOD.

A failure of 1 or 3 means the chip data were altered or made up: FAILED,
which the kiosk shows as forged. When 2 cannot be done because no CSCA in
the trust store issued the DS certificate, the data are consistent but
nobody vouches for them: NOT_VERIFIABLE, never success.

The trust store loads PEM or DER certificates and CMS master lists (ICAO
9303-12, CSCA Master List: SignedData around CscaMasterList), e.g. the
German BSI master list, which holds the Vietnam CSCA (DOMAIN.md §1). A
master list is only taken when its own signature holds (verify_master_list):
the CMS signature by the Master List Signer, that signer's certificate
profile (digitalSignature, extKeyUsage cscaMasterListSigningKey, validity)
and its issuer, a CSCA of the signer's state contained in the list or one
the operator configured. A list that fails is refused with the reason.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kiosk.errors import MalformedDataError

from . import tlv
from .lds import TAG_EF_SOD

ID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"  # ICAO 9303-10 §4.6.2
ID_CSCA_MASTER_LIST = "2.23.136.1.1.2"  # ICAO 9303-12, id-icao-cscaMasterList
# ICAO 9303-12 certificate profile: the Master List Signer certificate's
# extended key usage, id-icao-cscaMasterListSigningKey.
ID_CSCA_MASTER_LIST_SIGNING_KEY = "2.23.136.1.1.3"

_HASHES = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class DataGroupHash(core.Sequence):
    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):
    _fields = [("lds_version", core.PrintableString), ("unicode_version", core.PrintableString)]


class LdsSecurityObject(core.Sequence):
    """ICAO 9303-10 §4.6.2.2 LDSSecurityObject (v0 and v1)."""

    _fields = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


class CscaCertificates(core.SetOf):
    _child_spec = asn1_x509.Certificate


class CscaMasterList(core.Sequence):
    """ICAO 9303-12: CscaMasterList ::= SEQUENCE { version, certList }."""

    _fields = [("version", core.Integer), ("cert_list", CscaCertificates)]


# -- results ---------------------------------------------------------------------------------


class PaStatus(enum.Enum):
    VERIFIED = "verified"  # signature, chain to a CSCA and every hash check out
    NOT_VERIFIABLE = "not_verifiable"  # consistent, but no trust anchor (or no SOD)
    FAILED = "failed"  # a signature or hash does not match: altered data


@dataclass(frozen=True)
class PassiveAuthResult:
    status: PaStatus
    reasons: tuple[str, ...]  # safe to show a technician: no personal data
    checked: tuple[int, ...] = ()  # data groups whose hash matched
    signer: str = ""  # DS certificate subject (an authority, not a person)


# -- the trust store -----------------------------------------------------------------------


class MasterListRejected(MalformedDataError):
    """A CSCA master list whose signature or signer does not hold: not loaded."""

    code = "master_list_rejected"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: master list refused: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class VerifiedMasterList:
    """A master list whose signature held, and what vouched for it."""

    certificates: tuple[x509.Certificate, ...]
    signer: str  # Master List Signer subject (an authority)
    anchor: str  # how the signer chains: the CSCA's subject and where it came from

    def describe(self) -> str:
        return f"signed by {self.signer}, issued by {self.anchor}: {len(self.certificates)} CSCA certificate(s)"


@dataclass
class TrustStore:
    """CSCA certificates that vouch for Document Signers."""

    certificates: list[x509.Certificate] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # what was loaded, for technicians
    master_lists: list[VerifiedMasterList] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.certificates)

    def add(self, certificate: x509.Certificate) -> None:
        if all(c.fingerprint(hashes.SHA256()) != certificate.fingerprint(hashes.SHA256()) for c in self.certificates):
            self.certificates.append(certificate)

    def issuers_of(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        return [c for c in self.certificates if c.subject == certificate.issuer]

    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | Path],
        *,
        anchors: Iterable[x509.Certificate] = (),
        now: datetime | None = None,
    ) -> TrustStore:
        """Load files or folders of PEM/DER certificates and CMS master lists.

        Certificates are loaded first, so a CSCA given as a file (or in
        `anchors`) can vouch for a master list's signer. Raises
        MasterListRejected for a list whose signature does not hold,
        MalformedDataError naming the file that is none of those, and
        FileNotFoundError for a path that does not exist.
        """
        store = cls()
        for cert in anchors:
            store.add(cert)
        lists: list[tuple[str, bytes]] = []
        for entry in paths:
            path = Path(entry)
            files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
            for file in files:
                data = file.read_bytes()
                if _is_certificate_file(data):
                    count = store.load_bytes(data, file.name)
                    store.sources.append(f"{file.name}: {count} certificate(s)")
                else:
                    lists.append((file.name, data))
        for name, data in lists:
            store.load_bytes(data, name, now=now)
            store.sources.append(f"{name}: master list {store.master_lists[-1].describe()}")
        return store

    def load_bytes(self, data: bytes, name: str = "trust store entry", *, now: datetime | None = None) -> int:
        """Add the certificates in one PEM/DER certificate or a verified master
        list; the number of new ones. The CSCAs already in the store may
        vouch for a master list's signer (see verify_master_list)."""
        before = len(self.certificates)
        if b"-----BEGIN CERTIFICATE-----" in data:
            try:
                certificates = x509.load_pem_x509_certificates(data)
            except ValueError:
                raise MalformedDataError(f"{name}: a PEM certificate does not parse") from None
            for cert in certificates:
                self.add(cert)
            return len(self.certificates) - before
        try:
            self.add(x509.load_der_x509_certificate(data))
            return len(self.certificates) - before
        except ValueError:
            pass
        verified = verify_master_list(data, name, anchors=list(self.certificates), now=now)
        for cert in verified.certificates:
            self.add(cert)
        self.master_lists.append(verified)
        return len(self.certificates) - before


def _is_certificate_file(data: bytes) -> bool:
    if b"-----BEGIN CERTIFICATE-----" in data:
        return True
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return False
    return True


def _parse_master_list(data: bytes, name: str) -> tuple[cms.SignedData, bytes, list[x509.Certificate]]:
    try:
        info = cms.ContentInfo.load(data)
        if info["content_type"].native != "signed_data":
            raise MalformedDataError(f"{name}: not CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != ID_CSCA_MASTER_LIST:
            raise MalformedDataError(f"{name}: not a CSCA master list")
        content = encap["content"].contents
        master = CscaMasterList.load(content)
        certificates = [x509.load_der_x509_certificate(c.dump()) for c in master["cert_list"]]
        return signed, content, certificates
    except MalformedDataError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError/TypeError on bad DER
        raise MalformedDataError(f"{name}: neither a certificate nor a CSCA master list ({type(exc).__name__})") from None


def master_list_certificates(data: bytes, name: str = "master list") -> list[x509.Certificate]:
    """The CSCA certificates of a CMS master list, UNVERIFIED (inspection
    only: the trust store takes lists through verify_master_list)."""
    return _parse_master_list(data, name)[2]


def verify_master_list(
    data: bytes,
    name: str = "master list",
    *,
    anchors: Iterable[x509.Certificate] = (),
    now: datetime | None = None,
) -> VerifiedMasterList:
    """Check a CSCA master list's signature before anything in it is trusted.

    1. CMS (RFC 5652 §5.4, §5.6): one SignerInfo with signed attributes,
       contentType = id-icao-cscaMasterList and messageDigest = the hash of
       the CscaMasterList, signed by the certificate the SignerInfo names;
    2. the Master List Signer certificate (ICAO 9303-12 certificate
       profile): valid now, keyUsage digitalSignature, extKeyUsage
       id-icao-cscaMasterListSigningKey;
    3. its issuer: a CSCA (CA, keyCertSign) whose signature on it verifies,
       taken from `anchors` (the operator's) or from the list itself, where
       it must be self-signed and of the signer's own state (country).

    Raises MasterListRejected naming the first check that failed.
    """
    try:
        return _verify_master_list(data, name, anchors, now)
    except MalformedDataError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, UnsupportedAlgorithm) as exc:
        # asn1crypto parses lazily: a broken structure deep in the SignedData
        # only shows when that part is read.
        raise MasterListRejected(name, f"its CMS structure does not parse ({type(exc).__name__})") from None


def _verify_master_list(
    data: bytes, name: str, anchors: Iterable[x509.Certificate], now: datetime | None
) -> VerifiedMasterList:
    signed, content, certificates = _parse_master_list(data, name)
    when = now or datetime.now(UTC)
    signer_infos = signed["signer_infos"]
    if len(signer_infos) == 0:
        raise MasterListRejected(name, "it is not signed (no SignerInfo)")
    if len(signer_infos) != 1:
        raise MasterListRejected(name, f"{len(signer_infos)} SignerInfos instead of one")
    signer_info = signer_infos[0]
    try:
        signer_cert = _signer_certificate(signed, signer_info)
        signer = _subject(signer_cert)
    except (MalformedDataError, ValueError, TypeError, KeyError):
        # asn1crypto parses lazily: a broken certificate shows up here.
        raise MasterListRejected(name, "it does not carry a usable Master List Signer certificate") from None

    # 1. The CMS signature.
    try:
        attrs = signer_info["signed_attrs"]
        if not attrs:
            raise MasterListRejected(name, "no signed attributes")
        found = {attr["type"].native: attr["values"][0] for attr in attrs}
        content_type = found.get("content_type")
        if content_type is None or content_type.dotted != ID_CSCA_MASTER_LIST:
            raise MasterListRejected(name, "signed contentType is not id-icao-cscaMasterList")
        digest = found.get("message_digest")
        algorithm = signer_info["digest_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            raise MasterListRejected(name, f"unsupported digest {algorithm}")
        if digest is None or not hmac.compare_digest(digest.native, _hash(algorithm, content)):
            raise MasterListRejected(name, "content altered: messageDigest does not match the list")
        to_verify = b"\x31" + attrs.dump()[1:]  # RFC 5652 §5.4: signed as a SET OF
        _verify_signature(signer_cert.public_key(), signer_info["signature"].native, to_verify, signer_info)
    except InvalidSignature:
        raise MasterListRejected(name, f"signature does not verify with the Master List Signer {signer}") from None
    except (ValueError, TypeError, KeyError, UnsupportedAlgorithm) as exc:
        raise MasterListRejected(name, f"signer information unusable ({type(exc).__name__})") from None

    try:
        # 2. The signer certificate's profile.
        _check_master_list_signer(name, signer_cert, when)
        # 3. Its issuer: an anchor the operator configured, or a CSCA of the signer's state in the list.
        anchor = _master_list_anchor(signer_cert, list(anchors), certificates)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # cryptography parses extensions lazily: a broken one shows up here.
        raise MasterListRejected(name, f"a certificate is unusable ({type(exc).__name__})") from None
    if anchor is None:
        raise MasterListRejected(
            name, f"the Master List Signer {signer} is not issued by a configured CSCA nor by its state's CSCA in the list"
        )
    return VerifiedMasterList(tuple(certificates), signer, anchor)


def _check_master_list_signer(name: str, cert: x509.Certificate, when: datetime) -> None:
    if when < cert.not_valid_before_utc:
        raise MasterListRejected(name, f"the Master List Signer certificate is valid only from {cert.not_valid_before_utc:%Y-%m-%d}")
    if when > cert.not_valid_after_utc:
        raise MasterListRejected(name, f"the Master List Signer certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise MasterListRejected(name, "the Master List Signer certificate's key usage lacks digitalSignature")
    except x509.ExtensionNotFound:
        raise MasterListRejected(name, "the Master List Signer certificate has no key usage") from None
    try:
        purposes = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise MasterListRejected(name, "the signer certificate is not a Master List Signer (no extended key usage)") from None
    if ID_CSCA_MASTER_LIST_SIGNING_KEY not in {p.dotted_string for p in purposes}:
        raise MasterListRejected(
            name, "the signer certificate is not a Master List Signer (extKeyUsage lacks cscaMasterListSigningKey)"
        )


def _country(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    return str(values[0].value).upper() if values else None


def _is_csca(cert: x509.Certificate) -> bool:
    try:
        if not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    except x509.ExtensionNotFound:
        return False


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject or not _is_csca(issuer):
        return False
    authority_key = _authority_key_id(cert)
    if authority_key is not None and _subject_key_id(issuer) not in (None, authority_key):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _master_list_anchor(
    signer: x509.Certificate, anchors: list[x509.Certificate], in_list: list[x509.Certificate]
) -> str | None:
    for csca in anchors:
        if _issued(signer, csca):
            return f"CSCA {_subject(csca)} (configured)"
    state = _country(signer.subject)
    for csca in in_list:
        # A CSCA from the list itself vouches only for its own state's list:
        # self-signed, and of the signer's country.
        if csca.subject != csca.issuer or _country(csca.subject) != state or state is None:
            continue
        if _issued(csca, csca) and _issued(signer, csca):
            return f"CSCA {_subject(csca)} (in the list)"
    return None


# -- EF.SOD ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sod:
    """The parts of EF.SOD Passive Authentication needs."""

    hash_algorithm: str
    hashes: Mapping[int, bytes]
    signed_data: cms.SignedData
    encapsulated: bytes  # DER of the LDSSecurityObject

    def __repr__(self) -> str:
        return f"Sod({self.hash_algorithm}, data groups {sorted(self.hashes)})"


def parse_sod(data: bytes) -> Sod:
    """EF.SOD: '77' { ContentInfo { SignedData { LDSSecurityObject } } }."""
    try:
        body = tlv.parse_single(data, TAG_EF_SOD).value
        info = cms.ContentInfo.load(body)
        if info["content_type"].native != "signed_data":
            raise MalformedDataError("EF.SOD is not CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != ID_LDS_SECURITY_OBJECT:
            raise MalformedDataError("EF.SOD does not hold an LDSSecurityObject")
        encapsulated = encap["content"].contents
        lso = LdsSecurityObject.load(encapsulated)
        algorithm = lso["hash_algorithm"]["algorithm"].native
        values = {int(h["data_group_number"].native): bytes(h["data_group_hash_value"].native)
                  for h in lso["data_group_hash_values"]}  # fmt: skip
        if algorithm not in _HASHES:
            raise MalformedDataError(f"EF.SOD: unsupported hash algorithm {algorithm}")
        return Sod(algorithm, values, signed, encapsulated)
    except MalformedDataError:
        raise
    except Exception as exc:  # asn1crypto parses lazily and raises ValueError/TypeError/KeyError
        raise MalformedDataError(f"EF.SOD does not parse ({type(exc).__name__})") from None


def _hash(algorithm: str, data: bytes) -> bytes:
    return hashlib.new(algorithm, data).digest()


def _verify_signature(public_key: object, signature: bytes, data: bytes, signer_info: cms.SignerInfo) -> None:
    """Raise InvalidSignature unless `signature` over `data` verifies (RFC 5652 §5.6)."""
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    sig_alg = signer_info["signature_algorithm"]
    try:
        digest_name = sig_alg.hash_algo
    except ValueError:
        pass  # plain rsaEncryption / ecPublicKey: the digest algorithm field names the hash
    hash_cls = _HASHES.get(digest_name)
    if hash_cls is None:
        raise InvalidSignature(f"unsupported digest {digest_name}")
    kind = sig_alg.signature_algo
    if isinstance(public_key, ec.EllipticCurvePublicKey) and kind == "ecdsa":
        public_key.verify(signature, data, ec.ECDSA(hash_cls()))
    elif isinstance(public_key, rsa.RSAPublicKey) and kind == "rsassa_pss":
        public_key.verify(signature, data, padding.PSS(padding.MGF1(hash_cls()), padding.PSS.AUTO), hash_cls())
    elif isinstance(public_key, rsa.RSAPublicKey) and kind == "rsassa_pkcs1v15":
        public_key.verify(signature, data, padding.PKCS1v15(), hash_cls())
    else:
        raise InvalidSignature(f"unsupported signature algorithm {kind}")


def _authority_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def _subject_key_id(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def _subject(cert: x509.Certificate) -> str:
    with warnings.catch_warnings():
        # cryptography warns about over-long name attributes (broken or
        # fuzzed certificates); the name is only shown to technicians.
        warnings.simplefilter("ignore", UserWarning)
        return cert.subject.rfc4514_string()


def passive_authentication(
    sod_bytes: bytes | None,
    data_groups: Mapping[int, bytes],
    trust_store: TrustStore | None,
    *,
    now: datetime | None = None,
) -> PassiveAuthResult:
    """Check EF.SOD and the data groups read (ICAO 9303-11 §5.1).

    Never raises for bad chip data: a malformed SOD is FAILED with a reason.
    """
    if sod_bytes is None:
        return PassiveAuthResult(PaStatus.NOT_VERIFIABLE, ("no EF.SOD on the chip: data not verifiable",))
    try:
        sod = parse_sod(sod_bytes)
    except MalformedDataError as exc:
        return PassiveAuthResult(PaStatus.FAILED, (f"EF.SOD malformed: {exc}",))

    reasons: list[str] = []
    failed = False

    # 3. Data-group hashes (done first: they need no certificates).
    checked = []
    for number in sorted(data_groups):
        expected = sod.hashes.get(number)
        if expected is None:
            failed = True
            reasons.append(f"DG{number} is not listed in EF.SOD")
        elif not hmac.compare_digest(_hash(sod.hash_algorithm, data_groups[number]), expected):
            failed = True
            reasons.append(f"DG{number} hash does not match EF.SOD")
        else:
            checked.append(number)
    if checked:
        reasons.append(f"{sod.hash_algorithm} hashes match for " + ", ".join(f"DG{n}" for n in checked))

    # 1. The SOD signature with the DS certificate it carries.
    signer = ""
    ds_cert: x509.Certificate | None = None
    try:
        signer_infos = sod.signed_data["signer_infos"]
        if len(signer_infos) != 1:
            raise ValueError(f"{len(signer_infos)} signer infos instead of 1")
        signer_info = signer_infos[0]
        ds_cert = _signer_certificate(sod.signed_data, signer_info)
        signer = _subject(ds_cert)
        _check_signed_attributes(signer_info, sod)
        signed_attrs = signer_info["signed_attrs"]
        # RFC 5652 §5.4: the signature covers the DER of the attributes with
        # an explicit SET OF tag, not the [0] IMPLICIT tag they are sent with.
        to_verify = b"\x31" + signed_attrs.dump()[1:]
        _verify_signature(ds_cert.public_key(), signer_info["signature"].native, to_verify, signer_info)
        reasons.append("EF.SOD signature verifies with the Document Signer certificate")
    except InvalidSignature:
        failed = True
        reasons.append("EF.SOD signature does not verify")
    except (ValueError, TypeError, KeyError, MalformedDataError, UnsupportedAlgorithm) as exc:
        failed = True
        reasons.append(f"EF.SOD signer information unusable: {exc}")

    if failed:
        return PassiveAuthResult(PaStatus.FAILED, tuple(reasons), tuple(checked), signer)

    # 2. The DS certificate chains to a CSCA in the trust store.
    assert ds_cert is not None
    try:
        return _check_chain(ds_cert, trust_store, reasons, tuple(checked), signer, now)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # cryptography parses extensions lazily: a broken one shows up here.
        reasons.append(f"Document Signer certificate unusable ({type(exc).__name__})")
        return PassiveAuthResult(PaStatus.FAILED, tuple(reasons), tuple(checked), signer)


def _check_chain(
    ds_cert: x509.Certificate,
    trust_store: TrustStore | None,
    reasons: list[str],
    checked: tuple[int, ...],
    signer: str,
    now: datetime | None,
) -> PassiveAuthResult:
    when = now or datetime.now(UTC)
    if not (ds_cert.not_valid_before_utc <= when <= ds_cert.not_valid_after_utc):
        reasons.append("Document Signer certificate is outside its validity period (the document may have expired)")
    if trust_store is None or not len(trust_store):
        reasons.append("no CSCA trust store configured: not verifiable")
        return PassiveAuthResult(PaStatus.NOT_VERIFIABLE, tuple(reasons), checked, signer)
    issuers = trust_store.issuers_of(ds_cert)
    authority_key = _authority_key_id(ds_cert)
    if authority_key is not None:
        # Same name, other key: a CSCA key rollover whose new certificate
        # the store lacks; that is "not verifiable", not a forgery.
        issuers = [c for c in issuers if _subject_key_id(c) in (None, authority_key)]
    if not issuers:
        reasons.append("no CSCA in the trust store issued the Document Signer: not verifiable")
        return PassiveAuthResult(PaStatus.NOT_VERIFIABLE, tuple(reasons), checked, signer)
    for csca in issuers:
        try:
            ds_cert.verify_directly_issued_by(csca)
        except (InvalidSignature, ValueError, TypeError):
            continue
        reasons.append(f"Document Signer certificate issued by CSCA {_subject(csca)}")
        return PassiveAuthResult(PaStatus.VERIFIED, tuple(reasons), checked, signer)
    reasons.append("Document Signer certificate signature does not verify with the CSCA of that name")
    return PassiveAuthResult(PaStatus.FAILED, tuple(reasons), checked, signer)


def _signer_certificate(signed: cms.SignedData, signer_info: cms.SignerInfo) -> x509.Certificate:
    """The DS certificate the SignerInfo names (issuer and serial, or SKI)."""
    sid = signer_info["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            match = (
                cert.issuer == sid.chosen["issuer"]
                and cert.serial_number == sid.chosen["serial_number"].native
            )
        else:
            match = cert.key_identifier == sid.chosen.native
        if match:
            try:
                return x509.load_der_x509_certificate(cert.dump())
            except Exception as exc:  # InvalidVersion, ValueError: a broken certificate
                raise MalformedDataError(f"Document Signer certificate unusable ({type(exc).__name__})") from None
    raise MalformedDataError("EF.SOD does not carry the Document Signer certificate it names")


def _check_signed_attributes(signer_info: cms.SignerInfo, sod: Sod) -> None:
    attrs = signer_info["signed_attrs"]
    if not attrs:
        raise MalformedDataError("no signed attributes")
    found: dict[str, object] = {}
    for attr in attrs:
        found[attr["type"].native] = attr["values"][0]
    content_type = found.get("content_type")
    if content_type is None or content_type.dotted != ID_LDS_SECURITY_OBJECT:  # type: ignore[attr-defined]
        raise MalformedDataError("signed contentType is not ldsSecurityObject")
    digest = found.get("message_digest")
    if digest is None:
        raise MalformedDataError("no signed messageDigest")
    algorithm = signer_info["digest_algorithm"]["algorithm"].native
    if algorithm not in _HASHES:
        raise MalformedDataError(f"unsupported digest {algorithm}")
    if not hmac.compare_digest(digest.native, _hash(algorithm, sod.encapsulated)):  # type: ignore[attr-defined]
        raise InvalidSignature("messageDigest does not match the LDSSecurityObject")
