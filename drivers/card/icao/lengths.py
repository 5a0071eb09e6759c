"""Whether a card (and the reader's link) takes extended-length APDUs, and
how many bytes one protected READ BINARY may then ask for.

A card tells it in two places, both readable before any authentication:

- the historical bytes of its ATR (for a contactless card, those of its
  ATS, which the PC/SC reader copies into the pseudo-ATR): the "card
  capabilities" compact-TLV object '7X' of ISO/IEC 7816-4 §8.1.1.2.7, whose
  third byte ("third software function table") has b7 = "extended Lc and Le
  fields" and b6 = "extended length information in EF.ATR/INFO";
- EF.ATR/INFO (FID '2F01', SFI '01', in the MF, read access ALWAYS; ICAO
  9303-10 makes it CONDITIONAL: present when the chip supports extended
  length). It holds interindustry data objects of ISO/IEC 7816-4: '47' card
  capabilities (the same three bytes) and '7F66' extended length
  information = two INTEGERs, the most bytes a command APDU and a response
  APDU may have.

eMRTDs mostly send no historical bytes at all (pseudo-ATR 3B 80 80 01 01),
so EF.ATR/INFO is the usual source. Nothing here raises for garbled card
data other than MalformedDataError; the session then reads with short APDUs.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import MalformedDataError

from . import tlv
from .apdu import EXTENDED_MAX_NE, SHORT_MAX_NE

FID_EF_ATR_INFO = 0x2F01
EF_ATR_INFO_MAX = 1024  # a few data objects; bounds the plain read loop

TAG_CARD_CAPABILITIES = 0x47  # ISO/IEC 7816-4 interindustry DO (compact '7X' in historical bytes)
TAG_EXTENDED_LENGTH_INFO = 0x7F66
COMPACT_CARD_CAPABILITIES = 0x7  # compact-TLV tag nibble of card capabilities
CAP3_EXTENDED_LC_LE = 0x40  # third software function table, b7
CAP3_EXTENDED_LENGTH_INFO = 0x20  # third software function table, b6: see EF.ATR/INFO

CATEGORY_COMPACT_TLV = 0x80  # historical bytes: compact-TLV objects, status indicator optional
CATEGORY_COMPACT_TLV_STATUS = 0x00  # compact-TLV objects, then a 3-byte status indicator

# A protected R-APDU costs, besides the data: DO'87' (tag, up to 3 length
# bytes, padding indicator, up to one block of padding), DO'99' (4), DO'8E'
# (10) and SW1-SW2 (2) (ICAO 9303-11 §9.8.5 / Appendix D.4).
_SM_FIXED_OVERHEAD = 1 + 3 + 1 + 4 + 10 + 2


@dataclass(frozen=True)
class CardLengths:
    """What the card said about extended length (None: it did not say)."""

    extended: bool | None = None
    max_command: int | None = None
    max_response: int | None = None
    source: str = ""  # "ATR", "EF.ATR/INFO": for technicians
    info_in_ef_atr: bool = False  # the ATR says EF.ATR/INFO has the figures


def atr_historical_bytes(atr: bytes) -> bytes:
    """The historical bytes of an ATR (ISO/IEC 7816-3 §8.2.2 structure).

    T0's low nibble K counts them; they follow the interface bytes, whose
    presence each Y nibble (TA/TB/TC/TD bits) announces. Raises
    MalformedDataError when the ATR is shorter than its own header says.
    """
    if len(atr) < 2:
        raise MalformedDataError("ATR shorter than TS and T0")
    index = 1
    y = atr[index] >> 4
    count = atr[index] & 0x0F
    index += 1
    for _ in range(16):  # bounded: at most a handful of TDi in a real ATR
        present = bin(y).count("1")
        td_present = bool(y & 0x8)
        if index + present > len(atr):
            raise MalformedDataError("ATR ends inside its interface bytes")
        index += present
        if not td_present:
            break
        y = atr[index - 1] >> 4
    else:
        raise MalformedDataError("ATR announces too many interface bytes")
    if index + count > len(atr):
        raise MalformedDataError("ATR ends inside its historical bytes")
    return bytes(atr[index : index + count])


def capabilities_from_historical_bytes(historical: bytes) -> CardLengths:
    """Card capabilities '7X' in compact-TLV historical bytes (ISO/IEC 7816-4 §8.1.1.2.7)."""
    if not historical or historical[0] not in (CATEGORY_COMPACT_TLV, CATEGORY_COMPACT_TLV_STATUS):
        return CardLengths()  # no historical bytes, or a proprietary/DIR format: says nothing
    body = historical[1:]
    if historical[0] == CATEGORY_COMPACT_TLV_STATUS:
        if len(body) < 3:
            raise MalformedDataError("historical bytes lack their status indicator")
        body = body[:-3]
    index = 0
    while index < len(body):
        tag, length = body[index] >> 4, body[index] & 0x0F
        value = body[index + 1 : index + 1 + length]
        if len(value) != length:
            raise MalformedDataError("compact-TLV object runs past the historical bytes")
        if tag == COMPACT_CARD_CAPABILITIES:
            return _from_capabilities(value, "ATR")
        index += 1 + length
    return CardLengths()


def _from_capabilities(value: bytes, source: str) -> CardLengths:
    if len(value) < 3:
        # Without the third software function table the card says nothing
        # about extended length (ISO/IEC 7816-4: the table is optional).
        return CardLengths()
    third = value[2]
    return CardLengths(
        extended=bool(third & CAP3_EXTENDED_LC_LE),
        source=source,
        info_in_ef_atr=bool(third & CAP3_EXTENDED_LENGTH_INFO),
    )


def parse_atr_info(data: bytes) -> CardLengths:
    """EF.ATR/INFO: '7F66' extended length information and/or '47' capabilities.

    Raises MalformedDataError when the file is not BER-TLV or '7F66' is not
    INTEGER max-command, INTEGER max-response.
    """
    objects = tlv.parse_all(data)
    capabilities = CardLengths()
    for obj in objects:
        if obj.tag == TAG_CARD_CAPABILITIES:
            capabilities = _from_capabilities(obj.value, "EF.ATR/INFO")
    for obj in objects:
        if obj.tag != TAG_EXTENDED_LENGTH_INFO:
            continue
        integers = [child for child in tlv.parse_all(obj.value) if child.tag == 0x02]
        if len(integers) < 2 or any(not 1 <= len(i.value) <= 4 for i in integers[:2]):
            raise MalformedDataError("EF.ATR/INFO: extended length information is not two INTEGERs")
        max_command = int.from_bytes(integers[0].value, "big")
        max_response = int.from_bytes(integers[1].value, "big")
        if max_command < 5 or max_response < 2:
            raise MalformedDataError("EF.ATR/INFO: extended length information below an APDU's minimum")
        # More than a short APDU carries means the card takes extended ones
        # (ISO/IEC 7816-4: the DO is only meaningful for extended length).
        extended = max_response > SHORT_MAX_NE + 2 or max_command > 261
        if capabilities.extended is False:
            extended = False  # the card's own capability bit wins over the sizes
        return CardLengths(extended, max_command, max_response, "EF.ATR/INFO")
    return capabilities


def encode_atr_info(max_command: int, max_response: int, capabilities: bytes | None = None) -> bytes:
    """EF.ATR/INFO content (the card side, for the simulated chip)."""
    body = b""
    if capabilities is not None:
        body += tlv.encode(TAG_CARD_CAPABILITIES, capabilities)
    sizes = tlv.encode(0x02, _minimal_int(max_command)) + tlv.encode(0x02, _minimal_int(max_response))
    return body + tlv.encode(TAG_EXTENDED_LENGTH_INFO, sizes)


def card_capabilities(extended: bool, info_in_ef_atr: bool = True) -> bytes:
    """Three card-capabilities bytes (ISO/IEC 7816-4 §8.1.1.2.7).

    First table: DF selection by full name and by file identifier, short EF
    identifier supported (b8, b5, b2 = 'A2'); second table: data unit of one
    byte ('01'); third: command chaining (b8) and the extended-length bits.
    """
    third = 0x80 | (CAP3_EXTENDED_LC_LE if extended else 0) | (CAP3_EXTENDED_LENGTH_INFO if info_in_ef_atr else 0)
    return bytes([0xA2, 0x01, third])


def historical_bytes_with_capabilities(capabilities: bytes) -> bytes:
    """Compact-TLV historical bytes holding just the card capabilities."""
    return bytes([CATEGORY_COMPACT_TLV, (COMPACT_CARD_CAPABILITIES << 4) | len(capabilities)]) + capabilities


def _minimal_int(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8 or 1, "big")  # leading 00 keeps it positive
    return raw


def largest_protected_read(max_response: int, block_size: int) -> int:
    """The most data one protected READ BINARY may ask for when the whole
    R-APDU (DO'87' + DO'99' + DO'8E' + SW) must fit `max_response` bytes."""
    limit = min(max_response, EXTENDED_MAX_NE + 2)
    n = max(0, limit - _SM_FIXED_OVERHEAD - block_size)
    while n > 0 and _protected_response_length(n, block_size) > limit:
        n -= 1
    return n


def _protected_response_length(n: int, block_size: int) -> int:
    cryptogram = (n // block_size + 1) * block_size  # ISO/IEC 9797-1 method 2 always pads
    do87 = 1 + len(tlv.encode_length(cryptogram + 1)) + 1 + cryptogram
    return do87 + 4 + 10 + 2
