"""tests/vpcd_support.py: this run's vpcd port and reader, from the environment."""

from __future__ import annotations

import pytest

from vpcd_support import VpcdSettingError, vpcd_address, vpcd_port, vpcd_reader


def test_default_is_the_packaged_port_and_its_first_slot() -> None:
    assert vpcd_port({}) == 35963
    assert vpcd_reader({}) == "Virtual PCD 00 00"
    assert vpcd_address({}) == "127.0.0.1:35963"


def test_each_packaged_slot_has_its_port_and_reader() -> None:
    env = {"KIOSK_TEST_VPCD_PORT": "35964"}
    assert vpcd_port(env) == 35964
    assert vpcd_reader(env) == "Virtual PCD 00 01"
    assert vpcd_reader({"KIOSK_TEST_VPCD_PORT": "35973"}) == "Virtual PCD 00 0A"  # pcsc-lite numbers in hex


def test_another_base_port_needs_the_reader_named() -> None:
    with pytest.raises(VpcdSettingError, match="KIOSK_TEST_VPCD_READER"):
        vpcd_reader({"KIOSK_TEST_VPCD_PORT": "40000"})
    env = {"KIOSK_TEST_VPCD_PORT": "40000", "KIOSK_TEST_VPCD_READER": "Virtual PCD 00 00"}
    assert vpcd_reader(env) == "Virtual PCD 00 00" and vpcd_address(env) == "127.0.0.1:40000"


@pytest.mark.parametrize("text", ["abc", "0", "70000", "-1", "35963x"])
def test_a_bad_port_is_refused_with_the_variable_named(text: str) -> None:
    with pytest.raises(VpcdSettingError, match="KIOSK_TEST_VPCD_PORT"):
        vpcd_port({"KIOSK_TEST_VPCD_PORT": text})
