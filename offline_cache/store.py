"""The durable outbox: every registration, and whether the hub has it yet.

The kiosk must keep checking patients in while the hospital network is down.
Each registration is written here first, together with its outbox row, in
one SQLite transaction; only then is a number promised to the patient. The
sync worker (`offline_cache.sync`) later moves rows through

    pending -> in_flight -> acked
                         -> rejected (with the hub's reason, kept for technicians)
    in_flight -> pending (released after a failed attempt, attempts + 1)

and a row left in_flight by a crash goes back to pending when the store is
opened again (the idea of persist-queue's SQLiteAckQueue resume step). The
hub is idempotent by registration key, so sending a row twice after a crash
is harmless; losing one is not.

Personal data (names, ID numbers, insurance codes) never reaches the file in
clear: the registration is serialised with `kiosk.records` and sealed with
AES-GCM (`offline_cache.crypto`) under a key kept outside the database
(`offline_cache.keys`). Only what the outbox itself needs to work, and what
a technician may see, is stored in clear: key, created_at, department code,
status, attempts, next_attempt_at, last_error, printed_number and the hub's
receipt.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Final, NamedTuple

from kiosk.clock import SystemClock
from kiosk.domain import VIETNAM_TZ, HubReceipt, Registration
from kiosk.errors import StorageError
from kiosk.ports import Clock
from kiosk.records import (
    receipt_from_dict,
    receipt_to_dict,
    registration_from_dict,
    registration_to_dict,
)
from offline_cache.crypto import PayloadCipher, UnreadablePayload

log = logging.getLogger(__name__)

PENDING: Final = "pending"
IN_FLIGHT: Final = "in_flight"
ACKED: Final = "acked"
REJECTED: Final = "rejected"

DEFAULT_RETENTION = timedelta(days=7)
_REASON_LIMIT = 500  # characters of a rejection reason or error kept


class DuplicateRegistration(StorageError):
    """A registration with this key is already in the outbox.

    Keys are random UUIDs made by the kiosk, so this is a wiring bug (the
    same registration stored twice), never a patient's doing.
    """

    code = "storage_duplicate_key"


class RejectedRegistration(NamedTuple):
    """What a technician sees of a registration the hub refused (no personal data)."""

    key: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class OutboxEntry:
    """The clear-text bookkeeping of one outbox row (no personal data)."""

    key: str
    status: str
    created_at: datetime
    department_code: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    printed_number: str | None
    receipt: HubReceipt | None
    acked_at: datetime | None


# -- schema -----------------------------------------------------------------------
#
# Each step moves the schema from version N to N+1 (PRAGMA user_version) and
# runs in one transaction with the version bump, so a crash mid-upgrade
# leaves the old version intact. Steps are only ever appended: a kiosk may
# skip releases and must replay every step it missed.

_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: the first schema.
    (
        """
        CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value BLOB NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE registration (
            key             TEXT PRIMARY KEY,
            created_at      TEXT NOT NULL,   -- UTC, ISO 8601, fixed width: sorts as text
            department_code TEXT NOT NULL,
            payload         BLOB NOT NULL    -- sealed registration_to_dict() JSON
        )
        """,
        f"""
        CREATE TABLE outbox (
            seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order
            key             TEXT NOT NULL UNIQUE REFERENCES registration (key),
            status          TEXT NOT NULL
                            CHECK (status IN ('{PENDING}', '{IN_FLIGHT}', '{ACKED}', '{REJECTED}')),
            attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at TEXT NOT NULL,   -- UTC, same format as created_at
            last_error      TEXT,            -- the rejection reason once rejected
            printed_number  TEXT,            -- offline number printed on the ticket
            receipt         TEXT,            -- receipt_to_dict() JSON once acked
            acked_at        TEXT
        )
        """,
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
        """
        CREATE TABLE offline_number (
            kiosk_prefix      TEXT NOT NULL,
            department_prefix TEXT NOT NULL,
            day               TEXT NOT NULL,  -- local date, ISO 8601
            last_number       INTEGER NOT NULL,
            PRIMARY KEY (kiosk_prefix, department_prefix, day)
        ) WITHOUT ROWID
        """,
    ),
    # 2: blocks of hub numbers leased for offline use (server.leases).
    (
        """
        CREATE TABLE number_block (
            lease_key         TEXT PRIMARY KEY,  -- the hub's idempotency key for the lease
            department_prefix TEXT NOT NULL,
            day               TEXT NOT NULL,     -- local date, ISO 8601
            first_number      INTEGER NOT NULL,
            last_number       INTEGER NOT NULL,  -- inclusive
            next_number       INTEGER NOT NULL,  -- the next one to print; > last_number when used up
            CHECK (first_number >= 1 AND last_number >= first_number),
            CHECK (next_number BETWEEN first_number AND last_number + 1)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX number_block_day ON number_block (department_prefix, day, first_number)",
    ),
    # 3: claim_batch walks pending rows in delivery order instead of sorting
    # every due row for each batch (78 ms per claim at a 100k backlog, 0.2 ms
    # with this index; bench/outbox.py).
    ("CREATE INDEX outbox_status_seq ON outbox (status, seq)",),
)

