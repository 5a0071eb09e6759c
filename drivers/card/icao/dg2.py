"""DG2: the face image (ICAO 9303-10 DG2, ISO/IEC 19794-5).

    75                      DG2
      7F61                  biometric information group template
        02 01 n             number of instances
        7F60                biometric information template (one per image)
          A1 { ... }        biometric header template (ISO/IEC 7816-11)
          5F2E | 7F2E       biometric data block: an ISO/IEC 19794-5 record

The 19794-5 record ("FAC\\0") holds a facial record header, feature
points, an image information block and then the JPEG or JPEG 2000 image.
CCCD cards usually carry JPEG 2000, which Qt cannot display, so the image
is handed to the application as PNG (converted with Pillow).
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass

from kiosk.errors import MalformedDataError

from . import tlv
from .lds import TAG_DG2

TAG_BIOMETRIC_GROUP = 0x7F61
TAG_BIOMETRIC_TEMPLATE = 0x7F60
TAG_BIOMETRIC_HEADER = 0xA1
TAG_BIOMETRIC_DATA = 0x5F2E
TAG_BIOMETRIC_DATA_ENCIPHERED = 0x7F2E

FAC_FORMAT_ID = b"FAC\x00"
# ISO/IEC 19794-5:2005 record format: 14-byte general header, 20-byte facial
# information, 8 bytes per feature point, 12-byte image information.
GENERAL_HEADER = 14
FACIAL_INFORMATION = 20
FEATURE_POINT = 8
IMAGE_INFORMATION = 12

JPEG_MAGIC = b"\xff\xd8\xff"
JP2_MAGIC = b"\x00\x00\x00\x0cjP  \r\n\x87\n"  # JPEG 2000 file format (JP2)
J2K_MAGIC = b"\xff\x4f\xff\x51"  # bare JPEG 2000 codestream

MAX_PIXELS = 4096 * 4096  # a passport face is ~ 480x640; refuse absurd claims


class ImageType(enum.Enum):
    JPEG = 0  # ISO/IEC 19794-5 image data type 0
    JPEG2000 = 1  # image data type 1


@dataclass(frozen=True)
class FaceImage:
    image_type: ImageType
    data: bytes
    width: int | None = None
    height: int | None = None

    def __repr__(self) -> str:
        return f"FaceImage({self.image_type.name}, {self.width}x{self.height}, {len(self.data)} bytes)"


def _sniff(data: bytes) -> ImageType | None:
    if data.startswith(JPEG_MAGIC):
        return ImageType.JPEG
    if data.startswith(JP2_MAGIC) or data.startswith(J2K_MAGIC):
        return ImageType.JPEG2000
    return None


def _scan_for_image(block: bytes) -> FaceImage:
    """Find an image by its signature: the fallback for 7F2E and odd records."""
    found = [
        (pos, kind)
        for magic, kind in ((JPEG_MAGIC, ImageType.JPEG), (JP2_MAGIC, ImageType.JPEG2000), (J2K_MAGIC, ImageType.JPEG2000))
        if (pos := block.find(magic)) >= 0
    ]
    if not found:
        raise MalformedDataError("DG2: no JPEG or JPEG 2000 image in the biometric data block")
    pos, kind = min(found)
    return FaceImage(kind, block[pos:])


def parse_facial_record(record: bytes) -> FaceImage:
    """The first image of an ISO/IEC 19794-5 facial record data block."""
    if not record.startswith(FAC_FORMAT_ID):
        return _scan_for_image(record)
    if len(record) < GENERAL_HEADER + FACIAL_INFORMATION + IMAGE_INFORMATION:
        raise MalformedDataError("DG2: facial record shorter than its headers")
    record_length = int.from_bytes(record[8:12], "big")
    images = int.from_bytes(record[12:14], "big")
    if images < 1:
        raise MalformedDataError("DG2: facial record holds no image")
    if record_length > len(record):
        raise MalformedDataError("DG2: facial record length exceeds the data block")
    pos = GENERAL_HEADER
    block_length = int.from_bytes(record[pos : pos + 4], "big")
    feature_points = int.from_bytes(record[pos + 4 : pos + 6], "big")
    block_end = pos + block_length
    image_info = pos + FACIAL_INFORMATION + feature_points * FEATURE_POINT
    image_start = image_info + IMAGE_INFORMATION
    if block_end > len(record) or image_start > block_end:
        raise MalformedDataError("DG2: facial record block lengths do not fit")
    # record[image_info + 1] is the image data type (0 JPEG, 1 JPEG 2000).
    # Labels and bytes disagree on some documents; a decoder decodes what is
    # there, so the bytes decide.
    width = int.from_bytes(record[image_info + 2 : image_info + 4], "big")
    height = int.from_bytes(record[image_info + 4 : image_info + 6], "big")
    image = record[image_start:block_end]
    kind = _sniff(image)
    if kind is None:
        raise MalformedDataError("DG2: image data is neither JPEG nor JPEG 2000")
    return FaceImage(kind, image, width or None, height or None)


def parse_dg2(data: bytes) -> list[FaceImage]:
    """Every face image in DG2, in order (usually exactly one)."""
    dg2 = tlv.parse_single(data, TAG_DG2)
    group = dg2.require(TAG_BIOMETRIC_GROUP)
    faces: list[FaceImage] = []
    for template in group.children():
        if template.tag != TAG_BIOMETRIC_TEMPLATE:
            continue  # the instance count (02) and anything unknown
        plain = template.find(TAG_BIOMETRIC_DATA)
        if plain is not None:
            faces.append(parse_facial_record(plain.value))
            continue
        enciphered = template.find(TAG_BIOMETRIC_DATA_ENCIPHERED)
        if enciphered is not None:
            # ICAO 9303-10 allows a constructed 7F2E; no CCCD has been seen
            # with one. Take the image wherever it sits inside.
            faces.append(_scan_for_image(enciphered.value))
    if not faces:
        raise MalformedDataError("DG2: no biometric data block")
    return faces


def to_png(face: FaceImage) -> bytes:
    """Decode the face with Pillow and re-encode it as PNG (Qt shows PNG; not JP2)."""
    from PIL import Image  # imported here: only the card driver needs Pillow

    try:
        with Image.open(io.BytesIO(face.data)) as img:
            if img.format not in ("JPEG", "JPEG2000"):
                raise MalformedDataError(f"DG2: image decodes as {img.format}, not JPEG/JPEG 2000")
            if img.width * img.height > MAX_PIXELS:
                raise MalformedDataError("DG2: image dimensions are implausibly large")
            img.load()
            converted = img if img.mode in ("RGB", "L") else img.convert("RGB")
            out = io.BytesIO()
            converted.save(out, format="PNG")
            return out.getvalue()
    except MalformedDataError:
        raise
    except Exception as exc:
        # Image decoders meet chip data as untrusted input and fail on crafted
        # bytes in many ways (OSError, SyntaxError, struct.error, EOFError,
        # DecompressionBombError...): all of them mean "no usable face".
        raise MalformedDataError(f"DG2: the face image does not decode ({type(exc).__name__})") from None


def face_png(dg2: bytes) -> bytes:
    """DG2 bytes -> the first face as PNG."""
    return to_png(parse_dg2(dg2)[0])
