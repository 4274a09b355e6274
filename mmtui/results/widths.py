"""Column display widths measured with Arrow compute, one record batch at a time.

A string column's width is the maximum, over its values, of the cells its safe display text
takes (see `mmtui.results.text.safe_text`). ASCII values take `utf8_length` cells, because every
ASCII control is shown as one Control Pictures symbol. Other values are measured without a
Python loop: the code point count, plus one per East Asian wide or emoji code point, minus one
per zero-width code point, plus seven per `<U+XXXX>` escape, with Rich's rules for ZWJ and VS16.
The result matches `rich.cells.cell_len(safe_text(value))` except for rare sequences (a ZWJ or
VS16 after an escaped character, or several zero-width characters between a base and VS16).

`string_max_cells` needs only the widest value, so it first bounds widths by UTF-8 byte
lengths. An ASCII value takes as many cells as it has bytes, and a value without escaped
characters never takes more cells than bytes. So only values longer in bytes than the width
already known are measured in full.

Other types are measured from the length of their formatted text, which is fixed per type and
unit for timestamps and bounded by min/max for integers and decimals.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mmtui.results.text import ESCAPED_WIDE_CODEPOINTS

logger = logging.getLogger(__name__)

MAX_COLUMN_CELLS = 80
"""Widest a column gets in the grid. One column never exceeds a classic 80-column terminal, so
other columns stay reachable. Longer values end with an ellipsis and show whole in the detail
view."""

MAX_HEADER_CELLS = 32
"""Widest a column name alone makes its column. DataFusion names a computed column after its
expression (`count(DISTINCT log_entries.process_id)`, a whole CASE), and such a name would
otherwise widen a column of short numbers past the screen. A longer name ends with an
ellipsis in the header."""

_ZWJ = 0x200D
_VS16 = 0xFE0F
_SURROGATES = range(0xD800, 0xE000)


def _class_of(ranges: list[tuple[int, int]]) -> str:
    parts = []
    for start, end in ranges:
        if start == end:
            parts.append(f"\\x{{{start:X}}}")
        else:
            parts.append(f"\\x{{{start:X}}}-\\x{{{end:X}}}")
    return "[" + "".join(parts) + "]"


def _ranges_without(ranges: list[tuple[int, int]], excluded: set[int]) -> list[tuple[int, int]]:
    result: list[tuple[int, int]] = []
    for start, end in ranges:
        run_start: int | None = None
        for code in range(start, end + 1):
            if code in excluded or code in _SURROGATES:
                if run_start is not None:
                    result.append((run_start, code - 1))
                    run_start = None
            elif run_start is None:
                run_start = code
        if run_start is not None:
            result.append((run_start, end))
    return result


class _Patterns:
    """RE2 patterns derived from Rich's cell table for the running Unicode version."""

    def __init__(self) -> None:
        # NOTE: rich.cells reads this same private table (rich 14.2+); it is read here so the
        # vectorised widths follow the Unicode version Rich renders with.
        from rich._unicode_data import load as load_cell_table

        table = load_cell_table("auto")
        wide = [(start, end) for start, end, width in table.widths if width == 2]
        zero = [(start, end) for start, end, width in table.widths if width == 0]
        # Escaped characters and C0 controls are shown as visible text, so they are not zero.
        escaped = set(ESCAPED_WIDE_CODEPOINTS) | set(range(0x20)) | {0x7F}
        zero = _ranges_without(zero, escaped)
        wide = _ranges_without(wide, escaped)
        self.wide = _class_of(wide)
        self.zero = _class_of(zero)
        self.escaped = _class_of([(code, code) for code in sorted(ESCAPED_WIDE_CODEPOINTS)])
        # Rich skips the character after a zero width joiner entirely.
        self.zwj_wide = f"\\x{{{_ZWJ:X}}}{self.wide}"
        self.zwj_narrow = f"\\x{{{_ZWJ:X}}}[^\\x{{{_ZWJ:X}}}{self.wide[1:-1]}{self.zero[1:-1]}]"
        # Rich widens a narrow emoji-capable character followed by VS16 to two cells.
        narrow_to_wide = sorted(ord(c) for c in table.narrow_to_wide if len(c) == 1)
        self.vs16 = _class_of([(code, code) for code in narrow_to_wide]) + f"\\x{{{_VS16:X}}}"


@functools.cache
def _patterns() -> _Patterns:
    return _Patterns()


# Every code point below U+0300 takes one cell once made safe, except the C1 controls, which
# become eight-cell escapes. So only values with a character in this class need full measuring.
_NEEDS_MEASURING = "[\\x{80}-\\x{9F}\\x{300}-\\x{10FFFF}]"


def string_cell_widths(array: Any) -> Any:
    """Return an int64 array of display widths in cells for a string or large_string array.

    Nulls stay null. Vectorised: no Python code runs per value.
    """
    lengths = pc.cast(pc.utf8_length(array), pa.int64())
    if len(array) == 0:
        return lengths
    # Two cheap passes split off the values whose width is their code point count: ASCII first,
    # then Latin text. Only the rest (CJK, emoji, combining marks, escapes) is measured in full.
    non_ascii_mask = pc.invert(pc.string_is_ascii(array)).fill_null(False)
    if not pc.any(non_ascii_mask).as_py():
        return lengths
    non_ascii = pc.filter(array, non_ascii_mask)
    complex_mask = pc.match_substring_regex(non_ascii, _NEEDS_MEASURING).fill_null(False)
    if not pc.any(complex_mask).as_py():
        return lengths
    non_ascii_widths = pc.replace_with_mask(
        pc.cast(pc.utf8_length(non_ascii), pa.int64()),
        complex_mask,
        _complex_widths(pc.filter(non_ascii, complex_mask)),
    )
    # replace_with_mask consumes the replacements in order, one per true mask slot.
    return pc.replace_with_mask(lengths, non_ascii_mask, non_ascii_widths)


