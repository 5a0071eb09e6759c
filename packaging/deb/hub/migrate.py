"""Bring the hub's database schema up to date (run by the package's postinst).

`kiosk-hub serve` migrates at start as well; running it at upgrade time
shows a failing migration to whoever upgrades, not only in the journal.
"""

import sys

from kiosk.errors import ConfigError
from server import migrate
from server.settings import load_settings

try:
    settings = load_settings()
    migrate.upgrade(settings.resolved_database_url())
except ConfigError as exc:
    print(f"vn-checkin-hub: settings: {exc}", file=sys.stderr)
    sys.exit(2)
print("vn-checkin-hub: database schema is up to date")
