"""A whole hub in a background thread, for the demo and end-to-end tests.

`start_embedded_hub(path)` creates (or reuses) a SQLite hub at `path`, with
schema, seed data, the simulated insurance gateway and one kiosk credential,
and serves it with uvicorn on a free local port. The kiosk then talks to it
through the real `HttpHubClient`, over real HTTP: the same wiring as
production, only the backend differs.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import uvicorn

from kiosk.domain import VIETNAM_TZ
from server import provision
from server.app import create_app
from server.settings import HubSettings

log = logging.getLogger(__name__)

EMBEDDED_KIOSK_NAME = "embedded kiosk"
_START_TIMEOUT_SECONDS = 15.0


@dataclass
class EmbeddedHub:
    url: str  # http://127.0.0.1:PORT
    kiosk_id: str
    kiosk_secret: str = field(repr=False)
    admin_token: str = field(repr=False)
    settings: HubSettings
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def add_kiosk(self, name: str) -> tuple[str, str]:
        """Another kiosk credential on this hub (tests with several kiosks)."""
        return provision.add_kiosk(self.settings, name)

    def stop(self) -> None:
        """Stop serving and wait for the thread; safe to call twice."""
        self._server.should_exit = True
        self._thread.join(timeout=_START_TIMEOUT_SECONDS)

    def __enter__(self) -> EmbeddedHub:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()


def _bind(host: str, port: int) -> tuple[socket.socket, str]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY on Linux. Without it a
    # kept-alive request stalls ~40 ms per answer: the server's second small
    # write (the body after the headers) waits under Nagle's algorithm for
    # the ACK the client is delaying (RFC 896; RFC 1122 4.2.3.2).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    return sock, f"http://{url_host}:{bound_port}"


def _serve(app: Any, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    """Run `app` on the bound socket in a daemon thread; wait until it accepts."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only on the main thread, so running it
    # in a worker thread leaves the host application's Ctrl-C handling alone.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="embedded-hub", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("embedded server failed to start; see the log")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("embedded server did not start in time")
        time.sleep(0.02)
    return server, thread


@dataclass
class ServedApp:
    """Any ASGI app served on a local port (the simulated gateway alone, in tests)."""

    url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=_START_TIMEOUT_SECONDS)


def serve_app_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> ServedApp:
    sock, url = _bind(host, port)
    server, thread = _serve(app, sock)
    return ServedApp(url, server, thread)


def start_embedded_hub(
    db_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    database_url: str | None = None,
    clock: Callable[[], float] = time.time,
    demo_appointment: bool = True,
    **settings_overrides: Any,
) -> EmbeddedHub:
    """Start a hub; `db_path` is its SQLite file (the key file goes beside it).

    `database_url` points the hub at another database (PostgreSQL in the
    tests) instead of the file; `clock` and `settings_overrides` (any
    `HubSettings` field, e.g. rate_limit_per_minute=5) are for tests.
    `demo_appointment` gives sample citizen 2 an open re-exam appointment
    for today (server.seed.seed_demo_appointment).
    """
    db_path = Path(db_path).resolve()
    settings = HubSettings(
        data_dir=db_path.parent,
        database_url=database_url or f"sqlite:///{db_path}",
        secret_key_file=str(db_path.with_suffix(".key")),
        gateway_url="simulated",
        vneid_verifier="simulated",
    ).replace(**settings_overrides)

    provision.initialise(settings)
    kiosk_id, kiosk_secret = provision.kiosk_named(settings, EMBEDDED_KIOSK_NAME)
    admin_token = provision.rotate_admin_token(settings, "embedded hub")
    if demo_appointment:
        provision.seed_demo_appointment(settings, datetime.fromtimestamp(clock(), VIETNAM_TZ).date())

    # Bind first so the port is known before the app (which must know its own
    # URL to reach the mounted simulated gateway) is built.
    sock, url = _bind(host, port)
    try:
        app = create_app(settings, clock=clock, loopback_url=url)
    except BaseException:
        sock.close()
        raise
    server, thread = _serve(app, sock)
    log.info("embedded hub serving on %s", url)
    return EmbeddedHub(
        url=url,
        kiosk_id=kiosk_id,
        kiosk_secret=kiosk_secret,
        admin_token=admin_token,
        settings=settings,
        _server=server,
        _thread=thread,
    )
