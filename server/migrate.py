"""Schema migrations, driven from code.

The Alembic Config is built here rather than read from an alembic.ini in the
current directory: the hub is an installed package and `kiosk-hub init` must
work wherever it is started.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        # ConfigParser treats "%" as interpolation; URLs may hold %-escapes.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(database_url: str | None = None, *, connection: Connection | None = None, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default); idempotent."""
    command.upgrade(alembic_config(database_url, connection), revision)


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def downgrade(database_url: str | None = None, *, connection: Connection | None = None, revision: str = "-1") -> None:
    """Step the schema back (`revision="base"` removes every hub table)."""
    command.downgrade(alembic_config(database_url, connection), revision)
