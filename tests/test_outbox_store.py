"""The durable outbox on real temporary SQLite files.

Only the SQLite edge is patched (to make it fail the way a full or broken
disk does); everything else runs as on the kiosk.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.clock import ManualClock
from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    HubReceipt,
    Identity,
    IdentitySource,
    InsuranceCheck,
    InsuranceStatus,
    Registration,
    Sex,
    Verification,
    VisitType,
)
from kiosk.errors import StorageError
from offline_cache.store import (
    ACKED,
    IN_FLIGHT,
    PENDING,
    REJECTED,
    SCHEMA_VERSION,
    DuplicateRegistration,
    OutboxStore,
)

KEY = bytes(range(32))
T0 = datetime(2026, 11, 23, 7, 30, tzinfo=VIETNAM_TZ)


def make_registration(key: str, *, department: str = "NOI", minutes: int = 0, kiosk_id: str = "K01") -> Registration:
    citizen = Citizen(
        id_number="001058012345",
        full_name="NGUYỄN VĂN AN",
        date_of_birth=date(1958, 7, 2),
        sex=Sex.MALE,
        old_id_number="011234567",
        place_of_residence="Số 12 Ngõ 45 Phố Hào Nam, Đống Đa, Hà Nội",
        date_of_issue=date(2021, 4, 10),
    )
    return Registration(
        key=key,
        kiosk_id=kiosk_id,
        identity=Identity(citizen, IdentitySource.CHIP, Verification.GENUINE, insurance_card_code="HT2010123456789"),
        insurance=InsuranceCheck(
            result_code="000",
            status=InsuranceStatus.VALID,
            message_vi="Thẻ hợp lệ",
            message_en="Card valid",
            card_code="HT2010123456789",
            registered_facility="01001",
            valid_from=date(2026, 1, 1),
            valid_to=date(2026, 12, 31),
        ),
        visit_type=VisitType.NEW,
        department_code=department,
        service_code="KB01",
        created_at=T0 + timedelta(minutes=minutes),
    )


def make_receipt(key: str, number: int = 12) -> HubReceipt:
    return HubReceipt(
        registration_key=key,
        queue_number=number,
        display_number=f"A-{number:03d}",
        episode_key=f"LK{number:06d}",
        room="P.101",
        estimated_wait_minutes=15,
        amount_due=0,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "outbox" / "outbox.sqlite3"


@pytest.fixture
def store(db_path, clock):
    s = OutboxStore(db_path, KEY, "K01", clock=clock)
    yield s
    s.close()


def raw_rows(db_path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the file with a separate plain connection: what is really committed."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- basics -------------------------------------------------------------------------


def test_add_then_get_round_trips_the_registration(store):
    registration = make_registration("r1")
    store.add(registration)

    loaded = store.get("r1")

    assert loaded == registration
    assert loaded.identity.citizen.full_name == "NGUYỄN VĂN AN"
    assert store.pending_count() == 1
    entry = store.entry("r1")
    assert (entry.status, entry.attempts, entry.printed_number, entry.receipt) == (PENDING, 0, None, None)
    assert entry.created_at == registration.created_at
    assert entry.department_code == "NOI"


def test_survives_reopening(db_path, clock):
    with OutboxStore(db_path, KEY, "K01", clock=clock) as first:
        first.add(make_registration("r1"))
    with OutboxStore(db_path, KEY, "K01", clock=clock) as second:
        assert second.get("r1") == make_registration("r1")
        assert second.pending_count() == 1


def test_database_is_wal_with_a_schema_version(store, db_path):
    assert raw_rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert raw_rows(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_unknown_key_is_a_key_error(store):
    with pytest.raises(KeyError):
        store.get("nope")
    with pytest.raises(KeyError):
        store.printed_number("nope")
    with pytest.raises(KeyError):
        store.claim("nope")
    with pytest.raises(KeyError):
        store.assign_offline_number("nope", "A", date(2026, 11, 23))


def test_registration_of_another_kiosk_is_refused(store):
    with pytest.raises(ValueError):
        store.add(make_registration("r1", kiosk_id="K02"))
    assert store.pending_count() == 0


# -- one transaction ------------------------------------------------------------------


def test_failure_between_the_two_writes_leaves_nothing(store, db_path):
    # An outbox row for "r1" without its registration (written behind the
    # store's back, foreign keys off) makes the *second* insert of add()
    # fail after the first succeeded inside the transaction.
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO outbox (key, status, attempts, next_attempt_at) VALUES ('r1', 'acked', 0, '2026-01-01')"
    )
    conn.commit()
    conn.close()

    with pytest.raises(DuplicateRegistration):
        store.add(make_registration("r1"))

    assert raw_rows(db_path, "SELECT COUNT(*) FROM registration") == [(0,)]
    # The store still works after the rolled-back transaction.
    store.add(make_registration("r2"))
    assert store.get("r2").key == "r2"


def test_adding_the_same_key_twice_is_refused_and_keeps_the_first(store, db_path):
    store.add(make_registration("r1", department="NOI"))
    with pytest.raises(DuplicateRegistration):
        store.add(make_registration("r1", department="NGOAI"))
    assert store.get("r1").department_code == "NOI"
    assert raw_rows(db_path, "SELECT COUNT(*) FROM outbox") == [(1,)]


# -- status transitions ------------------------------------------------------------------


def test_claim_batch_takes_due_pending_rows_oldest_first(store):
    for i in range(5):
        store.add(make_registration(f"r{i}", minutes=i))

    # Only rows created up to T0+2min are due at T0+2min.
    claimed = store.claim_batch(10, T0 + timedelta(minutes=2))
    assert claimed == ["r0", "r1", "r2"]
    assert {store.entry(k).status for k in claimed} == {IN_FLIGHT}
    # Claimed rows are not claimed again; the limit is respected.
    assert store.claim_batch(1, T0 + timedelta(hours=1)) == ["r3"]
    assert store.claim_batch(10, T0 + timedelta(hours=1)) == ["r4"]
    assert store.claim_batch(10, T0 + timedelta(hours=1)) == []
    assert store.pending_count() == 5  # in flight still counts as not delivered


def test_claim_is_exclusive(store):
    store.add(make_registration("r1"))
    assert store.claim("r1") is True
    assert store.claim("r1") is False
    assert store.claim_batch(10, T0 + timedelta(days=1)) == []


def test_release_reschedules_with_one_more_attempt(store):
    store.add(make_registration("r1"))
    store.claim("r1")
    later = T0 + timedelta(seconds=30)

    assert store.release("r1", "hub unavailable: timeout", later) is True

    entry = store.entry("r1")
    assert (entry.status, entry.attempts, entry.last_error) == (PENDING, 1, "hub unavailable: timeout")
    assert entry.next_attempt_at == later
    assert store.claim_batch(10, later - timedelta(seconds=1)) == []
    assert store.claim_batch(10, later) == ["r1"]
    # Given back unsent: the attempt count and the last error stay.
    store.release("r1", None, later, attempted=False)
    assert (store.entry("r1").attempts, store.entry("r1").last_error) == (1, "hub unavailable: timeout")


def test_release_never_revives_an_acked_row(store):
    store.add(make_registration("r1"))
    store.claim("r1")
    store.acknowledge("r1", make_receipt("r1"))
    assert store.release("r1", "late", T0) is False
    assert store.entry("r1").status == ACKED


def test_acknowledge_keeps_the_receipt(store, clock):
    store.add(make_registration("r1"))
    store.claim("r1")
    clock.advance(5)

    assert store.acknowledge("r1", make_receipt("r1", 12)) is True

    assert store.receipt("r1") == make_receipt("r1", 12)
    entry = store.entry("r1")
    assert entry.status == ACKED and entry.acked_at == T0 + timedelta(seconds=5)
    assert store.pending_count() == 0
    # A second acknowledgement keeps the first receipt.
    store.acknowledge("r1", make_receipt("r1", 99))
    assert store.receipt("r1").queue_number == 12


def test_acknowledge_refuses_someone_elses_receipt(store):
    store.add(make_registration("r1"))
    with pytest.raises(ValueError):
        store.acknowledge("r1", make_receipt("r2"))


def test_reject_keeps_the_reason_for_technicians(store):
    store.add(make_registration("r1"))
    store.add(make_registration("r2", minutes=1))
    store.claim("r1")

    assert store.reject("r1", "service KB01 not offered today") is True

    assert store.entry("r1").status == REJECTED
    assert store.pending_count() == 1
    assert store.claim("r1") is False  # never retried by itself
    (rejected,) = store.rejected()
    assert rejected.key == "r1"
    assert rejected.reason == "service KB01 not offered today"
    assert rejected.created_at == T0
    # The technician view carries no personal data at all.
    assert "NGUY" not in repr(store.rejected())


def test_requeue_puts_a_rejected_row_back(store):
    store.add(make_registration("r1"))
    store.reject("r1", "hub misconfigured")
    assert store.requeue("r1") is True
    assert store.entry("r1").status == PENDING
    assert store.claim_batch(5, T0) == ["r1"]


def test_rejection_after_an_ack_is_ignored(store):
    store.add(make_registration("r1"))
    store.acknowledge("r1", make_receipt("r1"))
    assert store.reject("r1", "too late") is False
    assert store.entry("r1").status == ACKED


_CRASHING_KIOSK = """
import os, sys
from datetime import timedelta
sys.path[:0] = [{root!r}, {tests!r}]
from kiosk.clock import ManualClock
from offline_cache.store import OutboxStore
from test_outbox_store import KEY, T0, make_receipt, make_registration

