"""What a QR code shown to the kiosk camera says.

`parse_qr(text)` classifies the decoded text of one QR code and parses it into
one of the result classes below, or raises `kiosk.errors.QrRejected` with a
reason that is safe to log (it never quotes the payload: QR codes carry
personal data). Pure standard library: the camera and the decoder live in
`drivers.camera`; this module only sees text.

Formats recognised
==================

CCCD front QR (`CccdQr`), printed on the chip ID card::

    ID12|CMND9|Full name|ddmmyyyy(birth)|Nam or Nữ|Address|ddmmyyyy(issue)[|...]

7 fields or more (some cards append empty fields, 11 in all; extra fields are
ignored). CMND may be empty. The ID is checked against the birth date and sex
it encodes (Circular 07/2016/TT-BCA art. 7): digits 1-3 province of birth
registration, digit 4 century and sex (0/1 = male/female born 1900-1999, 2/3
2000-2099, 4/5 2100-2199, and so on), digits 5-6 the last two digits of the
birth year, digits 7-12 a serial number.

BHYT health-insurance card QR (`BhytQr`), on the card and in the VssID app.
No public specification; the layout below comes from readers in open-source
hospital software and from decoded real cards, and the parser is written so
that a variant with fewer trailing fields still parses::

    0  card code: 15 chars (2 letters, benefit level, province, 10-digit
       social-security number; cards before 2025) or the 10-digit
       social-security number alone (new cards)
    1  full name, hex of UTF-8
    2  date of birth, dd/mm/yyyy, or yyyy when only the year is known
    3  sex: 1 male, 2 female
    4  address, hex of UTF-8 ("-" when absent)
    5  registered facility (MA_DKBD) as "PP - FFF" (province, facility)
    6  valid from, dd/mm/yyyy
    7  valid to, dd/mm/yyyy or "-" (open-ended)
    8  date of issue
    9  management code (mã quản lý), kept as text
    10 parent or guardian name for young children, hex of UTF-8, or "-"
    11 (meaning unconfirmed; not interpreted)
    12 date from which 5 continuous years are reached (*unconfirmed*; one
       source names it the start of high-cost-service benefits)
    13 check string (chuỗi kiểm tra)
    14 (meaning unconfirmed; not interpreted)
    15 issuing social-security office, hex of UTF-8 (*unconfirmed*)
    .. a final "$" field ends the code

VietQR payment code (`VietQr`), EMVCo merchant-presented QR as profiled by
NAPAS: two-digit tag, two-digit length, value; tag 38 holds the NAPAS GUID
A000000727 and the beneficiary bank BIN and account; tag 63 is a
CRC-16/CCITT-FALSE over everything before its value. `build_vietqr` writes a
dynamic one for the fee a patient has to pay.

VNeID app code (`VneidToken`). The payload format is not public and the code
is valid for about a minute, so the kiosk never reads personal data out of
it: the whole text is an opaque token for the configured verification
service. Only text that fully matches the configured pattern is accepted.
The default, `DEFAULT_VNEID_PATTERN`, is deliberately narrow: `VNEID:`
followed by 16-1024 base64url characters (the envelope our own VNeID
integration and the demo use). When the real format of a deployment's
verification service is known, configure its pattern; `None` turns VNeID
codes off.

Hub code (`HubCode`), printed by this hospital's hub on appointment slips
(giấy hẹn tái khám) and on referral papers it registered::

    VNKIOSK:APPT:<id>     re-examination appointment
    VNKIOSK:REF:<id>      referral (giấy chuyển tuyến)

<id> is 1-40 characters of A-Z, 0-9, "-" and ".", starting with a letter or
a digit. Everything is upper case so that the code fits QR alphanumeric mode
(denser, so a smaller symbol on a slip of paper). The hub resolves the id.

Anything else, including empty, garbled or binary data, is rejected.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from kiosk.domain import Citizen, Sex
from kiosk.errors import QrRejected

__all__ = [
    "DEFAULT_VNEID_PATTERN",
    "BhytQr",
    "CccdQr",
    "HubCode",
    "HubCodeKind",
    "QrPayload",
    "VietQr",
    "VneidToken",
    "build_vietqr",
    "crc16_ccitt_false",
    "parse_qr",
    "without_diacritics",
]

# The most characters a QR symbol can hold (version 40-L, alphanumeric mode).
# Longer text did not come from one QR code.
_MAX_QR_CHARS = 4296

_T = TypeVar("_T")

DEFAULT_VNEID_PATTERN = r"VNEID:[A-Za-z0-9_-]{16,1024}"

_DIGITS_9_OR_12 = re.compile(r"[0-9]{9}|[0-9]{12}")
_BHYT_CODE = re.compile(r"[A-Z]{2}[0-9]{13}|[0-9]{10}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_DDMMYYYY = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
_DD_MM_YYYY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_YYYY = re.compile(r"[0-9]{4}")
_FACILITY = re.compile(r"[0-9A-Z]{5}")
_HUB_CODE = re.compile(r"VNKIOSK:([A-Z]+):([A-Z0-9][A-Z0-9.-]{0,39})")
_BANK_BIN = re.compile(r"[0-9]{6}")
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,19}")

# NAPAS's application identifier in the EMVCo merchant account template.
_NAPAS_GUID = "A000000727"


# -- result classes -------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class CccdQr:
    """The front QR of a CCCD / Căn cước chip card."""

    id_number: str
    old_id_number: str | None
    full_name: str
    date_of_birth: date
    sex: Sex
    address: str
    date_of_issue: date

    def __repr__(self) -> str:  # personal data: never in logs
        return "CccdQr(<redacted>)"

    __str__ = __repr__

    def citizen(self) -> Citizen:
        return Citizen(
            id_number=self.id_number,
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            old_id_number=self.old_id_number,
            place_of_residence=self.address or None,
            date_of_issue=self.date_of_issue,
        )

    @classmethod
    def from_citizen(cls, citizen: Citizen) -> CccdQr:
        """The QR a card for `citizen` carries (simulator, tests)."""
        if citizen.date_of_birth is None or citizen.date_of_issue is None:
            raise ValueError("a CCCD QR needs the date of birth and the date of issue")
        return cls(
            id_number=citizen.id_number,
            old_id_number=citizen.old_id_number or None,
            full_name=citizen.full_name,
            date_of_birth=citizen.date_of_birth,
            sex=citizen.sex,
            address=citizen.place_of_residence or "",
            date_of_issue=citizen.date_of_issue,
        )

    def qr_text(self) -> str:
        """The text as the card encodes it; `parse_qr` reads it back."""
        return "|".join(
            [
                self.id_number,
                self.old_id_number or "",
                self.full_name,
                f"{self.date_of_birth:%d%m%Y}",
                self.sex.label_vi,
                self.address,
                f"{self.date_of_issue:%d%m%Y}",
            ]
        )


@dataclass(frozen=True, repr=False)
class BhytQr:
    """The QR of a BHYT health-insurance card (see the module docstring)."""

    card_code: str  # MA_THE_BHYT (maThe at the social-security gateway)
    full_name: str
    date_of_birth: date | None  # None when the card carries only the year
    birth_year: int
    sex: Sex
    address: str | None = None
    facility_code: str | None = None  # MA_DKBD, 5 chars
    valid_from: date | None = None  # GT_THE_TU
    valid_to: date | None = None  # GT_THE_DEN; None: open-ended or absent
    date_of_issue: date | None = None
    management_code: str | None = None
    guardian_name: str | None = None
    five_years_continuous_from: date | None = None  # *unconfirmed* meaning
    check_code: str | None = None
    issuing_office: str | None = None  # *unconfirmed* meaning

    def __repr__(self) -> str:  # personal data: never in logs
        return "BhytQr(<redacted>)"

    __str__ = __repr__

    def citizen(self) -> Citizen:
        """The holder as far as the insurance card describes them.

        A BHYT card carries no CCCD number, so `id_number` is empty: the card
        code travels beside it (`Identity.insurance_card_code`), and the
        social-security gateway accepts it in place of the ID.
        """
        return Citizen(
            id_number="",
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            place_of_residence=self.address,
        )

    @property
    def social_security_number(self) -> str:
        """The 10-digit mã số BHXH: the whole code on new cards, the tail on old."""
        return self.card_code[-10:]

    @property
    def benefit_level(self) -> int | None:
        """Mức hưởng (1-5) on 15-character codes; new cards do not print it."""
        return int(self.card_code[2]) if len(self.card_code) == 15 else None

    def qr_text(self) -> str:
        """The text in the layout above; fields not interpreted are "-"."""

        def dmy(d: date | None) -> str:
            return f"{d:%d/%m/%Y}" if d is not None else "-"

        def hexed(s: str | None) -> str:
            return s.encode("utf-8").hex() if s else "-"

        sex = {Sex.MALE: "1", Sex.FEMALE: "2"}.get(self.sex, "-")
        facility = f"{self.facility_code[:2]} - {self.facility_code[2:]}" if self.facility_code else "-"
        birth = dmy(self.date_of_birth) if self.date_of_birth else f"{self.birth_year:04d}"
        return "|".join(
            [
                self.card_code,
                hexed(self.full_name),
                birth,
                sex,
                hexed(self.address),
                facility,
                dmy(self.valid_from),
                dmy(self.valid_to),
                dmy(self.date_of_issue),
                self.management_code or "-",
                hexed(self.guardian_name),
                "-",
                dmy(self.five_years_continuous_from),
                self.check_code or "-",
                "-",
                hexed(self.issuing_office),
                "$",
            ]
        )


@dataclass(frozen=True)
class VietQr:
    """A VietQR (NAPAS EMVCo) payment code."""

    bank_bin: str  # 6 digits, the beneficiary bank (e.g. 970403)
    account: str  # account or card number
    service_code: str | None  # QRIBFTTA (to an account) or QRIBFTTC (to a card)
    amount: int | None  # VND; None when the payer types it
    currency: str | None  # ISO 4217 numeric, "704" for VND
    country: str | None
    purpose: str | None  # tag 62/08
    bill_number: str | None  # tag 62/01
    dynamic: bool  # tag 01 = "12": made for one payment
    crc_ok: bool  # a code with a bad CRC is still returned: the caller decides
    text: str  # the whole code, for showing it again


class HubCodeKind(enum.Enum):
    APPOINTMENT = "APPT"
    REFERRAL = "REF"


@dataclass(frozen=True)
class HubCode:
    kind: HubCodeKind
    id: str

    def qr_text(self) -> str:
        return f"VNKIOSK:{self.kind.value}:{self.id}"


@dataclass(frozen=True, repr=False)
class VneidToken:
    """An opaque VNeID code: only the verification service may read it."""

    token: str

    def __repr__(self) -> str:  # a live credential for about a minute
        return "VneidToken(<redacted>)"

    __str__ = __repr__


QrPayload = CccdQr | BhytQr | VietQr | VneidToken | HubCode


# -- classification --------------------------------------------------------------


def parse_qr(
    text: str,
    *,
    vneid_pattern: str | re.Pattern[str] | None = DEFAULT_VNEID_PATTERN,
) -> QrPayload:
    """Classify and parse the text of one QR code; raise `QrRejected` otherwise.

    `vneid_pattern` must match the whole (normalised) text of a VNeID code;
    `None` rejects all VNeID codes.
    """
    if not isinstance(text, str):
        raise QrRejected("the code is binary data, not text")
    # Decoders and OSes hand over Vietnamese in either normal form; fields are
    # compared and stored composed (NFC), the form the cards are printed in.
    text = unicodedata.normalize("NFC", text).strip().lstrip("\ufeff").strip()
    if not text:
        raise QrRejected("the code is empty")
    if len(text) > _MAX_QR_CHARS:
        raise QrRejected("the text is longer than any QR code can hold")
    _reject_binary(text)

    first = text.split("|", 1)[0].strip() if "|" in text else None
    # Card codes first: a CCCD number may itself begin "000201" (Hà Nội,
    # born 2001), and no VietQR has a "|" at position 10 or 12, which falls
    # inside its "01" (point of initiation) and "38" headers.
    if first is not None and re.fullmatch(r"[0-9]{12}", first):
        return _parse_cccd(text)
    if first is not None and _BHYT_CODE.fullmatch(first.upper()):
        return _parse_bhyt(text)
    if text.startswith("000201"):
        return _parse_vietqr(text)
    if text.startswith("VNKIOSK:"):
        return _parse_hub_code(text)
    if first is not None:
        raise QrRejected("a '|'-separated code whose first field is neither a CCCD number nor a BHYT card code")
    if vneid_pattern is not None and re.fullmatch(vneid_pattern, text):
        return VneidToken(text)
    raise QrRejected("not a CCCD, BHYT, VNeID, VietQR or hospital code")


def _reject_binary(text: str) -> None:
    for ch in text:
        category = unicodedata.category(ch)
        # Cc: control characters (binary payloads decoded as text); Cs: lone
        # surrogates (undecodable bytes smuggled through surrogateescape);
        # U+FFFD: a decoder already gave up on some bytes.
        if category in ("Cc", "Cs") or ch == "\ufffd":
            raise QrRejected("the code contains binary or undecodable data")


# -- CCCD -------------------------------------------------------------------------


def _parse_cccd(text: str) -> CccdQr:
    fields = [f.strip() for f in text.split("|")]
    if len(fields) < 7:
        raise QrRejected(f"a CCCD QR has at least 7 fields, this one has {len(fields)}")
    id_number, old_id, name, birth, sex_text, address, issue = fields[:7]

    if old_id and not _DIGITS_9_OR_12.fullmatch(old_id):
        raise QrRejected("CCCD QR: the old ID number is not 9 or 12 digits")
    full_name = _person_name(name, "CCCD QR: full name")
    date_of_birth = _ddmmyyyy(birth, "CCCD QR: date of birth")
    date_of_issue = _ddmmyyyy(issue, "CCCD QR: date of issue")
    sex = Sex.from_vietnamese(sex_text)
    if sex is Sex.UNDETERMINED:
        raise QrRejected("CCCD QR: the sex field is neither 'Nam' nor 'Nữ'")
    if date_of_issue < date_of_birth:
        raise QrRejected("CCCD QR: the date of issue is before the date of birth")
    _check_id_against_birth(id_number, date_of_birth, sex)

    return CccdQr(
        id_number=id_number,
        old_id_number=old_id or None,
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        address=" ".join(address.split()),
        date_of_issue=date_of_issue,
    )


def _check_id_against_birth(id_number: str, date_of_birth: date, sex: Sex) -> None:
    """Circular 07/2016/TT-BCA art. 7: digit 4 is century and sex, 5-6 the year."""
    code = int(id_number[3])
    century = 1900 + (code // 2) * 100
    encoded_sex = Sex.FEMALE if code % 2 else Sex.MALE
    if date_of_birth.year - date_of_birth.year % 100 != century:
        raise QrRejected("CCCD QR: the ID number's century digit does not match the date of birth")
    if date_of_birth.year % 100 != int(id_number[4:6]):
        raise QrRejected("CCCD QR: the ID number's birth-year digits do not match the date of birth")
    if encoded_sex is not sex:
        raise QrRejected("CCCD QR: the ID number's sex digit does not match the sex field")


# -- BHYT -------------------------------------------------------------------------


def _parse_bhyt(text: str) -> BhytQr:
    fields = [f.strip() for f in text.split("|")]
    if fields[-1] == "$":  # the terminator, not data
        fields.pop()
    if len(fields) < 4:
        raise QrRejected(f"a BHYT QR has at least 4 fields, this one has {len(fields)}")

    def field(i: int) -> str | None:
        # "-" is how the card writes "nothing here"; a short variant may stop early.
        value = fields[i] if i < len(fields) else ""
        return None if value in ("", "-") else value

    card_code = fields[0].upper()
    name = field(1)
    if name is None:
        raise QrRejected("BHYT QR: the name is missing")
    full_name = _person_name(_hex_or_text(name, "BHYT QR: full name"), "BHYT QR: full name")

    birth = field(2)
    if birth is None:
        raise QrRejected("BHYT QR: the date of birth is missing")
    if _YYYY.fullmatch(birth):
        date_of_birth, birth_year = None, int(birth)
        if birth_year < 1880:
            raise QrRejected("BHYT QR: the year of birth is not plausible")
    else:
        date_of_birth = _dd_mm_yyyy(birth, "BHYT QR: date of birth")
        birth_year = date_of_birth.year

    sex_text = field(3) or ""
    sex = {"1": Sex.MALE, "2": Sex.FEMALE}.get(sex_text) or Sex.from_vietnamese(sex_text)

    address_field = field(4)
    address = _hex_or_text(address_field, "BHYT QR: address") if address_field else None

    facility_field = field(5)
    facility_code = None
    if facility_field is not None:
        # Printed "01 - C54": province 01, facility C54 -> MA_DKBD "01C54".
        facility_code = re.sub(r"[\s-]", "", facility_field).upper()
        if not _FACILITY.fullmatch(facility_code):
            raise QrRejected("BHYT QR: the registered facility is not a 5-character code")

    return BhytQr(
        card_code=card_code,
        full_name=full_name,
        date_of_birth=date_of_birth,
        birth_year=birth_year,
        sex=sex,
        address=" ".join(address.split()) if address else None,
        facility_code=facility_code,
        valid_from=_optional_dd_mm_yyyy(field(6), "BHYT QR: valid-from date"),
        valid_to=_optional_dd_mm_yyyy(field(7), "BHYT QR: valid-to date"),
        date_of_issue=_optional_dd_mm_yyyy(field(8), "BHYT QR: date of issue"),
        management_code=field(9),
        guardian_name=_lenient(_guardian, field(10)),
        # Fields whose meaning is unconfirmed never reject a card: a variant
        # that uses the position differently only loses that field.
        five_years_continuous_from=_lenient(_optional_dd_mm_yyyy, field(12)),
        check_code=field(13),
        issuing_office=_lenient(_hex_or_text, field(15)),
    )


def _guardian(value: str, what: str) -> str:
    return _person_name(_hex_or_text(value, what), what)


def _lenient(parse: Callable[[str, str], _T | None], value: str | None) -> _T | None:
    if value is None:
        return None
    try:
        return parse(value, "")
    except QrRejected:
        return None


def _hex_or_text(value: str, what: str) -> str:
    """Decode a hex-of-UTF-8 field; accept plain text from variants that skip it.

    Plain Vietnamese text always has a space or a letter outside A-F, so a
    field made only of hex digit pairs is hex. Hex that is not UTF-8, or that
    hides control characters, is garbled and rejected.
    """
    if _HEX.fullmatch(value):
        try:
            decoded = bytes.fromhex(value).decode("utf-8")
        except UnicodeDecodeError:
            raise QrRejected(f"{what}: the hex does not encode UTF-8 text") from None
        decoded = unicodedata.normalize("NFC", decoded)
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in decoded):
            raise QrRejected(f"{what}: the hex encodes control characters")
        return decoded
    return value


# -- VietQR -------------------------------------------------------------------------


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR
    (EMVCo QRCPS-MPM §4.7.3). Check value for b"123456789" is 0x29B1."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _tlv(data: str, what: str) -> dict[str, str]:
    """EMVCo data objects: ID (2 digits), length (2 digits), value."""
    objects: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        tag, length = data[pos : pos + 2], data[pos + 2 : pos + 4]
        if not (re.fullmatch(r"[0-9]{2}", tag) and re.fullmatch(r"[0-9]{2}", length)):
            raise QrRejected(f"{what}: malformed data object header")
        end = pos + 4 + int(length)
        if end > len(data):
            raise QrRejected(f"{what}: a data object runs past the end")
        if tag in objects:
            raise QrRejected(f"{what}: data object {tag} appears twice")
        objects[tag] = data[pos + 4 : end]
        pos = end
    return objects


def _parse_vietqr(text: str) -> VietQr:
    top = _tlv(text, "VietQR")
    # EMVCo QRCPS-MPM §4.7.3: the CRC object comes last, over everything
    # before its value (so including its own ID and length "6304").
    if list(top)[-1] != "63":
        raise QrRejected("VietQR: the CRC object is missing or not last")
    crc_text = top["63"]
    if not re.fullmatch(r"[0-9A-Fa-f]{4}", crc_text):
        raise QrRejected("VietQR: the CRC is not 4 hex digits")
    crc_ok = crc16_ccitt_false(text[:-4].encode("utf-8")) == int(crc_text, 16)
    if top.get("00") != "01":
        raise QrRejected("VietQR: unknown payload format indicator")
    initiation = top.get("01")
    if initiation not in (None, "11", "12"):
        raise QrRejected("VietQR: unknown point-of-initiation method")

    account_info = None
    for tag in sorted(top):
        # IDs 26-51 are merchant account templates; NAPAS uses 38 but the
        # GUID, not the ID, says whose template it is.
        if "26" <= tag <= "51":
            template = _tlv(top[tag], "VietQR merchant account")
            if template.get("00", "").upper() == _NAPAS_GUID:
                account_info = template
                break
    if account_info is None:
        raise QrRejected("an EMVCo payment code that is not a VietQR (no NAPAS account template)")
    beneficiary = _tlv(account_info.get("01", ""), "VietQR beneficiary")
    bank_bin, account = beneficiary.get("00", ""), beneficiary.get("01", "")
    if not _BANK_BIN.fullmatch(bank_bin):
        raise QrRejected("VietQR: the bank BIN is not 6 digits")
    if not _ACCOUNT.fullmatch(account):
        raise QrRejected("VietQR: the account number is missing or malformed")

    amount = None
    if "54" in top:
        # VND has no minor unit: "180000" or "180000.00" are fine, "1.5" is not.
        match = re.fullmatch(r"([0-9]{1,13})(?:\.0*)?", top["54"])
        if match is None:
            raise QrRejected("VietQR: the amount is not a whole number of đồng")
        amount = int(match.group(1))

    extra = _tlv(top["62"], "VietQR additional data") if "62" in top else {}
    return VietQr(
        bank_bin=bank_bin,
        account=account,
        service_code=account_info.get("02"),
        amount=amount,
        currency=top.get("53"),
        country=top.get("58"),
        purpose=extra.get("08"),
        bill_number=extra.get("01"),
        dynamic=initiation == "12",
        crc_ok=crc_ok,
        text=text,
    )


def _data_object(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"EMVCo data object {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def build_vietqr(
    bank_bin: str,
    account: str,
    amount: int,
    purpose: str,
    *,
    bill_number: str | None = None,
    service_code: str = "QRIBFTTA",
) -> str:
    """A dynamic VietQR ("12": one payment, fixed amount) for the patient's banking app.

    `purpose` must be ASCII: banking apps show and reconcile the transfer
    note without diacritics (use `without_diacritics`). At most 25
    characters, the EMVCo limit for additional-data fields, as for
    `bill_number`.
    """
    if not _BANK_BIN.fullmatch(bank_bin):
        raise ValueError("bank_bin must be the 6-digit NAPAS BIN")
    if not _ACCOUNT.fullmatch(account):
        raise ValueError("account must be 1-19 letters or digits")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < 10**13:
        raise ValueError("amount must be a positive whole number of đồng")
    if service_code not in ("QRIBFTTA", "QRIBFTTC"):
        raise ValueError("service_code must be QRIBFTTA (account) or QRIBFTTC (card)")
    for name, value in (("purpose", purpose), ("bill_number", bill_number)):
        if value is not None and not re.fullmatch(r"[ -~]{1,25}", value):
            raise ValueError(f"{name} must be 1-25 printable ASCII characters")

    beneficiary = _data_object("00", bank_bin) + _data_object("01", account)
    account_info = (
        _data_object("00", _NAPAS_GUID) + _data_object("01", beneficiary) + _data_object("02", service_code)
    )
    extra = (_data_object("01", bill_number) if bill_number else "") + _data_object("08", purpose)
    body = (
        _data_object("00", "01")
        + _data_object("01", "12")
        + _data_object("38", account_info)
        + _data_object("53", "704")
        + _data_object("54", str(amount))
        + _data_object("58", "VN")
        + _data_object("62", extra)
        + "6304"
    )
    return body + f"{crc16_ccitt_false(body.encode('ascii')):04X}"


def without_diacritics(text: str) -> str:
    """"Thanh toán phí khám" -> "Thanh toan phi kham" (Đ/đ are letters, not marks)."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# -- hub codes ------------------------------------------------------------------------


