"""Decoder for the binary JSON that Micromegas stores in `properties` columns.

Micromegas encodes properties with the Rust `jsonb` crate (Databend's format, version 0.5.5 in
the upstream workspace). The layout, all integers big-endian:

- container header, 4 bytes: type in the top 3 bits (0x80000000 array, 0x40000000 object,
  0x20000000 scalar), element count in the low 29 bits;
- one 4-byte JEntry per element (for an object: all keys first, then all values): type in bits
  28-30 (0 null, 1 string, 2 number, 3 false, 4 true, 5 container, 6 extension), payload length
  in the low 28 bits;
- the payloads, in JEntry order. A container payload is itself a container.

Numbers start with a tag byte: 0x00 zero, 0x10 NaN, 0x20 +inf, 0x30 -inf, 0x40 signed and 0x50
unsigned integer (1, 2, 4 or 8 bytes), 0x60 float64, 0x70 decimal (value then a 1-byte scale).
Extensions start with a tag byte: 0x00 binary, 0x10 date (i32 days), 0x20 timestamp (i64 us),
0x30 timestamp with tz (i64 us, i8 offset in hours), 0x40 interval (i32 months, i32 days,
i64 us).
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal
from typing import Any

_ARRAY = 0x80000000
_OBJECT = 0x40000000
_SCALAR = 0x20000000
_HEADER_TYPE_MASK = 0xE0000000
_HEADER_COUNT_MASK = 0x1FFFFFFF

_NULL = 0x0
_STRING = 0x1
_NUMBER = 0x2
_FALSE = 0x3
_TRUE = 0x4
_CONTAINER = 0x5
_EXTENSION = 0x6

_ENTRY_TYPE_SHIFT = 28
_ENTRY_TYPE_MASK = 0x7
_ENTRY_LENGTH_MASK = 0x0FFFFFFF

_MAX_DEPTH = 64


class JsonbError(ValueError):
    """Raised when bytes are not valid Micromegas JSONB."""


def decode_jsonb(data: bytes) -> Any:
    """Decode JSONB bytes into Python values (dict, list, str, int, float, bool, None).

    Raises `JsonbError` when the bytes are not a complete, valid JSONB value. Non-finite floats
    decode to `float` NaN/inf; decimals to `Decimal`; extensions to tagged strings such as
    `"binary:0a0b"` or dicts for intervals.
    """
    if len(data) < 4:
        raise JsonbError(f"JSONB value too short: {len(data)} bytes")
    value, end = _decode_container(memoryview(data), 0, 0)
    if end != len(data):
        raise JsonbError(f"JSONB value has {len(data) - end} trailing bytes")
    return value


def _u32(data: memoryview, offset: int) -> int:
    if offset + 4 > len(data):
        raise JsonbError(f"JSONB truncated at byte {offset}")
    value: int = struct.unpack_from(">I", data, offset)[0]
    return value


def _decode_container(data: memoryview, offset: int, depth: int) -> tuple[Any, int]:
    if depth > _MAX_DEPTH:
        raise JsonbError(f"JSONB nested deeper than {_MAX_DEPTH} levels")
    header = _u32(data, offset)
    kind = header & _HEADER_TYPE_MASK
    count = header & _HEADER_COUNT_MASK
    offset += 4
    if kind == _SCALAR:
        if count != 1:
            raise JsonbError(f"JSONB scalar container with {count} entries")
        entry = _u32(data, offset)
        return _decode_entry(data, entry, offset + 4, depth)
    if kind == _ARRAY:
        entries_end = offset + 4 * count
        entries = [_u32(data, offset + 4 * index) for index in range(count)]
        items = []
        cursor = entries_end
        for entry in entries:
            item, cursor = _decode_entry(data, entry, cursor, depth)
            items.append(item)
        return items, cursor
    if kind == _OBJECT:
        entries = [_u32(data, offset + 4 * index) for index in range(2 * count)]
        cursor = offset + 8 * count
        keys = []
        for entry in entries[:count]:
            key, cursor = _decode_entry(data, entry, cursor, depth)
            if not isinstance(key, str):
                raise JsonbError("JSONB object key is not a string")
            keys.append(key)
        result: dict[str, Any] = {}
        for key, entry in zip(keys, entries[count:], strict=True):
            result[key], cursor = _decode_entry(data, entry, cursor, depth)
        return result, cursor
    raise JsonbError(f"JSONB container header 0x{header:08x} has an unknown type")


def _payload(data: memoryview, offset: int, length: int) -> memoryview:
    if offset + length > len(data):
        raise JsonbError(f"JSONB payload at byte {offset} runs past the end")
    return data[offset : offset + length]


def _decode_entry(data: memoryview, entry: int, offset: int, depth: int) -> tuple[Any, int]:
    kind = (entry >> _ENTRY_TYPE_SHIFT) & _ENTRY_TYPE_MASK
    length = entry & _ENTRY_LENGTH_MASK
    payload = _payload(data, offset, length)
    end = offset + length
    if kind == _NULL:
        return None, end
    if kind == _TRUE:
        return True, end
    if kind == _FALSE:
        return False, end
    if kind == _STRING:
        try:
            return bytes(payload).decode("utf-8"), end
        except UnicodeDecodeError as error:
            raise JsonbError(f"JSONB string at byte {offset} is not UTF-8") from error
    if kind == _NUMBER:
        return _decode_number(bytes(payload)), end
    if kind == _CONTAINER:
        value, value_end = _decode_container(data[: offset + length], offset, depth + 1)
        if value_end != end:
            raise JsonbError(f"JSONB container at byte {offset} has a wrong length")
        return value, end
    if kind == _EXTENSION:
        return _decode_extension(bytes(payload)), end
    raise JsonbError(f"JSONB entry 0x{entry:08x} has an unknown type")


_INT_FORMATS = {1: ">b", 2: ">h", 4: ">i", 8: ">q"}
_UINT_FORMATS = {1: ">B", 2: ">H", 4: ">I", 8: ">Q"}


def _decode_number(payload: bytes) -> int | float | Decimal:
    if not payload:
        raise JsonbError("JSONB number is empty")
    tag = payload[0]
    body = payload[1:]
    if tag == 0x00:
        return 0
    if tag == 0x10:
        return math.nan
    if tag == 0x20:
        return math.inf
    if tag == 0x30:
        return -math.inf
    if tag in (0x40, 0x50):
        formats = _INT_FORMATS if tag == 0x40 else _UINT_FORMATS
        number_format = formats.get(len(body))
        if number_format is None:
            raise JsonbError(f"JSONB integer has {len(body)} bytes")
        integer: int = struct.unpack(number_format, body)[0]
        return integer
    if tag == 0x60 and len(body) == 8:
        floating: float = struct.unpack(">d", body)[0]
        return floating
    if tag == 0x70 and len(body) in (9, 17, 18, 33, 34):
        value_bytes = {9: 8, 17: 16, 18: 16, 33: 32, 34: 32}[len(body)]
        unscaled = int.from_bytes(body[:value_bytes], "big", signed=True)
        # The 18- and 34-byte forms carry a precision byte before the scale.
        scale = body[-1]
        return Decimal(unscaled).scaleb(-scale)
    raise JsonbError(f"JSONB number tag 0x{tag:02x} with {len(body)} bytes is invalid")


def _decode_extension(payload: bytes) -> Any:
    if not payload:
        raise JsonbError("JSONB extension is empty")
    tag = payload[0]
    body = payload[1:]
    if tag == 0x00:
        return "binary:" + body.hex()
    if tag == 0x10 and len(body) == 4:
        return {"date_days": struct.unpack(">i", body)[0]}
    if tag == 0x20 and len(body) == 8:
        return {"timestamp_us": struct.unpack(">q", body)[0]}
    if tag == 0x30 and len(body) == 9:
        micros, offset = struct.unpack(">qb", body)
        return {"timestamp_us": micros, "offset_hours": offset}
    if tag == 0x40 and len(body) == 16:
        months, days, micros = struct.unpack(">iiq", body)
        return {"months": months, "days": days, "micros": micros}
    raise JsonbError(f"JSONB extension tag 0x{tag:02x} with {len(body)} bytes is invalid")


def encode_jsonb_object(properties: dict[str, str]) -> bytes:
    """Encode a flat string-to-string object as JSONB, the shape of Micromegas properties.

    The demo server and tests use it to produce the bytes a Micromegas server sends.
    """
    keys = [key.encode("utf-8") for key in properties]
    values = [value.encode("utf-8") for value in properties.values()]
    for part in keys + values:
        if len(part) > _ENTRY_LENGTH_MASK:
            raise ValueError(f"property text of {len(part)} bytes exceeds the JSONB limit")
    if len(keys) > _HEADER_COUNT_MASK:
        raise ValueError(f"{len(keys)} properties exceed the JSONB limit")
    header = struct.pack(">I", _OBJECT | len(keys))
    entries = b"".join(struct.pack(">I", (_STRING << 28) | len(part)) for part in keys + values)
    return header + entries + b"".join(keys) + b"".join(values)
