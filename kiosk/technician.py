"""Technician mode: the PIN gate, the audit log, and the diagnostics console.

A technician installs and diagnoses the kiosk from its own touch screen,
without a terminal. What this module holds is the core of that, free of Qt
and of any device library:

- `TechnicianGate`: the PIN check. The PIN is kept only as a hash (the hash
  function is a port, `PinHasher`; launcher/ wires argon2id, RFC 9106), in a
  file readable by the kiosk user alone. Five wrong PINs in a row lock the
  gate for `LOCKOUT_SECONDS`, and the lock survives a restart (it is in the
  same file), so pulling the plug does not buy more guesses.
- `AuditLog`: one JSON line per entry, refusal, lockout and change. It never
  holds personal data: events and configuration key names only.
- `KioskTechnician`: the operations the technician pages call (reader test
  read, camera sampling, printer test page, hub test, configuration edits
  validated by `kiosk.config` before they are written, the outbox, log
  export). It reaches devices only through the ports of `kiosk.ports`.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from kiosk.config import SCHEMA, KioskConfig, load_config
from kiosk.errors import CardError, ConfigError, KioskError, PrinterError, QrRejected
from kiosk.ports import Camera, CardReader, Clock, PrinterStatus, QrDecoder, TicketPrinter
from kiosk.qr import parse_qr
from kiosk.ticket import Align, QrBlock, RuleBlock, TextBlock, TextSize, TicketLayout

log = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0
MIN_PIN_LENGTH = 6
MAX_PIN_LENGTH = 12

PIN_FILE = "technician-pin.json"
AUDIT_FILE = "technician-audit.log"


class PinRejected(KioskError):
    """A new PIN does not meet the rules (said in words for the console)."""

    code = "pin_rejected"


class PinNotSet(KioskError):
    code = "pin_not_set"


# -- files written for the kiosk user only ---------------------------------------------


def write_private(path: Path, text: str) -> None:
    """Write `text` atomically with mode 0600.

    The temporary file is created 0600 in the same folder (mkstemp does so),
    flushed and fsync'ed, then renamed over the target: a crash leaves the
    old file or the new one, never half of one (rename is atomic, POSIX.1-2017
    rename()).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the PIN --------------------------------------------------------------------------------


class PinHasher(Protocol):
    """A slow, salted password hash (argon2id in production)."""

    def hash(self, pin: str) -> str: ...

    def verify(self, hashed: str, pin: str) -> bool:
        """True when `pin` matches; False (never an exception) when it does not."""
        ...


def check_new_pin(pin: str) -> None:
    """The rules a new PIN must meet; raises `PinRejected` naming the rule."""
    if not pin.isdigit() or not pin.isascii():
        raise PinRejected("the PIN must be digits only")
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise PinRejected(f"the PIN must have {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} digits")
    if len(set(pin)) == 1:
        raise PinRejected("the PIN must not repeat one digit")
    if pin in "01234567890123" or pin in "98765432109876":
        raise PinRejected("the PIN must not be a run of consecutive digits")


@dataclass(frozen=True)
class Unlock:
    """The answer to one PIN attempt."""

    granted: bool
    remaining: int = 0  # tries left before the lockout
    locked_seconds: int = 0  # > 0: locked out for this long
    pin_set: bool = True