store = OutboxStore({path!r}, KEY, "K01", clock=ManualClock(T0))
for i in range(3):
    store.add(make_registration(f"r{{i}}", minutes=i))
store.claim_batch(2, T0 + timedelta(hours=1))
store.acknowledge("r1", make_receipt("r1"))
os._exit(0)  # the power goes: no close, no checkpoint, no cleanup
"""


def test_rows_in_flight_at_a_crash_are_pending_again_at_open(db_path, clock):
    root = Path(__file__).resolve().parent.parent
    script = _CRASHING_KIOSK.format(root=str(root), tests=str(root / "tests"), path=str(db_path))
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert raw_rows(db_path, "SELECT key FROM outbox WHERE status = 'in_flight'") == [("r0",)]

    with OutboxStore(db_path, KEY, "K01", clock=clock) as reopened:
        assert reopened.entry("r0").status == PENDING
        assert reopened.entry("r1").status == ACKED
        assert reopened.entry("r2").status == PENDING
        assert reopened.claim_batch(10, T0 + timedelta(hours=1)) == ["r0", "r2"]


def test_ack_after_an_offline_number_was_printed_meanwhile_resends(store):
    # The patient's wait ran out while the hub was still answering: a
    # number was printed, so the hub must hear about it before the row is done.
    store.add(make_registration("r1"))
    store.claim("r1")
    printed = store.assign_offline_number("r1", "A", date(2026, 11, 23))

    assert store.acknowledge("r1", make_receipt("r1"), sent_printed_number=None) is False
    assert store.entry("r1").status == PENDING

    store.claim("r1")
    assert store.acknowledge("r1", make_receipt("r1"), sent_printed_number=printed) is True
    assert store.entry("r1").status == ACKED


# -- offline numbers -------------------------------------------------------------------


def test_offline_numbers_are_sequential_per_department_and_day(store):
    day = date(2026, 11, 23)
    for i in range(4):
        store.add(make_registration(f"a{i}", minutes=i))
    store.add(make_registration("b0", department="NGOAI"))
    store.add(make_registration("next-day", minutes=24 * 60))

    assert store.assign_offline_number("a0", "A", day) == "K01-A001"
    assert store.assign_offline_number("a1", "A", day) == "K01-A002"
    assert store.assign_offline_number("b0", "B", day) == "K01-B001"
    assert store.assign_offline_number("a2", "A", day) == "K01-A003"
    assert store.assign_offline_number("next-day", "A", day + timedelta(days=1)) == "K01-A001"
    # Stable per key: asking again never uses up another number.
    assert store.assign_offline_number("a1", "A", day) == "K01-A002"
    assert store.assign_offline_number("a3", "A", day) == "K01-A004"
    assert store.printed_number("a3") == "K01-A004"
    assert store.printed_number("b0") == "K01-B001"


def test_offline_numbers_carry_the_kiosk_prefix_and_survive_restart(db_path, clock):
    day = date(2026, 11, 23)
    with OutboxStore(db_path, KEY, "K07", kiosk_prefix="K07", clock=clock) as first:
        first.add(make_registration("r1", kiosk_id="K07"))
        first.add(make_registration("r2", kiosk_id="K07"))
        assert first.assign_offline_number("r1", "A", day) == "K07-A001"
    with OutboxStore(db_path, KEY, "K07", kiosk_prefix="K07", clock=clock) as second:
        assert second.assign_offline_number("r2", "A", day) == "K07-A002"
        assert second.assign_offline_number("r1", "A", day) == "K07-A001"


def test_offline_number_on_an_acked_row_sends_it_again(store):
    store.add(make_registration("r1"))
    store.acknowledge("r1", make_receipt("r1"))
    number = store.assign_offline_number("r1", "A", date(2026, 11, 23))
    entry = store.entry("r1")
    assert (entry.status, entry.printed_number) == (PENDING, number)


# -- retention ------------------------------------------------------------------------


def test_purge_removes_only_old_acknowledged_rows(store, db_path, clock):
    for i in range(4):
        store.add(make_registration(f"r{i}", minutes=i))
    store.acknowledge("r0", make_receipt("r0"))
    store.acknowledge("r1", make_receipt("r1"))
    store.reject("r2", "refused")  # kept: a technician must see it
    # r3 stays pending: not delivered, never purged.
    store.assign_offline_number("r3", "A", T0.date())
    clock.advance(3 * 24 * 3600)
    store.add(make_registration("r4", minutes=3 * 24 * 60))
    store.acknowledge("r4", make_receipt("r4"))  # acked recently

    clock.advance(5 * 24 * 3600)  # now r0/r1 were acked 8 days ago, r4 5 days ago
    assert store.purge_acknowledged() == 2

    for key in ("r0", "r1"):
        with pytest.raises(KeyError):
            store.get(key)
    assert {k for (k,) in raw_rows(db_path, "SELECT key FROM registration")} == {"r2", "r3", "r4"}
    assert {k for (k,) in raw_rows(db_path, "SELECT key FROM outbox")} == {"r2", "r3", "r4"}
    # Yesterday's counters are gone with them.
    assert raw_rows(db_path, "SELECT COUNT(*) FROM offline_number") == [(0,)]
    # An explicit cutoff.
    assert store.purge_acknowledged(older_than=clock.now()) == 1
    assert store.pending_count() == 1


# -- failing storage ------------------------------------------------------------------


class _DiskFullOnOutboxInsert(sqlite3.Connection):
    """A real SQLite connection whose disk "fills up" at the outbox insert.

    The registration insert before it really runs inside the transaction,
    so this checks that the rollback removes it.
    """

    armed = False

    def execute(self, sql, *args):  # noqa: ANN001, ANN201 - sqlite3 signature
        if type(self).armed and sql.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


def test_disk_full_between_the_two_writes_is_a_storage_error_and_loses_nothing(db_path, clock, monkeypatch):
    real_connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda *a, **kw: real_connect(*a, factory=_DiskFullOnOutboxInsert, **kw)
    )
    monkeypatch.setattr(_DiskFullOnOutboxInsert, "armed", False)
    store = OutboxStore(db_path, KEY, "K01", clock=clock)
    try:
        store.add(make_registration("kept"))
        _DiskFullOnOutboxInsert.armed = True

        with pytest.raises(StorageError, match="disk is full"):
            store.add(make_registration("lost"))

        assert raw_rows(db_path, "SELECT key FROM registration") == [("kept",)]
        assert raw_rows(db_path, "SELECT key FROM outbox") == [("kept",)]
        # Once space is back, the same registration goes in normally.
        _DiskFullOnOutboxInsert.armed = False
        store.add(make_registration("lost"))
        assert store.pending_count() == 2
    finally:
        store.close()


def test_a_really_full_database_is_a_storage_error_and_earlier_rows_survive(db_path, clock, monkeypatch):
    # SQLite's own SQLITE_FULL, made real by capping the file size
    # (PRAGMA max_page_count) on the store's connection.
    connections: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def capture(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        connections.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", capture)
    store = OutboxStore(db_path, KEY, "K01", clock=clock)
    try:
        (page_count,) = connections[0].execute("PRAGMA page_count").fetchone()
        connections[0].execute(f"PRAGMA max_page_count = {page_count + 6}")
        stored = []
        with pytest.raises(StorageError, match="disk is full"):
            for i in range(500):  # bounded: the cap is reached long before
                store.add(make_registration(f"r{i:03d}", minutes=i))
                stored.append(f"r{i:03d}")
        assert stored, "the cap left room for at least one registration"
        assert store.pending_count() == len(stored)
    finally:
        store.close()

    monkeypatch.setattr(sqlite3, "connect", real_connect)
    with OutboxStore(db_path, KEY, "K01", clock=clock) as reopened:
        assert [reopened.get(k).key for k in stored] == stored
        assert raw_rows(db_path, "SELECT COUNT(*) FROM registration") == [(len(stored),)]
        assert reopened.pending_count() == len(stored)


def test_read_only_database_is_a_storage_error(db_path, clock, monkeypatch):
    with OutboxStore(db_path, KEY, "K01", clock=clock) as store:
        store.add(make_registration("r1"))
    # The connection SQLite gives on a read-only mount or file: every write
    # fails with SQLITE_READONLY.
    real_connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda _path, **kw: real_connect(f"file:{db_path}?mode=ro", uri=True, **kw)
    )
    with pytest.raises(StorageError, match="read-only"):
        OutboxStore(db_path, KEY, "K01", clock=clock)


def test_schema_newer_than_the_software_is_refused(db_path, clock):
    OutboxStore(db_path, KEY, "K01", clock=clock).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        OutboxStore(db_path, KEY, "K01", clock=clock)


def test_only_one_store_may_have_the_file_open(db_path, clock):
    first = OutboxStore(db_path, KEY, "K01", clock=clock)
    try:
        with pytest.raises(StorageError, match="already open"):
            OutboxStore(db_path, KEY, "K01", clock=clock)
    finally:
        first.close()
    OutboxStore(db_path, KEY, "K01", clock=clock).close()  # free again once closed


def test_a_closed_store_says_so(db_path, clock):
    store = OutboxStore(db_path, KEY, "K01", clock=clock)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StorageError, match="closed"):
        store.pending_count()
