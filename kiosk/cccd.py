"""Rules of the Vietnamese citizen identity number and card (CCCD / Căn cước).

Pure functions, standard library only: no I/O, no clock (callers pass
`today` when a rule depends on it). The chip driver derives its access keys
from here, and the screens validate a typed ID with it.

Sources:
- ID number structure: Decree 137/2015/NĐ-CP art. 13 and Circular
  07/2016/TT-BCA art. 7 (3-digit province code, 1 century/sex digit, 2 digits
  of the birth year, 6 random digits).
- Card validity: CCCD Law 2014 art. 21 and Identity Law 2023 art. 21 (renewal
  at 14 for the 2024 card, 25, 40 and 60; a card issued within two years
  before one of those ages stays valid until the next one).
- Chip access keys: see /work/shared/reference/DOMAIN.md §1 (CAN = last 6
  digits; BAC document number = last 9 digits).
"""

from __future__ import annotations

from datetime import date

from kiosk.domain import Sex
from kiosk.ports import MrzKey

ID_LENGTH = 12

# Identity Law 2023 took effect on 2024-07-01; only cards issued from then on
# can be issued before the age of 14 and so have a renewal at 14.
IDENTITY_LAW_2023_EFFECTIVE = date(2024, 7, 1)

# Chip cards (the only ones a reader can open) were first issued in 2021
# under Circular 06/2021/TT-BCA; the older barcode CCCD cards have no chip.
# Used only to rule out expiry dates no chip card can carry.
FIRST_CHIP_CARD_ISSUE = date(2021, 1, 1)

RENEWAL_AGES = (25, 40, 60)
RENEWAL_AGES_2024_CARD = (14, 25, 40, 60)
# "Within two years before" a renewal age the card runs to the next age.
GRACE_YEARS = 2

# Circular 07/2016/TT-BCA art. 7: the 4th digit encodes century and sex.
# Digits 6-9 (23rd and 24th centuries) exist in the rule but no living
# person can hold them yet.
_CENTURY_SEX = {
    "0": (1900, Sex.MALE),
    "1": (1900, Sex.FEMALE),
    "2": (2000, Sex.MALE),
    "3": (2000, Sex.FEMALE),
    "4": (2100, Sex.MALE),
    "5": (2100, Sex.FEMALE),
    "6": (2200, Sex.MALE),
    "7": (2200, Sex.FEMALE),
    "8": (2300, Sex.MALE),
    "9": (2300, Sex.FEMALE),
}
_PLAUSIBLE_CENTURY_DIGITS = frozenset("012345")


def _require_id(id12: str) -> str:
    if not is_id_number(id12):
        raise ValueError("a CCCD number is exactly 12 digits")
    return id12


def is_id_number(text: str) -> bool:
    """True when `text` has the shape of a 12-digit CCCD number."""
    return len(text) == ID_LENGTH and text.isascii() and text.isdigit()


def document_number(id12: str) -> str:
    """The card's MRZ document number: the last 9 digits of the ID (BAC key)."""
    return _require_id(id12)[-9:]


def can(id12: str) -> str:
    """The Card Access Number for PACE: the last 6 digits of the ID."""
    return _require_id(id12)[-6:]


def birth_century_and_sex(id12: str) -> tuple[int, Sex]:
    """Century (1900, 2000, ...) and sex that the 4th digit encodes."""
    return _CENTURY_SEX[_require_id(id12)[3]]


def birth_year(id12: str) -> int:
    """The birth year the ID encodes (century digit + digits 5-6)."""
    century, _ = birth_century_and_sex(id12)
    return century + int(id12[4:6])


def validate_id_number(
    id12: str,
    date_of_birth: date | None = None,
    sex: Sex | None = None,
) -> list[str]:
    """Problems with a CCCD number, optionally against the holder's details.

    An empty list means the number is plausible. The messages never repeat
    the number itself, so they are safe to log.
    """
    if not is_id_number(id12):
        return ["a CCCD number is exactly 12 digits"]
    problems: list[str] = []
    century_digit = id12[3]
    if century_digit not in _PLAUSIBLE_CENTURY_DIGITS:
        problems.append("the 4th digit denotes a birth after 2199")
    century, encoded_sex = _CENTURY_SEX[century_digit]
    if date_of_birth is not None:
        if date_of_birth.year // 100 * 100 != century:
            problems.append("the 4th digit does not match the century of the date of birth")
        if int(id12[4:6]) != date_of_birth.year % 100:
            problems.append("digits 5-6 do not match the year of birth")
    if sex in (Sex.MALE, Sex.FEMALE) and sex is not encoded_sex:
        problems.append("the 4th digit does not match the sex")
    return problems


