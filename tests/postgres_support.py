"""The throw-away PostgreSQL the hub tests run against.

packaging/test-services.sh starts a cluster and exports its URL; each test
module that needs a database gets a fresh one from here and drops it after.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

POSTGRES_URL = os.environ.get("KIOSK_TEST_POSTGRES_URL")
NO_POSTGRES = "KIOSK_TEST_POSTGRES_URL is not set: run the suite through packaging/test-services.sh"


@contextmanager
def fresh_postgres_database(prefix: str = "kiosk_test") -> Iterator[str]:
    """A throw-away database on the test cluster; dropped afterwards."""
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
