"""Kiosk configuration: a TOML file plus environment overrides, validated on load.

Every key has a type, a default and, where it matters, a rule. A bad value
stops the start-up with a message naming the key (`[printer] width_dots:
must be one of 384, 576`), which is what a technician needs on the console.

Environment overrides use `KIOSK_<SECTION>_<KEY>`, e.g. `KIOSK_HUB_URL` or
`KIOSK_CARD_BACKEND=pcsc`; they win over the file.

Secrets (the hub credential) never live in this file: `hub.secret_file`
points to a file readable only by the kiosk user.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError

Validator = Callable[[Any], str | None]  # returns a problem, or None when fine


def one_of(*choices: Any) -> Validator:
    def check(value: Any) -> str | None:
        if value not in choices:
            return "must be one of " + ", ".join(str(c) for c in choices)
        return None

    return check


def in_range(low: float, high: float) -> Validator:
    def check(value: Any) -> str | None:
        if not low <= value <= high:
            return f"must be between {low:g} and {high:g}"
        return None

    return check


def non_empty(value: Any) -> str | None:
    return "must not be empty" if not str(value).strip() else None


def https_or_local(value: Any) -> str | None:
    """The hub holds personal data: plain HTTP only on the loopback."""
    if not value:
        return None
    if value.startswith("https://"):
        return None
    if value.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        return None
    return "must be an https:// URL (plain http is allowed only to 127.0.0.1)"


def iso_datetime(value: Any) -> str | None:
    if not value:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return "must be an ISO 8601 date and time"
    return None


def _digits(count: int) -> Validator:
    def check(value: Any) -> str | None:
        if value and not (len(value) == count and value.isascii() and value.isdigit()):
            return f"must be {count} digits"
        return None

    return check


def _account(value: Any) -> str | None:
    # EMVCo/NAPAS beneficiary account: 1-19 letters or digits (kiosk.qr.build_vietqr).
    if value and not (len(value) <= 19 and value.isascii() and value.isalnum()):
        return "must be 1-19 letters or digits"
    return None


@dataclass(frozen=True)
class Key:
    type: type
    default: Any
    rule: Validator | None = None
    doc: str = ""


SCHEMA: dict[str, dict[str, Key]] = {
    "kiosk": {
        "id": Key(str, "K01", non_empty, "the kiosk's name at the hub"),
        "profile": Key(
            str,
            "kiosk",
            one_of("kiosk", "field"),
            "kiosk: a check-in kiosk; field: a field-staff laptop, no printer needed (tickets are kept as "
            "images in printer.folder), registrations leave by `kiosk export-bundle` when there is no network",
        ),
        "hospital_name": Key(str, "BỆNH VIỆN ĐA KHOA TỈNH", non_empty, "printed at the top of every ticket"),
        "hospital_code": Key(str, "01001", non_empty, "MA_CSKCB: the hospital's 5-character facility code"),
        "logo": Key(str, "", None, "logo file for the ticket; empty: the bundled one"),
        "language": Key(str, "vi", one_of("vi", "en"), "language the screens start in"),
        "idle_timeout_seconds": Key(float, 60.0, in_range(10, 600), "inactivity before the privacy wipe"),
        "data_dir": Key(str, "", None, "outbox, keys and logs; empty: the user data directory"),
        "fullscreen": Key(bool, True, None, "kiosk lockdown: full screen, no frame"),
        "voice": Key(str, "auto", one_of("auto", "espeak", "none"), "spoken Vietnamese prompts: auto = espeak-ng when installed"),
        "screen_dpi": Key(
            int, 0, in_range(0, 1200), "the touch screen's physical dots per inch, for 15 mm touch targets; 0: what the screen reports"
        ),
        "virtual_keyboard": Key(
            bool, True, None, "on-screen keyboard (Qt Virtual Keyboard, Vietnamese first) for text fields; off: a hardware keyboard"
        ),
        "clock": Key(str, "system", one_of("system", "simulated"), "simulated: time starts at simulated_start"),
        "simulated_start": Key(str, "", iso_datetime, "simulated clock start, e.g. 2026-11-23T07:30:00+07:00"),
    },
    "card": {
        "backend": Key(str, "simulated", one_of("simulated", "pcsc"), "card reader backend"),
        "reader": Key(str, "", None, "part of the PC/SC reader name to use; empty: the first"),
        "trust_store": Key(
            str,
            "",
            None,
            "CSCA trust store for passive authentication: PEM/DER certificates, CMS master lists (refused unless "
            "their signature verifies) or folders of them, separated by ';'; 'test' = the generated TEST PKI of "
            "the simulated cards; empty: the TEST PKI "
            "with the simulated backend, none (cards 'not verifiable') with pcsc",
        ),
    },
    "camera": {
        "backend": Key(str, "simulated", one_of("simulated", "opencv", "none"), "camera backend"),
        "device": Key(str, "0", None, "OpenCV device index or path"),
        "width": Key(int, 1280, in_range(160, 4096), "capture width in pixels"),
        "height": Key(int, 720, in_range(120, 4096), "capture height in pixels"),
        "fps": Key(int, 30, in_range(5, 120), "frames per second asked of the camera; the on-screen preview shows them"),
        "mirror_preview": Key(bool, True, None, "show the camera picture mirrored (a camera facing the patient); false for one looking down at the reader"),
        "images": Key(str, "", None, "simulated camera: image file or folder to show"),
    },
    "printer": {
        "backend": Key(str, "file", one_of("file", "escpos", "system"), "ticket printer backend; system: a CUPS queue through Qt"),
        "system_printer": Key(str, "", None, "system backend: the CUPS queue name; empty: the default printer"),
        "folder": Key(str, "", None, "file printer: where tickets go; empty: <data_dir>/tickets"),
        "width_dots": Key(int, 576, one_of(384, 576), "printable width: 576 for 80 mm, 384 for 58 mm"),
        "dpi": Key(int, 203, in_range(150, 600), "printer resolution"),
        "connection": Key(str, "network", one_of("network", "usb", "serial"), "ESC/POS connection"),
        "host": Key(str, "", None, "ESC/POS network printer address"),
        "port": Key(int, 9100, in_range(1, 65535), "ESC/POS network port"),
        "usb_vendor": Key(str, "", None, "ESC/POS USB vendor id (hex)"),
        "usb_product": Key(str, "", None, "ESC/POS USB product id (hex)"),
        "serial_device": Key(str, "", None, "ESC/POS serial device"),
        "baudrate": Key(int, 38400, in_range(1200, 921600), "ESC/POS serial speed"),
    },
    "payment": {
        "enabled": Key(bool, False, None, "show a VietQR for fees (screen and ticket); the hub confirms payment"),
        "bank_bin": Key(str, "", _digits(6), "NAPAS BIN of the hospital's bank, 6 digits (e.g. 970415)"),
        "account": Key(str, "", _account, "the hospital's account number at that bank"),
        "account_name": Key(str, "", None, "account holder, shown beside the code"),
    },
    "hub": {
        "backend": Key(
            str,
            "embedded",
            one_of("embedded", "http", "simulated"),
            "embedded: a hub in-process on SQLite over HTTP; simulated: in memory, no HTTP",
        ),
        "url": Key(str, "", https_or_local, "hub base URL for the http backend"),
        "kiosk_id": Key(str, "", None, "credential id issued by the hub admin"),
        "secret_file": Key(str, "", None, "file holding the kiosk secret (mode 0600)"),
        "verify_tls": Key(bool, True, None, "verify the hub's TLS certificate"),
        "ca_file": Key(str, "", None, "extra CA bundle for a hospital-internal CA"),
        "timeout_seconds": Key(float, 5.0, in_range(0.5, 60), "per-request timeout"),
        "register_timeout_seconds": Key(float, 5.0, in_range(0.5, 60), "wait for a hub number before printing an offline one"),
        "heartbeat_seconds": Key(float, 60.0, in_range(5, 3600), "how often the kiosk reports version, devices and outbox depth"),
        "offline_number_block": Key(
            int,
            10,
            in_range(0, 50),
            "numbers per department the kiosk leases from the hub while online, from the department's outage "
            "band above its daily capacity (A-301 ... for a capacity of 240), printed during an outage; when "
            "they run out, offline tickets use the kiosk's own K01-A007 series (0: no leases, that series only)",
        ),
    },
}


@dataclass(frozen=True)
class KioskConfig:
    values: Mapping[str, Mapping[str, Any]]
    source: Path | None = None

    def __getitem__(self, dotted: str) -> Any:
        section, key = dotted.split(".", 1)
        return self.values[section][key]

    def data_dir(self) -> Path:
        configured = self["kiosk.data_dir"]
        if configured:
            return Path(configured).expanduser()
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "vn-checkin-kiosk"


def _coerce(section: str, key: str, spec: Key, raw: Any, from_env: bool) -> Any:
    name = f"{section}.{key}"
    if from_env:
        text = str(raw).strip()
        try:
            if spec.type is bool:
                lowered = text.lower()
                if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                    raise ValueError(text)
                return lowered in {"1", "true", "yes", "on"}
            return spec.type(text)
        except ValueError:
            raise ConfigError(name, f"{text!r} is not a valid {spec.type.__name__}") from None
    if spec.type is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if spec.type is str and isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)  # `device = 0` in TOML is an int; we keep device names as text
    if not isinstance(raw, spec.type) or (spec.type is int and isinstance(raw, bool)):
        raise ConfigError(name, f"expected {spec.type.__name__}, got {type(raw).__name__} {raw!r}")
    return raw


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> KioskConfig:
    """Read `path` (optional), apply KIOSK_* overrides, validate everything."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError("(file)", f"{path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("(file)", f"{path} is not valid TOML: {exc}") from None

    for section in data:
        if section not in SCHEMA:
            raise ConfigError(section, f"unknown section; known: {', '.join(SCHEMA)}")
        if not isinstance(data[section], dict):
            raise ConfigError(section, "must be a table")
        for key in data[section]:
            if key not in SCHEMA[section]:
                raise ConfigError(f"{section}.{key}", f"unknown key; known: {', '.join(SCHEMA[section])}")

    values: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        values[section] = {}
        for key, spec in keys.items():
            env_name = f"KIOSK_{section.upper()}_{key.upper()}"
            if env_name in environ:
                value = _coerce(section, key, spec, environ[env_name], from_env=True)
            elif key in data.get(section, {}):
                value = _coerce(section, key, spec, data[section][key], from_env=False)
            else:
                value = spec.default
            if spec.rule is not None:
                problem = spec.rule(value)
                if problem:
                    raise ConfigError(f"{section}.{key}", f"{problem} (got {value!r})")
            values[section][key] = value

    if values["hub"]["backend"] == "http" and not values["hub"]["url"]:
        raise ConfigError("hub.url", "is required when hub.backend = \"http\"")
    if values["kiosk"]["clock"] == "simulated" and not values["kiosk"]["simulated_start"]:
        raise ConfigError("kiosk.simulated_start", 'is required when kiosk.clock = "simulated"')
    if values["printer"]["backend"] == "escpos":
        conn = values["printer"]["connection"]
        needed = {"network": "host", "usb": "usb_vendor", "serial": "serial_device"}[conn]
        if not values["printer"][needed]:
            raise ConfigError(f"printer.{needed}", f"is required for an ESC/POS {conn} printer")
    if values["payment"]["enabled"]:
        for key in ("bank_bin", "account"):
            if not values["payment"][key]:
                raise ConfigError(f"payment.{key}", "is required when payment.enabled = true")
    return KioskConfig(values, path)


def default_toml() -> str:
    """The shipped defaults, documented, as a TOML file a technician can edit."""
    lines = ["# Kiosk configuration. Environment variables KIOSK_<SECTION>_<KEY> override it.", ""]
    for section, keys in SCHEMA.items():
        lines.append(f"[{section}]")
        for key, spec in keys.items():
            lines.append(f"# {spec.doc}")
            value = spec.default
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str):
                text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            else:
                text = repr(value)
            lines.append(f"{key} = {text}")
        lines.append("")
    return "\n".join(lines)
