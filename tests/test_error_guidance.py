"""Every error a patient can meet says what to do next, in both languages:
card unreadable, card not genuine, each insurance result code, hub offline,
printer out of paper, unknown QR (and the other errors of kiosk/errors.py)."""

from __future__ import annotations

import pytest

import kiosk.errors as errors
from kiosk.insurance import _OUTCOMES
from kiosk.flow import ErrorInfo, FlowState, Session, Step
from kiosk.voice import prompt_text

NEXT_VI = ("Vui lòng", "vui lòng", "quầy tiếp đón", "hãy")
NEXT_EN = ("Please", "please", "reception desk")

PATIENT_ERRORS = [
    errors.CardError,  # card unreadable
    errors.NoCardError,
    errors.CardRemovedError,
    errors.AccessKeyRejected,
    errors.CardNotGenuineError,  # not genuine
    errors.QrRejected,  # unknown QR
    errors.HubUnavailable,  # hub offline
    errors.HubRejected,
    errors.PrinterError,
    errors.PrinterOutOfPaper,  # out of paper
    errors.PrinterOffline,
    errors.StorageError,
]


def all_error_classes() -> list[type[errors.KioskError]]:
    out = []
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, errors.KioskError) and value is not errors.ConfigError:
            out.append(value)
    return out


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_says_what_to_do_next(cls: type[errors.KioskError]) -> None:
    assert any(word in cls.guidance_vi for word in NEXT_VI), cls.guidance_vi
    assert any(word in cls.guidance_en for word in NEXT_EN), cls.guidance_en


def test_the_issue_list_is_covered() -> None:
    assert set(PATIENT_ERRORS) <= set(all_error_classes())


@pytest.mark.parametrize("code", sorted(_OUTCOMES), ids=str)
def test_every_insurance_result_code_says_what_happens_next(code: str) -> None:
    outcome = _OUTCOMES[code]
    if outcome.status.covered:
        return  # covered: the patient simply goes on (the screen continues by itself)
    assert any(word in outcome.message_vi for word in NEXT_VI), (code, outcome.message_vi)
    assert any(word in outcome.message_en for word in NEXT_EN), (code, outcome.message_en)


@pytest.mark.parametrize("cls", PATIENT_ERRORS, ids=lambda c: c.__name__)
def test_the_voice_says_the_same_next_step(cls: type[errors.KioskError]) -> None:
    state = FlowState(Step.ERROR, Session(), error=ErrorInfo(cls.code, cls.guidance_vi, cls.guidance_en))
    assert prompt_text(state) == cls.guidance_vi