def _birthday(date_of_birth: date, age: int) -> date:
    """The day a person turns `age`.

    Someone born on 29 February turns a year older on 28 February in a
    common year here: the law counts "đủ tuổi" (full years) and a card cannot
    run past the last day of the holder's age, so the earlier day is the one
    a card can carry. *Unconfirmed* for real cards.
    """
    try:
        return date_of_birth.replace(year=date_of_birth.year + age)
    except ValueError:  # 29 February in a common year
        return date(date_of_birth.year + age, 2, 28)


def _renewal_ages(date_of_issue: date) -> tuple[int, ...]:
    return RENEWAL_AGES_2024_CARD if date_of_issue >= IDENTITY_LAW_2023_EFFECTIVE else RENEWAL_AGES


def expiry_for_issue(date_of_birth: date, date_of_issue: date) -> date | None:
    """The expiry date the law gives a card issued on `date_of_issue`.

    The card is valid until the first renewal age whose two-year grace
    window had not begun on the issue date; None when no such age is left
    (issued at 58 or later: the card never expires).
    """
    for age in _renewal_ages(date_of_issue):
        renewal = _birthday(date_of_birth, age)
        if date_of_issue < _birthday(date_of_birth, age - GRACE_YEARS):
            return renewal
    return None


def expiry_candidates(
    date_of_birth: date,
    date_of_issue: date | None,
    *,
    today: date | None = None,
) -> list[date | None]:
    """Expiry dates the card may carry, most likely first (None = no expiry).

    With a known issue date the law gives exactly one answer. Without it,
    every expiry that a chip card issued between 2021 and `today` (or any
    time from 2021 on when `today` is not given) could carry is returned:
    still-valid expiries soonest first, then "no expiry", then expiries that
    have passed, most recent first (an expired card still opens with BAC).
    """
    if date_of_issue is not None:
        return [expiry_for_issue(date_of_birth, date_of_issue)]

    # The expiry is a step function of the issue date: it changes only on a
    # grace-window start (the birthdays at 12, 23, 38, 58) or when the 2023
    # law took effect. Evaluating it at the start of every step that lies in
    # a plausible issue period yields every possible value.
    steps = {_birthday(date_of_birth, age - GRACE_YEARS) for age in RENEWAL_AGES_2024_CARD}
    steps.add(IDENTITY_LAW_2023_EFFECTIVE)
    periods = [
        # Before the 2023 law a CCCD was issued from the age of 14 only.
        (max(FIRST_CHIP_CARD_ISSUE, _birthday(date_of_birth, 14)), _day_before(IDENTITY_LAW_2023_EFFECTIVE)),
        # From 2024-07-01 a card may be issued at any age.
        (max(IDENTITY_LAW_2023_EFFECTIVE, date_of_birth), None),
    ]
    found: set[date | None] = set()
    for first, last in periods:
        if today is not None:
            last = today if last is None else min(last, today)
        if last is not None and first > last:
            continue
        for issue in [first, *sorted(s for s in steps if s > first and (last is None or s <= last))]:
            found.add(expiry_for_issue(date_of_birth, issue))

    dated = sorted(d for d in found if d is not None)
    no_expiry = [None] if None in found else []
    if today is None:
        return [*dated, *no_expiry]
    valid = [d for d in dated if d >= today]
    expired = [d for d in dated if d < today]
    return [*valid, *no_expiry, *reversed(expired)]


def _day_before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


def mrz_keys_for(
    id12: str,
    date_of_birth: date,
    date_of_issue: date | None,
    *,
    today: date | None = None,
) -> list[MrzKey]:
    """BAC keys to try for a CCCD card, most likely first."""
    number = document_number(id12)
    return [
        MrzKey(document_number=number, date_of_birth=date_of_birth, date_of_expiry=expiry)
        for expiry in expiry_candidates(date_of_birth, date_of_issue, today=today)
    ]
