"""Data-group parsers: DG1 (MRZ: TD1, TD2, TD3), DG13 (CCCD fields), DG2 (face)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.card.icao import tlv
from drivers.card.icao.dg2 import ImageType, face_png, parse_dg2, parse_facial_record, to_png
from drivers.card.icao.dg13 import parse_dg13, parse_vietnamese_date
from drivers.card.icao.lds import EfCom, parse_dg1, parse_ef_com
from drivers.card.icao.mrz import check_digit, compose_td1, parse_mrz, transliterate
from kiosk.domain import Sex
from kiosk.errors import MalformedDataError

# -- MRZ / DG1 ------------------------------------------------------------------------

# ICAO 9303-5 (TD1) and 9303-4 (TD3) specimens.
TD1_SPECIMEN = "I<UTOD231458907<<<<<<<<<<<<<<<" "7408122F1204159UTO<<<<<<<<<<<6" "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
TD3_SPECIMEN = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
# A CCCD-shaped TD1 (sample citizen 1: no expiry, encoded "<<<<<<").
CCCD_TD1 = "IDVNM0580123456001058012345<<<" "5807020M<<<<<<0VNM<<<<<<<<<<<7" "NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<"


def _dg1(mrz: str) -> bytes:
    return tlv.encode(0x61, tlv.encode(0x5F1F, mrz.encode()))


@pytest.mark.parametrize(("field", "digit"), [("D23145890", "7"), ("740812", "2"), ("120415", "9"), ("L898902C<", "3"), ("<<<<<<", "0")])
def test_check_digits(field: str, digit: str) -> None:
    assert check_digit(field) == digit


def test_td1_specimen() -> None:
    mrz = parse_dg1(_dg1(TD1_SPECIMEN))
    assert mrz.format == "TD1" and mrz.check_digits_ok
    assert (mrz.document_code, mrz.issuing_state, mrz.document_number) == ("I", "UTO", "D23145890")
    assert mrz.full_name == "ERIKSSON ANNA MARIA"
    assert mrz.sex is Sex.FEMALE
    assert mrz.date_of_birth(today=date(2025, 1, 1)) == date(1974, 8, 12)
    assert mrz.date_of_expiry() == date(2012, 4, 15)
    assert mrz.cccd_id_number is None


def test_td3_specimen() -> None:
    mrz = parse_mrz(TD3_SPECIMEN)
    assert mrz.format == "TD3" and mrz.check_digits_ok
    assert mrz.document_number == "L898902C3"
    assert mrz.optional_data.rstrip("<") == "ZE184226B"
    assert (mrz.primary_identifier, mrz.secondary_identifier) == ("ERIKSSON", "ANNA MARIA")


def test_cccd_td1() -> None:
    mrz = parse_dg1(_dg1(CCCD_TD1))
    assert mrz.check_digits_ok
    assert mrz.document_number == "058012345"
    assert mrz.cccd_id_number == "001058012345"
    assert mrz.date_of_expiry() is None  # '<<<<<<': no expiry
    assert mrz.full_name == "NGUYEN VAN AN" and mrz.sex is Sex.MALE


def test_compose_td1_reproduces_the_cccd_layout() -> None:
    composed = compose_td1(
        document_code="ID", issuing_state="VNM", document_number="058012345", optional_data="001058012345",
        date_of_birth="580702", sex_code="M", date_of_expiry="<<<<<<", nationality="VNM", optional_data_2="",
        primary_identifier="NGUYỄN", secondary_identifier="VĂN AN",
    )  # fmt: skip
    assert composed == CCCD_TD1


def test_transliteration_of_vietnamese() -> None:
    assert transliterate("ĐỖ VĂN MINH") == "DO<VAN<MINH"
    assert transliterate("Nguyễn Thị Ánh") == "NGUYEN<THI<ANH"


def test_td1_long_document_number() -> None:
    # ICAO 9303-5 note j: number continues in the optional data, check digit after it.
    number = "D231458907AB"
    cd = check_digit(number)
    line1 = ("I<UTO" + number[:9] + "<" + number[9:] + cd + "<").ljust(30, "<")
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    mrz = parse_mrz(line1 + line2 + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
    assert mrz.document_number == number and mrz.check_digits_ok


def test_wrong_check_digit_is_flagged_not_fatal() -> None:
    broken = TD1_SPECIMEN[:14] + "8" + TD1_SPECIMEN[15:]
    assert not parse_mrz(broken).check_digits_ok


def test_birth_century() -> None:
    mrz = parse_mrz(TD1_SPECIMEN.replace("740812", "100812").replace("7408122", "1008121"))
    assert mrz.date_of_birth(today=date(2025, 1, 1)) == date(2010, 8, 12)
    assert mrz.date_of_birth(today=date(2009, 1, 1)) == date(1910, 8, 12)


@pytest.mark.parametrize(
    "data",
    [
        _dg1("TOO<SHORT"),
        _dg1(TD1_SPECIMEN.lower()),
        tlv.encode(0x61, tlv.encode(0x5F1F, "Ñ".encode() * 45)),
        tlv.encode(0x61, tlv.encode(0x5F20, TD1_SPECIMEN.encode())),
        tlv.encode(0x62, tlv.encode(0x5F1F, TD1_SPECIMEN.encode())),
        _dg1(TD1_SPECIMEN)[:-3],
    ],
)
def test_malformed_dg1(data: bytes) -> None:
    with pytest.raises(MalformedDataError):
        parse_dg1(data)


def test_ef_com() -> None:
    # ICAO 9303-11 Appendix D.4: the EF.COM read in the worked example.
    com = parse_ef_com(bytes.fromhex("60145F0104303130365F36063034303030305C026175"))
    assert com == EfCom("0106", "040000", (0x61, 0x75))
    assert com.has_data_group(2) and not com.has_data_group(13)


# -- DG13 ---------------------------------------------------------------------------------


def _utf8(text: str) -> bytes:
    return tlv.encode(0x0C, text.encode())


def _printable(text: str) -> bytes:
    return tlv.encode(0x13, text.encode())


def _entry(number: int, *values: bytes) -> bytes:
    return tlv.encode(0x30, tlv.encode(0x02, bytes([number])) + b"".join(values))


def _dg13(*entries: bytes, oid: bytes = bytes.fromhex("0603550403")) -> bytes:
    body = tlv.encode(0x02, b"\x01") + oid + tlv.encode(0x31, b"".join(entries))
    return tlv.encode(0x6D, tlv.encode(0x30, body))


FULL = [
    _entry(1, _printable("079190004567")),
    _entry(2, _utf8("TRẦN THỊ BÌNH")),
    _entry(3, _printable("20/11/1990")),
    _entry(4, _utf8("Nữ")),
    _entry(5, _utf8("Việt Nam")),
    _entry(6, _utf8("Kinh")),
    _entry(7, _utf8("Phật giáo")),
    _entry(8, _utf8("Phường 5, Quận 3, TP. Hồ Chí Minh")),
    _entry(9, _utf8("45/7 Nguyễn Đình Chiểu")),
    _entry(10, _utf8("Sẹo chấm C:1cm")),
    _entry(11, _printable("10/05/2021")),
    _entry(12, _utf8("20/11/2030")),
    _entry(13, tlv.encode(0x30, _utf8("TRẦN VĂN HÙNG")), tlv.encode(0x30, _utf8("VÕ THỊ LAN"))),
    bytes.fromhex("300302010E"),  # spouse: none
    _entry(15, _printable("025123456")),
]


def test_dg13_all_fields() -> None:
    d = parse_dg13(_dg13(*FULL))
    assert d.id_number == "079190004567"
    assert d.full_name == "TRẦN THỊ BÌNH"
    assert d.date_of_birth == date(1990, 11, 20)
    assert Sex.from_vietnamese(d.sex_text or "") is Sex.FEMALE
    assert (d.nationality, d.ethnicity, d.religion) == ("Việt Nam", "Kinh", "Phật giáo")
    assert d.place_of_residence == "45/7 Nguyễn Đình Chiểu"
    assert d.date_of_issue == date(2021, 5, 10)
    assert d.date_of_expiry_text == "20/11/2030"
    assert (d.father_name, d.mother_name, d.spouse_name) == ("TRẦN VĂN HÙNG", "VÕ THỊ LAN", None)
    assert d.old_id_number == "025123456"
    assert "BÌNH" not in repr(d)


def test_dg13_is_read_by_field_number_not_position() -> None:
    shuffled = list(reversed(FULL))
    assert parse_dg13(_dg13(*shuffled)) == parse_dg13(_dg13(*FULL))


def test_dg13_parents_in_one_sequence() -> None:
    entry = _entry(13, tlv.encode(0x30, _utf8("TRẦN VĂN HÙNG") + _utf8("VÕ THỊ LAN")))
    d = parse_dg13(_dg13(entry))
    assert (d.father_name, d.mother_name) == ("TRẦN VĂN HÙNG", "VÕ THỊ LAN")


def test_dg13_parent_unknown() -> None:
    two = parse_dg13(_dg13(_entry(13, tlv.encode(0x30, b""), tlv.encode(0x30, _utf8("VÕ THỊ LAN")))))
    assert (two.father_name, two.mother_name) == (None, "VÕ THỊ LAN")
    one = parse_dg13(_dg13(_entry(13, tlv.encode(0x30, _utf8("") + _utf8("VÕ THỊ LAN")))))
    assert (one.father_name, one.mother_name) == (None, "VÕ THỊ LAN")


def test_dg13_spouse_present() -> None:
    d = parse_dg13(_dg13(_entry(14, tlv.encode(0x30, _utf8("ĐỖ VĂN MINH")))))
    assert d.spouse_name == "ĐỖ VĂN MINH"


def test_dg13_missing_fields_are_none() -> None:
    d = parse_dg13(_dg13(FULL[0], FULL[1]))
    assert d.id_number == "079190004567"
    assert d.place_of_residence is None and d.date_of_birth is None and d.father_name is None
    assert d.old_id_number is None
    empty = parse_dg13(_dg13())
    assert empty.id_number is None and empty.full_name is None


def test_dg13_old_id_in_field_16() -> None:
    assert parse_dg13(_dg13(_entry(16, _printable("025123456")))).old_id_number == "025123456"
    # Field 15 wins when both look like an old ID; the current ID is never taken for one.
    d = parse_dg13(_dg13(FULL[0], _entry(15, _printable("111111111")), _entry(16, _printable("222222222"))))
    assert d.old_id_number == "111111111"
    assert parse_dg13(_dg13(FULL[0], _entry(16, _printable("079190004567")))).old_id_number is None


def test_dg13_normalises_decomposed_text() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "NGUYỄN")
    assert parse_dg13(_dg13(_entry(2, _utf8(decomposed)))).full_name == "NGUYỄN"


def test_dg13_entries_directly_in_the_outer_sequence() -> None:
    body = tlv.encode(0x02, b"\x01") + FULL[0] + FULL[1]
    d = parse_dg13(tlv.encode(0x6D, tlv.encode(0x30, body)))
    assert d.full_name == "TRẦN THỊ BÌNH"


@pytest.mark.parametrize(
    "data",
    [
        _dg13(*FULL)[:-5],  # truncated
        tlv.encode(0x6E, tlv.encode(0x30, b"")),  # not DG13
        tlv.encode(0x6D, tlv.encode(0x02, b"\x01")),  # no SEQUENCE
        _dg13(tlv.encode(0x30, _utf8("no number"))),  # entry without its field number
        _dg13(_entry(2, tlv.encode(0x0C, b"\xff\xfe"))),  # invalid UTF-8
        _dg13(*FULL) + b"\x00",  # trailing byte
    ],
)
def test_malformed_dg13(data: bytes) -> None:
    with pytest.raises(MalformedDataError):
        parse_dg13(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20/11/1990", date(1990, 11, 20)),
        ("2/7/1958", date(1958, 7, 2)),
        ("20-11-1990", date(1990, 11, 20)),
        ("1990-11-20", date(1990, 11, 20)),
        ("20111990", date(1990, 11, 20)),
        ("19901120", date(1990, 11, 20)),
        ("1990", None),
        ("Không thời hạn", None),
        ("31/02/1990", None),
        ("", None),
        (None, None),
    ],
)
def test_vietnamese_dates(text: str | None, expected: date | None) -> None:
    assert parse_vietnamese_date(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_dg13_garbage_raises_only_malformed_data_error(data: bytes) -> None:
    try:
        parse_dg13(data)
    except MalformedDataError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_dg13_corruption_raises_only_malformed_data_error(data: st.DataObject) -> None:
    raw = bytearray(_dg13(*FULL))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        parse_dg13(bytes(raw))
    except MalformedDataError:
        pass


# -- DG2 ------------------------------------------------------------------------------------


def _image(fmt: str, size: tuple[int, int] = (48, 64)) -> bytes:
    img = Image.new("RGB", size, (200, 120, 90))
    out = io.BytesIO()
    img.save(out, format=fmt)
    return out.getvalue()


def _record(image: bytes, image_type: int, feature_points: int = 0) -> bytes:
    facial_info = (20 + 8 * feature_points + 12 + len(image)).to_bytes(4, "big") + feature_points.to_bytes(2, "big")
    facial_info += bytes(14)
    points = bytes(8 * feature_points)
    image_info = bytes([1, image_type]) + (48).to_bytes(2, "big") + (64).to_bytes(2, "big") + bytes(6)
    block = facial_info + points + image_info + image
    return b"FAC\x00010\x00" + (14 + len(block)).to_bytes(4, "big") + b"\x00\x01" + block


def _dg2(block: bytes, tag: int = 0x5F2E) -> bytes:
    header = tlv.encode(0xA1, tlv.encode(0x81, b"\x02"))
    template = tlv.encode(0x7F60, header + tlv.encode(tag, block))
    return tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01") + template))


def _is_png(data: bytes, size: tuple[int, int] = (48, 64)) -> bool:
    with Image.open(io.BytesIO(data)) as img:
        return img.format == "PNG" and img.size == size


def test_dg2_jpeg_to_png() -> None:
    jpeg = _image("JPEG")
    faces = parse_dg2(_dg2(_record(jpeg, 0, feature_points=2)))
    assert len(faces) == 1 and faces[0].image_type is ImageType.JPEG and faces[0].data == jpeg
    assert (faces[0].width, faces[0].height) == (48, 64)
    assert _is_png(face_png(_dg2(_record(jpeg, 0))))


def test_dg2_jpeg2000_to_png() -> None:
    jp2 = _image("JPEG2000")
    face = parse_dg2(_dg2(_record(jp2, 1)))[0]
    assert face.image_type is ImageType.JPEG2000
    assert _is_png(to_png(face))


def test_dg2_the_bytes_decide_the_image_type() -> None:
    jp2 = _image("JPEG2000")
    assert parse_dg2(_dg2(_record(jp2, 0)))[0].image_type is ImageType.JPEG2000


def test_dg2_enciphered_tag_and_odd_records_fall_back_to_the_signature() -> None:
    jpeg = _image("JPEG")
    assert parse_dg2(_dg2(b"\x01\x02" + jpeg, tag=0x7F2E))[0].data == jpeg
    assert parse_facial_record(b"junk" + jpeg).data == jpeg


@pytest.mark.parametrize(
    "data",
    [
        _dg2(b"FAC\x00010\x00" + bytes(10)),  # headers cut short
        _dg2(_record(b"not an image at all", 0)),
        _dg2(b"no image here"),
        tlv.encode(0x75, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01"))),  # no template
        _dg2(_record(_image("JPEG"), 0))[:-10],
    ],
)
def test_malformed_dg2(data: bytes) -> None:
    with pytest.raises(MalformedDataError):
        face_png(data)


def test_undecodable_image_is_malformed() -> None:
    jpeg = bytearray(_image("JPEG"))
    broken = bytes(jpeg[:40])  # a JPEG header and nothing else
    with pytest.raises(MalformedDataError, match="does not decode"):
        face_png(_dg2(_record(broken, 0)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_dg2_garbage_raises_only_malformed_data_error(data: bytes) -> None:
    try:
        face_png(_dg2(data))
    except MalformedDataError:
        pass
    try:
        face_png(data)
    except MalformedDataError:
        pass


# A corrupted header may claim a huge image: Pillow warns when opening it,
# then to_png refuses it (MAX_PIXELS) with MalformedDataError.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["JPEG", "JPEG2000"]), st.data())
def test_corrupted_images_raise_only_malformed_data_error(fmt: str, data: st.DataObject) -> None:
    image = bytearray(_image(fmt))
    for _ in range(data.draw(st.integers(1, 6))):
        image[data.draw(st.integers(0, len(image) - 1))] = data.draw(st.integers(0, 255))
    try:
        png = face_png(_dg2(_record(bytes(image), 0 if fmt == "JPEG" else 1)))
    except MalformedDataError:
        return
    assert png.startswith(b"\x89PNG")  # corruption the decoder tolerated: still a PNG
