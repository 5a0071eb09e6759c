"""PACE end to end: the reader's ChipSession against SimulatedCccdChip's card side.

The chip side is checked byte for byte against ICAO 9303-11 Appendix G.1
(the same transcript as tests/test_icao_pace.py, answered by the simulator
with the example's nonce and private keys); then every password, cipher,
curve and fallback path is read through a simulated reader.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.chip_sim import ChipFaults, SimulatedCccdChip, build_card_access
from drivers.card.icao import IcaoChipReader, crypto
from drivers.card.icao.mrz import mrz_information
from drivers.card.icao.pace import PaceInfo, choose_pace_info, perform_pace
from drivers.card.icao.session import (
    BAD_CARD_ACCESS_NOTE,
    NO_CARD_ACCESS_NOTE,
    PACE_REFUSED_NOTE,
    ChipSession,
)
from drivers.card.icao.sm import AesSm, TripleDesSm
from drivers.card.samples import sample_chip, sample_citizen, sample_citizens
from drivers.card.simulated import SimulatedCardReader
from kiosk import cccd
from kiosk.errors import AccessKeyRejected, CardError, CardRemovedError
from kiosk.ports import CanKey, MrzKey
from tests.test_icao_pace import (
    CARD_ACCESS,
    G1_KEY,
    NONCE_S,
    SK_DH_IC,
    SK_DH_IFD,
    SK_MAP_IC,
    SK_MAP_IFD,
    TRANSCRIPT,
)

H = bytes.fromhex
SLOTS = [c["slot"] for c in sample_citizens()]
TODAY = date(2025, 6, 1)


def _sequence(*values: bytes) -> Callable[[int], bytes]:
    queue = list(values)

    def random_bytes(n: int) -> bytes:
        value = queue.pop(0)
        assert len(value) == n
        return value

    return random_bytes


def _can(slot: int) -> CanKey:
    return CanKey(cccd.can(sample_citizen(slot)["id_number"]))


def _mrz_keys(slot: int) -> list[MrzKey]:
    c = sample_citizen(slot)
    issue = date.fromisoformat(c["date_of_issue"]) if c["date_of_issue"] else None
    return cccd.mrz_keys_for(c["id_number"], date.fromisoformat(c["date_of_birth"]), issue, today=TODAY)


class Direct:
    def __init__(self, chip: SimulatedCccdChip) -> None:
        self.chip = chip
        self.count = 0

    def transmit(self, apdu: bytes) -> bytes:
        self.count += 1
        return self.chip.process(apdu)


def _on_reader(chip: SimulatedCccdChip) -> SimulatedCardReader:
    reader = SimulatedCardReader()
    reader.place(chip)
    return reader


# -- the card side of Appendix G.1 -------------------------------------------------------------


def test_chip_answers_the_worked_example_byte_for_byte() -> None:
    mrz_info = mrz_information(G1_KEY.document_number, G1_KEY.date_of_birth, G1_KEY.date_of_expiry)
    chip = SimulatedCccdChip(
        {}, mrz_info, card_access=CARD_ACCESS, random_bytes=_sequence(NONCE_S, SK_MAP_IC, SK_DH_IC)
    )
    for command, answer in TRANSCRIPT:
        assert chip.process(H(command)).hex().upper() == answer.upper()
    assert chip.session_active


def test_terminal_and_chip_agree_on_the_worked_example() -> None:
    mrz_info = mrz_information(G1_KEY.document_number, G1_KEY.date_of_birth, G1_KEY.date_of_expiry)
    chip = SimulatedCccdChip(
        {}, mrz_info, card_access=CARD_ACCESS, random_bytes=_sequence(NONCE_S, SK_MAP_IC, SK_DH_IC)
    )
    info, _ = choose_pace_info(CARD_ACCESS)
    assert info is not None
    result = perform_pace(Direct(chip), G1_KEY, info, random_bytes=_sequence(SK_MAP_IFD, SK_DH_IFD))
    assert isinstance(result.sm.cipher, AesSm)


# -- reading every sample citizen with PACE ------------------------------------------------------


@pytest.mark.parametrize("slot", SLOTS)
def test_every_sample_citizen_opens_with_the_can(slot: int) -> None:
    chip = sample_chip(slot)
    steps: list[str] = []
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), [_can(slot)], steps.append)
    assert steps[:2] == ["select", "pace"] and "bac" not in steps
    assert result.citizen.id_number == sample_citizen(slot)["id_number"]


@pytest.mark.parametrize("slot", SLOTS)
def test_every_sample_citizen_opens_with_the_mrz(slot: int) -> None:
    session = ChipSession(Direct(sample_chip(slot)))
    session.open(_mrz_keys(slot))
    assert session.access_protocol == "PACE ECDH-GM AES-128 brainpoolP256r1 (MRZ)"
    assert isinstance(session._sm.cipher, AesSm)  # type: ignore[union-attr]
    # The chip announces extended length in EF.ATR/INFO: big reads.
    assert session.extended and session.read_size > 0xDF
    short = ChipSession(Direct(sample_chip(slot, extended_length=False)))
    short.open(_mrz_keys(slot))
    assert not short.extended and short.read_size == 0xDF  # AES SM: the largest short protected read


@pytest.mark.parametrize(
    ("parameter_id", "cipher", "name"),
    [
        (13, crypto.KeyAlgorithm.TDES, "3DES"),
        (13, crypto.KeyAlgorithm.AES192, "AES-192"),
        (13, crypto.KeyAlgorithm.AES256, "AES-256"),
        (12, crypto.KeyAlgorithm.AES128, "AES-128"),
        (8, crypto.KeyAlgorithm.TDES, "3DES"),
        (14, crypto.KeyAlgorithm.AES256, "AES-256"),
        (16, crypto.KeyAlgorithm.AES192, "AES-192"),
        (17, crypto.KeyAlgorithm.AES256, "AES-256"),
        (18, crypto.KeyAlgorithm.AES256, "AES-256"),
    ],
)
def test_every_cipher_and_curve(parameter_id: int, cipher: crypto.KeyAlgorithm, name: str) -> None:
    chip = sample_chip(2, card_access=build_card_access(parameter_id, cipher))
    session = ChipSession(Direct(chip))
    session.open([_can(2)])
    assert session.access_protocol is not None and name in session.access_protocol
    expected_sm = TripleDesSm if cipher is crypto.KeyAlgorithm.TDES else AesSm
    assert isinstance(session._sm.cipher, expected_sm)  # type: ignore[union-attr]
    assert session.read_file(0x0101).startswith(b"\x61")


def test_strongest_offered_option_is_chosen() -> None:
    a = build_card_access(13, crypto.KeyAlgorithm.AES128)[2:]
    b = build_card_access(13, crypto.KeyAlgorithm.AES256)[2:]
    info, _ = choose_pace_info(bytes([0x31, len(a) + len(b)]) + a + b)
    assert info is not None and info.cipher is crypto.KeyAlgorithm.AES256


# -- passwords and fallbacks ---------------------------------------------------------------------


def test_wrong_can_is_rejected() -> None:
    with pytest.raises(AccessKeyRejected, match="refused all 1"):
        IcaoChipReader().read_identity(_on_reader(sample_chip(1)).connect(), [CanKey("000000")])


def test_wrong_can_then_the_mrz() -> None:
    session = ChipSession(Direct(sample_chip(3)))
    session.open([CanKey("000000"), *_mrz_keys(3)])
    assert session.access_protocol is not None and session.access_protocol.endswith("(MRZ)")


def test_pace_refused_falls_back_to_bac() -> None:
    chip = sample_chip(1, faults=ChipFaults(pace_refused=True))
    steps: list[str] = []
    result = IcaoChipReader().read_identity(_on_reader(chip).connect(), [_can(1), *_mrz_keys(1)], steps.append)
    assert PACE_REFUSED_NOTE in result.notes
    assert steps[:3] == ["select", "pace", "bac"]  # one PACE try, then BAC only
    assert result.citizen.id_number == sample_citizen(1)["id_number"]


def test_pace_refused_with_only_the_can_is_a_clear_rejection() -> None:
    chip = sample_chip(1, faults=ChipFaults(pace_refused=True))
    with pytest.raises(AccessKeyRejected):
        IcaoChipReader().read_identity(_on_reader(chip).connect(), [_can(1)])


def test_no_card_access_means_bac() -> None:
    session = ChipSession(Direct(sample_chip(2, pace=False)))
    session.open(_mrz_keys(2))
    assert session.access_protocol == "BAC" and NO_CARD_ACCESS_NOTE in session.notes


def test_garbled_card_access_means_bac() -> None:
    session = ChipSession(Direct(sample_chip(2, card_access=H("3003020101"))))
    session.open(_mrz_keys(2))
    assert session.access_protocol == "BAC" and BAD_CARD_ACCESS_NOTE in session.notes


def test_reader_too_small_for_ec_points_falls_back_to_bac() -> None:
    chip = sample_chip(1, faults=ChipFaults(max_response_length=64))
    session = ChipSession(Direct(chip))
    session.open(_mrz_keys(1))
    assert session.access_protocol == "BAC"
    assert any(note.startswith("PACE failed (6700)") for note in session.notes)


def test_sm_error_after_pace_re_runs_pace_and_reads_on() -> None:
    # Protected response 1 is the SELECT of the application; 3 is inside DG1.
    chip = sample_chip(2, faults=ChipFaults(corrupt_response_mac=frozenset({3})))
    transport = Direct(chip)
    session = ChipSession(transport)
    session.open([_can(2)])
    assert session.read_file(0x0101).startswith(b"\x61")


@pytest.mark.parametrize("after", range(1, 10))
def test_card_leaving_during_pace(after: int) -> None:
    chip = sample_chip(4, faults=ChipFaults(lift_after_apdus=after))
    reader = _on_reader(chip)
    with pytest.raises(CardRemovedError):
        IcaoChipReader().read_identity(reader.connect(), [_can(4)])


def test_general_authenticate_out_of_order_is_refused() -> None:
    chip = sample_chip(1)
    assert chip.process(H("10860000027C0000"))[-2:] == H("6985")  # no MSE:Set AT first
    info = PaceInfo(H("04007F00070202040202"), 2, 13)
    mse = "0022C1A40F800A" + info.protocol.hex() + "830102"
    assert chip.process(H(mse))[-2:] == H("9000")
    assert chip.process(H("10860000457C43834100" + "00" * 64))[-2:] == H("6985")  # skips the nonce


def test_mse_with_unknown_password_or_protocol() -> None:
    chip = sample_chip(1, pace=False, card_access=build_card_access())  # no CAN personalised
    assert chip.process(H("0022C1A40F800A04007F00070202040202830102"))[-2:] == H("6A88")
    assert chip.process(H("0022C1A40F800A04007F00070202040204830101"))[-2:] == H("6A80")


# -- fuzzed chip answers: the terminal never crashes ---------------------------------------------


class Fuzzed:
    def __init__(self, answers: list[bytes]) -> None:
        self._answers = list(answers)

    def transmit(self, apdu: bytes) -> bytes:
        return self._answers.pop(0) if self._answers else b"\x90\x00"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=80), st.just(b"\x90\x00")), min_size=1, max_size=6))
def test_fuzzed_pace_answers_give_typed_errors(answers: list[bytes]) -> None:
    info = PaceInfo(H("04007F00070202040202"), 2, 13)
    with pytest.raises(CardError):
        perform_pace(Fuzzed(answers), CanKey("123456"), info)
