"""SimulatedCccdChip answers APDUs the way a CCCD card does (DOMAIN.md §1)."""

from __future__ import annotations

from datetime import date

import pytest

from drivers.card.chip_sim import ChipFaults, EndOfFile, ParentsShape, SimulatedCccdChip, td1_for_citizen
from drivers.card.icao import tlv
from drivers.card.icao.apdu import CommandApdu, ResponseApdu
from drivers.card.icao.dg13 import parse_dg13
from drivers.card.icao.lds import FID_DG1, FID_DG2, FID_DG13, FID_EF_COM, parse_dg1, parse_ef_com
from drivers.card.icao.session import ChipSession
from drivers.card.samples import sample_chip as _sample_chip
from drivers.card.samples import sample_citizen, sample_citizens
from kiosk import cccd
from kiosk.errors import CardRemovedError, FileNotFoundOnCard, SecureMessagingError, SecurityStatusNotSatisfied
from kiosk.ports import MrzKey

H = bytes.fromhex


def sample_chip(slot: int, **options: object) -> SimulatedCccdChip:
    """A BAC-only chip: these tests exercise BAC and 3DES SM on the card side
    (PACE and AES SM have their own, tests/test_card_pace.py)."""
    return _sample_chip(slot, pace=False, **options)


SELECT_AID = H("00A4040C07A0000002471001")


def _sw(response: bytes) -> str:
    return response[-2:].hex().upper()


def _key(slot: int) -> MrzKey:
    c = sample_citizen(slot)
    expiry = date.fromisoformat(c["date_of_expiry"]) if c["date_of_expiry"] else None
    return MrzKey(cccd.document_number(c["id_number"]), date.fromisoformat(c["date_of_birth"]), expiry)


class Direct:
    """The chip as a transport, with no reader in between."""

    def __init__(self, chip: SimulatedCccdChip) -> None:
        self.chip = chip

    def transmit(self, apdu: bytes) -> bytes:
        return self.chip.process(apdu)


def _open(chip: SimulatedCccdChip, slot: int = 2) -> ChipSession:
    session = ChipSession(Direct(chip))
    session.open([_key(slot)])
    return session


@pytest.fixture
def chip() -> SimulatedCccdChip:
    return sample_chip(2)


# -- the file layout --------------------------------------------------------------------


def test_select_master_file_answers_6d00(chip: SimulatedCccdChip) -> None:
    assert _sw(chip.process(H("00A4000C023F00"))) == "6D00"
    assert _sw(chip.process(H("00A40000"))) == "6D00"


def test_ef_card_access_is_absent_on_a_bac_only_chip(chip: SimulatedCccdChip) -> None:
    assert _sw(chip.process(H("00A4020C02011C"))) == "6A82"


def test_ef_card_access_when_configured_is_readable_without_authentication() -> None:
    # Design kept open for PACE: EF.CardAccess is in the MF and plain-readable.
    card_access = H("31143012060A04007F0007020204020202010202010D")
    chip = sample_chip(1, card_access=card_access)
    assert _sw(chip.process(H("00A4020C02011C"))) == "9000"
    assert chip.process(H("00B0000000")) == card_access + H("6282")


def test_unknown_aid_and_instructions(chip: SimulatedCccdChip) -> None:
    assert _sw(chip.process(H("00A4040C07A0000002471002"))) == "6A82"
    assert _sw(chip.process(H("00CA010000"))) == "6D00"
    assert _sw(chip.process(H("80A4040C07A0000002471001"))) == "6E00"
    assert _sw(chip.process(H("00A4"))) == "6700"  # not even a header


def test_data_groups_need_bac(chip: SimulatedCccdChip) -> None:
    assert _sw(chip.process(SELECT_AID)) == "9000"
    assert _sw(chip.process(H("00A4020C020101"))) == "6982"
    assert _sw(chip.process(H("00B0000004"))) == "6986"  # no current EF
    assert _sw(chip.process(H("00B0810004"))) == "6982"  # by short EF identifier


def test_files_after_bac(chip: SimulatedCccdChip) -> None:
    session = _open(chip)
    com = parse_ef_com(session.read_file(FID_EF_COM))
    assert com.data_group_tags == (0x61, 0x75, 0x63, 0x6D, 0x6E, 0x6F)
    mrz = parse_dg1(session.read_file(FID_DG1))
    assert mrz.cccd_id_number == "079190004567" and mrz.document_number == "190004567"
    assert parse_dg13(session.read_file(FID_DG13)).full_name == "TRẦN THỊ BÌNH"
    assert session.read_file(FID_DG2).startswith(b"\x75")
    # DG3 (fingerprints, EAC) is refused; DG11 does not exist.
    with pytest.raises(SecurityStatusNotSatisfied):
        session.select_file(0x0103)
    with pytest.raises(FileNotFoundOnCard):
        session.select_file(0x010B)
    assert chip.session_active  # file errors do not end the session


