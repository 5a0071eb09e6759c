"""Chip Authentication (DG14, ICAO 9303-11 §6.2) and Active Authentication
(DG15, §6.1): proofs that the chip holds a private key, so the data signed
by Passive Authentication were not copied onto another chip.

Chip Authentication (ECDH, as the CCCD announces): MSE:Set AT names the
protocol and key; GENERAL AUTHENTICATE sends the terminal's ephemeral
public key; both sides derive K = x(SK·PK) and new SM keys, SSC = 0. The
chip answers that command under the old keys and switches after it
(§6.2.4); a chip without the private key cannot answer the next command,
so reading on under the new keys is the proof.

Active Authentication: INTERNAL AUTHENTICATE with an 8-byte challenge; the
chip signs it with the DG15 key: RSA with ISO/IEC 9796-2 digital signature
scheme 1 (message recovery), or ECDSA with the plain r||s format of BSI
TR-03111 (the hash named in DG14's ActiveAuthenticationInfo, SHA-256 if
absent).

Both are only meaningful when DG14/DG15 themselves passed Passive
Authentication; the reader checks their hashes with the others.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from kiosk.errors import MalformedDataError, SecureMessagingError

from . import tlv
from .apdu import INS_GENERAL_AUTHENTICATE, INS_MSE, CommandApdu, raise_for_status
from .ec import STANDARD_CURVES, Curve
from .lds import TAG_DG14, TAG_DG15
from .pace import (
    _CIPHER_BY_ARC,
    ID_AA,
    ID_CA_ECDH,
    ID_PK_ECDH,
    SecurityInfo,
    parse_security_infos,
    private_key,
    session_ciphers,
    shared_secret,
    sm_cipher,
)
from .sm import SecureMessaging

RandomBytes = Callable[[int], bytes]
INS_INTERNAL_AUTHENTICATE = 0x88
AA_CHALLENGE_LENGTH = 8

# ISO/IEC 9796-2 trailer 'xxCC': hash function identifiers of ISO/IEC 10118-3.
_ISO9796_HASH_IDS = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}
# ANSI X9.62 / BSI TR-03111 signature OIDs (DER content) -> hash for ECDSA AA.
_ECDSA_HASH_BY_OID = {
    bytes.fromhex("2A8648CE3D040101"): "sha1",
    bytes.fromhex("2A8648CE3D040301"): "sha224",
    bytes.fromhex("2A8648CE3D040302"): "sha256",
    bytes.fromhex("2A8648CE3D040303"): "sha384",
    bytes.fromhex("2A8648CE3D040304"): "sha512",
}
_HASH_CLASSES = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
                 "sha384": hashes.SHA384, "sha512": hashes.SHA512}  # fmt: skip


class AuthStatus(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"  # the chip could not prove its key: treat the card as forged
    NOT_SUPPORTED = "not_supported"  # no DG14/DG15, or an option this reader lacks


@dataclass(frozen=True)
class AuthResult:
    status: AuthStatus
    reason: str


# -- DG14 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChipAuthKey:
    protocol: bytes  # id-CA-ECDH-* (cipher in the last arc)
    curve: Curve
    public_point: bytes  # uncompressed
    key_id: int | None


def _curve_of(spki: asn1_keys.PublicKeyInfo) -> Curve:
    params = spki["algorithm"]["parameters"]
    if params.name == "named":
        name = params.chosen.native
        for curve in STANDARD_CURVES.values():
            if curve.name.lower() == str(name).lower() or (name == "secp256r1" and curve.name == "secp256r1"):
                return curve
        raise MalformedDataError(f"DG14: unsupported named curve {name}")
    if params.name == "specified":
        spec = params.chosen
        p = spec["field_id"]["parameters"].native
        a = int.from_bytes(spec["curve"]["a"].native, "big")
        b = int.from_bytes(spec["curve"]["b"].native, "big")
        for curve in STANDARD_CURVES.values():
            if (curve.p, curve.a % curve.p, curve.b) == (p, a % p, b):
                return curve
        raise MalformedDataError("DG14: explicit curve parameters match no standardized curve")
    raise MalformedDataError("DG14: implicit curve parameters")


def parse_dg14(data: bytes) -> list[SecurityInfo]:
    return parse_security_infos(tlv.parse_single(data, TAG_DG14).value)


def chip_auth_key(infos: list[SecurityInfo]) -> ChipAuthKey | None:
    """The ECDH Chip Authentication key of DG14, or None when it has none."""
    protocol = None
    key_ids: dict[int | None, bytes] = {}
    for info in infos:
        if info.protocol.startswith(ID_CA_ECDH) and len(info.protocol) == len(ID_CA_ECDH) + 1:
            protocol = info.protocol
        elif info.protocol == ID_PK_ECDH:
            key_id = int.from_bytes(info.optional.value, "big") if info.optional is not None else None
            key_ids[key_id] = info.required.encode()
    if protocol is None or not key_ids or _CIPHER_BY_ARC.get(protocol[-1]) is None:
        return None
    key_id, spki_der = next(iter(key_ids.items()))
    try:
        spki = asn1_keys.PublicKeyInfo.load(spki_der)
        curve = _curve_of(spki)
        point = bytes(spki["public_key"].native if isinstance(spki["public_key"].native, bytes)
                      else spki["public_key"].contents[1:])  # fmt: skip
        curve.decode(point)
    except MalformedDataError:
        raise
    except Exception as exc:  # asn1crypto: ValueError/TypeError on bad DER
        raise MalformedDataError(f"DG14 public key does not parse ({type(exc).__name__})") from None
    return ChipAuthKey(protocol, curve, point, key_id)


def active_auth_hash(infos: list[SecurityInfo]) -> str:
    """ActiveAuthenticationInfo's ECDSA hash (§9.2.8); SHA-256 when DG14 says nothing."""
    for info in infos:
        if info.protocol == ID_AA and info.optional is not None:
            return _ECDSA_HASH_BY_OID.get(info.optional.value, "sha256")
    return "sha256"


