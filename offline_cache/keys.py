"""The data key that encrypts personal data in the outbox, kept outside it.

The outbox database holds names, ID numbers and insurance codes of every
patient checked in while the hub was away. Those columns are sealed with a
256-bit AES-GCM key that lives somewhere else: a small file readable by the
kiosk user only, or, when the kiosk image configures one, the OS keyring. A
copy of the database alone (a backup, a disk image sent for a bug report, a
file grabbed from a stolen disk's data partition) then reveals no patient.

The key is never rotated silently: a new key would make every row written
with the old one unreadable. The store checks the key against the database
when it opens (`OutboxStore`), so a lost or swapped key fails loudly at
start-up instead of corrupting the outbox one row at a time.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
from pathlib import Path

from kiosk.errors import StorageError

log = logging.getLogger(__name__)

KEY_BYTES = 32  # AES-256
_KEY_FILE_MODE = 0o600
# Anything beyond the owner's bits: group and others must have no access at
# all, not even read. A group-writable key file could be swapped; a readable
# one defeats the point of keeping the key apart from the data.
_FOREIGN_BITS = stat.S_IRWXG | stat.S_IRWXO
_KEYRING_USERNAME = "outbox-data-key"


def load_or_create_key(path: str | os.PathLike[str], *, keyring_service: str | None = None) -> bytes:
    """Return the 32-byte data key, creating it on first start.

    With `keyring_service`, and only when the `keyring` package is importable
    and has a real backend configured (Secret Service, KWallet, ...), the key
    is kept in the keyring under that service name and `path` is not used.
    Otherwise the key lives in the file at `path`, created with mode 0600.

    Raises `StorageError` when the key file is readable or writable by group
    or others, is not a regular file, has the wrong length, or cannot be
    written. The file is never repaired or replaced automatically: it may be
    the only key able to read rows still waiting for the hub.
    """
    if keyring_service:
        backend = _usable_keyring()
        if backend is not None:
            return _keyring_key(backend, keyring_service)
        log.warning("keyring requested but not usable here; using the key file")
    return _file_key(Path(path))


# -- key file ---------------------------------------------------------------------


def _file_key(path: Path) -> bytes:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    try:
        return _create_key_file(path)
    except FileExistsError:
        # Another process created it between our read and our create: its key
        # is the one that counts, never ours.
        return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        # ELOOP: a symlink where the key should be. Following it could read a
        # key planted elsewhere (or leak ours through a link we did not make).
        raise StorageError(f"cannot open the data key file {path}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StorageError(f"the data key file {path} is not a regular file")
        if info.st_mode & _FOREIGN_BITS:
            raise StorageError(
                f"the data key file {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); it must be 0600 "
                f"(run: chmod 600 {path})"
            )
        data = _read_exactly(fd, KEY_BYTES + 1)
    except OSError as exc:
        raise StorageError(f"cannot read the data key file {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise StorageError(
            f"the data key file {path} holds {len(data)} bytes, expected {KEY_BYTES}: "
            "it is damaged; restore it from backup (the outbox cannot be read without it)"
        )
    return data


def _read_exactly(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        chunk = os.read(fd, limit - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _create_key_file(path: Path) -> bytes:
    """Create the key file so that no reader ever sees a partial key.

    The key is written and fsynced under a temporary name, then hard-linked
    to the final name. link() fails with EEXIST if the name exists, so it is
    both atomic and exclusive, like O_EXCL, but without the window in which
    a crash leaves an empty key file behind.
    """
    key = secrets.token_bytes(KEY_BYTES)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:  # includes FileExistsError: a file where the folder should be
        raise StorageError(f"cannot create the data key file {path}: {exc.strerror or exc}") from exc
    try:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        _write_new_file(tmp, key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:
            # Some file systems (FAT on a USB stick, a few FUSE mounts) have
            # no hard links: fall back to a plain O_EXCL create. A crash in
            # the middle leaves a short file, which the length check refuses.
            _write_new_file(path, key)
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        _fsync_directory(path.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot create the data key file {path}: {exc.strerror or exc}") from exc
    log.info("created a new outbox data key file")
    return key


def _write_new_file(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, _KEY_FILE_MODE)
    try:
        # The umask can only remove bits, but a umask such as 0777 would
        # leave us a file we cannot read back: set the mode exactly.
        os.fchmod(fd, _KEY_FILE_MODE)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make the new directory entry itself durable (POSIX needs this)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not supported here (e.g. Windows); the file data is synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- OS keyring -------------------------------------------------------------------


def _usable_keyring():  # noqa: ANN202 - a keyring backend, if any
    """The configured keyring backend, or None when there is none worth using.

    `keyring` is optional. When importable it may still only have its "fail"
    or "null" backend (a kiosk without a desktop session has no Secret
    Service); treating those as a keyring would lose the key.
    """
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not stop the kiosk
        log.warning("keyring configuration could not be loaded", exc_info=True)
        return None
    module = type(backend).__module__
    if module.endswith((".fail", ".null")):
        return None
    try:
        if float(getattr(backend, "priority", 1)) <= 0:
            return None
    except Exception:  # some backends compute priority lazily and may raise
        return None
    return backend


def _keyring_key(backend, service: str) -> bytes:  # noqa: ANN001 - keyring backend
    try:
        stored = backend.get_password(service, _KEYRING_USERNAME)
    except Exception as exc:
        raise StorageError(f"cannot read the outbox data key from the keyring: {exc}") from exc
    if stored is not None:
        try:
            key = base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise StorageError("the outbox data key in the keyring is damaged (not base64)") from exc
        if len(key) != KEY_BYTES:
            raise StorageError(f"the outbox data key in the keyring has {len(key)} bytes, expected {KEY_BYTES}")
        return key
    key = secrets.token_bytes(KEY_BYTES)
    try:
        backend.set_password(service, _KEYRING_USERNAME, base64.b64encode(key).decode("ascii"))
        # Read it back: a keyring that accepts and forgets would hand us a key
        # nobody can find again after a restart.
        if backend.get_password(service, _KEYRING_USERNAME) != base64.b64encode(key).decode("ascii"):
            raise StorageError("the keyring did not keep the outbox data key")
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"cannot store the outbox data key in the keyring: {exc}") from exc
    log.info("created a new outbox data key in the keyring")
    return key
