"""The things a hospital check-in is about.

Everything here is plain data: no I/O, no Qt, no drivers. Field names follow
the domain; where a field maps onto the Decision 4750/QĐ-BYT check-in table the
column name is given beside it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

# Vietnam has one time zone and no daylight saving (UTC+7).
VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")


class Sex(enum.Enum):
    """GIOI_TINH in Decision 4750: 1 male, 2 female, 3 undetermined."""

    MALE = 1
    FEMALE = 2
    UNDETERMINED = 3

    @classmethod
    def from_vietnamese(cls, text: str) -> Sex:
        """Map the words printed on CCCD cards and QR codes ("Nam"/"Nữ")."""
        folded = text.strip().casefold()
        if folded in {"nam", "male", "m"}:
            return cls.MALE
        if folded in {"nữ", "nu", "female", "f"}:
            return cls.FEMALE
        return cls.UNDETERMINED

    @property
    def label_vi(self) -> str:
        return {Sex.MALE: "Nam", Sex.FEMALE: "Nữ", Sex.UNDETERMINED: "Khác"}[self]

    @property
    def label_en(self) -> str:
        return {Sex.MALE: "Male", Sex.FEMALE: "Female", Sex.UNDETERMINED: "Other"}[self]


@dataclass(frozen=True)
class Citizen:
    """A person as the CCCD card (chip DG13 or front QR) describes them."""

    id_number: str  # 12 digits (SO_CCCD)
    full_name: str  # HO_TEN, as printed: upper case with diacritics
    date_of_birth: date | None  # None when the card carries only a year we could not parse
    sex: Sex
    old_id_number: str | None = None  # 9-digit CMND, when the card carries it
    nationality: str | None = None
    ethnicity: str | None = None
    religion: str | None = None
    place_of_origin: str | None = None
    place_of_residence: str | None = None  # DIA_CHI
    identifying_marks: str | None = None
    date_of_issue: date | None = None
    date_of_expiry: str | None = None  # may be a phrase such as "Không thời hạn"
    father_name: str | None = None
    mother_name: str | None = None
    spouse_name: str | None = None
    # Face image from DG2, already converted to a format Qt can show (JPEG/PNG).
    photo: bytes | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never print personal data by accident (logs!)
        return "Citizen(<redacted>)"

    __str__ = __repr__

    @property
    def masked_name(self) -> str:
        """The name as a ticket shows it: family name whole, the rest initials.

        "NGUYỄN VĂN AN" -> "NGUYỄN V. A.". A ticket left on a bench must not
        name the patient, but they must still recognise it as theirs.
        """
        parts = self.full_name.split()
        if len(parts) <= 1:
            return self.full_name
        return " ".join([parts[0]] + [p[0] + "." for p in parts[1:]])


class IdentitySource(enum.Enum):
    CHIP = "chip"
    CCCD_QR = "cccd_qr"
    BHYT_QR = "bhyt_qr"
    VNEID = "vneid"
    TYPED = "typed"


class Verification(enum.Enum):
    """How far the kiosk trusts an identity."""

    GENUINE = "genuine"  # chip read and passive authentication succeeded
    CHIP_READ = "chip_read"  # chip read over secure messaging; signature not (yet) verifiable
    NOT_VERIFIED = "not_verified"  # only a printed QR or typed data: anyone could forge it
    FORGED = "forged"  # the chip data failed a cryptographic check


@dataclass(frozen=True)
class Identity:
    citizen: Citizen
    source: IdentitySource
    verification: Verification
    insurance_card_code: str | None = None  # MA_THE_BHYT, when a BHYT QR gave it
    verification_notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Identity(source={self.source.value}, verification={self.verification.value})"


class InsuranceStatus(enum.Enum):
    VALID = "valid"  # covered: the patient pays the co-payment only
    VALID_NEW_CARD = "valid_new_card"  # covered, but a new card has been issued
    EXPIRED = "expired"
    NOT_FOUND = "not_found"  # no card on record: fee-paying patient
    DATA_MISMATCH = "data_mismatch"  # name or birth date differ from the register
    SEE_DESK = "see_desk"  # needs a person: managed elsewhere, revoked, ...
    UNAVAILABLE = "unavailable"  # the gateway could not be asked

    @property
    def covered(self) -> bool:
        return self in (InsuranceStatus.VALID, InsuranceStatus.VALID_NEW_CARD)


@dataclass(frozen=True)
class InsuranceCheck:
    """The answer of the social-security gateway (KQNhanLichSuKCB2024), mapped."""

    result_code: str  # maKetQua, e.g. "000"
    status: InsuranceStatus
    message_vi: str
    message_en: str
    card_code: str | None = None  # maThe (MA_THE_BHYT)
    registered_facility: str | None = None  # maDKBD (MA_DKBD)
    valid_from: date | None = None  # gtTheTu (GT_THE_TU)
    valid_to: date | None = None  # gtTheDen (GT_THE_DEN)


class VisitType(enum.Enum):
    NEW = "new"  # first visit for this illness
    RE_EXAM = "re_exam"  # follow-up on an appointment (giấy hẹn tái khám)
    REFERRAL = "referral"  # sent by another facility (giấy chuyển tuyến)


@dataclass(frozen=True)
class Department:
    code: str
    name_vi: str
    name_en: str
    room: str  # bare, "101": screens and tickets add the word ("Phòng 101")
    floor: str  # bare, "1"
    queue_prefix: str  # letter printed before the number, e.g. "A" -> "A-012"


@dataclass(frozen=True)
class Service:
    code: str  # MA_DICH_VU
    department_code: str
    name_vi: str  # TEN_DICH_VU
    name_en: str
    price: int  # VND, fee-paying patients
    insured_price: int  # VND, the insurance-covered price


@dataclass(frozen=True)
class ReferenceData:
    departments: tuple[Department, ...]
    services: tuple[Service, ...]
    fetched_at: datetime | None = None  # when the kiosk last got it from the hub

    def department(self, code: str) -> Department:
        for d in self.departments:
            if d.code == code:
                return d
        raise KeyError(code)

    def service(self, code: str) -> Service:
        for s in self.services:
            if s.code == code:
                return s
        raise KeyError(code)

    def services_of(self, department_code: str) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.department_code == department_code)


@dataclass(frozen=True)
class Registration:
    """One visit a patient asked for at the kiosk.

    `key` is generated by the kiosk and is the idempotency key at the hub:
    sending the same registration twice must never make two visits.
    """

    key: str
    kiosk_id: str
    identity: Identity
    insurance: InsuranceCheck | None
    visit_type: VisitType
    department_code: str
    service_code: str
    created_at: datetime  # NGAY_VAO, aware
    paper_number: str | None = None  # GIAY_CHUYEN_TUYEN: referral or re-exam paper

    def __repr__(self) -> str:
        return f"Registration(key={self.key!r}, department={self.department_code!r})"


@dataclass(frozen=True)
class VisitPaper:
    """A re-exam appointment (XML14) or referral paper (XML13) recorded at the hub.

    Found at check-in by the patient's ID (or the slip's VNKIOSK QR code), it
    preselects the visit type, the paper number (GIAY_CHUYEN_TUYEN) and the
    department, so a returning patient has less to choose.
    """

    reference: str  # the hub's id, printed in the slip's QR (VNKIOSK:APPT:<ref>)
    visit_type: VisitType  # RE_EXAM for an appointment, REFERRAL for a referral
    paper_number: str  # SO_GIAYHEN_KL, or GIAY_CHUYEN_TUYEN / SO_CHUYENTUYEN
    department_code: str | None = None
    service_code: str | None = None
    appointment_date: date | None = None  # NGAY_HEN_KL
    from_facility: str | None = None  # MA_NOI_DI (referrals)


class NumberIssuer(enum.Enum):
    HUB = "hub"  # the shared queue, assigned atomically by the hub
    KIOSK = "kiosk"  # issued offline by this kiosk, kiosk-prefixed


@dataclass(frozen=True)
class HubReceipt:
    """What the hub answers to a registration."""

    registration_key: str
    queue_number: int
    display_number: str  # as printed, e.g. "A-012"
    episode_key: str  # MA_LK
    room: str
    estimated_wait_minutes: int
    amount_due: int  # VND the patient still has to pay at the cashier or by VietQR


@dataclass(frozen=True)
class QueueTicket:
    """The number a patient walks away with, and what the ticket says."""

    registration_key: str
    display_number: str
    issuer: NumberIssuer
    department: Department
    service: Service
    masked_name: str
    issued_at: datetime
    insurance_status: InsuranceStatus | None
    amount_due: int
    estimated_wait_minutes: int | None = None
    episode_key: str | None = None
