"""Secure messaging (ICAO 9303-11 §9.8) beyond the worked example: AES,
extended length, odd INS, and every way a response can be wrong."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.chip_sim import _CardSecureMessaging, _SmFailure
from drivers.card.icao import tlv
from drivers.card.icao.apdu import CommandApdu, ResponseApdu
from drivers.card.icao.sm import AesSm, SecureMessaging, TripleDesSm
from kiosk.errors import CardError, SecureMessagingError

H = bytes.fromhex
KS_ENC = H("F5F0E35C0D7161EE6724EE513A0D9A7F")  # Appendix G.1 session keys
KS_MAC = H("FE251C7858B356B24514B3BD5F4297D1")
DES_ENC = H("979EC13B1CBFE9DCD01AB0FED307EAE5")  # Appendix D.3 session keys
DES_MAC = H("F1CB1F1FB5ADF208806B89DC579DC1F8")


def _aes(ssc: int = 0) -> SecureMessaging:
    return SecureMessaging(AesSm(KS_ENC, KS_MAC), ssc)


def _pad16(data: bytes) -> bytes:
    data += b"\x80"
    return data + bytes(-len(data) % 16)


def _independent_aes_protect(command_header: bytes, data: bytes, le: bytes, ssc: bytes) -> bytes:
    """ICAO 9303-11 §9.8.7 spelt out directly on `cryptography`, for comparison."""
    iv_enc = Cipher(algorithms.AES(KS_ENC), modes.ECB()).encryptor()
    iv = iv_enc.update(ssc) + iv_enc.finalize()
    enc = Cipher(algorithms.AES(KS_ENC), modes.CBC(iv)).encryptor()
    cryptogram = enc.update(_pad16(data)) + enc.finalize()
    do87 = bytes([0x87, len(cryptogram) + 1, 0x01]) + cryptogram
    do97 = bytes([0x97, len(le)]) + le
    header = bytes([command_header[0] | 0x0C]) + command_header[1:]
    mac = CMAC(algorithms.AES(KS_MAC))
    mac.update(_pad16(ssc + _pad16(header) + do87 + do97))
    do8e = b"\x8e\x08" + mac.finalize()[:8]
    body = do87 + do97 + do8e
    return header + bytes([len(body)]) + body + b"\x00"


def test_aes_protect_matches_an_independent_construction() -> None:
    sm = _aes(ssc=0)
    command = CommandApdu(0x00, 0xA4, 0x02, 0x0C, H("011E"), ne=0x20)
    expected = _independent_aes_protect(command.header, command.data, b"\x20", (1).to_bytes(16, "big"))
    assert sm.protect(command).to_bytes() == expected


def test_aes_round_trip_with_the_card_side() -> None:
    terminal, card = _aes(ssc=41), _CardSecureMessaging(AesSm(KS_ENC, KS_MAC), 41)
    for command in [
        CommandApdu(0x00, 0xB0, 0x00, 0x10, ne=0xDF),
        CommandApdu(0x00, 0xA4, 0x02, 0x0C, H("0101")),
        CommandApdu(0x00, 0xB1, 0x00, 0x00, tlv.encode(0x54, H("008000")), ne=0x40),
        CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=1000),  # extended
    ]:
        inner = card.unwrap(terminal.protect(command))
        assert (inner.header, inner.data, inner.ne) == (command.header, command.data, command.ne)
        payload = bytes(range(256))[: (command.ne or 0) % 200]
        answer = terminal.unprotect(card.wrap(ResponseApdu(payload, 0x9000), odd_ins=bool(command.ins & 1), corrupt_mac=False))
        assert answer == ResponseApdu(payload, 0x9000)


def test_largest_short_reads_fit_256_bytes() -> None:
    # DOMAIN.md: 0xDF plain bytes under AES, 0xE7 under 3DES; one more does not fit.
    for cipher, limit in ((AesSm(KS_ENC, KS_MAC), 0xDF), (TripleDesSm(DES_ENC, DES_MAC), 0xE7)):
        card = _CardSecureMessaging(cipher, 0)
        fits = card.wrap(ResponseApdu(bytes(limit), 0x9000), odd_ins=False, corrupt_mac=False)
        too_big = card.wrap(ResponseApdu(bytes(limit + 1), 0x9000), odd_ins=False, corrupt_mac=False)
        assert len(fits) - 2 <= 256 < len(too_big) - 2
        assert SecureMessaging(cipher, 0).max_short_read == limit


def test_protected_command_goes_extended_when_needed() -> None:
    sm = SecureMessaging(TripleDesSm(DES_ENC, DES_MAC), 0)
    protected = sm.protect(CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=0x400))
    assert protected.extended and protected.ne == 65536
    assert tlv.parse_all(protected.data)[0].value == b"\x04\x00"  # DO'97' carries two bytes
    protected = sm.protect(CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(300)))
    assert protected.extended


def test_ssc_wraps_around() -> None:
    sm = SecureMessaging(TripleDesSm(DES_ENC, DES_MAC), 0xFFFFFFFFFFFFFFFF)
    sm.protect(CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=1))
    assert sm.ssc == bytes(8)


def test_already_protected_commands_are_refused() -> None:
    with pytest.raises(ValueError):
        _aes().protect(CommandApdu(0x0C, 0xB0, 0x00, 0x00, ne=1))


# -- bad responses ----------------------------------------------------------------------


def _good_response(ssc: int, data: bytes = b"hello", sw: int = 0x9000) -> bytes:
    card = _CardSecureMessaging(TripleDesSm(DES_ENC, DES_MAC), ssc)
    return card.wrap(ResponseApdu(data, sw), odd_ins=False, corrupt_mac=False)


def _fresh() -> SecureMessaging:
    return SecureMessaging(TripleDesSm(DES_ENC, DES_MAC), 100)


def test_good_response_verifies() -> None:
    assert _fresh().unprotect(_good_response(100)) == ResponseApdu(b"hello", 0x9000)


def test_bad_response_mac() -> None:
    raw = bytearray(_good_response(100))
    raw[-3] ^= 0x01  # last MAC byte
    with pytest.raises(SecureMessagingError, match="MAC does not verify"):
        _fresh().unprotect(bytes(raw))


def test_out_of_step_ssc_fails_the_mac() -> None:
    with pytest.raises(SecureMessagingError, match="MAC does not verify"):
        _fresh().unprotect(_good_response(101))


def test_tampered_cryptogram_fails_the_mac() -> None:
    raw = bytearray(_good_response(100))
    raw[4] ^= 0x80
    with pytest.raises(SecureMessagingError):
        _fresh().unprotect(bytes(raw))


@pytest.mark.parametrize("sw", ["6987", "6988"])
def test_chip_reported_sm_errors(sw: str) -> None:
    with pytest.raises(SecureMessagingError, match=sw) as info:
        _fresh().unprotect(H(sw))
    assert info.value.sw == int(sw, 16)  # type: ignore[attr-defined]


def test_unprotected_success_is_never_accepted() -> None:
    with pytest.raises(SecureMessagingError, match="unprotected 9000"):
        _fresh().unprotect(H("9000"))
    with pytest.raises(SecureMessagingError, match="unprotected 6282"):
        _fresh().unprotect(H("6282"))


def test_unprotected_errors_are_passed_on_and_counted() -> None:
    sm = _fresh()
    assert sm.unprotect(H("6A82")) == ResponseApdu(b"", 0x6A82)
    assert sm.ssc == (101).to_bytes(8, "big")  # the response still advanced the counter


def test_missing_objects() -> None:
    card = _CardSecureMessaging(TripleDesSm(DES_ENC, DES_MAC), 100)
    full = card.wrap(ResponseApdu(b"", 0x9000), odd_ins=False, corrupt_mac=False)
    do99 = full[:4]
    with pytest.raises(SecureMessagingError, match="without DO'8E'"):
        _fresh().unprotect(do99 + H("9000"))
    # A MAC over DO'87' only, no DO'99': valid MAC, missing status object.
    sm_card = TripleDesSm(DES_ENC, DES_MAC)
    do87 = tlv.encode(0x87, b"\x01" + sm_card.encrypt(_pad8(b"x"), b""))
    mac = sm_card.mac(_pad8((101).to_bytes(8, "big") + do87))
    with pytest.raises(SecureMessagingError, match="without DO'99'"):
        _fresh().unprotect(do87 + tlv.encode(0x8E, mac) + H("9000"))


def _pad8(data: bytes) -> bytes:
    data += b"\x80"
    return data + bytes(-len(data) % 8)


def test_object_after_mac_and_unknown_objects() -> None:
    raw = _good_response(100)
    with pytest.raises(SecureMessagingError, match="after the MAC"):
        _fresh().unprotect(raw[:-2] + H("990290009000"))
    with pytest.raises(SecureMessagingError, match="unexpected data object"):
        _fresh().unprotect(H("5301AA") + raw)


def test_status_in_do99_must_match_trailer() -> None:
    raw = _good_response(100, sw=0x9000)
    with pytest.raises(SecureMessagingError, match="differs"):
        _fresh().unprotect(raw[:-2] + H("6282"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_garbage_responses_raise_only_card_errors(raw: bytes) -> None:
    try:
        _fresh().unprotect(raw)
    except CardError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_card_side_rejects_garbage_with_sm_status(data: bytes) -> None:
    card = _CardSecureMessaging(TripleDesSm(DES_ENC, DES_MAC), 0)
    command = CommandApdu(0x0C, 0xB0, 0x00, 0x00, data, ne=256) if data else CommandApdu(0x0C, 0xB0, 0x00, 0x00)
    with pytest.raises(_SmFailure) as info:
        card.unwrap(command)
    assert info.value.sw in (0x6987, 0x6988)
