"""`kiosk-hub`: set up and run the hospital hub.

    kiosk-hub init       [--db URL]    create the key, the schema (Alembic) and seed
                                       data; print the first admin token, once
    kiosk-hub serve      [--db URL] [--host H] [--port P] [--workers N]
    kiosk-hub add-kiosk  NAME          issue a kiosk credential; the secret is printed once
    kiosk-hub admin-token [--label L]  issue another admin token

Settings come from `--config FILE` (or $KIOSK_HUB_CONFIG), a TOML file with a
[hub] table, then from KIOSK_HUB_* environment variables (see
server.settings). The database is a SQLite file by default; give a
PostgreSQL URL (postgresql+psycopg://user@host/db) for several workers or
several hub machines.

TLS: the hub speaks plain HTTP. Terminate TLS at a reverse proxy (nginx,
Caddy) on the same machine and bind the hub to 127.0.0.1; kiosks verify the
proxy's certificate (HttpHubClient verifies by default; give it the
hospital CA file if the certificate is private). The proxy must pass the
request path through unchanged, since kiosk signatures cover it.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from kiosk.errors import ConfigError
from server import provision
from server.settings import HubSettings, load_settings


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # urllib3 writes request lines, query strings included, at DEBUG; the
    # gateway's credentials travel in the query string (DOMAIN.md §2).
    logging.getLogger("urllib3").setLevel(logging.WARNING)


class RedactCredentials(logging.Filter):
    """Blank credential values in access-log request lines.

    The gateway API carries token, id_token and password in the query string
    (DOMAIN.md §2); with the simulated gateway mounted in the hub those
    requests pass through the hub's own access log.
    """

    _PATTERN = re.compile(r"([?&](?:token|id_token|password)=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._PATTERN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def server_log_config() -> dict[str, Any]:
    """uvicorn's logging set-up plus the hub's: applied in every worker process."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "server.cli.RedactCredentials"}}
    config["handlers"]["access"]["filters"] = ["redact"]
    config["formatters"]["plain"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["hub"] = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    config["root"] = {"handlers": ["hub"], "level": "INFO"}
    config["loggers"]["urllib3"] = {"level": "WARNING"}
    return config


def _settings(args: argparse.Namespace) -> HubSettings:
    return load_settings(args.config, database_url=getattr(args, "db", None))


def _init(args: argparse.Namespace) -> int:
    settings = _settings(args)
    key_file = provision.ensure_secret_key(settings)
    if key_file is not None:
        print(f"Created the server key {key_file} (back it up: without it kiosk credentials must be re-issued).")
    seeded = provision.initialise(settings)
    print("Database schema is up to date.")
    print("Seeded departments and services." if seeded else "Reference data already present; left as is.")
    if provision.has_admin_token(settings):
        print("An admin token already exists; use `kiosk-hub admin-token` to issue another.")
    else:
        token = provision.new_admin_token(settings, "first admin (kiosk-hub init)")
        print("Admin token (shown once; store it in a password manager):")
        print(token)
    return 0


def _add_kiosk(args: argparse.Namespace) -> int:
    settings = _settings(args)
    kiosk_id, secret = provision.add_kiosk(settings, args.name)
    print("Kiosk credential (the secret is shown once; put it in the kiosk's secret file, mode 600):")
    print(f"kiosk_id = {kiosk_id}")
    print(f"secret   = {secret}")
    return 0


def _admin_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(provision.new_admin_token(settings, args.label))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    # Migrating before the workers start means they never race on the schema.
    from server import migrate

    settings.load_secret_key()
    migrate.upgrade(settings.resolved_database_url())
    loopback_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    loopback = f"http://{loopback_host}:{args.port}"
    if args.workers > 1:
        if settings.resolved_database_url().startswith("sqlite"):
            logging.getLogger(__name__).warning(
                "several workers on SQLite serialise every write, and between workers through SQLite's "
                "busy handler, whose slowest waits run to seconds; use PostgreSQL for more than a few kiosks"
            )
        # Workers are separate processes; they rebuild the settings from the
        # environment they inherit.
        if args.config:
            os.environ["KIOSK_HUB_CONFIG"] = args.config
        if args.db:
            os.environ["KIOSK_HUB_DATABASE_URL"] = args.db
        os.environ["KIOSK_HUB_LOOPBACK_URL"] = loopback
        uvicorn.run(
            "server.app:app_from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
            log_config=server_log_config(),
            # A worker imports FastAPI, SQLAlchemy and cryptography before it
            # answers the supervisor; on a busy or slow machine that can take
            # longer than uvicorn's 5 s default, which then kills it as hung.
            timeout_worker_healthcheck=30,
        )
        return 0
    from server.app import create_app

    uvicorn.run(
        create_app(settings, loopback_url=loopback),
        host=args.host,
        port=args.port,
        proxy_headers=True,
        log_config=server_log_config(),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-hub", description="The hospital hub for check-in kiosks.")
    parser.add_argument("--config", help="TOML settings file (default: $KIOSK_HUB_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create key, schema and seed data; print the first admin token")
    init.add_argument("--db", help="database URL (default: SQLite in the data directory)")
    init.set_defaults(run=_init)

    serve = commands.add_parser("serve", help="run the hub")
    serve.add_argument("--db", help="database URL")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, behind a TLS proxy)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL recommended above 1)")
    serve.set_defaults(run=_serve)

    kiosk = commands.add_parser("add-kiosk", help="issue a kiosk credential")
    kiosk.add_argument("name", help="where the kiosk stands, e.g. 'Sảnh A - máy 1'")
    kiosk.add_argument("--db", help="database URL")
    kiosk.set_defaults(run=_add_kiosk)

    token = commands.add_parser("admin-token", help="issue another admin token")
    token.add_argument("--label", default="admin (kiosk-hub admin-token)")
    token.add_argument("--db", help="database URL")
    token.set_defaults(run=_admin_token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging()
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"kiosk-hub: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
