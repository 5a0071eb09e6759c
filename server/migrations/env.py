"""Alembic environment for the hub.

Run only through `server.migrate`, which builds the Alembic Config in code
(script location from this package, URL from the hub settings), so migrations
work from any current directory and from an installed package. When the
caller already holds a connection (tests, the embedded hub) it is passed in
`config.attributes["connection"]` and used as is.
"""

from __future__ import annotations

from alembic import context

from server.db import create_hub_engine
from server.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the
        # table, which is how later migrations stay portable.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_hub_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `kiosk-hub init`")
run_migrations_online()