class AuditLog:
    """Append-only JSON lines, mode 0600. Events and key names only."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()

    def record(self, event: str, **detail: Any) -> None:
        entry = {"at": self._clock.now().isoformat(timespec="seconds"), "event": event, **detail}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        log.info("technician audit: %s", event)

    def entries(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a power loss: skip it, keep the rest
        return out


class TechnicianGate:
    """The PIN check with lockout. Thread-safe; state kept in `path`."""

    def __init__(self, path: Path, hasher: PinHasher, clock: Clock, audit: AuditLog) -> None:
        self.path = path
        self._hasher = hasher
        self._clock = clock
        self.audit = audit
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError):
            # A damaged file must not open the gate: keep it shut until a
            # technician sets a new PIN from the console.
            log.error("technician PIN file unreadable; entry refused until the PIN is set again")
            return {"hash": "", "failures": 0, "locked_until": None, "damaged": True}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, Any]) -> None:
        write_private(self.path, json.dumps(data, sort_keys=True))

    def pin_set(self) -> bool:
        return bool(self._load().get("hash"))

    def set_pin(self, pin: str, *, via: str) -> None:
        check_new_pin(pin)
        with self._lock:
            self._save({"hash": self._hasher.hash(pin), "failures": 0, "locked_until": None})
        self.audit.record("pin_changed", via=via)

    def locked_seconds(self) -> int:
        data = self._load()
        return self._locked_for(data)

    def _locked_for(self, data: Mapping[str, Any]) -> int:
        until = data.get("locked_until")
        if not until:
            return 0
        try:
            left = (datetime.fromisoformat(until) - self._clock.now()).total_seconds()
        except (TypeError, ValueError):
            return int(LOCKOUT_SECONDS)  # unreadable: treat as locked
        return max(0, int(left + 0.999))

    def unlock(self, pin: str) -> Unlock:
        with self._lock:
            data = self._load()
            if not data.get("hash"):
                self.audit.record("entry_refused", reason="pin_not_set")
                return Unlock(False, pin_set=False)
            locked = self._locked_for(data)
            if locked:
                self.audit.record("entry_refused", reason="locked_out")
                return Unlock(False, locked_seconds=locked)
            if data.get("locked_until"):
                # The lockout is over: a fresh set of tries.
                data["locked_until"] = None
                data["failures"] = 0
            if self._hasher.verify(data["hash"], pin):
                data["failures"] = 0
                self._save(data)
                self.audit.record("entry_granted")
                return Unlock(True, remaining=MAX_FAILURES)
            failures = int(data.get("failures", 0)) + 1
            data["failures"] = failures
            if failures >= MAX_FAILURES:
                until = self._clock.now() + timedelta(seconds=LOCKOUT_SECONDS)
                data["locked_until"] = until.isoformat()
                self._save(data)
                self.audit.record("locked_out", failures=failures, seconds=int(LOCKOUT_SECONDS))
                return Unlock(False, locked_seconds=int(LOCKOUT_SECONDS))
            self._save(data)
            self.audit.record("entry_refused", reason="wrong_pin", failures=failures)
            return Unlock(False, remaining=MAX_FAILURES - failures)


# -- what the console pages see -------------------------------------------------------------


@dataclass(frozen=True)
class CardEvent:
    at: datetime
    reader: str
    placed: bool


@dataclass(frozen=True)
class TestReadResult:
    ok: bool
    code: str  # "ok", "no_card", "not_icao", an error code: safe to show and log
    detail: str = ""


@dataclass(frozen=True)
class CameraSample:
    frame: Any | None  # RGB (h, w, 3) uint8 array, or None
    kinds: tuple[str, ...]  # what each QR in view is ("CccdQr", "rejected"), never its content
    decode_rate: float  # share of the recent frames in which a QR was decoded, 0..1
    frames: int  # frames in that window


@dataclass(frozen=True)
class RejectedRow:
    key: str
    reason: str
    created_at: datetime | None


@dataclass(frozen=True)
class OutboxView:
    pending: int
    rejected: tuple[RejectedRow, ...]
    online: bool


@dataclass(frozen=True)
class HubSettings:
    backend: str
    url: str
    kiosk_id: str
    secret_file: str


class OutboxMonitor(Protocol):
    """The outbox as a technician sees it (offline_cache, wired in launcher/)."""

    def pending_count(self) -> int: ...

    def rejected(self) -> Sequence[RejectedRow]: ...

    def sync_now(self) -> None: ...

    def online(self) -> bool: ...


# (url, kiosk_id, secret) -> reached and accepted? Raises KioskError with a code.
HubProbe = Callable[[str, str, str], bool]

# Hands a job to whoever owns the card (`kiosk.desk.CheckInDesk.share_card`):
# run on the card's thread, never beside a patient's read; the job is told
# whether the card is its own (True) or held by a read elsewhere (False).
CardSharing = Callable[[Callable[[bool], None]], None]


class TechnicianConsole(Protocol):
    """What the technician pages call (ui/ types against this)."""

    gate: TechnicianGate

    def reader_names(self) -> list[str]: ...
    def watch_cards(self, on: bool) -> None: ...
    def card_events(self) -> list[CardEvent]: ...
    def test_read(self) -> TestReadResult: ...
    def camera_available(self) -> bool: ...
    def sample_camera(self) -> CameraSample: ...
    def printer_status(self) -> PrinterStatus: ...
    def print_test_page(self) -> None: ...
    def hub_settings(self) -> HubSettings: ...
    def test_hub(self, url: str, kiosk_id: str, secret: str) -> bool: ...
    def save_hub(self, url: str, kiosk_id: str, secret: str) -> None: ...
    def config_values(self) -> dict[str, str]: ...
    def config_editable(self) -> bool: ...
    def save_config(self, changes: Mapping[str, str]) -> KioskConfig: ...
    def outbox(self) -> OutboxView: ...
    def force_sync(self) -> None: ...
    def export_logs(self) -> Path: ...
    def audit(self, event: str, **detail: Any) -> None: ...


# -- personal data out of exported logs -----------------------------------------------------

# ID numbers (12 digits), old ID (9), CAN (6), BHYT card codes (2 letters + 13
# digits), phone numbers: any run of 6 or more digits, with the letters glued
# to it, is masked. Codes and steps, which the logs are made of, keep fewer.
_DIGIT_RUN = re.compile(r"[A-Za-z]{0,3}\d[\d ./-]{4,}\d")


def scrub(text: str) -> str:
    """Mask anything that may identify a patient, for an exported log."""
    return _DIGIT_RUN.sub(lambda m: m.group(0) if _few_digits(m.group(0)) else "[…]", text)


def _few_digits(s: str) -> bool:
    return sum(c.isdigit() for c in s) < 6


class RecentLog(logging.Handler):
    """The last `capacity` log lines, kept in memory for the log export."""

    def __init__(self, capacity: int = 5000) -> None:
        super().__init__(level=logging.INFO)
        self._lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:  # a logging handler never raises into the caller
            self.handleError(record)

    def lines(self) -> list[str]:
        return list(self._lines)


# -- configuration files --------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    # TOML basic string (TOML 1.0 §String): escape backslash, quote, controls.
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if ord(c) >= 0x20 and c != "\x7f" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def config_toml(values: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["# Written by the kiosk's technician mode; validated before it was saved.", ""]
    for section, keys in values.items():
        if not keys:
            continue
        lines.append(f"[{section}]")
        for key, value in keys.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def parse_config_text(dotted: str, text: str) -> Any:
    """A value typed on the console, as the schema's type; ConfigError if not."""
    section, _, key = dotted.partition(".")
    spec = SCHEMA.get(section, {}).get(key)
    if spec is None:
        raise ConfigError(dotted, "unknown key")
    text = text.strip()
    if spec.type is bool:
        lowered = text.lower()
        if lowered not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
            raise ConfigError(dotted, f"{text!r} is not true or false")
        return lowered in {"true", "1", "yes", "on"}
    try:
        return spec.type(text)
    except ValueError:
        raise ConfigError(dotted, f"{text!r} is not a valid {spec.type.__name__}") from None


