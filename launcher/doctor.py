"""`kiosk doctor`: the device and hub self-check a technician runs on site.

Every check answers OK, WARN or FAIL with one line of reason, and never a
traceback: a check that raises is reported as FAIL with the exception's
type, so one broken part never hides the others. The exit status is 1 only
when something FAILs (the kiosk cannot serve patients as configured); WARN
means "works, but look at this" (a simulated device, a queue of undelivered
registrations, a clock a few seconds off).

The doctor only reads. It never creates the data directory, never opens
the outbox through `OutboxStore` (that would take its lock from a running
kiosk, run migrations and create files as whoever runs the doctor, often
root), and asks the hub only read-only questions. Reasons name devices,
paths and counts, never personal data.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from kiosk import __version__
from kiosk.config import KioskConfig, load_config
from kiosk.errors import ConfigError, KioskError

OK, WARN, FAIL = "OK", "WARN", "FAIL"

# Vietnamese needs more than Latin-1: the letters with breve, horn and
# stroke (ă đ ơ ư and capitals, Latin Extended-A/B), the tilde letters ĩ ũ,
# the whole block of tone-marked vowels (Latin Extended Additional,
# U+1EA0–U+1EF9), and the combining tone marks for text typed in decomposed
# form (grave, acute, tilde, hook above U+0309, dot below U+0323). A fontconfig
# charset pattern in hex ranges.
VIETNAMESE_CHARSET = "1ea0-1ef9 102-103 110-111 128-129 168-169 1a0-1a1 1af-1b0 300-301 303 309 323"

# The hub's default window for signed request timestamps
# (server.settings.HubSettings.clock_skew_seconds). The hub client signs with
# the hub's time when the two differ, but a kiosk clock that far off still
# prints wrong times on tickets and dates offline numbers wrongly.
HUB_SKEW_LIMIT_SECONDS = 60.0
CLOCK_SKEW_WARN_SECONDS = 10.0

CAMERA_FRAME_TIMEOUT = 3.0


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # OK / WARN / FAIL
    reason: str


@dataclass
class Probes:
    """The operating-system edge the doctor looks through; tests replace parts."""

    pcsc: Any = None  # has is_usable() -> truthy-with-reason and list_readers()
    fc_list: Callable[[str], list[str] | None] | None = None  # charset -> families, None if no fontconfig
    now: Callable[[], float] = time.time
    open_camera: Callable[[Any, int, int, float], str | None] | None = None  # -> None or a reason
    printer_status: Callable[[KioskConfig], Any] | None = None  # -> kiosk.ports.PrinterStatus

    def __post_init__(self) -> None:
        if self.pcsc is None:
            from drivers.card.pcsc import PcscCardReader

            self.pcsc = PcscCardReader
        if self.fc_list is None:
            self.fc_list = _fc_list_families
        if self.open_camera is None:
            self.open_camera = _open_camera
        if self.printer_status is None:
            self.printer_status = _escpos_status


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, status: str, reason: str) -> None:
        self.findings.append(Finding(check, status, reason))

    @property
    def failed(self) -> bool:
        return any(f.status == FAIL for f in self.findings)

    def text(self) -> str:
        width = max((len(f.check) for f in self.findings), default=0)
        lines = [f"{f.status:<4}  {f.check:<{width}}  {f.reason}" for f in self.findings]
        counts = {s: sum(1 for f in self.findings if f.status == s) for s in (OK, WARN, FAIL)}
        lines.append(f"-- kiosk {__version__}: {counts[OK]} OK, {counts[WARN]} WARN, {counts[FAIL]} FAIL")
        return "\n".join(lines)


# -- the checks ---------------------------------------------------------------------


def _check_config(path: Path | None, report: Report) -> KioskConfig | None:
    try:
        config = load_config(path)
    except ConfigError as exc:
        report.add("configuration", FAIL, str(exc))
        return None
    report.add("configuration", OK, f"valid ({config.source or 'built-in defaults, no file given'})")
    simulated = [
        name
        for name, simulated_value in (
            ("card", "simulated"),
            ("camera", "simulated"),
            ("printer", "file"),
            ("hub", "embedded"),
            ("hub", "simulated"),
        )
        if config[f"{name}.backend"] == simulated_value
    ]
    if simulated:
        report.add(
            "backends",
            WARN,
            "demo backends in use: " + ", ".join(f"{n}={config[n + '.backend']}" for n in simulated)
            + " (production: card=pcsc, camera=opencv, printer=escpos, hub=http)",
        )
    else:
        report.add("backends", OK, "card=pcsc, camera=%s, printer=escpos, hub=http" % config["camera.backend"])
    return config


def _check_data_dir(config: KioskConfig, report: Report) -> None:
    path = config.data_dir()
    try:
        info = path.stat()
    except FileNotFoundError:
        report.add("data directory", WARN, f"{path} does not exist yet; the kiosk creates it (mode 0700) at first start")
        return
    except OSError as exc:
        report.add("data directory", FAIL, f"cannot inspect {path}: {exc.strerror}")
        return
    if not stat.S_ISDIR(info.st_mode):
        report.add("data directory", FAIL, f"{path} is not a directory")
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        # Outbox, data key and tickets hold personal data: owner only.
        report.add("data directory", FAIL, f"{path} has mode {mode:04o}; it must be 0700 (chmod 700 {path})")
        return
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        report.add(
            "data directory",
            WARN,
            f"{path} (mode {mode:04o}) belongs to uid {info.st_uid}; not writable by this user, "
            "run the doctor as the kiosk user or root",
        )
        return
    report.add("data directory", OK, f"{path}, mode {mode:04o}")


def _check_card(config: KioskConfig | None, probes: Probes, report: Report) -> None:
    wanted = config is not None and config["card.backend"] == "pcsc"
    missing = FAIL if wanted else WARN  # without a PC/SC backend, pcscd is only informative
    usable = probes.pcsc.is_usable()
    if not usable:
        report.add("pcscd", missing, getattr(usable, "reason", "PC/SC is not usable"))
        return
    try:
        readers = list(probes.pcsc.list_readers())
    except KioskError as exc:
        report.add("pcscd", missing, str(exc))
        return
    report.add("pcscd", OK, "reachable")
    # vsmartcard-vpcd makes pcscd listen on 0.0.0.0:35963 and up (one port
    # per virtual slot; Debian builds two: 35963, 35964) for a virtual
    # card: anyone on the network could present a forged card. Test
    # machines only.
    virtual = [r for r in readers if "virtual pcd" in r.casefold()]
    physical = [r for r in readers if r not in virtual]
    if virtual:
        report.add(
            "card readers",
            FAIL if wanted else WARN,
            f"{len(virtual)} virtual reader(s) of vsmartcard-vpcd present: it accepts cards over the "
            "network (ports 35963 and up, one per slot); remove the package on production kiosks (apt-get purge vsmartcard-vpcd)",
        )
    if not physical:
        report.add("card reader", missing, "no PC/SC reader connected (plug in the contactless reader)")
        return
    wanted_name = config["card.reader"] if config is not None else ""
    matching = [r for r in physical if wanted_name.casefold() in r.casefold()]
    if not matching:
        report.add(
            "card reader", missing, f"no reader matches card.reader = {wanted_name!r}; connected: " + "; ".join(physical)
        )
        return
    report.add("card reader", OK, "; ".join(matching))


def _check_camera(config: KioskConfig, probes: Probes, report: Report) -> None:
    backend = config["camera.backend"]
    if backend == "none":
        report.add("camera", WARN, "no camera configured: QR codes cannot be scanned")
        return
    if backend == "simulated":
        report.add("camera", WARN, "simulated camera (demo)")
        return
    device: int | str = config["camera.device"]
    if str(device).isdigit():
        node = Path(f"/dev/video{device}")
        if not node.exists():
            report.add("camera", FAIL, f"{node} does not exist (no USB camera connected?)")
            return
        device = int(device)
    problem = probes.open_camera(device, config["camera.width"], config["camera.height"], CAMERA_FRAME_TIMEOUT)
    if problem:
        report.add("camera", FAIL, f"device {device}: {problem}")
    else:
        report.add("camera", OK, f"device {device} delivers frames")


def _check_printer(config: KioskConfig, probes: Probes, report: Report) -> None:
    if config["printer.backend"] == "file":
        folder = Path(config["printer.folder"] or config.data_dir() / "tickets")
        report.add("printer", WARN, f"file printer (demo): tickets are written as images to {folder}")
        return
    status = probes.printer_status(config)
    if not status.online:
        report.add("printer", FAIL, status.detail or "offline")
    elif status.paper_out or status.cover_open:
        report.add("printer", FAIL, status.detail)
    elif status.paper_near_end:
        report.add("printer", WARN, status.detail or "paper near end")
    else:
        report.add("printer", OK, status.detail or "online, paper present")


def _check_hub(config: KioskConfig, probes: Probes, report: Report) -> None:
    backend = config["hub.backend"]
    if backend != "http":
        report.add("hub", WARN, f"hub backend {backend!r}: no hospital hub is used")
        return
    import requests

    from drivers.hub.http_client import HttpHubClient

    url = config["hub.url"].rstrip("/")
    verify: bool | str = config["hub.verify_tls"]
    if verify and config["hub.ca_file"]:
        verify = config["hub.ca_file"]
    if not config["hub.verify_tls"]:
        report.add("hub TLS", WARN, "hub.verify_tls = false: the hub's certificate is not checked")
    sent = probes.now()
    try:
        answer = requests.get(url + "/api/v1/health", timeout=config["hub.timeout_seconds"], verify=verify)
    except requests.exceptions.SSLError as exc:
        report.add("hub", FAIL, f"{url}: TLS certificate not accepted ({_first_line(exc)}); set hub.ca_file?")
        return
    except requests.RequestException as exc:
        report.add("hub", FAIL, f"{url} unreachable ({type(exc).__name__})")
        return
    received = probes.now()
    if answer.status_code != 200:
        report.add("hub", FAIL, f"{url}/api/v1/health answered HTTP {answer.status_code}")
    else:
        report.add("hub", OK, f"{url} reachable, database ok")
    _check_skew(answer.headers.get("Date"), (sent + received) / 2, report)

    secret = _read_secret(config, report)
    if secret is None:
        return
    client = HttpHubClient(
        url, config["hub.kiosk_id"] or config["kiosk.id"], secret,
        timeout=config["hub.timeout_seconds"], verify=verify, clock=probes.now,
    )
    try:
        reference = client.reference_data()  # signed, read-only
    except KioskError as exc:
        report.add("hub credential", FAIL, str(exc))
        return
    finally:
        client.close()
    report.add(
        "hub credential",
        OK,
        f"accepted for kiosk {config['hub.kiosk_id'] or config['kiosk.id']}; "
        f"{len(reference.departments)} departments, {len(reference.services)} services",
    )


def _check_skew(date_header: str | None, local: float, report: Report) -> None:
    """Compare our clock with the hub's HTTP Date (RFC 9110 §6.6.1, 1 s resolution)."""
    if not date_header:
        report.add("clock", WARN, "the hub sent no Date header; clock skew unknown")
        return
    try:
        hub_time = parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        report.add("clock", WARN, f"unreadable Date header from the hub: {date_header!r}")
        return
    skew = local - hub_time
    direction = "ahead of" if skew > 0 else "behind"
    text = f"kiosk clock {abs(skew):.0f} s {direction} the hub"
    if abs(skew) > HUB_SKEW_LIMIT_SECONDS:
        report.add("clock", FAIL, text + "; tickets and records carry a wrong time (check NTP)")
    elif abs(skew) > CLOCK_SKEW_WARN_SECONDS:
        report.add("clock", WARN, text + " (check NTP)")
    else:
        report.add("clock", OK, text)