def test_plain_read_after_bac_is_refused_and_ends_the_session(chip: SimulatedCccdChip) -> None:
    session = _open(chip)
    session.select_file(FID_DG1)
    assert chip.session_active
    assert _sw(chip.process(H("00B0000004"))) == "6982"
    assert not chip.session_active


def test_bad_command_mac_answers_6988_and_drops_the_session(chip: SimulatedCccdChip) -> None:
    session = _open(chip)
    sm = session._sm
    assert sm is not None
    protected = bytearray(sm.protect(CommandApdu(0x00, 0xA4, 0x02, 0x0C, H("0101"))).to_bytes())
    protected[-2] ^= 0x01  # inside DO'8E'
    assert _sw(chip.process(bytes(protected))) == "6988"
    assert not chip.session_active
    # Later protected commands need a new BAC, even well-formed ones.
    good = sm.protect(CommandApdu(0x00, 0xA4, 0x02, 0x0C, H("0101"))).to_bytes()
    assert _sw(chip.process(good)) == "6988"


def test_missing_mac_answers_6987(chip: SimulatedCccdChip) -> None:
    _open(chip)
    assert _sw(chip.process(H("0CA4020C03970100"))) == "6987"
    assert not chip.session_active


def test_protected_command_without_session(chip: SimulatedCccdChip) -> None:
    chip.process(SELECT_AID)
    assert _sw(chip.process(H("0CB000000D9701048E08ED6705417E96BA5500"))) == "6988"


# -- BAC ------------------------------------------------------------------------------


def test_external_authenticate_needs_a_challenge(chip: SimulatedCccdChip) -> None:
    chip.process(SELECT_AID)
    assert _sw(chip.process(H("0082000028" + "00" * 40 + "28"))) == "6985"


def test_wrong_key_answers_6300(chip: SimulatedCccdChip) -> None:
    chip.process(SELECT_AID)
    assert _sw(chip.process(H("0084000008"))) == "9000"
    assert _sw(chip.process(H("0082000028" + "00" * 40 + "28"))) == "6300"
    # The challenge is used up: a second try needs a new one.
    assert _sw(chip.process(H("0082000028" + "00" * 40 + "28"))) == "6985"


def test_get_challenge_lengths(chip: SimulatedCccdChip) -> None:
    chip.process(SELECT_AID)
    assert _sw(chip.process(H("0084000010"))) == "6700"
    response = chip.process(H("0084000008"))
    assert len(response) == 10 and _sw(response) == "9000"


# -- READ BINARY -------------------------------------------------------------------------


def _read(session: ChipSession, p1p2: int, ne: int | None, ins: int = 0xB0, data: bytes = b"") -> ResponseApdu:
    return session.send(CommandApdu(0x00, ins, p1p2 >> 8, p1p2 & 0xFF, data, ne=ne))


def test_read_binary_offsets_and_end_of_file(chip: SimulatedCccdChip) -> None:
    session = _open(chip)
    session.select_file(FID_DG1)
    whole = session.read_file(FID_DG1)
    assert len(whole) == 95  # 61 5D 5F1F 5A + 90 MRZ characters
    assert _read(session, 10, 5) == ResponseApdu(whole[10:15], 0x9000)
    assert _read(session, 90, 256) == ResponseApdu(whole[90:], 0x6282)  # Ne past the end
    assert _read(session, 95, 1).sw == 0x6B00  # offset outside the EF
    assert _read(session, 0, None).sw == 0x6700  # no Le


def test_read_binary_by_short_ef_identifier(chip: SimulatedCccdChip) -> None:
    session = _open(chip)
    response = _read(session, 0x8100, 4)  # SFI 1 = DG1
    assert response == ResponseApdu(H("615D5F1F"), 0x9000)


def test_read_binary_odd_ins_with_offset_object(chip: SimulatedCccdChip) -> None:
    session = _open(chip)
    whole = session.read_file(FID_DG2)
    session.select_file(FID_DG2)
    response = _read(session, 0, 0x40, ins=0xB1, data=tlv.encode(0x54, (1000).to_bytes(2, "big")))
    assert response.sw == 0x9000
    inner = tlv.parse_single(response.data, 0x53)
    assert inner.value == whole[1000 : 1000 + len(inner.value)] and len(response.data) == 0x40


def test_wrong_le_style_end_of_file() -> None:
    chip = sample_chip(2, end_of_file=EndOfFile.WRONG_LE)
    session = _open(chip)
    session.select_file(FID_DG1)
    assert _read(session, 90, 0x20) == ResponseApdu(b"", 0x6C05)
    assert len(session.read_file(FID_DG1)) == 95  # the reader follows 6Cxx


