"""The whole chip read in-process: SimulatedCardReader + SimulatedCccdChip +
IcaoChipReader, for every sample citizen, and every way it can go wrong."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from drivers.card.chip_sim import ChipFaults, EndOfFile, ParentsShape, SimulatedCccdChip
from drivers.card.icao import IcaoChipReader, tlv
from drivers.card.icao.lds import FID_DG2, FID_DG13
from drivers.card.icao.reader import BAD_DG2_NOTE, NO_DG2_NOTE, NO_DG13_NOTE
from drivers.card.icao.session import CAN_SKIPPED_NOTE, MIN_READ_SIZE
from drivers.card.samples import sample_chip, sample_citizen, sample_citizens
from drivers.card.simulated import SimulatedCardReader
from kiosk import cccd
from kiosk.domain import Sex, Verification
from kiosk.errors import AccessKeyRejected, CardRemovedError, MalformedDataError, SecureMessagingError
from kiosk.ports import CanKey, ChipReader, MrzKey

SLOTS = [c["slot"] for c in sample_citizens()]
TODAY = date(2025, 6, 1)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _keys(slot: int, *, issue_known: bool = True) -> list[MrzKey]:
    c = sample_citizen(slot)
    issue = _d(c["date_of_issue"]) if issue_known else None
    return cccd.mrz_keys_for(c["id_number"], _d(c["date_of_birth"]), issue, today=TODAY)  # type: ignore[arg-type]


def _on_reader(chip: SimulatedCccdChip) -> SimulatedCardReader:
    reader = SimulatedCardReader()
    reader.place(chip)
    return reader


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        return img.size


def test_reader_implements_the_port() -> None:
    reader: ChipReader = IcaoChipReader()
    assert callable(reader.read_identity)


@pytest.mark.parametrize("slot", SLOTS)
def test_full_identity_read(slot: int) -> None:
    c = sample_citizen(slot)
    reader = _on_reader(sample_chip(slot))
    steps: list[str] = []
    result = IcaoChipReader().read_identity(reader.connect(), _keys(slot), steps.append)

    assert steps == ["select", "pace", "dg14", "ca", "dg1", "dg13", "dg2", "aa", "sod"]  # sample chips announce PACE like a CCCD
    # No trust store given: consistent data, but "not verifiable", never GENUINE.
    assert result.verification is Verification.CHIP_READ
    assert result.notes[-1] == "passive authentication: no CSCA trust store configured: not verifiable"
    z = result.citizen
    assert z.id_number == c["id_number"]
    assert z.full_name == c["full_name"]
    assert z.date_of_birth == _d(c["date_of_birth"])
    assert z.sex is Sex.from_vietnamese(c["sex"])
    assert z.old_id_number == (c["old_id_number"] or None)
    for name in ("nationality", "ethnicity", "religion", "place_of_origin", "place_of_residence",
                 "identifying_marks", "father_name", "mother_name", "spouse_name"):  # fmt: skip
        assert getattr(z, name) == c[name], name
    assert z.date_of_issue == _d(c["date_of_issue"])
    expiry = _d(c["date_of_expiry"])
    assert z.date_of_expiry == (expiry.strftime("%d/%m/%Y") if expiry else "Không thời hạn")
    assert z.photo is not None and _png_size(z.photo) == (240, 320)
    assert c["full_name"] not in repr(z) and c["id_number"] not in repr(result)


@pytest.mark.parametrize("slot", SLOTS)
def test_unknown_issue_date_still_opens_the_card(slot: int) -> None:
    reader = _on_reader(sample_chip(slot))
    result = IcaoChipReader().read_identity(reader.connect(), _keys(slot, issue_known=False))
    assert result.citizen.id_number == sample_citizen(slot)["id_number"]


@pytest.mark.parametrize("pace", [True, False])
def test_the_right_key_after_wrong_ones(pace: bool) -> None:
    chip = sample_chip(2, pace=pace)
    good = _keys(2)[0]
    wrong = [MrzKey(good.document_number, good.date_of_birth, date(2050, 11, 20)),
             MrzKey(good.document_number, good.date_of_birth, None)]  # fmt: skip
    steps: list[str] = []
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), [*wrong, good], steps.append)
    protocol = "pace" if pace else "bac"
    assert steps[:4] == ["select", protocol, protocol, protocol]
    assert result.citizen.full_name == "TRẦN THỊ BÌNH"


def test_wrong_key_is_rejected() -> None:
    good = _keys(3)[0]
    wrong = MrzKey(good.document_number, date(2003, 2, 15), good.date_of_expiry)
    with pytest.raises(AccessKeyRejected, match="refused all 1"):
        IcaoChipReader().read_identity(_on_reader(sample_chip(3)).connect(), [wrong])


def test_another_persons_key_is_rejected() -> None:
    with pytest.raises(AccessKeyRejected):
        IcaoChipReader().read_identity(_on_reader(sample_chip(1)).connect(), _keys(4))


def test_can_only_is_rejected_with_a_clear_reason_on_a_bac_only_chip() -> None:
    can = CanKey(cccd.can(sample_citizen(1)["id_number"]))
    with pytest.raises(AccessKeyRejected, match="PACE"):
        IcaoChipReader().read_identity(_on_reader(sample_chip(1, pace=False)).connect(), [can])


def test_can_is_skipped_with_a_note_when_a_bac_key_follows() -> None:
    can = CanKey(cccd.can(sample_citizen(1)["id_number"]))
    chip = sample_chip(1, pace=False)
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), [can, *_keys(1)])
    assert CAN_SKIPPED_NOTE in result.notes


# -- a card pulled off mid-read ----------------------------------------------------------------


@pytest.mark.parametrize("step", ["pace", "dg1", "dg13", "dg2"])
def test_card_pulled_mid_read(step: str) -> None:
    reader = _on_reader(sample_chip(2))

    def progress(current: str) -> None:
        if current == step:
            reader.remove()

    with pytest.raises(CardRemovedError):
        IcaoChipReader().read_identity(reader.connect(), _keys(2), progress)


@pytest.mark.parametrize("after", [0, 1, 2, 3, 4, 5, 8, 13, 21, 30])
def test_card_leaving_the_field_after_n_apdus(after: int) -> None:
    """Wherever the card goes, the read ends in CardRemovedError, nothing else."""
    chip = sample_chip(4, faults=ChipFaults(lift_after_apdus=after))
    reader = _on_reader(chip)
    with pytest.raises(CardRemovedError):
        IcaoChipReader().read_identity(reader.connect(), _keys(4))
    assert not reader.card_present()


# -- malformed and missing data ----------------------------------------------------------------


def test_malformed_dg13() -> None:
    chip = sample_chip(2)
    chip.replace_file(FID_DG13, tlv.encode(0x6D, tlv.encode(0x30, tlv.encode(0x31, b"\x30\x05\x0c\x03abc"))))
    with pytest.raises(MalformedDataError, match="DG13"):
        IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(2))


@pytest.mark.parametrize("end_of_file", list(EndOfFile))
def test_truncated_dg13(end_of_file: EndOfFile) -> None:
    chip = sample_chip(2, end_of_file=end_of_file)
    good = _read_raw(sample_chip(2), FID_DG13)
    chip.replace_file(FID_DG13, good[:300])  # the header promises more than there is
    with pytest.raises(MalformedDataError, match="ends before the length in its header"):
        IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(2))


def _read_raw(chip: SimulatedCccdChip, fid: int) -> bytes:
    from drivers.card.icao.session import ChipSession

    session = ChipSession(_on_reader(chip).connect())
    session.open(_keys(2))
    return session.read_file(fid)


def test_dg13_absent_falls_back_to_dg1() -> None:
    c = sample_citizen(3)
    chip = SimulatedCccdChip.from_citizen(c, None, with_dg13=False)
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(3))
    z = result.citizen
    assert z.id_number == c["id_number"]
    assert z.full_name == "LE HOANG CUONG"  # the MRZ has no diacritics
    assert z.date_of_birth == date(2003, 2, 14)  # century from the ID's 4th digit
    assert z.sex is Sex.MALE
    assert z.date_of_expiry == "14/02/2028"
    assert z.place_of_residence is None and z.photo is None
    assert NO_DG13_NOTE in result.notes and NO_DG2_NOTE in result.notes


def test_parents_in_one_sequence_and_fields_left_out() -> None:
    chip = sample_chip(4, parents_shape=ParentsShape.ONE_SEQUENCE, omit_dg13_fields=(7, 10))
    z = IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(4)).citizen
    assert (z.father_name, z.mother_name) == ("PHẠM VĂN KHÁNH", "NÔNG THỊ LỤA")
    assert z.religion is None and z.identifying_marks is None


def test_undecodable_face_is_a_note_not_a_failure() -> None:
    chip = sample_chip(1)
    chip.replace_file(FID_DG2, tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x7F60, tlv.encode(0x5F2E, b"junk")))))
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(1))
    assert result.citizen.photo is None and BAD_DG2_NOTE in result.notes


# -- secure messaging trouble --------------------------------------------------------------------


def test_one_bad_response_mac_is_recovered_by_authenticating_again() -> None:
    chip = sample_chip(2, faults=ChipFaults(corrupt_response_mac=frozenset({7})))
    steps: list[str] = []
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(2), steps.append)
    assert result.citizen.full_name == "TRẦN THỊ BÌNH"
    assert result.citizen.photo is not None


def test_persistent_bad_response_mac_fails_with_secure_messaging_error() -> None:
    chip = sample_chip(2, faults=ChipFaults(corrupt_response_mac=frozenset(range(3, 10_000))))
    with pytest.raises(SecureMessagingError, match="MAC"):
        IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(2))


def test_reader_with_small_frames_reads_in_smaller_chunks() -> None:
    chip = sample_chip(1, faults=ChipFaults(max_response_length=64))
    reader = IcaoChipReader()
    result = reader.read_identity(_on_reader(chip).connect(), _keys(1))
    assert result.citizen.photo is not None
    assert reader._session is not None and reader._session.read_size == MIN_READ_SIZE


def test_too_long_answer_that_ends_the_session_is_recovered() -> None:
    # Like the 6988 some documents give to 256-byte reads (DOMAIN.md).
    chip = sample_chip(1, faults=ChipFaults(max_response_length=120), too_long_sw=0x6988)
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(1))
    assert result.citizen.photo is not None


def test_wrong_le_end_of_file_behaviour() -> None:
    chip = sample_chip(3, end_of_file=EndOfFile.WRONG_LE)
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), _keys(3))
    assert result.citizen.full_name == "LÊ HOÀNG CƯỜNG"


def test_extended_length_reads() -> None:
    chip = sample_chip(2)
    reader = IcaoChipReader(read_size=0x800)
    result = reader.read_identity(_on_reader(chip).connect(), _keys(2))
    assert result.citizen.photo is not None
    short = sample_chip(2)
    IcaoChipReader(read_size=0xDF).read_identity(_on_reader(short).connect(), _keys(2))
    assert chip.apdu_count < short.apdu_count - 20  # big chunks: far fewer exchanges than 0xDF reads


def test_extended_length_refused_falls_back_to_short_reads() -> None:
    chip = sample_chip(2, extended_length=False)
    reader = IcaoChipReader(read_size=0x400)
    result = reader.read_identity(_on_reader(chip).connect(), _keys(2))
    assert result.citizen.photo is not None
    assert reader._session is not None and reader._session.read_size is not None
    assert reader._session.read_size <= 0xE7


# -- the face on demand ----------------------------------------------------------------------------


def test_identity_first_then_photo_on_the_same_session() -> None:
    chip = sample_chip(3)
    transport = _on_reader(chip).connect()
    reader = IcaoChipReader()
    steps: list[str] = []
    result = reader.read_identity(transport, _keys(3), steps.append, with_photo=False)
    assert result.citizen.photo is None and steps == ["select", "pace", "dg14", "ca", "dg1", "dg13", "sod"]
    photo = reader.read_photo(transport, progress=steps.append)
    assert photo is not None and _png_size(photo) == (240, 320)
    assert steps[-1] == "dg2" and steps.count("pace") == 1  # no second authentication


def test_photo_on_a_new_transport_opens_a_new_session() -> None:
    reader_slot = _on_reader(sample_chip(3))
    reader = IcaoChipReader()
    reader.read_identity(reader_slot.connect(), _keys(3), with_photo=False)
    steps: list[str] = []
    photo = reader.read_photo(reader_slot.connect(), progress=steps.append)  # keys remembered
    assert photo is not None and steps == ["select", "pace", "dg2"]


def test_photo_when_the_chip_has_none() -> None:
    chip = SimulatedCccdChip.from_citizen(sample_citizen(2), None)
    assert IcaoChipReader().read_photo(_on_reader(chip).connect(), _keys(2)) is None


def test_photo_after_the_card_was_swapped() -> None:
    slot = _on_reader(sample_chip(1))
    reader = IcaoChipReader()
    transport = slot.connect()
    reader.read_identity(transport, _keys(1), with_photo=False)
    slot.place(sample_chip(2))
    with pytest.raises(CardRemovedError):
        reader.read_photo(transport)


def test_photo_without_any_key() -> None:
    with pytest.raises(AccessKeyRejected):
        IcaoChipReader().read_photo(_on_reader(sample_chip(1)).connect())


def test_close_forgets_the_session() -> None:
    slot = _on_reader(sample_chip(1))
    reader = IcaoChipReader()
    transport = slot.connect()
    reader.read_identity(transport, _keys(1), with_photo=False)
    reader.close()
    with pytest.raises(AccessKeyRejected):
        reader.read_photo(transport)


def test_missing_dg2_read_photo_and_dg13_file_errors_do_not_end_the_session() -> None:
    chip = sample_chip(1)
    chip.remove_file(FID_DG2)
    transport = _on_reader(chip).connect()
    reader = IcaoChipReader()
    result = reader.read_identity(transport, _keys(1))
    assert result.citizen.photo is None and NO_DG2_NOTE in result.notes
    assert chip.session_active


# -- EF.COM ----------------------------------------------------------------------------------------


def test_ef_com_is_read_and_reported() -> None:
    reader = IcaoChipReader()
    reader.read_identity(_on_reader(sample_chip(2)).connect(), _keys(2))
    assert reader.last_files["EF.COM"].endswith("LDS 0107, lists DG1 DG2 DG3 DG13 DG14 DG15")


@pytest.mark.parametrize(
    ("content", "status"),
    [(None, "absent (6A82)"), (tlv.encode(0x60, tlv.encode(0x5F01, b"0107")), "does not parse")],
)
def test_missing_or_broken_ef_com_is_not_fatal(content: bytes | None, status: str) -> None:
    from drivers.card.icao.lds import FID_EF_COM

    chip = sample_chip(2)
    if content is None:
        chip.remove_file(FID_EF_COM)
    else:
        chip.replace_file(FID_EF_COM, content)  # no tag list '5C'
    reader = IcaoChipReader()
    result = reader.read_identity(_on_reader(chip).connect(), _keys(2))
    assert result.citizen.id_number == sample_citizen(2)["id_number"]
    assert reader.last_files["EF.COM"].endswith(status)