SCHEMA_VERSION: Final = len(_MIGRATIONS)

_KEY_CHECK_NAME = "key_check"
_KEY_CHECK_PLAINTEXT = b"vn-checkin-kiosk outbox data key"


def _registration_ad(key: str) -> bytes:
    """Associated data for a registration payload: binds it to its row."""
    return b"registration:" + key.encode("utf-8")


# -- timestamps -------------------------------------------------------------------


def _ts(moment: datetime) -> str:
    """UTC, microseconds, fixed width: text order is time order in SQL."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("outbox timestamps must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _parse_ts(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text).astimezone(VIETNAM_TZ)


# -- errors -----------------------------------------------------------------------


def _storage_error(exc: sqlite3.Error, doing: str, path: Path) -> StorageError:
    """Turn an sqlite3 error into a StorageError a technician can act on.

    `sqlite_errorname` (Python 3.11+) is set on errors raised by SQLite; the
    message text is the fallback for anything else.
    """
    name = getattr(exc, "sqlite_errorname", None) or ""
    text = str(exc)
    lowered = text.lower()
    if name.startswith("SQLITE_FULL") or "disk is full" in lowered:
        reason = "the disk is full"
    elif name.startswith("SQLITE_READONLY") or "readonly" in lowered or "read-only" in lowered:
        reason = "the database is read-only (file permissions or a read-only file system)"
    elif name.startswith("SQLITE_IOERR") or "i/o error" in lowered:
        reason = "the disk reported an I/O error"
    elif name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in lowered or "not a database" in lowered:
        reason = "the database file is damaged"
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in lowered:
        reason = "the database is locked by another process"
    elif name.startswith("SQLITE_CANTOPEN") or "unable to open" in lowered:
        reason = "the database file cannot be opened"
    else:
        reason = text
    return StorageError(f"cannot {doing}: {reason} ({path})")


class OutboxStore:
    """`kiosk.ports.RegistrationOutbox` on one SQLite file.

    Thread-safe: the UI's operation thread adds registrations and assigns
    numbers while the sync worker claims and acknowledges. One connection is
    shared under a lock; every call is short, and one writer at a time is
    all SQLite allows anyway.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        data_key: bytes,
        kiosk_id: str,
        kiosk_prefix: str = "K01",
        *,
        clock: Clock | None = None,
        busy_timeout: float = 5.0,
    ) -> None:
        if not kiosk_prefix:
            raise ValueError("kiosk_prefix must not be empty: it keeps kiosks' offline numbers apart")
        self.path = Path(path)
        self.kiosk_id = kiosk_id
        self.kiosk_prefix = kiosk_prefix
        self._cipher = PayloadCipher(data_key)
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._owner_fd: int | None = None
        try:
            self._owner_fd = self._take_ownership()
            self._conn = self._connect(busy_timeout)
            self._migrate()
            self._check_key()
            self._resume_in_flight()
        except sqlite3.Error as exc:
            self._close_quietly()
            raise _storage_error(exc, "open the outbox", self.path) from exc
        except BaseException:
            self._close_quietly()
            raise

    # -- opening ------------------------------------------------------------------

    def _take_ownership(self) -> int | None:
        """Make this the only open OutboxStore on the file, across processes.

        A second kiosk process on the same outbox (the app started twice)
        would put the first one's in-flight rows back to pending and send
        them at the same time. flock() is released by the kernel when the
        process dies, so a crash never leaves a stale lock behind.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: nothing to lock with
            return None
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise StorageError(f"cannot open the outbox lock {lock_path}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise StorageError(
                f"the outbox {self.path} is already open in another kiosk process (or another OutboxStore)"
            ) from exc
        return fd

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Create the file ourselves so it starts out owner-only; SQLite
            # gives the -wal and -shm files the same mode as the database.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            os.close(fd)
        except OSError as exc:
            raise StorageError(f"cannot open the outbox: {exc.strerror or exc} ({self.path})") from exc
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves,
        # so the module's implicit transactions never split a unit of work.
        # check_same_thread=False: the connection is shared under self._lock.
        conn = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                # WAL needs shared memory; some network or FUSE file systems
                # refuse it. The rollback journal is just as durable, only
                # slower, so keep working and say so.
                log.warning("outbox: WAL not available here, journal mode is %s", mode)
            # In WAL mode, synchronous=NORMAL may lose the last commits on a
            # power cut. A registration whose number was printed must
            # survive one: FULL syncs the WAL at every commit.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Purged rows are overwritten with zeros instead of lingering in
            # free pages of the file.
            conn.execute("PRAGMA secure_delete = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self) -> None:
        conn = self._db()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the outbox {self.path} has schema version {version}, newer than this "
                f"software knows ({SCHEMA_VERSION}); was the kiosk software downgraded?"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _MIGRATIONS[number - 1]:
                    conn.execute(statement)
                # PRAGMA user_version is part of the transaction: it commits
                # or rolls back with the step.
                conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            log.info("outbox schema migrated to version %d", number)

    def _check_key(self) -> None:
        """Refuse a data key other than the one this database was written with.

        Without this check a lost or replaced key would only show up row by
        row, as integrity failures long after start-up.
        """
        conn = self._db()
        ad = b"meta:" + _KEY_CHECK_NAME.encode()
        row = conn.execute("SELECT value FROM meta WHERE name = ?", (_KEY_CHECK_NAME,)).fetchone()
        if row is None:
            sealed = self._cipher.seal(_KEY_CHECK_PLAINTEXT, ad)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (_KEY_CHECK_NAME, sealed))
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            return
        try:
            ok = self._cipher.open(bytes(row[0]), ad) == _KEY_CHECK_PLAINTEXT
        except StorageError:
            ok = False
        if not ok:
            raise StorageError(
                f"the data key does not match the outbox {self.path}: it was written with "
                "another key (key file replaced or keyring changed). Restore the original "
                "key; the rows cannot be read without it."
            )

    def _resume_in_flight(self) -> None:
        """Crash recovery: a row in flight when the process died goes back to pending.

        The previous run may or may not have reached the hub with it; the hub
        is idempotent by key, so sending it again is the safe choice.
        """
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute(
                "UPDATE outbox SET status = ? WHERE status = ?", (PENDING, IN_FLIGHT)
            )
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        if cursor.rowcount:
            log.warning("outbox: %d registration(s) were in flight at the last stop; resending", cursor.rowcount)

    # -- plumbing -----------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"the outbox {self.path} is closed")
        return self._conn

    def _rollback(self) -> None:
        conn = self._conn
        if conn is None or not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            # SQLite may already have rolled back by itself (after SQLITE_FULL
            # or an I/O error); the original error is the one to report.
            log.debug("outbox: rollback after a failed statement also failed", exc_info=True)

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it."""
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _storage_error(exc, doing, self.path) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise _storage_error(exc, doing, self.path) from exc
            except BaseException:
                self._rollback()
                raise

    @contextmanager
    def _read(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._db()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise _storage_error(exc, doing, self.path) from exc

    def _require_row(self, conn: sqlite3.Connection, key: str) -> None:
        if conn.execute("SELECT 1 FROM outbox WHERE key = ?", (key,)).fetchone() is None:
            raise KeyError(key)

    # -- writing registrations ----------------------------------------------------

    def add(self, registration: Registration) -> None:
        """Store the registration and its pending outbox row in one transaction."""
        if registration.kiosk_id != self.kiosk_id:
            raise ValueError(
                f"registration from kiosk {registration.kiosk_id!r} given to the outbox of {self.kiosk_id!r}"
            )
        payload = json.dumps(
            registration_to_dict(registration), ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        sealed = self._cipher.seal(payload, _registration_ad(registration.key))
        created_at = _ts(registration.created_at)
        with self._write("store the registration") as conn:
            try:
                conn.execute(
                    "INSERT INTO registration (key, created_at, department_code, payload) VALUES (?, ?, ?, ?)",
                    (registration.key, created_at, registration.department_code, sealed),
                )
                conn.execute(
                    "INSERT INTO outbox (key, status, attempts, next_attempt_at) VALUES (?, ?, 0, ?)",
                    (registration.key, PENDING, created_at),
                )
            except sqlite3.IntegrityError as exc:
                # Raised inside the transaction: _write rolls back the first
                # insert too, so no registration exists without its outbox row.
                raise DuplicateRegistration(
                    f"registration {registration.key} is already in the outbox"
                ) from exc

    def add_relayed(self, registration: Registration, printed_number: str | None) -> bool:
        """Take in a registration another kiosk made (a field-staff bundle), to deliver it.

        Unlike `add`, the registration keeps its own kiosk_id: the hub
        records it as the origin and this kiosk as the deliverer. The number
        that kiosk printed travels with it. Idempotent by key: a key already
        here changes nothing and returns False.
        """
        payload = json.dumps(
            registration_to_dict(registration), ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        sealed = self._cipher.seal(payload, _registration_ad(registration.key))
        created_at = _ts(registration.created_at)
        with self._write("store a relayed registration") as conn:
            if conn.execute("SELECT 1 FROM registration WHERE key = ?", (registration.key,)).fetchone():
                return False
            conn.execute(
                "INSERT INTO registration (key, created_at, department_code, payload) VALUES (?, ?, ?, ?)",
                (registration.key, created_at, registration.department_code, sealed),
            )
            conn.execute(
                "INSERT INTO outbox (key, status, attempts, next_attempt_at, printed_number) VALUES (?, ?, 0, ?, ?)",
                (registration.key, PENDING, _ts(self._clock.now()), printed_number),
            )
            return True

    def undelivered_keys(self) -> list[str]:
        """Keys of registrations the hub does not have yet (pending or in flight), oldest first."""
        with self._read("list undelivered registrations") as conn:
            return [
                row[0]
                for row in conn.execute(
                    "SELECT key FROM outbox WHERE status IN (?, ?) ORDER BY seq", (PENDING, IN_FLIGHT)
                )
            ]

    def get(self, key: str) -> Registration:
        """The registration as it was added. KeyError if unknown, StorageError if unreadable."""
        with self._read("read the registration") as conn:
            # CAST: a value tampered into TEXT must reach the integrity check
            # as bytes, not fail UTF-8 decoding (and echo itself into logs).
            row = conn.execute("SELECT CAST(payload AS BLOB) FROM registration WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        plaintext = self._cipher.open(bytes(row[0]), _registration_ad(key))
        try:
            return registration_from_dict(json.loads(plaintext.decode("utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            # Authenticated, so not tampering: a format this code cannot read.
            raise UnreadablePayload(f"registration {key} is stored in a format this software cannot read") from exc

    # -- the delivery cycle -------------------------------------------------------

    def claim_batch(self, limit: int, now: datetime) -> list[str]:
        """Mark up to `limit` due pending rows in flight; their keys, oldest first."""
        if limit <= 0:
            return []
        cutoff = _ts(now)
        with self._write("claim registrations for sending") as conn:
            keys = [
                row[0]
                for row in conn.execute(
                    # "+next_attempt_at": keep the planner on outbox_status_seq,
                    # already in seq order, so it stops after `limit` due rows.
                    "SELECT key FROM outbox WHERE status = ? AND +next_attempt_at <= ? ORDER BY seq LIMIT ?",
                    (PENDING, cutoff, limit),
                )
            ]
            conn.executemany(
                "UPDATE outbox SET status = ? WHERE key = ? AND status = ?",
                [(IN_FLIGHT, key, PENDING) for key in keys],
            )
        return keys

    def claim(self, key: str) -> bool:
        """Mark one pending row in flight, due or not.

        False when someone else holds it in flight, or it is acked or
        rejected: whoever gets True is the only one allowed to send it.
        """
        with self._write("claim a registration for sending") as conn:
            cursor = conn.execute(
                "UPDATE outbox SET status = ? WHERE key = ? AND status = ?", (IN_FLIGHT, key, PENDING)
            )
            if cursor.rowcount == 1:
                return True
            self._require_row(conn, key)
            return False

    def release(
        self,
        key: str,
        error: str | None,
        next_attempt_at: datetime,
        *,
        attempted: bool = True,
    ) -> bool:
        """Put an in-flight row back to pending, to be tried at `next_attempt_at`.

        `attempted=False` is for rows claimed but never sent (the batch was
        cut short): their attempt count stays as it was. Returns False, and
        changes nothing, when the row is not in flight: an acked row must
        never become pending again through a stale release.
        """
        due = _ts(next_attempt_at)
        with self._write("reschedule a registration") as conn:
            cursor = conn.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + ?, next_attempt_at = ?,"
                " last_error = COALESCE(?, last_error) WHERE key = ? AND status = ?",
                (PENDING, 1 if attempted else 0, due, _clip(error), key, IN_FLIGHT),
            )
            if cursor.rowcount == 1:
                return True
            self._require_row(conn, key)
            return False

    def acknowledge(self, key: str, receipt: HubReceipt, *, sent_printed_number: object = ...) -> bool:
        """Record the hub's receipt: the row is acked and never sent again.

        `sent_printed_number` is the offline number that went with the send
        that produced `receipt` (None if none). If an offline number was
        printed on this row since then (the patient's wait timed out while
        the hub was still answering), the hub does not know that number yet:
        the row goes back to pending, due at once, instead of being acked,
        so the next send carries it. Returns whether the row is acked.
        Acknowledging an acked row again keeps the first receipt.
        """
        if receipt.registration_key != key:
            raise ValueError(f"receipt for {receipt.registration_key} given for registration {key}")
        now = self._clock.now()
        with self._write("record the hub's receipt") as conn:
            row = conn.execute("SELECT status, printed_number FROM outbox WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            status, printed = row
            if status == ACKED:
                return True
            if sent_printed_number is not ... and printed is not None and printed != sent_printed_number:
                conn.execute(
                    "UPDATE outbox SET status = ?, next_attempt_at = ?, last_error = ? WHERE key = ?",
                    (PENDING, _ts(now), "offline number printed while the hub answered; resending it", key),
                )
                return False
            if status == REJECTED:
                log.warning("outbox: registration %s was rejected earlier, now accepted by the hub", key)
            conn.execute(
                "UPDATE outbox SET status = ?, receipt = ?, acked_at = ?, last_error = NULL WHERE key = ?",
                (ACKED, json.dumps(receipt_to_dict(receipt), ensure_ascii=False), _ts(now), key),
            )
            return True

    def reject(self, key: str, reason: str) -> bool:
        """The hub refused the registration for good: keep it, with the reason.

        Returns False (and keeps the ack) if the row was already acked.
        """
        with self._write("record the hub's rejection") as conn:
            row = conn.execute("SELECT status FROM outbox WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            if row[0] == ACKED:
                log.warning("outbox: rejection for acked registration %s ignored", key)
                return False
            conn.execute(
                "UPDATE outbox SET status = ?, last_error = ? WHERE key = ?",
                (REJECTED, _clip(reason) or "rejected", key),
            )
            return True

    def requeue(self, key: str) -> bool:
        """Technician action: send a rejected registration again (after fixing the hub side)."""
        with self._write("requeue a registration") as conn:
            cursor = conn.execute(
                "UPDATE outbox SET status = ?, attempts = 0, next_attempt_at = ? WHERE key = ? AND status = ?",
                (PENDING, _ts(self._clock.now()), key, REJECTED),
            )
            if cursor.rowcount == 1:
                return True
            self._require_row(conn, key)
            return False

    def reschedule_pending(self, now: datetime) -> int:
        """Make every pending row due at `now` (the network is back, or a technician asked)."""
        due = _ts(now)
        with self._write("reschedule pending registrations") as conn:
            cursor = conn.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE status = ? AND next_attempt_at > ?",
                (due, PENDING, due),
            )
            return cursor.rowcount

    def next_due(self) -> datetime | None:
        """When the earliest pending row is due, or None when nothing is pending."""
        with self._read("read the outbox") as conn:
            row = conn.execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = ?", (PENDING,)
            ).fetchone()
        return _parse_ts(row[0]) if row else None

    # -- offline numbers ------------------------------------------------------------

    def assign_offline_number(self, key: str, department_prefix: str, day: date) -> str:
        """Give the registration a number such as "A-013" or "K01-A007", durably.

        A number from a block the hub leased to this kiosk comes first
        (`add_number_block`); when none is left, the kiosk's own series. The
        counter is per kiosk prefix, department prefix and day, and it
        moves in the same transaction that writes the number onto the row:
        a crash can neither skip a number into nobody's hands nor print one
        twice. Calling again for the same key returns the same number.

        If the row was already acked, the hub gave its own number to a
        patient who is now holding this one: the row goes back to pending so
        the hub learns the printed number (the hub keeps it by key).
        """
        if not department_prefix:
            raise ValueError("department_prefix must not be empty")
        with self._write("issue an offline number") as conn:
            row = conn.execute("SELECT status, printed_number FROM outbox WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            status, printed = row
            if printed is not None:
                return printed
            # A leased hub number first: it takes its place in the one queue.
            printed = self._draw_leased(conn, department_prefix, day) or self._draw_kiosk_series(
                conn, department_prefix, day
            )
            if status == ACKED:
                conn.execute(
                    "UPDATE outbox SET printed_number = ?, status = ?, next_attempt_at = ?, last_error = ?"
                    " WHERE key = ?",
                    (printed, PENDING, _ts(self._clock.now()),
                     "offline number printed after the hub answered; resending it", key),
                )
            else:
                conn.execute("UPDATE outbox SET printed_number = ? WHERE key = ?", (printed, key))
            return printed

    def _draw_leased(self, conn: sqlite3.Connection, department_prefix: str, day: date) -> str | None:
        """The next unused number of a block the hub leased us, as the hub prints it ("A-013")."""
        row = conn.execute(
            "SELECT lease_key, next_number FROM number_block"
            " WHERE department_prefix = ? AND day = ? AND next_number <= last_number"
            " ORDER BY first_number LIMIT 1",
            (department_prefix, day.isoformat()),
        ).fetchone()
        if row is None:
            return None
        lease_key, number = row
        conn.execute("UPDATE number_block SET next_number = next_number + 1 WHERE lease_key = ?", (lease_key,))
        # The hub's own format (server.registrations.display_number).
        return f"{department_prefix}-{number:03d}"

    def _draw_kiosk_series(self, conn: sqlite3.Connection, department_prefix: str, day: date) -> str:
        """The fallback when no leased number is left: "K01-A007", this kiosk's own series."""
        (number,) = conn.execute(
            "INSERT INTO offline_number (kiosk_prefix, department_prefix, day, last_number)"
            " VALUES (?, ?, ?, 1)"
            " ON CONFLICT (kiosk_prefix, department_prefix, day)"
            " DO UPDATE SET last_number = last_number + 1"
            " RETURNING last_number",
            (self.kiosk_prefix, department_prefix, day.isoformat()),
        ).fetchone()
        return f"{self.kiosk_prefix}-{department_prefix}{number:03d}"

    def add_number_block(self, lease_key: str, department_prefix: str, day: date, first: int, last: int) -> bool:
        """Keep a block of numbers the hub leased to this kiosk (`server.leases`).

        Idempotent by `lease_key`: the same lease stored twice (the answer
        to a repeated request) is one block. Returns whether it was new.
        """
        if not department_prefix:
            raise ValueError("department_prefix must not be empty")
        if not 1 <= first <= last:
            raise ValueError(f"a lease must run from 1 upwards, got {first}-{last}")
        with self._write("store leased numbers") as conn:
            cursor = conn.execute(
                "INSERT INTO number_block (lease_key, department_prefix, day, first_number, last_number, next_number)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (lease_key) DO NOTHING",
                (lease_key, department_prefix, day.isoformat(), first, last, first),
            )
            return cursor.rowcount == 1

    def leased_numbers_left(self, department_prefix: str, day: date) -> int:
        """How many leased numbers this kiosk can still print for the department that day."""
        with self._read("count leased numbers") as conn:
            (left,) = conn.execute(
                "SELECT COALESCE(SUM(last_number - next_number + 1), 0) FROM number_block"
                " WHERE department_prefix = ? AND day = ?",
                (department_prefix, day.isoformat()),
            ).fetchone()
        return int(left)

    def number_blocks(self, department_prefix: str, day: date) -> int:
        """How many blocks were leased for the department that day (names the next lease request)."""
        with self._read("count leased numbers") as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM number_block WHERE department_prefix = ? AND day = ?",
                (department_prefix, day.isoformat()),
            ).fetchone()
        return int(count)

    # -- reading bookkeeping ---------------------------------------------------------

    def printed_number(self, key: str) -> str | None:
        with self._read("read the outbox") as conn:
            row = conn.execute("SELECT printed_number FROM outbox WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def receipt(self, key: str) -> HubReceipt | None:
        with self._read("read the outbox") as conn:
            row = conn.execute("SELECT receipt FROM outbox WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return receipt_from_dict(json.loads(row[0])) if row[0] else None

    def entry(self, key: str) -> OutboxEntry:
        """The clear-text state of one row, for the worker, technicians and tests."""
        with self._read("read the outbox") as conn:
            row = conn.execute(
                "SELECT o.key, o.status, r.created_at, r.department_code, o.attempts, o.next_attempt_at,"
                " o.last_error, o.printed_number, o.receipt, o.acked_at"
                " FROM outbox o JOIN registration r ON r.key = o.key WHERE o.key = ?",
                (key,),
            ).fetchone()
        if row is None:
            raise KeyError(key)
        created_at, next_attempt_at = _parse_ts(row[2]), _parse_ts(row[5])
        assert created_at is not None and next_attempt_at is not None
        return OutboxEntry(
            key=row[0],
            status=row[1],
            created_at=created_at,
            department_code=row[3],
            attempts=row[4],
            next_attempt_at=next_attempt_at,
            last_error=row[6],
            printed_number=row[7],
            receipt=receipt_from_dict(json.loads(row[8])) if row[8] else None,
            acked_at=_parse_ts(row[9]),
        )

    def pending_count(self) -> int:
        """Registrations the hub does not have yet (pending or in flight)."""
        with self._read("count pending registrations") as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE status IN (?, ?)", (PENDING, IN_FLIGHT)
            ).fetchone()
        return count

    def rejected(self) -> list[RejectedRegistration]:
        """Registrations the hub refused, oldest first: key, reason, created_at only."""
        with self._read("list rejected registrations") as conn:
            rows = conn.execute(
                "SELECT o.key, o.last_error, r.created_at FROM outbox o JOIN registration r ON r.key = o.key"
                " WHERE o.status = ? ORDER BY o.seq",
                (REJECTED,),
            ).fetchall()
        return [RejectedRegistration(key, reason or "", _parse_ts(created)) for key, reason, created in rows]  # type: ignore[arg-type]

    # -- retention ------------------------------------------------------------------

    def purge_acknowledged(self, older_than: datetime | None = None) -> int:
        """Delete registrations the hub acknowledged before `older_than`.

        Default: acknowledged more than 7 days ago. The kiosk keeps no
        patient data longer than it needs to reprint a ticket or answer a
        desk query; the hub holds the record. Rejected and undelivered rows
        are never purged. Returns how many registrations were deleted.
        """
        cutoff = older_than if older_than is not None else self._clock.now() - DEFAULT_RETENTION
        stamp = _ts(cutoff)
        with self._write("purge delivered registrations") as conn:
            keys = [
                (row[0],)
                for row in conn.execute(
                    "SELECT key FROM outbox WHERE status = ? AND acked_at < ?", (ACKED, stamp)
                )
            ]
            conn.executemany("DELETE FROM outbox WHERE key = ?", keys)
            conn.executemany("DELETE FROM registration WHERE key = ?", keys)
            # Counters of days gone by can never be used again.
            conn.execute(
                "DELETE FROM offline_number WHERE day < ?",
                (cutoff.astimezone(VIETNAM_TZ).date().isoformat(),),
            )
            conn.execute(
                "DELETE FROM number_block WHERE day < ?",
                (cutoff.astimezone(VIETNAM_TZ).date().isoformat(),),
            )
        if keys:
            # Copy the zeroed pages into the database and truncate the WAL, so
            # the deleted ciphertext does not linger in the -wal file either.
            with self._read("checkpoint the outbox") as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        log.info("outbox: purged %d delivered registration(s)", len(keys))
        return len(keys)

    # -- closing --------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (idempotent). The last close checkpoints the WAL."""
        with self._lock:
            self._close_quietly()

    def _close_quietly(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                log.warning("outbox: error while closing", exc_info=True)
        owner_fd, self._owner_fd = self._owner_fd, None
        if owner_fd is not None:
            os.close(owner_fd)  # releases the flock

    def __enter__(self) -> OutboxStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OutboxStore({str(self.path)!r}, kiosk_prefix={self.kiosk_prefix!r})"


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "…"
