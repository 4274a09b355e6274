"""Display width of one column of record batches (an Array or ChunkedArray), in cells, capped.

Strings are measured with Arrow compute (`widths.string_max_cells`), in full only where a
value's UTF-8 byte length exceeds the width already known. Dictionary columns measure their
dictionary once and take the widths of the used entries.
Numbers, timestamps, dates, times and durations are measured from the formatted text of their
min and max, which bound every other value's text. Binary, nested and other rare types are
measured on a sample of rows from each end of the batch: an estimate, corrected as later
batches arrive and whenever the detail view shows the whole value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmtui.results.formatting import (
    FRACTION_DIGITS,
    LEVEL_NAMES,
    OFFSET_CELLS,
    TICKS_PER_SECOND,
    TIMESTAMP_CELLS,
    format_array,
    is_jsonb_type,
    jsonb_text,
)
from mmtui.results.text import NULL_TEXT, cell_width, display_text
from mmtui.results.widths import MAX_COLUMN_CELLS, string_cell_widths, string_max_cells

logger = logging.getLogger(__name__)

_LEVEL_CELLS = max(len(name) for name in LEVEL_NAMES.values())
"""Width of a Micromegas level column, which shows level names."""

SAMPLE_ROWS = 64
"""Rows formatted from each end of a batch to estimate the width of binary and nested columns."""


@dataclass
class DictionaryMemo:
    """A column's last dictionary whose entries all fit a width, so its copies need no check.

    A Flight stream sends a dictionary column's dictionary again with every batch, usually the
    same. Checking the entries of a group of copies took about 70 µs per column (2-core VM),
    and comparing a copy with the remembered one takes about 1 µs.
    """

    checked: tuple[Any, int] | None = None
    """(dictionary, cells). One attribute, so another measuring thread never pairs a new
    dictionary with the width an older one was checked at."""


def column_cells(
    array: Any, *, level: bool = False, known_cells: int = 0, memo: DictionaryMemo | None = None
) -> int:
    """Return a column's width in cells once `array` (an Array or ChunkedArray) is seen.

    That is the widest display text of `array`, or `known_cells` (the width already measured
    for the column) when it is wider. String values no wider than `known_cells` in UTF-8 bytes
    are skipped, and once `known_cells` reaches the cap nothing is measured. The result is at
    most `MAX_COLUMN_CELLS`. `level` measures a Micromegas level column by its level names.
    Never raises.
    """
    if len(array) == 0:
        return min(known_cells, MAX_COLUMN_CELLS)
    if known_cells >= MAX_COLUMN_CELLS:
        return MAX_COLUMN_CELLS
    if isinstance(array, pa.ChunkedArray) and not _is_string_like(array.type):
        if pa.types.is_dictionary(array.type):
            try:
                return min(_dictionary_cells(array, known_cells, memo), MAX_COLUMN_CELLS)
            except Exception:
                logger.exception(
                    "measuring a %s column failed, so each chunk is measured", array.type
                )
        if level and pa.types.is_integer(array.type):
            return min(max(_level_cells(array), known_cells), MAX_COLUMN_CELLS)
        if _is_fixed_width_temporal(array.type) and _in_year_range(array):
            # One range check over every chunk: in years 0001-9999, the type alone sets the width.
            return min(max(_fixed_temporal_cells(array.type), known_cells), MAX_COLUMN_CELLS)
        # Chunks of other types are measured one by one, exactly as batch by batch: some
        # kinds are sampled per chunk.
        cells = known_cells
        for chunk in array.chunks:
            cells = column_cells(chunk, level=level, known_cells=cells)
        return cells
    try:
        cells = _measure(array, level, known_cells, memo)
    except Exception:
        logger.exception("measuring a %s column failed; using a sample", array.type)
        cells = _sampled_cells(array)
    if array.null_count:
        cells = max(cells, cell_width(NULL_TEXT))
    return min(max(cells, known_cells), MAX_COLUMN_CELLS)


def _dictionary_cells(array: Any, known_cells: int, memo: DictionaryMemo | None = None) -> int:
    """Return the widest used entry of a dictionary Array or ChunkedArray, or `known_cells`.

    Only entries that some row uses count, and nulls take the width of the null text. Each
    run of chunks with equal dictionaries is measured once, with the rows' indices together.
    The result equals measuring the chunks one by one.
    """
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    runs = _dictionary_runs(chunks)
    dictionaries = [dictionary for dictionary, _ in runs]
    checked = memo.checked if memo is not None else None
    if (
        checked is not None
        and checked[1] <= known_cells
        and all(dictionary.equals(checked[0]) for dictionary in dictionaries)
    ):
        return known_cells
    if _string_entries_fit(dictionaries, array.type, known_cells):
        if memo is not None and dictionaries:
            memo.checked = (dictionaries[-1], known_cells)
        return known_cells

    cells = known_cells
    for dictionary, run_chunks in runs:
        if len(dictionary) == 0:
            # Every row of such a chunk is null.
            cells = max(cells, 1)
            continue
        widths = _dictionary_entry_widths(dictionary, array.type)
        indices = pa.chunked_array([chunk.indices for chunk in run_chunks], array.type.index_type)
        cells = max(cells, _widest_used_entry(widths, indices, cells))

    if array.null_count:
        cells = max(cells, cell_width(NULL_TEXT))
    return cells


WIDE_ENTRY_PROBES = 8
"""Dictionary entries wider than the known width that are looked up one by one in the indices.

