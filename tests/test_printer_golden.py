"""The exact ESC/POS bytes of the sample ticket, against a golden file.

The golden file is what a real printer receives for drivers.printer.sample's
ticket, rendered with Noto Sans. It changes, legitimately, when the ticket
layout, the rasterizer, the font package or Qt's text shaping changes. To
regenerate it after checking the new rendering by eye:

    KIOSK_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_printer_golden.py

then look at the tests/golden/*.png files (written beside them) before
committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drivers.printer.escpos_printer import escpos_ticket_bytes
from drivers.printer.raster import WIDTH_58MM, WIDTH_80MM, TicketRasterizer
from drivers.printer.raster_decode import decode_escpos_raster, stack_vertically
from drivers.camera.decoder import ZxingQrDecoder
from drivers.printer.sample import SAMPLE_PAYMENT, sample_fee_paying_layout, sample_layout
from kiosk.qr import VietQr, parse_qr

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FONT = "Noto Sans"


@pytest.fixture(scope="module")
def rasterizer(qapp) -> TicketRasterizer:
    r = TicketRasterizer(WIDTH_80MM)
    # fonts-noto-core is one of the Makefile's system packages.
    assert r.font_family == GOLDEN_FONT, (
        f"golden bytes were made with {GOLDEN_FONT!r}; this machine renders with {r.font_family!r}"
    )
    return r


# Each golden ticket: the layout, and the name of its .bin/.png pair. The
# fee-paying one carries a VietQR, which must still scan from the raster.
GOLDENS = {
    "ticket-A-012-80mm": sample_layout,
    "ticket-A-012-vietqr-80mm": sample_fee_paying_layout,
}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_ticket_bytes_match_golden(rasterizer, name):
    golden_bin, golden_png = GOLDEN / f"{name}.bin", GOLDEN / f"{name}.png"
    image = rasterizer.render(GOLDENS[name]())
    data = escpos_ticket_bytes(image)
    if os.environ.get("KIOSK_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        golden_bin.write_bytes(data)
        image.save(golden_png, dpi=(203, 203))
    assert golden_bin.exists(), "no golden file yet: run with KIOSK_UPDATE_GOLDEN=1"
    expected = golden_bin.read_bytes()
    if data != expected:
        # Say where, in printer terms, rather than dumping 100 kB of bytes.
        first = next(i for i, (a, b) in enumerate(zip(data, expected, strict=False)) if a != b) if len(data) == len(expected) else None
        pytest.fail(
            f"ESC/POS bytes differ from {golden_bin.name}: {len(data)} vs {len(expected)} bytes"
            + (f", first difference at offset {first}" if first is not None else "")
            + ". If the change is intended, regenerate (see module docstring) and look at the PNG."
        )


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_golden_png_is_the_golden_raster(name):
    # The PNG beside the golden file is for people; make sure it shows the bytes.
    golden_png = GOLDEN / f"{name}.png"
    assert golden_png.exists(), "regenerate the golden files (see module docstring)"
    decoded = stack_vertically(decode_escpos_raster((GOLDEN / f"{name}.bin").read_bytes()))
    assert decoded.tobytes() == Image.open(golden_png).convert("1").tobytes()


def test_vietqr_decodes_from_the_golden_raster():
    # A golden file that printed an unscannable code would be worse than none.
    decoded = stack_vertically(decode_escpos_raster((GOLDEN / "ticket-A-012-vietqr-80mm.bin").read_bytes()))
    frame = np.stack([np.asarray(decoded.convert("L"))] * 3, axis=-1)
    codes = [parse_qr(t) for t in ZxingQrDecoder().decode(frame) if t.startswith("000201")]
    assert len(codes) == 1
    code = codes[0]
    assert isinstance(code, VietQr) and code.crc_ok and code.dynamic
    assert (code.bank_bin, code.account, code.amount) == (SAMPLE_PAYMENT.bank_bin, SAMPLE_PAYMENT.account, 150_000)


def test_command_structure(rasterizer):
    image = rasterizer.render(sample_layout())
    data = escpos_ticket_bytes(image)
    assert data.startswith(b"\x1b@")  # ESC @: reset whatever the last job left
    assert data[2:6] == b"\x1dv0\x00"  # GS v 0, normal density: 1 pixel = 1 dot
    assert data.endswith(b"\x1bd\x06\x1dV\x00")  # feed past the cutter, then full cut
    width_bytes = data[6] | data[7] << 8
    assert width_bytes * 8 == 576


@pytest.mark.parametrize("width", [WIDTH_80MM, WIDTH_58MM])
def test_decoded_raster_equals_the_render_pixel_for_pixel(qapp, width):
    image = TicketRasterizer(width).render(sample_layout())
    blocks = decode_escpos_raster(escpos_ticket_bytes(image))
    # Tall tickets are sent as several GS v 0 blocks printed back to back.
    assert len(blocks) == -(-image.height // 960)
    assert all(b.width == width for b in blocks)
    decoded = stack_vertically(blocks)
    assert decoded.size == image.size
    assert np.array_equal(np.asarray(decoded), np.asarray(image))


def test_partial_cut_uses_gs_v_1(rasterizer):
    data = escpos_ticket_bytes(rasterizer.render(sample_layout()), cut="PART")
    assert data.endswith(b"\x1bd\x06\x1dV\x01")


def test_grey_image_is_refused():
    with pytest.raises(ValueError):
        escpos_ticket_bytes(Image.new("L", (576, 10), 128))


def test_decoder_walks_commands_instead_of_searching():
    # An image whose data contains the GS v 0 prefix itself must not confuse it.
    row = b"\x1dv0\x00" + b"\x00" * 68
    raw = Image.frombytes("1", (576, 2), row * 2, "raw", "1;I")
    data = escpos_ticket_bytes(raw, profile="TM-T20II")
    [decoded] = decode_escpos_raster(data)
    assert decoded.tobytes() == raw.tobytes()


def test_decoder_rejects_truncated_data(rasterizer):
    data = escpos_ticket_bytes(rasterizer.render(sample_layout()))
    with pytest.raises(ValueError, match="announces"):
        decode_escpos_raster(data[:5000])
