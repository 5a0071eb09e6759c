"""Extended-length reads chosen automatically: what the card announces (ATR
card capabilities, EF.ATR/INFO '7F66'), what the reader's link carries, and
the fall back to short reads that re-reads no byte. In-process chip and
reader; the same through real pcscd is in test_card_pcscd.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card import pcsc
from drivers.card.chip_sim import SimulatedCccdChip, pseudo_atr
from drivers.card.icao import IcaoChipReader, tlv
from drivers.card.icao.apdu import CommandApdu
from drivers.card.icao.lengths import (
    FID_EF_ATR_INFO,
    CardLengths,
    atr_historical_bytes,
    capabilities_from_historical_bytes,
    card_capabilities,
    encode_atr_info,
    historical_bytes_with_capabilities,
    largest_protected_read,
    parse_atr_info,
)
from drivers.card.icao.lengths import _protected_response_length as protected_length
from drivers.card.icao.session import BAD_ATR_INFO_NOTE, EXTENDED_FELL_BACK_NOTE
from drivers.card.samples import sample_chip, sample_citizen
from drivers.card.simulated import SimulatedCardReader
from kiosk import cccd
from kiosk.domain import Verification
from kiosk.errors import CardLinkError, CardRemovedError, MalformedDataError
from kiosk.ports import CanKey, MrzKey

TODAY = date(2025, 6, 1)


def _keys(slot: int) -> list[MrzKey]:
    c = sample_citizen(slot)
    return cccd.mrz_keys_for(
        c["id_number"], date.fromisoformat(c["date_of_birth"]), date.fromisoformat(c["date_of_issue"]), today=TODAY
    )


def _can(slot: int) -> CanKey:
    return CanKey(cccd.can(sample_citizen(slot)["id_number"]))


class Recording:
    """A transport that remembers every command APDU (the OS edge, observed)."""

    def __init__(self, inner: object, atr: bytes | None = None) -> None:
        self.inner = inner
        self.sent: list[bytes] = []
        self._atr = atr

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        return self.inner.transmit(apdu)  # type: ignore[attr-defined, no-any-return]

    @property
    def atr(self) -> bytes | None:
        return self._atr if self._atr is not None else getattr(self.inner, "atr", None)

    @property
    def max_apdu_length(self) -> int | None:
        return getattr(self.inner, "max_apdu_length", None)

    def extended_count(self) -> int:
        return sum(1 for a in self.sent if _parse(a) is not None and _parse(a).extended)  # type: ignore[union-attr]

    def selected_atr_info(self) -> bool:
        return any(a[:4] == bytes.fromhex("00A4020C") and a[5:7] == b"\x2f\x01" for a in self.sent)


def _parse(apdu: bytes) -> CommandApdu | None:
    try:
        return CommandApdu.parse(apdu)
    except MalformedDataError:
        return None


def _read(
    chip: SimulatedCccdChip,
    *,
    reader: SimulatedCardReader | None = None,
    atr: bytes | None = None,
    progress: Callable[[str], None] | None = None,
    slot: int = 2,
) -> tuple[IcaoChipReader, Recording]:
    slot_reader = reader or SimulatedCardReader()
    slot_reader.place(chip)
    transport = Recording(slot_reader.connect(), atr)
    chip_reader = IcaoChipReader()
    result = chip_reader.read_identity(transport, [_can(slot)], progress or (lambda step: None))
    assert result.citizen.id_number == sample_citizen(slot)["id_number"]
    assert result.citizen.photo is not None
    return chip_reader, transport


def _no_byte_read_twice(chip: SimulatedCccdChip) -> None:
    seen: dict[int, set[int]] = {}
    for fid, offset, count in chip.read_log:
        if fid in (0x011C, FID_EF_ATR_INFO):
            continue  # read in the clear before authentication, once per session
        span = set(range(offset, offset + count))
        assert not (seen.setdefault(fid, set()) & span), f"EF {fid:04X} bytes read twice"
        seen[fid] |= span


# -- what the card says ------------------------------------------------------------------------


def test_atr_historical_bytes() -> None:
    assert atr_historical_bytes(bytes.fromhex("3B80800101")) == b""
    hb = historical_bytes_with_capabilities(card_capabilities(True))
    assert atr_historical_bytes(pseudo_atr(hb)) == hb
    assert capabilities_from_historical_bytes(hb) == CardLengths(True, source="ATR", info_in_ef_atr=True)
    no = historical_bytes_with_capabilities(card_capabilities(False, info_in_ef_atr=False))
    assert capabilities_from_historical_bytes(no).extended is False
    # Historical bytes in another format, or capabilities without the third table: says nothing.
    assert capabilities_from_historical_bytes(b"\x10\x01") == CardLengths()
    assert capabilities_from_historical_bytes(b"\x80\x72\xa2\x01") == CardLengths()


@pytest.mark.parametrize(
    "atr",
    ["", "3B", "3B8F", "3BF0", "3B8180", "3B8380018073A2"],
)
def test_garbled_atr_is_a_typed_error(atr: str) -> None:
    with pytest.raises(MalformedDataError):
        capabilities_from_historical_bytes(atr_historical_bytes(bytes.fromhex(atr)))


def test_atr_info_parses() -> None:
    info = parse_atr_info(encode_atr_info(1000, 65538, card_capabilities(True)))
    assert info == CardLengths(True, 1000, 65538, "EF.ATR/INFO")
    assert parse_atr_info(encode_atr_info(261, 258)).extended is False  # short sizes only
    # The capability bit "no extended Lc/Le" wins over sizes.
    assert parse_atr_info(encode_atr_info(1000, 4000, card_capabilities(False))).extended is False
    assert parse_atr_info(tlv.encode(0x47, card_capabilities(True))).extended is True
    assert parse_atr_info(tlv.encode(0x43, b"\x01")) == CardLengths()  # nothing about lengths


@pytest.mark.parametrize(
    "raw",
    [
        "7F66",  # no length
        "7F6603020101",  # one INTEGER
        "7F660602010002010",  # odd hex: truncated
        "7F660A0205010203040502010A",  # a 5-byte INTEGER
        "7F6606020101020101",  # below an APDU's minimum
        "FF",
    ],
)
def test_garbled_atr_info_is_a_typed_error(raw: str) -> None:
    with pytest.raises(MalformedDataError):
        parse_atr_info(bytes.fromhex(raw if len(raw) % 2 == 0 else raw[:-1]))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzzed_atr_info_and_atr_never_crash(raw: bytes) -> None:
    for parse in (parse_atr_info, lambda b: capabilities_from_historical_bytes(atr_historical_bytes(b))):
        try:
            result = parse(raw)
        except MalformedDataError:
            continue
        assert isinstance(result, CardLengths)


@pytest.mark.parametrize("block", [8, 16])
@pytest.mark.parametrize("limit", [258, 300, 1024, 4096, 65538, 100_000])
def test_largest_protected_read_fits_exactly(limit: int, block: int) -> None:
    n = largest_protected_read(limit, block)
    assert protected_length(n, block) <= min(limit, 65538) < protected_length(n + block, block)


# -- in-process: card and link choose the mode ---------------------------------------------------


def test_chip_announcing_extended_length_is_read_with_extended_apdus() -> None:
    chip = sample_chip(2)
    chip_reader, transport = _read(chip)
    mode = chip_reader.last_read_mode or ""
    assert mode.startswith("extended") and "EF.ATR/INFO max response 65538" in mode
    assert transport.extended_count() > 0
    dg2_reads = [entry for entry in chip.read_log if entry[0] == 0x0102]
    assert len(dg2_reads) == 2  # the 4-byte header, then the rest in one READ BINARY
    short = sample_chip(2)
    IcaoChipReader(read_size=0xDF).read_identity(_connect(short), [_can(2)])  # type: ignore[arg-type]
    assert chip.apdu_count < short.apdu_count - 40


def _connect(chip: SimulatedCccdChip) -> object:
    reader = SimulatedCardReader()
    reader.place(chip)
    return reader.connect()


def test_no_extended_length_switch_reads_short_and_never_sends_extended() -> None:
    chip = sample_chip(2, extended_length=False)
    chip_reader, transport = _read(chip)
    assert chip_reader.last_read_mode == "short, 223 bytes per READ BINARY (EF.ATR/INFO says no extended length)"
    assert transport.extended_count() == 0


def test_chip_without_atr_info_reads_short() -> None:
    chip = sample_chip(2, atr_info=None)
    chip_reader, transport = _read(chip)
    assert chip_reader.last_read_mode == "short, 223 bytes per READ BINARY (card does not announce extended length)"
    assert transport.extended_count() == 0


def test_atr_announcing_extended_length() -> None:
    hb = historical_bytes_with_capabilities(card_capabilities(True, info_in_ef_atr=False))
    chip = sample_chip(2, atr_info=None, historical_bytes=hb)
    chip_reader, transport = _read(chip)
    assert (chip_reader.last_read_mode or "").startswith("extended") and "card: ATR" in (chip_reader.last_read_mode or "")


def test_atr_saying_no_extended_skips_atr_info() -> None:
    hb = historical_bytes_with_capabilities(card_capabilities(False, info_in_ef_atr=False))
    chip = sample_chip(2, historical_bytes=hb)  # EF.ATR/INFO (which says yes) is not even read
    chip_reader, transport = _read(chip)
    assert (chip_reader.last_read_mode or "").startswith("short") and "ATR says no extended" in (chip_reader.last_read_mode or "")
    assert not transport.selected_atr_info()


def test_smaller_announced_response_limit_is_respected() -> None:
    chip = sample_chip(2, max_extended_response=1024)
    chip_reader, _ = _read(chip)
    session = chip_reader._last_session
    assert session is not None and session.extended
    assert protected_length(session.read_size or 0, 16) <= 1024
    assert max(count for _, _, count in chip.read_log) <= 1024
    assert EXTENDED_FELL_BACK_NOTE not in " ".join(session.notes)


@pytest.mark.parametrize(
    "garbage",
    [b"\x7f\x66\x03\x02\x01", b"\x7f\x66\x06\x02\x01\x01\x02\x01\x01", b"\xff\xff\xff", b"\x7f\x66\x81"],
)
def test_garbled_atr_info_falls_back_to_short_reads(garbage: bytes) -> None:
    chip = sample_chip(2, atr_info=garbage)
    chip_reader, transport = _read(chip)
    session = chip_reader._last_session
    assert session is not None and not session.extended
    assert transport.extended_count() == 0
    notes = " ".join(session.notes)
    assert BAD_ATR_INFO_NOTE in notes or "card does not announce" in (chip_reader.last_read_mode or "")


def test_garbled_atr_is_noted_and_atr_info_still_decides() -> None:
    chip = sample_chip(2)
    chip_reader, _ = _read(chip, atr=bytes.fromhex("3B8F80"))  # 15 historical bytes promised, none there
    session = chip_reader._last_session
    assert session is not None and any("ATR historical bytes unusable" in n for n in session.notes)
    assert session.extended


# -- failures: fall back to short reads without re-reading bytes -----------------------------------


def test_card_that_announces_but_refuses_extended_falls_back() -> None:
    # EF.ATR/INFO says yes, the chip answers 6700 to extended APDUs.
    chip = sample_chip(2, extended_length=False, atr_info=encode_atr_info(1000, 65538, card_capabilities(True)))
    chip_reader, transport = _read(chip)
    mode = chip_reader.last_read_mode or ""
    assert mode == f"short, 223 bytes per READ BINARY ({EXTENDED_FELL_BACK_NOTE}: 6700)"
    assert transport.extended_count() == 1  # tried once, never again
    _no_byte_read_twice(chip)


def test_reader_that_cannot_carry_extended_apdus_falls_back_and_reopens() -> None:
    chip = sample_chip(2)
    steps: list[str] = []
    chip_reader, transport = _read(chip, reader=SimulatedCardReader(link_extended=False), progress=steps.append)
    assert "the reader could not carry it" in (chip_reader.last_read_mode or "")
    assert steps.count("pace") == 1  # re-established inside the session, not a new read
    _no_byte_read_twice(chip)  # the card never saw the extended command


def test_reader_losing_a_long_answer_falls_back_and_reopens() -> None:
    # The card answered, the reader could not carry the answer back: the
    # card's SSC moved on, so only a new session can continue.
    chip = sample_chip(2)
    chip_reader, _ = _read(chip, reader=SimulatedCardReader(link_max_apdu=258))
    assert (chip_reader.last_read_mode or "").startswith("short")
    session = chip_reader._last_session
    assert session is not None and any(EXTENDED_FELL_BACK_NOTE in n for n in session.notes)


def test_reader_reporting_its_limit_is_never_sent_extended() -> None:
    chip = sample_chip(2)
    reader = SimulatedCardReader(link_max_apdu=258, report_link_limit=True)
    chip_reader, transport = _read(chip, reader=reader)
    assert chip_reader.last_read_mode == "short, 223 bytes per READ BINARY (extended length, but link carries 258 bytes)"
    assert transport.extended_count() == 0


def test_reader_reporting_a_large_limit_caps_the_read() -> None:
    chip = sample_chip(2)
    chip_reader, _ = _read(chip, reader=SimulatedCardReader(link_max_apdu=2048, report_link_limit=True))
    assert "link carries 2048 bytes" in (chip_reader.last_read_mode or "")
    assert max(count for _, _, count in chip.read_log) < 2048


def test_removal_during_an_extended_read_is_removal() -> None:
    chip = sample_chip(2)
    reader = SimulatedCardReader(link_extended=False)
    reader.place(chip)
    transport = reader.connect()

    def lift(step: str) -> None:
        if step == "dg2":
            reader.remove()

    chip_reader = IcaoChipReader()
    with pytest.raises(CardRemovedError):
        chip_reader.read_identity(transport, [_can(2)], lift)


def test_extended_read_verifies_like_a_short_one() -> None:
    from drivers.card.icao.pa import TrustStore
    from drivers.card.sample_pki import csca_pem

    trust = TrustStore()
    trust.load_bytes(csca_pem())
    reader = SimulatedCardReader()
    reader.place(sample_chip(3))
    chip_reader = IcaoChipReader(trust_store=trust)
    result = chip_reader.read_identity(reader.connect(), [_can(3)])
    assert result.verification is Verification.GENUINE
    assert (chip_reader.last_read_mode or "").startswith("extended")


def test_explicit_read_size_overrides_the_choice() -> None:
    chip = sample_chip(2)
    reader = SimulatedCardReader()
    reader.place(chip)
    transport = Recording(reader.connect())
    chip_reader = IcaoChipReader(read_size=0x80)
    chip_reader.read_identity(transport, [_can(2)])
    assert chip_reader.last_read_mode == "short, 128 bytes per READ BINARY (fixed)"
    assert not transport.selected_atr_info()  # nothing to decide: EF.ATR/INFO not read


# -- PC/SC: a failed extended exchange with the card still present is the link ----------------------


class _FakeScard:
    """pyscard's smartcard.scard, as far as _PcscTransport uses it (the OS edge)."""

    SCARD_S_SUCCESS = 0
    SCARD_W_REMOVED_CARD = 0x80100069
    SCARD_ATTR_MAXINPUT = 0x7A007

    def __init__(self, present: bool, max_input: bytes | None = None) -> None:
        self.present = present
        self.max_input = max_input

    def SCardStatus(self, hcard: int) -> tuple[int, str, int, int, list[int]]:  # noqa: N802 (PC/SC name)
        if not self.present:
            return self.SCARD_W_REMOVED_CARD, "", 0, 0, []
        return self.SCARD_S_SUCCESS, "Reader", 0x0004 | 0x0010 | 0x0040, 2, [0x3B]

    def SCardGetAttrib(self, hcard: int, attr: int) -> tuple[int, list[int]]:  # noqa: N802
        if self.max_input is None:
            return 0x8010001F, []  # SCARD_E_UNSUPPORTED_FEATURE
        return self.SCARD_S_SUCCESS, list(self.max_input)

    # PC/SC Part 10 features, as a driver that answers them would.
    tlv_properties: bytes | None = None

    @staticmethod
    def SCARD_CTL_CODE(code: int) -> int:  # noqa: N802
        return 0x42000000 + code

    def SCardControl(self, hcard: int, code: int, data: list[int]) -> tuple[int, list[int]]:  # noqa: N802
        if self.tlv_properties is None:
            return 0x8010001F, []
        if code == self.SCARD_CTL_CODE(3400):
            return 0, list(bytes([0x12, 4]) + (0x42330012).to_bytes(4, "big"))
        if code == 0x42330012:
            return 0, list(self.tlv_properties)
        return 0x8010001F, []