# -- Chip Authentication, terminal side -------------------------------------------------------------


def perform_chip_authentication(
    send: Callable[[CommandApdu], object],
    key: ChipAuthKey,
    *,
    random_bytes: RandomBytes = os.urandom,
) -> SecureMessaging:
    """MSE:Set AT + GENERAL AUTHENTICATE under the current SM; the new SM.

    `send` is ChipSession.send. Raises StatusWordError when the chip
    refuses, SecureMessagingError when its answer does not verify.
    """
    curve = key.curve
    algorithm = _CIPHER_BY_ARC[key.protocol[-1]]
    data = tlv.encode(0x80, key.protocol)
    if key.key_id is not None:
        data += tlv.encode(0x84, key.key_id.to_bytes(max(1, (key.key_id.bit_length() + 7) // 8), "big"))
    response = send(CommandApdu(0x00, INS_MSE, 0x41, 0xA4, data=data))
    raise_for_status(response, "MSE:Set AT (Chip Authentication)")  # type: ignore[arg-type]
    sk = private_key(curve, random_bytes)
    pk = curve.encode(curve.multiply(sk, curve.generator))
    answer = send(
        CommandApdu(0x00, INS_GENERAL_AUTHENTICATE, 0x00, 0x00, data=tlv.encode(0x7C, tlv.encode(0x80, pk)), ne=256)
    )
    raise_for_status(answer, "GENERAL AUTHENTICATE (Chip Authentication)")  # type: ignore[arg-type]
    secret = shared_secret(curve, sk, curve.decode(key.public_point))
    ks_enc, ks_mac = session_ciphers(secret, algorithm)
    return SecureMessaging(sm_cipher(algorithm, ks_enc, ks_mac), 0)


# -- Active Authentication, terminal side --------------------------------------------------------------


def verify_active_authentication(dg15: bytes, challenge: bytes, signature: bytes, ecdsa_hash: str) -> AuthResult:
    """Check the chip's answer to INTERNAL AUTHENTICATE (§6.1)."""
    try:
        public_key = load_der_public_key(tlv.parse_single(dg15, TAG_DG15).value)
    except (ValueError, MalformedDataError) as exc:
        return AuthResult(AuthStatus.FAILED, f"DG15 public key does not parse ({type(exc).__name__})")
    except Exception as exc:  # cryptography: UnsupportedAlgorithm
        return AuthResult(AuthStatus.NOT_SUPPORTED, f"DG15 key type not supported ({type(exc).__name__})")
    if isinstance(public_key, rsa.RSAPublicKey):
        return _verify_iso9796_2(public_key, challenge, signature)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        size = (public_key.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            return AuthResult(AuthStatus.FAILED, "ECDSA signature has the wrong length")
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
        try:
            public_key.verify(der, challenge, ec.ECDSA(_HASH_CLASSES[ecdsa_hash]()))
        except InvalidSignature:
            return AuthResult(AuthStatus.FAILED, "ECDSA signature over the challenge does not verify")
        return AuthResult(AuthStatus.PASSED, f"ECDSA-{ecdsa_hash.upper()} signature over the challenge verifies")
    return AuthResult(AuthStatus.NOT_SUPPORTED, "DG15 key is neither RSA nor EC")


def _verify_iso9796_2(public_key: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> AuthResult:
    """ISO/IEC 9796-2 scheme 1, partial message recovery (ICAO 9303-11 §6.1)."""
    numbers = public_key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if not 0 < s < numbers.n:
        return AuthResult(AuthStatus.FAILED, "RSA signature out of range")
    f = pow(s, numbers.e, numbers.n).to_bytes(k, "big")
    if f[-1] == 0xBC:
        hash_name, trailer = "sha1", 1
    elif f[-1] == 0xCC and f[-2] in _ISO9796_HASH_IDS:
        hash_name, trailer = _ISO9796_HASH_IDS[f[-2]], 2
    else:
        return AuthResult(AuthStatus.FAILED, "ISO/IEC 9796-2 trailer not recognised")
    digest_length = hashlib.new(hash_name).digest_size
    if f[0] & 0xC0 != 0x40 or len(f) < 1 + digest_length + trailer:
        return AuthResult(AuthStatus.FAILED, "ISO/IEC 9796-2 header not recognised")
    m1 = f[1 : k - digest_length - trailer]
    digest = f[k - digest_length - trailer : k - trailer]
    if not hmac.compare_digest(digest, hashlib.new(hash_name, m1 + challenge).digest()):
        return AuthResult(AuthStatus.FAILED, "ISO/IEC 9796-2 signature over the challenge does not verify")
    return AuthResult(AuthStatus.PASSED, f"RSA ISO/IEC 9796-2 ({hash_name.upper()}) signature over the challenge verifies")


def iso9796_2_sign(private: rsa.RSAPrivateKey, challenge: bytes, random_bytes: RandomBytes, hash_name: str = "sha1") -> bytes:
    """The chip's side of §6.1 with RSA (the simulator uses it)."""
    numbers = private.private_numbers()
    n = numbers.public_numbers.n
    k = (n.bit_length() + 7) // 8
    digest_length = hashlib.new(hash_name).digest_size
    trailer = b"\xBC" if hash_name == "sha1" else bytes([{v: k_ for k_, v in _ISO9796_HASH_IDS.items()}[hash_name], 0xCC])
    m1 = random_bytes(k - digest_length - len(trailer) - 1)
    f = b"\x6A" + m1 + hashlib.new(hash_name, m1 + challenge).digest() + trailer
    return pow(int.from_bytes(f, "big"), numbers.d, n).to_bytes(k, "big")


def ecdsa_plain_sign(private: ec.EllipticCurvePrivateKey, challenge: bytes, hash_name: str = "sha256") -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(private.sign(challenge, ec.ECDSA(_HASH_CLASSES[hash_name]())))
    size = (private.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def internal_authenticate(send: Callable[[CommandApdu], object], challenge: bytes) -> bytes:
    """INTERNAL AUTHENTICATE (§6.1.2): the chip's signature over the challenge."""
    response = send(CommandApdu(0x00, INS_INTERNAL_AUTHENTICATE, 0x00, 0x00, data=challenge, ne=256))
    raise_for_status(response, "INTERNAL AUTHENTICATE")  # type: ignore[arg-type]
    data: bytes = response.data  # type: ignore[attr-defined]
    if not data:
        raise SecureMessagingError("INTERNAL AUTHENTICATE returned no signature")
    return data

