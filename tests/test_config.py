"""Configuration: TOML + environment, validated with messages naming the key."""

from __future__ import annotations

import tomllib

import pytest

from kiosk.config import default_toml, load_config
from kiosk.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    config = load_config(None, environ={})
    assert config["card.backend"] == "simulated"
    assert config["hub.verify_tls"] is True
    assert config["printer.width_dots"] == 576


def test_file_values_and_env_overrides(tmp_path):
    path = write(tmp_path, '[kiosk]\nid = "K07"\n[printer]\nwidth_dots = 384\n')
    config = load_config(path, environ={"KIOSK_KIOSK_ID": "K09", "KIOSK_HUB_VERIFY_TLS": "no"})
    assert config["kiosk.id"] == "K09"
    assert config["printer.width_dots"] == 384
    assert config["hub.verify_tls"] is False


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        ("[printer]\nwidth_dots = 500\n", {}, "printer.width_dots"),
        ('[printer]\nwidth_dots = "576"\n', {}, "printer.width_dots"),
        ("[card]\nbackend = \"nfc\"\n", {}, "card.backend"),
        ("[kiosk]\ncolour = 1\n", {}, "kiosk.colour"),
        ("[screen]\nx = 1\n", {}, "screen"),
        ('[hub]\nbackend = "http"\n', {}, "hub.url"),
        ('[hub]\nbackend = "http"\nurl = "http://hub.example.org"\n', {}, "hub.url"),
        ("", {"KIOSK_PRINTER_PORT": "ninety"}, "printer.port"),
        ("", {"KIOSK_HUB_VERIFY_TLS": "maybe"}, "hub.verify_tls"),
        ('[printer]\nbackend = "escpos"\n', {}, "printer.host"),
        ("[kiosk]\nidle_timeout_seconds = 1\n", {}, "kiosk.idle_timeout_seconds"),
    ],
)
def test_bad_values_name_the_key(tmp_path, text, env, key):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ=env)
    assert info.value.key == key
    assert key in str(info.value)


def test_not_toml_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[kiosk\n"), environ={})


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_shipped_defaults_file_round_trips(tmp_path):
    text = default_toml()
    tomllib.loads(text)
    config = load_config(write(tmp_path, text), environ={})
    assert config == load_config(None, environ={}).__class__(config.values, config.source)
    assert config["kiosk.hospital_name"] == load_config(None, environ={})["kiosk.hospital_name"]


def test_simulated_clock_needs_a_valid_start(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(None, environ={"KIOSK_KIOSK_CLOCK": "simulated"})
    assert info.value.key == "kiosk.simulated_start"
    with pytest.raises(ConfigError) as info:
        load_config(None, environ={"KIOSK_KIOSK_CLOCK": "simulated", "KIOSK_KIOSK_SIMULATED_START": "tomorrow"})
    assert info.value.key == "kiosk.simulated_start"
