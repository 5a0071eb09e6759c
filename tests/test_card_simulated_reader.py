"""SimulatedCardReader: placing, removing, observers, thread safety."""

from __future__ import annotations

import threading

import pytest

from drivers.card.chip_sim import ChipFaults
from drivers.card.samples import sample_chip
from drivers.card.simulated import SimulatedCardReader
from kiosk.errors import CardRemovedError, NoCardError

SELECT_AID = bytes.fromhex("00A4040C07A0000002471001")


def test_connect_without_a_card() -> None:
    reader = SimulatedCardReader()
    assert not reader.card_present()
    with pytest.raises(NoCardError):
        reader.connect()


def test_place_connect_transmit() -> None:
    reader = SimulatedCardReader()
    reader.place(sample_chip(1))
    assert reader.card_present()
    assert reader.connect().transmit(SELECT_AID) == b"\x90\x00"


def test_removal_fails_the_transport() -> None:
    reader = SimulatedCardReader()
    reader.place(sample_chip(1))
    transport = reader.connect()
    reader.remove()
    with pytest.raises(CardRemovedError):
        transport.transmit(SELECT_AID)
    assert not reader.card_present()


def test_a_new_card_does_not_revive_an_old_transport() -> None:
    reader = SimulatedCardReader()
    chip = sample_chip(1)
    reader.place(chip)
    transport = reader.connect()
    reader.remove()
    reader.place(chip)  # even the same card placed again is a new session
    with pytest.raises(CardRemovedError):
        transport.transmit(SELECT_AID)
    assert reader.connect().transmit(SELECT_AID) == b"\x90\x00"


def test_disconnect_ends_the_transport() -> None:
    reader = SimulatedCardReader()
    reader.place(sample_chip(1))
    transport = reader.connect()
    reader.disconnect()
    with pytest.raises(CardRemovedError):
        transport.transmit(SELECT_AID)


def test_connect_resets_the_chip() -> None:
    reader = SimulatedCardReader()
    chip = sample_chip(1)
    reader.place(chip)
    transport = reader.connect()
    transport.transmit(SELECT_AID)
    transport.transmit(bytes.fromhex("0084000008"))
    transport = reader.connect()
    # No challenge any more: EXTERNAL AUTHENTICATE is out of sequence.
    assert transport.transmit(bytes.fromhex("0082000028" + "00" * 40 + "28"))[-2:] == b"\x69\x85"


def test_chip_leaving_the_field_is_a_removal() -> None:
    reader = SimulatedCardReader()
    events: list[bool] = []
    reader.add_observer(events.append)
    reader.place(sample_chip(1, faults=ChipFaults(lift_after_apdus=1)))
    transport = reader.connect()
    transport.transmit(SELECT_AID)
    with pytest.raises(CardRemovedError):
        transport.transmit(SELECT_AID)
    assert not reader.card_present()
    assert events == [False, True, False]


def test_new_observer_hears_the_current_state_at_once() -> None:
    reader = SimulatedCardReader()
    early: list[bool] = []
    reader.add_observer(early.append)
    assert early == [False]
    reader.place(sample_chip(2))
    late: list[bool] = []
    reader.add_observer(late.append)
    assert late == [True]  # a screen opened with the card already there sees it
    reader.remove()
    assert early == [False, True, False] and late == [True, False]


def test_removed_observer_hears_nothing_more() -> None:
    reader = SimulatedCardReader()
    events: list[bool] = []
    reader.add_observer(events.append)
    reader.remove_observer(events.append)
    reader.place(sample_chip(1))
    assert events == [False]


def test_a_failing_observer_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    reader = SimulatedCardReader()

    def broken(present: bool) -> None:
        raise RuntimeError("observer bug")

    events: list[bool] = []
    reader.add_observer(broken)
    reader.add_observer(events.append)
    reader.place(sample_chip(1))
    assert events == [False, True]
    assert "card observer failed" in caplog.text


def test_observer_may_call_back_into_the_reader() -> None:
    reader = SimulatedCardReader()
    seen: list[bool] = []
    reader.add_observer(lambda present: seen.append(reader.card_present()))
    reader.place(sample_chip(1))
    assert seen == [False, True]


def test_removing_an_empty_reader_is_quiet() -> None:
    reader = SimulatedCardReader()
    events: list[bool] = []
    reader.add_observer(events.append)
    reader.remove()
    assert events == [False]


def test_concurrent_place_and_remove_keep_observers_in_step() -> None:
    """Observers hear changes in the order they happened: the last event
    always matches the final state, whatever the interleaving."""
    reader = SimulatedCardReader()
    events: list[bool] = []
    reader.add_observer(events.append)
    chips = [sample_chip(1), sample_chip(2)]
    start = threading.Barrier(4)

    def toggler(index: int) -> None:
        start.wait()
        for i in range(200):
            if (i + index) % 2:
                reader.place(chips[index % 2])
            else:
                reader.remove()

    threads = [threading.Thread(target=toggler, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert events[-1] == reader.card_present()
    # A removal is only reported after a placement, never twice in a row.
    for before, after in zip(events[1:], events[2:]):
        assert before or after


def test_reading_while_another_thread_removes() -> None:
    """A read racing a removal ends in CardRemovedError or success, nothing else."""
    reader = SimulatedCardReader()
    reader.place(sample_chip(3))
    transport = reader.connect()
    outcomes: list[str] = []
    go = threading.Event()

    def read() -> None:
        go.wait()
        try:
            for _ in range(500):
                transport.transmit(SELECT_AID)
            outcomes.append("done")
        except CardRemovedError:
            outcomes.append("removed")

    t = threading.Thread(target=read)
    t.start()
    go.set()
    reader.remove()
    t.join()
    assert outcomes in (["done"], ["removed"])
    with pytest.raises(CardRemovedError):
        transport.transmit(SELECT_AID)
