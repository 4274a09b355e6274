"""The whole value of one cell for the detail view: JSON pretty-printed, safe, paged lazily.

`detail_text` builds the full text at once. `detail_pages` yields it in pages, so a view can
show the start of a multi-megabyte value without building the rest. Strings and binaries that
parse as JSON are pretty-printed with two-space indents. Micromegas `jsonb` values, and binaries
that decode completely as JSONB, are decoded first. Other binaries are shown as a hex dump
(offset, 16 bytes in hex, printable ASCII). Unlike grid text, detail text keeps line feeds as
line breaks. `copy_text` and `tsv_field` give the clipboard forms of a value.

Every function takes the display zone `tz` that the grid uses (None, `"local"` or an IANA
name), so timestamps, also those nested in lists and structs, read the same in the grid, the
detail view and the clipboard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from mmtui.results.formatting import (
    full_texts,
    is_jsonb_type,
    jsonb_text,
    jsonb_value,
    replace_invalid_utf8,
)
from mmtui.results.text import NULL_TEXT, safe_text

DEFAULT_PAGE_CHARS = 64 * 1024
"""Characters per page of `detail_pages`: a few screens, cheap to make safe and render."""

JSON_PRETTY_LIMIT = 8 * 1024 * 1024
"""Largest text parsed as JSON for pretty-printing; longer values show as they are."""

_HEX_ROW_BYTES = 16

_TSV_QUOTED_CHARS = '\t\r\n"'
"""Characters that make `tsv_field` wrap a field in double quotes."""

_TSV_SEPARATORS_RE = re.compile("([\t\r\n])")


def detail_text(scalar: Any, tz: str | None = None) -> str:
    """Return the whole value of `scalar` as safe text (JSON pretty-printed when it parses)."""
    return "".join(detail_pages(scalar, tz=tz))


def copy_text(scalar: Any, tz: str | None = None) -> str:
    """Return the whole value of `scalar` for the clipboard: the detail text with real tabs.

    Tabs and line feeds stay as they are (a CRLF becomes a line feed), but ESC and every other
    control character stay visible symbols, because the clipboard ends up pasted in terminals.
    """
    raw = "".join(_raw_pages(scalar, DEFAULT_PAGE_CHARS, tz)).replace("\r\n", "\n")
    return "\n".join(_safe_keeping_tabs(line) for line in raw.split("\n"))


def tsv_field(scalar: Any, tz: str | None = None) -> str:
    """Return `scalar` as one field of a TSV row, quoted the way spreadsheets read pasted TSV.

    A field that contains a tab, a line break or a double quote is wrapped in double quotes,
    with inner quotes doubled, as in CSV. Any other field is copied as is, backslashes included.
    JSON stays compact. Control characters other than tab, CR and LF become visible symbols,
    because the clipboard ends up pasted in terminals.
    """
    scalar = _unwrap(scalar)
    if scalar is None or not scalar.is_valid:
        return NULL_TEXT
    text = _safe_keeping_separators(_scalar_text(scalar, tz))
    if any(char in text for char in _TSV_QUOTED_CHARS):
        return '"' + text.replace('"', '""') + '"'
    return text


def _safe_keeping_separators(text: str) -> str:
    """Return `text` made safe by `safe_text`, but with tabs, CRs and LFs kept."""
    parts = _TSV_SEPARATORS_RE.split(text)
    # re.split with a group puts the separators at the odd indexes.
    return "".join(part if index % 2 else safe_text(part) for index, part in enumerate(parts))


def _safe_keeping_tabs(line: str) -> str:
    return "\t".join(safe_text(part) for part in line.split("\t"))


def detail_pages(
    scalar: Any, page_chars: int = DEFAULT_PAGE_CHARS, tz: str | None = None
) -> Iterator[str]:
    """Yield the safe detail text of `scalar` in pages of about `page_chars` characters.

    Work is done page by page: taking the first page of a 5M-character value costs one page.
    A page can be a little longer than `page_chars` where control characters become escapes.
    Line feeds are kept as line breaks (the view splits lines on them); every other control
    character is made visible as `safe_text` does.
    """
    if page_chars <= 0:
        raise ValueError(f"page_chars must be positive, got {page_chars}")
    for raw in _raw_pages(scalar, page_chars, tz):
        yield "\n".join(safe_text(line) for line in raw.split("\n"))


def _unwrap(scalar: Any) -> Any:
    """Unwrap extension and plain dictionary scalars; None for a dictionary's null entry."""
    # A valid index can still point at a null entry.
    while scalar is not None and scalar.is_valid:
        data_type = scalar.type
        wrapped_extension = (
            isinstance(data_type, pa.ExtensionType) and data_type.extension_name != "arrow.uuid"
        )
        plain_dictionary = pa.types.is_dictionary(data_type) and not is_jsonb_type(data_type)
        if not (wrapped_extension or plain_dictionary):
            break
        scalar = scalar.value
    return scalar


