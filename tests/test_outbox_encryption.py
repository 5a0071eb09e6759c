"""Personal data at rest: sealed in the outbox, the key kept apart."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
import sys
import types
import unicodedata
from datetime import date

import pytest

from kiosk.clock import ManualClock
from kiosk.errors import StorageError
from offline_cache.crypto import PayloadCipher, UnreadablePayload
from offline_cache.keys import KEY_BYTES, load_or_create_key
from offline_cache.store import OutboxStore
from test_outbox_store import T0, make_receipt, make_registration

NAME = "NGUYỄN VĂN AN"
ID_NUMBER = "001058012345"
OLD_ID = "011234567"
BHYT = "HT2010123456789"
SECRETS_IN_PAYLOAD = [NAME, ID_NUMBER, OLD_ID, BHYT, "Hào Nam"]


def _forms(text: str) -> list[bytes]:
    """The byte strings a leak of `text` could take in a file."""
    out = []
    for form in ("NFC", "NFD"):
        normal = unicodedata.normalize(form, text)
        out += [normal.encode("utf-8"), normal.encode("utf-16-le")]
    return out


def _database_files(db_path) -> dict[str, bytes]:
    files = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = f"{db_path}{suffix}"
        if os.path.exists(path):
            with open(path, "rb") as f:
                files[suffix or "db"] = f.read()
    return files


def _assert_no_personal_data(db_path) -> dict[str, bytes]:
    files = _database_files(db_path)
    for name, content in files.items():
        for secret in SECRETS_IN_PAYLOAD:
            for form in _forms(secret):
                assert form not in content, f"{secret!r} found in clear in {name}"
    return files


# -- the database file ------------------------------------------------------------------


def test_names_and_id_numbers_never_reach_the_files_in_clear(tmp_path):
    db_path = tmp_path / "outbox.sqlite3"
    key = load_or_create_key(tmp_path / "keys" / "outbox.key")
    store = OutboxStore(db_path, key, "K01", clock=ManualClock(T0))
    store.add(make_registration("r1"))
    store.assign_offline_number("r1", "A", date(2026, 11, 23))
    store.acknowledge("r1", make_receipt("r1"))

    # While open: the rows are in the write-ahead log.
    files = _assert_no_personal_data(db_path)
    assert "-wal" in files and len(files["-wal"]) > 0
    # The data is really there, just sealed: the store can read it back.
    assert store.get("r1").identity.citizen.full_name == NAME
    store.close()
    # After close: checkpointed into the main file.
    _assert_no_personal_data(db_path)

    with OutboxStore(db_path, key, "K01") as reopened:
        assert reopened.get("r1").identity.citizen.id_number == ID_NUMBER


def test_the_check_itself_would_see_a_clear_text_leak(tmp_path):
    # Guard against a vacuous test: the same search does find the name when
    # it is written in clear into a SQLite file.
    db_path = tmp_path / "leaky.sqlite3"
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE t (name TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (unicodedata.normalize("NFD", NAME),))
    conn.commit()
    conn.close()
    with pytest.raises(AssertionError, match="in clear"):
        _assert_no_personal_data(db_path)


def test_a_tampered_row_is_a_storage_error(tmp_path):
    db_path = tmp_path / "outbox.sqlite3"
    key = load_or_create_key(tmp_path / "outbox.key")
    with OutboxStore(db_path, key, "K01") as store:
        store.add(make_registration("r1"))
        store.add(make_registration("r2", minutes=1))

    conn = sqlite3.connect(db_path)
    (payload,) = conn.execute("SELECT payload FROM registration WHERE key = 'r1'").fetchone()
    flipped = bytearray(payload)
    flipped[len(flipped) // 2] ^= 0x01
    conn.execute("UPDATE registration SET payload = ? WHERE key = 'r1'", (bytes(flipped),))
    conn.commit()
    conn.close()

    with OutboxStore(db_path, key, "K01") as store:
        with pytest.raises(StorageError, match="integrity"):
            store.get("r1")
        assert store.get("r2").key == "r2"  # other rows unaffected


def test_a_payload_moved_to_another_row_does_not_open(tmp_path):
    db_path = tmp_path / "outbox.sqlite3"
    key = load_or_create_key(tmp_path / "outbox.key")
    with OutboxStore(db_path, key, "K01") as store:
        store.add(make_registration("r1"))
        store.add(make_registration("r2", minutes=1))

    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE registration SET payload = (SELECT payload FROM registration WHERE key = 'r1') WHERE key = 'r2'")
    conn.commit()
    conn.close()

    with OutboxStore(db_path, key, "K01") as store:
        with pytest.raises(UnreadablePayload):
            store.get("r2")


def test_the_wrong_key_is_refused_at_open(tmp_path):
    db_path = tmp_path / "outbox.sqlite3"
    with OutboxStore(db_path, load_or_create_key(tmp_path / "a.key"), "K01") as store:
        store.add(make_registration("r1"))
    with pytest.raises(StorageError, match="data key does not match"):
        OutboxStore(db_path, load_or_create_key(tmp_path / "b.key"), "K01")


# -- the cipher ---------------------------------------------------------------------------


def test_seal_uses_a_fresh_nonce_and_binds_the_associated_data():
    cipher = PayloadCipher(os.urandom(32))
    a = cipher.seal(b"payload", b"registration:r1")
    b = cipher.seal(b"payload", b"registration:r1")
    assert a != b  # random 96-bit nonce each time
    assert cipher.open(a, b"registration:r1") == b"payload"
    with pytest.raises(StorageError):
        cipher.open(a, b"registration:r2")
    with pytest.raises(StorageError):
        cipher.open(a[:10], b"registration:r1")
    with pytest.raises(StorageError):
        cipher.open(b"\x02" + a[1:], b"registration:r1")
    with pytest.raises(ValueError):
        PayloadCipher(b"short")


# -- the key file -------------------------------------------------------------------------


def test_key_file_is_created_owner_only_and_reused(tmp_path):
    path = tmp_path / "secrets" / "outbox.key"
    old_umask = os.umask(0o022)
    try:
        key = load_or_create_key(path)
    finally:
        os.umask(old_umask)

    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes() == key
    assert load_or_create_key(path) == key
    # No temporary files left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == ["outbox.key"]


def test_two_kiosks_never_share_a_generated_key(tmp_path):
    assert load_or_create_key(tmp_path / "a.key") != load_or_create_key(tmp_path / "b.key")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644])
def test_a_key_file_others_can_access_is_refused(tmp_path, mode):
    path = tmp_path / "outbox.key"
    key = load_or_create_key(path)
    os.chmod(path, mode)
    with pytest.raises(StorageError, match="chmod 600"):
        load_or_create_key(path)
    # Never "repaired" by replacing the key.
    assert path.read_bytes() == key


def test_a_damaged_key_file_is_refused_not_replaced(tmp_path):
    path = tmp_path / "outbox.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"too short")
    os.close(fd)
    with pytest.raises(StorageError, match="damaged"):
        load_or_create_key(path)
    assert path.read_bytes() == b"too short"


def test_a_symlinked_key_file_is_refused(tmp_path):
    real = tmp_path / "elsewhere.key"
    load_or_create_key(real)
    link = tmp_path / "outbox.key"
    link.symlink_to(real)
    with pytest.raises(StorageError):
        load_or_create_key(link)


def test_key_file_in_an_unwritable_place_is_a_storage_error(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(StorageError, match="data key file"):
        load_or_create_key(blocker / "outbox.key")


# -- the optional keyring -----------------------------------------------------------------


class _MemoryKeyring:
    """Stands in for a configured OS keyring backend (Secret Service, ...)."""

    __module__ = "keyring.backends.memory"
    priority = 5

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):  # noqa: ANN001, ANN201
        return self.items.get((service, username))

    def set_password(self, service, username, password):  # noqa: ANN001, ANN201
        self.items[(service, username)] = password


def _install_keyring(monkeypatch, backend) -> None:  # noqa: ANN001
    module = types.ModuleType("keyring")
    module.get_keyring = lambda: backend
    monkeypatch.setitem(sys.modules, "keyring", module)


def test_keyring_holds_the_key_when_configured(tmp_path, monkeypatch):
    backend = _MemoryKeyring()
    _install_keyring(monkeypatch, backend)
    path = tmp_path / "outbox.key"

    key = load_or_create_key(path, keyring_service="vn-checkin-kiosk")

    assert not path.exists()
    ((service, _user), stored), = backend.items.items()
    assert service == "vn-checkin-kiosk" and base64.b64decode(stored) == key
    assert load_or_create_key(path, keyring_service="vn-checkin-kiosk") == key


def test_an_unconfigured_keyring_falls_back_to_the_file(tmp_path, monkeypatch):
    class FailKeyring:
        __module__ = "keyring.backends.fail"
        priority = 0

    _install_keyring(monkeypatch, FailKeyring())
    path = tmp_path / "outbox.key"
    key = load_or_create_key(path, keyring_service="vn-checkin-kiosk")
    assert path.read_bytes() == key


def test_without_the_keyring_package_the_file_is_used(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    path = tmp_path / "outbox.key"
    assert load_or_create_key(path, keyring_service="vn-checkin-kiosk") == path.read_bytes()


# -- files on disk ------------------------------------------------------------------------


def test_database_files_are_owner_only(tmp_path):
    db_path = tmp_path / "outbox.sqlite3"
    old_umask = os.umask(0o022)
    try:
        with OutboxStore(db_path, load_or_create_key(tmp_path / "outbox.key"), "K01") as store:
            store.add(make_registration("r1"))
            for suffix in ("", "-wal", "-shm"):
                assert stat.S_IMODE(os.stat(f"{db_path}{suffix}").st_mode) == 0o600, suffix
    finally:
        os.umask(old_umask)


def test_purged_payloads_do_not_linger_in_the_files(tmp_path):
    db_path = tmp_path / "outbox.sqlite3"
    clock = ManualClock(T0)
    with OutboxStore(db_path, load_or_create_key(tmp_path / "outbox.key"), "K01", clock=clock) as store:
        store.add(make_registration("old"))
        store.add(make_registration("kept"))
        conn = sqlite3.connect(db_path)
        (sealed,) = conn.execute("SELECT payload FROM registration WHERE key = 'old'").fetchone()
        conn.close()
        store.acknowledge("old", make_receipt("old"))
        clock.advance(8 * 24 * 3600)
        assert any(sealed[20:60] in content for content in _database_files(db_path).values())

        assert store.purge_acknowledged() == 1

        # secure_delete zeroes the freed space, the checkpoint empties the WAL:
        # the ciphertext is gone, not merely unlinked.
        for name, content in _database_files(db_path).items():
            assert sealed[20:60] not in content, name
        assert store.get("kept").key == "kept"