def _read_secret(config: KioskConfig, report: Report) -> str | None:
    name = config["hub.secret_file"]
    if not name:
        report.add("hub credential", FAIL, "hub.secret_file is not set")
        return None
    path = Path(name).expanduser()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        report.add("hub credential", FAIL, f"cannot read {path}: {exc.strerror}")
        return None
    if mode & 0o077:
        report.add("hub credential", FAIL, f"{path} has mode {mode:04o}; it must be 0600 (chmod 600 {path})")
        return None
    if not secret:
        report.add("hub credential", FAIL, f"{path} is empty")
        return None
    return secret


def _check_outbox(config: KioskConfig, report: Report) -> None:
    data_dir = config.data_dir()
    database = data_dir / "outbox.sqlite3"
    key = data_dir / "outbox.key"
    if not database.exists():
        report.add("outbox", OK, "empty (no outbox file yet)")
        return
    try:
        counts, oldest = _outbox_counts(database)
    except sqlite3.Error as exc:
        report.add("outbox", FAIL, f"cannot read {database}: {exc}")
        return
    waiting = counts.get("pending", 0) + counts.get("in_flight", 0)
    rejected = counts.get("rejected", 0)
    if not key.exists() and (waiting or rejected):
        report.add("outbox key", FAIL, f"{key} is missing: {waiting + rejected} stored registrations cannot be read")
    elif key.exists() and stat.S_IMODE(key.stat().st_mode) & 0o077:
        report.add("outbox key", FAIL, f"{key} is readable by others; chmod 600 {key}")
    if waiting:
        report.add("outbox", WARN, f"{waiting} registration(s) not yet delivered to the hub (oldest from {oldest})")
    else:
        report.add("outbox", OK, f"nothing waiting; {counts.get('acked', 0)} delivered kept for reprints")
    if rejected:
        report.add("outbox rejected", WARN, f"{rejected} registration(s) refused by the hub; see technician mode")


