"""Export of a whole result store to CSV, Parquet or JSON lines, one batch at a time.

Only one record batch is converted at a time, so memory stays bounded by the largest batch. The
file is written to a new temporary file in the target's directory (`.NAME.mmtui-XXXX.part`,
created exclusively, so no existing file is touched) and renamed over the target when complete.
A new file gets mode 0666 less the umask, and a replaced file keeps its mode. A failed or
cancelled export never leaves a truncated file under the requested name. A result without
columns is rejected before any file is created. Given a row count, an export writes only the
first rows, so rows that a running query appends meanwhile are left out. A cancel callback is
checked between batches.

Conversions:
- CSV (pyarrow.csv writer): columns the writer cannot take (nested, binary, Micromegas `jsonb`,
  intervals, unions, run-end encoded, null) are written as text. Nested values and `jsonb` are
  written as JSON. Nulls are empty fields. Timestamps are written as in JSON lines.
- Parquet: columns Parquet cannot store (for example unions and month-day-nano intervals) are
  written as text. A repeated column name (`a.msg, b.msg` of a join) gets a suffix (`msg_2`, see
  `unique_names`), because pyarrow's `pq.read_table` rejects a file with repeated names.
  Dictionary and run-end encoded columns are written as their values (Parquet dictionary-encodes
  them itself). A decimal with a negative scale becomes a decimal with scale 0 and the same
  values, and a fixed-size list a list. So does an extension type stored as a fixed-size list
  (`arrow.fixed_shape_tensor`), which loses its extension type. Every other column keeps its
  Arrow type, including strings with invalid UTF-8.
- JSON lines: one object per row, nulls as `null`. Repeated column names get the same suffix as in
  Parquet: RFC 8259 leaves repeated member names to each parser, and many, Python's `json` among
  them, keep only the last. Timestamps, dates, times and durations
  are strings with full precision, and `jsonb` and nested values are JSON. Timestamps carry the
  column zone's UTC offset (`+05:30`). Values outside years 0001-9999 are exact, but written in
  UTC when Python has no offset for them. Binaries are JSON when they are UTF-8 JSON or Micromegas
  JSONB, else `0x` hex strings; CSV text columns follow the same rule. Non-finite floats are
  written as the `NaN`/`Infinity` tokens that Python's json module reads.

CSV and JSON lines files are valid UTF-8. Each invalid UTF-8 sequence in a string value is
written as U+FFFD (as Python's `bytes.decode(errors="replace")` does), so those bytes are lost
there, while Parquet keeps the original bytes. A value that cannot be formatted stops the
export with an error that names its column, so no placeholder text is written as data.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mmtui.results.formatting import (
    export_texts,
    is_jsonb_type,
    replace_invalid_utf8,
    timestamp_strings,
)
from mmtui.results.store import ResultStore

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("csv", "parquet", "jsonl")
"""Formats accepted by `export_store`."""


USER_ERRNOS = frozenset(
    [
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENAMETOOLONG,
    ]
)
"""Error numbers of paths the user can fix: missing directory, no permission, a directory."""


_PREFIX_NAME_CHARS = 40
_DECIMAL128_MAX_PRECISION = 38
_DECIMAL256_MAX_PRECISION = 76


class ExportCancelledError(Exception):
    """Raised by `export_store` when its `cancelled` callback returns True, after it deleted
    the temporary file."""


class ExportError(OSError):
    """Raised when an export cannot write its file; the message names the requested path.

    `user_error` is True when the path itself is the cause (see `USER_ERRNOS`), so callers can
    report it without a traceback.
    """

    def __init__(self, message: str, *, user_error: bool) -> None:
        super().__init__(message)
        self.user_error = user_error


def check_export_path(path: str | os.PathLike[str]) -> None:
    """Raise ExportError when `path` cannot name the exported file: a directory, or a file in
    a directory that does not exist."""
    text = os.fspath(path)
    target = Path(text)
    # os.path.isdir returns False on any OSError (Path.is_dir raises some, such as
    # ENAMETOOLONG, before Python 3.14); such errors surface when the file is written.
    if text.endswith(("/", os.sep)) or os.path.isdir(target):
        raise ExportError(
            f"{target} is a directory; enter a file name, such as {target / 'results.csv'}",
            user_error=True,
        )
    directory = target.parent
    if not os.path.isdir(directory):
        what = "is not a directory" if os.path.lexists(directory) else "does not exist"
        raise ExportError(
            f"directory {directory} {what}: create it, or enter a path in another directory",
            user_error=True,
        )


def export_store(
    store: ResultStore,
    path: str | os.PathLike[str],
    fmt: str,
    *,
    rows: int | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Write the rows of `store` to `path` in `fmt` (csv, parquet or jsonl); return the rows.

    `rows` limits the export to the first `rows` rows, and None writes the rows stored when
    writing starts. Either way rows appended later are not written. `cancelled` is called
    before each batch and once before the file is renamed. When it returns True the
    temporary file is deleted and ExportCancelledError is raised.

    An existing file at `path` is replaced. Raises ValueError for an unknown format and
    ExportError (an OSError) when the file cannot be written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    check_export_path(path)
    target = Path(path)
    if not store.schema:
        # A CSV file cannot record rows without columns (it stays empty), and Parquet stores
        # 0 rows, so every format rejects such a result alike.
        raise ExportError(
            f"nothing to export to {target}: the result has no columns", user_error=True
        )
    try:
        partial = _create_partial_file(target)
    except OSError as error:
        raise _export_error(target, None, error) from error
    batches = _batches_until_cancelled(store, rows, cancelled, target)
    try:
        if fmt == "csv":
            written = _export_csv(store, batches, partial)
        elif fmt == "parquet":
            written = _export_parquet(store, batches, partial)
        else:
            written = _export_jsonl(store, batches, partial)
        if cancelled is not None and cancelled():
            raise ExportCancelledError(f"the export to {target} was cancelled")
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise _export_error(target, partial, error) from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("exported %d rows as %s to %s", written, fmt, target)
    return written


def _create_partial_file(target: Path) -> Path:
    """Create the empty temporary file `.NAME.mmtui-XXXXXXXX.part` beside `target`.

    tempfile.mkstemp would create it with mode 0600, which the rename gives to the export. So
    the file is created with mode 0666 less the umask, as a shell redirection creates it, and
    takes the mode of the file it replaces when there is one.
    """
    # The name is cut so that the temporary name (at most 181 bytes) fits NAME_MAX, 255 bytes
    # on common file systems, even when the target's name is at that limit.
    prefix = f".{target.name[:_PREFIX_NAME_CHARS]}.mmtui-"
    for _ in range(tempfile.TMP_MAX):
        partial = target.parent / f"{prefix}{secrets.token_hex(4)}.part"
        try:
            handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        try:
            os.chmod(partial, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        except OSError:
            partial.unlink(missing_ok=True)
            raise
        return partial
    raise FileExistsError(errno.EEXIST, f"no unused temporary name {prefix}XXXXXXXX.part")


def _batches_until_cancelled(
    store: ResultStore, rows: int | None, cancelled: Callable[[], bool] | None, target: Path
) -> Iterator[pa.RecordBatch]:
    """Yield the batches of the first `rows` rows, and raise ExportCancelledError as soon as
    `cancelled()` returns True."""
    for batch in store.iter_batches(rows):
        if cancelled is not None and cancelled():
            raise ExportCancelledError(f"the export to {target} was cancelled")
        yield batch


def _export_error(target: Path, partial: Path | None, error: OSError) -> ExportError:
    """Describe `error` in terms of the user's path: the temporary file name never shows."""
    if error.strerror:
        detail = error.strerror
    else:
        detail = str(error)
        if partial is not None:
            detail = detail.replace(str(partial), str(target))
    return ExportError(f"writing {target} failed: {detail}", user_error=error.errno in USER_ERRNOS)


