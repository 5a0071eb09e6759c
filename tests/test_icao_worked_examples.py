"""The worked examples of ICAO Doc 9303 Part 11, byte for byte.

Appendix D (BAC, informative): D.2 key derivation from the MRZ information
"L898902C<369080619406236", D.3 mutual authentication and session keys,
D.4 secure messaging of SELECT EF.COM and two READ BINARY commands. Checked
from both sides: the terminal (drivers.card.icao) and the card
(drivers.card.chip_sim), which are written independently.

Appendix G.1 (PACE ECDH GM, AES-128): the KDF outputs and the
authentication tokens, which exercise the AES/CMAC code PACE will use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date

import pytest

from drivers.card.chip_sim import SimulatedCccdChip
from drivers.card.icao import crypto
from drivers.card.icao.apdu import CommandApdu
from drivers.card.icao.bac import BacKeys, initial_ssc, perform_bac, session_keys
from drivers.card.icao.lds import FID_EF_COM
from drivers.card.icao.mrz import bac_key_seed, mrz_information
from drivers.card.icao.sm import SecureMessaging, TripleDesSm

H = bytes.fromhex

# -- Appendix D values ------------------------------------------------------------
MRZ_INFO = "L898902C<369080619406236"
K_SEED = H("239AB9CB282DAF66231DC5A4DF6BFBAE")
K_ENC = H("AB94FDECF2674FDFB9B391F85D7F76F2")
K_MAC = H("7962D9ECE03D1ACD4C76089DCE131543")
RND_IC = H("4608F91988702212")
RND_IFD = H("781723860C06C226")
K_IFD = H("0B795240CB7049B01C19B33E32804F0B")
S = H("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B")
E_IFD = H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
M_IFD = H("5F1448EEA8AD90A7")
EXT_AUTH = H("008200002872C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A728")
RESP_DATA = H("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449")
K_IC = H("0B4F80323EB3191CB04970CB4052790B")
SESSION_SEED = H("0036D272F5C350ACAC50C3F572D23600")
KS_ENC = H("979EC13B1CBFE9DCD01AB0FED307EAE5")
KS_MAC = H("F1CB1F1FB5ADF208806B89DC579DC1F8")
SSC = 0x887022120C06C226
EF_COM = H("60145F0104303130365F36063034303030305C026175")

# D.4: (plain command, protected command, protected response, SSC after, plain response data)
D4 = [
    ("00A4020C02011E", "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
     "990290008E08FA855A5D4C50A8ED9000", 0x887022120C06C228, ""),
    ("00B0000004", "0CB000000D9701048E08ED6705417E96BA5500",
     "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", 0x887022120C06C22A, "60145F01"),
    ("00B0000412", "0CB000040D9701128E082EA28A70F3C7B53500",
     "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
     0x887022120C06C22C, "04303130365F36063034303030305C026175"),
]  # fmt: skip


def _feed(*chunks: bytes):
    it: Iterator[bytes] = iter(chunks)

    def random_bytes(n: int) -> bytes:
        chunk = next(it)
        assert len(chunk) == n
        return chunk

    return random_bytes


# -- D.2 key derivation ---------------------------------------------------------------


def test_d2_mrz_information() -> None:
    # Document number L898902C (padded with '<'), born 1969-08-06, expiry 1994-06-23.
    assert mrz_information("L898902C", date(1969, 8, 6), date(1994, 6, 23)) == MRZ_INFO


def test_d2_basic_access_keys() -> None:
    assert bac_key_seed(MRZ_INFO) == K_SEED
    keys = BacKeys.from_mrz_information(MRZ_INFO)
    assert (keys.k_enc, keys.k_mac) == (K_ENC, K_MAC)
    assert crypto.kdf(K_SEED, crypto.KDF_ENC, crypto.KeyAlgorithm.TDES) == K_ENC
    assert "AB94" not in repr(keys)


def test_parity_adjustment() -> None:
    # Ka before parity adjustment is AB94FCEDF2664EDF (Appendix D.2).
    assert crypto.adjust_des_parity(H("AB94FCEDF2664EDF")) == H("AB94FDECF2674FDF")


# -- D.3 authentication and session keys -----------------------------------------------


def test_d3_cryptograms() -> None:
    assert crypto.tdes_encrypt(K_ENC, S) == E_IFD
    assert crypto.retail_mac(K_MAC, crypto.pad(E_IFD, 8)) == M_IFD
    r = crypto.tdes_decrypt(K_ENC, RESP_DATA[:32])
    assert r == RND_IC + RND_IFD + K_IC


def test_d3_session_keys_and_ssc() -> None:
    assert bytes(a ^ b for a, b in zip(K_IFD, K_IC)) == SESSION_SEED
    assert session_keys(K_IFD, K_IC) == (KS_ENC, KS_MAC)
    assert initial_ssc(RND_IC, RND_IFD) == SSC


class _ScriptedCard:
    """Answers given in the appendix, and a record of what the terminal sent."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = [H(a) for a in answers]
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        return self.answers.pop(0)


