"""Database engines and the few dialect-specific statements the hub needs.

Two databases are supported, and only two: SQLite (a file, the default) and
PostgreSQL. Both understand `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`,
which is how the hub increments a queue counter and reads the new value in
one statement inside the registration's transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC.

    SQLite has no time zones and hands back naive values; PostgreSQL's
    timestamptz answers in the session zone. Storing UTC and re-attaching it
    on the way out gives the same aware values on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(timezone.utc)
        # SQLite would store the "+00:00" suffix as text and compare strings;
        # keep it naive there so ordering and range queries work.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def create_hub_engine(url: str, *, writer_queue: bool = True) -> Engine:
    """An engine tuned for the hub's many short write transactions.

    hide_parameters: SQLAlchemy puts statement parameters (names, ID numbers)
    into exception messages, and exception messages reach logs.

    writer_queue (SQLite only): transactions of this process on this file
    take turns in arrival order (`WriterQueue`) before BEGIN IMMEDIATE,
    instead of polling SQLite's busy handler. False keeps the busy handler
    alone (the bench's baseline).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            hide_parameters=True,
            # Connections come from a pool and are used by one thread at a
            # time; the sqlite3 module's same-thread check would refuse that.
            connect_args={"check_same_thread": False, "timeout": 30, "factory": _QueuedConnection},
            pool_size=10,
            max_overflow=20,
        )
        queue = writer_queue_for(database) if writer_queue and database and database != ":memory:" else None
        _make_sqlite_transactions_immediate(engine, queue)
        return engine
    if backend == "postgresql":
        return create_engine(url, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


# How long a transaction waits for its turn in the writer queue: the same
# 30 s the busy handler is given, so a stuck writer fails the same way.
_WRITER_WAIT_SECONDS = 30.0


class WriterQueue:
    """A first-come, first-served lock for one SQLite file within a process.

    Why: every hub transaction on SQLite starts with BEGIN IMMEDIATE, and
    while one holds the write lock the others get SQLITE_BUSY and sleep in
    SQLite's busy handler (sqlite3.c sqliteDefaultBusyCallback: 1, 2, 5, 10,
    15, 20, 25, 25, 25, 50, 50, then 100 ms a time, re-trying only when a
    sleep ends). A waiter that has fallen into the 100 ms steps keeps losing
    the lock to newer arrivals that poll at 1-2 ms, so under 20 kiosks a few
    requests waited several seconds while the median stayed at milliseconds
    (bench/hub_load.py). Here a waiter is handed the lock the moment the
    previous transaction ends, in arrival order, so a request waits for the
    ones ahead of it and no longer.

    It orders the transactions of one process only; another process on the
    same file (`kiosk-hub` admin commands, a second worker) still meets the
    busy handler, which stays configured as the backstop.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait for this thread's turn; False after `timeout` (default 30 s)."""
        timeout = _WRITER_WAIT_SECONDS if timeout is None else timeout
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out: ours after all
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                # Hand over directly: the lock stays held, so nobody arriving
                # now can overtake the longest waiter.
                self._waiters.popleft().set()
            else:
                self._held = False


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue_for(database: str) -> WriterQueue:
    """The process's one queue for a database file (every engine on it shares it)."""
    key = os.path.realpath(database)
    with _queues_lock:
        return _queues.setdefault(key, WriterQueue())


class _QueuedConnection(sqlite3.Connection):
    """A sqlite3 connection that gives its writer-queue turn back when its
    transaction ends (commit, rollback, or close), after SQLite has."""

    writer_queue: WriterQueue | None = None
    holds_turn = False

    def _give_back(self) -> None:
        if self.holds_turn and self.writer_queue is not None:
            self.holds_turn = False
            self.writer_queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


def _make_sqlite_transactions_immediate(engine: Engine, queue: WriterQueue | None = None) -> None:
    """Start every SQLite transaction with BEGIN IMMEDIATE.

    With the default deferred BEGIN a transaction that first reads (is this
    key known?) and then writes (take a queue number) can fail with
    SQLITE_BUSY at the upgrade from reader to writer, without the busy
    timeout helping, when another connection wrote in between. Taking the
    write lock up front makes concurrent registrations wait their turn
    instead. The recipe is SQLAlchemy's own ("Serializable isolation /
    Savepoints / Transactional DDL" in the pysqlite dialect notes): switch the
    driver's implicit transactions off and emit BEGIN ourselves.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers go on while one writer commits; foreign keys are
        # off by default in SQLite; NORMAL sync is durable in WAL mode except
        # for the last transactions on power loss of the whole machine.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if queue is None or not isinstance(dbapi_connection, _QueuedConnection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        if not queue.acquire():
            # The same error, wrapped the same way, as SQLite's own busy
            # timeout gives: callers handle one kind of "locked".
            raise exc.OperationalError(
                "BEGIN IMMEDIATE",
                None,
                sqlite3.OperationalError("database is locked (no turn in the hub's writer queue in time)"),
            )
        dbapi_connection.writer_queue = queue
        dbapi_connection.holds_turn = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_connection._give_back()
            raise


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: handlers read attributes after the commit to
    # build their answer; a reload per attribute would be wasted round trips.
    return sessionmaker(engine, expire_on_commit=False)


def upsert(session: Session, table: Any) -> Any:
    """`insert(table)` of the session's dialect, which has on_conflict_do_update."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database {name!r}")
