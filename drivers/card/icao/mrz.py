"""Machine readable zone: check digits, BAC key input, TD1/TD2/TD3 parsing.

- Check digits: ICAO 9303-3 §4.9 (weights 7-3-1, '<' = 0, A-Z = 10-35).
- TD1 (ID cards, three lines of 30): ICAO 9303-5 §4.2.2; TD2 (two of 36):
  9303-6; TD3 (passports, two of 44): 9303-4 §4.2.2.
- MRZ_information for BAC: ICAO 9303-11 §9.7.2 / Appendix D.2: document
  number, date of birth and date of expiry, each with its check digit.

CCCD cards are TD1; their full 12-digit ID sits in the first 12 characters
of the optional data of line 1, and the document number is only its last 9
digits (DOMAIN.md §1).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date

from kiosk.domain import Sex
from kiosk.errors import MalformedDataError

FILLER = "<"
NO_DATE = FILLER * 6  # how a TD1 card without expiry encodes it (*unconfirmed* for CCCD)
_WEIGHTS = (7, 3, 1)


def _char_value(ch: str) -> int:
    if ch == FILLER:
        return 0
    if "0" <= ch <= "9":
        return ord(ch) - ord("0")
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    raise MalformedDataError(f"MRZ: character {ch!r} is not allowed")


def check_digit(field: str) -> str:
    """ICAO 9303-3 §4.9: weighted sum modulo 10, as a digit."""
    return str(sum(_char_value(ch) * _WEIGHTS[i % 3] for i, ch in enumerate(field)) % 10)


def _check(field: str, digit: str) -> bool:
    # A filler in the check-digit position is how ICAO encodes "no data"
    # (9303-3 §4.9: fields all '<' have check digit '<' or '0').
    if digit == FILLER:
        return set(field) <= {FILLER}
    return check_digit(field) == digit


def format_mrz_date(day: date | None) -> str:
    """YYMMDD, or six fillers for a date the document does not carry."""
    return NO_DATE if day is None else day.strftime("%y%m%d")


def mrz_information(document_number: str, date_of_birth: date, date_of_expiry: date | None) -> str:
    """The BAC key input (ICAO 9303-11 §9.7.2, Appendix D.2).

    A document number shorter than 9 characters is padded with '<'; a
    longer one is used whole (its check digit then covers all of it).
    """
    number = document_number.upper()
    if len(number) < 9:
        number = number.ljust(9, FILLER)
    dob = format_mrz_date(date_of_birth)
    expiry = format_mrz_date(date_of_expiry)
    return f"{number}{check_digit(number)}{dob}{check_digit(dob)}{expiry}{check_digit(expiry)}"


def bac_key_seed(mrz_info: str) -> bytes:
    """Kseed = the first 16 bytes of SHA-1(MRZ_information) (Appendix D.2)."""
    return hashlib.sha1(mrz_info.encode("ascii")).digest()[:16]


def transliterate(text: str) -> str:
    """Upper-case Latin letters only, as an MRZ carries names (9303-3 §6).

    Vietnamese names lose their diacritics; 'Đ' has no decomposition and
    maps to 'D' (9303-3 Table of transliterations). Anything else becomes '<'.
    """
    decomposed = unicodedata.normalize("NFD", text.upper().replace("Đ", "D").replace("đ", "D"))
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        out.append(ch if ("A" <= ch <= "Z" or "0" <= ch <= "9") else FILLER)
    return "".join(out)


def mrz_name(primary: str, secondary: str, width: int) -> str:
    """Name field: PRIMARY<<SECONDARY<NAMES, filled or truncated to `width`."""
    words = [transliterate(w) for w in secondary.split()]
    field = transliterate(primary).replace(FILLER, "") + FILLER * 2 + FILLER.join(words)
    return field[:width].ljust(width, FILLER)


@dataclass(frozen=True)
class Mrz:
    """A parsed MRZ. Dates stay as printed (YYMMDD) plus a parsed form."""

    format: str  # "TD1", "TD2" or "TD3"
    document_code: str
    issuing_state: str
    document_number: str
    optional_data: str  # TD1 line 1 optional data; TD3 personal number
    date_of_birth_text: str
    sex_code: str  # "M", "F", "<" or "X"
    date_of_expiry_text: str
    nationality: str
    optional_data_2: str  # TD1 line 2 optional data
    primary_identifier: str
    secondary_identifier: str
    check_digits_ok: bool

    def __repr__(self) -> str:  # personal data: never printed
        return f"Mrz(format={self.format}, check_digits_ok={self.check_digits_ok})"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.primary_identifier, self.secondary_identifier) if p)

    @property
    def sex(self) -> Sex:
        return {"M": Sex.MALE, "F": Sex.FEMALE}.get(self.sex_code, Sex.UNDETERMINED)

    def date_of_birth(self, today: date) -> date | None:
        """The birth date; the century is the latest that is not in the future."""
        parsed = _parse_yymmdd(self.date_of_birth_text, pivot_year=today.year)
        if parsed is not None and parsed > today:
            parsed = _replace_year(parsed, parsed.year - 100)
        return parsed

    def date_of_expiry(self) -> date | None:
        """The expiry date (2000s), None for '<<<<<<' (no expiry) or unreadable."""
        return _parse_yymmdd(self.date_of_expiry_text, pivot_year=2099)

    @property
    def cccd_id_number(self) -> str | None:
        """The 12-digit CCCD ID at the start of the TD1 optional data."""
        candidate = self.optional_data[:12]
        if self.format == "TD1" and len(candidate) == 12 and candidate.isdigit():
            return candidate
        return None


def _replace_year(day: date, year: int) -> date | None:
    try:
        return day.replace(year=year)
    except ValueError:
        return None


def _parse_yymmdd(text: str, pivot_year: int) -> date | None:
    """YYMMDD with the century that puts the year at or below `pivot_year`."""
    if len(text) != 6 or not text.isdigit():
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:6])
    year = pivot_year // 100 * 100 + yy
    if year > pivot_year:
        year -= 100
    try:
        return date(year, mm, dd)
    except ValueError:
        return None


def _split_name(field: str) -> tuple[str, str]:
    primary, _, secondary = field.partition(FILLER * 2)
    return (
        " ".join(primary.replace(FILLER, " ").split()),
        " ".join(secondary.replace(FILLER, " ").split()),
    )


def _validate_charset(text: str) -> None:
    for ch in text:
        _char_value(ch)


def parse_mrz(text: str) -> Mrz:
    """Parse the MRZ as DG1 stores it (lines concatenated, no newlines)."""
    mrz = "".join(text.split())  # tolerate line breaks from other sources
    _validate_charset(mrz)
    if len(mrz) == 90:
        return _parse_td1(mrz)
    if len(mrz) == 72:
        return _parse_td2(mrz)
    if len(mrz) == 88:
        return _parse_td3(mrz)
    raise MalformedDataError(f"MRZ of {len(mrz)} characters is not TD1 (90), TD2 (72) or TD3 (88)")


def _parse_td1(mrz: str) -> Mrz:
    l1, l2, l3 = mrz[:30], mrz[30:60], mrz[60:90]
    number, number_cd, optional = l1[5:14], l1[14], l1[15:30]
    if number_cd == FILLER and optional[:1] not in ("", FILLER):
        # ICAO 9303-5 (TD1 MRZ): a document number longer than 9
        # characters continues in the optional data; its check digit is the
        # last character of that continuation, followed by '<'.
        extension = optional.split(FILLER, 1)[0]
        number, number_cd = number + extension[:-1], extension[-1]
        optional = optional[len(extension) + 1 :]
    dob, dob_cd, sex, expiry, expiry_cd = l2[0:6], l2[6], l2[7], l2[8:14], l2[14]
    composite_ok = _check(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    ok = _check(number, number_cd) and _check(dob, dob_cd) and _check(expiry, expiry_cd) and composite_ok
    primary, secondary = _split_name(l3)
    return Mrz(
        format="TD1",
        document_code=l1[0:2].replace(FILLER, ""),
        issuing_state=l1[2:5].replace(FILLER, ""),
        document_number=number.rstrip(FILLER),
        optional_data=optional,
        date_of_birth_text=dob,
        sex_code=sex,
        date_of_expiry_text=expiry,
        nationality=l2[15:18].replace(FILLER, ""),
        optional_data_2=l2[18:29],
        primary_identifier=primary,
        secondary_identifier=secondary,
        check_digits_ok=ok,
    )


def _parse_two_line(mrz: str, width: int, fmt: str) -> Mrz:
    l1, l2 = mrz[:width], mrz[width:]
    number, number_cd = l2[0:9], l2[9]
    dob, dob_cd, sex, expiry, expiry_cd = l2[13:19], l2[19], l2[20], l2[21:27], l2[27]
    if fmt == "TD3":
        optional, optional_cd = l2[28:42], l2[42]
        optional_ok = _check(optional, optional_cd)
        composite_ok = _check(l2[0:10] + l2[13:20] + l2[21:43], l2[43])
    else:
        optional, optional_ok = l2[28:35], True
        composite_ok = _check(l2[0:10] + l2[13:20] + l2[21:35], l2[35])
    ok = (
        _check(number, number_cd)
        and _check(dob, dob_cd)
        and _check(expiry, expiry_cd)
        and optional_ok
        and composite_ok
    )
    primary, secondary = _split_name(l1[5:])
    return Mrz(
        format=fmt,
        document_code=l1[0:2].replace(FILLER, ""),
        issuing_state=l1[2:5].replace(FILLER, ""),
        document_number=number.rstrip(FILLER),
        optional_data=optional,
        date_of_birth_text=dob,
        sex_code=sex,
        date_of_expiry_text=expiry,
        nationality=l2[10:13].replace(FILLER, ""),
        optional_data_2="",
        primary_identifier=primary,
        secondary_identifier=secondary,
        check_digits_ok=ok,
    )


def _parse_td2(mrz: str) -> Mrz:
    return _parse_two_line(mrz, 36, "TD2")


def _parse_td3(mrz: str) -> Mrz:
    return _parse_two_line(mrz, 44, "TD3")


def compose_td1(
    *,
    document_code: str,
    issuing_state: str,
    document_number: str,
    optional_data: str,
    date_of_birth: str,
    sex_code: str,
    date_of_expiry: str,
    nationality: str,
    optional_data_2: str,
    primary_identifier: str,
    secondary_identifier: str,
) -> str:
    """A TD1 MRZ (90 characters) with every check digit computed (9303-5 §4.2.2).

    Used to personalise simulated cards. Document numbers longer than 9
    characters are not supported here (CCCD numbers are exactly 9).
    """
    if len(document_number) > 9:
        raise ValueError("compose_td1 supports document numbers of up to 9 characters")
    number = document_number.ljust(9, FILLER)
    l1 = (
        document_code.ljust(2, FILLER)[:2]
        + issuing_state.ljust(3, FILLER)[:3]
        + number
        + check_digit(number)
        + optional_data.ljust(15, FILLER)[:15]
    )
    dob_field = date_of_birth + check_digit(date_of_birth)
    expiry_field = date_of_expiry + check_digit(date_of_expiry)
    optional_2 = optional_data_2.ljust(11, FILLER)[:11]
    l2_body = dob_field + sex_code + expiry_field + nationality.ljust(3, FILLER)[:3] + optional_2
    composite = check_digit(l1[5:30] + dob_field + expiry_field + optional_2)
    l2 = l2_body + composite
    l3 = mrz_name(primary_identifier, secondary_identifier, 30)
    result = l1 + l2 + l3
    _validate_charset(result)
    return result
