"""Command APDU encoding (ISO/IEC 7816-4 §5.1) and the status-word mapping."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.icao.apdu import CommandApdu, ResponseApdu, error_for_status, raise_for_status
from kiosk.errors import (
    CardError,
    FileNotFoundOnCard,
    MalformedDataError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    StatusWordError,
)


@pytest.mark.parametrize(
    ("apdu", "encoded"),
    [
        (CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001")), "00A4040C07A0000002471001"),
        (CommandApdu(0x00, 0x84, 0x00, 0x00, ne=8), "0084000008"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=256), "00B0000000"),
        (CommandApdu(0x00, 0x82, 0x00, 0x00, b"\x11" * 2, ne=0x28), "00820000021111" + "28"),
        (CommandApdu(0x0C, 0x20, 0x00, 0x00), "0C200000"),
        # Extended length: '00' then two-byte Lc / Le.
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=257), "00B00000000101"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=65536), "00B00000000000"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=0x10, force_extended=True), "00B00000000010"),
        (CommandApdu(0x00, 0xD6, 0x00, 0x00, b"\xAA" * 256), "00D60000000100" + "AA" * 256),
        (CommandApdu(0x00, 0xCB, 0x00, 0x00, b"\xAA", ne=65536, force_extended=True), "00CB0000000001AA0000"),
    ],
)
def test_encoding(apdu: CommandApdu, encoded: str) -> None:
    assert apdu.to_bytes().hex().upper() == encoded
    assert CommandApdu.parse(bytes.fromhex(encoded)).to_bytes() == apdu.to_bytes()


def test_select_aid_matches_domain_reference() -> None:
    # DOMAIN.md: '00 A4 04 0C 07 A0 00 00 02 47 10 01'
    apdu = CommandApdu(0x00, 0xA4, 0x04, 0x0C, bytes.fromhex("A0000002471001"))
    assert apdu.to_bytes() == bytes.fromhex("00A4040C07A0000002471001")


def test_invalid_fields_are_refused() -> None:
    with pytest.raises(ValueError):
        CommandApdu(0x100, 0, 0, 0)
    with pytest.raises(ValueError):
        CommandApdu(0, 0, 0, 0, ne=0)
    with pytest.raises(ValueError):
        CommandApdu(0, 0, 0, 0, ne=65537)


def test_repr_hides_data() -> None:
    assert "SECRET".encode().hex() not in repr(CommandApdu(0, 0x82, 0, 0, b"SECRET"))
    assert "SECRET" not in repr(CommandApdu(0, 0x82, 0, 0, b"SECRET"))


@pytest.mark.parametrize("hex_data", ["", "00A4", "00A40400", "00A404000500", "00A40400000002AA", "00A4040000"[:-2] + "0000"])
def test_malformed_commands(hex_data: str) -> None:
    raw = bytes.fromhex(hex_data)
    if len(raw) in (4, 5):
        CommandApdu.parse(raw)  # cases 1 and 2 are valid
        return
    with pytest.raises(MalformedDataError):
        CommandApdu.parse(raw)


commands = st.builds(
    CommandApdu,
    cla=st.integers(0, 255),
    ins=st.integers(0, 255),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.one_of(st.just(b""), st.binary(max_size=400)),
    ne=st.one_of(st.none(), st.integers(1, 65536), st.sampled_from([256, 257, 65536])),
    force_extended=st.booleans(),
)


@settings(deadline=None)
@given(commands)
def test_command_round_trip(apdu: CommandApdu) -> None:
    parsed = CommandApdu.parse(apdu.to_bytes())
    assert (parsed.header, parsed.data, parsed.ne) == (apdu.header, apdu.data, apdu.ne)
    if apdu.data or apdu.ne is not None:  # case 1 has no length fields to be extended
        assert parsed.extended == apdu.extended


def test_case_1_stays_a_bare_header_even_when_extended() -> None:
    assert CommandApdu(0x00, 0xB0, 0x00, 0x00, force_extended=True).to_bytes() == bytes.fromhex("00B00000")


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_garbage_commands_raise_only_malformed_data_error(raw: bytes) -> None:
    try:
        CommandApdu.parse(raw)
    except MalformedDataError:
        pass


def test_response_parsing() -> None:
    assert ResponseApdu.parse(bytes.fromhex("AABB9000")) == ResponseApdu(b"\xaa\xbb", 0x9000)
    assert ResponseApdu.parse(bytes.fromhex("6A82")).sw1 == 0x6A
    with pytest.raises(MalformedDataError):
        ResponseApdu.parse(b"\x90")


@pytest.mark.parametrize(
    ("sw", "error"),
    [
        (0x6A82, FileNotFoundOnCard),
        (0x6982, SecurityStatusNotSatisfied),
        (0x6987, SecureMessagingError),
        (0x6988, SecureMessagingError),
        (0x6B00, StatusWordError),
        (0x6D00, StatusWordError),
        (0x6300, StatusWordError),
    ],
)
def test_status_words_map_to_typed_errors(sw: int, error: type[Exception]) -> None:
    exc = error_for_status(sw, "READ BINARY")
    assert type(exc) is error
    assert isinstance(exc, CardError)
    assert getattr(exc, "sw", None) == sw
    assert f"{sw:04X}" in str(exc)
    with pytest.raises(error):
        raise_for_status(ResponseApdu(b"", sw), "READ BINARY")


def test_success_and_allowed_warnings_do_not_raise() -> None:
    raise_for_status(ResponseApdu(b"", 0x9000))
    raise_for_status(ResponseApdu(b"x", 0x6282), allowed=(0x9000, 0x6282))
    with pytest.raises(StatusWordError):
        raise_for_status(ResponseApdu(b"x", 0x6282))