class _FailingConnection:
    hcard = 0x1234

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        from smartcard.Exceptions import CardConnectionException

        raise CardConnectionException("Failed to transmit")

    def getATR(self) -> list[int]:  # noqa: N802 (pyscard name)
        return list(bytes.fromhex("3B80800101"))


class _Decorator:
    """Like pyscard's CardConnectionDecorator: the handle is one level down."""

    def __init__(self, component: _FailingConnection) -> None:
        self.component = component

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        return self.component.transmit(apdu)


EXTENDED_READ = CommandApdu(0x0C, 0xB0, 0, 4, data=bytes(14), ne=65536).to_bytes()
SHORT_READ = CommandApdu(0x0C, 0xB0, 0, 4, data=bytes(14), ne=256).to_bytes()


@pytest.mark.parametrize(
    ("apdu", "present", "error"),
    [
        (EXTENDED_READ, True, CardLinkError),
        (EXTENDED_READ, False, CardRemovedError),
        (SHORT_READ, True, CardRemovedError),
        (SHORT_READ, False, CardRemovedError),
    ],
)
def test_pcsc_transport_tells_link_failure_from_removal(
    monkeypatch: pytest.MonkeyPatch, apdu: bytes, present: bool, error: type[Exception]
) -> None:
    pytest.importorskip("smartcard")
    import threading

    monkeypatch.setattr(pcsc, "_scard", lambda: _FakeScard(present))
    transport = pcsc._PcscTransport(_Decorator(_FailingConnection()), threading.Lock())
    with pytest.raises(error):
        transport.transmit(apdu)


