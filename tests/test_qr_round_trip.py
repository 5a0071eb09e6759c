"""Every kind of code the kiosk knows, the whole way round:
text → qrcode → PNG file → camera frame → zxing-cpp → parse_qr → the same fields.

The VNeID code goes one step further, to the hub over HTTP, since only the
hub may say whose it is.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_M

from drivers.camera.decoder import ZxingQrDecoder
from drivers.camera.scanner import QrScanner, decode_image_file
from drivers.camera.simulated import SimulatedCamera, load_rgb
from drivers.hub.simulated import InMemoryHubClient
from kiosk.domain import IdentitySource, Sex
from kiosk.qr import BhytQr, CccdQr, HubCode, HubCodeKind, VietQr, VneidToken, build_vietqr, parse_qr
from server.vneid import simulated_token

CCCD = "001058012345|011234567|NGUYỄN VĂN AN|02071958|Nam|Số 12 Ngõ 45 Phố Hào Nam, Phường Ô Chợ Dừa, Quận Đống Đa, Hà Nội|10042021"
BHYT = "|".join(
    [
        "HT2010123456789",
        "NGUYỄN VĂN AN".encode().hex(),
        "02/07/1958",
        "1",
        "Số 12 Ngõ 45 Phố Hào Nam, Đống Đa, Hà Nội".encode().hex(),
        "01 - 001",
        "01/01/2026",
        "-",
        "$",
    ]
)


def png_of(text: str, path: Path, box: int = 4) -> Path:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box, border=4)
    code.add_data(text.encode("utf-8"))  # byte mode, no ECI: as the cards print it
    code.make(fit=True)
    code.make_image().get_image().convert("RGB").save(path)
    return path


def check_cccd(code) -> None:  # noqa: ANN001
    assert isinstance(code, CccdQr)
    assert (code.id_number, code.full_name, code.sex) == ("001058012345", "NGUYỄN VĂN AN", Sex.MALE)
    assert code.date_of_birth.isoformat() == "1958-07-02" and code.date_of_issue.isoformat() == "2021-04-10"
    assert code.address.startswith("Số 12 Ngõ 45 Phố Hào Nam")


def check_bhyt(code) -> None:  # noqa: ANN001
    assert isinstance(code, BhytQr)
    assert code.card_code == "HT2010123456789" and code.full_name == "NGUYỄN VĂN AN"
    assert code.date_of_birth.isoformat() == "1958-07-02"


def check_vietqr(code) -> None:  # noqa: ANN001
    assert isinstance(code, VietQr) and code.crc_ok
    assert (code.bank_bin, code.account, code.amount) == ("970436", "0011001234567", 42100)


CASES = [
    ("cccd", CCCD, check_cccd),
    ("bhyt", BHYT, check_bhyt),
    ("vietqr", build_vietqr("970436", "0011001234567", 42100, "KHAM BENH A012"), check_vietqr),
    ("appointment", HubCode(HubCodeKind.APPOINTMENT, "HEN-2026-0042").qr_text(), lambda c: c == HubCode(HubCodeKind.APPOINTMENT, "HEN-2026-0042")),
]


@pytest.mark.parametrize(("kind", "text", "check"), CASES, ids=[c[0] for c in CASES])
def test_image_file_to_parsed_fields(tmp_path: Path, kind: str, text: str, check) -> None:
    path = png_of(text, tmp_path / f"{kind}.png")
    (decoded,) = decode_image_file(path)
    assert decoded == text
    result = parse_qr(decoded)
    assert check(result) is not False


@pytest.mark.parametrize(("kind", "text", "check"), CASES, ids=[c[0] for c in CASES])
def test_the_same_codes_through_a_camera_frame(tmp_path: Path, kind: str, text: str, check) -> None:
    # The symbol small and off-centre in a dim 720p frame, as a webcam sees a card.
    symbol = load_rgb(png_of(text, tmp_path / f"{kind}.png", box=3))
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[200 : 200 + symbol.shape[0], 700 : 700 + symbol.shape[1]] = symbol // 2 + 60
    assert check(parse_qr(ZxingQrDecoder().decode(frame)[0])) is not False


def test_a_vneid_code_is_only_a_token_until_the_hub_resolves_it(tmp_path: Path) -> None:
    now = time.time()
    token = simulated_token(2, now)
    (decoded,) = decode_image_file(png_of(token, tmp_path / "vneid.png"))
    code = parse_qr(decoded)
    assert code == VneidToken(token)  # nothing but the opaque text
    hub = InMemoryHubClient()
    hub.vneid_clock = lambda: now
    identity = hub.verify_vneid(code.token)
    assert identity.source is IdentitySource.VNEID and identity.citizen.id_number


def test_a_folder_of_photographed_codes_through_the_scanner_worker(tmp_path: Path) -> None:
    """Files → SimulatedCamera(folder) → QrScanner thread → every payload once."""
    folder = tmp_path / "shots"
    folder.mkdir()
    for i, (kind, text, _check) in enumerate(CASES):
        png_of(text, folder / f"{i}-{kind}.png")
    seen: list[str] = []
    camera = SimulatedCamera(folder, fps=30)
    scanner = QrScanner(camera, ZxingQrDecoder(), seen.append, interval=0.0, dedupe_window=3600)
    camera.start()
    scanner.start()
    try:
        deadline = time.monotonic() + 30
        while len(set(seen)) < len(CASES) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scanner.stop()
        camera.stop()
    assert sorted(set(seen)) == sorted(text for _, text, _ in CASES)
    assert len(seen) == len(set(seen))  # each delivered once while it stays in view
    for text in seen:
        parse_qr(text)  # every one parses
