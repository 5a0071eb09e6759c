"""kiosk.cccd: ID number rules and card expiry, against the sample citizens.

The samples' `date_of_expiry` fields are the expected answers of the law
rule (null = the card never expires).
"""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path

import pytest

from kiosk import cccd
from kiosk.domain import Sex
from kiosk.ports import MrzKey

CITIZENS_DIR = Path(__file__).resolve().parent.parent / "assets" / "citizens"
SAMPLES = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CITIZENS_DIR.glob("citizen-*.json"))]


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def test_there_are_four_samples() -> None:
    assert [c["slot"] for c in SAMPLES] == [1, 2, 3, 4]


@pytest.mark.parametrize("citizen", SAMPLES, ids=lambda c: f"slot{c['slot']}")
def test_document_number_and_can_are_the_last_digits(citizen: dict) -> None:
    id12 = citizen["id_number"]
    assert cccd.document_number(id12) == id12[3:]
    assert len(cccd.document_number(id12)) == 9
    assert cccd.can(id12) == id12[6:]


def test_document_number_examples() -> None:
    assert cccd.document_number("001058012345") == "058012345"
    assert cccd.can("001058012345") == "012345"


@pytest.mark.parametrize("bad", ["", "12345678901", "1234567890123", "00105801234a", "００１０５８０１２３４５", " 01058012345"])
def test_malformed_numbers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        cccd.document_number(bad)
    with pytest.raises(ValueError):
        cccd.can(bad)
    assert cccd.validate_id_number(bad) == ["a CCCD number is exactly 12 digits"]


@pytest.mark.parametrize("citizen", SAMPLES, ids=lambda c: f"slot{c['slot']}")
def test_samples_validate_against_their_own_details(citizen: dict) -> None:
    assert (
        cccd.validate_id_number(
            citizen["id_number"], _d(citizen["date_of_birth"]), Sex.from_vietnamese(citizen["sex"])
        )
        == []
    )


@pytest.mark.parametrize("citizen", SAMPLES, ids=lambda c: f"slot{c['slot']}")
def test_century_sex_and_year_are_decoded(citizen: dict) -> None:
    dob = _d(citizen["date_of_birth"])
    assert dob is not None
    century, sex = cccd.birth_century_and_sex(citizen["id_number"])
    assert century == dob.year // 100 * 100
    assert sex is Sex.from_vietnamese(citizen["sex"])
    assert cccd.birth_year(citizen["id_number"]) == dob.year


def test_validation_finds_each_mismatch() -> None:
    id12 = "079190004567"  # female, born 1990 (sample 2)
    assert cccd.validate_id_number(id12, date(1991, 11, 20)) == ["digits 5-6 do not match the year of birth"]
    assert cccd.validate_id_number(id12, date(2090, 11, 20)) == [
        "the 4th digit does not match the century of the date of birth"
    ]
    assert cccd.validate_id_number(id12, sex=Sex.MALE) == ["the 4th digit does not match the sex"]
    assert cccd.validate_id_number(id12, sex=Sex.UNDETERMINED) == []
    assert cccd.validate_id_number("079690004567") == ["the 4th digit denotes a birth after 2199"]
    # 2100s (digits 4/5) are valid in the rule.
    assert cccd.validate_id_number("079401004567", date(2101, 1, 1), Sex.MALE) == []
    assert cccd.validate_id_number("079501004567", date(2101, 1, 1), Sex.FEMALE) == []


def test_problem_messages_never_repeat_the_number() -> None:
    id12 = "079190004567"
    for problem in cccd.validate_id_number(id12, date(1980, 1, 1), Sex.MALE):
        assert id12 not in problem and id12[-6:] not in problem


# -- expiry ---------------------------------------------------------------------


@pytest.mark.parametrize("citizen", SAMPLES, ids=lambda c: f"slot{c['slot']}")
def test_expiry_of_each_sample_follows_the_law(citizen: dict) -> None:
    dob, issued = _d(citizen["date_of_birth"]), _d(citizen["date_of_issue"])
    assert dob and issued
    expected = _d(citizen["date_of_expiry"])
    assert cccd.expiry_candidates(dob, issued) == [expected]
    assert cccd.expiry_for_issue(dob, issued) == expected