def _text_column(array: Any, field: pa.Field) -> Any:
    return pa.array(_column_texts(array, field, as_json=False), pa.large_string())


def _column_texts(array: Any, field: pa.Field, *, as_json: bool) -> list[str | None]:
    try:
        return export_texts(array, as_json=as_json)
    except ValueError as error:
        raise ExportError(
            f"column {field.name!r} of type {field.type} cannot be written as text: {error}",
            user_error=False,
        ) from error


def _csv_native(data_type: pa.DataType) -> bool:
    types = pa.types
    if types.is_dictionary(data_type):
        return not is_jsonb_type(data_type) and _csv_native(data_type.value_type)
    return bool(
        types.is_boolean(data_type)
        or types.is_integer(data_type)
        or types.is_floating(data_type)
        or types.is_decimal(data_type)
        or types.is_string(data_type)
        or types.is_large_string(data_type)
        or types.is_date(data_type)
        or types.is_time(data_type)
    )


def _csv_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for index, field in enumerate(batch.schema):
        column = batch.column(index)
        if pa.types.is_timestamp(field.type):
            # Arrow's CSV writer wraps zoned values outside the nanosecond range to wrong dates
            # and writes offsets as `+0530`, so timestamps are formatted as in JSON lines.
            column = timestamp_strings(column).cast(pa.large_string())
        elif pa.types.is_dictionary(field.type) and _csv_native(field.type):
            column = column.cast(field.type.value_type)
        elif not _csv_native(field.type):
            column = _text_column(column, field)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = replace_invalid_utf8(column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    fields = []
    for field in schema:
        if pa.types.is_timestamp(field.type):
            fields.append(field.with_type(pa.large_string()))
        elif pa.types.is_dictionary(field.type) and _csv_native(field.type):
            fields.append(field.with_type(field.type.value_type))
        elif not _csv_native(field.type):
            fields.append(field.with_type(pa.large_string()))
        else:
            fields.append(field)
    return pa.schema(fields)


def _export_csv(store: ResultStore, batches: Iterator[pa.RecordBatch], path: Path) -> int:
    schema = _csv_schema(store.schema)
    rows = 0
    with pacsv.CSVWriter(str(path), schema) as writer:
        for batch in batches:
            writer.write_batch(_csv_batch(batch, schema))
            rows += batch.num_rows
    return rows


def _parquet_supports(field: pa.Field) -> bool:
    # Some types fail only when a batch is written: a decimal with a negative scale is rejected
    # by write_batch, and not by the ParquetWriter constructor.
    schema = pa.schema([field])
    try:
        with pq.ParquetWriter(pa.BufferOutputStream(), schema) as writer:
            writer.write_batch(pa.record_batch([pa.array([], field.type)], schema=schema))
    except (pa.ArrowException, OSError):
        return False
    return True


def _parquet_field(field: pa.Field) -> pa.Field:
    """Return the field as the Parquet file stores it, before a check of what Parquet takes."""
    data_type = field.type
    if isinstance(data_type, pa.BaseExtensionType) and pa.types.is_fixed_size_list(
        data_type.storage_type
    ):
        # Such as `arrow.fixed_shape_tensor`: its storage becomes a list below, which the
        # extension type does not allow, so the column is written as that list.
        data_type = data_type.storage_type
    if pa.types.is_dictionary(data_type) or pa.types.is_run_end_encoded(data_type):
        data_type = data_type.value_type
    if pa.types.is_fixed_size_list(data_type):
        # The Parquet writer of pyarrow 23 rejects a null fixed-size list entry ("Lists with
        # non-zero length null components are not supported"); a variable-size list whose
        # null entries own no values is written (`_compact_null_lists`).
        data_type = pa.list_(data_type.value_field)
    if pa.types.is_decimal(data_type) and data_type.scale < 0:
        # Parquet requires 0 <= scale <= precision. A scale of 0 keeps every value exactly,
        # because decimal128(7, 0) stores all values of decimal128(5, -2), up to 99999E+2.
        precision = data_type.precision - data_type.scale
        if precision <= _DECIMAL128_MAX_PRECISION:
            data_type = pa.decimal128(precision, 0)
        elif precision <= _DECIMAL256_MAX_PRECISION:
            data_type = pa.decimal256(precision, 0)
    return field.with_type(data_type)


def _export_parquet(store: ResultStore, batches: Iterator[pa.RecordBatch], path: Path) -> int:
    # Dictionary columns are written as their values, and Parquet encodes each column chunk
    # with a dictionary of the values it holds. A Flight stream may repeat a partition's whole
    # dictionary in every batch (15,341 block ids for about 150 used per batch), and writing
    # those made the demo's log view 3.5 times larger.
    names = unique_names(store.schema.names)
    fields = [
        _parquet_field(field).with_name(name)
        for field, name in zip(store.schema, names, strict=True)
    ]
    as_text = [not _parquet_supports(field) for field in fields]
    schema = pa.schema(
        [
            field.with_type(pa.large_string()) if text else field
            for field, text in zip(fields, as_text, strict=True)
        ]
    )
    rows = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in batches:
            columns = []
            for index, field in enumerate(schema):
                column = batch.column(index)
                if as_text[index]:
                    columns.append(_text_column(column, batch.schema.field(index)))
                else:
                    column = _decoded(column, field.type)
                    if column.type != field.type:
                        column = column.cast(field.type)
                    if pa.types.is_list(field.type) and column.null_count:
                        column = _compact_null_lists(column)
                    columns.append(column)
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            rows += batch.num_rows
    return rows


def unique_names(names: list[str]) -> list[str]:
    """Return `names` with each repeat renamed `NAME_2`, `NAME_3`..., skipping names in use."""
    names_in_use = set(names)
    unique: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            suffix = 2
            while f"{name}_{suffix}" in names_in_use:
                suffix += 1
            name = f"{name}_{suffix}"
            names_in_use.add(name)
        seen.add(name)
        unique.append(name)
    return unique


def _compact_null_lists(array: Any) -> Any:
    """Return a list array whose null entries own no child values (`take` rebuilds it so)."""
    return array.take(pa.array(range(len(array)), pa.int64()))


def _decoded(array: Any, data_type: pa.DataType) -> Any:
    """Return a dictionary or run-end encoded array as a plain array of its values, an
    extension array as its storage unless `data_type` is its type, and other arrays unchanged."""
    if isinstance(array.type, pa.BaseExtensionType) and array.type != data_type:
        return array.storage
    if isinstance(array, pa.DictionaryArray):
        return array.dictionary_decode()
    if pa.types.is_run_end_encoded(array.type):
        return pc.run_end_decode(array)
    return array


def _export_jsonl(store: ResultStore, batches: Iterator[pa.RecordBatch], path: Path) -> int:
    keys = [
        json.dumps(name, ensure_ascii=False) + ": " for name in unique_names(store.schema.names)
    ]
    rows = 0
    with open(path, "w", encoding="utf-8", newline="\n") as output:
        for batch in batches:
            columns = [_json_column(batch, i) for i in range(batch.num_columns)]
            lines = []
            for row in range(batch.num_rows):
                parts = [key + column[row] for key, column in zip(keys, columns, strict=True)]
                lines.append("{" + ", ".join(parts) + "}\n")
            output.write("".join(lines))
            rows += batch.num_rows
    return rows


def _json_column(batch: pa.RecordBatch, index: int) -> list[str]:
    texts = _column_texts(batch.column(index), batch.schema.field(index), as_json=True)
    return ["null" if text is None else text for text in texts]
