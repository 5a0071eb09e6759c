"""`kiosk-hub` and the hub settings."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from drivers.hub.http_client import HttpHubClient
from kiosk.errors import ConfigError
from server.app import create_app
from server.cli import main
from server.embedded import serve_app_in_thread
from server.settings import load_settings


def _write_config(tmp_path: Path) -> Path:
    config = tmp_path / "hub.toml"
    config.write_text(
        f"""
[hub]
data_dir = "{tmp_path / 'data'}"
hospital_code = "79024"
rate_limit_per_minute = 30
gateway_url = "simulated"
""",
        encoding="utf-8",
    )
    return config


def test_init_add_kiosk_and_the_credential_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write_config(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'data' / 'hub.sqlite3'}"

    assert main(["--config", str(config), "init", "--db", db_url]) == 0
    first = capsys.readouterr().out
    assert "Seeded departments and services." in first
    tokens = re.findall(r"^kha_\S+$", first, re.MULTILINE)
    assert len(tokens) == 1
    key_file = tmp_path / "data" / "hub.key"
    assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0

    assert main(["--config", str(config), "init", "--db", db_url]) == 0
    second = capsys.readouterr().out
    assert "already present" in second and "already exists" in second
    assert not re.findall(r"^kha_\S+$", second, re.MULTILINE)  # the token is printed once only

    assert main(["--config", str(config), "add-kiosk", "Sảnh A - máy 1", "--db", db_url]) == 0
    printed = capsys.readouterr().out
    kiosk_id = re.search(r"kiosk_id = (\S+)", printed).group(1)  # type: ignore[union-attr]
    secret = re.search(r"secret   = (\S+)", printed).group(1)  # type: ignore[union-attr]

    settings = load_settings(config, env={}, database_url=db_url)
    # Serve the app the way `serve` builds it, on a free port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = serve_app_in_thread(create_app(settings, loopback_url=f"http://127.0.0.1:{port}"), port=port)
    try:
        reference = HttpHubClient(served.url, kiosk_id, secret).reference_data()
    finally:
        served.stop()
    assert any(d.code == "NOI" for d in reference.departments)


def test_settings_file_then_environment_then_arguments(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    settings = load_settings(
        config,
        env={"KIOSK_HUB_RATE_LIMIT_PER_MINUTE": "45", "KIOSK_HUB_GATEWAY_PASSWORD_MD5": "false"},
        hospital_code="01001",
    )
    assert settings.rate_limit_per_minute == 45  # environment beats the file
    assert settings.gateway_password_md5 is False
    assert settings.hospital_code == "01001"  # arguments beat both
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'data' / 'hub.sqlite3'}"


def test_the_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = _write_config(tmp_path)
    assert load_settings(env={"KIOSK_HUB_CONFIG": str(config)}).hospital_code == "79024"


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"KIOSK_HUB_RATE_LIMIT_PER_MINUTE": "many"}, "rate_limit_per_minute"),
        ({"KIOSK_HUB_HOSPITAL_CODE": "1"}, "hospital_code"),
    ],
)
def test_bad_settings_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env)
    assert caught.value.key == key


def test_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text("[hub]\ndatabse_url = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(config, env={})


def test_serve_without_init_explains_itself(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write_config(tmp_path)
    assert main(["--config", str(config), "serve", "--port", "1"]) == 2
    assert "kiosk-hub init" in capsys.readouterr().err
