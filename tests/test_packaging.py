"""The Debian packages, built, installed, used and removed on this machine.

Needs root and dpkg, changes the machine (installs cage and the two
packages, creates their system users) and takes minutes, so it runs only
under `make package-test` (which `make test` calls), with
KIOSK_TEST_PACKAGES=1. The venv inside the kiosk package is what takes the
time; packaging/build_deb.py reuses it between runs while the dependencies
stay the same (build/deb/).
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk import __version__
from kiosk.config import load_config

PROJECT = Path(__file__).resolve().parent.parent
KIOSK, HUB = "vn-checkin-kiosk", "vn-checkin-hub"

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("KIOSK_TEST_PACKAGES") != "1",
        reason="builds and installs .deb packages on this machine (root, minutes): run by `make package-test`",
    ),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not found (not Debian)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="installing packages needs root"),
    pytest.mark.timeout(1800),
]


def sh(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    # From /: a `python -c` run from the checkout would import the checkout,
    # not the installed package.
    kwargs.setdefault("cwd", "/")
    result = subprocess.run(list(args), capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def debian_version() -> str:
    sys.path.insert(0, str(PROJECT / "packaging"))
    try:
        import build_deb
    finally:
        sys.path.pop(0)
    return build_deb.debian_version(__version__)


@pytest.fixture(scope="module")
def debs(tmp_path_factory) -> dict[str, Path]:
    # Two runs at once (two checkouts' `make test`) would share build/deb and
    # fight over dpkg's lock: the second waits for the first.
    import fcntl

    lock = open("/tmp/vn-checkin-package-test.lock", "w")  # noqa: SIM115 - held for the module
    fcntl.flock(lock, fcntl.LOCK_EX)
    out = tmp_path_factory.mktemp("debs")
    started = time.monotonic()
    sh(sys.executable, str(PROJECT / "packaging" / "build_deb.py"), "--out", str(out), "--work", str(PROJECT / "build" / "deb"))
    print(f"packages built in {time.monotonic() - started:.0f} s")
    found = {p.name.split("_")[0]: p for p in out.glob("*.deb")}
    assert set(found) == {KIOSK, HUB}
    yield found
    # Whatever a failed test left installed goes too.
    sh("dpkg", "--purge", KIOSK, HUB, check=False)
    lock.close()


def contents(deb: Path) -> list[str]:
    # mode owner size date time path[ -> target]
    lines = sh("dpkg-deb", "-c", str(deb)).stdout.splitlines()
    return [line.split(maxsplit=5)[5].split(" -> ")[0].removeprefix("./") for line in lines]


def field(deb: Path, name: str) -> str:
    return sh("dpkg-deb", "-f", str(deb), name).stdout.strip()


def test_kiosk_package_contents(debs):
    deb = debs[KIOSK]
    files = contents(deb)
    for expected in (
        "usr/bin/kiosk",
        f"opt/{KIOSK}/venv/bin/python",
        f"opt/{KIOSK}/venv/bin/kiosk",
        f"lib/systemd/system/{KIOSK}.service",
        f"lib/udev/rules.d/70-{KIOSK}-printers.rules",
        f"etc/{KIOSK}/kiosk.toml",
        f"etc/pam.d/{KIOSK}",
    ):
        assert expected in files, expected
    # Bytecode is made by postinst and removed by prerm, never shipped.
    assert not [f for f in files if f.endswith(".pyc") or "__pycache__" in f]
    assert field(deb, "Package") == KIOSK
    assert field(deb, "Version") == debian_version()
    depends = field(deb, "Depends")
    for package in ("pcscd", "libccid", "cage", "xwayland", "fonts-noto-core"):
        assert package in depends

    tree = PROJECT / "build" / "deb" / KIOSK
    unit = (tree / f"lib/systemd/system/{KIOSK}.service").read_text()
    for line in ("Restart=always", "WatchdogSec=", "Type=notify", "NotifyAccess=all", f"User={KIOSK}", "ExecStart=/usr/bin/cage"):
        assert line in unit, line
    # The shipped configuration is valid as it stands, and production-minded.
    config = load_config(tree / f"etc/{KIOSK}/kiosk.toml", environ={})
    assert config["kiosk.data_dir"] == f"/var/lib/{KIOSK}"
    assert config["card.backend"] == "pcsc"
    # Nothing in the package names the machine it was built on.
    staged = str(tree).encode()
    venv_bin = tree / f"opt/{KIOSK}/venv/bin"
    for script in venv_bin.iterdir():
        if script.is_file() and not script.is_symlink():
            assert staged not in script.read_bytes(), script
    assert f"/opt/{KIOSK}/venv/bin/python" in (venv_bin / "kiosk").read_text().splitlines()[0]


def test_hub_package_contents(debs):
    deb = debs[HUB]
    files = contents(deb)
    for expected in (
        "usr/bin/kiosk-hub",
        f"opt/{HUB}/venv/bin/kiosk-hub",
        f"lib/systemd/system/{HUB}.service",
        f"etc/{HUB}/hub.toml",
        f"etc/{HUB}/serve.env",
    ):
        assert expected in files, expected
    assert field(deb, "Version") == debian_version()
    # The hub needs no GUI: its environment has no Qt.
    assert not [f for f in files if "/PySide6/" in f]
    unit = (PROJECT / "build" / "deb" / HUB / f"lib/systemd/system/{HUB}.service").read_text()
    assert "serve" in unit and "--workers" in unit and "Restart=always" in unit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_user(user: str, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return sh("runuser", "-u", user, "--", *args, check=check, **kwargs)


def assert_clear_report(output: str) -> None:
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert lines[-1].startswith(f"-- kiosk {__version__}:")
    for line in lines[:-1]:
        assert line.split()[0] in {"OK", "WARN", "FAIL"}, line


def test_install_use_upgrade_remove(debs, tmp_path):
    # dpkg -i, then apt for the dependencies this machine lacks (cage...).
    installed = sh("dpkg", "-i", str(debs[KIOSK]), str(debs[HUB]), check=False)
    if installed.returncode != 0:
        sh("apt-get", "install", "-f", "-y", "-q", env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    status = sh("dpkg-query", "-W", "-f", "${db:Status-Status}", KIOSK).stdout
    assert status == "installed"

    assert sh("/usr/bin/kiosk", "--version").stdout.strip() == f"kiosk {__version__}"
    data = Path(f"/var/lib/{KIOSK}")
    info = data.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == int(sh("id", "-u", KIOSK).stdout)

    # The doctor on the shipped configuration, as the kiosk user: no hardware
    # here, so a report of WARN/FAIL lines, never a traceback.
    doctor = as_user(KIOSK, "/usr/bin/kiosk", "doctor", check=False)
    assert_clear_report(doctor.stdout)
    assert doctor.returncode == (1 if "\nFAIL" in "\n" + doctor.stdout else 0)
    assert "OK    configuration" in doctor.stdout

    # The packaged environment loads its native parts (Qt, OpenCV, pyscard, zxing).
    as_user(
        KIOSK, f"/opt/{KIOSK}/venv/bin/python", "-c",
        "import os; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
        "from PySide6.QtWidgets import QApplication; app = QApplication([])\n"
        "import cv2, smartcard.scard, zxingcpp, escpos.printer, launcher.wiring, ui.window\n",
    )

    # The hub from its package: init, a kiosk credential, serve with workers,
    # and the kiosk's doctor against it.
    as_user(HUB, "/usr/bin/kiosk-hub", "init")
    credential = dict(
        (part.strip() for part in line.split(" = ", 1))
        for line in as_user(HUB, "/usr/bin/kiosk-hub", "add-kiosk", "Sảnh A").stdout.splitlines()
        if " = " in line
    )
    port = free_port()
    hub = subprocess.Popen(
        ["/usr/bin/kiosk-hub", "serve", "--port", str(port), "--workers", "2"],
        user=HUB, group=HUB, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/",
    )
    try:
        secret = tmp_path / "hub.secret"
        secret.write_text(credential["secret"].strip() + "\n")
        secret.chmod(0o600)
        config = tmp_path / "kiosk.toml"
        config.write_text(
            f'[kiosk]\ndata_dir = "{tmp_path / "data"}"\n'
            f'[hub]\nbackend = "http"\nurl = "http://127.0.0.1:{port}"\n'
            f'kiosk_id = "{credential["kiosk_id"].strip()}"\nsecret_file = "{secret}"\n'
        )
        report = ""
        for _ in range(120):  # the workers start in a few seconds; bounded
            report = sh("/usr/bin/kiosk", "doctor", "--config", str(config), check=False).stdout
            if "OK    hub " in report or hub.poll() is not None:
                break
            time.sleep(0.5)
        assert_clear_report(report)
        assert "OK    hub credential" in report, report
    finally:
        hub.terminate()
        hub.wait(30)

    # Upgrade (the same version again): a technician's edit and the data stay,
    # and the outbox migration runs.
    shipped = Path(f"/etc/{KIOSK}/kiosk.toml")
    edited = shipped.read_text().replace('hospital_name = "', 'hospital_name = "BV TEST ', 1)
    shipped.write_text(edited)
    as_user(
        KIOSK, f"/opt/{KIOSK}/venv/bin/python", "-c",
        "from offline_cache.keys import load_or_create_key\n"
        "from offline_cache.store import OutboxStore\n"
        f"d = '/var/lib/{KIOSK}/'\n"
        "OutboxStore(d + 'outbox.sqlite3', load_or_create_key(d + 'outbox.key'), kiosk_id='K01').close()\n",
    )
    key = (data / "outbox.key").read_bytes()
    upgrade = sh("dpkg", "-i", str(debs[KIOSK]))
    assert "outbox schema at version" in upgrade.stdout + upgrade.stderr
    assert shipped.read_text() == edited
    assert (data / "outbox.key").read_bytes() == key
    assert stat.S_IMODE(data.stat().st_mode) == 0o700

    # Removal: nothing left in /opt; purge keeps a kiosk's outbox (it may
    # hold undelivered registrations) and the hub's database.
    sh("dpkg", "--remove", KIOSK, HUB)
    assert not Path(f"/opt/{KIOSK}").exists() and not Path(f"/opt/{HUB}").exists()
    assert not Path("/usr/bin/kiosk").exists() and not Path("/usr/bin/kiosk-hub").exists()
    purge = sh("dpkg", "--purge", KIOSK, HUB)
    assert "kept /var/lib/vn-checkin-kiosk" in purge.stderr
    assert not Path(f"/etc/{KIOSK}").exists() and not Path(f"/etc/{HUB}").exists()
    shutil.rmtree(f"/var/lib/{KIOSK}")
    shutil.rmtree(f"/var/lib/{HUB}", ignore_errors=True)