Early in a stream, the first batch sets a dictionary column's width, and a few entries of the
dictionary are wider. Finding the widest of them that some row uses takes one comparison of
the indices per entry: 0.2 ms for 4 entries over 530,000 rows, where gathering every row's
width (`take`) and taking the maximum took 1.0 ms (2-core VM). With more wide entries, as on
a first measurement, one gather replaces the comparisons."""


def _widest_used_entry(widths: Any, indices: Any, known_cells: int) -> int:
    """Return the widest entry of `widths` (int64, one per dictionary entry) that `indices` use.

    Returns `known_cells` when no used entry is wider. Null indices use no entry.
    """
    # A null entry becomes NaN here, and NaN is never greater.
    entry_widths = widths.to_numpy(zero_copy_only=False)
    wider = np.flatnonzero(entry_widths > known_cells)
    # Arrow allows a dictionary longer than its index type can reach (int8 indices, 200
    # entries): no row uses the entries beyond, and they cannot be probed as index values.
    wider = wider[wider <= np.iinfo(indices.type.to_pandas_dtype()).max]
    if len(wider) == 0:
        return known_cells
    if len(wider) > WIDE_ENTRY_PROBES:
        return max(known_cells, _max_or_zero(pc.take(widths, indices)))

    # Widest first, so the first entry in use is the widest used entry.
    for entry in sorted(wider.tolist(), key=lambda entry: -entry_widths[entry]):
        if pc.any(pc.equal(indices, pa.scalar(entry, indices.type))).as_py():
            return int(entry_widths[entry])
    return known_cells


def _dictionary_runs(chunks: list[Any]) -> list[tuple[Any, list[Any]]]:
    """Group the non-empty dictionary `chunks` into runs of consecutive equal dictionaries.

    A Flight stream sends the dictionary again with every batch. In the demo's `log_entries`,
    the `block_id` dictionary of 15,341 entries came with each batch, and measuring every copy
    took 57 ms per 100 batches (2-core VM). Comparing a copy with the one before is a memory
    comparison.
    """
    runs: list[tuple[Any, list[Any]]] = []
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        dictionary = chunk.dictionary
        if runs and runs[-1][0].equals(dictionary):
            runs[-1][1].append(chunk)
        else:
            runs.append((dictionary, [chunk]))
    return runs


def _string_entries_fit(dictionaries: list[Any], data_type: pa.DataType, known_cells: int) -> bool:
    """Tell whether no entry of the string `dictionaries` is wider than `known_cells`.

    The dictionaries are measured together, as one array: measuring each one on its own took
    about 40 µs (2-core VM), mostly the fixed cost of each Arrow call. When every entry fits,
    so does every row, and no index needs reading. False for other value types.
    """
    if known_cells <= 0 or not _is_string_like(data_type.value_type):
        return False
    if not dictionaries:
        return True
    values = pa.concat_arrays(dictionaries)
    if pa.types.is_string_view(values.type):
        values = pc.cast(values, pa.string())
    return bool(string_max_cells(values, known_cells) <= known_cells)


def _is_string_like(data_type: pa.DataType) -> bool:
    types = pa.types
    return bool(
        types.is_string(data_type)
        or types.is_large_string(data_type)
        or types.is_string_view(data_type)
    )


def _measure(array: Any, level: bool, known_cells: int, memo: DictionaryMemo | None) -> int:
    data_type = array.type
    types = pa.types
    if level and types.is_integer(data_type):
        return _level_cells(array)
    if isinstance(data_type, pa.ExtensionType):
        return _sampled_cells(array)
    if _is_string_like(data_type):
        if pa.types.is_string_view(data_type):
            array = pc.cast(array, pa.string())
        return string_max_cells(array, known_cells, cap=MAX_COLUMN_CELLS)
    if types.is_dictionary(data_type):
        return _dictionary_cells(array, known_cells, memo)
    if types.is_null(data_type):
        return 1
    if types.is_boolean(data_type):
        return len("false")
    if types.is_floating(data_type):
        return _max_or_zero(pc.utf8_length(pc.cast(array, pa.string())))
    if _is_fixed_width_temporal(data_type) and _in_year_range(array):
        return _fixed_temporal_cells(data_type)
    if (
        types.is_integer(data_type)
        or types.is_decimal(data_type)
        or types.is_timestamp(data_type)
        or types.is_date(data_type)
        or types.is_time(data_type)
        or types.is_duration(data_type)
    ):
        return _min_max_cells(array)
    return _sampled_cells(array)


def _string_widths(array: Any) -> Any:
    if pa.types.is_string_view(array.type):
        array = pc.cast(array, pa.string())
    return string_cell_widths(array)


def _max_or_zero(values: Any) -> int:
    if len(values) == 0:
        return 0
    widest = pc.max(values).as_py()
    return int(widest) if widest is not None else 0


def _dictionary_entry_widths(dictionary: Any, data_type: pa.DataType) -> Any:
    """Return the width of each entry of the dictionary of a `data_type` column, as int64."""
    if _is_string_like(dictionary.type):
        return _string_widths(dictionary)
    # jsonb and other dictionaries are small in practice: format each entry once.
    if is_jsonb_type(data_type):
        texts = [
            NULL_TEXT if value is None else display_text(jsonb_text(value), MAX_COLUMN_CELLS)
            for value in dictionary.to_pylist()
        ]
    else:
        texts = format_array(dictionary, MAX_COLUMN_CELLS)
    return pa.array([cell_width(text) for text in texts], pa.int64())


def _level_cells(array: Any) -> int:
    """Return the width of a level column: its level names, or a number outside 1-6 in full."""
    bounds = pc.min_max(array)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is None or (min(LEVEL_NAMES) <= low and high <= max(LEVEL_NAMES)):
        return _LEVEL_CELLS
    return max(_LEVEL_CELLS, _min_max_cells(array))


def _is_fixed_width_temporal(data_type: pa.DataType) -> bool:
    """Tell whether `data_type` is a timestamp or a date, whose text has one width in years
    0001-9999."""
    return bool(pa.types.is_timestamp(data_type) or pa.types.is_date(data_type))


def _fixed_temporal_cells(data_type: pa.DataType) -> int:
    """Return the width of a timestamp or date in years 0001-9999."""
    if pa.types.is_date(data_type):
        return len("YYYY-MM-DD")
    unit = data_type.unit
    fraction = FRACTION_DIGITS[unit] + (1 if FRACTION_DIGITS[unit] else 0)
    # Room for the UTC offset even on naive columns, which gain one when a display zone is
    # chosen.
    return TIMESTAMP_CELLS + fraction + OFFSET_CELLS


def _in_year_range(array: Any) -> bool:
    """Return True when every value of a timestamp or date array (or ChunkedArray) falls in
    years 0001-9999, where widths are fixed."""
    data_type = array.type
    if pa.types.is_timestamp(data_type) and data_type.unit == "ns":
        # An int64 count of nanoseconds reaches only years 1677 to 2262: no scan is needed.
        return True
    if pa.types.is_date32(data_type):
        ticks_per_day = 1
    elif pa.types.is_date64(data_type):
        ticks_per_day = 86_400_000
    else:
        ticks_per_day = TICKS_PER_SECOND[data_type.unit] * 86_400
    bounds = pc.min_max(array)
    if not bounds["min"].is_valid:
        return True
    # `.value` is the stored integer: `as_py` would raise beyond year 9999.
    low, high = bounds["min"].value, bounds["max"].value
    # Days from 1970-01-01 to 0001-01-02 and to 9999-12-30.
    return bool(low >= -719_161 * ticks_per_day and high <= 2_932_895 * ticks_per_day)


def _min_max_cells(array: Any) -> int:
    """Measure the formatted min and max, whose texts are the widest of the column."""
    data_type = array.type
    temporal = not (pa.types.is_integer(data_type) or pa.types.is_decimal(data_type))
    if temporal:
        # Temporal values are compared as integers: `as_py` would raise beyond year 9999.
        narrow = pa.types.is_date32(data_type) or pa.types.is_time32(data_type)
        int_type = pa.int32() if narrow else pa.int64()
        bounds = pc.min_max(array.view(int_type)).as_py()
    else:
        bounds = pc.min_max(array).as_py()
    values = [value for value in (bounds["min"], bounds["max"]) if value is not None]
    if not values:
        return 1
    if temporal:
        extremes = pa.array(values, int_type).view(data_type)
    else:
        extremes = pa.array(values, data_type)
    texts = format_array(extremes, MAX_COLUMN_CELLS)
    cells = max(cell_width(text) for text in texts)
    if array.null_count:
        cells = max(cells, 1)
    return cells


def _sampled_cells(array: Any) -> int:
    length = len(array)
    if length <= 2 * SAMPLE_ROWS:
        sample = array
    else:
        sample = pa.concat_arrays([array.slice(0, SAMPLE_ROWS), array.slice(length - SAMPLE_ROWS)])
    texts = format_array(sample, MAX_COLUMN_CELLS)
    return max((cell_width(text) for text in texts), default=0)
