"""The SQLite hub's writer queue (server.db.WriterQueue): turns in arrival
order, given back however a transaction ends, and a clear error, losing
nothing, when a turn does not come. Real SQLite files; no timings: waits
are on events and bounded."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

import server.db
from server.db import WriterQueue, create_hub_engine, writer_queue_for


def _wait_until(condition, limit: int = 5000) -> None:
    """Poll a condition another thread makes true; bounded, not timed."""
    ready = threading.Event()
    for _ in range(limit):
        if condition():
            return
        ready.wait(0.001)
    raise AssertionError("condition never became true")


def test_waiters_get_their_turn_in_arrival_order() -> None:
    queue = WriterQueue()
    assert queue.acquire()
    order: list[int] = []

    def writer(n: int) -> None:
        assert queue.acquire()
        order.append(n)
        queue.release()

    threads = []
    for n in range(5):
        t = threading.Thread(target=writer, args=(n,))
        t.start()
        threads.append(t)
        _wait_until(lambda: len(queue._waiters) == n + 1)  # queued before the next arrives
    queue.release()
    for t in threads:
        t.join(timeout=30)
    assert order == [0, 1, 2, 3, 4]
    assert queue.acquire(timeout=0), "free again once everyone has had a turn"


def test_a_waiter_that_gives_up_leaves_the_queue() -> None:
    queue = WriterQueue()
    assert queue.acquire()
    assert not queue.acquire(timeout=0)
    assert not queue._waiters
    queue.release()
    assert queue.acquire(timeout=0)


def _engine(tmp_path: Path):
    engine = create_hub_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER UNIQUE)"))
    return engine


def test_the_turn_is_given_back_on_commit_rollback_and_a_failed_statement(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    queue = writer_queue_for(str(tmp_path / "hub.sqlite3"))
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            assert queue._held
        assert not queue._held, "commit gives the turn back"

        with engine.connect() as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
            connection.rollback()
        assert not queue._held, "rollback gives it back"

        with pytest.raises(IntegrityError):  # the unique x
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (1)"))
        assert not queue._held, "a failed transaction gives it back"

        with engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1]
    finally:
        engine.dispose()


def test_every_engine_on_one_file_shares_the_queue(tmp_path: Path) -> None:
    first, second = _engine(tmp_path), create_hub_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    try:
        with first.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            assert writer_queue_for(str(tmp_path / "hub.sqlite3"))._held
        with second.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        first.dispose()
        second.dispose()
    assert writer_queue_for(str(tmp_path / "hub.sqlite3")) is writer_queue_for(str(tmp_path / "." / "hub.sqlite3"))


def test_no_turn_in_time_is_a_clear_error_and_the_holder_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(tmp_path)
    monkeypatch.setattr(server.db, "_WRITER_WAIT_SECONDS", 0.0)
    holding, done = threading.Event(), threading.Event()

    def holder() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            done.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert holding.wait(30)
        with pytest.raises(OperationalError) as caught:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (2)"))
        assert isinstance(caught.value.orig, sqlite3.OperationalError)
        assert "database is locked" in str(caught.value.orig)
    finally:
        done.set()
        thread.join(timeout=30)
    with engine.begin() as connection:  # the queue works on after the refusal
        connection.execute(text("INSERT INTO t VALUES (3)"))
        assert connection.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 3]
    engine.dispose()


def test_off_leaves_writers_to_sqlites_busy_handler(tmp_path: Path) -> None:
    engine = create_hub_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}", writer_queue=False)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            assert not writer_queue_for(str(tmp_path / "hub.sqlite3"))._held
    finally:
        engine.dispose()
