"""assets/qr: sample QR images for `kiosk decode-qr`, the demo and technicians.

The images are generated from the sample citizens by running this file:

    .venv/bin/python tests/test_qr_assets.py

The test checks that every image still decodes to the text it was made from
and that the text parses to the sample citizen's data. BHYT validity dates,
facility codes and check strings are synthetic; the layout is the one
documented in kiosk/qr.py.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from drivers.camera.scanner import decode_image_file
from kiosk.domain import Sex
from kiosk.qr import BhytQr, CccdQr, HubCode, HubCodeKind, VietQr, build_vietqr, parse_qr

ROOT = Path(__file__).resolve().parent.parent

ASSETS = ROOT / "assets" / "qr"
CITIZENS = ROOT / "assets" / "citizens"


def _citizens() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CITIZENS.glob("citizen-*.json"))]


def _cccd(c: dict) -> str:
    def dmy(iso: str) -> str:
        return date.fromisoformat(iso).strftime("%d%m%Y")

    return "|".join(
        [
            c["id_number"],
            c["old_id_number"],
            c["full_name"],
            dmy(c["date_of_birth"]),
            c["sex"],
            c["place_of_residence"],
            dmy(c["date_of_issue"]),
        ]
    )


def _bhyt(c: dict) -> str:
    code = c["bhyt_card_code"]
    province = code[3:5]
    dob = date.fromisoformat(c["date_of_birth"])
    return BhytQr(
        card_code=code,
        full_name=c["full_name"],
        date_of_birth=dob,
        birth_year=dob.year,
        sex=Sex.from_vietnamese(c["sex"]),
        address=c["place_of_residence"],
        # The simulated gateway's rule: province 01 cards at the hospital 01001.
        facility_code=f"{province}001" if province == "01" else f"{province}024",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        date_of_issue=date(2025, 12, 15),
        management_code=f"{province}{code[-10:]}",
        five_years_continuous_from=date(2028, 1, 1),
        check_code=f"{int(code[-10:]) * 7919 % 16**16:016x}-{c['slot']:04d}",
        issuing_office="Bảo hiểm xã hội (mẫu)",
    ).qr_text()


def expected_payloads() -> dict[str, str]:
    """File name -> the text its QR carries."""
    payloads: dict[str, str] = {}
    for c in _citizens():
        payloads[f"cccd-{c['slot']}.png"] = _cccd(c)
        if c.get("bhyt_card_code"):
            payloads[f"bhyt-{c['slot']}.png"] = _bhyt(c)
    payloads["vietqr-example.png"] = build_vietqr(
        "970403", "0011012345678", 180000, "thanh toan don hang", bill_number="NPS6869"
    )
    payloads["appointment.png"] = HubCode(HubCodeKind.APPOINTMENT, "TK-2026-000123").qr_text()
    return payloads


def generate() -> None:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    ASSETS.mkdir(parents=True, exist_ok=True)
    for name, text in expected_payloads().items():
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=6, border=4)
        code.add_data(text.encode("utf-8"))  # byte mode, UTF-8, no ECI: as the cards
        code.make(fit=True)
        code.make_image().get_image().convert("1").save(ASSETS / name, optimize=True)
        print(ASSETS / name)


@pytest.mark.parametrize("name", sorted(expected_payloads()))
def test_sample_image_decodes_to_its_text(name: str) -> None:
    assert decode_image_file(ASSETS / name) == [expected_payloads()[name]]


@pytest.mark.parametrize("citizen", _citizens(), ids=lambda c: f"citizen-{c['slot']}")
def test_sample_images_parse_to_the_citizen(citizen: dict) -> None:
    (text,) = decode_image_file(ASSETS / f"cccd-{citizen['slot']}.png")
    cccd = parse_qr(text)
    assert isinstance(cccd, CccdQr)
    assert (cccd.id_number, cccd.full_name) == (citizen["id_number"], citizen["full_name"])
    if citizen.get("bhyt_card_code"):
        (text,) = decode_image_file(ASSETS / f"bhyt-{citizen['slot']}.png")
        bhyt = parse_qr(text)
        assert isinstance(bhyt, BhytQr)
        assert bhyt.card_code == citizen["bhyt_card_code"]
        assert bhyt.full_name == citizen["full_name"]
        assert bhyt.date_of_birth == date.fromisoformat(citizen["date_of_birth"])
        assert bhyt.sex is Sex.from_vietnamese(citizen["sex"])
        assert bhyt.address == citizen["place_of_residence"]


def test_the_vietqr_sample_is_the_known_good_example() -> None:
    (text,) = decode_image_file(ASSETS / "vietqr-example.png")
    qr = parse_qr(text)
    assert isinstance(qr, VietQr) and qr.crc_ok and text.endswith("2E2E")


if __name__ == "__main__":
    generate()
