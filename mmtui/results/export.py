"""Export of a whole result store to CSV, Parquet or JSON lines, one batch at a time.

Only one record batch is converted at a time, so memory stays bounded by the largest batch.
The file is written to a new temporary file in the target's directory (`.NAME.mmtui-XXXX.part`,
made by `tempfile.mkstemp`, so no existing file is touched) and renamed over the target when
complete. A failed export never leaves a truncated file under the requested name.

Conversions:
- CSV (pyarrow.csv writer): columns the writer cannot take (nested, binary, Micromegas `jsonb`,
  intervals, unions, null) are written as text. Nested values and `jsonb` are written as JSON.
- Parquet: columns Parquet cannot store (for example unions and month-day-nano intervals) are
  written as text. Dictionary columns are written as their values (Parquet dictionary-encodes
  them itself), and every other column keeps its Arrow type.
- JSON lines: one object per row. Timestamps, dates, times and durations are strings with full
  precision, and `jsonb` and nested values are JSON. Binaries are JSON when they are UTF-8 JSON
  or Micromegas JSONB, else `0x` hex strings; CSV text columns follow the same rule.
  Non-finite floats are written as the `NaN`/`Infinity` tokens that Python's json module reads.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mmtui.results.formatting import full_texts, is_jsonb_type, json_texts
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
        raise ExportError(f"directory {directory} {what}", user_error=True)


def export_store(store: ResultStore, path: str | os.PathLike[str], fmt: str) -> int:
    """Write every row of `store` to `path` in `fmt` (csv, parquet or jsonl); return the rows.

    An existing file at `path` is replaced. Raises ValueError for an unknown format and
    ExportError (an OSError) when the file cannot be written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    check_export_path(path)
    target = Path(path)
    try:
        handle, temporary_name = tempfile.mkstemp(
            # The name is cut so that the temporary name (at most 181 bytes) fits NAME_MAX, 255
            # bytes on common file systems, even when the target's name is at that limit.
            prefix=f".{target.name[:_PREFIX_NAME_CHARS]}.mmtui-",
            suffix=".part",
            dir=target.parent,
        )
    except OSError as error:
        raise _export_error(target, None, error) from error
    # NOTE: mkstemp creates the file with mode 0600, which the export keeps after the rename.
    os.close(handle)
    partial = Path(temporary_name)
    try:
        if fmt == "csv":
            rows = _export_csv(store, partial)
        elif fmt == "parquet":
            rows = _export_parquet(store, partial)
        else:
            rows = _export_jsonl(store, partial)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise _export_error(target, partial, error) from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("exported %d rows as %s to %s", rows, fmt, target)
    return rows


def _export_error(target: Path, partial: Path | None, error: OSError) -> ExportError:
    """Describe `error` in terms of the user's path: the temporary file name never shows."""
    if error.strerror:
        detail = error.strerror
    else:
        detail = str(error)
        if partial is not None:
            detail = detail.replace(str(partial), str(target))
    return ExportError(f"writing {target} failed: {detail}", user_error=error.errno in USER_ERRNOS)


def _text_column(array: Any) -> Any:
    return pa.array(full_texts(array), pa.large_string(), mask=array.is_null())


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
        or types.is_timestamp(data_type)
        or types.is_date(data_type)
        or types.is_time(data_type)
    )


def _csv_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for index, field in enumerate(batch.schema):
        column = batch.column(index)
        if pa.types.is_dictionary(field.type) and _csv_native(field.type):
            column = column.cast(field.type.value_type)
        elif not _csv_native(field.type):
            column = _text_column(column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    fields = []
    for field in schema:
        if pa.types.is_dictionary(field.type) and _csv_native(field.type):
            fields.append(field.with_type(field.type.value_type))
        elif not _csv_native(field.type):
            fields.append(field.with_type(pa.large_string()))
        else:
            fields.append(field)
    return pa.schema(fields)


def _export_csv(store: ResultStore, path: Path) -> int:
    schema = _csv_schema(store.schema)
    rows = 0
    with pacsv.CSVWriter(str(path), schema) as writer:
        for batch in store.iter_batches():
            writer.write_batch(_csv_batch(batch, schema))
            rows += batch.num_rows
    return rows


def _parquet_supports(field: pa.Field) -> bool:
    try:
        with pq.ParquetWriter(pa.BufferOutputStream(), pa.schema([field])):
            pass
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def _export_parquet(store: ResultStore, path: Path) -> int:
    # Dictionary columns are written as their values, and Parquet encodes each column chunk
    # with a dictionary of the values it holds. A Flight stream may repeat a partition's whole
    # dictionary in every batch (15,341 block ids for about 150 used per batch), and writing
    # those made the demo's log view 3.5 times larger.
    fields = [
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in store.schema
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
        for batch in store.iter_batches():
            columns = [
                _text_column(batch.column(i)) if as_text[i] else _decoded(batch.column(i))
                for i in range(batch.num_columns)
            ]
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            rows += batch.num_rows
    return rows


def _decoded(array: Any) -> Any:
    """Return a dictionary array as an array of its values; other arrays unchanged."""
    if isinstance(array, pa.DictionaryArray):
        return array.dictionary_decode()
    return array


def _export_jsonl(store: ResultStore, path: Path) -> int:
    keys = [json.dumps(field.name, ensure_ascii=False) + ": " for field in store.schema]
    rows = 0
    with open(path, "w", encoding="utf-8", newline="\n") as output:
        for batch in store.iter_batches():
            columns = [json_texts(batch.column(i)) for i in range(batch.num_columns)]
            lines = []
            for row in range(batch.num_rows):
                parts = [key + column[row] for key, column in zip(keys, columns, strict=True)]
                lines.append("{" + ", ".join(parts) + "}\n")
            output.write("".join(lines))
            rows += batch.num_rows
    return rows
