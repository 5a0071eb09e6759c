"""QR decoders: camera frames in, QR payload text out (`kiosk.ports.QrDecoder`).

`ZxingQrDecoder` is the one the kiosk uses: zxing-cpp finds small, rotated,
inverted and low-contrast symbols that OpenCV's detector misses.
`OpenCvQrDecoder` is a fallback for machines where the zxing-cpp wheel is
missing; `FirstSuccessQrDecoder` chains decoders.

Text encoding. Vietnamese QR codes (CCCD, BHYT, VNeID) are byte-mode UTF-8
without an ECI header. A decoder without an ECI has to guess the charset,
and a short string such as "Lê" is also valid ISO-8859-1 ("LÃª"), so we do
not let it guess: without an ECI the raw bytes are decoded as UTF-8 and only
text that is not UTF-8 falls back to the decoder's own reading. With an ECI
the symbol says its charset and the decoder's text is used. Either way the
result is NFC-normalised, as `QrDecoder` promises.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

from kiosk.ports import Frame, QrDecoder, QrOutline

log = logging.getLogger(__name__)


def to_grayscale(frame: Frame) -> np.ndarray:
    """An 8-bit single-channel copy of an RGB(A) or gray frame, C-contiguous.

    Decoders binarise luminance anyway; handing them one channel instead of
    three cuts the copy and conversion work inside the decoder to a third.
    """
    array = np.asarray(frame)
    if array.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {array.dtype}")
    if array.ndim == 2:
        return np.ascontiguousarray(array)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"frames must be (h, w), (h, w, 3) or (h, w, 4), got {array.shape}")
    try:
        import cv2
    except ImportError:
        # ITU-R BT.601 luma in integer arithmetic (weights sum to 256).
        rgb = array[:, :, :3].astype(np.uint16)
        return ((77 * rgb[:, :, 0] + 150 * rgb[:, :, 1] + 29 * rgb[:, :, 2]) >> 8).astype(np.uint8)
    code = cv2.COLOR_RGB2GRAY if array.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
    return cv2.cvtColor(np.ascontiguousarray(array), code)


def _text_from_bytes(raw: bytes, fallback: str | None) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = fallback
    return unicodedata.normalize("NFC", text) if text else None


def _unique_located(found: Sequence[tuple[str, QrOutline]]) -> list[tuple[str, QrOutline]]:
    # A frame may show the same code twice (a reflection, a copy on a
    # phone); report each payload once, where it was first found.
    seen: dict[str, QrOutline] = {}
    for text, outline in found:
        seen.setdefault(text, outline)
    return list(seen.items())


class ZxingQrDecoder:
    """QR codes only, through zxing-cpp, searching every orientation.

    zxing-cpp's Python binding has no single "try harder" switch; its parts
    are the `try_rotate`, `try_downscale` and `try_invert` options, all on
    here, with the default local-average binariser that copes with uneven
    kiosk lighting.
    """

    def __init__(self, *, try_downscale: bool = True, try_invert: bool = True) -> None:
        import zxingcpp  # noqa: F401 -- fail at construction, not on the first frame

        self._try_downscale = try_downscale
        self._try_invert = try_invert

    @staticmethod
    def is_usable() -> bool:
        try:
            import zxingcpp  # noqa: F401
        except ImportError:
            return False
        return True

    def decode(self, frame: Frame) -> list[str]:
        return [text for text, _ in self.decode_located(frame)]

    def decode_located(self, frame: Frame) -> list[tuple[str, QrOutline]]:
        """Each payload with where it is in the frame (for the preview's box)."""
        import zxingcpp

        gray = to_grayscale(frame)
        height, width = gray.shape
        barcodes = zxingcpp.read_barcodes(
            gray,
            formats=zxingcpp.BarcodeFormat.QRCode,
            try_rotate=True,  # cards are held at any angle, phones sideways
            try_downscale=self._try_downscale,  # a card held close: big modules
            try_invert=self._try_invert,  # phone apps in dark mode
        )
        payloads = []
        for barcode in barcodes:
            if not barcode.valid:
                continue
            if _has_eci(barcode):
                text = unicodedata.normalize("NFC", barcode.text)
            else:
                text = _text_from_bytes(barcode.bytes, barcode.text)
            if text:
                p = barcode.position
                corners = tuple((float(c.x), float(c.y)) for c in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
                payloads.append((text, QrOutline(corners, width, height)))
        return _unique_located(payloads)


def _has_eci(barcode: Any) -> bool:
    # ISO/IEC 18004 Annex F symbology identifiers: "]Q2", "]Q4" and "]Q6"
    # mean the symbol carries ECI designators; "]Q1" (the usual) means none.
    return str(barcode.symbology_identifier)[-1:] in ("2", "4", "6")


class OpenCvQrDecoder:
    """OpenCV's QRCodeDetector: weaker than zxing-cpp, but ships with OpenCV."""

    def __init__(self) -> None:
        import cv2

        self._detector = cv2.QRCodeDetector()

    @staticmethod
    def is_usable() -> bool:
        try:
            import cv2
        except ImportError:
            return False
        return hasattr(cv2, "QRCodeDetector")

    def decode(self, frame: Frame) -> list[str]:
        return [text for text, _ in self.decode_located(frame)]

    def decode_located(self, frame: Frame) -> list[tuple[str, QrOutline]]:
        gray = to_grayscale(frame)
        height, width = gray.shape
        # The "Bytes" variant returns the raw payload; the text variant would
        # decode it for us with no say over the charset.
        found, raw_payloads, points, _straight = self._detector.detectAndDecodeBytesMulti(gray)
        if not found:
            return []
        payloads = []
        for index, raw in enumerate(raw_payloads):
            text = _text_from_bytes(bytes(raw), None) if raw is not None and len(raw) else None
            if text:
                quad = points[index] if points is not None and index < len(points) else ()
                corners = tuple((float(x), float(y)) for x, y in quad)
                payloads.append((text, QrOutline(corners, width, height)))
        return _unique_located(payloads)


class FirstSuccessQrDecoder:
    """Asks each decoder in turn and returns the first non-empty answer."""

    def __init__(self, decoders: Sequence[QrDecoder]) -> None:
        if not decoders:
            raise ValueError("at least one decoder is needed")
        self._decoders = tuple(decoders)

    def decode(self, frame: Frame) -> list[str]:
        for decoder in self._decoders:
            payloads = decoder.decode(frame)
            if payloads:
                return payloads
        return []


def default_decoder() -> QrDecoder:
    """zxing-cpp when installed, else OpenCV; explains itself when neither is."""
    if ZxingQrDecoder.is_usable():
        return ZxingQrDecoder()
    if OpenCvQrDecoder.is_usable():
        log.warning("zxing-cpp is not installed: falling back to OpenCV's weaker QR detector")
        return OpenCvQrDecoder()
    raise RuntimeError("no QR decoder available: install zxing-cpp (or opencv-python-headless)")
