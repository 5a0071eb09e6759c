"""sd_notify(3) over a real AF_UNIX datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket

from launcher.sdnotify import ServiceNotifier


def listener(path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    return sock


def test_ready_and_watchdog_reach_the_socket(tmp_path):
    path = tmp_path / "notify"
    with listener(path) as sock:
        service = ServiceNotifier.from_environment(
            {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
        )
        assert service.enabled and service.watchdog_interval == 30.0
        assert service.ping_milliseconds() == 15000  # half the watchdog time
        assert service.notify("READY=1")
        assert service.notify("WATCHDOG=1")
        assert sock.recv(100) == b"READY=1"
        assert sock.recv(100) == b"WATCHDOG=1"


def test_abstract_namespace_socket():
    name = f"kiosk-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert ServiceNotifier.from_environment({"NOTIFY_SOCKET": "@" + name}).notify("STOPPING=1")
        assert sock.recv(100) == b"STOPPING=1"


def test_watchdog_for_another_process_is_not_ours():
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    assert ServiceNotifier.from_environment(env, pid=1000, parent_pid=999).watchdog_interval is None
    # The kiosk is cage's child and cage is the unit's main process.
    assert ServiceNotifier.from_environment(env, pid=1000, parent_pid=1).watchdog_interval == 1.0


def test_outside_systemd_everything_is_a_no_op():
    service = ServiceNotifier.from_environment({})
    assert not service.enabled
    assert service.ping_milliseconds() is None
    assert service.notify("READY=1") is False


def test_a_vanished_service_manager_does_not_raise(tmp_path):
    service = ServiceNotifier.from_environment({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert service.notify("WATCHDOG=1") is False
