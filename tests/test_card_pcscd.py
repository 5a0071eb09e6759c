"""The production card path through real pcscd: a simulated chip behind the
vpcd driver ("Virtual PCD"), read with PcscCardReader + IcaoChipReader.

Needs pcscd with vsmartcard-vpcd listening on 127.0.0.1:35963, or on the
port KIOSK_TEST_VPCD_PORT names (tests/vpcd_support.py); packaging/
test-services.sh starts pcscd, picks a free vpcd slot and sets
KIOSK_TEST_PCSCD=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date

import pytest

from drivers.card.chip_sim import ChipFaults
from drivers.card.icao import IcaoChipReader
from drivers.card.icao.pa import TrustStore
from drivers.card.pcsc import PcscCardReader
from drivers.card.sample_pki import csca_pem
from drivers.card.samples import sample_chip, sample_citizen, sample_citizens
from drivers.card.vpcd import VirtualCardBridge
from kiosk import cccd
from kiosk.domain import Verification
from kiosk.errors import CardRemovedError, NoCardError
from kiosk.ports import CanKey, MrzKey
from vpcd_support import vpcd_port, vpcd_reader

pytestmark = [
    pytest.mark.pcscd,
    pytest.mark.skipif(
        os.environ.get("KIOSK_TEST_PCSCD") != "1",
        reason="needs pcscd with the vpcd driver: run through packaging/test-services.sh (sets KIOSK_TEST_PCSCD=1)",
    ),
]

READER = vpcd_reader()  # this run's vpcd slot, e.g. "Virtual PCD 00 00"
WAIT = 20.0  # upper bound for pcscd to notice a card; the tests wait on its events


def _keys(slot: int) -> list[MrzKey]:
    c = sample_citizen(slot)
    return cccd.mrz_keys_for(
        c["id_number"], date.fromisoformat(c["date_of_birth"]), date.fromisoformat(c["date_of_issue"])
    )


@pytest.fixture(scope="module")
def bridge() -> Iterator[VirtualCardBridge]:
    usability = PcscCardReader.is_usable()
    if not usability:
        pytest.fail(f"KIOSK_TEST_PCSCD=1 but PC/SC is not usable: {usability.reason}")
    b = VirtualCardBridge(host="127.0.0.1", port=vpcd_port())
    b.start()
    yield b
    b.stop()


@pytest.fixture
def reader(bridge: VirtualCardBridge) -> Iterator[PcscCardReader]:
    slot = PcscCardReader(READER)
    assert slot.reader_name() is not None, f"no PC/SC reader named {READER!r}"
    yield slot
    slot.disconnect()
    bridge.remove()
    assert slot.wait_for_removal(WAIT)


def _insert(bridge: VirtualCardBridge, reader: PcscCardReader, chip) -> None:  # type: ignore[no-untyped-def]
    bridge.insert(chip)
    assert bridge.wait_connected(WAIT), "vpcd did not take the card"
    assert reader.wait_for_card(WAIT), "pcscd did not see the card"


@pytest.mark.parametrize("slot", [c["slot"] for c in sample_citizens()])
def test_full_identity_read_through_pcscd(bridge: VirtualCardBridge, reader: PcscCardReader, slot: int) -> None:
    _insert(bridge, reader, sample_chip(slot))
    assert reader.card_present()
    steps: list[str] = []
    result = IcaoChipReader().read_identity(reader.connect(), _keys(slot), steps.append)
    assert steps == ["select", "pace", "dg14", "ca", "dg1", "dg13", "dg2", "aa", "sod"]  # PACE with the MRZ
    assert result.verification is Verification.CHIP_READ  # no trust store: not verifiable
    assert result.citizen.id_number == sample_citizen(slot)["id_number"]
    assert result.citizen.full_name == sample_citizen(slot)["full_name"]
    assert result.citizen.photo is not None and result.citizen.photo.startswith(b"\x89PNG")


@pytest.mark.parametrize("slot", [c["slot"] for c in sample_citizens()])
def test_pace_can_and_passive_authentication_through_pcscd(
    bridge: VirtualCardBridge, reader: PcscCardReader, slot: int
) -> None:
    _insert(bridge, reader, sample_chip(slot))
    trust = TrustStore()
    trust.load_bytes(csca_pem())
    chip_reader = IcaoChipReader(trust_store=trust)
    result = chip_reader.read_identity(reader.connect(), [CanKey(cccd.can(sample_citizen(slot)["id_number"]))])
    assert result.verification is Verification.GENUINE
    assert chip_reader.last_access_protocol == "PACE ECDH-GM AES-128 brainpoolP256r1 (CAN)"


def test_pace_refused_falls_back_to_bac_through_pcscd(bridge: VirtualCardBridge, reader: PcscCardReader) -> None:
    _insert(bridge, reader, sample_chip(1, faults=ChipFaults(pace_refused=True)))
    steps: list[str] = []
    can = CanKey(cccd.can(sample_citizen(1)["id_number"]))
    result = IcaoChipReader().read_identity(reader.connect(), [can, *_keys(1)], steps.append)
    assert steps[:3] == ["select", "pace", "bac"]
    assert result.citizen.id_number == sample_citizen(1)["id_number"]


def test_tampered_data_group_is_forged_through_pcscd(bridge: VirtualCardBridge, reader: PcscCardReader) -> None:
    _insert(bridge, reader, sample_chip(2, tampered_dg=13))
    trust = TrustStore()
    trust.load_bytes(csca_pem())
    result = IcaoChipReader(trust_store=trust).read_identity(reader.connect(), _keys(2))
    assert result.verification is Verification.FORGED


def test_card_removed_mid_read(bridge: VirtualCardBridge, reader: PcscCardReader) -> None:
    _insert(bridge, reader, sample_chip(2))

    def progress(step: str) -> None:
        if step == "dg2":
            bridge.remove()  # closes the vpcd link before returning

    with pytest.raises(CardRemovedError):
        IcaoChipReader().read_identity(reader.connect(), _keys(2), progress)
    assert reader.wait_for_removal(WAIT)
    assert not reader.card_present()


def test_card_leaving_the_field_mid_read(bridge: VirtualCardBridge, reader: PcscCardReader) -> None:
    _insert(bridge, reader, sample_chip(3, faults=ChipFaults(lift_after_apdus=12)))
    with pytest.raises(CardRemovedError):
        IcaoChipReader().read_identity(reader.connect(), _keys(3))


def test_connect_without_a_card(reader: PcscCardReader) -> None:
    assert not reader.card_present()
    with pytest.raises(NoCardError):
        reader.connect()


# -- extended length, chosen automatically, through real pcscd ------------------------------------


def test_extended_length_chosen_through_pcscd(bridge: VirtualCardBridge, reader: PcscCardReader) -> None:
    _insert(bridge, reader, sample_chip(4))
    chip_reader = IcaoChipReader()
    result = chip_reader.read_identity(reader.connect(), [CanKey(cccd.can(sample_citizen(4)["id_number"]))])
    assert result.citizen.photo is not None
    mode = chip_reader.last_read_mode or ""
    # vpcd does not answer SCARD_ATTR_MAXINPUT: the card's word decides.
    assert mode.startswith("extended") and "link limit not reported" in mode


def test_no_extended_length_switch_through_pcscd(bridge: VirtualCardBridge, reader: PcscCardReader) -> None:
    _insert(bridge, reader, sample_chip(1, extended_length=False))
    chip_reader = IcaoChipReader()
    result = chip_reader.read_identity(reader.connect(), _keys(1))
    assert result.citizen.photo is not None
    assert chip_reader.last_read_mode == "short, 223 bytes per READ BINARY (EF.ATR/INFO says no extended length)"


def test_card_refusing_the_extended_length_it_announced_through_pcscd(
    bridge: VirtualCardBridge, reader: PcscCardReader
) -> None:
    from drivers.card.icao.lengths import card_capabilities, encode_atr_info

    chip = sample_chip(3, extended_length=False, atr_info=encode_atr_info(1000, 65538, card_capabilities(True)))
    _insert(bridge, reader, chip)
    chip_reader = IcaoChipReader()
    result = chip_reader.read_identity(reader.connect(), _keys(3))
    assert result.citizen.photo is not None
    assert (chip_reader.last_read_mode or "").endswith("extended-length READ BINARY failed: 6700)")
    seen: dict[int, set[int]] = {}
    for fid, offset, count in chip.read_log:  # no byte read twice after the fall back
        if fid in (0x011C, 0x2F01):
            continue
        span = set(range(offset, offset + count))
        assert not seen.setdefault(fid, set()) & span
        seen[fid] |= span


def test_removal_during_extended_reads_is_removal_through_pcscd(
    bridge: VirtualCardBridge, reader: PcscCardReader
) -> None:
    _insert(bridge, reader, sample_chip(2))
    chip_reader = IcaoChipReader()

    def progress(step: str) -> None:
        if step == "dg2":
            bridge.remove()

    with pytest.raises(CardRemovedError):
        chip_reader.read_identity(reader.connect(), _keys(2), progress)
    assert (chip_reader.last_read_mode or "").startswith("extended")
    assert reader.wait_for_removal(WAIT)


# -- insert/remove events and transactions through real pcscd -------------------------------------


def test_observer_hears_a_card_already_present_then_every_change(
    bridge: VirtualCardBridge, reader: PcscCardReader
) -> None:
    import queue

    _insert(bridge, reader, sample_chip(1))
    events: queue.Queue[bool] = queue.Queue()
    reader.add_observer(events.put)
    try:
        assert events.get(timeout=WAIT) is True  # told at once: the card was already there
        bridge.remove()
        assert events.get(timeout=WAIT) is False
        bridge.insert(sample_chip(2))
        assert events.get(timeout=WAIT) is True
    finally:
        reader.remove_observer(events.put)
    assert events.empty()


def test_read_runs_inside_a_pcsc_transaction(bridge: VirtualCardBridge, reader: PcscCardReader) -> None:
    _insert(bridge, reader, sample_chip(2))
    transport = reader.connect()
    with transport.transaction():
        transport.transmit(bytes.fromhex("00A4020C02011C"))  # SELECT EF.CardAccess, plain
    result = IcaoChipReader().read_identity(transport, _keys(2))  # takes its own transaction
    assert result.citizen.id_number == sample_citizen(2)["id_number"]
    bridge.remove()
    assert reader.wait_for_removal(WAIT)
    with pytest.raises(CardRemovedError):
        with transport.transaction():
            pass
