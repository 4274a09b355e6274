"""Decoding of Micromegas JSONB (the Rust `jsonb` crate's format)."""

import math
import struct
from decimal import Decimal

import pytest

from mmtui.results.jsonb import JsonbError, decode_jsonb, encode_jsonb_object

# The bytes Micromegas returns for jsonb_parse('{ "name" : "value" }'), from upstream's
# python/micromegas/tests/test_jsonb.py.
UPSTREAM_NAME_VALUE = b"@\x00\x00\x01\x10\x00\x00\x04\x10\x00\x00\x05namevalue"


def _entry(kind: int, length: int) -> bytes:
    return struct.pack(">I", (kind << 28) | length)


def _scalar(kind: int, payload: bytes) -> bytes:
    return struct.pack(">I", 0x20000001) + _entry(kind, len(payload)) + payload


def test_upstream_object_bytes() -> None:
    assert decode_jsonb(UPSTREAM_NAME_VALUE) == {"name": "value"}


def test_encoder_matches_upstream_bytes() -> None:
    assert encode_jsonb_object({"name": "value"}) == UPSTREAM_NAME_VALUE


def test_round_trip_unicode_properties() -> None:
    properties = {"host": "web-1", "région": "日本", "empty": ""}
    assert decode_jsonb(encode_jsonb_object(properties)) == properties


def test_scalars() -> None:
    assert decode_jsonb(_scalar(0, b"")) is None
    assert decode_jsonb(_scalar(4, b"")) is True
    assert decode_jsonb(_scalar(3, b"")) is False
    assert decode_jsonb(_scalar(1, b"text")) == "text"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\x00", 0),
        (b"\x40\xff", -1),
        (b"\x40" + struct.pack(">h", -300), -300),
        (b"\x40" + struct.pack(">q", -(2**63)), -(2**63)),
        (b"\x50" + struct.pack(">Q", 2**64 - 1), 2**64 - 1),
        (b"\x60" + struct.pack(">d", 1.5), 1.5),
        (b"\x20", math.inf),
        (b"\x30", -math.inf),
        (b"\x70" + struct.pack(">q", 12345) + b"\x02", Decimal("123.45")),
    ],
)
def test_numbers(payload: bytes, expected: object) -> None:
    assert decode_jsonb(_scalar(2, payload)) == expected


def test_nan_number() -> None:
    assert math.isnan(decode_jsonb(_scalar(2, b"\x10")))


def test_nested_array_in_object() -> None:
    inner = struct.pack(">I", 0x80000002) + _entry(2, 2) + _entry(1, 1) + b"\x40\x07" + b"x"
    data = struct.pack(">I", 0x40000001) + _entry(1, 1) + _entry(5, len(inner)) + b"k" + inner
    assert decode_jsonb(data) == {"k": [7, "x"]}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x40\x00",
        UPSTREAM_NAME_VALUE[:-1],
        UPSTREAM_NAME_VALUE + b"!",
        b"\x00\x00\x00\x01",
        _scalar(2, b"\x40\x01\x02\x03"),
        _scalar(7, b""),
        _scalar(1, b"\xff"),
    ],
)
def test_invalid_bytes_raise_jsonb_error(data: bytes) -> None:
    with pytest.raises(JsonbError):
        decode_jsonb(data)
