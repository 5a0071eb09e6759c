"""Database engines and the few dialect-specific statements the hub needs.

Two databases are supported, and only two: SQLite (a file, the default) and
PostgreSQL. Both understand `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`,
which is how the hub increments a queue counter and reads the new value in
one statement inside the registration's transaction.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
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


def create_hub_engine(url: str) -> Engine:
    """An engine tuned for the hub's many short write transactions.

    hide_parameters: SQLAlchemy puts statement parameters (names, ID numbers)
    into exception messages, and exception messages reach logs.
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
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=10,
            max_overflow=20,
        )
        _make_sqlite_transactions_immediate(engine)
        return engine
    if backend == "postgresql":
        return create_engine(url, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _make_sqlite_transactions_immediate(engine: Engine) -> None:
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
