"""`kiosk`: run the kiosk, the demo, and the technician's command-line tools."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from kiosk import __version__
from kiosk.config import default_toml, load_config
from kiosk.errors import ConfigError, KioskError


def _setup_logging(verbose: bool) -> None:
    # Messages carry codes and steps only; personal data never reaches a
    # log record (see kiosk/errors.py and the redacting __repr__s).
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from launcher.app import run_app

    config = load_config(args.config)
    return run_app(config)


def _cmd_demo(args: argparse.Namespace) -> int:
    from launcher.demo import run_demo

    return run_demo(Path(args.output), scripted=args.scripted)


def _cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(f"configuration OK ({config.source or 'defaults'})")
    return 0


def _cmd_default_config(args: argparse.Namespace) -> int:
    sys.stdout.write(default_toml())
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from launcher.doctor import run_doctor

    return run_doctor(args.config)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from launcher.upgrade import migrate_outbox

    print(migrate_outbox(load_config(args.config)))
    return 0


def _cmd_decode_qr(args: argparse.Namespace) -> int:
    from launcher.qrtool import decode_files

    status = 0
    for record in decode_files([Path(p) for p in args.images]):
        if args.json:
            print(json.dumps({k: v for k, v in record.items() if k != "error"}, ensure_ascii=False))
        else:
            print(record["file"], record["kind"], record.get("reason", ""))
        if record.get("error"):
            status = 1
    return status


def _cmd_set_technician_pin(args: argparse.Namespace) -> int:
    from launcher.technician import set_pin_command

    return set_pin_command(load_config(args.config), from_stdin=args.pin_stdin)


def _config_from_environment() -> Path | None:
    """The installed package's wrapper and unit name the configuration in
    $KIOSK_CONFIG (/etc/vn-checkin-kiosk/kiosk.toml)."""
    value = os.environ.get("KIOSK_CONFIG")
    return Path(value) if value else None


def _cmd_printer_status(args: argparse.Namespace) -> int:
    from launcher.printer_tools import printer_status

    return printer_status(load_config(args.config), as_json=args.json)


def _cmd_print_test_page(args: argparse.Namespace) -> int:
    from launcher.printer_tools import print_test_page

    return print_test_page(load_config(args.config), fee_paying=args.fee_paying)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Self check-in kiosk for Vietnamese hospitals.")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run the kiosk (the default)")
    run.add_argument("--config", type=Path, default=_config_from_environment(), help="kiosk.toml (default: $KIOSK_CONFIG)")
    run.set_defaults(func=_cmd_run)

    demo = sub.add_parser("demo", help="simulated devices and an in-process hub")
    demo.add_argument("--output", default="demo-output", help="screenshots and tickets go here")
    demo.add_argument(
        "--scripted",
        action="store_true",
        help="check in every sample citizen automatically and exit (the default without a display)",
    )
    demo.set_defaults(func=_cmd_demo)

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("--config", type=Path, required=True)
    check.set_defaults(func=_cmd_check_config)

    defaults = sub.add_parser("default-config", help="print the documented default kiosk.toml")
    defaults.set_defaults(func=_cmd_default_config)

    decode = sub.add_parser("decode-qr", help="decode QR codes in image files")
    decode.add_argument("--json", action="store_true", help="one JSON object per image")
    decode.add_argument("images", nargs="+")
    decode.set_defaults(func=_cmd_decode_qr)

    doctor = sub.add_parser("doctor", help="check configuration, devices, hub, outbox and fonts (OK/WARN/FAIL)")
    doctor.add_argument(
        "--config", type=Path, default=_config_from_environment(), help="kiosk.toml (default: $KIOSK_CONFIG, else built-in defaults)"
    )
    doctor.set_defaults(func=_cmd_doctor)

    migrate = sub.add_parser("migrate", help="bring the outbox schema up to date (run by the package on upgrade)")
    migrate.add_argument("--config", type=Path, default=_config_from_environment(), help="kiosk.toml (default: $KIOSK_CONFIG)")
    migrate.set_defaults(func=_cmd_migrate)

    pin = sub.add_parser("set-technician-pin", help="set the PIN that opens technician mode (stored as an argon2 hash)")
    pin.add_argument(
        "--config", type=Path, default=_config_from_environment(), help="kiosk.toml, for the data directory (default: $KIOSK_CONFIG)"
    )
    pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from one line of standard input")
    pin.set_defaults(func=_cmd_set_technician_pin)

    for name, func, text in (
        ("printer-status", _cmd_printer_status, "the configured printer's status (exit 1 when it cannot print)"),
        ("print-test-page", _cmd_print_test_page, "print the sample ticket on the configured printer"),
    ):
        tool = sub.add_parser(name, help=text)
        tool.add_argument("--config", type=Path, default=_config_from_environment(), help="kiosk.toml (default: $KIOSK_CONFIG)")
        if name == "printer-status":
            tool.add_argument("--json", action="store_true", help="one JSON object")
        else:
            tool.add_argument("--fee-paying", action="store_true", help="with the VietQR payment section")
        tool.set_defaults(func=func)

    # Field-staff mode (launcher.bundle): registrations carried by hand.
    export = sub.add_parser("export-bundle", help="write the registrations the hub does not have yet to an encrypted file")
    export.add_argument("--config", type=Path, default=_config_from_environment(), help="kiosk.toml (default: $KIOSK_CONFIG)")
    export.add_argument("--out", type=Path, required=True, help="the bundle file to write")
    export.add_argument("--passphrase-file", type=Path, help="else $KIOSK_BUNDLE_PASSPHRASE, else asked")
    export.set_defaults(func=_cmd_export_bundle)
    imp = sub.add_parser("import-bundle", help="add a field-staff bundle to this kiosk's outbox (idempotent)")
    imp.add_argument("--config", type=Path, default=_config_from_environment(), help="kiosk.toml (default: $KIOSK_CONFIG)")
    imp.add_argument("bundle", type=Path)
    imp.add_argument("--passphrase-file", type=Path, help="else $KIOSK_BUNDLE_PASSPHRASE, else asked")
    imp.set_defaults(func=_cmd_import_bundle)

    # Card tools (issue 3): a simulated chip behind pcscd, and a chip read.
    from launcher import read_card, simulate_card

    simulate_card.add_parser(sub)
    read_card.add_parser(sub)
    return parser


def _cmd_export_bundle(args: argparse.Namespace) -> int:
    from launcher.bundle import export_bundle

    return export_bundle(load_config(args.config), args.out, args.passphrase_file)


def _cmd_import_bundle(args: argparse.Namespace) -> int:
    from launcher.bundle import import_bundle

    return import_bundle(load_config(args.config), args.bundle, args.passphrase_file)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"kiosk: configuration error: {exc}", file=sys.stderr)
        return 2
    except KioskError as exc:
        print(f"kiosk: {exc.code}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
