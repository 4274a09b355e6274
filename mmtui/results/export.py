"""Export of a whole result store to CSV, Parquet or JSON lines, one batch at a time.

Only one record batch is converted at a time, so memory stays bounded by the largest batch.
The file is written next to the target under a `.part` name and renamed when complete, so a
failed export never leaves a truncated file under the requested name.

Conversions:
- CSV (pyarrow.csv writer): columns the writer cannot take (nested, binary, Micromegas `jsonb`,
  intervals, unions, null) are written as text. Nested values and `jsonb` are written as JSON.
- Parquet: columns Parquet cannot store (for example unions and month-day-nano intervals) are
  written as text; every other column keeps its Arrow type.
- JSON lines: one object per row; timestamps, dates, times and durations as strings with full
  precision, `jsonb` and nested values as JSON, binaries as JSON when they are UTF-8 JSON else
  as `0x` hex strings. Non-finite floats are written as the `NaN`/`Infinity` tokens that
  Python's json module reads.
"""

from __future__ import annotations

import json
import logging
import os
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


def export_store(store: ResultStore, path: str | os.PathLike[str], fmt: str) -> int:
    """Write every row of `store` to `path` in `fmt` (csv, parquet or jsonl); return the rows.

    Raises ValueError for an unknown format and OSError when the file cannot be written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        if fmt == "csv":
            rows = _export_csv(store, partial)
        elif fmt == "parquet":
            rows = _export_parquet(store, partial)
        else:
            rows = _export_jsonl(store, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("exported %d rows as %s to %s", rows, fmt, target)
    return rows


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
    as_text = [not _parquet_supports(field) for field in store.schema]
    schema = pa.schema(
        [
            field.with_type(pa.large_string()) if text else field
            for field, text in zip(store.schema, as_text, strict=True)
        ]
    )
    rows = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in store.iter_batches():
            columns = [
                _text_column(batch.column(i)) if as_text[i] else batch.column(i)
                for i in range(batch.num_columns)
            ]
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            rows += batch.num_rows
    return rows


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
