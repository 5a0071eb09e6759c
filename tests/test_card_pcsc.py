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


# -- the monitor thread: insert/remove events and reader hot-plug ---------------------------------


class FakePcscService:
    """pcscd as smartcard.scard shows it, with readers that can be plugged,
    unplugged and given cards. SCardGetStatusChange blocks on a condition
    until something changed, like the real call waits on pcscd's events."""

    def __init__(self, readers: dict[str, bool], running: bool = True) -> None:
        import smartcard.scard as real
        import threading

        for name in dir(real):
            if name.startswith("SCARD_") and isinstance(getattr(real, name), int):
                setattr(self, name, getattr(real, name))
        self.SCardGetErrorMessage = real.SCardGetErrorMessage  # noqa: N815 (PC/SC name)
        self._cond = threading.Condition()
        self.readers = dict(readers)
        self.running = running
        self._cancelled: set[int] = set()
        self._next = 1

    def change(self, **what: object) -> None:
        with self._cond:
            if "running" in what:
                self.running = bool(what["running"])
            for name, present in dict(what.get("readers", {})).items():  # type: ignore[call-overload]
                if present is None:
                    self.readers.pop(name, None)
                else:
                    self.readers[name] = present
            self._cond.notify_all()

    def SCardEstablishContext(self, scope: int) -> tuple[int, int]:  # noqa: N802
        with self._cond:
            if not self.running:
                return self.SCARD_E_NO_SERVICE, 0
            self._next += 1
            return self.SCARD_S_SUCCESS, self._next

    def SCardReleaseContext(self, handle: int) -> int:  # noqa: N802
        return self.SCARD_S_SUCCESS

    def SCardCancel(self, handle: int) -> int:  # noqa: N802
        with self._cond:
            self._cancelled.add(handle)
            self._cond.notify_all()
        return self.SCARD_S_SUCCESS

    def SCardListReaders(self, handle: int, groups: list[str]) -> tuple[int, list[str]]:  # noqa: N802
        with self._cond:
            if not self.readers:
                return self.SCARD_E_NO_READERS_AVAILABLE, []
            return self.SCARD_S_SUCCESS, list(self.readers)

    def _current(self, reader: str) -> int | None:
        if reader == pcsc.PNP_NOTIFICATION:
            return len(self.readers) << 16
        if reader not in self.readers:
            return None
        return self.SCARD_STATE_PRESENT if self.readers[reader] else self.SCARD_STATE_EMPTY

    def SCardGetStatusChange(self, handle: int, timeout_ms: int, watched: list) -> tuple[int, list]:  # noqa: N802
        with self._cond:
            while True:
                if handle in self._cancelled:
                    return self.SCARD_E_CANCELLED, []
                if not self.running:
                    return self.SCARD_E_NO_SERVICE, []
                if any(self._current(r) is None for r, _ in watched):
                    return self.SCARD_E_UNKNOWN_READER, []
                now = [(r, self._current(r), known & ~self.SCARD_STATE_CHANGED) for r, known in watched]
                if any(cur != known for _, cur, known in now):
                    return self.SCARD_S_SUCCESS, [
                        (r, cur | (self.SCARD_STATE_CHANGED if cur != known else 0), []) for r, cur, known in now
                    ]
                if not self._cond.wait(timeout_ms / 1000):
                    return self.SCARD_E_TIMEOUT, []


READER_NAME = "ACS ACR1252 Dual Reader PICC 00 00"
EVENT_WAIT = 10.0  # upper bound for the monitor thread to pass an event on; it waits on conditions


def test_monitor_tells_a_new_observer_the_current_state_then_every_change(monkeypatch: pytest.MonkeyPatch) -> None:
    import queue

    service = FakePcscService({READER_NAME: True})
    monkeypatch.setattr(pcsc, "_scard", lambda: service)
    slot = PcscCardReader("PICC")
    first: queue.Queue[bool] = queue.Queue()
    slot.add_observer(first.put)
    try:
        assert first.get(timeout=EVENT_WAIT) is True  # the card was already on the reader
        service.change(readers={READER_NAME: False})
        assert first.get(timeout=EVENT_WAIT) is False
        service.change(readers={READER_NAME: True})
        assert first.get(timeout=EVENT_WAIT) is True
        late: queue.Queue[bool] = queue.Queue()
        slot.add_observer(late.put)
        assert late.get(timeout=EVENT_WAIT) is True  # a late observer hears the state at once
        slot.remove_observer(late.put)
        # Hot-plug: the reader is unplugged (card gone with it), then plugged in again with a card.
        service.change(readers={READER_NAME: None, "Other reader 01 00": False})
        assert first.get(timeout=EVENT_WAIT) is False
        service.change(readers={READER_NAME: True})
        assert first.get(timeout=EVENT_WAIT) is True
    finally:
        slot.remove_observer(first.put)
    assert slot._monitor is None and first.empty() and late.empty()


