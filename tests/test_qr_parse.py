"""kiosk.qr: what each QR text means, and that nothing else gets through."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain import Sex
from kiosk.errors import QrRejected
from kiosk.qr import (
    DEFAULT_VNEID_PATTERN,
    BhytQr,
    CccdQr,
    HubCode,
    HubCodeKind,
    VietQr,
    VneidToken,
    build_vietqr,
    crc16_ccitt_false,
    parse_qr,
    without_diacritics,
)

CITIZENS_DIR = Path(__file__).resolve().parent.parent / "assets" / "citizens"
SAMPLE_CITIZENS = sorted(CITIZENS_DIR.glob("citizen-*.json"))

# DOMAIN.md §5, a known-good VietQR.
VIETQR_EXAMPLE = (
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA"
    "530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E"
)


def _ddmmyyyy(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d%m%Y")


def _cccd_text(c: dict) -> str:
    """The front QR as a card prints it, written out by hand from the format."""
    return "|".join(
        [
            c["id_number"],
            c["old_id_number"],
            c["full_name"],
            _ddmmyyyy(c["date_of_birth"]),
            c["sex"],
            c["place_of_residence"],
            _ddmmyyyy(c["date_of_issue"]),
        ]
    )


def _hex(s: str) -> str:
    return s.encode("utf-8").hex()


def _rejected(text: str, reason_pattern: str = "") -> QrRejected:
    with pytest.raises(QrRejected) as info:
        parse_qr(text)
    assert re.search(reason_pattern, info.value.reason), info.value.reason
    return info.value


# -- CCCD ----------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE_CITIZENS, ids=lambda p: p.stem)
def test_sample_citizen_cccd_qr_parses_to_their_data(path: Path) -> None:
    c = json.loads(path.read_text(encoding="utf-8"))
    qr = parse_qr(_cccd_text(c))

    assert isinstance(qr, CccdQr)
    assert qr.id_number == c["id_number"]
    assert qr.old_id_number == (c["old_id_number"] or None)
    assert qr.full_name == c["full_name"]
    assert qr.date_of_birth == date.fromisoformat(c["date_of_birth"])
    assert qr.sex is Sex.from_vietnamese(c["sex"])
    assert qr.address == c["place_of_residence"]
    assert qr.date_of_issue == date.fromisoformat(c["date_of_issue"])

    citizen = qr.citizen()
    assert citizen.id_number == c["id_number"]
    assert citizen.full_name == c["full_name"]
    assert citizen.date_of_birth == date.fromisoformat(c["date_of_birth"])
    assert citizen.place_of_residence == c["place_of_residence"]
    assert citizen.old_id_number == (c["old_id_number"] or None)
    # The QR the simulator shows for this citizen is the same text.
    assert CccdQr.from_citizen(citizen).qr_text() == _cccd_text(c)


NGUYEN = "001058012345|011234567|NGUYỄN VĂN AN|02071958|Nam|Số 12 Ngõ 45 Phố Hào Nam, Hà Nội|10042021"


def test_cccd_with_trailing_empty_fields_11_in_all() -> None:
    qr = parse_qr(NGUYEN + "||||")
    assert isinstance(qr, CccdQr)
    assert qr.full_name == "NGUYỄN VĂN AN"


def test_cccd_decomposed_vietnamese_is_composed() -> None:
    qr = parse_qr(unicodedata.normalize("NFD", NGUYEN))
    assert isinstance(qr, CccdQr)
    assert qr.full_name == "NGUYỄN VĂN AN"
    assert unicodedata.is_normalized("NFC", qr.address)
    assert qr.sex is Sex.MALE


def test_cccd_surrounding_whitespace_and_bom_are_ignored() -> None:
    assert isinstance(parse_qr("\ufeff" + NGUYEN + "\r\n"), CccdQr)


def test_cccd_empty_old_id_is_none_and_female_2000s() -> None:
    qr = parse_qr("079303004567||TRẦN THỊ BÌNH|20112003|Nữ|45/7 Nguyễn Đình Chiểu, TP. Hồ Chí Minh|10052021")
    assert isinstance(qr, CccdQr)
    assert qr.old_id_number is None
    assert qr.sex is Sex.FEMALE


def test_cccd_repr_hides_personal_data() -> None:
    qr = parse_qr(NGUYEN)
    assert "NGUYỄN" not in repr(qr) and "001058012345" not in str(qr)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # digit 4 = 2 says born 2000-2099, the date says 1958
        (NGUYEN.replace("001058", "001258", 1), "century"),
        # digits 5-6 = 59, the date says 1958
        (NGUYEN.replace("001058", "001059", 1), "birth-year"),
        # digit 4 = 1 says female, the sex field says Nam
        (NGUYEN.replace("001058", "001158", 1), "sex digit"),
        (NGUYEN.replace("|Nam|", "|Khác|"), "sex field"),
        (NGUYEN.replace("02071958", "31021958"), "date of birth is not a real date"),
        (NGUYEN.replace("02071958", "2/7/1958"), "date of birth is not 8 digits"),
        (NGUYEN.replace("10042021", "10132021"), "date of issue is not a real date"),
        (NGUYEN.replace("10042021", "01011950"), "issue is before"),
        (NGUYEN.replace("|011234567|", "|01123|"), "old ID"),
        (NGUYEN.replace("NGUYỄN VĂN AN", "NGUYỄN VĂN 4N"), "digits"),
        (NGUYEN.replace("NGUYỄN VĂN AN", "   "), "full name is empty"),
        ("|".join(NGUYEN.split("|")[:6]), "at least 7 fields"),
    ],
)
def test_cccd_inconsistent_or_malformed_is_rejected(text: str, reason: str) -> None:
    _rejected(text, reason)


# Hypothesis: CCCD QR strings built from their parts parse back to those parts.

_VI_LETTERS = "AĂÂBCDĐEÊGHIKLMNOÔƠPQRSTUƯVXYÁÀẢÃẠẮẰẲẴẶẤẦẨẪẬÉÈẺẼẸẾỀỂỄỆÍÌỈĨỊÓÒỎÕỌỐỒỔỖỘỚỜỞỠỢÚÙỦŨỤỨỪỬỮỰÝỲỶỸỴ"
_names = st.lists(st.text(alphabet=_VI_LETTERS, min_size=1, max_size=7), min_size=1, max_size=5).map(" ".join)
_addresses = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="|\ufffd"), max_size=80
)


@st.composite
def _cccd_parts(draw: st.DrawFn) -> dict:
    dob = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    sex = draw(st.sampled_from([Sex.MALE, Sex.FEMALE]))
    century_digit = (dob.year // 100 - 19) * 2 + (1 if sex is Sex.FEMALE else 0)
    province = draw(st.integers(0, 999))
    serial = draw(st.integers(0, 999_999))
    return {
        "id": f"{province:03d}{century_digit}{dob.year % 100:02d}{serial:06d}",
        "old": draw(st.one_of(st.just(""), st.from_regex(r"[0-9]{9}", fullmatch=True))),
        "name": draw(_names),
        "dob": dob,
        "sex": sex,
        "address": draw(_addresses),
        "issued": draw(st.dates(min_value=dob, max_value=date(2199, 12, 31))),
        "trailing": draw(st.integers(0, 4)),
    }


@given(_cccd_parts(), st.sampled_from(["NFC", "NFD"]))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_generated_cccd_qr_round_trips(parts: dict, form: str) -> None:
    text = "|".join(
        [
            parts["id"],
            parts["old"],
            parts["name"],
            f"{parts['dob']:%d%m%Y}",
            parts["sex"].label_vi,
            parts["address"],
            f"{parts['issued']:%d%m%Y}",
        ]
        + [""] * parts["trailing"]
    )
    qr = parse_qr(unicodedata.normalize(form, text))

    assert isinstance(qr, CccdQr)
    assert qr.id_number == parts["id"]
    assert qr.old_id_number == (parts["old"] or None)
    assert qr.full_name == unicodedata.normalize("NFC", parts["name"])
    assert qr.date_of_birth == parts["dob"]
    assert qr.sex is parts["sex"]
    assert qr.address == " ".join(unicodedata.normalize("NFC", parts["address"]).split())
    assert qr.date_of_issue == parts["issued"]
    assert parse_qr(qr.qr_text()) == qr


# -- BHYT ----------------------------------------------------------------------

# The 2021 card layout (see kiosk/qr.py), for sample citizen 2.
BHYT_FULL = "|".join(
    [
        "DN4797924004567",
        _hex("TRẦN THỊ BÌNH"),
        "20/11/1990",
        "2",
        _hex("45/7 Nguyễn Đình Chiểu, Phường Đa Kao, Quận 1, TP. Hồ Chí Minh"),
        "79 - 024",
        "01/01/2025",
        "31/12/2025",
        "15/12/2024",
        "79024004567",
        "-",
        "4",
        " 01/01/2027",
        "9a3f0c21b7d45e80-1203",
        "4",
        _hex("Bảo hiểm xã hội Quận 1, TP. Hồ Chí Minh"),
        "$",
    ]
)


def test_bhyt_full_layout() -> None:
    qr = parse_qr(BHYT_FULL)
    assert isinstance(qr, BhytQr)
    assert qr.card_code == "DN4797924004567"
    assert qr.social_security_number == "7924004567"
    assert qr.benefit_level == 4
    assert qr.full_name == "TRẦN THỊ BÌNH"
    assert qr.date_of_birth == date(1990, 11, 20)
    assert qr.birth_year == 1990
    assert qr.sex is Sex.FEMALE
    assert qr.address == "45/7 Nguyễn Đình Chiểu, Phường Đa Kao, Quận 1, TP. Hồ Chí Minh"
    assert qr.facility_code == "79024"
    assert qr.valid_from == date(2025, 1, 1)
    assert qr.valid_to == date(2025, 12, 31)
    assert qr.date_of_issue == date(2024, 12, 15)
    assert qr.management_code == "79024004567"
    assert qr.guardian_name is None
    assert qr.five_years_continuous_from == date(2027, 1, 1)
    assert qr.check_code == "9a3f0c21b7d45e80-1203"
    assert qr.issuing_office == "Bảo hiểm xã hội Quận 1, TP. Hồ Chí Minh"
    assert "TRẦN" not in repr(qr)


def test_bhyt_citizen_has_no_cccd_number() -> None:
    qr = parse_qr(BHYT_FULL)
    assert isinstance(qr, BhytQr)
    citizen = qr.citizen()
    assert citizen.id_number == ""
    assert citizen.full_name == "TRẦN THỊ BÌNH"
    assert citizen.date_of_birth == date(1990, 11, 20)
    assert citizen.sex is Sex.FEMALE
    assert citizen.place_of_residence == qr.address


def test_bhyt_new_10_digit_code_without_address_and_open_ended() -> None:
    text = f"0179240045|{_hex('Lê Hoàng Cường')}|14/02/2003|1|-|48 - C12|01/07/2023|-|31/07/2023|$"
    qr = parse_qr(text)
    assert isinstance(qr, BhytQr)
    assert qr.card_code == "0179240045"
    assert qr.social_security_number == "0179240045"
    assert qr.benefit_level is None
    assert qr.sex is Sex.MALE
    assert qr.address is None
    assert qr.facility_code == "48C12"
    assert qr.valid_to is None
    assert qr.five_years_continuous_from is None


def test_bhyt_short_variant_and_year_only_birth() -> None:
    qr = parse_qr(f"HT2010123456789|{_hex('NGUYỄN VĂN AN')}|1958|1")
    assert isinstance(qr, BhytQr)
    assert qr.date_of_birth is None
    assert qr.birth_year == 1958
    assert qr.facility_code is None and qr.valid_from is None


def test_bhyt_plain_text_name_variant_and_lowercase_code() -> None:
    qr = parse_qr("ht2010123456789|Nguyễn Văn An|02/07/1958|Nam|-|01 - 001|01/01/2025|-")
    assert isinstance(qr, BhytQr)
    assert qr.card_code == "HT2010123456789"
    assert qr.full_name == "Nguyễn Văn An"
    assert qr.sex is Sex.MALE


def test_bhyt_child_card_has_guardian_name() -> None:
    fields = BHYT_FULL.split("|")
    fields[10] = _hex("TRẦN VĂN HÙNG")
    qr = parse_qr("|".join(fields))
    assert isinstance(qr, BhytQr)
    assert qr.guardian_name == "TRẦN VĂN HÙNG"


def test_bhyt_unconfirmed_fields_never_reject_a_card() -> None:
    fields = BHYT_FULL.split("|")
    fields[12] = "K2"  # not a date: a variant uses the position differently
    fields[15] = "c3"  # not UTF-8 hex
    qr = parse_qr("|".join(fields))
    assert isinstance(qr, BhytQr)
    assert qr.five_years_continuous_from is None
    assert qr.issuing_office is None  # garbled hex is dropped, not guessed at


def test_bhyt_qr_text_round_trips() -> None:
    qr = parse_qr(BHYT_FULL)
    assert parse_qr(qr.qr_text()) == qr


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"HT2010123456789|-|02/07/1958|1", "name is missing"),
        (f"HT2010123456789|{_hex('AN')[:-2]}ff|02/07/1958|1", "not encode UTF-8"),
        (f"HT2010123456789|{_hex('AN')}|1958-07-02|1", "dd/mm/yyyy"),
        (f"HT2010123456789|{_hex('AN')}|30/02/1958|1", "not a real date"),
        (f"HT2010123456789|{_hex('AN')}|02/07/1958", "at least 4 fields"),
        (f"HT2010123456789|{_hex('AN')}|02/07/1958|1|-|hospital 7", "5-character"),
        (f"HT2010123456789|{_hex('AN')}|02/07/1958|1|-|-|99/99/2025", "valid-from"),
        (f"HT2010123456789|{_hex('A1')}|02/07/1958|1", "digits"),
        ("ABC|x|y|z", "neither a CCCD number nor a BHYT"),
    ],
)
def test_bhyt_malformed_is_rejected(text: str, reason: str) -> None:
    _rejected(text, reason)


# -- VietQR --------------------------------------------------------------------


def test_crc_check_value() -> None:
    # The catalogue check value of CRC-16/CCITT-FALSE.
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_vietqr_known_good_example() -> None:
    qr = parse_qr(VIETQR_EXAMPLE)
    assert isinstance(qr, VietQr)
    assert qr.crc_ok
    assert qr.bank_bin == "970403"
    assert qr.account == "0011012345678"
    assert qr.service_code == "QRIBFTTA"
    assert qr.amount == 180000
    assert qr.currency == "704" and qr.country == "VN"
    assert qr.bill_number == "NPS6869"
    assert qr.purpose == "thanh toan don hang"
    assert qr.dynamic
    assert crc16_ccitt_false(VIETQR_EXAMPLE[:-4].encode()) == 0x2E2E


def test_vietqr_tampered_amount_fails_crc_but_still_parses() -> None:
    tampered = VIETQR_EXAMPLE.replace("5406180000", "5406980000")
    qr = parse_qr(tampered)
    assert isinstance(qr, VietQr)
    assert not qr.crc_ok
    assert qr.amount == 980000


def test_vietqr_lowercase_crc_is_accepted() -> None:
    qr = parse_qr(VIETQR_EXAMPLE[:-4] + "2e2e")
    assert isinstance(qr, VietQr) and qr.crc_ok


def test_build_vietqr_reproduces_the_known_good_example() -> None:
    built = build_vietqr("970403", "0011012345678", 180000, "thanh toan don hang", bill_number="NPS6869")
    assert built == VIETQR_EXAMPLE


_purposes = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=25)


@given(
    bank_bin=st.from_regex(r"[0-9]{6}", fullmatch=True),
    account=st.from_regex(r"[0-9A-Za-z]{1,19}", fullmatch=True),
    amount=st.integers(1, 10**13 - 1),
    purpose=_purposes,
    bill=st.one_of(st.none(), _purposes),
)
@settings(max_examples=200)
def test_built_vietqr_parses_back(bank_bin: str, account: str, amount: int, purpose: str, bill: str | None) -> None:
    qr = parse_qr(build_vietqr(bank_bin, account, amount, purpose, bill_number=bill))
    assert isinstance(qr, VietQr)
    assert (qr.bank_bin, qr.account, qr.amount, qr.bill_number, qr.dynamic, qr.crc_ok) == (
        bank_bin,
        account,
        amount,
        bill,
        True,
        True,
    )
    assert qr.purpose == purpose


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("97040", "1", 1, "x"), "bank_bin"),
        (("970403", "", 1, "x"), "account"),
        (("970403", "12-34", 1, "x"), "account"),
        (("970403", "1", 0, "x"), "amount"),
        (("970403", "1", 1.5, "x"), "amount"),
        (("970403", "1", 1, "phí khám"), "purpose"),
        (("970403", "1", 1, "x" * 26), "purpose"),
    ],
)
def test_build_vietqr_rejects_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_vietqr(*args)


def test_without_diacritics() -> None:
    assert without_diacritics("Thanh toán phí khám Đống Đa") == "Thanh toan phi kham Dong Da"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (VIETQR_EXAMPLE[:-8], "CRC object is missing"),
        (VIETQR_EXAMPLE[:20], "runs past the end"),
        ("000201" + "38xx" + "6304ABCD", "malformed"),
        (VIETQR_EXAMPLE[:-4] + "ZZZZ", "4 hex digits"),
        # a card-scheme EMVCo code: merchant account template without NAPAS's GUID
        (build_vietqr("970403", "1", 1, "x").replace("A000000727", "A000000003")[:-4] + "0000", "not a VietQR"),
        ("000201000201" + VIETQR_EXAMPLE[6:], "appears twice"),
    ],
)
def test_vietqr_malformed_is_rejected(text: str, reason: str) -> None:
    _rejected(text, reason)


# -- hub codes and VNeID ------------------------------------------------------


def test_hub_codes() -> None:
    assert parse_qr("VNKIOSK:APPT:TK-2026-000123") == HubCode(HubCodeKind.APPOINTMENT, "TK-2026-000123")
    assert parse_qr("VNKIOSK:REF:79024.55") == HubCode(HubCodeKind.REFERRAL, "79024.55")
    assert HubCode(HubCodeKind.REFERRAL, "A1").qr_text() == "VNKIOSK:REF:A1"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("VNKIOSK:PAY:123", "unknown kind"),
        ("VNKIOSK:APPT:abc", "malformed"),
        ("VNKIOSK:APPT:", "malformed"),
        ("VNKIOSK:APPT:" + "1" * 41, "malformed"),
        ("VNKIOSK:APPT:-12", "malformed"),
    ],
)
def test_malformed_hub_codes_are_rejected(text: str, reason: str) -> None:
    _rejected(text, reason)


def test_vneid_default_pattern() -> None:
    token = "VNEID:" + "aZ09_-" * 5
    qr = parse_qr(token)
    assert qr == VneidToken(token)
    assert token not in repr(qr)
    assert re.fullmatch(DEFAULT_VNEID_PATTERN, token)
    _rejected("VNEID:short", "not a CCCD, BHYT, VNeID")
    _rejected("VNEID:" + "a" * 20 + "!", "not a CCCD, BHYT, VNeID")


def test_vneid_pattern_is_configurable_and_can_be_turned_off() -> None:
    custom = r"[A-F0-9]{32}"
    token = "0123456789ABCDEF" * 2
    assert parse_qr(token, vneid_pattern=custom) == VneidToken(token)
    assert parse_qr(token, vneid_pattern=re.compile(custom)) == VneidToken(token)
    with pytest.raises(QrRejected):
        parse_qr(token)  # not the default shape
    with pytest.raises(QrRejected):
        parse_qr("VNEID:" + "a" * 20, vneid_pattern=None)


def test_known_formats_win_over_a_broad_vneid_pattern() -> None:
    assert isinstance(parse_qr(NGUYEN, vneid_pattern=r".*"), CccdQr)
    with pytest.raises(QrRejected):  # a broken CCCD stays a broken CCCD
        parse_qr(NGUYEN.replace("001058", "001059", 1), vneid_pattern=r".*")


# -- everything else --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \r\n", "empty"),
        ("https://example.com/some/page", "not a CCCD"),
        ("WIFI:S:Guest;T:WPA;P:secret;;", "not a CCCD"),
        ("001058012345", "not a CCCD"),  # an ID number alone: typed entry, not a QR format
        ("\x00\x01\x02binary", "binary"),
        ("001058012345|\ufffd|x", "binary"),
        ("abc\udcff", "binary"),
        ("A" * 4297, "longer than any QR"),
    ],
)
def test_other_text_is_rejected(text: str, reason: str) -> None:
    error = _rejected(text, reason)
    assert error.code == "qr_rejected"


def test_non_text_is_rejected() -> None:
    with pytest.raises(QrRejected, match="binary"):
        parse_qr(b"001058012345|...")  # type: ignore[arg-type]


# Hypothesis: whatever the camera hands over, only QrRejected comes out.


def _parse_or_reject(text: str) -> None:
    try:
        parse_qr(text)
    except QrRejected as error:
        assert error.reason
        # Reasons go to logs: they must not quote the payload.
        if len(text.strip()) >= 20:
            assert text.strip() not in error.reason


_fields = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"[0-9]{12}", fullmatch=True),
    st.from_regex(r"[0-9]{8}", fullmatch=True),
    st.from_regex(r"[0-9a-f]{0,24}", fullmatch=True),
    st.from_regex(r"[0-9]{2}/[0-9]{2}/[0-9]{4}", fullmatch=True),
    st.sampled_from(["Nam", "Nữ", "-", "$", "1", "2", "", "01 - C54", "HS4010120878837", "0111077012"]),
)


@given(st.text(max_size=300))
@settings(max_examples=500)
def test_arbitrary_text_only_ever_raises_qr_rejected(text: str) -> None:
    _parse_or_reject(text)


@given(st.lists(_fields, min_size=1, max_size=18).map("|".join))
@settings(max_examples=500)
def test_pipe_separated_noise_only_ever_raises_qr_rejected(text: str) -> None:
    _parse_or_reject(text)


@given(st.text(alphabet="0123456789ABCDEFVNQRIBFT ", max_size=200))
@settings(max_examples=500)
def test_emvco_noise_only_ever_raises_qr_rejected(tail: str) -> None:
    _parse_or_reject("000201" + tail)
    _parse_or_reject(VIETQR_EXAMPLE[: len(tail) % len(VIETQR_EXAMPLE)] + tail)


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_binary_payloads_decoded_any_way_only_raise_qr_rejected(raw: bytes) -> None:
    _parse_or_reject(raw.decode("latin-1"))
    _parse_or_reject(raw.decode("utf-8", errors="surrogateescape"))
    _parse_or_reject(raw.decode("utf-8", errors="replace"))
