"""Build the Debian packages: vn-checkin-kiosk (the kiosk session) and
vn-checkin-hub (the hub service), with dpkg-deb.

    python packaging/build_deb.py [--out dist] [--only kiosk|hub] [--work build/deb]

Each package carries its own Python environment, a venv under
/opt/<package>/venv made from the system's python3 (so the package depends on
that exact minor version) with the project installed from a wheel built
here. Why a venv and not a PyInstaller bundle: docs/DEPLOY.md, with the
measured sizes and start times.

A venv records its own path (pyvenv.cfg, script shebangs), and it is built in
a staging directory, not in /opt: every text file that names the staging path
is rewritten to the installed path, and the build fails if any file still
names it. Bytecode is not shipped; postinst compiles it and prerm removes it,
so that `dpkg -r` leaves /opt clean.

The hub's environment holds only what the hub imports: the pyproject
dependencies whose import names appear in server/ or kiosk/ (found with
`ast`, mapped to distributions through the build environment's metadata),
plus the postgres extra. Every server module is imported in the built venv
before packaging, so a dependency missed that way fails the build, not the
hospital's server.

pip reuses its cache (and PIP_FIND_LINKS), so rebuilding takes the time to
unpack wheels, not to download them.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "deb"
KIOSK, HUB = "vn-checkin-kiosk", "vn-checkin-hub"
SYSTEM_PYTHON = "/usr/bin/python3"
MAINTAINER = "Kiosk maintainers <kiosk@localhost>"

# Runtime libraries of the venv's binary wheels that are not in the wheels:
# pyscard (libpcsclite1), Qt's xcb/wayland/EGL platform (libgl1 ... libwayland-*),
# pyusb (libusb-1.0-0), plus the kiosk session itself.
KIOSK_DEPENDS = [
    "python3 (>= 3.11)", "python3 (<< 3.12)", "adduser",
    # cage 0.1.4 (Debian 12) exits at start when it cannot launch Xwayland.
    "pcscd", "libccid", "libpcsclite1", "cage", "xwayland",
    # Full Vietnamese coverage (ui/theme.py asks for Noto Sans first);
    # fontconfig for `kiosk doctor`'s coverage check.
    "fonts-noto-core", "fontconfig",
    "libgl1", "libegl1", "libglib2.0-0", "libfontconfig1", "libxkbcommon0", "libdbus-1-3",
    "libwayland-client0", "libwayland-cursor0", "libwayland-egl1", "libusb-1.0-0",
]
KIOSK_RECOMMENDS = ["fonts-dejavu-core"]
HUB_DEPENDS = ["python3 (>= 3.11)", "python3 (<< 3.12)", "adduser"]
HUB_SUGGESTS = ["postgresql", "nginx | caddy"]


def log(message: str) -> None:
    print(f"build_deb: {message}", flush=True)


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=True, **kwargs)


# -- versions -----------------------------------------------------------------------


def project_version() -> str:
    text = (PROJECT / "kiosk" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("kiosk/__init__.py has no __version__")
    return match.group(1)


def debian_version(version: str) -> str:
    """PEP 440 → Debian: pre-releases sort before the release with "~"
    (Debian Policy §5.6.12), e.g. 1.2.0rc1 → 1.2.0~rc1, 1.2.0.dev3 → 1.2.0~dev3."""
    upstream = re.sub(r"\.?(a|b|rc|dev)(\d*)", r"~\1\2", version)
    upstream = upstream.replace("+", "+local.").replace("-", ".")
    return f"{upstream}-1"


# -- the venv -----------------------------------------------------------------------


def project_wheel(work: Path) -> Path:
    wheels = work / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, PROJECT)
    (wheel,) = wheels.glob("vn_checkin_kiosk-*.whl")
    return wheel


def build_venv(root: Path, prefix: str, install: list[list[str]], project: list[str]) -> Path:
    """A venv at <root>/<prefix>/venv that works once installed at /<prefix>/venv.

    The dependencies are reused from the previous build when they are the
    same (same `install` lines, same system python); only the project's own
    wheel is installed again. A rebuild then takes seconds, not minutes.
    """
    venv = root / prefix.lstrip("/") / "venv"
    python = venv / "bin" / "python"
    stamp = root.with_name(root.name + ".dependencies")  # outside the package tree
    wanted = repr((install, os.path.realpath(SYSTEM_PYTHON)))
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        shutil.rmtree(venv, ignore_errors=True)
        run(SYSTEM_PYTHON, "-m", "venv", venv)
        # --no-compile: bytecode is made by postinst (see the module docstring).
        for args in install:
            run(python, "-m", "pip", "install", "-q", "--no-compile", "--no-warn-conflicts", *args)
        stamp.write_text(wanted)
    run(python, "-m", "pip", "install", "-q", "--no-compile", "--no-warn-conflicts", "--force-reinstall", "--no-deps", *project)
    relocate(venv, Path(prefix) / "venv")
    return venv


def fresh_tree(root: Path, prefix: str) -> None:
    """Empty the package tree, keeping the venv for build_venv to reuse."""
    keep = root / prefix.lstrip("/") / "venv"
    if not root.exists():
        return
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path == keep or keep in path.parents or path in keep.parents:
            continue
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()


def relocate(venv: Path, final: Path) -> None:
    staged = str(venv).encode()
    target = str(final).encode()
    for path in list(venv.rglob("__pycache__")):
        shutil.rmtree(path)
    for path in sorted(venv.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if staged in data:
            if path.suffix in {".so", ".pyc"} or b"\0" in data[:4096]:
                raise SystemExit(f"binary file {path} names the staging path; cannot relocate")
            path.write_bytes(data.replace(staged, target))
    # Where the wheel came from is a path on the build machine; nobody needs it.
    for direct_url in venv.glob("lib/python3*/site-packages/vn_checkin_kiosk-*.dist-info/direct_url.json"):
        direct_url.unlink()


def project_dependencies() -> list[str]:
    return tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


def hub_requirements() -> list[str]:
    """pyproject dependencies imported (directly) by server/ or kiosk/, plus the postgres extra."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    imported: set[str] = set()
    for package in ("server", "kiosk"):
        for source in (PROJECT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module.split(".")[0])
    providers = importlib.metadata.packages_distributions()
    wanted = {_normal(dist) for name in imported for dist in providers.get(name, [])}
    chosen = [r for r in project["dependencies"] if _normal(_requirement_name(r)) in wanted]
    chosen += project["optional-dependencies"]["postgres"]
    return chosen


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=~!;]", requirement, maxsplit=1)[0]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- package trees --------------------------------------------------------------------


