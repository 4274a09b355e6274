"""A Flight server on raw gRPC that sends streams a `pyarrow.flight` server cannot send.

A `pyarrow.flight` server checks each batch against the stream's schema (pyarrow 23), so this
one writes the Arrow IPC messages into `FlightData` itself. DoGet reads the ticket's bytes:

- `mismatch:layout`: batches of 10 and 10 rows (`id` int64, `msg` string, ids 0-19), then a
  batch whose `msg` column is int32, then a good batch of 10 rows.
- `mismatch:columns`: the same, but the bad batch has only the `id` column.
- `intervals`: one batch of 3 rows with the columns `id` int64, `months` (a month interval)
  and `day_time` (a day-time interval): `INTERVAL_ROWS`. pyarrow cannot build these two types
  in Python, so the schema message is a month-day-nano one with its interval unit rewritten.

Any other ticket gets INVALID_ARGUMENT, and every other method UNIMPLEMENTED.
`start_mismatch_server()` serves it on a free 127.0.0.1 port.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import pyarrow as pa

SCHEMA = pa.schema([("id", pa.int64()), ("msg", pa.string())])
GOOD_ROWS_BEFORE = 20
"""Rows of the good batches sent before the bad one."""

_SERVICE = "arrow.flight.protocol.FlightService"
_DATA_HEADER_TAG = b"\x12"
"""`FlightData.data_header` (field 2, length-delimited)."""
_DATA_BODY_FIELD = 1000
"""`FlightData.data_body`, field 1000."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def flight_data(serialized: pa.Buffer) -> bytes:
    """Return a `FlightData` message carrying one serialized IPC message (schema or batch)."""
    message = pa.ipc.read_message(serialized)
    header = message.metadata.to_pybytes()
    data = _DATA_HEADER_TAG + _varint(len(header)) + header
    body = message.body.to_pybytes() if message.body is not None else b""
    if body:
        data += _varint((_DATA_BODY_FIELD << 3) | 2) + _varint(len(body)) + body
    return data


def good_batch(start: int, rows: int) -> pa.RecordBatch:
    ids = pa.array(range(start, start + rows), pa.int64())
    messages = pa.array([f"message {i}" for i in range(start, start + rows)])
    return pa.record_batch([ids, messages], schema=SCHEMA)


def bad_batch(kind: str) -> pa.RecordBatch:
    """Return the batch that breaks the schema: `msg` as int32, or no `msg` column."""
    if kind == "columns":
        return pa.record_batch([pa.array([100], pa.int64())], names=["id"])
    return pa.record_batch([pa.array([100], pa.int64()), pa.array([7], pa.int32())], ["id", "msg"])


INTERVAL_ROWS = [(1, 14, (1, 3_600_000)), (2, None, None), (3, -1, (-2, -1))]
"""(id, months, (days, milliseconds)) of each row of the `intervals` ticket. None is a null."""

_INTERVAL_UNITS = {"month_interval": b"\x00\x00", "day_time_interval": b"\x01\x00"}
"""The flatbuffer `Interval.unit` values YEAR_MONTH and DAY_TIME, as little-endian shorts."""


def interval_schema_message() -> bytes:
    """Return the IPC schema message of the `intervals` ticket.

    Each column starts as a month-day-nano interval (unit 2), and the unit is rewritten where
    that makes the column the expected type, checked by reading the message back.
    """
    names = ["months", "day_time"]
    expected_types = ["int64", "month_interval", "day_time_interval"]
    start = pa.schema(
        [("id", pa.int64())] + [(name, pa.month_day_nano_interval()) for name in names]
    )
    data = start.serialize().to_pybytes()
    for index, expected in enumerate(expected_types[1:], start=1):
        for offset in range(len(data) - 1):
            if data[offset : offset + 2] != b"\x02\x00":
                continue
            candidate = data[:offset] + _INTERVAL_UNITS[expected] + data[offset + 2 :]
            try:
                schema = pa.ipc.read_schema(pa.py_buffer(candidate))
            except pa.ArrowException:
                continue
            if str(schema.field(index).type) == expected:
                data = candidate
                break
    schema = pa.ipc.read_schema(pa.py_buffer(data))
    assert [str(field.type) for field in schema] == expected_types, schema
    return data


def interval_batch_storage() -> pa.RecordBatch:
    """Return a batch whose buffers are those of the `intervals` rows: int32 months, and each
    day-time value as an int64 whose low half is the days and high half the milliseconds."""
    ids = pa.array([row[0] for row in INTERVAL_ROWS], pa.int64())
    months = pa.array([row[1] for row in INTERVAL_ROWS], pa.int32())
    day_times = [
        None if row[2] is None else (row[2][0] & 0xFFFFFFFF) | (row[2][1] << 32)
        for row in INTERVAL_ROWS
    ]
    return pa.record_batch(
        [ids, months, pa.array(day_times, pa.int64())], names=["id", "months", "day_time"]
    )


def _do_get(request: bytes, context: Any) -> Iterator[bytes]:
    if b"intervals" in request:
        yield flight_data(pa.py_buffer(interval_schema_message()))
        yield flight_data(interval_batch_storage().serialize())
        return
    for kind in ("layout", "columns"):
        if f"mismatch:{kind}".encode() in request:
            break
    else:
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown ticket: include mismatch:layout or mismatch:columns in the SQL",
        )
    yield flight_data(SCHEMA.serialize())
    yield flight_data(good_batch(0, 10).serialize())
    yield flight_data(good_batch(10, 10).serialize())
    yield flight_data(bad_batch(kind).serialize())
    yield flight_data(good_batch(GOOD_ROWS_BEFORE, 10).serialize())


def _unimplemented(request: bytes, context: Any) -> Any:
    context.abort(grpc.StatusCode.UNIMPLEMENTED, "not implemented by the mismatch server")


@dataclass
class MismatchServerHandle:
    server: grpc.Server
    uri: str

    def stop(self) -> None:
        self.server.stop(grace=None).wait()


def start_mismatch_server() -> MismatchServerHandle:
    """Start the server on a free 127.0.0.1 port, on gRPC threads of this process."""
    handler = grpc.method_handlers_generic_handler(
        _SERVICE,
        {
            "DoGet": grpc.unary_stream_rpc_method_handler(_do_get),
            "DoAction": grpc.unary_stream_rpc_method_handler(_unimplemented),
            "GetFlightInfo": grpc.unary_unary_rpc_method_handler(_unimplemented),
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return MismatchServerHandle(server, f"grpc://127.0.0.1:{port}")