def _raw_pages(scalar: Any, page_chars: int, tz: str | None) -> Iterator[str]:
    scalar = _unwrap(scalar)
    if scalar is None or not scalar.is_valid:
        yield NULL_TEXT
        return
    data_type = scalar.type
    if is_jsonb_type(data_type):
        value = scalar.value
        if value is None or not value.is_valid:
            yield NULL_TEXT
            return
        yield from _split(jsonb_text(value.as_py(), indent=2), page_chars)
        return
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or (pa.types.is_string_view(data_type))
    ):
        yield from _split(_pretty_json_or_same(_string_value(scalar)), page_chars)
        return
    if _is_binary(data_type):
        data: bytes = scalar.as_py()
        pretty = _pretty_json_bytes(data)
        if pretty is None and not pa.types.is_fixed_size_binary(data_type):
            pretty = _pretty_jsonb_bytes(data)
        if pretty is not None:
            yield from _split(pretty, page_chars)
        else:
            yield from _hex_dump_pages(data, page_chars)
        return
    yield from _split(_pretty_json_or_same(_scalar_text(scalar, tz)), page_chars)


def _string_value(scalar: Any) -> str:
    """Return a string scalar's value; invalid UTF-8 sequences become U+FFFD.

    Arrow does not check the UTF-8 of the strings a server sends, and `as_py` raises on
    invalid bytes.
    """
    try:
        return str(scalar.as_py())
    except UnicodeDecodeError:
        return str(replace_invalid_utf8(pa.repeat(scalar, 1))[0].as_py())


def _scalar_text(scalar: Any, tz: str | None) -> str:
    try:
        # pa.repeat builds the array in C++ (MakeArrayFromScalar), which handles every type;
        # pa.array([scalar]) fails on some nested scalars.
        array = pa.repeat(scalar, 1)
    except (pa.ArrowException, TypeError, ValueError, SystemError):
        try:
            return str(scalar.as_py())
        except Exception:
            return f"<unprintable {scalar.type}>"
    return full_texts(array, tz)[0]


def _is_binary(data_type: pa.DataType) -> bool:
    types = pa.types
    return bool(
        types.is_binary(data_type)
        or types.is_large_binary(data_type)
        or types.is_fixed_size_binary(data_type)
        or types.is_binary_view(data_type)
    )


def _split(text: str, page_chars: int) -> Iterator[str]:
    if not text:
        yield ""
        return
    for start in range(0, len(text), page_chars):
        yield text[start : start + page_chars]


def _looks_like_json(text: str) -> bool:
    head = text[:64].lstrip()
    return head[:1] in ("{", "[")


def _pretty_json_or_same(text: str) -> str:
    if len(text) > JSON_PRETTY_LIMIT or not _looks_like_json(text):
        return text
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return json.dumps(parsed, ensure_ascii=False, indent=2)


def _pretty_json_bytes(data: bytes) -> str | None:
    if len(data) > JSON_PRETTY_LIMIT or data.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return json.dumps(parsed, ensure_ascii=False, indent=2)


def _pretty_jsonb_bytes(data: bytes) -> str | None:
    if len(data) > JSON_PRETTY_LIMIT:
        return None
    is_jsonb, value = jsonb_value(data)
    if not is_jsonb:
        return None
    return json.dumps(value, ensure_ascii=False, default=str, indent=2)


def _hex_dump_pages(data: bytes, page_chars: int) -> Iterator[str]:
    if not data:
        yield "(0 bytes)"
        return
    row_chars = len(_hex_row(data[:_HEX_ROW_BYTES], 0)) + 1
    rows_per_page = max(1, page_chars // row_chars)
    for page_start in range(0, len(data), rows_per_page * _HEX_ROW_BYTES):
        page_end = min(len(data), page_start + rows_per_page * _HEX_ROW_BYTES)
        rows = [
            _hex_row(data[offset : offset + _HEX_ROW_BYTES], offset)
            for offset in range(page_start, page_end, _HEX_ROW_BYTES)
        ]
        yield "\n".join(rows) + ("\n" if page_end < len(data) else "")


def _hex_row(chunk: bytes, offset: int) -> str:
    hex_part = " ".join(f"{byte:02x}" for byte in chunk).ljust(3 * _HEX_ROW_BYTES - 1)
    text_part = "".join(chr(byte) if 0x20 <= byte < 0x7F else "." for byte in chunk)
    return f"{offset:08x}  {hex_part}  |{text_part}|"
