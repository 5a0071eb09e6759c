"""BER-TLV (ICAO 9303-10 §4.6 / ISO/IEC 7816-4 §5.2): known encodings,
malformed input, and properties: encode/parse round-trips, and garbage never
raises anything but MalformedDataError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card.icao import tlv
from kiosk.errors import MalformedDataError

# -- known encodings --------------------------------------------------------------


def test_appendix_d_data_objects() -> None:
    # ICAO 9303-11 Appendix D.4: DO'87', DO'97', DO'8E' of the worked example.
    assert tlv.encode(0x87, bytes.fromhex("016375432908C044F6")).hex().upper() == "8709016375432908C044F6"
    assert tlv.encode(0x97, b"\x04").hex().upper() == "970104"
    assert tlv.encode(0x8E, bytes.fromhex("BF8B92D635FF24F8")).hex().upper() == "8E08BF8B92D635FF24F8"


@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, "00"), (0x7F, "7F"), (0x80, "8180"), (0xFF, "81FF"), (0x100, "820100"), (1999, "8207CF"), (0x10000, "83010000")],
)
def test_length_forms(length: int, encoded: str) -> None:
    assert tlv.encode_length(length).hex().upper() == encoded
    tag, value_offset, parsed = tlv.parse_header(b"\x04" + bytes.fromhex(encoded))
    assert (tag, parsed, value_offset) == (0x04, length, 1 + len(encoded) // 2)


def test_multi_byte_tags() -> None:
    obj = tlv.parse_single(bytes.fromhex("5F1F03414243"))
    assert obj.tag == 0x5F1F and obj.value == b"ABC" and not obj.constructed
    nested = tlv.parse_single(bytes.fromhex("7F61 09 020101 7F6003 800100".replace(" ", "")))
    assert nested.tag == 0x7F61 and nested.constructed
    assert [c.tag for c in nested.children()] == [0x02, 0x7F60]
    assert nested.require(0x7F60).require(0x80).value == b"\x00"
    assert nested.find(0x5F2E) is None
    assert tlv.tag_bytes(0x7F2E) == b"\x7f\x2e"
    assert tlv.tag_bytes(0x1F8101) == b"\x1f\x81\x01"


def test_walk_visits_every_object() -> None:
    data = tlv.encode(0x30, tlv.encode(0x02, b"\x01") + tlv.encode(0x31, tlv.encode(0x0C, b"x")))
    seen = [(depth, obj.tag) for depth, obj in tlv.walk(tlv.parse_single(data))]
    assert seen == [(0, 0x30), (1, 0x02), (1, 0x31), (2, 0x0C)]


def test_repr_shows_no_value() -> None:
    obj = tlv.Tlv(0x5F1F, b"NGUYEN<<VAN<AN")
    assert "NGUYEN" not in repr(obj)


# -- malformed input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hex_data", "message"),
    [
        ("04", "has no length"),
        ("0405AABB", "declares 5 value bytes but only 2 remain"),
        ("0480", "indefinite length"),
        ("0482AA", "length runs past the end"),
        ("0485AABBCCDDEE", "length field of 5 bytes"),
        ("5F", "tag runs past the end"),
        ("5F8181818101", "tag longer than 4 bytes"),
        ("0001AA", "invalid first tag byte 00"),
        ("FF01AA", "invalid first tag byte FF"),
    ],
)
def test_malformed_input_raises_with_a_reason(hex_data: str, message: str) -> None:
    with pytest.raises(MalformedDataError, match=message):
        tlv.parse_all(bytes.fromhex(hex_data))


def test_empty_input() -> None:
    assert tlv.parse_all(b"") == []  # no objects is a valid list of objects
    with pytest.raises(MalformedDataError, match="no data where a tag should start"):
        tlv.parse_single(b"")


def test_parse_single_refuses_trailing_bytes_and_wrong_tag() -> None:
    with pytest.raises(MalformedDataError, match="unexpected bytes"):
        tlv.parse_single(bytes.fromhex("0401AA00"))
    with pytest.raises(MalformedDataError, match="expected tag 61, found 4"):
        tlv.parse_single(bytes.fromhex("0401AA"), 0x61)


def test_children_of_a_primitive_is_an_error() -> None:
    with pytest.raises(MalformedDataError, match="primitive"):
        tlv.parse_single(bytes.fromhex("0401AA")).children()
    with pytest.raises(MalformedDataError, match="has no child 5F2E"):
        tlv.parse_single(bytes.fromhex("3003020101")).require(0x5F2E)


def test_deep_nesting_is_bounded() -> None:
    data = b""
    for _ in range(tlv.MAX_DEPTH + 5):
        data = tlv.encode(0x30, data)
    with pytest.raises(MalformedDataError, match="nesting deeper"):
        list(tlv.walk(tlv.parse_single(data)))


@pytest.mark.parametrize("tag", [0x00, 0xFF, 0x1F, 0x5F81, 0x0102, 0x7F_FF_FF_FF_7F, -1])
def test_invalid_tags_are_not_encoded(tag: int) -> None:
    with pytest.raises(MalformedDataError):
        tlv.encode(tag, b"")


# -- properties ------------------------------------------------------------------------

_single_byte_tags = st.integers(0x01, 0xFE).filter(lambda b: b & 0x1F != 0x1F)


@st.composite
def _multi_byte_tags(draw: st.DrawFn) -> int:
    first = draw(st.integers(0, 6)) << 5 | 0x1F  # class/constructed bits; 'FF' is invalid
    middle = draw(st.lists(st.integers(0x80, 0xFF), max_size=2))
    last = draw(st.integers(0x00, 0x7F))
    return int.from_bytes(bytes([first, *middle, last]), "big")


tags = st.one_of(_single_byte_tags, _multi_byte_tags())
values = st.binary(max_size=300)


@settings(deadline=None)
@given(st.lists(st.tuples(tags, values), max_size=8))
def test_encode_then_parse_round_trips(objects: list[tuple[int, bytes]]) -> None:
    data = b"".join(tlv.encode(tag, value) for tag, value in objects)
    parsed = tlv.parse_all(data)
    assert [(o.tag, o.value) for o in parsed] == objects
    assert b"".join(o.encode() for o in parsed) == data


_constructed_tags = st.sampled_from([0x30, 0x31, 0x61, 0x6D, 0x75, 0x7F61, 0x7F60, 0xA1])
_primitive_tags = st.sampled_from([0x02, 0x04, 0x0C, 0x13, 0x5F1F, 0x5F2E, 0x80, 0x87])
trees = st.recursive(
    st.tuples(_primitive_tags, st.binary(max_size=40)),
    lambda children: st.tuples(_constructed_tags, st.lists(children, max_size=4)),
    max_leaves=20,
)


def _encode_tree(node: tuple) -> bytes:
    tag, content = node
    if isinstance(content, bytes):
        return tlv.encode(tag, content)
    return tlv.encode(tag, b"".join(_encode_tree(c) for c in content))


def _decode_tree(obj: tlv.Tlv) -> tuple:
    if obj.constructed:
        return (obj.tag, [_decode_tree(c) for c in obj.children()])
    return (obj.tag, obj.value)


@settings(deadline=None)
@given(trees)
def test_nested_structures_round_trip(tree: tuple) -> None:
    assert _decode_tree(tlv.parse_single(_encode_tree(tree))) == tree


def _parse_everything(data: bytes) -> None:
    for top in tlv.parse_all(data):
        for _, obj in tlv.walk(top):
            obj.encode()


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_raises_only_malformed_data_error(data: bytes) -> None:
    try:
        _parse_everything(data)
    except MalformedDataError:
        pass


@settings(max_examples=300, deadline=None)
@given(trees, st.data())
def test_corrupted_structures_raise_only_malformed_data_error(tree: tuple, data: st.DataObject) -> None:
    encoded = bytearray(_encode_tree(tree))
    # Flip, cut or extend: the damage real radio links and bad chips do.
    action = data.draw(st.sampled_from(["flip", "truncate", "extend"]))
    if action == "flip":
        pos = data.draw(st.integers(0, len(encoded) - 1))
        encoded[pos] ^= data.draw(st.integers(1, 255))
    elif action == "truncate":
        del encoded[data.draw(st.integers(0, len(encoded) - 1)) :]
    else:
        encoded += data.draw(st.binary(min_size=1, max_size=8))
    try:
        _parse_everything(bytes(encoded))
    except MalformedDataError:
        pass