def test_monitor_survives_pcscd_stopping_and_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    import queue

    service = FakePcscService({READER_NAME: True}, running=False)
    monkeypatch.setattr(pcsc, "_scard", lambda: service)
    slot = PcscCardReader("PICC")
    events: queue.Queue[bool] = queue.Queue()
    slot.add_observer(events.put)
    try:
        assert events.get(timeout=EVENT_WAIT) is False  # no pcscd: no card can be read
        service.change(running=True)
        assert events.get(timeout=EVENT_WAIT) is True
        service.change(running=False)
        assert events.get(timeout=EVENT_WAIT) is False
    finally:
        slot.remove_observer(events.put)


def test_a_failing_observer_does_not_stop_the_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    import queue

    service = FakePcscService({READER_NAME: False})
    monkeypatch.setattr(pcsc, "_scard", lambda: service)
    slot = PcscCardReader("PICC")
    events: queue.Queue[bool] = queue.Queue()

    def broken(present: bool) -> None:
        raise RuntimeError("observer bug")

    slot.add_observer(broken)
    slot.add_observer(events.put)
    try:
        assert events.get(timeout=EVENT_WAIT) is False
        service.change(readers={READER_NAME: True})
        assert events.get(timeout=EVENT_WAIT) is True
    finally:
        slot.remove_observer(broken)
        slot.remove_observer(events.put)


class DroppedCancelService(FakePcscService):
    """pcsc-lite's SCardCancel as it really is: it wakes a wait that is under
    way and is dropped otherwise. The next SCardGetStatusChange can be held
    at a gate before it starts waiting, to put a stop() between the
    monitor's last look at its flag and its wait."""

    def __init__(self, readers: dict[str, bool]) -> None:
        import threading

        super().__init__(readers)
        self.waiting: set[int] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.at_gate = threading.Event()
        self.cancel_tried = threading.Event()

    def SCardCancel(self, handle: int) -> int:  # noqa: N802
        with self._cond:
            self.cancel_tried.set()
            if handle in self.waiting:
                self._cancelled.add(handle)
                self._cond.notify_all()
        return self.SCARD_S_SUCCESS

    def SCardGetStatusChange(self, handle: int, timeout_ms: int, watched: list) -> tuple[int, list]:  # noqa: N802
        if not self.gate.is_set():
            self.at_gate.set()
            assert self.gate.wait(EVENT_WAIT)
        with self._cond:
            self.waiting.add(handle)
        try:
            return super().SCardGetStatusChange(handle, timeout_ms, watched)
        finally:
            with self._cond:
                self.waiting.discard(handle)
                self._cancelled.discard(handle)


def test_stop_just_before_the_wait_still_ends_the_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancel that lands before SCardGetStatusChange begins is lost: stop()
    must cancel again, or the monitor sleeps out its whole (long) wait."""
    import queue
    import threading

    service = DroppedCancelService({READER_NAME: False})
    monkeypatch.setattr(pcsc, "_scard", lambda: service)
    slot = PcscCardReader("PICC")
    events: queue.Queue[bool] = queue.Queue()
    slot.add_observer(events.put)
    assert events.get(timeout=EVENT_WAIT) is False
    monitor = slot._monitor
    assert monitor is not None
    service.gate.clear()
    service.change(readers={READER_NAME: True})  # the monitor reports it, then comes back to wait
    assert events.get(timeout=EVENT_WAIT) is True
    assert service.at_gate.wait(EVENT_WAIT)
    stopper = threading.Thread(target=slot.remove_observer, args=(events.put,))
    stopper.start()
    assert service.cancel_tried.wait(EVENT_WAIT)  # stop() has cancelled while nothing waited
    service.gate.set()  # the monitor goes on into its wait
    stopper.join(EVENT_WAIT)
    assert not stopper.is_alive()
    assert not monitor._thread.is_alive()
    assert slot._monitor is None and events.empty()