def _parse_hub_code(text: str) -> HubCode:
    match = _HUB_CODE.fullmatch(text)
    if match is None:
        raise QrRejected("a hospital code (VNKIOSK:) with a malformed kind or id")
    try:
        kind = HubCodeKind(match.group(1))
    except ValueError:
        raise QrRejected("a hospital code (VNKIOSK:) of an unknown kind") from None
    return HubCode(kind, match.group(2))


# -- field helpers ----------------------------------------------------------------------


def _person_name(value: str, what: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise QrRejected(f"{what} is empty")
    if not any(c.isalpha() for c in name):
        raise QrRejected(f"{what} has no letters")
    if any(unicodedata.category(c) in ("Nd", "Cc", "Cs") for c in name):
        raise QrRejected(f"{what} contains digits or control characters")
    return name


def _real_date(year: int, month: int, day: int, what: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise QrRejected(f"{what} is not a real date") from None


def _ddmmyyyy(value: str, what: str) -> date:
    match = _DDMMYYYY.fullmatch(value)
    if match is None:
        raise QrRejected(f"{what} is not 8 digits ddmmyyyy")
    day, month, year = (int(g) for g in match.groups())
    return _real_date(year, month, day, what)


def _dd_mm_yyyy(value: str, what: str) -> date:
    match = _DD_MM_YYYY.fullmatch(value)
    if match is None:
        raise QrRejected(f"{what} is not dd/mm/yyyy")
    day, month, year = (int(g) for g in match.groups())
    return _real_date(year, month, day, what)


def _optional_dd_mm_yyyy(value: str | None, what: str) -> date | None:
    return None if value is None else _dd_mm_yyyy(value, what)