def _outbox_counts(database: Path) -> tuple[dict[str, int], str | None]:
    # Read-only and without the store's lock: the running kiosk may hold it.
    # Only clear-text bookkeeping columns are read (no sealed payloads).
    uri = database.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=2.0)
    try:
        counts = dict(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
        (oldest,) = conn.execute(
            "SELECT MIN(r.created_at) FROM outbox o JOIN registration r ON r.key = o.key"
            " WHERE o.status IN ('pending', 'in_flight')"
        ).fetchone()
    finally:
        conn.close()
    return counts, oldest


def _check_fonts(probes: Probes, report: Report) -> None:
    from ui.theme import FONT_FAMILIES

    families = probes.fc_list(VIETNAMESE_CHARSET)
    if families is None:
        report.add("fonts", WARN, "fc-list not found (package fontconfig); cannot check Vietnamese coverage")
        return
    wanted = [f.strip('"') for f in FONT_FAMILIES if f.startswith('"')]
    present = [f for f in wanted if f in families]
    if not present:
        report.add(
            "fonts", FAIL, "no font with full Vietnamese coverage among " + ", ".join(wanted) + " (install fonts-noto-core)"
        )
    elif present[0] != wanted[0]:
        report.add("fonts", WARN, f"{wanted[0]} missing; falling back to {present[0]} (install fonts-noto-core)")
    else:
        report.add("fonts", OK, f"{present[0]} covers Vietnamese")


# -- operating-system edge --------------------------------------------------------------


def _fc_list_families(charset: str) -> list[str] | None:
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    result = subprocess.run(
        [exe, "--format", "%{family[0]}\n", f":charset={charset}"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    return sorted({line.strip() for line in result.stdout.splitlines() if line.strip()})


def _open_camera(device: Any, width: int, height: int, timeout: float) -> str | None:
    from drivers.camera.opencv_camera import OpenCvCamera

    if not OpenCvCamera.is_usable():
        return "OpenCV is not installed"
    # retry_initial above the timeout: one open attempt, no reconnect storm.
    camera = OpenCvCamera(device, width, height, retry_initial=timeout * 2, retry_max=timeout * 2)
    camera.start()
    try:
        frame = camera.wait_for_frame(timeout)
        status = camera.status
    finally:
        camera.stop(timeout)
    if frame is None:
        return status.last_error or f"no frame within {timeout:g} s"
    return None


def _escpos_status(config: KioskConfig) -> Any:
    # Whatever backend is configured (escpos or a system/CUPS queue), built
    # exactly as the kiosk builds it.
    from launcher.printer_tools import build_printer

    printer, _renderer = build_printer(config)
    try:
        return printer.status()
    finally:
        close = getattr(printer, "close", None)
        if callable(close):
            close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:160]


# -- running ------------------------------------------------------------------------


def _guarded(report: Report, name: str, check: Callable[[], None]) -> None:
    try:
        check()
    except Exception as exc:  # one broken check must not hide the others
        report.add(name, FAIL, f"check failed: {type(exc).__name__}: {_first_line(exc)}")


def diagnose(config_path: Path | None, probes: Probes | None = None) -> Report:
    """Run every check; never raises."""
    report = Report()
    probes = probes or Probes()
    config = _check_config(config_path, report)
    if config is not None:
        _guarded(report, "data directory", lambda: _check_data_dir(config, report))
    _guarded(report, "pcscd", lambda: _check_card(config, probes, report))
    if config is not None:
        _guarded(report, "camera", lambda: _check_camera(config, probes, report))
        _guarded(report, "printer", lambda: _check_printer(config, probes, report))
        _guarded(report, "hub", lambda: _check_hub(config, probes, report))
        _guarded(report, "outbox", lambda: _check_outbox(config, report))
    else:
        report.add("devices and hub", WARN, "not checked: fix the configuration first")
    _guarded(report, "fonts", lambda: _check_fonts(probes, report))
    return report


def run_doctor(config_path: Path | None, out: Callable[[str], None] = print, probes: Probes | None = None) -> int:
    report = diagnose(config_path, probes)
    out(report.text())
    return 1 if report.failed else 0


__all__ = ["FAIL", "OK", "WARN", "Finding", "Probes", "Report", "diagnose", "run_doctor"]

