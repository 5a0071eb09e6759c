"""PACE, terminal side (ICAO 9303-11 §4.4), ECDH Generic Mapping.

1. EF.CardAccess (read in the clear, §4.4.1 / 9303-10) lists PACEInfo:
   protocol OID (which mapping, which cipher) and the standardized domain
   parameter ID (§9.5.1; CCCD cards: 13 = brainpoolP256r1).
2. MSE:Set AT (§4.4.4.1) names the protocol, the password (MRZ or CAN) and
   the parameters.
3. GENERAL AUTHENTICATE, four steps in command chaining (§4.4.4.2):
   encrypted nonce; mapping (G~ = s·G + H, §4.4.3.3.1); key agreement on
   G~; mutual authentication with tokens over the other side's ephemeral
   public key (§4.4.3.4, §9.7.4).
4. Secure messaging with the new keys, SSC = 0 (§9.8.6.3 / §9.8.7.3).

The chip tells "wrong password" only at step 4, by refusing the terminal's
token; that is AccessKeyRejected. A chip that refuses PACE itself (6982 to
MSE:Set AT, seen on some CCCD cards, DOMAIN.md) raises PaceRefused so the
caller falls back to BAC.

Helpers shared with the card side (the simulator) live here too, so both
ends compute the same mapping and tokens from one definition.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.errors import AccessKeyRejected, CardError, MalformedDataError, SecureMessagingError, StatusWordError
from kiosk.ports import CanKey, CardTransport, MrzKey

from . import crypto, tlv
from .apdu import (
    INS_GENERAL_AUTHENTICATE,
    INS_MSE,
    SW_SECURITY_STATUS,
    SW_VERIFICATION_FAILED,
    CommandApdu,
    ResponseApdu,
    raise_for_status,
)
from .ec import DH_PARAMETER_IDS, STANDARD_CURVES, Curve, Point
from .mrz import mrz_information
from .sm import AesSm, SecureMessaging, SmCipher, TripleDesSm

RandomBytes = Callable[[int], bytes]

# -- object identifiers (BSI TR-03110-3 / ICAO 9303-11 §9.2), DER content bytes --

BSI_DE = bytes.fromhex("04007F00070202")  # 0.4.0.127.0.7.2.2
ID_PK_ECDH = BSI_DE + b"\x01\x02"  # id-PK-ECDH (DG14 ChipAuthenticationPublicKeyInfo)
ID_TA = BSI_DE + b"\x02"
ID_CA = BSI_DE + b"\x03"
ID_CA_ECDH = ID_CA + b"\x02"
ID_PACE = BSI_DE + b"\x04"
ID_PACE_DH_GM = ID_PACE + b"\x01"
ID_PACE_ECDH_GM = ID_PACE + b"\x02"
ID_PACE_DH_IM = ID_PACE + b"\x03"
ID_PACE_ECDH_IM = ID_PACE + b"\x04"
ID_PACE_ECDH_CAM = ID_PACE + b"\x06"
ID_AA = bytes.fromhex("678108010105")  # 2.23.136.1.1.5 (ICAO 9303-11 §9.2.8)

# Last arc of a PACE/CA OID: the cipher and MAC of the session (§9.2.3).
_CIPHER_BY_ARC = {
    1: crypto.KeyAlgorithm.TDES,  # 3DES-CBC-CBC (retail MAC)
    2: crypto.KeyAlgorithm.AES128,  # AES-CBC-CMAC-128
    3: crypto.KeyAlgorithm.AES192,
    4: crypto.KeyAlgorithm.AES256,
}
ARC_BY_CIPHER = {v: k for k, v in _CIPHER_BY_ARC.items()}

PASSWORD_MRZ = 0x01  # MSE:Set AT DO'83' (§4.4.4.1)
PASSWORD_CAN = 0x02

TAG_DYNAMIC_AUTH = 0x7C
TAG_PUBLIC_KEY = 0x7F49
TAG_EC_POINT = 0x86
TAG_OID = 0x06

CLA_CHAINING = 0x10  # ISO/IEC 7816-4 §5.1.1: more commands of the chain follow
MAX_KEY_TRIES = 64  # rejection sampling of a private key: 2^-64 chance of running out


class PaceRefused(CardError):
    """The chip does not do PACE now (6982 to MSE:Set AT): use BAC."""

    code = "pace_refused"


# -- SecurityInfos (ICAO 9303-11 §9.2) --------------------------------------------


@dataclass(frozen=True)
class SecurityInfo:
    """One SecurityInfo: protocol OID (content bytes), requiredData, optionalData."""

    protocol: bytes
    required: tlv.Tlv
    optional: tlv.Tlv | None


@dataclass(frozen=True)
class PaceInfo:
    """PACEInfo (§9.2.1): protocol OID, version, standardized parameter ID."""

    protocol: bytes
    version: int
    parameter_id: int | None

    @property
    def is_ecdh_gm(self) -> bool:
        return self.protocol[:-1] == ID_PACE_ECDH_GM

    @property
    def cipher(self) -> crypto.KeyAlgorithm | None:
        return _CIPHER_BY_ARC.get(self.protocol[-1])

    @property
    def curve(self) -> Curve | None:
        return STANDARD_CURVES.get(self.parameter_id) if self.parameter_id is not None else None

    @property
    def supported(self) -> bool:
        return self.is_ecdh_gm and self.cipher is not None and self.curve is not None

    def describe(self) -> str:
        """Protocol in words, for technicians (no personal data)."""
        mapping = "ECDH-GM" if self.is_ecdh_gm else f"PACE arc {self.protocol[len(ID_PACE):].hex()}"
        cipher = self.cipher.value if self.cipher else "?"
        curve = self.curve.name if self.curve else f"parameter {self.parameter_id}"
        return f"PACE {mapping} {cipher} {curve}"


def _integer(obj: tlv.Tlv) -> int:
    if obj.tag != 0x02 or not obj.value or len(obj.value) > 8:
        raise MalformedDataError("SecurityInfo: expected a small INTEGER")
    return int.from_bytes(obj.value, "big", signed=False)


def parse_security_infos(data: bytes) -> list[SecurityInfo]:
    """SecurityInfos ::= SET OF SecurityInfo (EF.CardAccess, DG14 content).

    MalformedDataError when the structure is not a SET of SEQUENCEs each
    starting with an OID; unknown protocols are kept for the caller to skip.
    """
    top = tlv.parse_single(data, 0x31)
    infos = []
    for entry in top.children():
        if entry.tag != 0x30:
            raise MalformedDataError("SecurityInfos: entry is not a SEQUENCE")
        parts = entry.children()
        if len(parts) < 2 or parts[0].tag != TAG_OID or not parts[0].value:
            raise MalformedDataError("SecurityInfo: expected an OID and its required data")
        infos.append(SecurityInfo(parts[0].value, parts[1], parts[2] if len(parts) > 2 else None))
    return infos


def pace_infos(infos: list[SecurityInfo]) -> list[PaceInfo]:
    """The PACEInfo entries (skipping PACEDomainParameterInfo and others)."""
    found = []
    for info in infos:
        # PACEInfo protocols are id-PACE.x.y; PACEDomainParameterInfo has
        # one arc less (id-PACE-ECDH-GM itself) and is skipped.
        if info.protocol.startswith(ID_PACE) and len(info.protocol) == len(ID_PACE) + 2:
            parameter_id = _integer(info.optional) if info.optional is not None else None
            found.append(PaceInfo(info.protocol, _integer(info.required), parameter_id))
    return found


def choose_pace_info(card_access: bytes) -> tuple[PaceInfo | None, list[str]]:
    """The PACEInfo this reader can run, and notes on what it skipped.

    Prefers the strongest cipher the chip offers. DH (parameter IDs 0-2),
    Integrated and Chip Authentication Mapping are not implemented: the
    CCCD announces ECDH Generic Mapping (DOMAIN.md §1).
    """
    notes = []
    usable = []
    for info in pace_infos(parse_security_infos(card_access)):
        if info.supported and info.version == 2:
            usable.append(info)
        elif info.parameter_id in DH_PARAMETER_IDS:
            notes.append("PACE with DH (integer groups) offered: not supported, skipped")
        else:
            notes.append(f"unsupported PACE option skipped: {info.describe()}")
    if not usable:
        return None, notes
    order = list(_CIPHER_BY_ARC.values())
    usable.sort(key=lambda i: order.index(i.cipher) if i.cipher else -1, reverse=True)
    return usable[0], notes


# -- passwords (§4.4.3.1, §9.7.3) -----------------------------------------------------


def password_secret(key: CanKey | MrzKey) -> tuple[int, bytes]:
    """(password reference, K): K = SHA-1(MRZ information) or the CAN in ISO 8859-1."""
    if isinstance(key, CanKey):
        if not key.can or not key.can.isascii() or not key.can.isdigit():
            raise ValueError("a CAN is digits only")
        return PASSWORD_CAN, key.can.encode("ascii")
    info = mrz_information(key.document_number, key.date_of_birth, key.date_of_expiry)
    return PASSWORD_MRZ, mrz_password(info)


def mrz_password(mrz_info: str) -> bytes:
    """ICAO 9303-11 §9.7.3: K = SHA-1(Serial Number || Date of Birth || Date of Expiry)."""
    return hashlib.sha1(mrz_info.encode("ascii")).digest()


# -- primitives shared by both ends ------------------------------------------------------


def decrypt_nonce(password: bytes, algorithm: crypto.KeyAlgorithm, encrypted: bytes) -> bytes:
    """s = D(Kπ, z), Kπ = KDF(K, 3) (§4.4.3.1, §9.7.3): CBC with a zero IV."""
    k_pi = crypto.kdf(password, crypto.KDF_PACE_PASSWORD, algorithm)
    if algorithm is crypto.KeyAlgorithm.TDES:
        if not encrypted or len(encrypted) % crypto.DES_BLOCK:
            raise SecureMessagingError("PACE: encrypted nonce is not whole 3DES blocks")
        return crypto.tdes_decrypt(k_pi, encrypted)
    if not encrypted or len(encrypted) % crypto.AES_BLOCK:
        raise SecureMessagingError("PACE: encrypted nonce is not whole AES blocks")
    return crypto.aes_decrypt(k_pi, encrypted, bytes(crypto.AES_BLOCK))


def encrypt_nonce(password: bytes, algorithm: crypto.KeyAlgorithm, nonce: bytes) -> bytes:
    k_pi = crypto.kdf(password, crypto.KDF_PACE_PASSWORD, algorithm)
    if algorithm is crypto.KeyAlgorithm.TDES:
        return crypto.tdes_encrypt(k_pi, nonce)
    return crypto.aes_encrypt(k_pi, nonce, bytes(crypto.AES_BLOCK))


def private_key(curve: Curve, random_bytes: RandomBytes) -> int:
    """A private key in [1, n-1] by rejection sampling (BSI TR-03111 §4.1.1).

    Uses the random bytes as the key itself when they are in range, so a
    test can hand in the worked example's keys.
    """
    bits = curve.n.bit_length()
    size = (bits + 7) // 8
    for _ in range(MAX_KEY_TRIES):
        # Drop the bits above n's length (P-521: 7 of them), or most draws
        # would be out of range.
        k = int.from_bytes(random_bytes(size), "big") & ((1 << bits) - 1)
        if 0 < k < curve.n:
            return k
    raise ValueError("the random source gave no usable private key")


def map_generator(curve: Curve, nonce: bytes, shared_point: Point) -> tuple[int, int]:
    """Generic Mapping (§4.4.3.3.1): G~ = s·G + H."""
    if shared_point is None:
        raise SecureMessagingError("PACE mapping: the shared point is the point at infinity")
    mapped = curve.add(curve.multiply(int.from_bytes(nonce, "big"), curve.generator), shared_point)
    if mapped is None:
        raise SecureMessagingError("PACE mapping gave the point at infinity")
    return mapped


def shared_secret(curve: Curve, private: int, public: tuple[int, int]) -> bytes:
    """ECDH on any generator: the x-coordinate of private·public (§9.6 / TR-03111 §4.3.1)."""
    point = curve.multiply(private, public)
    if point is None:
        raise SecureMessagingError("key agreement gave the point at infinity")
    return point[0].to_bytes(curve.field_size, "big")


def session_ciphers(secret: bytes, algorithm: crypto.KeyAlgorithm) -> tuple[bytes, bytes]:
    """KSenc = KDF(K, 1), KSmac = KDF(K, 2) (§9.7.1)."""
    return crypto.kdf(secret, crypto.KDF_ENC, algorithm), crypto.kdf(secret, crypto.KDF_MAC, algorithm)


def sm_cipher(algorithm: crypto.KeyAlgorithm, ks_enc: bytes, ks_mac: bytes) -> SmCipher:
    if algorithm is crypto.KeyAlgorithm.TDES:
        return TripleDesSm(ks_enc, ks_mac)
    return AesSm(ks_enc, ks_mac)


def public_key_data(protocol: bytes, encoded_point: bytes) -> bytes:
    """The token input (§4.4.3.4 / 9303-11 §9.4.5): 7F49 { 06 OID, 86 point }."""
    return tlv.encode(TAG_PUBLIC_KEY, tlv.encode(TAG_OID, protocol) + tlv.encode(TAG_EC_POINT, encoded_point))


def authentication_token(
    algorithm: crypto.KeyAlgorithm, ks_mac: bytes, protocol: bytes, encoded_point: bytes
) -> bytes:
    """T = MAC(KSmac, public key data) (§4.4.3.4): 8 bytes, CMAC or retail MAC."""
    data = public_key_data(protocol, encoded_point)
    if algorithm is crypto.KeyAlgorithm.TDES:
        return crypto.retail_mac(ks_mac, crypto.pad(data, crypto.DES_BLOCK))
    return crypto.aes_cmac(ks_mac, data)[:8]


def mse_set_at_data(protocol: bytes, password_ref: int, parameter_id: int | None) -> bytes:
    """MSE:Set AT data (§4.4.4.1): DO'80' OID, DO'83' password, DO'84' parameter ID."""
    data = tlv.encode(0x80, protocol) + tlv.encode(0x83, bytes([password_ref]))
    if parameter_id is not None:
        data += tlv.encode(0x84, bytes([parameter_id]))
    return data


# -- the terminal -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaceResult:
    """An established PACE channel, and what the chip sent (Chip Authentication
    Mapping and TA need PK_DH,IC; the CLI shows the protocol)."""

    sm: SecureMessaging
    info: PaceInfo
    password_ref: int
    chip_public_key: bytes


def _transmit(transport: CardTransport, command: CommandApdu) -> ResponseApdu:
    return ResponseApdu.parse(transport.transmit(command.to_bytes()))


def _general_authenticate(transport: CardTransport, data: bytes, *, last: bool, step: str) -> tlv.Tlv:
    command = CommandApdu(
        0x00 if last else CLA_CHAINING,
        INS_GENERAL_AUTHENTICATE,
        0x00,
        0x00,
        data=tlv.encode(TAG_DYNAMIC_AUTH, data),
        ne=256,
    )
    response = _transmit(transport, command)
    try:
        raise_for_status(response, f"GENERAL AUTHENTICATE ({step})")
    except StatusWordError as exc:
        if last and (exc.sw in (SW_VERIFICATION_FAILED, SW_SECURITY_STATUS) or exc.sw >> 4 == 0x63C):
            # §4.4.4.2: the chip refuses a token computed from another
            # password; nothing earlier tells a wrong password apart.
            raise AccessKeyRejected(f"chip refused the PACE password ({exc.sw:04X})") from None
        if not last and exc.sw == SW_SECURITY_STATUS and step == "nonce":
            raise PaceRefused(f"chip refused PACE at the nonce step ({exc.sw:04X})") from None
        raise
    try:
        return tlv.parse_single(response.data, TAG_DYNAMIC_AUTH)
    except MalformedDataError as exc:
        raise SecureMessagingError(f"PACE {step}: answer does not parse ({exc})") from None


def _child(template: tlv.Tlv, tag: int, step: str) -> bytes:
    try:
        return template.require(tag).value
    except MalformedDataError:
        raise SecureMessagingError(f"PACE {step}: answer lacks data object {tag:02X}") from None


def perform_pace(
    transport: CardTransport,
    key: CanKey | MrzKey,
    info: PaceInfo,
    *,
    random_bytes: RandomBytes = os.urandom,
) -> PaceResult:
    """Run PACE ECDH-GM with one password; return the SM channel.

    Raises PaceRefused (the chip will not do PACE), AccessKeyRejected
    (wrong password), SecureMessagingError (a malformed or unverifiable
    answer) and other CardErrors.
    """
    curve, algorithm = info.curve, info.cipher
    if not info.supported or curve is None or algorithm is None:
        raise ValueError(f"unsupported PACE option: {info.describe()}")
    password_ref, password = password_secret(key)

    mse = _transmit(
        transport,
        CommandApdu(0x00, INS_MSE, 0xC1, 0xA4, data=mse_set_at_data(info.protocol, password_ref, info.parameter_id)),
    )
    if mse.sw == SW_SECURITY_STATUS:
        raise PaceRefused("chip refused MSE:Set AT for PACE (6982)")
    raise_for_status(mse, "MSE:Set AT")

    # Step 1: the encrypted nonce.
    nonce_template = _general_authenticate(transport, b"", last=False, step="nonce")
    nonce = decrypt_nonce(password, algorithm, _child(nonce_template, 0x80, "nonce"))

    # Step 2: mapping.
    sk_map = private_key(curve, random_bytes)
    pk_map = curve.encode(curve.multiply(sk_map, curve.generator))
    mapping = _general_authenticate(transport, tlv.encode(0x81, pk_map), last=False, step="mapping")
    try:
        pk_map_ic = curve.decode(_child(mapping, 0x82, "mapping"))
    except MalformedDataError as exc:
        raise SecureMessagingError(f"PACE mapping: {exc}") from None
    generator = map_generator(curve, nonce, curve.multiply(sk_map, pk_map_ic))

    # Step 3: key agreement on the mapped generator.
    sk_dh = private_key(curve, random_bytes)
    pk_dh_point = curve.multiply(sk_dh, generator)
    pk_dh = curve.encode(pk_dh_point)
    agreement = _general_authenticate(transport, tlv.encode(0x83, pk_dh), last=False, step="key agreement")
    pk_dh_ic_raw = _child(agreement, 0x84, "key agreement")
    try:
        pk_dh_ic = curve.decode(pk_dh_ic_raw)
    except MalformedDataError as exc:
        raise SecureMessagingError(f"PACE key agreement: {exc}") from None
    if pk_dh_ic_raw == pk_dh:
        # §4.4.3.3: the terminal must check that the keys differ (reflection).
        raise SecureMessagingError("PACE key agreement: the chip echoed our public key")
    ks_enc, ks_mac = session_ciphers(shared_secret(curve, sk_dh, pk_dh_ic), algorithm)

    # Step 4: mutual authentication.
    token = authentication_token(algorithm, ks_mac, info.protocol, pk_dh_ic_raw)
    answer = _general_authenticate(transport, tlv.encode(0x85, token), last=True, step="mutual authentication")
    expected = authentication_token(algorithm, ks_mac, info.protocol, pk_dh)
    if not hmac.compare_digest(_child(answer, 0x86, "mutual authentication"), expected):
        raise SecureMessagingError("PACE: the chip's authentication token does not verify")

    return PaceResult(SecureMessaging(sm_cipher(algorithm, ks_enc, ks_mac), 0), info, password_ref, pk_dh_ic_raw)
