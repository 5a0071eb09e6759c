"""Which vpcd port and PC/SC reader this test run uses.

pcscd's vpcd driver (vsmartcard 3.x, /etc/reader.conf.d/vpcd) opens one
virtual slot per port: slot N listens on CHANNELID + N (0x8C7B = 35963 in
the packaged file) and shows up as the reader "Virtual PCD 00 0N" (pcsc-lite
names a reader "FRIENDLYNAME <reader no.> <slot no.>", both in hex). Two
test runs on one machine therefore share one pcscd but each takes its own
slot: packaging/test-services.sh picks a free one (a lock file per port) and
exports KIOSK_TEST_VPCD_PORT; without it the tests use 35963, as before.
KIOSK_TEST_VPCD_READER names the reader when a pcscd was configured with
another base port (DEVICENAME /dev/null:PORT): its slot 0 is then PORT.
"""

from __future__ import annotations

import os

PACKAGED_BASE_PORT = 35963  # vpcd's CHANNELID 0x8C7B
MAX_SLOTS = 16  # pcsc-lite's PCSCLITE_MAX_READERS_CONTEXTS bounds vpcd's slots


class VpcdSettingError(ValueError):
    """KIOSK_TEST_VPCD_PORT / KIOSK_TEST_VPCD_READER do not make sense."""


def vpcd_port(environ: dict[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    text = env.get("KIOSK_TEST_VPCD_PORT", "").strip()
    if not text:
        return PACKAGED_BASE_PORT
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise VpcdSettingError(f"KIOSK_TEST_VPCD_PORT must be a TCP port number, got {text!r}")
    return int(text)


def vpcd_reader(environ: dict[str, str] | None = None) -> str:
    """The PC/SC reader name (a substring PcscCardReader matches) for the port."""
    env = os.environ if environ is None else environ
    named = env.get("KIOSK_TEST_VPCD_READER", "").strip()
    if named:
        return named
    slot = vpcd_port(env) - PACKAGED_BASE_PORT
    if not 0 <= slot < MAX_SLOTS:
        raise VpcdSettingError(
            f"KIOSK_TEST_VPCD_PORT={vpcd_port(env)} is not a slot of the packaged vpcd "
            f"({PACKAGED_BASE_PORT}..{PACKAGED_BASE_PORT + MAX_SLOTS - 1}); "
            "set KIOSK_TEST_VPCD_READER to the reader that listens on it"
        )
    return f"Virtual PCD 00 {slot:02X}"


def vpcd_address(environ: dict[str, str] | None = None) -> str:
    """HOST:PORT for `kiosk simulate-card --vpcd`."""
    return f"127.0.0.1:{vpcd_port(environ)}"
