"""`kiosk read-card`: read a CCCD (or passport) chip from a PC/SC reader.

Prints the identity fields, each file's status, the Passive/Chip/Active
Authentication results with their reasons, and the APDU count, bytes and
time. Exit code 0 only when the chip was read; 1 when the read failed, 3
when the read worked but the data failed a cryptographic check (forged).

The identity is printed because the technician asked for it at the
reader; nothing is logged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

FIELDS = (
    "id_number", "full_name", "date_of_birth", "sex", "nationality", "ethnicity", "religion", "place_of_origin",
    "place_of_residence", "identifying_marks", "date_of_issue", "date_of_expiry", "father_name", "mother_name",
    "spouse_name", "old_id_number",
)  # fmt: skip
EXIT_READ_FAILED = 1
EXIT_FORGED = 3


def add_parser(sub: Any) -> None:
    p = sub.add_parser("read-card", help="read a chip card from a PC/SC reader and check it")
    p.add_argument("--reader", default="", help="part of the PC/SC reader name (default: the first)")
    key = p.add_mutually_exclusive_group(required=True)
    key.add_argument("--can", help="Card Access Number (CCCD: last 6 digits of the ID)")
    key.add_argument("--id", help="the 12-digit CCCD number (its CAN is used)")
    key.add_argument("--qr", help="the text of the card's front QR code")
    key.add_argument("--mrz", help="DOCNO,YYMMDD(birth),YYMMDD(expiry) for BAC / PACE-MRZ")
    p.add_argument("--face", action="store_true", help="also read the face (DG2) and run Active Authentication")
    p.add_argument("--trust", action="append", default=[], metavar="PATH",
                   help="CSCA certificate, master list or folder ('test' = the TEST PKI); repeatable")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a card")
    p.set_defaults(func=run)


@dataclass
class CountingTransport:
    """Counts APDUs and bytes both ways, and time spent in the exchange."""

    inner: Any
    apdus: int = 0
    sent: int = 0
    received: int = 0
    seconds: float = 0.0

    def transmit(self, apdu: bytes) -> bytes:
        start = time.perf_counter()
        try:
            answer: bytes = self.inner.transmit(apdu)
        finally:
            self.seconds += time.perf_counter() - start
        self.apdus += 1
        self.sent += len(apdu)
        self.received += len(answer)
        return answer

    def __getattr__(self, name: str) -> Any:
        # The reader's extras (atr, max_apdu_length, transaction) pass through.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def _yymmdd(text: str) -> date | None:
    if text == "<<<<<<":
        return None
    if len(text) != 6 or not text.isdigit():
        raise ValueError(f"{text!r} is not YYMMDD")
    year = int(text[:2])
    # Birth dates: a two-digit year later than this year is last century.
    year += 2000 if year <= date.today().year % 100 + 20 else 1900
    return date(year, int(text[2:4]), int(text[4:6]))


def access_keys(args: argparse.Namespace) -> list[Any]:
    """The keys to try, from whichever of --can/--id/--qr/--mrz was given."""
    from kiosk import cccd
    from kiosk.ports import CanKey, MrzKey
    from kiosk.qr import CccdQr, parse_qr

    if args.can:
        if not args.can.isdigit():
            raise ValueError("--can is digits only")
        return [CanKey(args.can)]
    if args.id:
        return [CanKey(cccd.can(args.id))]
    if args.qr:
        qr = parse_qr(args.qr)
        if not isinstance(qr, CccdQr):
            raise ValueError("--qr is not a CCCD front QR")
        return [CanKey(cccd.can(qr.id_number)), *cccd.mrz_keys_for(qr.id_number, qr.date_of_birth, qr.date_of_issue)]
    parts = [p.strip() for p in args.mrz.split(",")]
    if len(parts) != 3 or not parts[0]:
        raise ValueError("--mrz is DOCNO,YYMMDD,YYMMDD")
    birth = _yymmdd(parts[1])
    if birth is None:
        raise ValueError("--mrz needs a date of birth")
    if birth > date.today():
        birth = birth.replace(year=birth.year - 100)
    expiry = _yymmdd(parts[2])
    if expiry is not None and expiry.year < 2000:
        expiry = expiry.replace(year=expiry.year + 100)  # expiry dates are this century
    return [MrzKey(parts[0], birth, expiry)]


def trust_store(paths: list[str]) -> Any:
    from launcher.wiring import chip_trust_store

    return chip_trust_store(";".join(paths), "pcsc") if paths else None


def _value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def run(args: argparse.Namespace) -> int:
    from drivers.card.icao.reader import IcaoChipReader
    from drivers.card.pcsc import PcscCardReader
    from kiosk.errors import KioskError

    try:
        keys = access_keys(args)
        trust = trust_store(args.trust)
    except (ValueError, FileNotFoundError) as exc:
        print(f"kiosk read-card: {exc}", file=sys.stderr)
        return 2
    except KioskError as exc:
        print(f"kiosk read-card: {exc.code}: {exc}", file=sys.stderr)
        return 2

    report: dict[str, Any] = {"ok": False}
    chip_reader = IcaoChipReader(trust_store=trust)
    counter: CountingTransport | None = None
    start = time.perf_counter()
    try:
        reader = PcscCardReader(args.reader)
        if not reader.card_present() and not reader.wait_for_card(args.timeout):
            raise_no_card()
        counter = CountingTransport(reader.connect())
        result = chip_reader.read_identity(counter, keys, with_photo=args.face)
        citizen = result.citizen
        report.update(
            ok=True,
            verification=result.verification.value,
            identity={name: _value(getattr(citizen, name)) for name in FIELDS},
            photo_png_bytes=len(citizen.photo) if citizen.photo else None,
            notes=list(result.notes),
        )
    except KioskError as exc:
        report.update(error=exc.code, message=str(exc))
    finally:
        elapsed = time.perf_counter() - start
    pa = chip_reader.last_passive_auth
    report["access"] = chip_reader.last_access_protocol
    report["read_mode"] = chip_reader.last_read_mode
    report["files"] = chip_reader.last_files
    report["passive_authentication"] = {"status": pa.status.value, "reasons": list(pa.reasons)} if pa else None
    for name, res in (("chip_authentication", chip_reader.last_chip_auth), ("active_authentication", chip_reader.last_active_auth)):
        report[name] = {"status": res.status.value, "reason": res.reason} if res else None
    report["apdus"] = {
        "count": counter.apdus if counter else 0,
        "bytes_sent": counter.sent if counter else 0,
        "bytes_received": counter.received if counter else 0,
        "seconds_in_exchange": round(counter.seconds, 3) if counter else 0.0,
        "seconds_total": round(elapsed, 3),
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_text(report)
    if not report["ok"]:
        return EXIT_READ_FAILED
    return EXIT_FORGED if report["verification"] == "forged" else 0


def raise_no_card() -> None:
    from kiosk.errors import NoCardError

    raise NoCardError("no card on the reader")


def _print_text(report: dict[str, Any]) -> None:
    out = sys.stdout
    if report["ok"]:
        out.write(f"verification: {report['verification']}\n")
        for name, value in report["identity"].items():
            out.write(f"  {name}: {'' if value is None else value}\n")
    else:
        out.write(f"read FAILED: {report.get('error')}: {report.get('message')}\n")
    out.write(f"access: {report['access'] or '-'}\n")
    out.write(f"read mode: {report['read_mode'] or '-'}\n")
    out.write("files:\n")
    for name, status in report["files"].items():
        out.write(f"  {name}: {status}\n")
    for name in ("passive_authentication", "chip_authentication", "active_authentication"):
        value = report[name]
        if value is None:
            out.write(f"{name}: not performed\n")
        elif "reasons" in value:
            out.write(f"{name}: {value['status']}\n")
            for reason in value["reasons"]:
                out.write(f"  - {reason}\n")
        else:
            out.write(f"{name}: {value['status']}: {value['reason']}\n")
    a = report["apdus"]
    out.write(
        f"APDUs: {a['count']}, bytes sent {a['bytes_sent']}, received {a['bytes_received']}, "
        f"{a['seconds_in_exchange']} s in exchanges, {a['seconds_total']} s in all\n"
    )

