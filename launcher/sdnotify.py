"""Tell systemd how the kiosk is doing: the sd_notify(3) protocol, without libsystemd.

The protocol is one datagram of newline-separated KEY=VALUE assignments to
the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an abstract-namespace
name when it starts with "@"). The kiosk sends READY=1 once its window is
up, WATCHDOG=1 from a timer on the UI thread (so a hung event loop stops the
pings and systemd restarts the service, WatchdogSec= in the unit), and
STOPPING=1 when it leaves.

Outside systemd (a terminal, the demo, the tests) $NOTIFY_SOCKET is unset and
every call is a no-op. Sending never raises: a service manager that went
away must not take the kiosk down with it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceNotifier:
    address: str | bytes | None
    watchdog_interval: float | None  # seconds; None when systemd expects no pings

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, pid: int | None = None, parent_pid: int | None = None
    ) -> ServiceNotifier:
        env = os.environ if environ is None else environ
        pid = os.getpid() if pid is None else pid
        parent_pid = os.getppid() if parent_pid is None else parent_pid
        raw = env.get("NOTIFY_SOCKET", "")
        address: str | bytes | None = None
        if raw.startswith("@"):
            address = b"\0" + raw[1:].encode()  # Linux abstract namespace
        elif raw.startswith("/"):
            address = raw
        interval = None
        usec = env.get("WATCHDOG_USEC", "")
        if address is not None and usec.isdigit() and int(usec) > 0:
            # WATCHDOG_PID names the process systemd expects pings from: the
            # unit's main process. The kiosk runs as the child of the cage
            # compositor, which is that main process (the unit then needs
            # NotifyAccess=all), so our parent counts too.
            target = env.get("WATCHDOG_PID", "")
            if not target or (target.isdigit() and int(target) in (pid, parent_pid)):
                interval = int(usec) / 1_000_000
        return cls(address, interval)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, state: str) -> bool:
        """Send one state string (e.g. "READY=1"); False when not sent."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(state.encode("utf-8"))
        except OSError as exc:
            log.warning("cannot notify the service manager (%s)", exc.strerror or type(exc).__name__)
            return False
        return True

    def ping_milliseconds(self) -> int | None:
        """Timer period for WATCHDOG=1: half the watchdog time, as sd_watchdog_enabled(3) advises."""
        if self.watchdog_interval is None:
            return None
        return max(1, int(self.watchdog_interval * 1000 / 2))
