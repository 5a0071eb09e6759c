"""Technician mode wiring: argon2id for the PIN, the outbox and hub adapters,
and the `kiosk set-technician-pin` command."""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kiosk.clock import SystemClock
from kiosk.config import KioskConfig
from kiosk.errors import HubRejected, HubUnavailable
from kiosk.ports import Clock
from kiosk.technician import (
    AUDIT_FILE,
    PIN_FILE,
    AuditLog,
    Devices,
    KioskTechnician,
    RecentLog,
    RejectedRow,
    TechnicianGate,
)

log = logging.getLogger(__name__)


class Argon2PinHasher:
    """argon2id (RFC 9106) with argon2-cffi's defaults (the RFC's second
    recommended option: t=3, 64 MiB)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    def hash(self, pin: str) -> str:
        return self._hasher.hash(pin)

    def verify(self, hashed: str, pin: str) -> bool:
        try:
            return self._hasher.verify(hashed, pin)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def technician_gate(data_dir: Path, clock: Clock | None = None, hasher: Any = None) -> TechnicianGate:
    clock = clock or SystemClock()
    audit = AuditLog(data_dir / AUDIT_FILE, clock)
    return TechnicianGate(data_dir / PIN_FILE, hasher or Argon2PinHasher(), clock, audit)


class OutboxAdapter:
    """`kiosk.technician.OutboxMonitor` over the outbox store and its sync worker."""

    def __init__(self, store: Any, sync: Any) -> None:
        self._store = store
        self._sync = sync

    def pending_count(self) -> int:
        return self._store.pending_count()

    def rejected(self) -> Sequence[RejectedRow]:
        return [RejectedRow(r.key, r.reason, r.created_at) for r in self._store.rejected()]

    def sync_now(self) -> None:
        self._sync.sync_now()

    def online(self) -> bool:
        return bool(self._sync.online())


def http_hub_probe(url: str, kiosk_id: str, secret: str, *, verify: bool | str = True, timeout: float = 5.0) -> bool:
    """Reach the hub with these settings and ask for something only an
    accepted kiosk gets: True if it answered; False if it is unreachable;
    raises `HubRejected` when it refused the credential."""
    from drivers.hub.http_client import HttpHubClient

    client = HttpHubClient(url, kiosk_id, secret, timeout=timeout, verify=verify)
    if not client.ping():  # the unauthenticated health check
        return False
    try:
        client.reference_data()
    except HubUnavailable as exc:
        # It answered its health check, so this is the hub's word on the
        # credential (the client reports 401/403 as "unavailable").
        raise HubRejected(str(exc), 401) from None
    return True


_recent_log: RecentLog | None = None


def recent_log() -> RecentLog:
    """The in-memory log the export reads; installed on the root logger once."""
    global _recent_log
    if _recent_log is None:
        _recent_log = RecentLog()
        logging.getLogger().addHandler(_recent_log)
    return _recent_log


def build_technician(kiosk: Any, *, clock: Clock | None = None, hasher: Any = None) -> KioskTechnician:
    """The console for a built `launcher.wiring.Kiosk`."""
    config: KioskConfig = kiosk.config
    data_dir = config.data_dir()
    clock = clock or SystemClock()
    decoder = None
    if kiosk.camera is not None:
        from drivers.camera.decoder import ZxingQrDecoder

        decoder = ZxingQrDecoder()
    verify: bool | str = config["hub.verify_tls"]
    if verify and config["hub.ca_file"]:
        verify = config["hub.ca_file"]
    devices = Devices(
        card_reader=kiosk.card_reader,
        printer=kiosk.printer,
        camera=kiosk.camera,
        decoder=decoder,
        outbox=OutboxAdapter(kiosk.outbox, kiosk.sync),
        hub_probe=lambda url, kid, secret: http_hub_probe(url, kid, secret, verify=verify),
        # The test read takes its turn with the card like a patient's read
        # (on the card watcher's thread, under the desk's chip lock).
        share_card=kiosk.desk.share_card,
    )
    return KioskTechnician(
        gate=technician_gate(data_dir, clock, hasher),
        devices=devices,
        config=config,
        clock=clock,
        export_dir=data_dir / "exports",
        recent_log=recent_log(),
        kiosk_id=config["kiosk.id"],
    )


def set_pin_command(config: KioskConfig, *, from_stdin: bool, stdin: Any = None) -> int:
    """`kiosk set-technician-pin`: ask twice (or read one line), hash, store."""
    from kiosk.technician import PinRejected

    gate = technician_gate(config.data_dir())
    if from_stdin:
        pin = (stdin or sys.stdin).readline().strip()
        again = pin
    else:
        pin = getpass.getpass("New technician PIN (6-12 digits): ")
        again = getpass.getpass("Again: ")
    if pin != again:
        print("kiosk: the two PINs differ; nothing changed", file=sys.stderr)
        return 1
    try:
        gate.set_pin(pin, via="cli")
    except PinRejected as exc:
        print(f"kiosk: {exc}; nothing changed", file=sys.stderr)
        return 1
    print(f"technician PIN set ({gate.path})")
    return 0
