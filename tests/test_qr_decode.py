"""drivers.camera.decoder and decode_image_file: camera pictures to QR text.

Every QR image is generated here, from known text, and placed in a camera-
sized frame the way a card or phone would appear: small, turned, dim, noisy.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest
import qrcode
from PIL import Image, ImageFilter
from qrcode.constants import ERROR_CORRECT_M

from drivers.camera.decoder import (
    FirstSuccessQrDecoder,
    OpenCvQrDecoder,
    ZxingQrDecoder,
    default_decoder,
    to_grayscale,
)
from drivers.camera.scanner import decode_image_file
from drivers.camera.simulated import load_rgb
from kiosk.qr import CccdQr, parse_qr

CCCD = (
    "079190004567||TRẦN THỊ BÌNH|20111990|Nữ|"
    "45/7 Nguyễn Đình Chiểu, Phường Đa Kao, Quận 1, TP. Hồ Chí Minh|10052021"
)
VIETNAMESE = [
    CCCD,
    "Lê",  # also valid ISO-8859-1 bytes ("LÃª"): must not be guessed as such
    "Nữ",
    "Đặng Thị Ngọc Hương – Phường Ô Chợ Dừa, Quận Đống Đa",
    "Ỷ Lan ỹ Ỹ ửa ỢỚ ẵ",
]

W, H = 1280, 720


def qr_image(text: str | bytes, box: int = 4, border: int = 4) -> Image.Image:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box, border=border)
    code.add_data(text.encode("utf-8") if isinstance(text, str) else text)
    code.make(fit=True)
    return code.make_image().get_image().convert("L")


def in_frame(symbol: Image.Image, at: tuple[int, int] = (500, 200), background: int = 140) -> np.ndarray:
    scene = Image.new("RGB", (W, H), (background, background, background))
    scene.paste(symbol.convert("RGB"), at)
    return np.asarray(scene).copy()


@pytest.fixture(scope="module")
def zxing() -> ZxingQrDecoder:
    return ZxingQrDecoder()


@pytest.mark.parametrize("text", VIETNAMESE)
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_vietnamese_text_comes_through_exactly_and_composed(zxing: ZxingQrDecoder, text: str, form: str) -> None:
    frame = in_frame(qr_image(unicodedata.normalize(form, text)))
    assert zxing.decode(frame) == [unicodedata.normalize("NFC", text)]


def test_decoded_cccd_qr_parses(zxing: ZxingQrDecoder) -> None:
    (payload,) = zxing.decode(in_frame(qr_image(CCCD)))
    qr = parse_qr(payload)
    assert isinstance(qr, CccdQr) and qr.full_name == "TRẦN THỊ BÌNH"


def test_latin1_without_eci_falls_back_to_the_decoder_reading(zxing: ZxingQrDecoder) -> None:
    # Bytes that are not UTF-8 are not forced through it.
    frame = in_frame(qr_image("café crème".encode("latin-1")))
    assert zxing.decode(frame) == ["café crème"]


def test_small_symbol_at_two_pixels_per_module(zxing: ZxingQrDecoder) -> None:
    symbol = qr_image(CCCD, box=2)
    assert symbol.width < 130  # a card a metre from the camera
    assert zxing.decode(in_frame(symbol, at=(1000, 560))) == [CCCD]


@pytest.mark.parametrize("angle", [17, 45, 90, 180, 250])
def test_rotated_symbol(zxing: ZxingQrDecoder, angle: int) -> None:
    symbol = qr_image(CCCD, box=4).rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    assert zxing.decode(in_frame(symbol)) == [CCCD]


def test_low_contrast_noisy_blurred_frame(zxing: ZxingQrDecoder) -> None:
    symbol = np.asarray(qr_image(CCCD, box=4), dtype=np.float32) / 255.0
    # Dark modules at 105, light at 150: a dim kiosk, a glossy card.
    dim = Image.fromarray((105 + symbol * 45).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    frame = in_frame(dim, background=128).astype(np.float32)
    frame += np.random.default_rng(7).normal(0.0, 8.0, frame.shape)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    assert zxing.decode(frame) == [CCCD]


def test_inverted_symbol_from_a_dark_mode_phone(zxing: ZxingQrDecoder) -> None:
    inverted = Image.eval(qr_image("VNEID:" + "Q" * 40), lambda v: 255 - v)
    assert zxing.decode(in_frame(inverted, background=20)) == ["VNEID:" + "Q" * 40]


def test_two_codes_in_one_frame_and_duplicates_reported_once(zxing: ZxingQrDecoder) -> None:
    scene = Image.new("RGB", (W, H), (140, 140, 140))
    scene.paste(qr_image("VNKIOSK:APPT:A1").convert("RGB"), (100, 100))
    scene.paste(qr_image("VNKIOSK:REF:B2").convert("RGB"), (800, 100))
    scene.paste(qr_image("VNKIOSK:REF:B2").convert("RGB"), (800, 420))
    assert sorted(zxing.decode(np.asarray(scene))) == ["VNKIOSK:APPT:A1", "VNKIOSK:REF:B2"]


def test_non_qr_pictures_yield_nothing(zxing: ZxingQrDecoder) -> None:
    rng = np.random.default_rng(3)
    assert zxing.decode(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)) == []
    assert zxing.decode(np.full((H, W, 3), 200, dtype=np.uint8)) == []
    # A QR whose middle is torn away, beyond what error correction repairs.
    torn = np.asarray(qr_image(CCCD, box=4)).copy()
    h, w = torn.shape
    torn[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = rng.integers(0, 2, (3 * h // 4 - h // 4, 3 * w // 4 - w // 4)) * 255
    assert zxing.decode(in_frame(Image.fromarray(torn))) == []


def test_grayscale_conversion_accepts_gray_rgb_and_rgba() -> None:
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # pure red
    gray = to_grayscale(rgb)
    assert gray.shape == (4, 5) and gray.dtype == np.uint8
    assert 70 <= int(gray[0, 0]) <= 80  # BT.601: 0.299 * 255, red is not read as blue
    rgba = np.dstack([rgb, np.full((4, 5), 255, np.uint8)])
    assert np.array_equal(to_grayscale(rgba), gray)
    assert to_grayscale(gray[:, ::2]).flags["C_CONTIGUOUS"]
    with pytest.raises(ValueError):
        to_grayscale(np.zeros((4, 5, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        to_grayscale(np.zeros((4, 5, 2), dtype=np.uint8))


def test_opencv_fallback_decodes_a_plain_symbol() -> None:
    decoder = OpenCvQrDecoder()
    assert decoder.decode(in_frame(qr_image(CCCD, box=6), at=(300, 40), background=255)) == [CCCD]
    assert decoder.decode(np.full((H, W, 3), 200, dtype=np.uint8)) == []


class _Fixed:
    def __init__(self, answer: list[str]) -> None:
        self.answer = answer
        self.calls = 0

    def decode(self, frame: object) -> list[str]:
        self.calls += 1
        return self.answer


def test_first_success_chain_asks_the_next_decoder_only_when_needed() -> None:
    first, second = _Fixed([]), _Fixed(["x"])
    chain = FirstSuccessQrDecoder([first, second])
    assert chain.decode(None) == ["x"]
    assert (first.calls, second.calls) == (1, 1)
    first.answer = ["y"]
    assert chain.decode(None) == ["y"]
    assert second.calls == 1
    with pytest.raises(ValueError):
        FirstSuccessQrDecoder([])


def test_default_decoder_is_zxing_when_installed() -> None:
    assert ZxingQrDecoder.is_usable()
    assert isinstance(default_decoder(), ZxingQrDecoder)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_decode_image_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"card{suffix}"
    Image.fromarray(in_frame(qr_image(CCCD, box=5))).save(path, quality=90)
    assert decode_image_file(path) == [CCCD]


def test_image_files_are_loaded_upright_by_their_exif_orientation(tmp_path: Path) -> None:
    # A phone photo stored sideways with the EXIF tag "rotate 90° clockwise
    # to display": a red mark on the left of the scene must come back left.
    upright = np.full((100, 300, 3), 255, dtype=np.uint8)
    upright[:, :20] = (255, 0, 0)
    stored = Image.fromarray(upright).rotate(90, expand=True)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "photo.png"
    stored.save(path, exif=exif)
    loaded = load_rgb(path)
    assert loaded.shape == (100, 300, 3)
    assert tuple(loaded[50, 5]) == (255, 0, 0) and tuple(loaded[50, 295]) == (255, 255, 255)


def test_decode_image_file_errors(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        decode_image_file(tmp_path / "missing.png")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    with pytest.raises(OSError):
        decode_image_file(not_an_image)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (64, 64), "white").save(blank)
    assert decode_image_file(blank) == []
