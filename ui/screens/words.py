"""Plain words for the codes the flow carries.

The flow speaks in codes ("dg13", InsuranceStatus.EXPIRED); a patient needs
a sentence. The Vietnamese sentences are marked with QT_TRANSLATE_NOOP so
pyside6-lupdate collects them, and translated when shown, so a language
switch changes them too.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QT_TRANSLATE_NOOP

from kiosk.domain import Department, Identity, IdentitySource, InsuranceStatus, Sex, Verification, VisitType
from ui.i18n import LanguageSwitch, translate

# -- what the kiosk is doing (FlowState.progress) --------------------------------

_PROGRESS = {
    "connect": QT_TRANSLATE_NOOP("Progress", "Đang kết nối với thẻ..."),
    "select": QT_TRANSLATE_NOOP("Progress", "Đang mở ứng dụng trên chip..."),
    "pace": QT_TRANSLATE_NOOP("Progress", "Đang mở khóa chip an toàn..."),
    "bac": QT_TRANSLATE_NOOP("Progress", "Đang mở khóa chip an toàn..."),
    "com": QT_TRANSLATE_NOOP("Progress", "Đang đọc thông tin thẻ..."),
    "dg1": QT_TRANSLATE_NOOP("Progress", "Đang đọc thông tin thẻ..."),
    "dg13": QT_TRANSLATE_NOOP("Progress", "Đang đọc thông tin cá nhân..."),
    "dg2": QT_TRANSLATE_NOOP("Progress", "Đang đọc ảnh chân dung..."),
    "dg14": QT_TRANSLATE_NOOP("Progress", "Đang kiểm tra thẻ thật hay giả..."),
    "dg15": QT_TRANSLATE_NOOP("Progress", "Đang kiểm tra thẻ thật hay giả..."),
    "sod": QT_TRANSLATE_NOOP("Progress", "Đang kiểm tra thẻ thật hay giả..."),
    "ca": QT_TRANSLATE_NOOP("Progress", "Đang kiểm tra thẻ thật hay giả..."),
    "aa": QT_TRANSLATE_NOOP("Progress", "Đang kiểm tra thẻ thật hay giả..."),
    "verify": QT_TRANSLATE_NOOP("Progress", "Đang kiểm tra thẻ thật hay giả..."),
    "qr": QT_TRANSLATE_NOOP("Progress", "Đang đọc mã QR..."),
    "vneid": QT_TRANSLATE_NOOP("Progress", "Đang xác thực mã VNeID..."),
    "insurance": QT_TRANSLATE_NOOP("Progress", "Đang kiểm tra thẻ bảo hiểm y tế..."),
    "register": QT_TRANSLATE_NOOP("Progress", "Đang đăng ký lượt khám..."),
    "print": QT_TRANSLATE_NOOP("Progress", "Đang in phiếu số thứ tự..."),
}
_PROGRESS_DEFAULT = QT_TRANSLATE_NOOP("Progress", "Đang xử lý, vui lòng chờ...")
_CHIP_DEFAULT = QT_TRANSLATE_NOOP("Progress", "Đang đọc thẻ...")


def progress_text(code: str) -> str:
    key = code.strip().lower()
    if key in _PROGRESS:
        return translate("Progress", _PROGRESS[key])
    # Any other data group or chip step the reader reports ("dg11", "pace_gm")
    # is still "reading the card" to the patient.
    if key.startswith(("dg", "ef", "pace", "bac", "sm")):
        return translate("Progress", _CHIP_DEFAULT)
    return translate("Progress", _PROGRESS_DEFAULT)


# -- how far the identity is trusted ----------------------------------------------

_VERIFICATION = {
    Verification.GENUINE: (
        "success",
        QT_TRANSLATE_NOOP("Verification", "Thẻ thật: đã kiểm tra chữ ký số trên chip"),
    ),
    Verification.CHIP_READ: (
        "success",
        QT_TRANSLATE_NOOP("Verification", "Đã đọc chip trên thẻ CCCD"),
    ),
    Verification.NOT_VERIFIED: (
        "warning",
        QT_TRANSLATE_NOOP("Verification", "Chưa xác thực chip: nhân viên sẽ kiểm tra thẻ của bạn"),
    ),
    Verification.FORGED: (
        "danger",
        QT_TRANSLATE_NOOP("Verification", "Không xác thực được thẻ: vui lòng đến quầy tiếp đón"),
    ),
}


def verification_words(v: Verification) -> tuple[str, str]:
    """(tone, sentence)."""
    tone, text = _VERIFICATION[v]
    return tone, translate("Verification", text)


_VNEID_VERIFIED = QT_TRANSLATE_NOOP("Verification", "Đã xác thực qua ứng dụng VNeID")


def identity_words(identity: Identity) -> tuple[str, str]:
    """(tone, sentence) for how this identity was checked: a VNeID identity
    was vouched for by the identification service, not by a chip."""
    if identity.source is IdentitySource.VNEID and identity.verification is Verification.GENUINE:
        return "success", translate("Verification", _VNEID_VERIFIED)
    return verification_words(identity.verification)


# -- the insurance answer -----------------------------------------------------------

_INSURANCE = {
    InsuranceStatus.VALID: ("success", QT_TRANSLATE_NOOP("Insurance", "Thẻ bảo hiểm y tế hợp lệ")),
    InsuranceStatus.VALID_NEW_CARD: (
        "success",
        QT_TRANSLATE_NOOP("Insurance", "Thẻ bảo hiểm y tế hợp lệ (bạn đã có thẻ mới)"),
    ),
    InsuranceStatus.EXPIRED: ("danger", QT_TRANSLATE_NOOP("Insurance", "Thẻ bảo hiểm y tế đã hết hạn")),
    InsuranceStatus.NOT_FOUND: (
        "info",
        QT_TRANSLATE_NOOP("Insurance", "Không tìm thấy thẻ bảo hiểm y tế: khám dịch vụ"),
    ),
    InsuranceStatus.DATA_MISMATCH: (
        "warning",
        QT_TRANSLATE_NOOP("Insurance", "Thông tin bảo hiểm chưa khớp: cần kiểm tra tại quầy"),
    ),
    InsuranceStatus.SEE_DESK: ("warning", QT_TRANSLATE_NOOP("Insurance", "Bảo hiểm cần kiểm tra tại quầy")),
    InsuranceStatus.UNAVAILABLE: (
        "warning",
        QT_TRANSLATE_NOOP("Insurance", "Chưa kiểm tra được bảo hiểm: sẽ kiểm tra tại quầy"),
    ),
}


def insurance_words(status: InsuranceStatus) -> tuple[str, str]:
    """(tone, headline)."""
    tone, text = _INSURANCE[status]
    return tone, translate("Insurance", text)


# -- visit types -------------------------------------------------------------------------

_VISIT_TYPE = {
    VisitType.NEW: (
        QT_TRANSLATE_NOOP("VisitType", "Khám mới"),
        QT_TRANSLATE_NOOP("VisitType", "Lần đầu khám cho bệnh này"),
    ),
    VisitType.RE_EXAM: (
        QT_TRANSLATE_NOOP("VisitType", "Tái khám"),
        QT_TRANSLATE_NOOP("VisitType", "Bác sĩ đã hẹn bạn khám lại (có giấy hẹn)"),
    ),
    VisitType.REFERRAL: (
        QT_TRANSLATE_NOOP("VisitType", "Chuyển tuyến"),
        QT_TRANSLATE_NOOP("VisitType", "Có giấy chuyển tuyến từ bệnh viện hoặc trạm y tế khác"),
    ),
}


def visit_type_words(v: VisitType) -> tuple[str, str]:
    """(name, explanation)."""
    name, detail = _VISIT_TYPE[v]
    return translate("VisitType", name), translate("VisitType", detail)


def sex_words(sex: Sex, language: LanguageSwitch) -> str:
    return language.pick(sex.label_vi, sex.label_en)


# -- where to go ----------------------------------------------------------------------

# Reference data writes rooms and floors either bare ("101", "1") or with
# their word ("P.101", "Phòng 101", "Tầng 1"). The screens put the word in
# themselves, in the current language, so strip it from the data first: no
# "phòng P.101, tầng Tầng 1", and no Vietnamese floor word on an English screen.
_ROOM_WORD = re.compile(r"^\s*(?:phòng|phong|room|rm\.?|p\.|p(?=\d))\s*", re.IGNORECASE)
_FLOOR_WORD = re.compile(r"^\s*(?:tầng|tang|lầu|lau|floor|fl\.?)\s*", re.IGNORECASE)


def room_and_floor(dept: Department) -> tuple[str, str]:
    """The bare room and floor names of a department."""
    room = _ROOM_WORD.sub("", dept.room).strip() or dept.room.strip()
    floor = _FLOOR_WORD.sub("", dept.floor).strip() or dept.floor.strip()
    return room, floor
