"""`kiosk export-bundle` and `kiosk import-bundle`: field-staff mode by hand.

Both open the outbox of the configured data directory, so the kiosk program
must not be running on that machine at the time (the outbox allows one
process; the error says so). The passphrase is read from
--passphrase-file, else $KIOSK_BUNDLE_PASSPHRASE, else asked for on the
terminal; it is never taken as a command-line argument, where other users
could read it in the process list.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from kiosk.config import KioskConfig
from kiosk.errors import StorageError


def read_passphrase(passphrase_file: Path | None, *, confirm: bool) -> str:
    if passphrase_file is not None:
        try:
            return passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise StorageError(f"cannot read the passphrase file {passphrase_file}: {exc.strerror}") from None
    from_env = os.environ.get("KIOSK_BUNDLE_PASSPHRASE")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise StorageError("no passphrase: use --passphrase-file or KIOSK_BUNDLE_PASSPHRASE")
    first = getpass.getpass("Bundle passphrase: ")
    if confirm and getpass.getpass("Again: ") != first:
        raise StorageError("the two passphrases differ")
    return first


def _open_outbox(config: KioskConfig):  # -> OutboxStore
    from offline_cache.keys import load_or_create_key
    from offline_cache.store import OutboxStore

    data_dir = config.data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = load_or_create_key(data_dir / "outbox.key")
    return OutboxStore(data_dir / "outbox.sqlite3", key, kiosk_id=config["kiosk.id"], kiosk_prefix=config["kiosk.id"])


def export_bundle(config: KioskConfig, out: Path, passphrase_file: Path | None) -> int:
    from kiosk.clock import SystemClock
    from offline_cache.bundle import export_pending

    passphrase = read_passphrase(passphrase_file, confirm=True)
    with _open_outbox(config) as store:
        count = export_pending(store, out, passphrase, SystemClock().now())
    print(f"{count} registration(s) written to {out}; they stay in this outbox until the hub has them")
    return 0


def import_bundle(config: KioskConfig, bundle_path: Path, passphrase_file: Path | None) -> int:
    from offline_cache.bundle import import_bundle as add_to_outbox
    from offline_cache.bundle import open_bundle, read_file

    bundle = open_bundle(read_file(bundle_path), read_passphrase(passphrase_file, confirm=False))
    with _open_outbox(config) as store:
        result = add_to_outbox(store, bundle)
    print(
        f"bundle from kiosk {bundle.kiosk_id}: {result.added} registration(s) added to the outbox, "
        f"{result.known} already there; the kiosk sends them to the hub when it runs"
    )
    return 0
