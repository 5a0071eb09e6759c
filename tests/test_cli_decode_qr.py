"""`kiosk decode-qr`: one JSON object per image, none/invalid with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import qrcode

from launcher.cli import main

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "qr"


def run(capsys, *args: str) -> tuple[int, list[dict]]:
    status = main(["decode-qr", "--json", *args])
    lines = capsys.readouterr().out.strip().splitlines()
    return status, [json.loads(line) for line in lines]


def test_sample_codes_decode_with_their_fields(capsys):
    status, records = run(capsys, str(ASSETS / "cccd-1.png"), str(ASSETS / "bhyt-2.png"), str(ASSETS / "vietqr-example.png"))
    assert status == 0
    cccd, bhyt, vietqr = records
    assert cccd["kind"] == "cccd" and cccd["id_number"] == "001058012345"
    assert cccd["full_name"] == "NGUYỄN VĂN AN" and cccd["date_of_birth"] == "1958-07-02"
    assert bhyt["kind"] == "bhyt" and bhyt["card_code"] == "DN4797924004567"
    assert vietqr["kind"] == "vietqr" and vietqr["crc_ok"] is True and vietqr["amount"] == 180000


def test_no_code_invalid_code_and_unreadable_file(capsys, tmp_path):
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), "white").save(blank)
    junk = tmp_path / "junk.png"
    qrcode.make("hello there").save(junk)
    missing = tmp_path / "missing.png"
    status, records = run(capsys, str(blank), str(junk), str(missing))
    assert status == 1
    assert [r["kind"] for r in records] == ["none", "invalid", "none"]
    assert all(r["reason"] for r in records)
