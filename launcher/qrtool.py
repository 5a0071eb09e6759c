"""`kiosk decode-qr`: what the kiosk would make of the QR codes in image files.

One record per image (`kind` is none/invalid with a `reason` when nothing
usable is found), with the field names other tools expect, so a technician can check
a photographed card or a batch of test images from a shell.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.errors import QrRejected
from kiosk.qr import BhytQr, CccdQr, HubCode, VietQr, VneidToken, parse_qr


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def describe(code: object) -> dict[str, Any]:
    if isinstance(code, CccdQr):
        return {
            "kind": "cccd",
            "id_number": code.id_number,
            "old_id_number": code.old_id_number,
            "full_name": code.full_name,
            "date_of_birth": _iso(code.date_of_birth),
            "sex": code.sex.label_en.lower(),
            "address": code.address,
            "date_of_issue": _iso(code.date_of_issue),
        }
    if isinstance(code, BhytQr):
        return {
            "kind": "bhyt",
            "card_code": code.card_code,
            "full_name": code.full_name,
            "date_of_birth": _iso(code.date_of_birth),
            "sex": code.sex.label_en.lower(),
            "address": code.address,
            "facility_code": code.facility_code,
            "valid_from": _iso(code.valid_from),
        }
    if isinstance(code, VietQr):
        return {
            "kind": "vietqr",
            "bank_bin": code.bank_bin,
            "account": code.account,
            "amount": code.amount,
            "purpose": code.purpose,
            "crc_ok": code.crc_ok,
        }
    if isinstance(code, VneidToken):
        # Opaque: only the hub's verifier may interpret it.
        return {"kind": "vneid"}
    if isinstance(code, HubCode):
        return {"kind": "appointment", "code_kind": code.kind.value, "code": code.id}
    raise TypeError(type(code).__name__)


def decode_files(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    from drivers.camera.scanner import decode_image_file

    for path in paths:
        record: dict[str, Any] = {"file": str(path)}
        try:
            payloads = decode_image_file(path)
        except OSError as exc:
            record.update(kind="none", reason=f"cannot read image: {exc.strerror or exc}", error=True)
            yield record
            continue
        if not payloads:
            record.update(kind="none", reason="no QR code found", error=True)
            yield record
            continue
        try:
            record.update(describe(parse_qr(payloads[0])))
        except QrRejected as exc:
            record.update(kind="invalid", reason=exc.reason, error=True)
        if len(payloads) > 1:
            record["other_codes"] = len(payloads) - 1
        yield record
