"""Display text for any Arrow value: the one place that turns Arrow data into grid cells.

`format_array` formats a whole array (in practice the visible slice of a column), with Arrow
compute where the type allows it (numbers, strings, in-range timestamps and dates) and Python
per value otherwise. It never raises: a value that cannot be formatted shows as
`<unprintable TYPE>`, and every text goes through `safe_text`.

Rules per type:
- timestamps: `YYYY-MM-DD HH:MM:SS` plus as many fraction digits as the unit holds (3 ms, 6 us,
  9 ns), plus the UTC offset (`+00:00`) when the column has a time zone or a display zone is
  requested. The grid writes `+00:00` as `Z` with `compact_utc_offset`. Values outside years
  0001-9999 are formatted exactly from the integer (proleptic Gregorian calendar, shown in UTC).
- durations: `[-][Nd ]HH:MM:SS[.fraction]`, with days of 24 hours.
- month-day-nano intervals: years and months, days, then a clock of any number of hours,
  each part with its own sign (`1y 2mo 3d 04:05:06.5`, `-1mo +2d`, zero as `00:00:00`).
- binary: `0x` and hex digits, or JSON text when the bytes are UTF-8 JSON or decode completely
  as Micromegas JSONB (plain, large and view binaries, and dictionaries of them). Micromegas
  `jsonb` columns (dictionary of binary) always decode to JSON text.
- nested values (list, struct, map, union): JSON-like text, strings quoted.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mmtui.results.jsonb import JsonbError, decode_jsonb
from mmtui.results.text import NULL_TEXT, display_text
from mmtui.results.widths import MAX_COLUMN_CELLS
from mmtui.timerange import utc_offset_text

logger = logging.getLogger(__name__)

LEVEL_NAMES: dict[int, str] = {1: "FATAL", 2: "ERROR", 3: "WARN", 4: "INFO", 5: "DEBUG", 6: "TRACE"}
"""Micromegas log levels; lower is more severe."""

LOCAL_TZ = "local"
"""Display zone name meaning the zone of this machine."""

TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
FRACTION_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
OFFSET_CELLS = len("+00:00")
TIMESTAMP_CELLS = len("YYYY-MM-DD HH:MM:SS")

# Values within these days since 1970-01-01 are formatted by Arrow. The day of margin on each side
# of 0001-01-01 and 9999-12-31 leaves room for any UTC offset.
_MIN_SAFE_DAY = -719_162 + 1
_MAX_SAFE_DAY = 2_932_896 - 1
_SECONDS_PER_DAY = 86_400
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_HEX_PREVIEW_LIMIT = 4096
_JSON_PARSE_LIMIT = 64 * 1024
_CACHED_BINARY_BYTES = 1024
_CACHED_BINARY_VALUES = 4096

FULL_TEXT_CELLS = 2**31
"""Cell bound that means "whole value": no real value is cut by it."""

Texts = list[str | None]
"""Formatted values before safety and truncation; None marks a null."""


def is_level_field(field: pa.Field) -> bool:
    """Return True when `field` is a Micromegas log level column (int32 named `level`)."""
    return bool(field.name == "level" and pa.types.is_int32(field.type))


def is_jsonb_type(data_type: pa.DataType) -> bool:
    """Return True for the Micromegas `jsonb` type: a dictionary of binary values."""
    return bool(
        pa.types.is_dictionary(data_type)
        and (
            pa.types.is_binary(data_type.value_type)
            or pa.types.is_large_binary(data_type.value_type)
        )
    )


def level_text(level: int) -> str:
    """Return the level name (`4` gives `INFO`), or the number when it is not a known level."""
    return LEVEL_NAMES.get(level, str(level))


def level_detail_text(level: int) -> str:
    """Return the level name with its number (`2` gives `ERROR (2)`), or the unknown number."""
    name = LEVEL_NAMES.get(level)
    if name is None:
        return str(level)
    return f"{name} ({level})"


def format_array(
    array: Any,
    max_cells: int = MAX_COLUMN_CELLS,
    tz: str | None = None,
    *,
    levels: bool = False,
) -> list[str]:
    """Format every value of an Arrow array as safe display text of at most `max_cells` cells.

    `tz` (`"local"` or an IANA zone name) converts timestamps for display: zoned ones and naive
    ones, which are taken as UTC. With `levels`, integers show as Micromegas level names.
    Nulls show as `NULL_TEXT`. Never raises.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    try:
        if levels and pa.types.is_integer(array.type):
            texts: Texts = [None if v is None else level_text(v) for v in array.to_pylist()]
        else:
            texts = _texts(array, tz, max_cells, nested=False)
    except Exception:
        _log_fallback(array.type)
        texts = _texts_value_by_value(array, tz, max_cells)
    return [NULL_TEXT if text is None else display_text(text, max_cells) for text in texts]


