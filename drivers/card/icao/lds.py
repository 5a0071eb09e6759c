"""Logical Data Structure: where things are on an eMRTD chip (ICAO 9303-10).

File identifiers and data-group tags (ICAO 9303-10, the table of LDS1
elementary files), EF.COM and DG1. Data groups 2 and 13 have modules of
their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import MalformedDataError

from . import tlv
from .mrz import Mrz, parse_mrz

# ICAO 9303-10 / 9303-11 §4.2: the LDS1 eMRTD application.
EMRTD_AID = bytes.fromhex("A0000002471001")

# ICAO 9303-10: EF identifiers under the eMRTD application (and
# EF.CardAccess in the master file). The short EF identifier (SFI) is the
# low byte: DG n has SFI n.
FID_EF_CARD_ACCESS = 0x011C
FID_EF_SOD = 0x011D
FID_EF_COM = 0x011E
FID_DG1 = 0x0101
FID_DG2 = 0x0102
FID_DG3 = 0x0103
FID_DG11 = 0x010B
FID_DG13 = 0x010D
FID_DG14 = 0x010E
FID_DG15 = 0x010F

TAG_EF_COM = 0x60
TAG_EF_SOD = 0x77
TAG_DG1 = 0x61
TAG_DG2 = 0x75
TAG_DG3 = 0x63
TAG_DG11 = 0x6B
TAG_DG13 = 0x6D
TAG_DG14 = 0x6E
TAG_DG15 = 0x6F
TAG_MRZ = 0x5F1F  # DG1: the MRZ data element

TAG_LDS_VERSION = 0x5F01
TAG_UNICODE_VERSION = 0x5F36
TAG_TAG_LIST = 0x5C

# Data group number -> tag of its EF (ICAO 9303-10, EF.COM tag list).
DG_TAGS = {
    1: 0x61, 2: 0x75, 3: 0x63, 4: 0x76, 5: 0x65, 6: 0x66, 7: 0x67, 8: 0x68,
    9: 0x69, 10: 0x6A, 11: 0x6B, 12: 0x6C, 13: 0x6D, 14: 0x6E, 15: 0x6F, 16: 0x70,
}  # fmt: skip


def dg_fid(number: int) -> int:
    if not 1 <= number <= 16:
        raise ValueError(f"no data group {number}")
    return 0x0100 + number


@dataclass(frozen=True)
class EfCom:
    lds_version: str
    unicode_version: str
    data_group_tags: tuple[int, ...]

    def has_data_group(self, number: int) -> bool:
        return DG_TAGS[number] in self.data_group_tags


def parse_ef_com(data: bytes) -> EfCom:
    """EF.COM: LDS version, Unicode version, tag list (ICAO 9303-10)."""
    com = tlv.parse_single(data, TAG_EF_COM)
    version = com.find(TAG_LDS_VERSION)
    unicode_version = com.find(TAG_UNICODE_VERSION)
    return EfCom(
        lds_version=version.value.decode("ascii", "replace") if version else "",
        unicode_version=unicode_version.value.decode("ascii", "replace") if unicode_version else "",
        data_group_tags=tuple(com.require(TAG_TAG_LIST).value),
    )


def parse_dg1(data: bytes) -> Mrz:
    """DG1: '61' { '5F1F' MRZ } (ICAO 9303-10, DG1)."""
    dg1 = tlv.parse_single(data, TAG_DG1)
    raw = dg1.require(TAG_MRZ).value
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedDataError("DG1: the MRZ is not ASCII") from None
    return parse_mrz(text)