def test_pcsc_transport_reports_atr_and_max_input(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(pcsc, "_scard", lambda: _FakeScard(True, (1034).to_bytes(4, "little")))
    transport = pcsc._PcscTransport(_FailingConnection(), threading.Lock())
    assert transport.atr == bytes.fromhex("3B80800101")
    assert transport.max_apdu_length == 1034
    monkeypatch.setattr(pcsc, "_scard", lambda: _FakeScard(True, None))
    assert pcsc._PcscTransport(_FailingConnection(), threading.Lock()).max_apdu_length is None


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        (bytes([0x0A, 4]) + (0x10000).to_bytes(4, "little"), 65538),  # extended APDUs (vpcd's answer)
        (bytes([0x01, 2, 0, 0, 0x0A, 4]) + bytes(4), 258),  # 0: a short-APDU-level reader
        (bytes([0x01, 2, 0, 0]), None),  # no dwMaxAPDUDataSize
        (bytes([0x0A, 4, 0]), None),  # truncated: no answer, not a crash
    ],
)
def test_pcsc_transport_reads_part10_max_apdu_size(
    monkeypatch: pytest.MonkeyPatch, properties: bytes, expected: int | None
) -> None:
    import threading

    fake = _FakeScard(True, None)
    fake.tlv_properties = properties
    monkeypatch.setattr(pcsc, "_scard", lambda: fake)
    assert pcsc._PcscTransport(_FailingConnection(), threading.Lock()).max_apdu_length == expected
