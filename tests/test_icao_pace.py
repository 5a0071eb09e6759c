"""PACE ECDH Generic Mapping against the ICAO 9303-11 Appendix G.1 worked example.

Appendix G.1 ("ECDH based example"): brainpoolP256r1 (parameter ID 13),
id-PACE-ECDH-GM-AES-CBC-CMAC-128, MRZ password from document number
T22000129, birth 640812, expiry 101031. The values below are those of the
appendix; the same numbers appear in open-source readers' test suites
(e.g. the dmrtd and gmrtd PACE tests), which is where they were checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from drivers.card.icao import crypto
from drivers.card.icao.ec import STANDARD_CURVES, standard_curve
from drivers.card.icao.pace import (
    ID_PACE_ECDH_GM,
    PaceInfo,
    authentication_token,
    choose_pace_info,
    decrypt_nonce,
    map_generator,
    mrz_password,
    perform_pace,
    session_ciphers,
    shared_secret,
)
from drivers.card.icao.mrz import mrz_information
from drivers.card.icao.sm import AesSm
from kiosk.errors import MalformedDataError
from kiosk.ports import MrzKey

H = bytes.fromhex

# ICAO 9303-11 Appendix G.1 -----------------------------------------------------------
CARD_ACCESS = H("31143012060A04007F0007020204020202010202010D")
OID = H("04007F00070202040202")  # id-PACE-ECDH-GM-AES-CBC-CMAC-128
K = H("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")  # SHA-1 of the MRZ information
K_PI = H("89DED1B26624EC1E634C1989302849DD")
NONCE_Z = H("95A3A016522EE98D01E76CB6B98B42C3")
NONCE_S = H("3F00C4D39D153F2B2A214A078D899B22")
SK_MAP_IFD = H("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99")
PK_MAP_IFD = H(
    "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"
    "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
)
SK_MAP_IC = H("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560")
PK_MAP_IC = H(
    "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"
    "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
)
SHARED_H = H(
    "0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5"
    "0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"
)
G_MAPPED = H(
    "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2"
    "8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"
)
SK_DH_IFD = H("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595")
PK_DH_IFD = H(
    "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
    "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
)
SK_DH_IC = H("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A")
PK_DH_IC = H(
    "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
    "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
)
SHARED_K = H("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")
KS_ENC = H("F5F0E35C0D7161EE6724EE513A0D9A7F")
KS_MAC = H("FE251C7858B356B24514B3BD5F4297D1")
T_IFD = H("C2B0BD78D94BA866")
T_IC = H("3ABB9674BCE93C08")
G1_KEY = MrzKey("T22000129", date(1964, 8, 12), date(2010, 10, 31))

# The APDU exchange of Appendix G.1 (MSE:Set AT with DO'84' since the
# reader always names the parameter ID it read from EF.CardAccess).
TRANSCRIPT = [
    ("0022C1A412800A04007F0007020204020283010184010D", "9000"),
    ("10860000027C0000", "7C128010" + NONCE_Z.hex() + "9000"),
    ("10860000457C438141" + PK_MAP_IFD.hex() + "00", "7C438241" + PK_MAP_IC.hex() + "9000"),
    ("10860000457C438341" + PK_DH_IFD.hex() + "00", "7C438441" + PK_DH_IC.hex() + "9000"),
    ("008600000C7C0A8508" + T_IFD.hex() + "00", "7C0A8608" + T_IC.hex() + "9000"),
]

BP256 = standard_curve(13)


def _point(data: bytes) -> tuple[int, int]:
    return BP256.decode(data)


class ScriptedChip:
    """A transport that checks each command against the worked example."""

    def __init__(self, script: list[tuple[str, str]]) -> None:
        self._script: Iterator[tuple[str, str]] = iter(script)
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        expected, answer = next(self._script)
        assert apdu.hex().upper() == expected.upper()
        return H(answer)


def _keys_in_order(*keys: bytes) -> object:
    queue = list(keys)

    def random_bytes(n: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == n
        return value

    return random_bytes


def test_card_access_of_the_example_is_parsed() -> None:
    info, notes = choose_pace_info(CARD_ACCESS)
    assert info == PaceInfo(OID, 2, 13)
    assert info is not None and info.supported and info.cipher is crypto.KeyAlgorithm.AES128
    assert info.curve is BP256 and not notes
    assert info.describe() == "PACE ECDH-GM AES-128 brainpoolP256r1"


def test_password_key_and_nonce() -> None:
    assert mrz_password(mrz_information("T22000129", date(1964, 8, 12), date(2010, 10, 31))) == K
    assert crypto.kdf(K, crypto.KDF_PACE_PASSWORD, crypto.KeyAlgorithm.AES128) == K_PI
    assert decrypt_nonce(K, crypto.KeyAlgorithm.AES128, NONCE_Z) == NONCE_S


def test_mapping_public_keys_shared_point_and_mapped_generator() -> None:
    sk_ifd, sk_ic = int.from_bytes(SK_MAP_IFD, "big"), int.from_bytes(SK_MAP_IC, "big")
    assert BP256.encode(BP256.multiply(sk_ifd, BP256.generator)) == PK_MAP_IFD
    assert BP256.encode(BP256.multiply(sk_ic, BP256.generator)) == PK_MAP_IC
    h_terminal = BP256.multiply(sk_ifd, _point(PK_MAP_IC))
    h_chip = BP256.multiply(sk_ic, _point(PK_MAP_IFD))
    assert BP256.encode(h_terminal) == BP256.encode(h_chip) == SHARED_H
    assert BP256.encode(map_generator(BP256, NONCE_S, h_terminal)) == G_MAPPED


def test_key_agreement_session_keys_and_tokens() -> None:
    generator = _point(G_MAPPED)
    sk_ifd, sk_ic = int.from_bytes(SK_DH_IFD, "big"), int.from_bytes(SK_DH_IC, "big")
    assert BP256.encode(BP256.multiply(sk_ifd, generator)) == PK_DH_IFD
    assert BP256.encode(BP256.multiply(sk_ic, generator)) == PK_DH_IC
    assert shared_secret(BP256, sk_ifd, _point(PK_DH_IC)) == SHARED_K
    assert shared_secret(BP256, sk_ic, _point(PK_DH_IFD)) == SHARED_K
    assert session_ciphers(SHARED_K, crypto.KeyAlgorithm.AES128) == (KS_ENC, KS_MAC)
    assert authentication_token(crypto.KeyAlgorithm.AES128, KS_MAC, OID, PK_DH_IC) == T_IFD
    assert authentication_token(crypto.KeyAlgorithm.AES128, KS_MAC, OID, PK_DH_IFD) == T_IC


def test_terminal_reproduces_the_exchange_byte_for_byte() -> None:
    chip = ScriptedChip(TRANSCRIPT)
    info, _ = choose_pace_info(CARD_ACCESS)
    assert info is not None
    result = perform_pace(chip, G1_KEY, info, random_bytes=_keys_in_order(SK_MAP_IFD, SK_DH_IFD))  # type: ignore[arg-type]
    assert len(chip.sent) == len(TRANSCRIPT)
    assert isinstance(result.sm.cipher, AesSm)
    assert result.sm.ssc == bytes(16)  # §9.8.7.3: SSC starts at zero after PACE
    assert result.chip_public_key == PK_DH_IC
    # The session keys are those of the example: a command wrapped with them
    # carries the MAC computed from KSmac.
    assert result.sm.cipher.mac(crypto.pad(b"x", 16)) == crypto.aes_cmac(KS_MAC, crypto.pad(b"x", 16))[:8]


def test_every_standard_curve_generator_has_order_n() -> None:
    for curve in STANDARD_CURVES.values():
        assert curve.contains(curve.generator)
        assert curve.multiply(curve.n - 1, curve.generator) == (curve.gx, (-curve.gy) % curve.p)


@pytest.mark.parametrize(
    "name", ["secp192r1", "secp224r1", "secp256r1", "brainpoolP256r1", "secp384r1", "brainpoolP384r1",
             "brainpoolP512r1", "secp521r1"]
)  # fmt: skip
def test_curve_constants_agree_with_cryptography(name: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    classes = {
        "secp192r1": ec.SECP192R1, "secp224r1": ec.SECP224R1, "secp256r1": ec.SECP256R1,
        "brainpoolP256r1": ec.BrainpoolP256R1, "secp384r1": ec.SECP384R1, "brainpoolP384r1": ec.BrainpoolP384R1,
        "brainpoolP512r1": ec.BrainpoolP512R1, "secp521r1": ec.SECP521R1,
    }  # fmt: skip
    curve = next(c for c in STANDARD_CURVES.values() if c.name == name)
    secret = 0x1234567890ABCDEF1234567890ABCDEF
    numbers = ec.derive_private_key(secret, classes[name]()).public_key().public_numbers()
    assert curve.multiply(secret, curve.generator) == (numbers.x, numbers.y)


def test_points_off_the_curve_are_refused() -> None:
    bad = bytearray(PK_MAP_IC)
    bad[-1] ^= 1
    with pytest.raises(MalformedDataError):
        BP256.decode(bytes(bad))
    with pytest.raises(MalformedDataError):
        BP256.decode(PK_MAP_IC[:-1])


def test_card_access_with_unsupported_options_gives_notes() -> None:
    dh = H("3012060A04007F000702020401020201020201 02".replace(" ", ""))
    im = H("3012060A04007F0007020204040202010202010D")
    data = bytes([0x31, len(dh) + len(im)]) + dh + im
    info, notes = choose_pace_info(data)
    assert info is None and len(notes) == 2


def test_garbage_card_access_is_a_typed_error() -> None:
    with pytest.raises(MalformedDataError):
        choose_pace_info(H("3003020101"))
    assert ID_PACE_ECDH_GM.hex().upper() == "04007F000702020402"
