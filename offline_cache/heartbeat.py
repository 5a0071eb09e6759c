"""The kiosk's heartbeat: version, device status and outbox depth, sent to the hub.

The hub's fleet page lists every kiosk with what it last reported, so staff
see a kiosk whose printer is out of paper, or whose outbox is growing
because it cannot reach the hub, before patients complain. A kiosk that
stops beating is itself the news (its "last seen" ages).

One thread, one beat per `interval`. A beat that fails (hub down) is only
logged: the next one tries again, and nothing is queued, since only the
latest state matters. After a beat that reached the hub the worker also
refreshes stale reference data (`on_hub_reachable`), so a kiosk that started
from its cached copy picks up the hub's current one once the hub is back.

Device status carries no personal data: names, readiness and a technician's
detail string.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kiosk.errors import HubRejected, HubUnavailable

log = logging.getLogger(__name__)

Send = Callable[[str, dict[str, Any], int], Any]


class HeartbeatWorker:
    def __init__(
        self,
        send: Send,
        *,
        version: str,
        device_status: Callable[[], dict[str, Any]],
        outbox_depth: Callable[[], int],
        interval: float = 60.0,
        on_hub_reachable: Callable[[], Any] | None = None,
    ) -> None:
        self._send = send
        self._version = version
        self._device_status = device_status
        self._outbox_depth = outbox_depth
        self.interval = interval
        self._on_hub_reachable = on_hub_reachable
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.beats_sent = 0

    def report(self) -> dict[str, Any]:
        """What the next beat will say."""
        try:
            devices = self._device_status()
        except Exception as exc:  # a device that cannot say how it is, says so
            log.warning("device status failed: %s", type(exc).__name__)
            devices = {"status": {"ok": False, "detail": f"status failed: {type(exc).__name__}"}}
        try:
            depth = max(0, int(self._outbox_depth()))
        except Exception as exc:
            log.warning("outbox depth unknown: %s", type(exc).__name__)
            depth = 0
            devices = {**devices, "outbox": {"ok": False, "detail": f"depth unknown: {type(exc).__name__}"}}
        return {"version": self._version, "devices": devices, "outbox_depth": depth}

    def beat_once(self) -> bool:
        """Send one heartbeat now; True when the hub took it. Never raises."""
        report = self.report()
        try:
            self._send(report["version"], report["devices"], report["outbox_depth"])
        except (HubUnavailable, HubRejected) as exc:
            self.last_error = exc.code
            log.info("heartbeat not delivered: %s", exc.code)
            return False
        self.last_error = None
        self.beats_sent += 1
        if self._on_hub_reachable is not None:
            try:
                self._on_hub_reachable()
            except Exception:
                log.exception("refresh after heartbeat failed")
        return True

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat_once()
            except Exception:  # the worker outlives a bug in one beat
                log.exception("heartbeat failed")
            self._stop.wait(self.interval)
