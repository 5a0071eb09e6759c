"""Hub settings: a TOML file, then KIOSK_HUB_* environment variables, then code.

Every setting has one flat name used in all three places::

    # /etc/kiosk-hub/hub.toml
    [hub]
    database_url = "postgresql+psycopg://kiosk@db/kiosk"
    hospital_code = "01001"

    KIOSK_HUB_DATABASE_URL=... KIOSK_HUB_HOSPITAL_CODE=... kiosk-hub serve

Environment variables win over the file so a container or a systemd unit can
override one value without editing the file. KIOSK_HUB_CONFIG names the file
when `--config` is not given.

Secrets: the gateway password and the hub's server-side key are read from
files (`gateway_password_file`, `secret_key_file`) or the environment, never
printed. The server-side key encrypts kiosk HMAC secrets at rest (see
`server.security.SecretBox`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError

ENV_PREFIX = "KIOSK_HUB_"


def default_data_dir() -> Path:
    """Where a hub keeps its SQLite file and key when nothing else is said (XDG)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kiosk-hub"


@dataclass(frozen=True)
class HubSettings:
    # Where state lives. SQLite (the default) suits one hub per hospital with
    # tens of kiosks; PostgreSQL when several hub processes share the load.
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str = ""  # empty: sqlite:///<data_dir>/hub.sqlite3
    # SQLite: this process's transactions take turns first-come, first-served
    # instead of polling SQLite's busy handler, which left a few requests
    # waiting seconds under load (server.db.WriterQueue). Off only to measure.
    sqlite_writer_queue: bool = True

    # The server-side key that encrypts kiosk secrets in the database. Kept
    # outside the database so a stolen dump alone does not give them away.
    secret_key: str = field(default="", repr=False)  # hex; prefer secret_key_file
    secret_key_file: str = ""  # empty: <data_dir>/hub.key

    # The hospital (Decision 4750 MA_CSKCB) the hub registers visits for.
    hospital_code: str = "01001"
    hospital_name: str = "Bệnh viện Đa khoa"

    # Request authentication: HMAC timestamps within ± this many seconds.
    clock_skew_seconds: int = 60
    # Per-kiosk request budget per minute. A kiosk makes a handful of calls
    # per patient; this only stops a runaway or a stolen credential.
    rate_limit_per_minute: int = 120

    # Social-security gateway (DOMAIN.md §2). "simulated" mounts the
    # simulated gateway inside the hub and talks to it over HTTP.
    gateway_url: str = "simulated"
    gateway_username: str = "kiosk"
    gateway_password: str = field(default="", repr=False)
    gateway_password_file: str = ""
    # DOMAIN.md: clients send the password MD5-hashed (unconfirmed), so it is
    # a switch rather than a fixed choice.
    gateway_password_md5: bool = True
    gateway_officer_name: str = "NGUYỄN THỊ TIẾP ĐÓN"  # hoTenCb
    gateway_officer_id: str = "001190000001"  # cccdCb
    # Total time for one insurance check (login + query). Keep it below the
    # kiosk's hub timeout (5 s) so the hub answers UNAVAILABLE before the
    # kiosk gives up on the hub itself.
    gateway_timeout_seconds: float = 4.0
    gateway_verify_tls: bool = True

    # VNeID app codes (server.vneid): "off" or "simulated" (demo, training;
    # never in production: its tokens name only the sample citizens).
    vneid_verifier: str = "off"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'hub.sqlite3'}"

    def resolved_secret_key_file(self) -> Path:
        return Path(self.secret_key_file) if self.secret_key_file else self.data_dir / "hub.key"

    def load_secret_key(self) -> bytes:
        """The server-side key, from the setting or its file."""
        if self.secret_key:
            try:
                key = bytes.fromhex(self.secret_key)
            except ValueError:
                raise ConfigError("secret_key", "must be hex") from None
        else:
            path = self.resolved_secret_key_file()
            try:
                key = bytes.fromhex(path.read_text().strip())
            except FileNotFoundError:
                raise ConfigError("secret_key_file", f"{path} does not exist; run `kiosk-hub init` first") from None
            except ValueError:
                raise ConfigError("secret_key_file", f"{path} does not hold a hex key") from None
        if len(key) < 32:
            raise ConfigError("secret_key", "must be at least 32 bytes (64 hex digits)")
        return key

    def load_gateway_password(self) -> str:
        if self.gateway_password_file:
            try:
                return Path(self.gateway_password_file).read_text().strip()
            except OSError as exc:
                raise ConfigError("gateway_password_file", f"cannot read: {exc.strerror}") from None
        return self.gateway_password

    def replace(self, **changes: Any) -> HubSettings:
        return dataclasses.replace(self, **changes)


def _convert(name: str, kind: Any, raw: Any) -> Any:
    """Turn a TOML value or an environment string into the field's type."""
    try:
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
        if kind in (Path, "Path"):
            return Path(str(raw)).expanduser()
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(name, f"cannot use {raw!r} as {getattr(kind, '__name__', kind)}") from None


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> HubSettings:
    """Settings from the file (if any), then the environment, then `overrides`."""
    env = os.environ if env is None else env
    fields = {f.name: f.type for f in dataclasses.fields(HubSettings)}
    values: dict[str, Any] = {}

    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                document = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError("config", f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config", f"{path} is not valid TOML: {exc}") from None
        table = document.get("hub", document)
        for key, raw in table.items():
            if key not in fields:
                raise ConfigError(key, f"unknown setting in {path}")
            values[key] = _convert(key, fields[key], raw)

    for key, kind in fields.items():
        raw = env.get(ENV_PREFIX + key.upper())
        if raw is not None:
            values[key] = _convert(key, kind, raw)

    for key, raw in overrides.items():
        if key not in fields:
            raise ConfigError(key, "unknown setting")
        if raw is not None:
            values[key] = _convert(key, fields[key], raw)

    settings = HubSettings(**values)
    if len(settings.hospital_code) != 5:
        raise ConfigError("hospital_code", "MA_CSKCB has 5 characters")
    return settings