class ConfigFile:
    """The kiosk's TOML file, edited key by key, validated before writing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def _file_values(self) -> dict[str, dict[str, Any]]:
        if self.path is None or not self.path.exists():
            return {}
        import tomllib

        with open(self.path, "rb") as f:
            return tomllib.load(f)

    def values(self) -> dict[str, str]:
        """Every key's value as the file (or the default) gives it, as text."""
        data = self._file_values()
        out: dict[str, str] = {}
        for section, keys in SCHEMA.items():
            for key, spec in keys.items():
                value = data.get(section, {}).get(key, spec.default)
                out[f"{section}.{key}"] = value if isinstance(value, str) else _toml_value(value)
        return out

    def save(self, changes: Mapping[str, str]) -> KioskConfig:
        """Apply `changes` (dotted key -> text), validate the whole file with
        `kiosk.config.load_config`, and only then replace the file."""
        if self.path is None:
            raise ConfigError("(file)", "the kiosk was started without --config: nothing to save to")
        data = self._file_values()
        for dotted, text in changes.items():
            value = parse_config_text(dotted, text)
            section, _, key = dotted.partition(".")
            data.setdefault(section, {})[key] = value
        text = config_toml(data)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.check.", suffix=".toml", dir=self.path.parent)
        os.close(fd)
        try:
            Path(tmp).write_text(text, encoding="utf-8")
            # Environment overrides are left out: the file must stand alone.
            config = load_config(Path(tmp), environ={})
        finally:
            Path(tmp).unlink(missing_ok=True)
        write_private(self.path, text)
        return KioskConfig(config.values, self.path)


