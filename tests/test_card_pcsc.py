"""PcscCardReader without pcscd: availability reporting and how pyscard's
errors become kiosk errors. pyscard itself is the operating-system edge
here, so it is what the fakes stand in for."""

from __future__ import annotations

import pytest
from smartcard.Exceptions import CardConnectionException, NoCardException

from drivers.card import pcsc
from drivers.card.pcsc import PcscCardReader, Usability, _PcscTransport
from kiosk.errors import CardError, CardRemovedError, NoCardError


class FakeConnection:
    def __init__(self, answers: list[tuple[list[int], int, int] | Exception]) -> None:
        self.answers = answers
        self.sent: list[list[int]] = []
        self.closed = False

    def transmit(self, apdu: list[int]) -> tuple[list[int], int, int]:
        self.sent.append(apdu)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def connect(self) -> None:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer

    def disconnect(self) -> None:
        self.closed = True

    def release(self) -> None:
        pass


def _transport(answers: list) -> tuple[_PcscTransport, FakeConnection]:
    import threading

    conn = FakeConnection(answers)
    return _PcscTransport(conn, threading.Lock()), conn


def test_usability_is_falsy_when_unusable() -> None:
    assert not Usability(False, "pcscd is not running")
    assert Usability(True, "ok")


def test_transmit_joins_data_and_status() -> None:
    transport, conn = _transport([([0xAA, 0xBB], 0x90, 0x00)])
    assert transport.transmit(bytes.fromhex("00B0000002")) == bytes.fromhex("AABB9000")
    assert conn.sent == [[0x00, 0xB0, 0x00, 0x00, 0x02]]


def test_t0_more_data_is_fetched_with_get_response() -> None:
    transport, conn = _transport([([0x01], 0x61, 0x02), ([0x02, 0x03], 0x90, 0x00)])
    assert transport.transmit(b"\x00\xb0\x00\x00\x00") == bytes.fromhex("0102039000")
    assert conn.sent[1] == [0x00, 0xC0, 0x00, 0x00, 0x02]


@pytest.mark.parametrize("error", [CardConnectionException("gone"), NoCardException("gone", hresult=0)])
def test_exchange_failures_are_card_removed(error: Exception) -> None:
    transport, _ = _transport([error])
    with pytest.raises(CardRemovedError):
        transport.transmit(b"\x00\xa4\x04\x0c")


def test_closed_transport() -> None:
    transport, conn = _transport([])
    transport.close()
    assert conn.closed
    with pytest.raises(CardRemovedError):
        transport.transmit(b"\x00\xa4\x04\x0c")


def test_is_usable_without_pyscard(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ImportError("No module named 'smartcard'", name="smartcard")

    monkeypatch.setattr(pcsc, "_scard", missing)
    usability = PcscCardReader.is_usable()
    assert not usability and "pyscard is not installed" in usability.reason


def test_is_usable_without_pcscd(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoService:
        def __init__(self) -> None:
            raise CardError("PC/SC service unavailable: Service not available.")

    monkeypatch.setattr(pcsc, "_Context", NoService)
    usability = PcscCardReader.is_usable()
    assert not usability and "pcscd is not running" in usability.reason


class FakeReader:
    def __init__(self, name: str, connection: FakeConnection) -> None:
        self.name = name
        self.connection = connection

    def __str__(self) -> str:
        return self.name

    def createConnection(self) -> FakeConnection:  # noqa: N802 - pyscard's name
        return self.connection


@pytest.mark.parametrize(
    ("error", "expected"),
    [(NoCardException("no card", hresult=0), NoCardError), (CardConnectionException("mute"), NoCardError)],
)
def test_connect_failures_are_no_card(monkeypatch: pytest.MonkeyPatch, error: Exception, expected: type) -> None:
    import smartcard.System

    reader = FakeReader("Virtual PCD 00 00", FakeConnection([error]))
    monkeypatch.setattr(PcscCardReader, "list_readers", staticmethod(lambda: ["Virtual PCD 00 00"]))
    monkeypatch.setattr(smartcard.System, "readers", lambda: [reader])
    with pytest.raises(expected):
        PcscCardReader("virtual pcd").connect()


def test_connect_and_disconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    import smartcard.System

    connection = FakeConnection([None, ([], 0x90, 0x00)])  # connect() succeeds, then one APDU
    reader = FakeReader("ACS ACR1252 Dual Reader PICC 00 00", connection)
    monkeypatch.setattr(PcscCardReader, "list_readers", staticmethod(lambda: [reader.name, "Other 01 00"]))
    monkeypatch.setattr(smartcard.System, "readers", lambda: [reader])
    slot = PcscCardReader("PICC")
    transport = slot.connect()
    assert slot.name == reader.name
    assert transport.transmit(b"\x00\xa4\x04\x0c") == b"\x90\x00"
    slot.disconnect()
    assert connection.closed


def test_no_matching_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PcscCardReader, "list_readers", staticmethod(lambda: ["Other 01 00"]))
    with pytest.raises(CardError, match="no PC/SC reader matching"):
        PcscCardReader("Virtual PCD").connect()
