"""The throw-away PostgreSQL the hub tests run against.

packaging/test-services.sh starts a cluster and exports its URL; each test
module that needs a database gets a fresh one from here and drops it after.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from server.embedded import EmbeddedHub, start_embedded_hub

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


# The two databases the hub supports, as fixture params: PostgreSQL is
# marked, and skipped only outside packaging/test-services.sh (which
# `make test` requires to start it).
DATABASES = [
    "sqlite",
    pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)]),
]


@contextmanager
def embedded_hub_on(database: str, folder: Path, prefix: str) -> Iterator[EmbeddedHub]:
    """An embedded hub over HTTP on `database` ("sqlite" in `folder`, or a
    fresh PostgreSQL database named after `prefix`); stopped afterwards."""
    with ExitStack() as stack:
        url = stack.enter_context(fresh_postgres_database(prefix)) if database == "postgresql" else None
        hub = start_embedded_hub(folder / "hub.sqlite3", database_url=url)
        stack.callback(hub.stop)
        yield hub
