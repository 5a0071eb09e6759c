"""The composition root: configuration in, a running kiosk out.

This is the only place that knows every backend. Production, the demo and
the end-to-end tests all come through `build_kiosk`, so the simulated
devices are wired exactly like the real ones (python-escpos' "dummy printer
chosen by configuration" idea).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.clock import OffsetClock, SystemClock
from kiosk.config import KioskConfig
from kiosk.desk import CardWatcher, CheckInDesk, DeskSettings
from kiosk.errors import ConfigError
from kiosk.flow import CheckInFlow
from kiosk.payment import PaymentSettings, PaymentWatcher

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def cccd_qr_text(citizen: dict[str, Any]) -> str:
    """The front-of-card QR of a sample citizen (DOMAIN.md §1 layout):
    ID12|CMND9|Full name|ddmmyyyy|Gender|Address|ddmmyyyy(issue)."""

    def ddmmyyyy(iso: str) -> str:
        y, m, d = iso.split("-")
        return f"{d}{m}{y}"

    return "|".join(
        [
            citizen["id_number"],
            citizen.get("old_id_number") or "",
            citizen["full_name"],
            ddmmyyyy(citizen["date_of_birth"]),
            citizen["sex"],
            citizen["place_of_residence"],
            ddmmyyyy(citizen["date_of_issue"]),
        ]
    )


@dataclass
class CardSimulator:
    """What the demo's simulator panel and keys 1–4 drive.

    Tapping a sample citizen does what a patient does at a "2-in-1" reader:
    the chip enters the reader's field and the card's front QR comes into
    the camera's view.
    """

    reader: Any  # drivers.card.simulated.SimulatedCardReader
    camera: Any  # drivers.camera.simulated.SimulatedCamera | None
    citizens: list[dict[str, Any]]

    def tap(self, slot: int) -> None:
        from drivers.card.samples import sample_chip

        citizen = next(c for c in self.citizens if c["slot"] == slot)
        if self.camera is not None:
            self.camera.show_payload(cccd_qr_text(citizen), caption=f"CCCD {slot}")
        self.reader.place(sample_chip(slot))

    def show_qr(self, text: str) -> None:
        if self.camera is not None:
            self.camera.show_payload(text)

    def show_vneid(self, slot: int) -> None:
        """A phone showing sample citizen `slot`'s VNeID app code, fresh now
        (the hub's simulated verifier resolves it for about a minute)."""
        from server.vneid import simulated_token

        if self.camera is not None:
            self.camera.show_payload(simulated_token(slot), caption="VNeID")

    def lift(self) -> None:
        self.reader.remove()
        if self.camera is not None:
            self.camera.show_nothing()

    def buttons(self) -> list[tuple[str, Callable[[], None]]]:
        out: list[tuple[str, Callable[[], None]]] = []
        for c in self.citizens:
            out.append((f"{c['slot']}. {c['full_name']}", lambda s=c["slot"]: self.tap(s)))
        # After the cards (keys 1-4 stay on them): a phone showing each
        # citizen's VNeID code, for the hub's simulated verifier.
        for c in self.citizens:
            out.append((f"VNeID {c['slot']}", lambda s=c["slot"]: self.show_vneid(s)))
        return out


@dataclass
class Kiosk:
    config: KioskConfig
    desk: CheckInDesk
    flow: CheckInFlow
    sync: Any
    outbox: Any
    printer: Any
    renderer: Any
    card_watcher: CardWatcher
    scanner: Any | None
    camera: Any | None
    simulator: CardSimulator | None
    embedded_hub: Any | None = None
    card_reader: Any | None = None  # the technician's test read and card events
    payment_watcher: Any | None = None  # kiosk.payment.PaymentWatcher, when VietQR is on
    heartbeat: Any | None = None  # offline_cache.heartbeat.HeartbeatWorker
    _stoppers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def camera_preview(self) -> Any | None:
        """What the identify screen shows (`kiosk.ports.CameraPreview`): the
        scanner, which has the camera's newest frame and where it last found
        a code; None without a camera."""
        return self.scanner

    def start(self) -> None:
        self.sync.start()
        if self.camera is not None:
            self.camera.start()
        if self.scanner is not None:
            self.scanner.start()
        self.card_watcher.start()
        if self.payment_watcher is not None:
            self.payment_watcher.start()
        self.desk.refresh_reference()
        if self.heartbeat is not None:
            self.heartbeat.start()

    def stop(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.card_watcher.stop()
        if self.payment_watcher is not None:
            self.payment_watcher.stop()
        if self.scanner is not None:
            self.scanner.stop()
        if self.camera is not None:
            self.camera.stop()
        self.sync.stop()
        self.outbox.close()
        if self.embedded_hub is not None:
            self.embedded_hub.stop()
        for stop in self._stoppers:
            stop()


def _read_secret(path: str) -> str:
    if not path:
        raise ConfigError("hub.secret_file", "is required for the http hub backend")
    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
        text = p.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError("hub.secret_file", f"cannot read {p}: {exc.strerror}") from None
    if mode & 0o077:
        raise ConfigError("hub.secret_file", f"{p} is readable by other users; chmod 600 it")
    return text


# A kiosk refreshes departments and services after a heartbeat reached the
# hub when its copy is older than this (or came from the cache at start-up).
REFERENCE_MAX_AGE_SECONDS = 15 * 60


def _heartbeat(config: KioskConfig, hub: Any, desk: CheckInDesk, outbox: Any, printer: Any, card_reader: Any) -> Any:
    if not hasattr(hub, "heartbeat"):
        return None
    from kiosk import __version__
    from offline_cache.heartbeat import HeartbeatWorker

    def devices() -> dict[str, Any]:
        status = printer.status()
        return {
            "printer": {
                "ok": status.ready,
                "online": status.online,
                "paper_out": status.paper_out,
                "paper_near_end": status.paper_near_end,
                "cover_open": status.cover_open,
                "detail": status.detail,
            },
            # Presence is polled by the card watcher's own thread; here only
            # which reader the kiosk was configured with.
            "card_reader": {"ok": True, "name": getattr(card_reader, "name", type(card_reader).__name__)},
            "reference": {"ok": desk.flow.state.reference is not None, "age_seconds": desk.reference_age_seconds()},
        }

    def refresh_if_stale() -> None:
        age = desk.reference_age_seconds()
        if age is None or age > REFERENCE_MAX_AGE_SECONDS:
            desk.refresh_reference()

    return HeartbeatWorker(
        hub.heartbeat,
        version=__version__,
        device_status=devices,
        outbox_depth=outbox.pending_count,
        interval=config["hub.heartbeat_seconds"],
        on_hub_reachable=refresh_if_stale,
    )


def _reference_cache(data_dir: Path) -> Any:
    from offline_cache.reference_cache import ReferenceCache

    return ReferenceCache(data_dir / "reference.json")


def chip_trust_store(setting: str, backend: str) -> Any:
    """The CSCA trust store for passive authentication (`card.trust_store`).

    "test" (or empty with the simulated backend) trusts the generated TEST
    PKI of the simulated cards only; a real kiosk names real CSCA files or
    master lists. Empty with pcsc: no anchor, so cards read "not verifiable".
    """
    from drivers.card.icao.pa import TrustStore

    entries = [part.strip() for part in setting.split(";") if part.strip()]
    if not entries and backend == "simulated":
        entries = ["test"]
    store = TrustStore()
    for entry in entries:
        if entry == "test":
            from drivers.card.sample_pki import csca_pem

            store.load_bytes(csca_pem(), "TEST CSCA")
            store.sources.append("TEST CSCA (generated, not for production)")
        else:
            # CSCAs named in earlier entries may vouch for a master list's signer.
            loaded = TrustStore.from_paths([Path(entry).expanduser()], anchors=store.certificates)
            store.master_lists.extend(loaded.master_lists)
            for cert in loaded.certificates:
                store.add(cert)
            store.sources.extend(loaded.sources)
    return store if len(store) else None


def build_kiosk(config: KioskConfig, *, ticket_folder: Path | None = None) -> Kiosk:
    """Build every part from configuration. Nothing starts until `start()`."""
    data_dir = config.data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)  # personal data lives here
    clock: Any = SystemClock()
    if config["kiosk.clock"] == "simulated":
        clock = OffsetClock(datetime.fromisoformat(config["kiosk.simulated_start"]))

    # -- hub ----------------------------------------------------------------
    from drivers.hub.http_client import HttpHubClient

    embedded = None
    hub: Any
    if config["hub.backend"] == "simulated":
        from drivers.hub.simulated import InMemoryHubClient

        hub = InMemoryHubClient(hospital_code=config["kiosk.hospital_code"])
    elif config["hub.backend"] == "embedded":
        from server.embedded import start_embedded_hub

        embedded = start_embedded_hub(data_dir / "hub.sqlite3")
        hub = HttpHubClient(embedded.url, embedded.kiosk_id, embedded.kiosk_secret, timeout=config["hub.timeout_seconds"])
    else:
        verify: bool | str = config["hub.verify_tls"]
        if verify and config["hub.ca_file"]:
            verify = config["hub.ca_file"]
        hub = HttpHubClient(
            config["hub.url"],
            config["hub.kiosk_id"] or config["kiosk.id"],
            _read_secret(config["hub.secret_file"]),
            timeout=config["hub.timeout_seconds"],
            verify=verify,
        )

    # -- outbox ----------------------------------------------------------------
    from offline_cache.keys import load_or_create_key
    from offline_cache.store import OutboxStore
    from offline_cache.sync import SyncWorker

    key = load_or_create_key(data_dir / "outbox.key")
    outbox = OutboxStore(
        data_dir / "outbox.sqlite3", key, kiosk_id=config["kiosk.id"], kiosk_prefix=config["kiosk.id"], clock=clock
    )
    # Retention: acknowledged rows hold personal data the hub already has.
    outbox.purge_acknowledged()
    sync = SyncWorker(outbox, hub, clock)

    # -- card ---------------------------------------------------------------------
    from drivers.card.icao.reader import IcaoChipReader

    simulator = None
    camera = None
    if config["card.backend"] == "pcsc":
        from drivers.card.pcsc import PcscCardReader

        card_reader: Any = PcscCardReader(config["card.reader"])
    else:
        from drivers.card.samples import sample_citizens
        from drivers.card.simulated import SimulatedCardReader

        card_reader = SimulatedCardReader()

    # -- camera -------------------------------------------------------------------
    scanner = None
    if config["camera.backend"] == "opencv":
        from drivers.camera.opencv_camera import OpenCvCamera

        device: int | str = config["camera.device"]
        device = int(device) if str(device).isdigit() else device
        camera = OpenCvCamera(device, config["camera.width"], config["camera.height"], config["camera.fps"])
    elif config["camera.backend"] == "simulated":
        from drivers.camera.simulated import SimulatedCamera

        images = config["camera.images"]
        fps = config["camera.fps"]
        camera = SimulatedCamera(images, fps=fps) if images else SimulatedCamera(fps=fps)

    if config["card.backend"] == "simulated":
        simulator = CardSimulator(card_reader, camera, sample_citizens())

    # -- printer -------------------------------------------------------------------
    from launcher.printer_tools import build_printer

    printer, renderer = build_printer(config, ticket_folder=ticket_folder)

    flow = CheckInFlow(idle_timeout=config["kiosk.idle_timeout_seconds"])
    logo = config["kiosk.logo"] or str(ASSETS / "logo.png")
    desk = CheckInDesk(
        settings=DeskSettings(
            kiosk_id=config["kiosk.id"],
            hospital_name=config["kiosk.hospital_name"],
            hospital_code=config["kiosk.hospital_code"],
            logo_path=logo if Path(logo).exists() else None,
            register_timeout=config["hub.register_timeout_seconds"],
            payment=PaymentSettings(
                enabled=config["payment.enabled"],
                bank_bin=config["payment.bank_bin"],
                account=config["payment.account"],
                account_name=config["payment.account_name"],
            ),
        ),
        flow=flow,
        card_reader=card_reader,
        chip_reader=IcaoChipReader(trust_store=chip_trust_store(config["card.trust_store"], config["card.backend"])),
        hub=hub,
        outbox=outbox,
        delivery=sync,
        printer=printer,
        renderer=renderer,
        clock=clock,
        reference_store=_reference_cache(data_dir),
    )
    if config["hub.offline_number_block"] and hasattr(hub, "lease_numbers"):
        # Offline numbers from a block the hub leased us (offline_cache.leases).
        from kiosk.domain import VIETNAM_TZ
        from offline_cache.leases import LeaseKeeper, keep_topped_up

        def _departments() -> list[tuple[str, str]]:
            reference = flow.state.reference
            return [(d.code, d.queue_prefix) for d in reference.departments] if reference else []

        block = config["hub.offline_number_block"]
        keeper = LeaseKeeper(outbox, hub, block_size=block, low_water=max(1, block // 2))
        keep_topped_up(sync, keeper, _departments, lambda: clock.now().astimezone(VIETNAM_TZ).date())
    watcher = CardWatcher(card_reader, desk.card_placed, desk.card_removed)
    desk.run_chip_reads_on(watcher.run_on_card_thread)  # one thread talks to the card
    payment_watcher = PaymentWatcher(desk.payment_pending, desk.refresh_payment) if config["payment.enabled"] else None
    if camera is not None:
        from drivers.camera.decoder import ZxingQrDecoder
        from drivers.camera.scanner import QrScanner

        scanner = QrScanner(camera, ZxingQrDecoder(), desk.qr_scanned)
    return Kiosk(
        config=config,
        desk=desk,
        flow=flow,
        sync=sync,
        outbox=outbox,
        printer=printer,
        renderer=renderer,
        card_watcher=watcher,
        scanner=scanner,
        camera=camera,
        simulator=simulator,
        embedded_hub=embedded,
        card_reader=card_reader,
        payment_watcher=payment_watcher,
        heartbeat=_heartbeat(config, hub, desk, outbox, printer, card_reader),
    )
