"""JSONB encoding of property maps, the binary layout Micromegas stores `properties` columns in.

Micromegas writes properties with the Rust `jsonb` crate (the format of Databend). An object is
a big-endian u32 header (`0x40000000 | count`), one u32 entry per key, one per value (type tag in
the high nibble, byte length in the low 28 bits), then the key bytes, then the value bytes. Keys
are sorted. Only objects of string values are written here, which is all the demo stores.
"""

from __future__ import annotations

import struct

OBJECT_CONTAINER_TAG = 0x40000000
ARRAY_CONTAINER_TAG = 0x80000000
SCALAR_CONTAINER_TAG = 0x20000000
CONTAINER_HEADER_TYPE_MASK = 0xE0000000
CONTAINER_HEADER_LEN_MASK = 0x1FFFFFFF

NULL_TAG = 0x00000000
STRING_TAG = 0x10000000
NUMBER_TAG = 0x20000000
FALSE_TAG = 0x30000000
TRUE_TAG = 0x40000000
CONTAINER_TAG = 0x50000000
JENTRY_TYPE_MASK = 0x70000000
JENTRY_LENGTH_MASK = 0x0FFFFFFF


def encode_object(properties: dict[str, str]) -> bytes:
    """Encode a map of string keys to string values as a JSONB object."""
    keys = sorted(properties)
    encoded_keys = [key.encode("utf-8") for key in keys]
    encoded_values = [properties[key].encode("utf-8") for key in keys]
    header = struct.pack(">I", OBJECT_CONTAINER_TAG | len(keys))
    entries = b"".join(
        struct.pack(">I", STRING_TAG | len(data)) for data in [*encoded_keys, *encoded_values]
    )
    return header + entries + b"".join(encoded_keys) + b"".join(encoded_values)


def decode_object(data: bytes) -> dict[str, str | None]:
    """Decode a JSONB object. Booleans come back as "true"/"false", null as None.

    Raises ValueError when the bytes are not a JSONB object.
    """
    if len(data) < 4:
        raise ValueError("JSONB value is shorter than its 4-byte header")
    (header,) = struct.unpack_from(">I", data, 0)
    if header & CONTAINER_HEADER_TYPE_MASK != OBJECT_CONTAINER_TAG:
        raise ValueError("JSONB value is not an object")
    count = header & CONTAINER_HEADER_LEN_MASK
    entries = struct.unpack_from(f">{2 * count}I", data, 4)
    offset = 4 + 8 * count
    fields: list[bytes] = []
    for entry in entries:
        length = entry & JENTRY_LENGTH_MASK
        fields.append(data[offset : offset + length])
        offset += length
    result: dict[str, str | None] = {}
    for index in range(count):
        key = fields[index].decode("utf-8")
        entry = entries[count + index]
        result[key] = _decode_scalar(entry & JENTRY_TYPE_MASK, fields[count + index])
    return result


def _decode_scalar(tag: int, payload: bytes) -> str | None:
    if tag == STRING_TAG:
        return payload.decode("utf-8")
    if tag == NULL_TAG:
        return None
    if tag == TRUE_TAG:
        return "true"
    if tag == FALSE_TAG:
        return "false"
    # NOTE: numbers and nested containers come back as None because the demo never writes them.
    return None
