"""Basic Access Control, terminal side (ICAO 9303-11 §4.3, Appendix D.3).

1. Derive KEnc and KMAC from the MRZ information (§9.7.2, §9.7.1).
2. GET CHALLENGE: the chip's 8-byte RND.IC.
3. EXTERNAL AUTHENTICATE with E_IFD = E(KEnc, RND.IFD || RND.IC || K.IFD)
   and M_IFD = MAC(KMAC, E_IFD); the chip answers E_IC || M_IC.
4. Check M_IC and that the chip echoed RND.IFD; session keys come from
   K.IFD xor K.IC, and the SSC from the low halves of both challenges
   (§9.8.6.3).

The chip refuses a wrong key at step 3; that is the only answer treated as
"this key does not open the card" (AccessKeyRejected). Anything else is an
error of its own kind.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.errors import AccessKeyRejected, SecureMessagingError, StatusWordError
from kiosk.ports import CardTransport, MrzKey

from . import crypto
from .apdu import (
    INS_EXTERNAL_AUTHENTICATE,
    INS_GET_CHALLENGE,
    SW_SECURITY_STATUS,
    SW_VERIFICATION_FAILED,
    CommandApdu,
    ResponseApdu,
    raise_for_status,
)
from .mrz import bac_key_seed, mrz_information
from .sm import SecureMessaging, TripleDesSm

RandomBytes = Callable[[int], bytes]

CHALLENGE_LENGTH = 8
KEY_MATERIAL_LENGTH = 16
AUTH_DATA_LENGTH = 2 * CHALLENGE_LENGTH + KEY_MATERIAL_LENGTH  # 32
CRYPTOGRAM_LENGTH = AUTH_DATA_LENGTH + crypto.DES_BLOCK  # E (32) + MAC (8) = 40 = 0x28


@dataclass(frozen=True)
class BacKeys:
    """KEnc and KMAC, the document basic access keys (Appendix D.2)."""

    k_enc: bytes
    k_mac: bytes

    def __repr__(self) -> str:
        return "BacKeys(<secret>)"

    @classmethod
    def from_mrz_information(cls, mrz_info: str) -> BacKeys:
        seed = bac_key_seed(mrz_info)
        return cls(
            crypto.kdf(seed, crypto.KDF_ENC, crypto.KeyAlgorithm.TDES),
            crypto.kdf(seed, crypto.KDF_MAC, crypto.KeyAlgorithm.TDES),
        )

    @classmethod
    def from_key(cls, key: MrzKey) -> BacKeys:
        return cls.from_mrz_information(mrz_information(key.document_number, key.date_of_birth, key.date_of_expiry))


def _is_refusal(exc: StatusWordError) -> bool:
    # ICAO 9303-11 §4.3 does not fix the status word: chips answer 6300
    # ("verification failed"), 6982 or 63Cx after a wrong MRZ key.
    return exc.sw in (SW_VERIFICATION_FAILED, SW_SECURITY_STATUS) or exc.sw >> 4 == 0x63C


def _transmit(transport: CardTransport, command: CommandApdu) -> ResponseApdu:
    return ResponseApdu.parse(transport.transmit(command.to_bytes()))


def perform_bac(
    transport: CardTransport,
    keys: BacKeys,
    *,
    random_bytes: RandomBytes = os.urandom,
) -> SecureMessaging:
    """Run BAC on the selected eMRTD application; return the SM session.

    Raises AccessKeyRejected when the chip refuses the key,
    SecureMessagingError when its answer does not verify, and other
    CardErrors for everything else.
    """
    # ICAO 9303-11 §4.3 / Appendix D.3: GET CHALLENGE '00 84 00 00 08'.
    challenge = _transmit(transport, CommandApdu(0x00, INS_GET_CHALLENGE, 0x00, 0x00, ne=CHALLENGE_LENGTH))
    raise_for_status(challenge, "GET CHALLENGE")
    rnd_ic = challenge.data
    if len(rnd_ic) != CHALLENGE_LENGTH:
        raise SecureMessagingError(f"GET CHALLENGE returned {len(rnd_ic)} bytes instead of 8")

    rnd_ifd = random_bytes(CHALLENGE_LENGTH)
    k_ifd = random_bytes(KEY_MATERIAL_LENGTH)
    e_ifd = crypto.tdes_encrypt(keys.k_enc, rnd_ifd + rnd_ic + k_ifd)
    m_ifd = crypto.retail_mac(keys.k_mac, crypto.pad(e_ifd, crypto.DES_BLOCK))

    answer = _transmit(
        transport,
        CommandApdu(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00, data=e_ifd + m_ifd, ne=CRYPTOGRAM_LENGTH),
    )
    try:
        raise_for_status(answer, "EXTERNAL AUTHENTICATE")
    except StatusWordError as exc:
        if _is_refusal(exc):
            raise AccessKeyRejected(f"chip refused the BAC key ({exc.sw:04X})") from None
        raise

    if len(answer.data) != CRYPTOGRAM_LENGTH:
        raise SecureMessagingError(f"EXTERNAL AUTHENTICATE returned {len(answer.data)} bytes instead of 40")
    e_ic, m_ic = answer.data[:AUTH_DATA_LENGTH], answer.data[AUTH_DATA_LENGTH:]
    expected_mac = crypto.retail_mac(keys.k_mac, crypto.pad(e_ic, crypto.DES_BLOCK))
    if not hmac.compare_digest(m_ic, expected_mac):
        raise SecureMessagingError("BAC: the chip's authentication cryptogram MAC does not verify")
    r = crypto.tdes_decrypt(keys.k_enc, e_ic)
    if r[:CHALLENGE_LENGTH] != rnd_ic or r[CHALLENGE_LENGTH : 2 * CHALLENGE_LENGTH] != rnd_ifd:
        raise SecureMessagingError("BAC: the chip did not return our challenge")
    k_ic = r[2 * CHALLENGE_LENGTH :]

    return SecureMessaging(TripleDesSm(*session_keys(k_ifd, k_ic)), initial_ssc(rnd_ic, rnd_ifd))


def session_keys(k_ifd: bytes, k_ic: bytes) -> tuple[bytes, bytes]:
    """KSEnc, KSMAC from Kseed = K.IFD xor K.IC (Appendix D.3)."""
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return (
        crypto.kdf(seed, crypto.KDF_ENC, crypto.KeyAlgorithm.TDES),
        crypto.kdf(seed, crypto.KDF_MAC, crypto.KeyAlgorithm.TDES),
    )


def initial_ssc(rnd_ic: bytes, rnd_ifd: bytes) -> int:
    """ICAO 9303-11 §9.8.6.3: the 4 least significant bytes of RND.IC, then of RND.IFD."""
    return int.from_bytes(rnd_ic[-4:] + rnd_ifd[-4:], "big")