_logged_fallback_types: set[str] = set()
"""Types whose formatting failure was logged with its traceback: each grid repaint formats
the visible rows again, and the same failure would fill the log."""


def _log_fallback(data_type: Any) -> None:
    """Log a failed array formatting: the traceback the first time for its type, then one line.

    Call it from an `except` block.
    """
    name = str(data_type)
    if name in _logged_fallback_types:
        logger.debug("formatting a %s array failed again; formatting value by value", name)
        return
    _logged_fallback_types.add(name)
    logger.exception("formatting a %s array failed; formatting value by value", name)


def full_texts(array: Any, tz: str | None = None) -> list[str]:
    """Format every value of `array` whole: no truncation and no `safe_text` (callers apply it).

    Used by the detail view and exports. Nulls show as `NULL_TEXT`. Never raises.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    try:
        texts = _texts(array, tz, FULL_TEXT_CELLS, nested=False)
    except Exception:
        _log_fallback(array.type)
        texts = _texts_value_by_value(array, tz, FULL_TEXT_CELLS)
    return [NULL_TEXT if text is None else text for text in texts]


def export_texts(array: Any, *, as_json: bool = False) -> Texts:
    """Format every value of `array` whole for an export file; None marks a null.

    Without `as_json`, the texts are those of `full_texts`. With it, each text is JSON:
    strings and temporal values quoted, numbers and booleans bare, nested values and `jsonb` as
    JSON, and non-finite floats as `NaN`/`Infinity` tokens. Each invalid UTF-8 sequence in a
    string becomes U+FFFD. Raises ValueError when a value cannot be formatted, so that no
    placeholder such as `<unprintable TYPE>` is written as data.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    try:
        return _texts(array, None, FULL_TEXT_CELLS, nested=as_json)
    except Exception as error:
        raise ValueError(f"formatting a {array.type} value failed: {error}") from error


def _texts_value_by_value(array: Any, tz: str | None, max_cells: int) -> Texts:
    result: Texts = []
    for index in range(len(array)):
        try:
            result.extend(_texts(array.slice(index, 1), tz, max_cells, nested=False))
        except Exception:
            result.append(f"<unprintable {array.type}>")
    return result


def _texts(array: Any, tz: str | None, max_cells: int, *, nested: bool) -> Texts:
    """Format `array` without safety or truncation; `nested` quotes strings as JSON does."""
    data_type = array.type
    # BaseExtensionType also covers the extension types that pyarrow defines in C++
    # (`arrow.uuid`, `arrow.bool8`, `arrow.opaque`...), which are not `pa.ExtensionType`.
    if isinstance(data_type, pa.BaseExtensionType):
        return _extension_texts(array, tz, max_cells, nested=nested)
    if pa.types.is_dictionary(data_type):
        return _dictionary_texts(array, tz, max_cells, nested=nested)
    handler = _handler_for(data_type)
    return handler(array, tz, max_cells, nested)


Handler = Callable[[Any, "str | None", int, bool], Texts]


def _handler_for(data_type: pa.DataType) -> Handler:
    types = pa.types
    if types.is_null(data_type):
        return _null_texts
    if types.is_boolean(data_type):
        return _boolean_texts
    if types.is_integer(data_type) or types.is_decimal(data_type):
        return _cast_texts
    if types.is_floating(data_type):
        return _float_texts
    if types.is_string(data_type) or types.is_large_string(data_type):
        return _string_texts
    if types.is_string_view(data_type):
        return _string_view_texts
    if types.is_binary(data_type) or types.is_large_binary(data_type):
        return _binary_texts
    if types.is_fixed_size_binary(data_type) or types.is_binary_view(data_type):
        return _binary_texts
    if types.is_timestamp(data_type):
        return _timestamp_texts
    if types.is_date(data_type):
        return _date_texts
    if types.is_time(data_type):
        return _time_texts
    if types.is_duration(data_type):
        return _duration_texts
    if types.is_interval(data_type):
        return _interval_texts
    if types.is_struct(data_type):
        return _struct_texts
    if types.is_map(data_type):
        return _map_texts
    if _is_list_like(data_type):
        return _list_texts
    if types.is_union(data_type):
        return _union_texts
    if types.is_run_end_encoded(data_type):
        return _run_end_encoded_texts
    return _generic_texts


