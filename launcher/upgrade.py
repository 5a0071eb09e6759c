"""`kiosk migrate`: bring the kiosk's stored data up to date after an upgrade.

The package's postinst runs it as the kiosk user with the service stopped,
so a migration that fails is seen by whoever upgrades rather than as a
restart loop on the screen. The outbox also migrates whenever the app opens
it; this only moves that moment to upgrade time.

It never creates a data key: a missing key next to an existing outbox means
rows nobody can read, which a technician must restore from the old kiosk,
not paper over with a fresh key.
"""

from __future__ import annotations

from kiosk.config import KioskConfig
from kiosk.errors import StorageError


def migrate_outbox(config: KioskConfig) -> str:
    """Open the outbox once (running its migrations) and close it; a line for the log."""
    from offline_cache.keys import load_or_create_key
    from offline_cache.store import SCHEMA_VERSION, OutboxStore

    data_dir = config.data_dir()
    database = data_dir / "outbox.sqlite3"
    key_file = data_dir / "outbox.key"
    if not database.exists():
        return f"no outbox in {data_dir}; nothing to migrate"
    if not key_file.exists():
        raise StorageError(f"{key_file} is missing: restore it (the outbox cannot be read without it)")
    key = load_or_create_key(key_file)
    store = OutboxStore(database, key, kiosk_id=config["kiosk.id"], kiosk_prefix=config["kiosk.id"])
    try:
        waiting = store.pending_count()
    finally:
        store.close()
    return f"outbox schema at version {SCHEMA_VERSION}; {waiting} registration(s) waiting for the hub"
