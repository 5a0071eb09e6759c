"""kiosk.insurance: every gateway result code, the dates, and the registration rules."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk import insurance
from kiosk.domain import InsuranceCheck, InsuranceStatus, VisitType

# Every maKetQua DOMAIN.md §2 lists, with the status a patient should meet.
EXPECTED = {
    "000": InsuranceStatus.VALID,
    "001": InsuranceStatus.SEE_DESK,
    "002": InsuranceStatus.SEE_DESK,
    "003": InsuranceStatus.VALID_NEW_CARD,
    "004": InsuranceStatus.VALID_NEW_CARD,
    "010": InsuranceStatus.EXPIRED,
    "050": InsuranceStatus.NOT_FOUND,
    "051": InsuranceStatus.SEE_DESK,
    "052": InsuranceStatus.SEE_DESK,
    "053": InsuranceStatus.SEE_DESK,
    "054": InsuranceStatus.UNAVAILABLE,
    "055": InsuranceStatus.UNAVAILABLE,
    "060": InsuranceStatus.DATA_MISMATCH,
    "061": InsuranceStatus.DATA_MISMATCH,
    "070": InsuranceStatus.DATA_MISMATCH,
    "100": InsuranceStatus.UNAVAILABLE,
    "101": InsuranceStatus.UNAVAILABLE,
    "110": InsuranceStatus.SEE_DESK,
    "120": InsuranceStatus.SEE_DESK,
    "121": InsuranceStatus.SEE_DESK,
    "122": InsuranceStatus.SEE_DESK,
    "123": InsuranceStatus.SEE_DESK,
    "124": InsuranceStatus.SEE_DESK,
    "130": InsuranceStatus.SEE_DESK,
    "205": InsuranceStatus.UNAVAILABLE,
    "401": InsuranceStatus.UNAVAILABLE,
}


def test_every_domain_code_is_known() -> None:
    assert set(insurance.RESULT_CODES) == set(EXPECTED)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_code_maps_to_its_status_with_guidance(code: str) -> None:
    result = insurance.interpret({"maKetQua": code})
    assert result.result_code == code
    assert result.status is EXPECTED[code]
    assert len(result.message_vi) > 30 and len(result.message_en) > 30
    assert result.message_vi != result.message_en


@pytest.mark.parametrize("code", ["054", "055", "100", "101", "205", "401"])
def test_hospital_side_problems_never_blame_the_patient(code: str) -> None:
    result = insurance.interpret({"maKetQua": code})
    assert "không phải lỗi của bạn" in result.message_vi
    assert "not your fault" in result.message_en


def test_expired_card_still_lets_the_patient_be_seen_and_says_where_to_renew() -> None:
    result = insurance.interpret({"maKetQua": "010"})
    assert "dịch vụ" in result.message_vi and "gia hạn" in result.message_vi
    assert "fee-paying" in result.message_en and "renew" in result.message_en


def test_valid_answer_parses_card_fields_and_dd_mm_yyyy_dates() -> None:
    result = insurance.interpret(
        {
            "maKetQua": "000",
            "maThe": "HT2010123456789",
            "maDKBD": "01001",
            "gtTheTu": "01/01/2026",
            "gtTheDen": "31/12/2026",
        }
    )
    assert result == InsuranceCheck(
        result_code="000",
        status=InsuranceStatus.VALID,
        message_vi=result.message_vi,
        message_en=result.message_en,
        card_code="HT2010123456789",
        registered_facility="01001",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )


@pytest.mark.parametrize("code", ["003", "004"])
def test_new_card_fields_win_when_a_new_card_was_issued(code: str) -> None:
    result = insurance.interpret(
        {
            "maKetQua": code,
            "maThe": "DN4797924004567",
            "maDKBD": "79024",
            "gtTheTu": "01/01/2025",
            "gtTheDen": "31/12/2025",
            "maTheMoi": "GD4017924004567",
            "maDKBDMoi": "01001",
            "gtTheTuMoi": "01/01/2026",
            "gtTheDenMoi": "31/12/2026",
        }
    )
    assert result.status is InsuranceStatus.VALID_NEW_CARD
    assert result.card_code == "GD4017924004567"
    assert result.registered_facility == "01001"
    assert (result.valid_from, result.valid_to) == (date(2026, 1, 1), date(2026, 12, 31))


def test_new_card_falls_back_to_old_fields_when_new_ones_are_missing() -> None:
    result = insurance.interpret({"maKetQua": "004", "maThe": "DN4797924004567", "gtTheDen": "31/12/2026"})
    assert result.card_code == "DN4797924004567"
    assert result.valid_to == date(2026, 12, 31)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"maKetQua": None},
        {"maKetQua": "999"},
        {"maKetQua": "abc", "gtTheTu": 12},
        "not a dict",
    ],
)
def test_unknown_or_missing_codes_go_to_the_desk_without_crashing(payload: object) -> None:
    result = insurance.interpret(payload)  # type: ignore[arg-type]
    assert result.status is InsuranceStatus.SEE_DESK
    assert "quầy" in result.message_vi and "desk" in result.message_en


def test_numeric_codes_are_normalised() -> None:
    assert insurance.interpret({"maKetQua": 0}).result_code == "000"
    assert insurance.interpret({"maKetQua": "10"}).status is InsuranceStatus.EXPIRED


@pytest.mark.parametrize("text", ["31/02/2026", "2026-01-01", "", "1/1/26", None])
def test_unreadable_dates_become_none(text: object) -> None:
    assert insurance.parse_gateway_date(text) is None


def test_single_digit_day_and_month_are_accepted() -> None:
    assert insurance.parse_gateway_date("1/2/2026") == date(2026, 2, 1)


def test_unreachable_is_unavailable_and_not_a_gateway_code() -> None:
    result = insurance.unreachable()
    assert result.status is InsuranceStatus.UNAVAILABLE
    assert result.result_code == insurance.UNREACHABLE
    assert result.result_code not in insurance.RESULT_CODES


# -- visit category (MA_DOITUONG_KCB) and amount due ---------------------------

HOSPITAL = "01001"


def _covered(facility: str | None, card: str = "DN4797924004567") -> InsuranceCheck:
    return InsuranceCheck("000", InsuranceStatus.VALID, "", "", card_code=card, registered_facility=facility)


def test_registered_here_is_1_1_whatever_the_visit_type() -> None:
    for visit in VisitType:
        assert insurance.visit_category(_covered(HOSPITAL), visit, None, HOSPITAL) == "1.1"


def test_referral_and_re_exam_papers_give_1_3_and_1_5() -> None:
    assert insurance.visit_category(_covered("79024"), VisitType.REFERRAL, "CT-123", HOSPITAL) == "1.3"
    assert insurance.visit_category(_covered("79024"), VisitType.RE_EXAM, "HEN-9", HOSPITAL) == "1.5"


def test_no_paper_from_elsewhere_is_wrong_route() -> None:
    assert insurance.visit_category(_covered("79024"), VisitType.NEW, None, HOSPITAL).startswith("3.")
    assert insurance.visit_category(_covered("79024"), VisitType.REFERRAL, "  ", HOSPITAL).startswith("3.")


def test_not_covered_has_no_insured_category() -> None:
    expired = InsuranceCheck("010", InsuranceStatus.EXPIRED, "", "", registered_facility=HOSPITAL)
    assert insurance.visit_category(expired, VisitType.NEW, None, HOSPITAL) is None
    assert insurance.visit_category(None, VisitType.NEW, None, HOSPITAL) is None


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ("HT2010123456789", 0),  # level 2: 100 %
        ("CH3010123456789", 42_100 - 39_995),  # level 3: 95 %
        ("DN4797924004567", 42_100 - 33_680),  # level 4: 80 %
        ("XX", 42_100 - 33_680),  # unreadable: the common 80 %
    ],
)
def test_insured_right_route_pays_the_co_payment(card: str, expected: int) -> None:
    check = _covered(HOSPITAL, card)
    assert insurance.amount_due(check, "1.1", 42_100, 42_100) == expected


def test_on_demand_service_adds_the_difference_above_the_insured_price() -> None:
    check = _covered(HOSPITAL, "HT2010123456789")
    assert insurance.amount_due(check, "1.1", 150_000, 42_100) == 150_000 - 42_100


def test_fee_paying_and_wrong_route_pay_the_full_price() -> None:
    assert insurance.amount_due(None, None, 42_100, 42_100) == 42_100
    assert insurance.amount_due(_covered("79024"), "3.1", 150_000, 42_100) == 150_000
