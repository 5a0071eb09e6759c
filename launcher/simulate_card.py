"""`kiosk simulate-card`: serve a simulated CCCD to pcscd's vpcd driver.

The chip then sits in a real PC/SC reader ("Virtual PCD"), so `kiosk
read-card`, the kiosk itself or any PC/SC tool reads it like a card on a
desk reader. Fault switches reproduce field behaviour (DOMAIN.md).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

PROFILES_HELP = "sample citizen slot (1-4) or 'citizen-N'"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("simulate-card", help="serve a simulated CCCD chip to pcscd's vpcd driver")
    p.add_argument("--vpcd", default="127.0.0.1:35963", help="vpcd HOST:PORT (default 127.0.0.1:35963)")
    p.add_argument("--profile", default="1", help=PROFILES_HELP)
    p.add_argument("--pace-refused", action="store_true", help="answer 6982 to PACE: readers must use BAC")
    p.add_argument("--no-pace", action="store_true", help="a BAC-only chip without EF.CardAccess")
    p.add_argument("--max-le", type=int, help="longest response the link carries (bytes, e.g. 64)")
    p.add_argument("--no-extended-length", action="store_true", help="refuse extended-length APDUs")
    p.add_argument("--tamper-dg", type=int, choices=(1, 2, 13), help="alter this data group after signing")
    p.add_argument("--cloned-keys", action="store_true", help="CA/AA keys that do not match DG14/DG15")
    p.add_argument("--aa", choices=("ecdsa", "rsa", "none"), default="ecdsa", help="Active Authentication key")
    p.add_argument("--tear-after", type=int, help="leave the field when APDU N+1 arrives")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added delay per APDU")
    p.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    p.set_defaults(func=run)


def profile_slot(profile: str) -> int:
    text = profile.removeprefix("citizen-")
    if not text.isdigit():
        raise SystemExit(f"kiosk simulate-card: unknown profile {profile!r} ({PROFILES_HELP})")
    return int(text)


def build_chip(args: argparse.Namespace) -> Any:
    from drivers.card.chip_sim import ChipFaults
    from drivers.card.samples import sample_chip

    faults = ChipFaults(
        lift_after_apdus=args.tear_after,
        max_response_length=args.max_le,
        pace_refused=args.pace_refused,
        cloned_keys=args.cloned_keys,
        latency_seconds=max(0.0, args.latency_ms) / 1000.0,
    )
    chip = sample_chip(
        profile_slot(args.profile),
        faults=faults,
        pace=not args.no_pace,
        extended_length=not args.no_extended_length,
        tampered_dg=args.tamper_dg,
        active_authentication=None if args.aa == "none" else args.aa,
    )
    return chip


def run(args: argparse.Namespace) -> int:
    from drivers.card.vpcd import VirtualCardBridge

    host, _, port = args.vpcd.rpartition(":")
    if not host or not port.isdigit():
        print("kiosk simulate-card: --vpcd must be HOST:PORT", file=sys.stderr)
        return 2
    chip = build_chip(args)
    bridge = VirtualCardBridge(chip, host=host, port=int(port))
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bridge.start()
    print(f"simulated card {args.profile} served to vpcd at {host}:{port}", flush=True)
    try:
        stop.wait(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stop()
    print(f"stopped after {chip.apdu_count} APDUs", flush=True)
    return 0
