"""What a health-insurance (BHYT) check means for the patient in front of the kiosk.

The social-security gateway answers `KQNhanLichSuKCB2024` with a three-digit
`maKetQua` (DOMAIN.md §2). This module turns that answer into an
`InsuranceCheck`: a status the flow can branch on, and a message in plain
Vietnamese and English that says what to do next. It also holds the two
insurance rules the hub applies at registration (the visit category
MA_DOITUONG_KCB and the amount the patient still pays), so the real hub and the
in-memory simulation cannot disagree.

Pure standard library: no I/O, no HTTP. The gateway client lives in the hub.

Two rules shape every message:
- A problem on the hospital's side (officer not registered, authentication,
  gateway errors, our own malformed request) is never presented as the
  patient's fault: those map to UNAVAILABLE and say "staff will check".
- Nobody is turned away: an expired or missing card still lets the patient be
  seen as a fee-paying patient, and every message says where to go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from kiosk.domain import InsuranceCheck, InsuranceStatus, VisitType

# The result code used when the gateway could not be asked at all (network
# down, timeout, garbage answer). It is deliberately not a three-digit code so
# it can never be confused with a real maKetQua.
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Outcome:
    status: InsuranceStatus
    message_vi: str
    message_en: str


_NOT_YOUR_FAULT_VI = "Đây không phải lỗi của bạn; nhân viên tại quầy tiếp đón sẽ kiểm tra thẻ BHYT giúp bạn."
_NOT_YOUR_FAULT_EN = "This is not your fault; staff at the reception desk will check your insurance for you."

_FEE_PAYING_VI = "Bạn vẫn được khám theo hình thức dịch vụ (tự chi trả)."
_FEE_PAYING_EN = "You can still be seen as a fee-paying patient."


def _config_problem(what_vi: str, what_en: str) -> Outcome:
    return Outcome(
        InsuranceStatus.UNAVAILABLE,
        f"Chưa kiểm tra được thẻ BHYT: {what_vi}. {_NOT_YOUR_FAULT_VI}",
        f"Your insurance could not be checked: {what_en}. {_NOT_YOUR_FAULT_EN}",
    )


_REDUCED = Outcome(
    InsuranceStatus.SEE_DESK,
    "Thẻ BHYT đã bị báo giảm (quá trình tham gia bảo hiểm qua đơn vị cũ đã dừng). "
    "Vui lòng đến quầy tiếp đón; nếu bạn đang tham gia BHYT ở nơi khác, hãy liên hệ cơ quan BHXH để được cấp thẻ. "
    + _FEE_PAYING_VI,
    "This card has been reported as ended by the employer or fund that paid for it. "
    "Please go to the reception desk; if you are now insured elsewhere, ask the social-security office for your card. "
    + _FEE_PAYING_EN,
)

# Every maKetQua listed in DOMAIN.md §2, with what it means for the patient.
_OUTCOMES: dict[str, Outcome] = {
    "000": Outcome(
        InsuranceStatus.VALID,
        "Thẻ BHYT hợp lệ. Lần khám này được hưởng quyền lợi bảo hiểm y tế.",
        "Your health insurance card is valid. Your insurance covers this visit.",
    ),
    # Cards of the armed forces and the police are run by their own social
    # security funds; the civil gateway cannot confirm them, a person can.
    "001": Outcome(
        InsuranceStatus.SEE_DESK,
        "Thẻ BHYT của bạn do BHXH Bộ Quốc phòng quản lý, máy không kiểm tra được loại thẻ này. "
        "Vui lòng mang thẻ đến quầy tiếp đón để được xác nhận.",
        "Your card is managed by the Ministry of Defence social security fund, which the kiosk cannot check. "
        "Please take the card to the reception desk.",
    ),
    "002": Outcome(
        InsuranceStatus.SEE_DESK,
        "Thẻ BHYT của bạn do BHXH Bộ Công an quản lý, máy không kiểm tra được loại thẻ này. "
        "Vui lòng mang thẻ đến quầy tiếp đón để được xác nhận.",
        "Your card is managed by the Ministry of Public Security social security fund, which the kiosk cannot check. "
        "Please take the card to the reception desk.",
    ),
    "003": Outcome(
        InsuranceStatus.VALID_NEW_CARD,
        "Thẻ cũ đã hết hạn nhưng bạn đã được cấp thẻ BHYT mới; lần khám này được tính theo thẻ mới. "
        "Lần sau vui lòng mang thẻ mới hoặc dùng ứng dụng VNeID.",
        "Your old card has expired, but a new insurance card has been issued and this visit uses it. "
        "Next time, please bring the new card or use the VNeID app.",
    ),
    "004": Outcome(
        InsuranceStatus.VALID_NEW_CARD,
        "Bạn đã được cấp thẻ BHYT mới; lần khám này được tính theo thẻ mới. "
        "Bạn có thể nhận thẻ mới tại cơ quan BHXH hoặc dùng ứng dụng VNeID.",
        "A new insurance card has been issued to you and this visit uses it. "
        "You can collect it at the social-security office or use the VNeID app.",
    ),
    "010": Outcome(
        InsuranceStatus.EXPIRED,
        f"Thẻ BHYT đã hết hạn sử dụng. {_FEE_PAYING_VI} "
        "Vui lòng gia hạn thẻ tại cơ quan BHXH hoặc đại lý thu BHYT.",
        f"Your insurance card has expired. {_FEE_PAYING_EN} "
        "Please renew it at the social-security office or an insurance agent.",
    ),
    "050": Outcome(
        InsuranceStatus.NOT_FOUND,
        f"Không tìm thấy thông tin thẻ BHYT của bạn. {_FEE_PAYING_VI} "
        "Nếu bạn có thẻ BHYT, vui lòng mang thẻ đến quầy tiếp đón.",
        f"No insurance card was found for you. {_FEE_PAYING_EN} "
        "If you do have an insurance card, please take it to the reception desk.",
    ),
    "051": Outcome(
        InsuranceStatus.SEE_DESK,
        "Mã thẻ BHYT không đúng. Vui lòng mang thẻ BHYT hoặc thẻ CCCD đến quầy tiếp đón để kiểm tra lại.",
        "The insurance card number was not recognised. Please take your insurance or ID card to the reception desk.",
    ),
    "052": Outcome(
        InsuranceStatus.SEE_DESK,
        "Mã tỉnh trên thẻ BHYT không khớp với dữ liệu BHXH. Vui lòng mang thẻ đến quầy tiếp đón để kiểm tra lại.",
        "The province code on your card does not match the records. Please take the card to the reception desk.",
    ),
    "053": Outcome(
        InsuranceStatus.SEE_DESK,
        "Mã quyền lợi trên thẻ BHYT không khớp với dữ liệu BHXH. Vui lòng mang thẻ đến quầy tiếp đón để kiểm tra lại.",
        "The benefit code on your card does not match the records. Please take the card to the reception desk.",
    ),
    # 054/055 concern the hospital officer on whose behalf the kiosk asks
    # (hoTenCb/cccdCb): a setting of the hospital, not of the patient.
    "054": _config_problem("cán bộ tra cứu của bệnh viện chưa được đăng ký với BHXH", "the hospital's registered officer is not known to social security"),
    "055": _config_problem("tên cán bộ tra cứu của bệnh viện không khớp", "the hospital's officer name does not match"),
    "060": Outcome(
        InsuranceStatus.DATA_MISMATCH,
        "Họ tên không khớp với dữ liệu thẻ BHYT. Vui lòng đến quầy tiếp đón để nhân viên đối chiếu thông tin.",
        "Your name does not match the insurance records. Please go to the reception desk so staff can compare the details.",
    ),
    "061": Outcome(
        InsuranceStatus.DATA_MISMATCH,
        "Họ tên gần đúng với dữ liệu thẻ BHYT (đúng chữ cái đầu) nhưng chưa khớp hoàn toàn. "
        "Vui lòng đến quầy tiếp đón để nhân viên đối chiếu thông tin.",
        "Your name is close to the insurance records (the initials match) but not the same. "
        "Please go to the reception desk so staff can compare the details.",
    ),
    "070": Outcome(
        InsuranceStatus.DATA_MISMATCH,
        "Ngày sinh không khớp với dữ liệu thẻ BHYT. Vui lòng đến quầy tiếp đón để nhân viên đối chiếu thông tin.",
        "Your date of birth does not match the insurance records. Please go to the reception desk so staff can compare the details.",
    ),
    "100": _config_problem("hệ thống BHXH gặp lỗi khi đọc dữ liệu thẻ", "the social-security card register could not be read"),
    "101": _config_problem("máy chủ BHXH đang gặp sự cố", "the social-security server reported an error"),
    "110": Outcome(
        InsuranceStatus.SEE_DESK,
        f"Thẻ BHYT này đã bị thu hồi. Vui lòng đến quầy tiếp đón. {_FEE_PAYING_VI}",
        f"This insurance card has been withdrawn. Please go to the reception desk. {_FEE_PAYING_EN}",
    ),
    # 120–124 are all "card reduced" with different reasons (DOMAIN.md §2
    # lists them as one group); the gateway's ghiChu carries the detail for
    # the desk, the patient needs the same advice for each.
    "120": _REDUCED,
    "121": _REDUCED,
    "122": _REDUCED,
    "123": _REDUCED,
    "124": _REDUCED,
    # Children under 6 are insured by law even before their card is issued;
    # the desk registers them with the birth certificate.
    "130": Outcome(
        InsuranceStatus.SEE_DESK,
        "Trẻ em dưới 6 tuổi chưa có thẻ BHYT vẫn được hưởng BHYT. "
        "Vui lòng mang giấy khai sinh hoặc giấy chứng sinh của trẻ đến quầy tiếp đón.",
        "Children under 6 are insured even without a card. "
        "Please take the child's birth certificate to the reception desk.",
    ),
    # 205: the request we sent was malformed - our bug or a card that could not
    # be read properly, never something the patient did.
    "205": _config_problem("dữ liệu gửi đến BHXH sai định dạng", "the request to social security was malformed"),
    "401": _config_problem("bệnh viện chưa đăng nhập được vào cổng BHXH", "the hospital could not log in to the social-security gateway"),
}

_UNREACHABLE = Outcome(
    InsuranceStatus.UNAVAILABLE,
    "Hiện chưa kết nối được cổng BHXH. Bạn vẫn được cấp số thứ tự; nhân viên tại quầy tiếp đón sẽ kiểm tra thẻ BHYT sau.",
    "The social-security gateway cannot be reached right now. You still get your number; staff at the desk will check your insurance.",
)

# Read-only view for callers that want to enumerate the codes (tests, the
# simulated gateway's test cards).
RESULT_CODES: tuple[str, ...] = tuple(sorted(_OUTCOMES))


def outcome(result_code: str) -> Outcome:
    """The status and patient message for a maKetQua; unknown codes go to the desk."""
    code = normalise_code(result_code)
    if code == UNREACHABLE:
        return _UNREACHABLE
    known = _OUTCOMES.get(code)
    if known is not None:
        return known
    return Outcome(
        InsuranceStatus.SEE_DESK,
        f"Chưa xác định được kết quả kiểm tra thẻ BHYT (mã {code or 'trống'}). "
        "Vui lòng đến quầy tiếp đón để nhân viên kiểm tra.",
        f"The insurance check returned an unexpected result (code {code or 'empty'}). "
        "Please go to the reception desk so staff can check it.",
    )


def normalise_code(value: Any) -> str:
    """"0" / 0 / " 000 " -> "000". Gateways have been seen to send numbers."""
    if value is None:
        return ""
    text = str(value).strip()
    if text.isdigit() and len(text) < 3:
        return text.zfill(3)
    return text


def parse_gateway_date(value: Any) -> date | None:
    """dd/mm/yyyy as the gateway writes gtTheTu/gtTheDen; None when absent or unreadable.

    An unreadable date must not stop the check-in: the status still stands and
    the desk sees the raw answer.
    """
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", value)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def interpret(payload: dict[str, Any]) -> InsuranceCheck:
    """Map a KQNhanLichSuKCB2024 answer (the JSON object) to an InsuranceCheck.

    Never raises on odd input: a missing or unknown maKetQua sends the patient
    to the desk with an explanation.
    """
    if not isinstance(payload, dict):
        payload = {}
    code = normalise_code(payload.get("maKetQua"))
    result = outcome(code)

    card_code = _text(payload, "maThe")
    facility = _text(payload, "maDKBD")
    valid_from = parse_gateway_date(payload.get("gtTheTu"))
    valid_to = parse_gateway_date(payload.get("gtTheDen"))

    # 003 (old card expired) and 004 (old still valid): a new card exists and
    # the visit is recorded against it, so its code, dates and registered
    # facility are the ones the check-in table needs. Fall back to the old
    # card's fields when the gateway leaves the new ones out.
    if code in ("003", "004"):
        card_code = _text(payload, "maTheMoi") or card_code
        facility = _text(payload, "maDKBDMoi") or facility
        valid_from = parse_gateway_date(payload.get("gtTheTuMoi")) or valid_from
        valid_to = parse_gateway_date(payload.get("gtTheDenMoi")) or valid_to

    return InsuranceCheck(
        result_code=code,
        status=result.status,
        message_vi=result.message_vi,
        message_en=result.message_en,
        card_code=card_code,
        registered_facility=facility,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def unreachable() -> InsuranceCheck:
    """The answer when the gateway could not be asked: the visit goes on."""
    return InsuranceCheck(
        result_code=UNREACHABLE,
        status=_UNREACHABLE.status,
        message_vi=_UNREACHABLE.message_vi,
        message_en=_UNREACHABLE.message_en,
    )


# -- rules applied at registration -------------------------------------------

# MA_LOAI_KCB: what kind of visit (Decision 4750). Kiosks only register
# outpatient examinations.
OUTPATIENT_EXAM = "01"

# MA_DOITUONG_KCB values (DOMAIN.md §3).
REGISTERED_FACILITY = "1.1"
REFERRAL = "1.3"
RE_EXAM_AFTER_REFERRAL = "1.5"
# DOMAIN.md names wrong-route visits "3.x" without listing the sub-codes; the
# kiosk only meets the plain outpatient case, so it records "3.1" and the
# desk, which sees every wrong-route patient anyway, corrects it if needed.
WRONG_ROUTE = "3.1"

# The third character of a 15-character BHYT code is the benefit level (mức
# hưởng): the share of the insured price the fund pays.
_BENEFIT_PERCENT = {"1": 100, "2": 100, "3": 95, "4": 80, "5": 100}
# When the code is missing or unusual, assume the most common level (80 %):
# the patient may pay a little too much, which the cashier refunds, rather
# than being told a smaller amount than they owe.
_DEFAULT_BENEFIT_PERCENT = 80


def benefit_percent(card_code: str | None) -> int:
    """Share of the insured price the fund pays, from the card code."""
    if card_code and len(card_code) == 15:
        return _BENEFIT_PERCENT.get(card_code[2], _DEFAULT_BENEFIT_PERCENT)
    return _DEFAULT_BENEFIT_PERCENT


def visit_category(
    insurance: InsuranceCheck | None,
    visit_type: VisitType,
    paper_number: str | None,
    hospital_code: str,
) -> str | None:
    """MA_DOITUONG_KCB for an outpatient visit, or None for a fee-paying one.

    - registered at this hospital (maDKBD == our MA_CSKCB) -> 1.1, whatever
      the visit type: the patient is on their own facility's route;
    - otherwise a referral paper -> 1.3, a re-exam paper -> 1.5;
    - otherwise the patient came on their own: wrong route (3.x).
    Not covered (expired, not found, unchecked...) -> None: the visit is not
    an insured one until the desk says so.
    """
    if insurance is None or not insurance.status.covered:
        return None
    if insurance.registered_facility and insurance.registered_facility.strip() == hospital_code.strip():
        return REGISTERED_FACILITY
    has_paper = bool(paper_number and paper_number.strip())
    if has_paper and visit_type is VisitType.REFERRAL:
        return REFERRAL
    if has_paper and visit_type is VisitType.RE_EXAM:
        return RE_EXAM_AFTER_REFERRAL
    return WRONG_ROUTE


def amount_due(
    insurance: InsuranceCheck | None,
    category: str | None,
    price: int,
    insured_price: int,
) -> int:
    """VND the patient pays for the service at check-in.

    Rule (documented for the cashier):
    - an insured visit on the right route (1.1, 1.3, 1.5) pays the service
      price minus the fund's share of the insured price, i.e. the co-payment
      on the insured price plus any difference when the service costs more
      than the insured price (an on-demand consultation);
    - everything else (fee-paying, expired, not yet checked, and wrong route,
      which the fund does not pay for outpatient visits at this level) pays
      the full service price; the desk refunds if it later confirms coverage.
    """
    if category in (REGISTERED_FACILITY, REFERRAL, RE_EXAM_AFTER_REFERRAL) and insurance is not None:
        fund_pays = insured_price * benefit_percent(insurance.card_code) // 100
        return max(0, price - fund_pays)
    return price
