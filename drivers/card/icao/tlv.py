"""BER-TLV, the encoding of every ICAO 9303 data structure.

ICAO 9303-10 (LDS1 data groups) and ICAO 9303-11 §9.8 (secure
messaging data objects) both use the BER-TLV rules of ISO/IEC 7816-4
(after ISO/IEC 8825-1): tags of one or more bytes, definite lengths in short
or long form.

Card data is untrusted input: anything that does not parse raises
`kiosk.errors.MalformedDataError` with a message that says what was wrong
and where, never an IndexError. Tags are kept as integers of their encoded
bytes (0x5F1F, 0x7F61), the way the standards print them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kiosk.errors import MalformedDataError

# ISO/IEC 7816-4 (BER-TLV): '00' and 'FF' are not valid first tag bytes (they
# are used as padding between objects); we never expect padding in ICAO data.
_INVALID_FIRST_TAG_BYTES = (0x00, 0xFF)
MAX_TAG_BYTES = 4  # ISO/IEC 7816-4 uses up to three; one spare
MAX_LENGTH_BYTES = 4  # '84' + four bytes: far beyond any EF on a chip
# Nested structures on a chip are a few levels deep; the limit stops
# crafted input from exhausting the stack in recursive walks.
MAX_DEPTH = 32


def _fail(message: str, offset: int | None = None) -> MalformedDataError:
    where = f" at byte {offset}" if offset is not None else ""
    return MalformedDataError(f"BER-TLV: {message}{where}")


# -- encoding -----------------------------------------------------------------


def tag_bytes(tag: int) -> bytes:
    """The encoded bytes of `tag` (0x5F1F -> b'\\x5f\\x1f'), validated."""
    if tag < 0:
        raise _fail(f"negative tag {tag}")
    raw = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    _check_tag_bytes(raw)
    return raw


def _check_tag_bytes(raw: bytes) -> None:
    first = raw[0]
    if first in _INVALID_FIRST_TAG_BYTES:
        raise _fail(f"invalid first tag byte {first:02X}")
    if len(raw) > MAX_TAG_BYTES:
        raise _fail(f"tag longer than {MAX_TAG_BYTES} bytes")
    if first & 0x1F != 0x1F:
        if len(raw) != 1:
            raise _fail(f"tag {raw.hex().upper()}: low-tag-number form must be one byte")
        return
    # High-tag-number form: subsequent bytes carry b8=1 except the last.
    rest = raw[1:]
    if not rest:
        raise _fail(f"tag {raw.hex().upper()}: high-tag-number form needs a second byte")
    if any(b & 0x80 == 0 for b in rest[:-1]) or rest[-1] & 0x80:
        raise _fail(f"tag {raw.hex().upper()}: bad continuation bits")


def encode_length(length: int) -> bytes:
    """Definite length, short form below 128 and minimal long form above."""
    if length < 0:
        raise _fail(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise _fail(f"length {length} too large")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, value: bytes) -> bytes:
    """One TLV: tag, length, value."""
    return tag_bytes(tag) + encode_length(len(value)) + bytes(value)


def is_constructed(tag: int) -> bool:
    """b6 of the first tag byte says the value is itself TLVs."""
    return bool(tag_bytes(tag)[0] & 0x20)


# -- decoding -----------------------------------------------------------------


@dataclass(frozen=True)
class Tlv:
    """One data object. `children()` parses the value of a constructed one."""

    tag: int
    value: bytes

    def __repr__(self) -> str:  # values may be personal data: show sizes only
        return f"Tlv(tag={self.tag:X}, length={len(self.value)})"

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def encode(self) -> bytes:
        return encode(self.tag, self.value)

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise _fail(f"tag {self.tag:X} is primitive, it has no nested objects")
        return parse_all(self.value)

    def find(self, tag: int) -> Tlv | None:
        """The first direct child with `tag`, or None."""
        for child in self.children():
            if child.tag == tag:
                return child
        return None

    def require(self, tag: int) -> Tlv:
        """The first direct child with `tag`; MalformedDataError when absent."""
        found = self.find(tag)
        if found is None:
            raise _fail(f"tag {self.tag:X} has no child {tag:X}")
        return found


def parse_header(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """Read a tag and length at `offset`: (tag, value_offset, value_length).

    Does not check that the value itself is present, so a file reader can
    learn a file's size from its first bytes (ICAO 9303-11 Appendix D.4
    reads four bytes for exactly this).
    """
    end = len(data)
    if offset >= end:
        raise _fail("no data where a tag should start", offset)
    first = data[offset]
    if first in _INVALID_FIRST_TAG_BYTES:
        raise _fail(f"invalid first tag byte {first:02X}", offset)
    pos = offset + 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= end:
                raise _fail("tag runs past the end of the data", offset)
            if pos - offset >= MAX_TAG_BYTES:
                raise _fail(f"tag longer than {MAX_TAG_BYTES} bytes", offset)
            b = data[pos]
            pos += 1
            if not b & 0x80:
                break
    tag = int.from_bytes(data[offset:pos], "big")

    if pos >= end:
        raise _fail(f"tag {tag:X} has no length", pos)
    first_len = data[pos]
    pos += 1
    if first_len < 0x80:
        length = first_len
    elif first_len == 0x80:
        raise _fail(f"tag {tag:X}: indefinite length is not allowed", pos - 1)
    else:
        count = first_len & 0x7F
        if count > MAX_LENGTH_BYTES:
            raise _fail(f"tag {tag:X}: length field of {count} bytes", pos - 1)
        if pos + count > end:
            raise _fail(f"tag {tag:X}: length runs past the end of the data", pos - 1)
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, pos, length


def parse_one(data: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """The TLV at `offset` and the offset just after it."""
    tag, value_offset, length = parse_header(data, offset)
    value_end = value_offset + length
    if value_end > len(data):
        raise _fail(
            f"tag {tag:X} declares {length} value bytes but only {len(data) - value_offset} remain",
            offset,
        )
    return Tlv(tag, bytes(data[value_offset:value_end])), value_end


def iter_tlvs(data: bytes) -> Iterator[Tlv]:
    offset = 0
    while offset < len(data):
        tlv, offset = parse_one(data, offset)
        yield tlv


def parse_all(data: bytes) -> list[Tlv]:
    """Every TLV in `data`, which they must fill exactly."""
    return list(iter_tlvs(data))


def parse_single(data: bytes, expected_tag: int | None = None) -> Tlv:
    """Exactly one TLV filling `data` (a whole EF, for instance)."""
    tlv, end = parse_one(data)
    if end != len(data):
        raise _fail(f"{len(data) - end} unexpected bytes after tag {tlv.tag:X}", end)
    if expected_tag is not None and tlv.tag != expected_tag:
        raise _fail(f"expected tag {expected_tag:X}, found {tlv.tag:X}")
    return tlv


def walk(tlv: Tlv, depth: int = 0) -> Iterator[tuple[int, Tlv]]:
    """Depth-first (depth, object) over `tlv` and its nested objects."""
    if depth > MAX_DEPTH:
        raise _fail(f"nesting deeper than {MAX_DEPTH} levels")
    yield depth, tlv
    if tlv.constructed:
        for child in tlv.children():
            yield from walk(child, depth + 1)