@pytest.mark.parametrize("citizen", SAMPLES, ids=lambda c: f"slot{c['slot']}")
def test_unknown_issue_date_puts_the_right_expiry_first(citizen: dict) -> None:
    dob = _d(citizen["date_of_birth"])
    assert dob
    candidates = cccd.expiry_candidates(dob, None, today=date(2025, 6, 1))
    assert candidates[0] == _d(citizen["date_of_expiry"])
    assert len(candidates) == len(set(candidates))


def test_unknown_issue_date_without_today_lists_every_future_possibility() -> None:
    # Born 1990-11-20: issued from 2021 at 30 -> 40; later at 38+ -> 60; at 58+ -> none.
    assert cccd.expiry_candidates(date(1990, 11, 20), None) == [date(2030, 11, 20), date(2050, 11, 20), None]


def test_candidates_order_valid_then_no_expiry_then_expired() -> None:
    # Born 1963-03-01: a card from early 2021 (age 57) expired on the 60th
    # birthday; one issued at 58 or later never expires.
    dob = date(1963, 3, 1)
    assert cccd.expiry_candidates(dob, None, today=date(2025, 6, 1)) == [None, date(2023, 3, 1)]


def test_grace_window_boundaries() -> None:
    dob = date(1980, 5, 10)
    # "Issued within 2 years before" a renewal age runs to the next age.
    assert cccd.expiry_for_issue(dob, date(2002, 5, 9)) == date(2005, 5, 10)  # 21 -> 25
    assert cccd.expiry_for_issue(dob, date(2003, 5, 9)) == date(2005, 5, 10)  # day before 23
    assert cccd.expiry_for_issue(dob, date(2003, 5, 10)) == date(2020, 5, 10)  # on the 23rd birthday -> 40
    assert cccd.expiry_for_issue(dob, date(2038, 5, 9)) == date(2040, 5, 10)  # day before 58 -> 60
    assert cccd.expiry_for_issue(dob, date(2038, 5, 10)) is None  # at 58: never expires
    assert cccd.expiry_for_issue(dob, date(2045, 1, 1)) is None  # issued after 60


def test_renewal_at_14_only_for_cards_under_the_2023_law() -> None:
    child = date(2015, 3, 1)
    assert cccd.expiry_for_issue(child, date(2024, 7, 1)) == date(2029, 3, 1)  # age 9 -> 14
    assert cccd.expiry_for_issue(child, date(2027, 3, 1)) == date(2040, 3, 1)  # at 12 -> 25
    assert cccd.expiry_candidates(child, None, today=date(2025, 6, 1)) == [date(2029, 3, 1)]
    # Under the 2014 law a card was issued at 14+ and knows no renewal at 14.
    teen = date(2007, 1, 1)
    assert cccd.expiry_for_issue(teen, date(2021, 6, 1)) == date(2032, 1, 1)


def test_no_candidate_from_before_chip_cards() -> None:
    # Born 1970: a card expiring at 40 (2010) would have to be issued before
    # chip cards existed.
    candidates = cccd.expiry_candidates(date(1970, 1, 1), None)
    assert date(2010, 1, 1) not in candidates
    assert candidates == [date(2030, 1, 1), None]


def test_born_on_29_february() -> None:
    dob = date(2004, 2, 29)
    assert cccd.expiry_for_issue(dob, date(2022, 1, 1)) == date(2029, 2, 28)


def test_mrz_keys_for_a_sample() -> None:
    c = SAMPLES[1]
    keys = cccd.mrz_keys_for(c["id_number"], _d(c["date_of_birth"]), _d(c["date_of_issue"]))
    assert keys == [MrzKey("190004567", date(1990, 11, 20), date(2030, 11, 20))]
    keys = cccd.mrz_keys_for(c["id_number"], _d(c["date_of_birth"]), None)
    assert [k.date_of_expiry for k in keys] == [date(2030, 11, 20), date(2050, 11, 20), None]
    assert {k.document_number for k in keys} == {"190004567"}


def test_module_is_pure() -> None:
    """Stdlib and kiosk only: no I/O libraries, no drivers (STYLE.md principle 1)."""
    tree = ast.parse(Path(cccd.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "datetime", "kiosk"}