def _is_list_like(data_type: pa.DataType) -> bool:
    types = pa.types
    checks = [types.is_list, types.is_large_list, types.is_fixed_size_list]
    checks += [getattr(types, "is_list_view", None), getattr(types, "is_large_list_view", None)]
    return any(check is not None and check(data_type) for check in checks)


def _null_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    return [None] * len(array)


def _boolean_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    return [None if v is None else ("true" if v else "false") for v in array.to_pylist()]


def _cast_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    texts: Texts = pc.cast(array, pa.string()).to_pylist()
    return texts


_JSON_FLOATS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _float_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    texts: Texts = pc.cast(array, pa.string()).to_pylist()
    if nested:
        return [None if t is None else _JSON_FLOATS.get(t, t) for t in texts]
    return texts


def _head_codepoints(max_cells: int) -> int:
    # Enough code points for `max_cells` cells even when most are zero-width marks.
    return 8 * (max_cells + 1) + 1


def _string_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    # Only the head of each value is copied into Python, so a 5 MB message costs no more than
    # a short one.
    try:
        sliced = pc.utf8_slice_codeunits(array, 0, _head_codepoints(max_cells))
    except pa.ArrowInvalid:
        # Arrow does not check the UTF-8 of the strings a server sends.
        sliced = pc.utf8_slice_codeunits(
            replace_invalid_utf8(array), 0, _head_codepoints(max_cells)
        )
    heads = sliced.to_pylist()
    if nested:
        return [None if v is None else json.dumps(v, ensure_ascii=False) for v in heads]
    texts: Texts = heads
    return texts


def replace_invalid_utf8(array: Any) -> Any:
    """Return a string array with each invalid UTF-8 sequence replaced by U+FFFD.

    A valid array is returned unchanged. Other strings keep every character, and nulls stay
    null. Python's `bytes.decode(errors="replace")` picks the sequences that are replaced.
    """
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        pass
    else:
        return array
    binary_type = pa.large_binary() if pa.types.is_large_string(array.type) else pa.binary()
    values = pc.cast(array, binary_type).to_pylist()
    texts = [None if value is None else value.decode("utf-8", errors="replace") for value in values]
    return pa.array(texts, array.type)


def _string_view_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    return _string_texts(pc.cast(array, pa.string()), tz, max_cells, nested)


def _binary_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    # Fixed-size binaries (hashes, ids) are never taken for JSONB.
    jsonb = not pa.types.is_fixed_size_binary(array.type)
    # Property sets repeat from row to row, so small values are decoded once per call (one
    # export batch). On 100k rows of 50 distinct JSONB values that took full_texts from 1.0 s
    # to 0.06 s (Python 3.11, 2-core VM). The entry cap bounds the memory of unique values.
    texts_by_value: dict[bytes, str] = {}
    result: Texts = []
    for index in range(len(array)):
        scalar = array[index]
        if not scalar.is_valid:
            result.append(None)
            continue
        buffer = scalar.as_buffer()
        if buffer.size > _CACHED_BINARY_BYTES:
            text = binary_text(buffer, max_cells, jsonb=jsonb)
        else:
            data = buffer.to_pybytes()
            cached = texts_by_value.get(data)
            if cached is None:
                cached = binary_text(buffer, max_cells, jsonb=jsonb)
                if len(texts_by_value) < _CACHED_BINARY_VALUES:
                    texts_by_value[data] = cached
            text = cached
        result.append(json.dumps(text, ensure_ascii=False) if nested and text[:2] == "0x" else text)
    return result


