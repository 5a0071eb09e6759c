"""The exact ESC/POS bytes of a fee-paying ticket (with the VietQR), against a golden file.

Same rules as tests/test_printer_golden.py: regenerate with
KIOSK_UPDATE_GOLDEN=1 after looking at the new rendering, and look at
tests/golden/ticket-A-012-vietqr-80mm.png (written beside it) before
committing both. The VietQR must decode from the golden raster and carry a
good CRC: a golden file that printed an unscannable code would be worse
than none.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drivers.camera.decoder import ZxingQrDecoder
from drivers.printer.escpos_printer import escpos_ticket_bytes
from drivers.printer.raster import WIDTH_80MM, TicketRasterizer
from drivers.printer.raster_decode import decode_escpos_raster, stack_vertically
from drivers.printer.sample import SAMPLE_PAYMENT, sample_fee_paying_layout
from kiosk.qr import VietQr, parse_qr

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_BIN = GOLDEN / "ticket-A-012-vietqr-80mm.bin"
GOLDEN_PNG = GOLDEN / "ticket-A-012-vietqr-80mm.png"
GOLDEN_FONT = "Noto Sans"


@pytest.fixture(scope="module")
def rasterizer(qapp) -> TicketRasterizer:
    r = TicketRasterizer(WIDTH_80MM)
    if r.font_family != GOLDEN_FONT:
        pytest.skip(f"golden bytes were made with {GOLDEN_FONT!r}; this machine renders with {r.font_family!r}")
    return r


def test_fee_paying_ticket_bytes_match_golden(rasterizer):
    image = rasterizer.render(sample_fee_paying_layout())
    data = escpos_ticket_bytes(image)
    if os.environ.get("KIOSK_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        GOLDEN_BIN.write_bytes(data)
        image.save(GOLDEN_PNG, dpi=(203, 203))
    assert GOLDEN_BIN.exists(), "no golden file yet: run with KIOSK_UPDATE_GOLDEN=1"
    expected = GOLDEN_BIN.read_bytes()
    if data != expected:
        pytest.fail(
            f"ESC/POS bytes differ from {GOLDEN_BIN.name}: {len(data)} vs {len(expected)} bytes. "
            "If the change is intended, regenerate (see module docstring) and look at the PNG."
        )


def test_vietqr_decodes_from_the_golden_raster():
    decoded = stack_vertically(decode_escpos_raster(GOLDEN_BIN.read_bytes()))
    if GOLDEN_PNG.exists():
        assert decoded.tobytes() == Image.open(GOLDEN_PNG).convert("1").tobytes()
    frame = np.stack([np.asarray(decoded.convert("L"))] * 3, axis=-1)
    codes = [parse_qr(t) for t in ZxingQrDecoder().decode(frame) if t.startswith("000201")]
    assert len(codes) == 1
    code = codes[0]
    assert isinstance(code, VietQr) and code.crc_ok and code.dynamic
    assert (code.bank_bin, code.account, code.amount) == (SAMPLE_PAYMENT.bank_bin, SAMPLE_PAYMENT.account, 150_000)
