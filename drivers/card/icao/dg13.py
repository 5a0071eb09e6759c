"""DG13 of Vietnamese CCCD / Căn cước cards: the holder's details in Vietnamese.

DG13 is "optional details" in ICAO 9303-10, its content left to the issuer.
Vietnam stores one entry per field, each tagged with its field number
(layout in DOMAIN.md, "DG13 layout"):

    6D L
      30 L
        02 01 01            INTEGER 1
        06 ..               OID
        31 L                SET of entries
          30 L { 02 01 NN  value... }

Fields are found by number, never by position, and a missing field is
simply absent (2024 cards may leave some out). Field 13 (parents) comes in
two shapes and both are accepted; field 14 (spouse) is an empty entry when
there is none. Sources disagree whether the old 9-digit ID is field 15 or
16, so both are looked at.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from kiosk.errors import MalformedDataError

from . import tlv
from .lds import TAG_DG13

TAG_INTEGER = 0x02
TAG_OID = 0x06
TAG_SEQUENCE = 0x30
TAG_SET = 0x31
TAG_UTF8 = 0x0C
TAG_PRINTABLE = 0x13
TAG_T61 = 0x14
TAG_IA5 = 0x16
TAG_BMP = 0x1E
_STRING_TAGS = {TAG_UTF8, TAG_PRINTABLE, TAG_T61, TAG_IA5, TAG_BMP}

FIELD_ID = 1
FIELD_NAME = 2
FIELD_DATE_OF_BIRTH = 3
FIELD_SEX = 4
FIELD_NATIONALITY = 5
FIELD_ETHNICITY = 6
FIELD_RELIGION = 7
FIELD_PLACE_OF_ORIGIN = 8
FIELD_PLACE_OF_RESIDENCE = 9
FIELD_IDENTIFYING_MARKS = 10
FIELD_DATE_OF_ISSUE = 11
FIELD_DATE_OF_EXPIRY = 12
FIELD_PARENTS = 13
FIELD_SPOUSE = 14
FIELD_OLD_ID = 15
FIELD_UNKNOWN_16 = 16

_MAX_VALUE_DEPTH = 4  # entries nest a SEQUENCE or two; deeper is not DG13


@dataclass(frozen=True)
class Dg13:
    """The decoded fields. Text is NFC-normalised; absent fields are None."""

    id_number: str | None = None
    full_name: str | None = None
    date_of_birth_text: str | None = None
    sex_text: str | None = None
    nationality: str | None = None
    ethnicity: str | None = None
    religion: str | None = None
    place_of_origin: str | None = None
    place_of_residence: str | None = None
    identifying_marks: str | None = None
    date_of_issue_text: str | None = None
    date_of_expiry_text: str | None = None
    father_name: str | None = None
    mother_name: str | None = None
    spouse_name: str | None = None
    old_id_number: str | None = None
    # Every field as found: number -> its strings in order (for fields we
    # do not interpret, and for diagnosis). Never logged.
    raw_fields: Mapping[int, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:
        return f"Dg13(fields={sorted(self.raw_fields)})"

    @property
    def date_of_birth(self) -> date | None:
        return parse_vietnamese_date(self.date_of_birth_text)

    @property
    def date_of_issue(self) -> date | None:
        return parse_vietnamese_date(self.date_of_issue_text)


_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YMD = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})$")


def parse_vietnamese_date(text: str | None) -> date | None:
    """A date as cards and QR codes print it; None for year-only or unreadable.

    DG13 dates are dd/mm/yyyy on the cards seen so far (*unconfirmed*), so
    day-first forms are tried before year-first ones; eight digits are
    ddmmyyyy (the CCCD QR form) unless only yyyymmdd makes a valid date.
    """
    if not text:
        return None
    s = text.strip()
    candidates: list[tuple[int, int, int]] = []
    if m := _DMY.match(s):
        candidates.append((int(m[3]), int(m[2]), int(m[1])))
    elif m := _YMD.match(s):
        candidates.append((int(m[1]), int(m[2]), int(m[3])))
    elif len(s) == 8 and s.isdigit():
        candidates.append((int(s[4:]), int(s[2:4]), int(s[:2])))
        candidates.append((int(s[:4]), int(s[4:6]), int(s[6:])))
    for year, month, day in candidates:
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def _decode_string(obj: tlv.Tlv) -> str:
    raw = obj.value
    try:
        if obj.tag == TAG_UTF8:
            text = raw.decode("utf-8")
        elif obj.tag == TAG_BMP:
            text = raw.decode("utf-16-be")
        elif obj.tag == TAG_T61:
            text = raw.decode("latin-1")
        else:
            # PrintableString / IA5String should be ASCII; accept UTF-8 in
            # them rather than lose a field to a lax issuer.
            text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedDataError(f"DG13: string with tag {obj.tag:02X} does not decode") from None
    return unicodedata.normalize("NFC", text).strip()


def _strings(objects: Iterable[tlv.Tlv], depth: int = 0) -> list[str]:
    """Every string in `objects`, depth first, in order."""
    if depth > _MAX_VALUE_DEPTH:
        raise MalformedDataError("DG13: field value nested too deeply")
    out: list[str] = []
    for obj in objects:
        if obj.tag in _STRING_TAGS:
            out.append(_decode_string(obj))
        elif obj.tag in (TAG_SEQUENCE, TAG_SET):
            out.extend(_strings(obj.children(), depth + 1))
        # Other primitives (an INTEGER, a NULL) carry no text we use.
    return out


def _first_string(obj: tlv.Tlv) -> str | None:
    found = _strings([obj])
    return found[0] if found else None


def _parents(values: list[tlv.Tlv]) -> tuple[str | None, str | None]:
    """Field 13: two SEQUENCEs of one name each, or one SEQUENCE holding both."""
    sequences = [v for v in values if v.tag == TAG_SEQUENCE]
    if len(sequences) >= 2:
        return _first_string(sequences[0]) or None, _first_string(sequences[1]) or None
    names = _strings(values)
    father = names[0] if len(names) > 0 else None
    mother = names[1] if len(names) > 1 else None
    return father or None, mother or None


def _entries(dg13: tlv.Tlv) -> list[tlv.Tlv]:
    """The per-field SEQUENCEs, wherever the issuer put them."""
    body = dg13.children()
    container = next((c for c in body if c.tag == TAG_SEQUENCE), None)
    if container is None:
        raise MalformedDataError("DG13: no SEQUENCE inside tag 6D")
    entries: list[tlv.Tlv] = []
    for child in container.children():
        if child.tag == TAG_SET:
            entries.extend(c for c in child.children() if c.tag == TAG_SEQUENCE)
        elif child.tag == TAG_SEQUENCE:
            # Lenient: entries placed directly in the outer SEQUENCE.
            entries.append(child)
    return entries


def _field_number(entry: tlv.Tlv) -> tuple[int, list[tlv.Tlv]]:
    children = entry.children()
    if not children or children[0].tag != TAG_INTEGER or not 1 <= len(children[0].value) <= 2:
        raise MalformedDataError("DG13: an entry does not start with its field number")
    return int.from_bytes(children[0].value, "big"), children[1:]


def parse_dg13(data: bytes) -> Dg13:
    """Decode DG13; MalformedDataError when its structure is broken."""
    dg13 = tlv.parse_single(data, TAG_DG13)
    values: dict[int, list[tlv.Tlv]] = {}
    for entry in _entries(dg13):
        number, rest = _field_number(entry)
        values.setdefault(number, rest)  # first occurrence wins

    raw = {number: tuple(_strings(v)) for number, v in values.items()}

    def text(number: int) -> str | None:
        found = raw.get(number, ())
        return found[0] if found and found[0] else None

    father, mother = _parents(values.get(FIELD_PARENTS, []))
    return Dg13(
        id_number=text(FIELD_ID),
        full_name=text(FIELD_NAME),
        date_of_birth_text=text(FIELD_DATE_OF_BIRTH),
        sex_text=text(FIELD_SEX),
        nationality=text(FIELD_NATIONALITY),
        ethnicity=text(FIELD_ETHNICITY),
        religion=text(FIELD_RELIGION),
        place_of_origin=text(FIELD_PLACE_OF_ORIGIN),
        place_of_residence=text(FIELD_PLACE_OF_RESIDENCE),
        identifying_marks=text(FIELD_IDENTIFYING_MARKS),
        date_of_issue_text=text(FIELD_DATE_OF_ISSUE),
        date_of_expiry_text=text(FIELD_DATE_OF_EXPIRY),
        father_name=father,
        mother_name=mother,
        spouse_name=text(FIELD_SPOUSE),
        old_id_number=_old_id(raw, text(FIELD_ID)),
        raw_fields=MappingProxyType(raw),
    )


def _old_id(raw: Mapping[int, tuple[str, ...]], id_number: str | None) -> str | None:
    # DOMAIN.md: the old CMND number is field 15 or 16 depending on the
    # source. Take the first that looks like one (9 digits, or the 12-digit
    # CMND issued 2012-2016) and is not the current ID repeated.
    for number in (FIELD_OLD_ID, FIELD_UNKNOWN_16):
        for value in raw.get(number, ()):
            if value.isdigit() and len(value) in (9, 12) and value != id_number:
                return value
    return None