def test_d3_terminal_runs_bac() -> None:
    card = _ScriptedCard(["4608F919887022129000", RESP_DATA.hex() + "9000"])
    sm = perform_bac(card, BacKeys.from_mrz_information(MRZ_INFO), random_bytes=_feed(RND_IFD, K_IFD))
    assert card.sent == [H("0084000008"), EXT_AUTH]
    assert sm.ssc == SSC.to_bytes(8, "big")


# -- D.4 secure messaging, terminal side ------------------------------------------------


def test_d4_terminal_protects_and_unprotects() -> None:
    sm = SecureMessaging(TripleDesSm(KS_ENC, KS_MAC), SSC)
    for plain, protected, response, ssc_after, data in D4:
        command = CommandApdu.parse(H(plain))
        assert sm.protect(command).to_bytes().hex().upper() == protected
        assert sm.ssc == (ssc_after - 1).to_bytes(8, "big")
        answer = sm.unprotect(H(response))
        assert sm.ssc == ssc_after.to_bytes(8, "big")
        assert answer.sw == 0x9000
        assert answer.data.hex().upper() == data


def test_d4_mac_inputs() -> None:
    # N for SELECT EF.COM, as printed in the appendix, gives CC = BF8B92D635FF24F8.
    n = H("887022120C06C2270CA4020C800000008709016375432908C044F68000000000")
    assert crypto.retail_mac(KS_MAC, n) == H("BF8B92D635FF24F8")


# -- D.3 / D.4, card side ------------------------------------------------------------------


def test_chip_answers_like_the_appendix() -> None:
    chip = SimulatedCccdChip({FID_EF_COM: EF_COM}, MRZ_INFO, random_bytes=_feed(RND_IC, K_IC))
    assert chip.process(H("00A4040C07A0000002471001")) == H("9000")
    assert chip.process(H("0084000008")) == RND_IC + H("9000")
    assert chip.process(EXT_AUTH) == RESP_DATA + H("9000")
    for _, protected, response, _, _ in D4:
        assert chip.process(H(protected)).hex().upper() == response


def test_terminal_and_chip_agree_end_to_end() -> None:
    chip = SimulatedCccdChip({FID_EF_COM: EF_COM}, MRZ_INFO, random_bytes=_feed(RND_IC, K_IC))

    class Direct:
        transmit = staticmethod(chip.process)

    assert chip.process(H("00A4040C07A0000002471001")) == H("9000")
    sm = perform_bac(Direct, BacKeys.from_mrz_information(MRZ_INFO), random_bytes=_feed(RND_IFD, K_IFD))
    for plain, _, _, _, data in D4:
        answer = sm.unprotect(chip.process(sm.protect(CommandApdu.parse(H(plain))).to_bytes()))
        assert answer.data.hex().upper() == data


# -- Appendix G.1: AES-128 (PACE) ---------------------------------------------------------

G1_SHARED_SECRET = H("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")
G1_KS_ENC = H("F5F0E35C0D7161EE6724EE513A0D9A7F")
G1_KS_MAC = H("FE251C7858B356B24514B3BD5F4297D1")
# Input of the authentication tokens: public-key data objects '7F49' with the
# PACE OID id-PACE-ECDH-GM-AES-CBC-CMAC-128 and the other side's point.
G1_TOKEN_INPUT_IFD = H(
    "7F494F060A04007F000702020402028641049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
    "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
)
G1_TOKEN_INPUT_IC = H(
    "7F494F060A04007F000702020402028641042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
    "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
)


def test_g1_session_keys() -> None:
    assert crypto.kdf(G1_SHARED_SECRET, crypto.KDF_ENC, crypto.KeyAlgorithm.AES128) == G1_KS_ENC
    assert crypto.kdf(G1_SHARED_SECRET, crypto.KDF_MAC, crypto.KeyAlgorithm.AES128) == G1_KS_MAC


def test_g1_password_key_from_mrz() -> None:
    # G.1 uses the MRZ password: K = SHA-1(MRZ information), Kπ = KDF(K, 3).
    info = mrz_information("T22000129", date(1964, 8, 12), date(2010, 10, 31))
    assert info == "T22000129364081251010318"
    k = hashlib.sha1(info.encode()).digest()
    assert k == H("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
    assert crypto.kdf(k, crypto.KDF_PACE_PASSWORD, crypto.KeyAlgorithm.AES128) == H("89DED1B26624EC1E634C1989302849DD")


def test_g1_authentication_tokens_use_cmac_truncated_to_8() -> None:
    assert crypto.aes_cmac(G1_KS_MAC, G1_TOKEN_INPUT_IFD)[:8] == H("C2B0BD78D94BA866")
    assert crypto.aes_cmac(G1_KS_MAC, G1_TOKEN_INPUT_IC)[:8] == H("3ABB9674BCE93C08")


@pytest.mark.parametrize("algorithm,length", [(crypto.KeyAlgorithm.AES192, 24), (crypto.KeyAlgorithm.AES256, 32)])
def test_longer_aes_keys_use_sha256(algorithm: crypto.KeyAlgorithm, length: int) -> None:
    key = crypto.kdf(G1_SHARED_SECRET, 1, algorithm)
    assert key == hashlib.sha256(G1_SHARED_SECRET + b"\x00\x00\x00\x01").digest()[:length]