def install_file(source: Path, dest: Path, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    os.chmod(dest, mode)


def write_file(dest: Path, text: str, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    os.chmod(dest, mode)


def shipped_kiosk_toml(venv: Path) -> str:
    """`kiosk default-config` with the settings a packaged kiosk needs.

    The hub and the printer keep their demo defaults (embedded hub, file
    printer): they need site values (hub URL and credential, printer
    address), and with them unset the app must still start so the
    technician can enter them (DEPLOY.md, first-time set-up). `kiosk doctor`
    reports both as WARN until they are set.
    """
    text = run(venv / "bin" / "python", "-B", "-I", "-m", "launcher.cli", "default-config", capture_output=True, text=True).stdout
    changes = {
        ("kiosk", "data_dir"): '"/var/lib/vn-checkin-kiosk"',
        ("card", "backend"): '"pcsc"',
        ("camera", "backend"): '"opencv"',
    }
    out, section = [], ""
    for line in text.splitlines():
        header = re.match(r"^\[(\w+)\]$", line)
        if header:
            section = header.group(1)
        key = re.match(r"^(\w+) = ", line)
        if key and (section, key.group(1)) in changes:
            line = f"{key.group(1)} = {changes.pop((section, key.group(1)))}  # packaged kiosk"
        out.append(line)
    if changes:
        raise SystemExit(f"default-config lacks {sorted(changes)}")
    head = [
        "# /etc/vn-checkin-kiosk/kiosk.toml: installed by the vn-checkin-kiosk package.",
        "# Upgrades keep your edits (a dpkg conffile). Check with: kiosk doctor",
        "# Before the kiosk serves patients, set [hub] backend/url/kiosk_id/secret_file",
        "# and [printer] (see /usr/share/doc/vn-checkin-kiosk/DEPLOY.md).",
    ]
    return "\n".join(head + out) + "\n"


def control(name: str, version: str, depends: list[str], description: str, root: Path, **extra: list[str]) -> str:
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    lines = [
        f"Package: {name}",
        f"Version: {version}",
        f"Architecture: {dpkg_architecture()}",
        f"Maintainer: {MAINTAINER}",
        f"Installed-Size: {size_kib}",
        f"Depends: {', '.join(depends)}",
    ]
    for field, values in extra.items():
        lines.append(f"{field.capitalize()}: {', '.join(values)}")
    lines += ["Section: misc", "Priority: optional", f"Description: {description}"]
    return "\n".join(lines) + "\n"


def dpkg_architecture() -> str:
    return run("dpkg", "--print-architecture", capture_output=True, text=True).stdout.strip()


def common_docs(root: Path, name: str) -> None:
    doc = root / "usr/share/doc" / name
    deploy = PROJECT / "docs" / "DEPLOY.md"
    if deploy.exists():
        install_file(deploy, doc / "DEPLOY.md")
    write_file(doc / "copyright", "vn-checkin-kiosk\nLicense: Proprietary (see pyproject.toml).\n")


def maintainer_scripts(source: Path, debian: Path, conffiles: list[str]) -> None:
    for script in ("postinst", "prerm", "postrm"):
        install_file(source / script, debian / script, 0o755)
    write_file(debian / "conffiles", "".join(f"{c}\n" for c in conffiles))


def build_kiosk(work: Path, out: Path, wheel: Path, version: str) -> Path:
    root = work / KIOSK
    fresh_tree(root, f"/opt/{KIOSK}")
    started = time.monotonic()
    venv = build_venv(root, f"/opt/{KIOSK}", [project_dependencies()], [str(wheel)])
    log(f"{KIOSK}: venv built in {time.monotonic() - started:.0f} s")
    src = HERE / "kiosk"
    install_file(src / "kiosk", root / "usr/bin/kiosk", 0o755)
    install_file(src / f"{KIOSK}.service", root / f"lib/systemd/system/{KIOSK}.service")
    install_file(src / "70-vn-checkin-kiosk-printers.rules", root / "lib/udev/rules.d/70-vn-checkin-kiosk-printers.rules")
    install_file(src / "pam", root / f"etc/pam.d/{KIOSK}")
    write_file(root / f"etc/{KIOSK}/kiosk.toml", shipped_kiosk_toml(venv))
    common_docs(root, KIOSK)
    debian = root / "DEBIAN"
    maintainer_scripts(src, debian, [f"/etc/{KIOSK}/kiosk.toml", f"/etc/pam.d/{KIOSK}"])
    write_file(
        debian / "control",
        control(
            KIOSK, version, KIOSK_DEPENDS,
            "self check-in kiosk for Vietnamese hospitals\n"
            " CCCD chip cards over PC/SC, QR codes, insurance checks through the\n"
            " hospital hub, queue tickets on ESC/POS printers and an encrypted\n"
            " offline outbox; runs full screen in the cage Wayland compositor.",
            root, recommends=KIOSK_RECOMMENDS,
        ),
    )
    return dpkg_deb(root, out, KIOSK, version)


def build_hub(work: Path, out: Path, wheel: Path, version: str) -> Path:
    root = work / HUB
    fresh_tree(root, f"/opt/{HUB}")
    started = time.monotonic()
    requirements = hub_requirements()
    log(f"{HUB}: requirements {', '.join(requirements)}")
    venv = build_venv(root, f"/opt/{HUB}", [requirements], [str(wheel)])
    # Import every server module: a dependency the ast scan missed fails here.
    run(
        venv / "bin" / "python", "-B", "-c",
        "import importlib, pkgutil, server\n"
        "for m in pkgutil.walk_packages(server.__path__, 'server.'):\n"
        "    if not m.name.startswith('server.migrations'):  # Alembic runs those itself\n"
        "        importlib.import_module(m.name)\n",
    )
    log(f"{HUB}: venv built in {time.monotonic() - started:.0f} s")
    src = HERE / "hub"
    install_file(src / "kiosk-hub", root / "usr/bin/kiosk-hub", 0o755)
    install_file(src / "kiosk-hub-migrate", root / f"opt/{HUB}/kiosk-hub-migrate", 0o755)
    install_file(src / "migrate.py", root / f"opt/{HUB}/migrate.py")
    install_file(src / f"{HUB}.service", root / f"lib/systemd/system/{HUB}.service")
    install_file(src / "hub.toml", root / f"etc/{HUB}/hub.toml")
    install_file(src / "serve.env", root / f"etc/{HUB}/serve.env")
    common_docs(root, HUB)
    debian = root / "DEBIAN"
    maintainer_scripts(src, debian, [f"/etc/{HUB}/hub.toml", f"/etc/{HUB}/serve.env"])
    write_file(
        debian / "control",
        control(
            HUB, version, HUB_DEPENDS,
            "hospital hub for the self check-in kiosks\n"
            " Queue numbers, insurance checks through the social-security gateway\n"
            " and check-in records for many kiosks (kiosk-hub serve), on SQLite or\n"
            " PostgreSQL, behind a TLS-terminating reverse proxy.",
            root, suggests=HUB_SUGGESTS,
        ),
    )
    return dpkg_deb(root, out, HUB, version)


def dpkg_deb(root: Path, out: Path, name: str, version: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}_{version}_{dpkg_architecture()}.deb"
    started = time.monotonic()
    # zstd: xz takes minutes on a tree of this size for a few per cent less;
    # dpkg reads zstd since 1.21.18 (Debian 12). --root-owner-group: every
    # file root:root whoever builds; postinst hands out what must differ.
    run("dpkg-deb", "--root-owner-group", "-Zzstd", "-z3", "--build", root, target, stdout=subprocess.DEVNULL)
    log(f"{target.name}: {target.stat().st_size / 2**20:.0f} MiB, packed in {time.monotonic() - started:.0f} s")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT / "dist")
    parser.add_argument("--work", type=Path, default=PROJECT / "build" / "deb")
    parser.add_argument("--only", choices=("kiosk", "hub"))
    args = parser.parse_args(argv)
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("dpkg-deb not found: build on Debian (apt-get install dpkg-dev)")
    version = debian_version(project_version())
    args.work.mkdir(parents=True, exist_ok=True)
    wheel = project_wheel(args.work)
    built = []
    if args.only in (None, "kiosk"):
        built.append(build_kiosk(args.work, args.out, wheel, version))
    if args.only in (None, "hub"):
        built.append(build_hub(args.work, args.out, wheel, version))
    for path in built:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
