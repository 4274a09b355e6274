"""Top-level `month_interval` and `day_time_interval` columns, turned into month-day-nano ones.

pyarrow 23 has no Python class for these two Arrow types: reading such a column of a batch
(`batch.column(i)`, `to_pylist`, `cast`) raises `KeyError: 21` or `KeyError: 22`, though the
batch itself arrives. A server may send them, so the stream converts each batch through the
Arrow C data interface, which never wraps the column in Python. Month-day-nano intervals hold
every value exactly: a month interval is a number of months, and a day-time interval a number
of days and of milliseconds.
NOTE: such intervals nested inside a list, struct or map are not converted.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

INTERVAL_MONTHS_ID = 21
"""`arrow::Type::INTERVAL_MONTHS`, whose values are int32 months."""
INTERVAL_DAY_TIME_ID = 22
"""`arrow::Type::INTERVAL_DAY_TIME`, whose values are an int32 of days and one of milliseconds."""

_STORAGE_TYPES = {INTERVAL_MONTHS_ID: pa.int32(), INTERVAL_DAY_TIME_ID: pa.binary(8)}
"""Types with the same buffers, through which the C data interface reads the values."""

_NANOSECONDS_PER_MILLISECOND = 1_000_000
_MONTH_DAY_NANO = np.dtype([("months", "=i4"), ("days", "=i4"), ("nanoseconds", "=i8")])


def has_unwrappable_intervals(schema: pa.Schema) -> bool:
    """Tell whether a top-level column of `schema` is a month or day-time interval."""
    return any(field.type.id in _STORAGE_TYPES for field in schema)


def wrappable_schema(schema: pa.Schema) -> pa.Schema:
    """Return `schema` with month and day-time interval columns as month-day-nano intervals."""
    return _replace_intervals(schema, {key: pa.month_day_nano_interval() for key in _STORAGE_TYPES})


def convert_intervals(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Return `batch` with its month and day-time interval columns as month-day-nano ones.

    The other columns are the same arrays.
    """
    type_ids = [field.type.id for field in batch.schema]
    _, array_capsule = batch.__arrow_c_array__()
    storage_schema = _replace_intervals(batch.schema, _STORAGE_TYPES)
    storage = pa.record_batch(_CapsulePair(storage_schema.__arrow_c_schema__(), array_capsule))
    columns = []
    for index, type_id in enumerate(type_ids):
        column = storage.column(index)
        if type_id in _STORAGE_TYPES:
            column = _month_day_nano(column, type_id)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=wrappable_schema(batch.schema))


class _CapsulePair:
    """The buffers of one batch under another schema, through the Arrow PyCapsule interface."""

    def __init__(self, schema_capsule: object, array_capsule: object) -> None:
        self._schema_capsule = schema_capsule
        self._array_capsule = array_capsule

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        return self._schema_capsule, self._array_capsule


def _replace_intervals(schema: pa.Schema, types: dict[int, pa.DataType]) -> pa.Schema:
    fields = [
        field.with_type(types[field.type.id]) if field.type.id in types else field
        for field in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


def _month_day_nano(storage: pa.Array, type_id: int) -> pa.Array:
    """Build a month-day-nano array from the storage of a month or day-time interval column.

    Month values are int32 months. Day-time values are 8 bytes: an int32 of days, then an
    int32 of milliseconds, in the machine's byte order (Arrow's IPC reader swaps others).
    """
    count = storage.offset + len(storage)
    values = np.zeros(count, dtype=_MONTH_DAY_NANO)
    validity, data = storage.buffers()
    if type_id == INTERVAL_MONTHS_ID:
        values["months"] = np.frombuffer(data, dtype="=i4", count=count)
    else:
        pairs = np.frombuffer(data, dtype="=i4", count=2 * count).reshape(count, 2)
        values["days"] = pairs[:, 0]
        values["nanoseconds"] = pairs[:, 1].astype(np.int64) * _NANOSECONDS_PER_MILLISECOND
    return pa.Array.from_buffers(
        pa.month_day_nano_interval(),
        len(storage),
        [validity, pa.py_buffer(values.tobytes())],
        null_count=storage.null_count,
        offset=storage.offset,
    )