# -- the console ------------------------------------------------------------------------------

# ICAO 9303-10 §3.6.2: the eMRTD LDS1 application identifier. A chip that
# answers SELECT with 9000 speaks the protocol the kiosk reads.
EMRTD_AID = bytes.fromhex("A0000002471001")
SELECT_EMRTD = bytes([0x00, 0xA4, 0x04, 0x0C, len(EMRTD_AID)]) + EMRTD_AID


# The answer of a test read that did not get the card in time.
READER_BUSY = "reader_busy"
TEST_READ_TIMEOUT = 15.0


class _CardTurn:
    """One test read handed to the card's thread, and its answer back.

    The waiting thread gives up after its timeout; a turn given up before it
    began leaves the card alone when its time comes (nobody waits for its
    answer any more, and the technician was told the reader is busy)."""

    def __init__(self, work: Callable[[], TestReadResult]) -> None:
        self._work = work
        self._lock = threading.Lock()
        self._state = "queued"  # then "running", or "abandoned"
        self._done = threading.Event()
        self._result = TestReadResult(False, READER_BUSY)
        self._error: Exception | None = None

    def __call__(self, card_is_ours: bool) -> None:
        with self._lock:
            if self._state != "queued":
                return
            self._state = "running"
        try:
            if card_is_ours:
                self._result = self._work()
        except Exception as exc:  # raised again on the waiting thread
            self._error = exc
        finally:
            self._done.set()

    def wait(self, timeout: float) -> TestReadResult:
        if not self._done.wait(timeout):
            with self._lock:
                if self._state == "queued":
                    self._state = "abandoned"
                    return TestReadResult(False, READER_BUSY)
            # It began just as the time ran out: one SELECT, so one more
            # bound at most (a reader that hangs mid-APDU still ends here).
            if not self._done.wait(timeout):
                return TestReadResult(False, READER_BUSY)
        if self._error is not None:
            raise self._error
        return self._result


@dataclass
class Devices:
    """The ports the console drives; any may be absent on a given kiosk."""

    card_reader: CardReader
    printer: TicketPrinter
    camera: Camera | None = None
    decoder: QrDecoder | None = None
    outbox: OutboxMonitor | None = None
    hub_probe: HubProbe | None = None
    # None: nothing else talks to the card (a console without a desk), so
    # the test read talks to it directly.
    share_card: CardSharing | None = None


