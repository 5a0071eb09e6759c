"""kiosk.desk.CardWatcher on a real PC/SC reader: pcscd + vpcd + a simulated chip.

The watcher follows PcscCardReader's insert/remove events (its monitor
waits in SCardGetStatusChange), not a poll; the desk reads the chip on the
watcher's thread, and a card that leaves the field mid-read takes the
"card pulled" path. Runs through packaging/test-services.sh
(KIOSK_TEST_PCSCD=1, this run's vpcd slot in KIOSK_TEST_VPCD_PORT).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.card.chip_sim import ChipFaults
from drivers.card.pcsc import PcscCardReader
from drivers.card.samples import sample_chip, sample_citizen
from drivers.card.vpcd import VirtualCardBridge
from kiosk.desk import CardWatcher
from vpcd_support import vpcd_port, vpcd_reader

pytestmark = [
    pytest.mark.pcscd,
    pytest.mark.skipif(
        os.environ.get("KIOSK_TEST_PCSCD") != "1",
        reason="needs pcscd with the vpcd driver: run through packaging/test-services.sh (sets KIOSK_TEST_PCSCD=1)",
    ),
]

READER = vpcd_reader()
WAIT = 20.0  # upper bound for pcscd to notice a card; the tests wait on its events


class CountingPcscReader(PcscCardReader):
    """The real PC/SC reader, counting presence polls (a probe, not a fake)."""

    polls = 0

    def card_present(self) -> bool:
        self.polls += 1
        return super().card_present()


@pytest.fixture(scope="module")
def bridge() -> Iterator[VirtualCardBridge]:
    usability = PcscCardReader.is_usable()
    if not usability:
        pytest.fail(f"KIOSK_TEST_PCSCD=1 but PC/SC is not usable: {usability.reason}")
    if PcscCardReader(READER).reader_name() is None:
        pytest.fail(f"no PC/SC reader {READER!r} for vpcd port {vpcd_port()}: {PcscCardReader.list_readers()}")
    b = VirtualCardBridge(host="127.0.0.1", port=vpcd_port())
    b.start()
    yield b
    b.remove()
    assert PcscCardReader(READER).wait_for_removal(WAIT)
    b.stop()


def _calls() -> tuple[queue.Queue[tuple[str, str]], object, object]:
    calls: queue.Queue[tuple[str, str]] = queue.Queue()

    def placed() -> None:
        calls.put(("placed", threading.current_thread().name))

    def removed() -> None:
        calls.put(("removed", threading.current_thread().name))

    return calls, placed, removed


def test_watcher_follows_pcscd_events_without_polling(bridge: VirtualCardBridge) -> None:
    reader = CountingPcscReader(READER)
    bridge.insert(sample_chip(1))
    assert bridge.wait_connected(WAIT) and reader.wait_for_card(WAIT)
    reader.polls = 0
    calls, placed, removed = _calls()
    watcher = CardWatcher(reader, placed, removed, interval=0.001)
    watcher.start()
    try:
        assert calls.get(timeout=WAIT) == ("placed", "card-watcher")  # the card already there
        assert watcher.mode == "events"
        bridge.remove()
        assert calls.get(timeout=WAIT) == ("removed", "card-watcher")
        bridge.insert(sample_chip(2))
        assert calls.get(timeout=WAIT) == ("placed", "card-watcher")
        bridge.remove()
        assert calls.get(timeout=WAIT) == ("removed", "card-watcher")
    finally:
        watcher.stop()
    assert reader.polls == 0  # every change came from pcscd's events
    assert watcher.mode == "stopped"
    assert reader._monitor is None  # the last observer gone: the monitor thread ended
    assert calls.empty()


@pytest.fixture
def kiosk(tmp_path: Path, bridge: VirtualCardBridge):
    from drivers.printer.raster import ensure_qt_gui_application
    from kiosk.config import load_config
    from launcher.wiring import build_kiosk

    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_CAMERA_BACKEND": "none",
            "KIOSK_CARD_BACKEND": "pcsc",
            "KIOSK_CARD_READER": READER,
            "KIOSK_CARD_TRUST_STORE": "test",
        },
    )
    k = build_kiosk(config)
    k.start()
    yield k
    k.stop()
    bridge.remove()
    assert PcscCardReader(READER).wait_for_removal(WAIT)


def test_desk_through_pcscd_card_pulled_then_read(kiosk, bridge: VirtualCardBridge) -> None:  # noqa: ANN001
    from kiosk.flow import Step
    from launcher.wiring import cccd_qr_text

    seen: queue.Queue[tuple[object, str]] = queue.Queue()
    kiosk.flow.subscribe(lambda state: seen.put((state, threading.current_thread().name)))

    def until(step: Step) -> list[tuple[object, str]]:
        got = []
        while True:
            state, thread = seen.get(timeout=WAIT)
            got.append((state, thread))
            if state.step is step and not state.busy:
                return got

    kiosk.desk.begin()
    kiosk.desk.qr_scanned(cccd_qr_text(sample_citizen(3)))
    bridge.insert(sample_chip(3, faults=ChipFaults(lift_after_apdus=12)))  # leaves the field mid-read
    got = until(Step.ERROR)
    assert kiosk.flow.state.error.code == "card_removed"
    assert {thread for state, thread in got if state.busy} == {"card-watcher"}
    assert kiosk.card_watcher.mode == "events"

    # pcscd notices a card by asking the vpcd slot every 400 ms (pcsc-lite's
    # PCSCLITE_STATUS_POLL_RATE): a card put back before then was never
    # "removed" for PC/SC. The patient's card is lifted, then placed again.
    assert PcscCardReader(READER).wait_for_removal(WAIT)
    kiosk.desk.retry()
    bridge.insert(sample_chip(3))
    got = until(Step.IDENTITY_CHECK)
    identity = kiosk.flow.state.session.identity
    assert identity.citizen.id_number == sample_citizen(3)["id_number"]
    assert identity.verification.value == "genuine"
    assert {thread for state, thread in got if state.busy} == {"card-watcher"}