def test_short_response_limit_of_256_bytes(chip: SimulatedCccdChip) -> None:
    session = _open(chip)
    session.select_file(FID_DG2)
    assert _read(session, 0, 0xE7).sw == 0x9000  # the largest 3DES short read
    assert _read(session, 0, 0xE8).sw == 0x6700  # one more does not fit a short answer
    assert chip.session_active
    response = session.send(CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=0x400, force_extended=True))
    assert response.sw == 0x9000 and len(response.data) == 0x400


def test_chip_without_extended_length() -> None:
    chip = sample_chip(2, extended_length=False)
    session = _open(chip)
    session.select_file(FID_DG2)
    assert _read(session, 0, 0x10).sw == 0x9000
    raw = chip.process(session._sm.protect(CommandApdu(0, 0xB0, 0, 0, ne=0x400)).to_bytes())  # type: ignore[union-attr]
    assert _sw(raw) == "6700"


# -- faults -------------------------------------------------------------------------------


def test_lift_fault_removes_the_card_until_powered_again() -> None:
    chip = sample_chip(1, faults=ChipFaults(lift_after_apdus=2))
    chip.process(SELECT_AID)
    chip.process(H("0084000008"))
    with pytest.raises(CardRemovedError):
        chip.process(H("0084000008"))
    assert not chip.in_field
    with pytest.raises(CardRemovedError):
        chip.process(SELECT_AID)
    chip.power_on()
    assert chip.process(SELECT_AID) == H("9000")  # one-shot: placed again, it works


def test_max_response_length_fault() -> None:
    chip = sample_chip(1, faults=ChipFaults(max_response_length=64))
    session = _open(chip, slot=1)
    session.select_file(FID_DG1)
    assert _read(session, 0, 0x20).sw == 0x9000
    assert _read(session, 0, 0x40).sw == 0x6700


def test_corrupt_response_mac_fault() -> None:
    chip = sample_chip(1, faults=ChipFaults(corrupt_response_mac=frozenset({1})))
    session = _open(chip, slot=1)
    with pytest.raises(SecureMessagingError, match="MAC"):
        session.select_file(FID_DG1)


def test_power_cycle_forgets_the_session(chip: SimulatedCccdChip) -> None:
    _open(chip)
    chip.power_off()
    assert not chip.session_active


# -- personalisation ---------------------------------------------------------------------


@pytest.mark.parametrize("citizen", sample_citizens(), ids=lambda c: f"slot{c['slot']}")
def test_dg1_follows_the_cccd_layout(citizen: dict) -> None:
    mrz = td1_for_citizen(citizen)
    parsed = parse_dg1(tlv.encode(0x61, tlv.encode(0x5F1F, mrz.encode())))
    assert parsed.check_digits_ok
    assert mrz.startswith("IDVNM" + citizen["id_number"][3:])
    assert parsed.optional_data.startswith(citizen["id_number"])
    assert parsed.nationality == "VNM"
    expiry = citizen["date_of_expiry"]
    assert parsed.date_of_expiry_text == (date.fromisoformat(expiry).strftime("%y%m%d") if expiry else "<<<<<<")


def test_dg13_shapes_and_omitted_fields() -> None:
    one = sample_chip(4, parents_shape=ParentsShape.ONE_SEQUENCE)
    two = sample_chip(4)
    p1, p2 = _open(one, 4), _open(two, 4)
    raw1, raw2 = p1.read_file(FID_DG13), p2.read_file(FID_DG13)
    assert raw1 != raw2
    assert parse_dg13(raw1).mother_name == parse_dg13(raw2).mother_name == "NÔNG THỊ LỤA"
    spouse_none = parse_dg13(_open(sample_chip(2), 2).read_file(FID_DG13))
    assert spouse_none.spouse_name is None and 14 in spouse_none.raw_fields
    partial = parse_dg13(_open(sample_chip(2, omit_dg13_fields=(7, 9, 13)), 2).read_file(FID_DG13))
    assert partial.religion is None and partial.place_of_residence is None and partial.father_name is None


def test_without_dg13_and_dg2() -> None:
    chip = SimulatedCccdChip.from_citizen(sample_citizen(3), None, with_dg13=False)
    session = _open(chip, 3)
    assert parse_ef_com(session.read_file(FID_EF_COM)).data_group_tags == (0x61, 0x63, 0x6E, 0x6F)
    assert session.read_optional_file(FID_DG13) is None
    assert session.read_optional_file(FID_DG2) is None


def test_repr_shows_no_personal_data(chip: SimulatedCccdChip) -> None:
    assert "TRẦN" not in repr(chip) and "079190004567" not in repr(chip)