@dataclass
class KioskTechnician:
    """The console's operations. Blocking; the UI calls them off its thread."""

    gate: TechnicianGate
    devices: Devices
    config: KioskConfig
    clock: Clock
    export_dir: Path
    recent_log: RecentLog | None = None
    kiosk_id: str = ""
    window_frames: int = 30
    # How long a test read waits for the card to be free (a patient's read
    # takes seconds; the face image most of them) before it says "busy".
    test_read_timeout: float = TEST_READ_TIMEOUT
    _events: collections.deque[CardEvent] = field(default_factory=lambda: collections.deque(maxlen=50))
    _watcher: Any = None
    _recent_hits: collections.deque[bool] = field(default_factory=lambda: collections.deque(maxlen=30))

    def __post_init__(self) -> None:
        self._recent_hits = collections.deque(maxlen=self.window_frames)
        self._file = ConfigFile(self.config.source)

    def audit(self, event: str, **detail: Any) -> None:
        self.gate.audit.record(event, **detail)

    # -- readers ----------------------------------------------------------------------------------

    def reader_names(self) -> list[str]:
        return [self.devices.card_reader.name]

    def _card_event(self, placed: bool) -> None:
        self._events.append(CardEvent(self.clock.now(), self.devices.card_reader.name, placed))

    def watch_cards(self, on: bool) -> None:
        """Start or stop a presence watcher of our own (the readers page)."""
        from kiosk.desk import CardWatcher

        if on and self._watcher is None:
            self._watcher = CardWatcher(
                self.devices.card_reader, lambda: self._card_event(True), lambda: self._card_event(False), interval=0.2
            )
            self._watcher.start()
        elif not on and self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def card_events(self) -> list[CardEvent]:
        return list(self._events)

    def test_read(self) -> TestReadResult:
        """Power the card and SELECT the eMRTD application: proves reader,
        field and chip without a key and without reading personal data.

        The card is shared with the patients' reads (`Devices.share_card`):
        the test read runs as one more job on the card's thread, after the
        read under way, and this (the technician page's worker) thread waits
        for its answer at most `test_read_timeout`, then answers
        `READER_BUSY` instead of hanging."""
        share = self.devices.share_card
        if share is None:
            result = self._select_emrtd()
        else:
            turn = _CardTurn(self._select_emrtd)
            share(turn)
            result = turn.wait(self.test_read_timeout)
        self.audit("test_read", result=result.code)
        return result

    def _select_emrtd(self) -> TestReadResult:
        reader = self.devices.card_reader
        try:
            if not reader.card_present():
                result = TestReadResult(False, "no_card")
            else:
                transport = reader.connect()
                try:
                    response = transport.transmit(SELECT_EMRTD)
                finally:
                    reader.disconnect()
                sw = response[-2:].hex().upper() if len(response) >= 2 else ""
                result = TestReadResult(sw == "9000", "ok" if sw == "9000" else "not_icao", sw)
        except CardError as exc:
            result = TestReadResult(False, exc.code)
        except KioskError as exc:
            result = TestReadResult(False, exc.code)
        # The status word and a code only: nothing the chip holds.
        log.info("test read: %s %s", result.code, result.detail)
        return result

    # -- camera ------------------------------------------------------------------------------------

    def camera_available(self) -> bool:
        return self.devices.camera is not None and self.devices.decoder is not None

    def sample_camera(self) -> CameraSample:
        camera, decoder = self.devices.camera, self.devices.decoder
        if camera is None or decoder is None:
            return CameraSample(None, (), 0.0, 0)
        frame = camera.latest_frame()
        kinds: list[str] = []
        if frame is not None:
            for payload in decoder.decode(frame):
                try:
                    kinds.append(type(parse_qr(payload)).__name__)
                except QrRejected:
                    kinds.append("rejected")
            self._recent_hits.append(bool(kinds))
        hits = list(self._recent_hits)
        rate = sum(hits) / len(hits) if hits else 0.0
        return CameraSample(frame, tuple(kinds), rate, len(hits))

    # -- printer -----------------------------------------------------------------------------------

    def printer_status(self) -> PrinterStatus:
        try:
            return self.devices.printer.status()
        except PrinterError as exc:
            return PrinterStatus(online=False, detail=exc.code)

    def test_page(self) -> TicketLayout:
        now = self.clock.now().strftime("%d/%m/%Y %H:%M")
        return TicketLayout(
            (
                TextBlock("TRANG IN THỬ", TextSize.LARGE, bold=True, align=Align.CENTER),
                TextBlock("TEST PAGE", align=Align.CENTER),
                RuleBlock(),
                TextBlock(f"Máy / Kiosk: {self.kiosk_id}"),
                TextBlock(now),
                TextBlock("0123456789 ĂÂĐÊÔƠƯ ăâđêôơư áàảãạ"),
                QrBlock("TEST", "QR"),
            )
        )

    def print_test_page(self) -> None:
        try:
            self.devices.printer.print_ticket(self.test_page())
        except PrinterError as exc:
            self.audit("test_page", result=exc.code)
            raise
        self.audit("test_page", result="ok")

    # -- hub ---------------------------------------------------------------------------------------

    def hub_settings(self) -> HubSettings:
        c = self.config
        return HubSettings(c["hub.backend"], c["hub.url"], c["hub.kiosk_id"] or c["kiosk.id"], c["hub.secret_file"])

    def test_hub(self, url: str, kiosk_id: str, secret: str) -> bool:
        if self.devices.hub_probe is None:
            raise KioskError("no hub probe")
        if not secret and self.config["hub.secret_file"]:
            # Nothing typed: test with the credential in use.
            try:
                secret = Path(self.config["hub.secret_file"]).expanduser().read_text(encoding="utf-8").strip()
            except OSError:
                secret = ""
        try:
            ok = self.devices.hub_probe(url, kiosk_id, secret)
        except KioskError as exc:
            self.audit("hub_test", result=exc.code)
            raise
        self.audit("hub_test", result="ok" if ok else "unreachable")
        return ok

    def save_hub(self, url: str, kiosk_id: str, secret: str) -> None:
        """New hub address and credential: the URL and id go to the
        configuration (validated), the secret to its own 0600 file."""
        secret_file = self.config["hub.secret_file"] or str(self.config.data_dir() / "hub.secret")
        changes = {"hub.backend": "http", "hub.url": url, "hub.kiosk_id": kiosk_id, "hub.secret_file": secret_file}
        if not secret.strip():
            raise ConfigError("hub.secret", "must not be empty")
        # Validate first, so a bad URL changes neither file.
        self._check(changes)
        write_private(Path(secret_file).expanduser(), secret.strip() + "\n")
        self.save_config(changes)
        self.audit("hub_saved", keys=sorted(changes))

    # -- configuration -----------------------------------------------------------------------------

    def config_values(self) -> dict[str, str]:
        return self._file.values()

    def config_editable(self) -> bool:
        return self.config.source is not None

    def _check(self, changes: Mapping[str, str]) -> None:
        for dotted, text in changes.items():
            value = parse_config_text(dotted, text)
            section, _, key = dotted.partition(".")
            rule = SCHEMA[section][key].rule
            problem = rule(value) if rule else None
            if problem:
                raise ConfigError(dotted, f"{problem} (got {value!r})")

    def save_config(self, changes: Mapping[str, str]) -> KioskConfig:
        try:
            config = self._file.save(changes)
        except ConfigError as exc:
            self.audit("config_refused", key=exc.key)
            raise
        self.config = config
        self.audit("config_saved", keys=sorted(changes))
        return config

    # -- outbox ------------------------------------------------------------------------------------

    def outbox(self) -> OutboxView:
        monitor = self.devices.outbox
        if monitor is None:
            return OutboxView(0, (), False)
        return OutboxView(monitor.pending_count(), tuple(monitor.rejected()), monitor.online())

    def force_sync(self) -> None:
        if self.devices.outbox is not None:
            self.devices.outbox.sync_now()
        self.audit("force_sync")

    # -- logs ----------------------------------------------------------------------------------

    def export_logs(self) -> Path:
        """Write the recent log and the audit log, scrubbed, into export_dir."""
        stamp = self.clock.now().strftime("%Y%m%d-%H%M%S")
        lines = [f"# kiosk {self.kiosk_id} log export {stamp}", "", "## recent log"]
        lines += [scrub(line) for line in (self.recent_log.lines() if self.recent_log else [])]
        lines += ["", "## technician audit"]
        lines += [scrub(json.dumps(e, ensure_ascii=False, sort_keys=True)) for e in self.gate.audit.entries()]
        path = self.export_dir / f"kiosk-log-{stamp}.txt"
        write_private(path, "\n".join(lines) + "\n")
        self.audit("log_exported", lines=len(lines))
        return path