def _complex_widths(subset: Any) -> Any:
    patterns = _patterns()
    widths = pc.cast(pc.utf8_length(subset), pa.int64())
    widths = pc.add(widths, _count(subset, patterns.wide))
    widths = pc.subtract(widths, _count(subset, patterns.zero))
    widths = pc.add(widths, pc.multiply(_count(subset, patterns.escaped), 7))
    if pc.any(pc.match_substring_regex(subset, "[\\x{200D}\\x{FE0F}]")).as_py():
        widths = pc.subtract(widths, pc.multiply(_count(subset, patterns.zwj_wide), 2))
        widths = pc.subtract(widths, _count(subset, patterns.zwj_narrow))
        widths = pc.add(widths, _count(subset, patterns.vs16))
    return pc.max_element_wise(widths, 0)


def string_max_cells(array: Any, known_cells: int = 0, cap: int | None = None) -> int:
    """Return the widest display width in cells of a string or large_string array.

    `array` may be a ChunkedArray. Returns `known_cells` instead when no value is wider, and 0
    for an empty or all-null array when `known_cells` is 0. The result is that of
    `string_cell_widths`, which runs only on values longer than `known_cells` in UTF-8 bytes, or
    on every value when the array contains escaped characters. With `cap`, a width of `cap` or
    more may be returned as `cap`, because an ASCII value of `cap` bytes or more ends the
    measuring.
    """
    if len(array) == 0:
        return known_cells
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    byte_lengths = pc.binary_length(array)
    max_bytes = _max_or_zero(byte_lengths)
    if cap is not None and known_cells < cap <= max_bytes:
        # An ASCII value takes one cell per byte. On log messages this settles the column in
        # three Arrow calls, where measuring every value of a first batch took about 3 ms
        # (2-core VM).
        long_values = pc.greater_equal(byte_lengths, cap)
        if pc.any(pc.and_(long_values, pc.string_is_ascii(array))).as_py():
            return cap
    data = [_value_bytes(chunk) for chunk in chunks if len(chunk) > 0]
    if all(part.size == 0 or int(part.max()) < 0x80 for part in data):
        # ASCII text: one cell per byte, control characters included (each becomes one
        # Control Pictures symbol).
        return max(known_cells, max_bytes)
    if any(_has_escaped_codepoints(part) for part in data):
        # An escape takes 8 cells for a 2 or 3 byte character, so byte lengths bound nothing.
        candidates = array
    elif max_bytes <= known_cells:
        return known_cells
    else:
        candidates = pc.filter(array, pc.greater(byte_lengths, known_cells))
    if isinstance(candidates, pa.ChunkedArray):
        widest = max((_max_or_zero(string_cell_widths(c)) for c in candidates.chunks), default=0)
    else:
        widest = _max_or_zero(string_cell_widths(candidates))
    return max(known_cells, widest)


def _max_or_zero(values: Any) -> int:
    if len(values) == 0:
        return 0
    widest = pc.max(values).as_py()
    return int(widest) if widest is not None else 0


def _value_bytes(array: Any) -> npt.NDArray[np.uint8]:
    """Return the UTF-8 bytes spanned by the values of a string or large_string array, uncopied.

    Null values may own bytes too, which only makes the callers' checks more conservative.
    """
    _validity, offsets_buffer, data_buffer = array.buffers()
    offset_type = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)
    start = int(offsets[array.offset])
    stop = int(offsets[array.offset + len(array)])
    if data_buffer is None or stop <= start:
        return np.empty(0, dtype=np.uint8)
    return np.frombuffer(data_buffer, dtype=np.uint8, count=stop - start, offset=start)


def _escape_encodings() -> dict[int, list[tuple[int, npt.NDArray[np.int64]]]]:
    """Map the lead byte of each escaped code point's UTF-8 encoding to its encodings.

    Each entry is (encoding length, encodings as big-endian integers).
    """
    by_lead: dict[int, dict[int, list[int]]] = {}
    for code in ESCAPED_WIDE_CODEPOINTS:
        encoded = chr(code).encode()
        lengths = by_lead.setdefault(encoded[0], {})
        lengths.setdefault(len(encoded), []).append(int.from_bytes(encoded, "big"))
    return {
        lead: [
            (length, np.array(sorted(values), dtype=np.int64))
            for length, values in sorted(lengths.items())
        ]
        for lead, lengths in sorted(by_lead.items())
    }


_ESCAPE_ENCODINGS = _escape_encodings()


def _has_escaped_codepoints(data: npt.NDArray[np.uint8]) -> bool:
    """Tell whether UTF-8 `data` contains a character that `safe_text` shows as `<U+XXXX>`."""
    for lead, encodings in _ESCAPE_ENCODINGS.items():
        positions = np.flatnonzero(data == lead)
        if positions.size == 0:
            continue
        for length, values in encodings:
            starts = positions[positions + length <= data.size]
            window = np.zeros(starts.size, dtype=np.int64)
            for index in range(length):
                window = (window << 8) | data[starts + index]
            if np.isin(window, values).any():
                return True
    return False


def _count(array: Any, pattern: str) -> Any:
    return pc.cast(pc.count_substring_regex(array, pattern), pa.int64())
