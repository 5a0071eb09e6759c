"""Reading a CCCD chip: APDUs, bytes and modelled time per read strategy.

    .venv/bin/python bench/chip_read.py           # every sample citizen (a few seconds)
    .venv/bin/python bench/chip_read.py --quick   # one citizen (the suite's smoke run)

The production IcaoChipReader reads a SimulatedCccdChip in process (PACE-CAN
on brainpoolP256r1, AES secure messaging), through a transport that counts
APDUs and bytes both ways. Two reads:

* identity read: EF.CardAccess, PACE, DG14 + Chip Authentication, DG1,
  DG13, EF.SOD + Passive Authentication (what the check-in flow needs);
* full read: the same plus DG2 (the face) and DG15 + Active Authentication.

Strategies compared, on the same chip:

* BASELINE "fixed 223": 223-byte (0xDF) READ BINARYs, the common default
  (JMRTD) and the largest short read under AES SM;
* "automatic": this reader as the kiosk runs it (read_size=None). The chip
  announces extended length in EF.ATR/INFO, so after reading that file in
  the clear it reads each EF as a 4-byte header probe plus one extended
  READ BINARY;
* "auto, short card": the same reader on a chip made with the "no extended
  length" switch: EF.ATR/INFO says no, so 223-byte reads, plus the cost of
  asking;
* "floor": the physical minimum for the same files, one SELECT and one
  extended-length READ BINARY per file, plus the protocol APDUs the reads
  really needed (EF.CardAccess, PACE, CA, AA), computed from the SM encoding.

The issue sizes the face at about 12 KB; the sample faces are 6-9 KB, so
each is padded to FACE_BYTES with a JPEG comment segment (COM, ISO/IEC
10918-1 B.2.4.5: decoders skip it), which keeps it a valid JPEG.

Time is modelled, not measured: bytes at 424 kbit/s (ISO/IEC 14443 at its
highest standard rate) plus 5 ms per APDU for the reader and the chip.
The result is the ratios; absolute times depend on the reader and card.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.card.icao import tlv  # noqa: E402
from drivers.card.icao.apdu import CommandApdu  # noqa: E402
from drivers.card.icao.reader import IcaoChipReader  # noqa: E402
from drivers.card.icao.sm import AesSm, SecureMessaging  # noqa: E402
from drivers.card.chip_sim import SimulatedCccdChip  # noqa: E402
from drivers.card.samples import sample_citizen, sample_citizens, sample_face  # noqa: E402
from drivers.card.simulated import SimulatedCardReader  # noqa: E402
from kiosk import cccd  # noqa: E402
from kiosk.ports import CanKey  # noqa: E402

BITS_PER_SECOND = 424_000
PER_APDU_SECONDS = 0.005
FIXED_SHORT = 0xDF
AUTOMATIC = None
FACE_BYTES = 12_000


def padded_face(jpeg: bytes | None, size: int = FACE_BYTES) -> bytes | None:
    """`jpeg` grown to about `size` bytes by COM segments right after SOI."""
    if jpeg is None or len(jpeg) >= size or jpeg[:2] != b"\xff\xd8":
        return jpeg
    missing = size - len(jpeg)
    segments = b""
    while missing > 4:
        body = min(missing - 4, 0xFFFF - 2)  # the length field counts itself
        segments += b"\xff\xfe" + (body + 2).to_bytes(2, "big") + b"\x00" * body
        missing -= body + 4
    return jpeg[:2] + segments + jpeg[2:]


@dataclass
class Tally:
    apdus: int = 0
    bytes: int = 0
    protocol_apdus: int = 0  # everything but file SELECT / READ BINARY under SM
    protocol_bytes: int = 0
    files: dict[str, int] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.bytes * 8 / BITS_PER_SECOND + self.apdus * PER_APDU_SECONDS


class Counting:
    def __init__(self, inner: object, tally: Tally) -> None:
        self.inner = inner
        self.tally = tally

    def transmit(self, apdu: bytes) -> bytes:
        answer: bytes = self.inner.transmit(apdu)  # type: ignore[attr-defined]
        size = len(apdu) + len(answer)
        self.tally.apdus += 1
        self.tally.bytes += size
        file_io = apdu[0] & 0x0C and (apdu[1] in (0xB0, 0xB1) or (apdu[1] == 0xA4 and apdu[2] == 0x02))
        if not file_io:
            self.tally.protocol_apdus += 1
            self.tally.protocol_bytes += size
        return answer


def read(slot: int, read_size: int | None, *, full: bool, extended_card: bool = True) -> Tally:
    chip = SimulatedCccdChip.from_citizen(
        sample_citizen(slot), padded_face(sample_face(slot)), extended_length=extended_card
    )
    reader = SimulatedCardReader()
    reader.place(chip)
    tally = Tally()
    chip_reader = IcaoChipReader(read_size=read_size)
    key = CanKey(cccd.can(sample_citizen(slot)["id_number"]))
    chip_reader.read_identity(Counting(reader.connect(), tally), [key], with_photo=full)
    for name, status in chip_reader.last_files.items():
        if status.startswith("read, "):
            tally.files[name] = int(status.split()[1])
    return tally


def floor(measured: Tally) -> Tally:
    """One SELECT and one extended READ BINARY per file, AES SM encoding."""
    sm = SecureMessaging(AesSm(bytes(16), bytes(16)), 0)
    out = Tally(apdus=measured.protocol_apdus, bytes=measured.protocol_bytes, files=dict(measured.files))
    trailer = len(tlv.encode(0x99, b"\x90\x00")) + len(tlv.encode(0x8E, bytes(8))) + 2
    for size in measured.files.values():
        select = sm.protect(CommandApdu(0x00, 0xA4, 0x02, 0x0C, data=b"\x01\x01")).to_bytes()
        read_cmd = sm.protect(CommandApdu(0x00, 0xB0, 0x00, 0x00, ne=size, force_extended=True)).to_bytes()
        padded = (size // 16 + 1) * 16
        response = len(tlv.encode(0x87, bytes(1 + padded))) + trailer
        out.apdus += 2
        out.bytes += len(select) + trailer + len(read_cmd) + response
    return out


def _ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}x" if b else "   - "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one citizen only")
    args = parser.parse_args(argv)
    slots = [c["slot"] for c in sample_citizens()][:1 if args.quick else None]

    print("Chip read cost per strategy (modelled: 424 kbit/s + 5 ms per APDU)")
    print(f"{'read':<9} {'citizen':>7} {'strategy':<18} {'APDUs':>6} {'bytes':>7} {'time ms':>8}"
          f"  {'vs fixed 223':>12} {'vs floor':>9}")  # fmt: skip
    summary: dict[str, list[tuple[Tally, Tally, Tally, Tally]]] = {"identity": [], "full": []}
    for kind, full in (("identity", False), ("full", True)):
        for slot in slots:
            fixed = read(slot, FIXED_SHORT, full=full)
            adaptive = read(slot, AUTOMATIC, full=full)
            short_card = read(slot, AUTOMATIC, full=full, extended_card=False)
            best = floor(fixed)  # the fixed read asks nothing beyond what the files need
            summary[kind].append((fixed, adaptive, best, short_card))
            rows = (("fixed 223", fixed), ("automatic", adaptive), ("auto, short card", short_card), ("floor", best))
            for name, t in rows:
                print(f"{kind:<9} {slot:>7} {name:<18} {t.apdus:>6} {t.bytes:>7} {t.seconds * 1000:>8.0f}"
                      f"  {_ratio(t.seconds, fixed.seconds):>12} {_ratio(t.seconds, best.seconds):>9}")  # fmt: skip
        if full:
            dg2 = [f.files.get("DG2", 0) for f, _, _, _ in summary[kind]]
            print(f"  (DG2 sizes: {', '.join(str(s) for s in dg2)} bytes)")

    print()
    print("Result: modelled time as a ratio (lower is faster), mean over citizens")
    for kind, rows in summary.items():
        fixed_s = sum(r[0].seconds for r in rows) / len(rows)
        adaptive_s = sum(r[1].seconds for r in rows) / len(rows)
        floor_s = sum(r[2].seconds for r in rows) / len(rows)
        short_s = sum(r[3].seconds for r in rows) / len(rows)
        fixed_a = sum(r[0].apdus for r in rows) / len(rows)
        adaptive_a = sum(r[1].apdus for r in rows) / len(rows)
        print(f"  {kind:<8} automatic / fixed 223 = {adaptive_s / fixed_s:.2f}x time, "
              f"{adaptive_a / fixed_a:.2f}x APDUs; automatic / floor = {adaptive_s / floor_s:.2f}x; "
              f"fixed 223 / floor = {fixed_s / floor_s:.2f}x; "
              f"auto on a short-only card / fixed 223 = {short_s / fixed_s:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
