"""VirtualCardBridge speaks the vpcd protocol: checked against a stand-in for
pcscd's vpcd driver listening on 127.0.0.1 (an ephemeral port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from drivers.card.chip_sim import ChipFaults
from drivers.card.samples import sample_chip
from drivers.card.vpcd import VirtualCardBridge, pseudo_atr

SELECT_AID = bytes.fromhex("00A4040C07A0000002471001")
IO_TIMEOUT = 10.0  # a safety net against hangs, never a pass/fail condition


class FakeVpcd:
    """The server side of the vpcd protocol, as pcscd's driver runs it."""

    def __init__(self, server: socket.socket) -> None:
        self.server = server
        self.conn: socket.socket | None = None

    def accept(self) -> None:
        self.conn, _ = self.server.accept()
        self.conn.settimeout(IO_TIMEOUT)

    def send(self, payload: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(len(payload).to_bytes(2, "big") + payload)

    def receive(self) -> bytes | None:
        header = self._exact(2)
        if header is None:
            return None
        return self._exact(int.from_bytes(header, "big"))

    def ask(self, payload: bytes) -> bytes | None:
        self.send(payload)
        return self.receive()

    def _exact(self, n: int) -> bytes | None:
        assert self.conn is not None
        buf = b""
        while len(buf) < n:
            part = self.conn.recv(n - len(buf))
            if not part:
                return None
            buf += part
        return buf

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@pytest.fixture
def vpcd() -> Iterator[FakeVpcd]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(IO_TIMEOUT)
    fake = FakeVpcd(server)
    yield fake
    fake.close()
    server.close()


@pytest.fixture
def bridge(vpcd: FakeVpcd) -> Iterator[VirtualCardBridge]:
    port = vpcd.server.getsockname()[1]
    b = VirtualCardBridge(host="127.0.0.1", port=port)
    b.start()
    yield b
    b.stop()


def test_pseudo_atr() -> None:
    assert pseudo_atr() == bytes.fromhex("3B80800101")
    hb = bytes.fromhex("8031")
    atr = pseudo_atr(hb)
    assert atr[:4] == bytes.fromhex("3B828001") and atr[4:6] == hb
    tck = 0
    for b in atr[1:]:
        tck ^= b
    assert tck == 0  # TCK makes the XOR of T0..TCK zero (ISO/IEC 7816-3 §8.2.5)
    with pytest.raises(ValueError):
        pseudo_atr(bytes(16))


def test_atr_power_and_apdus(vpcd: FakeVpcd, bridge: VirtualCardBridge) -> None:
    bridge.insert(sample_chip(1))
    vpcd.accept()
    assert bridge.wait_connected(IO_TIMEOUT)
    assert vpcd.ask(b"\x04") == bytes.fromhex("3B80800101")
    vpcd.send(b"\x01")  # power on: no answer
    assert vpcd.ask(SELECT_AID) == b"\x90\x00"
    assert vpcd.ask(bytes.fromhex("00A4000C023F00")) == b"\x6d\x00"
    vpcd.send(b"\x02")  # reset: no answer
    assert len(vpcd.ask(bytes.fromhex("0084000008")) or b"") == 2  # no application selected after reset
    assert bridge.apdus_relayed == 3


def test_remove_closes_the_link(vpcd: FakeVpcd, bridge: VirtualCardBridge) -> None:
    bridge.insert(sample_chip(2))
    vpcd.accept()
    assert vpcd.ask(SELECT_AID) == b"\x90\x00"
    bridge.remove()
    assert vpcd.receive() is None  # EOF: to pcscd the card is gone
    assert not bridge.connected


def test_insert_again_reconnects(vpcd: FakeVpcd, bridge: VirtualCardBridge) -> None:
    bridge.insert(sample_chip(2))
    vpcd.accept()
    bridge.remove()
    assert vpcd.receive() is None
    vpcd.close()
    bridge.insert(sample_chip(3))
    vpcd.accept()
    assert vpcd.ask(SELECT_AID) == b"\x90\x00"


def test_card_leaving_the_field_drops_the_link_without_an_answer(vpcd: FakeVpcd, bridge: VirtualCardBridge) -> None:
    bridge.insert(sample_chip(1, faults=ChipFaults(lift_after_apdus=1)))
    vpcd.accept()
    assert vpcd.ask(SELECT_AID) == b"\x90\x00"
    assert vpcd.ask(SELECT_AID) is None
    assert bridge.wait_connected(0) is False


def test_bridge_keeps_trying_until_vpcd_listens() -> None:
    # Find a free port, then start listening only after the bridge started.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    b = VirtualCardBridge(sample_chip(4), host="127.0.0.1", port=port)
    b.start()
    try:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)
        server.settimeout(IO_TIMEOUT)
        fake = FakeVpcd(server)
        fake.accept()
        assert fake.ask(b"\x04") == bytes.fromhex("3B80800101")
        fake.close()
        server.close()
    finally:
        b.stop()


def test_stop_ends_the_thread_and_the_link(vpcd: FakeVpcd) -> None:
    b = VirtualCardBridge(sample_chip(1), host="127.0.0.1", port=vpcd.server.getsockname()[1])
    b.start()
    vpcd.accept()
    b.stop()
    assert vpcd.receive() is None
    assert b._thread is None