def jsonb_value(data: bytes) -> tuple[bool, Any]:
    """Decode `data` as Micromegas JSONB: (True, value), or (False, None) when it is not JSONB.

    Only bytes that decode completely and without error count as JSONB, so plain `binary`
    columns (as a Micromegas server sends `properties` without dictionary encoding) show
    JSON while other binaries keep their hex form. A look at the container header rejects
    most other bytes before decoding.
    """
    if len(data) < 4 or data[0] & 0xE0 not in (0x80, 0x40, 0x20):
        return False, None
    try:
        return True, decode_jsonb(data)
    except (JsonbError, RecursionError):
        return False, None


def binary_text(buffer: Any, max_cells: int = MAX_COLUMN_CELLS, *, jsonb: bool = True) -> str:
    """Return the text of a binary value: JSON text when it is UTF-8 JSON or JSONB, else hex.

    With `jsonb`, bytes that decode completely as Micromegas JSONB show as compact JSON. The hex
    preview contains the bytes that fit in `max_cells`; `FULL_TEXT_CELLS` gives all bytes.
    """
    size = buffer.size
    full = max_cells >= FULL_TEXT_CELLS
    if size > 0 and (full or size <= _JSON_PARSE_LIMIT):
        data = buffer.to_pybytes()
        if data.lstrip()[:1] in (b"{", b"["):
            try:
                parsed = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                pass
            else:
                return json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
        if jsonb:
            is_jsonb, value = jsonb_value(data)
            if is_jsonb:
                return _jsonb_json(value, None)
    preview_bytes = size if full else max(1, min(_HEX_PREVIEW_LIMIT, max_cells // 2))
    head: bytes = buffer.slice(0, min(size, preview_bytes)).to_pybytes()
    suffix = "…" if size > preview_bytes else ""
    return "0x" + head.hex() + suffix


def _dictionary_texts(array: Any, tz: str | None, max_cells: int, *, nested: bool) -> Texts:
    # A window of a few rows from a batch whose dictionary has thousands of entries (a server
    # re-sends one per batch) formats the entries it uses, not the whole dictionary.
    compact = len(array.dictionary) > len(array)
    dictionary = array.dictionary
    # Arrow has no `take` kernel for view types (pyarrow 23), so they become plain ones first.
    if pa.types.is_string_view(dictionary.type):
        dictionary = dictionary.cast(pa.string())
    elif pa.types.is_binary_view(dictionary.type):
        dictionary = dictionary.cast(pa.binary())
    values = dictionary.take(array.indices) if compact else dictionary
    if is_jsonb_type(array.type):
        texts = _jsonb_texts(values, max_cells, nested=nested)
    else:
        texts = _texts(values, tz, max_cells, nested=nested)
    if compact:
        return texts
    return [None if i is None else texts[i] for i in array.indices.to_pylist()]


def _jsonb_texts(dictionary: Any, max_cells: int, *, nested: bool) -> Texts:
    result: Texts = []
    for index in range(len(dictionary)):
        scalar = dictionary[index]
        if not scalar.is_valid:
            result.append(None)
            continue
        text = jsonb_text(scalar.as_py(), max_cells)
        # Bytes that are not JSONB show as hex, which JSON output quotes as a string.
        result.append(json.dumps(text) if nested and text[:2] == "0x" else text)
    return result


def jsonb_text(data: bytes, max_cells: int = MAX_COLUMN_CELLS, indent: int | None = None) -> str:
    """Return Micromegas JSONB bytes as JSON text; bytes that do not decode show as hex."""
    if not data:
        # Micromegas stores an empty property set as zero bytes.
        return "{}"
    try:
        value = decode_jsonb(data)
    except (JsonbError, RecursionError):
        return binary_text(pa.py_buffer(data), max_cells, jsonb=False)
    return _jsonb_json(value, indent)


def _jsonb_json(value: Any, indent: int | None) -> str:
    """Serialise a decoded JSONB value: compact without `indent`, else pretty-printed."""
    separators = (",", ":") if indent is None else (",", ": ")
    text: str = json.dumps(
        value, ensure_ascii=False, default=str, indent=indent, separators=separators
    )
    return text


def _extension_texts(array: Any, tz: str | None, max_cells: int, *, nested: bool) -> Texts:
    storage = array.storage
    if array.type.extension_name == "arrow.uuid" and pa.types.is_fixed_size_binary(storage.type):
        texts: Texts = []
        for value in storage.to_pylist():
            if value is None:
                texts.append(None)
            else:
                hex_text = value.hex()
                uuid_text = "-".join(
                    [hex_text[:8], hex_text[8:12], hex_text[12:16], hex_text[16:20], hex_text[20:]]
                )
                texts.append(json.dumps(uuid_text) if nested else uuid_text)
        return texts
    if array.type.extension_name == "arrow.bool8" and pa.types.is_int8(storage.type):
        # The canonical 8-bit boolean: 0 is false, any other value true.
        return _boolean_texts(pc.not_equal(storage, 0), tz, max_cells, nested)
    return _texts(storage, tz, max_cells, nested=nested)


# Timestamps, dates and times.


def civil_from_days(days: int) -> tuple[int, int, int]:
    """Return (year, month, day) of the proleptic Gregorian date `days` after 1970-01-01.

    Exact for any integer (Howard Hinnant's days-to-civil algorithm), so it covers the int64
    extremes of every timestamp unit, far beyond `datetime`'s years 1-9999.
    """
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    year = year_of_era + era * 400
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    if month <= 2:
        year += 1
    return year, month, day


def _year_text(year: int) -> str:
    return f"{year:04d}" if year >= 0 else f"-{-year:04d}"


def date_text_from_days(days: int) -> str:
    """Return `YYYY-MM-DD` for `days` after 1970-01-01, exact for any integer."""
    year, month, day = civil_from_days(days)
    return f"{_year_text(year)}-{month:02d}-{day:02d}"


def _clock_text(seconds_of_day: int, fraction: int, digits: int) -> str:
    hours, remainder = divmod(seconds_of_day, 3600)
    minutes, seconds = divmod(remainder, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if digits:
        text += f".{fraction:0{digits}d}"
    return text


def timestamp_text(value: int, unit: str, zone: str | None) -> str:
    """Format an integer timestamp exactly, in `zone` when zoneinfo has it, else in UTC.

    Used per value where Arrow's vectorised formatting cannot go (years outside 0001-9999).
    """
    ticks = TICKS_PER_SECOND[unit]
    seconds, fraction = divmod(value, ticks)
    offset = 0
    if zone is not None:
        offset = _zone_offset_seconds(seconds, zone)
    days, seconds_of_day = divmod(seconds + offset, _SECONDS_PER_DAY)
    text = (
        date_text_from_days(days)
        + " "
        + _clock_text(seconds_of_day, fraction, FRACTION_DIGITS[unit])
    )
    if zone is not None:
        text += utc_offset_text(offset)
    return text


def _zone_offset_seconds(epoch_seconds: int, zone: str) -> int:
    """Return the UTC offset of `zone` at that instant, or 0 where Python cannot tell."""
    try:
        info = _python_zone(zone)
        moment = dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC)
        offset = moment.astimezone(info).utcoffset()
    except (ValueError, OverflowError, OSError, zoneinfo.ZoneInfoNotFoundError):
        return 0
    return int(offset.total_seconds()) if offset is not None else 0


@functools.lru_cache(maxsize=64)
def _python_zone(zone: str) -> dt.tzinfo:
    if _is_fixed_offset(zone):
        sign = 1 if zone[0] == "+" else -1
        delta = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        return dt.timezone(sign * delta)
    if zone.upper() in ("UTC", "Z"):
        return dt.UTC
    return zoneinfo.ZoneInfo(zone)


def resolve_display_tz(tz: str | None) -> str | None:
    """Return the zone name Arrow should format in: `"local"` becomes this machine's zone.

    The local zone comes from `TZ`, or from the `/etc/localtime` link when `TZ` is unset. When
    that names no IANA zone (an empty `TZ`, or a POSIX rule such as `IST-5:30`), the current UTC
    offset is used, so DST changes in the data are not followed.
    Raises ValueError for a zone name that Python's zoneinfo does not know.
    """
    if tz is None:
        return None
    if tz != LOCAL_TZ:
        try:
            _python_zone(tz)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError) as error:
            raise ValueError(f"unknown time zone {tz!r}: use 'local' or an IANA name") from error
        return tz
    return _local_zone_name()


@functools.cache
def _local_zone_name() -> str:
    # The C library reads TZ first and /etc/localtime only when TZ is unset, and so does
    # Python's `time` module, which the header's local times use.
    path = os.environ["TZ"].lstrip(":") if "TZ" in os.environ else "/etc/localtime"
    try:
        candidate = _zone_name_from_path(os.path.realpath(path) if path[:1] == "/" else path)
    except OSError:
        candidate = ""
    if candidate:
        try:
            zoneinfo.ZoneInfo(candidate)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            pass
        else:
            return candidate
    return utc_offset_text(time.localtime().tm_gmtoff)


def _zone_name_from_path(text: str) -> str:
    """Return the IANA name in a TZ value or a zone file's path: `Europe/Berlin` for
    `/usr/share/zoneinfo/Europe/Berlin`. Other absolute paths give "" (no name)."""
    if "zoneinfo/" in text:
        return text.split("zoneinfo/", 1)[1]
    if text.startswith("/"):
        return ""
    return text


def _display_zone(array_zone: str | None, tz: str | None) -> str | None:
    if tz is None:
        return array_zone
    try:
        return resolve_display_tz(tz)
    except ValueError:
        logger.warning("unknown display time zone %r; showing the column's own zone", tz)
        return array_zone


UTC_ZONE_NAMES = frozenset(
    [
        *("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"),
        *("GMT", "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT0", "GMT+0", "GMT-0"),
        *("Greenwich", "Etc/Greenwich", "Z", "+00:00", "-00:00"),
    ]
)
"""Zone names whose offset is zero at every instant, so their timestamps show as `Z`."""

UTC_SUFFIX = "+00:00"


def compact_utc_offset(text: str) -> str:
    """Write a timestamp text's `+00:00` offset as `Z`, RFC 3339's short form of it.

    For the grid, where the 5 cells saved matter; the detail view and exports keep `+00:00`.
    """
    if text.endswith(UTC_SUFFIX):
        return text[: -len(UTC_SUFFIX)] + "Z"
    return text


def compact_offset_cells(column_zone: str | None, tz: str | None) -> int:
    """Return the cells that `compact_utc_offset` timestamps of a column need for the offset.

    That is 0 for a naive column shown without a display zone, 1 (`Z`) for a zone that is
    always UTC, and `OFFSET_CELLS` for any other zone.
    """
    zone = _display_zone(column_zone, tz)
    if zone is None:
        return 0
    return 1 if zone in UTC_ZONE_NAMES else OFFSET_CELLS


def _ints_in_day_range(ints: Any, ticks_per_day: int) -> bool:
    bounds = pc.min_max(ints).as_py()
    low, high = bounds["min"], bounds["max"]
    if low is None:
        return True
    # Arrow adds the UTC offset in int64 without an overflow check, so keep a day away from the
    # int64 limits too.
    low_limit = max(_MIN_SAFE_DAY * ticks_per_day, _INT64_MIN + ticks_per_day)
    high_limit = min(_MAX_SAFE_DAY * ticks_per_day, _INT64_MAX - ticks_per_day)
    return bool(low >= low_limit and high <= high_limit)


def _has_offset_seconds(typed: Any) -> bool:
    """Tell whether a value of a zoned timestamp array has a UTC offset with seconds.

    Arrow's `%Ez` drops those seconds (+05:53 for +05:53:28, pyarrow 23), so the text would
    name another instant. Asia/Kolkata had such offsets until 1906 (+05:53:28 in 1800).
    """
    zone = typed.type.tz
    if zone in UTC_ZONE_NAMES or _is_fixed_offset(zone):
        return False
    ticks_per_minute = 60 * TICKS_PER_SECOND[typed.type.unit]
    offsets = pc.subtract(pc.local_timestamp(typed).view(pa.int64()), typed.view(pa.int64()))
    whole_minutes = pc.multiply(pc.divide(offsets, ticks_per_minute), ticks_per_minute)
    return bool(pc.any(pc.not_equal(offsets, whole_minutes)).as_py())


def _is_fixed_offset(zone: str) -> bool:
    return zone[:1] in "+-" and len(zone) == 6 and zone[3] == ":"


def timestamp_strings(array: Any, tz: str | None = None) -> Any:
    """Format a timestamp array as a string array, exact for every int64 value; nulls stay null.

    The text is `YYYY-MM-DD HH:MM:SS`, the unit's fraction digits, and the UTC offset
    (`+05:30`) when the column has a zone or `tz` is set. Arrow formats values within years
    0001-9999. Others are formatted from the integer, in UTC when Python has no offset for them,
    and so are arrays in which a value has an offset with seconds (`+05:53:28`).
    """
    unit = array.type.unit
    zone = _display_zone(array.type.tz, tz)
    ints = array.view(pa.int64())
    if _ints_in_day_range(ints, TICKS_PER_SECOND[unit] * _SECONDS_PER_DAY):
        pattern = "%Y-%m-%d %H:%M:%S" + ("%Ez" if zone is not None else "")
        try:
            typed = (
                ints.view(pa.timestamp(unit, tz=zone)) if zone else ints.view(pa.timestamp(unit))
            )
            if zone is None or not _has_offset_seconds(typed):
                return pc.strftime(typed, format=pattern)
        except pa.ArrowException:
            # Arrow's time zone database may lack a zone that zoneinfo has: format per value.
            pass
    texts = [None if v is None else timestamp_text(v, unit, zone) for v in ints.to_pylist()]
    return pa.array(texts, pa.string())


def _timestamp_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    texts: Texts = timestamp_strings(array, tz).to_pylist()
    if nested:
        return [None if t is None else json.dumps(t) for t in texts]
    return texts


def _date_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    if pa.types.is_date32(array.type):
        days: list[int | None] = array.view(pa.int32()).to_pylist()
    else:
        millis = array.view(pa.int64()).to_pylist()
        days = [None if v is None else v // (_SECONDS_PER_DAY * 1000) for v in millis]
    texts: Texts = [None if d is None else date_text_from_days(d) for d in days]
    if nested:
        return [None if t is None else json.dumps(t) for t in texts]
    return texts


def _time_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    unit = array.type.unit
    ticks = TICKS_PER_SECOND[unit]
    integer_type = pa.int32() if pa.types.is_time32(array.type) else pa.int64()
    texts: Texts = []
    for value in array.view(integer_type).to_pylist():
        if value is None:
            texts.append(None)
        elif 0 <= value < _SECONDS_PER_DAY * ticks:
            seconds, fraction = divmod(value, ticks)
            texts.append(_clock_text(seconds, fraction, FRACTION_DIGITS[unit]))
        else:
            # Arrow allows any integer in a time column; show the raw value with its unit.
            texts.append(f"{value}{unit}")
    if nested:
        return [None if t is None else json.dumps(t) for t in texts]
    return texts


def duration_text(value: int, unit: str) -> str:
    """Format a duration exactly: `[-][Nd ]HH:MM:SS[.fraction]`."""
    ticks = TICKS_PER_SECOND[unit]
    sign = "-" if value < 0 else ""
    seconds, fraction = divmod(abs(value), ticks)
    days, seconds_of_day = divmod(seconds, _SECONDS_PER_DAY)
    text = _clock_text(seconds_of_day, fraction, FRACTION_DIGITS[unit])
    if days:
        text = f"{days}d {text}"
    return sign + text


def _duration_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    unit = array.type.unit
    texts: Texts = [
        None if v is None else duration_text(v, unit) for v in array.view(pa.int64()).to_pylist()
    ]
    if nested:
        return [None if t is None else json.dumps(t) for t in texts]
    return texts


def interval_text(months: int, days: int, nanoseconds: int) -> str:
    """Format a month-day-nano interval as `[Ny] [Nmo] [Nd] [HH:MM:SS[.fraction]]`.

    The three fields are independent, because a month has no fixed number of days and a day
    has no fixed number of nanoseconds. So hours are never folded into days, and each part
    keeps its own sign. When the signs differ, positive parts get a `+`. Zero parts are left
    out, a zero interval shows as `00:00:00`, and the fraction loses its trailing zeros.
    """
    values = [value for value in (months, days, nanoseconds) if value]
    mixed_signs = any(value < 0 for value in values) and any(value > 0 for value in values)

    def signed(value: int, text: str) -> str:
        if value < 0:
            return "-" + text
        return "+" + text if mixed_signs else text

    parts: list[str] = []
    years, months_of_year = divmod(abs(months), 12)
    if years:
        parts.append(signed(months, f"{years}y"))
    if months_of_year:
        parts.append(signed(months, f"{months_of_year}mo"))
    if days:
        parts.append(signed(days, f"{abs(days)}d"))
    if nanoseconds or not parts:
        seconds, fraction = divmod(abs(nanoseconds), TICKS_PER_SECOND["ns"])
        clock = _clock_text(seconds, 0, 0)
        if fraction:
            clock += "." + f"{fraction:09d}".rstrip("0")
        parts.append(signed(nanoseconds, clock))
    return " ".join(parts)


def _interval_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    texts: Texts = []
    for value in array.to_pylist():
        if value is None:
            texts.append(None)
        elif hasattr(value, "months") and hasattr(value, "nanoseconds"):
            texts.append(interval_text(value.months, value.days, value.nanoseconds))
        else:
            texts.append(str(value))
    if nested:
        return [None if t is None else json.dumps(t) for t in texts]
    return texts


# Nested types.


def _child_texts(child: Any, tz: str | None, max_cells: int) -> list[str]:
    return ["null" if t is None else t for t in _texts(child, tz, max_cells, nested=True)]


def _list_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    # A cell shows at most `max_cells` elements, so longer lists are cut before formatting.
    shown = max(1, max_cells)
    lengths = pc.list_value_length(array).to_pylist()
    sliced = pc.list_slice(array, 0, shown) if any(n and n > shown for n in lengths) else array
    flat = pc.list_flatten(sliced)
    flat_texts = _child_texts(flat, tz, max_cells)
    texts: Texts = []
    cursor = 0
    for length, full_length in zip(pc.list_value_length(sliced).to_pylist(), lengths, strict=True):
        if length is None:
            texts.append(None)
            continue
        items = flat_texts[cursor : cursor + length]
        cursor += length
        if full_length is not None and full_length > length:
            items.append("…")
        texts.append("[" + ", ".join(items) + "]")
    return texts


def _struct_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    names = [array.type.field(i).name for i in range(array.type.num_fields)]
    columns = [_child_texts(array.field(i), tz, max_cells) for i in range(len(names))]
    validity = array.is_valid().to_pylist()
    texts: Texts = []
    for row, valid in enumerate(validity):
        if not valid:
            texts.append(None)
            continue
        parts = [
            json.dumps(name, ensure_ascii=False) + ": " + column[row]
            for name, column in zip(names, columns, strict=True)
        ]
        texts.append("{" + ", ".join(parts) + "}")
    return texts


def _map_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    keys = _child_texts(array.keys, tz, max_cells)
    items = _child_texts(array.items, tz, max_cells)
    offsets = array.offsets.to_pylist()
    validity = array.is_valid().to_pylist()
    base = offsets[0] if offsets else 0
    texts: Texts = []
    for row, valid in enumerate(validity):
        if not valid:
            texts.append(None)
            continue
        start, end = offsets[row] - base, offsets[row + 1] - base
        pairs = [f"{keys[i]}: {items[i]}" for i in range(start, end)]
        texts.append("{" + ", ".join(pairs) + "}")
    return texts


def _union_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    # A union value is the value of its selected child: format a one-element slice of it.
    child_of_code = {code: index for index, code in enumerate(array.type.type_codes)}
    dense = array.type.mode == "dense"
    codes = array.type_codes.to_pylist()
    offsets = array.offsets.to_pylist() if dense else None
    texts: Texts = []
    for row, code in enumerate(codes):
        child = array.field(child_of_code[code])
        position = offsets[row] if offsets is not None else row
        texts.extend(_texts(child.slice(position, 1), tz, max_cells, nested=nested))
    return texts


def _run_end_encoded_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    return _texts(pc.run_end_decode(array), tz, max_cells, nested=nested)


def _generic_texts(array: Any, tz: str | None, max_cells: int, nested: bool) -> Texts:
    texts: Texts = []
    for index in range(len(array)):
        scalar = array[index]
        if not scalar.is_valid:
            texts.append(None)
            continue
        # A failure reaches the caller: the grid shows a placeholder for that value alone, and
        # an export stops rather than write one.
        texts.append(str(scalar.as_py()))
    return texts
