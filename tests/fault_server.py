"""A FlightSQL test server that misbehaves on request, for tests of the client and the app.

The SQL text picks the fault: the first `fault:NAME` or `fault:NAME:N` found anywhere in it
(so `SELECT * FROM t -- fault:silent` works in an editor). Faults:

- `fault:zero_batches`: the schema, then the end of the stream with no batch.
- `fault:empty_batches_between`: batches of 0, 3, 0, 0, 2 and 0 rows (5 rows in 6 batches).
- `fault:big_batch_20mb`: one record batch of 2,100 rows of 10,000-character strings (21 MB),
  over gRPC's default 4 MiB message cap.
- `fault:huge_value_5m`: one row whose `msg` is a single 5,000,000-character value.
- `fault:error_after:N`: N batches of 10 rows, then an INTERNAL error with a query id.
- `fault:empty_then:error`: a batch of 0 rows, then an INTERNAL error. `fault:empty_then:silent`
  sends nothing after the empty batch until the client cancels or the server stops.
- `fault:silent`: the schema, then nothing until the client cancels or the server stops.
- `fault:silent_no_schema`: not even the schema until the client cancels or the server stops.
- `fault:slow_first_batch:S`: the schema at once, then 3 batches of 10 rows after S seconds.
- `fault:slow_schema:S`: the schema after S seconds, then nothing until the client cancels.
- `fault:trickle:N`: N batches of 10 rows, one every 50 ms.
- `fault:rows:N`: N rows (`id` int64, `msg` string) in batches of 65,536.
- `fault:die_after:N`: N batches of 10 rows, then the server process exits 0.5 s later
  (`os._exit`, as a crash would). Only the subprocess server (`start_fault_server_process`)
  does this; the in-thread server rejects it, because it would end the test process.
- `fault:sql_error`: INVALID_ARGUMENT shaped like Micromegas' planning errors, with
  `(at line 2, column 8)` and `(query_id=...)`. `fault:sql_error:L_C` sends
  `(at line L, column C)` instead, whether or not the SQL has that position.
- `fault:long_error:N`: INVALID_ARGUMENT as `fault:sql_error`, whose list of valid fields is N
  characters long, as DataFusion sends for a view of hundreds of columns.
- `fault:run_error:L_C`: CreatePreparedStatement succeeds (the `id`, `msg` schema), and DoGet
  fails with INVALID_ARGUMENT at `(at line L, column C)`, as an error found while running.
- `fault:slow_prepare:S`: CreatePreparedStatement answers after S seconds, or earlier when
  the test calls `release_slow_prepares()`. DoGet sends the schema and no batch.
- `fault:status:CODE`: an error with gRPC status CODE, one of UNAUTHENTICATED,
  PERMISSION_DENIED, UNAVAILABLE, INTERNAL, UNKNOWN, INVALID_ARGUMENT, UNIMPLEMENTED,
  DEADLINE_EXCEEDED, CANCELLED (a pyarrow server cannot send the other codes).
- `fault:echo_bearer`: UNAUTHENTICATED with the call's bearer token in the message, as a
  server or proxy that quotes the rejected credential does.
- `fault:hostile`: strings with ESC sequences (OSC 0 window title, OSC 52 clipboard write,
  clear screen, colours), C1 controls, DEL, NUL, Rich markup, a bidi override (U+202E),
  emoji, CJK, combining marks, tabs and newlines. One column name, a struct field name and a
  time zone are hostile too.
- `fault:types`: 3 rows in each of 2 batches covering many Arrow types. They are every integer
  width with its extremes, floats with NaN/inf/-0.0, decimal128/256, dates, times, and
  timestamps of every unit without a time zone and with `+00:00`, `-05:00`, `UTC` and
  `Europe/Paris`. Then duration, interval, string/large_string/string_view, binary holding
  JSON bytes, fixed_size_binary, list/large_list/fixed_size_list, struct, map, sparse union,
  the null type and `arrow.uuid`. The `dictionary` column's dictionary differs between the
  batches.
- `fault:extension_types`: 3 rows of the extension types that pyarrow defines in C++, which
  are not `pa.ExtensionType` subclasses: `arrow.uuid`, `arrow.bool8`, `arrow.json`,
  `arrow.opaque` and `arrow.fixed_shape_tensor` (with a null tensor).
- `fault:shared_dictionary:N`: N batches of 3 rows (`id` int64, `entry` a dictionary of
  `SHARED_DICTIONARY_ENTRIES` strings). The stream sends the dictionary once and every batch
  uses it: batch i contains `entry-i`, the last entry minus i, and a null.
- `fault:no_columns`: one batch of 3 rows and no column.
- `fault:bad_utf8`: a string column whose values hold invalid UTF-8 (`BAD_UTF8_VALUES`), which
  Arrow does not check on the way.

A server that is unreachable at start-up needs no fault: point the client at a closed port.

Other SQL: `SELECT * FROM faults` lists the fault names and `SHOW TABLES` lists `faults`;
any other text gets INVALID_ARGUMENT.
A `SELECT COUNT(*)` wrapped around a fault (the client's row-count estimate) gets
`server.count_answer` when a test sets it (after `server.count_delay` seconds when set), else
INVALID_ARGUMENT, so the estimate is None and never waits on a silent fault.

The server also handles GetFlightInfo (`CommandStatementQuery`, `CommandGetTables`) and
DoAction `CreatePreparedStatement` (the fault's schema, or its error, without running it), and
records every call's method and headers in `handle.calls`.

`start_fault_server()` runs it in this process on a free 127.0.0.1 port;
`start_fault_server_process()` runs it in a child process that a test can kill.
Run `python -m tests.fault_server` to serve it from a shell (`--port`, `--allow-exit`).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import decimal
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
from google.protobuf import any_pb2

from mmtui.flightsql.proto import flight_sql_pb2

FAULT_RE = re.compile(r"fault:([a-z0-9_]+)(?::([A-Za-z0-9_.]+))?")
POLL_SECONDS = 0.02
TRICKLE_SECONDS = 0.05
DIE_GRACE_SECONDS = 0.5
ROWS_PER_BATCH = 10
BIG_ROWS = 2_100
BIG_VALUE_CHARS = 10_000
HUGE_VALUE_CHARS = 5_000_000

FAULT_NAMES = (
    "zero_batches",
    "empty_batches_between",
    "big_batch_20mb",
    "huge_value_5m",
    "error_after",
    "empty_then",
    "silent",
    "silent_no_schema",
    "slow_first_batch",
    "slow_schema",
    "trickle",
    "rows",
    "die_after",
    "sql_error",
    "long_error",
    "run_error",
    "slow_prepare",
    "status",
    "echo_bearer",
    "hostile",
    "types",
    "extension_types",
    "shared_dictionary",
    "no_columns",
    "bad_utf8",
)

STATUS_ERRORS: dict[str, type[Exception]] = {
    "UNAUTHENTICATED": flight.FlightUnauthenticatedError,
    "PERMISSION_DENIED": flight.FlightUnauthorizedError,
    "UNAVAILABLE": flight.FlightUnavailableError,
    "INTERNAL": flight.FlightInternalError,
    "UNKNOWN": flight.FlightServerError,
    "INVALID_ARGUMENT": pa.ArrowInvalid,
    "UNIMPLEMENTED": NotImplementedError,
    "DEADLINE_EXCEEDED": flight.FlightTimedOutError,
    "CANCELLED": flight.FlightCancelledError,
}

SHARED_DICTIONARY_ENTRIES = 200_000
"""Entries of the dictionary of `fault:shared_dictionary` (about 3 MB of strings)."""

BAD_UTF8_VALUES = [b"ok", b"\xff\xfe bad", b"caf\xc3", None]
"""`fault:bad_utf8` values: valid, two invalid bytes first, a cut-off sequence last, null."""

LOG_SCHEMA = pa.schema([("id", pa.int64()), ("msg", pa.string())])
FAULTS_SCHEMA = pa.schema([("name", pa.string())])

# Control sequences a log message from a hostile process could carry.
ESC = "\x1b"
BEL = "\x07"
HOSTILE_MESSAGES = [
    f"{ESC}]0;pwned window title{BEL}title set by OSC 0",
    f"{ESC}]52;c;{base64.b64encode(b'echo clipboard was written').decode()}{BEL}OSC 52 clipboard",
    f"{ESC}[2J{ESC}[Hthe screen was cleared",
    f"{ESC}[31mred text{ESC}[0m and {ESC}[5mblinking{ESC}[0m",
    "[bold red]x[/] and [link=file:///etc/passwd]a link[/link] as Rich markup",
    "NUL inside\x00the value",
    "bidi override: abc\u202edcba\u202c end",
    "emoji: 🔥 👩‍💻 🇫🇷 ✔️",
    "CJK: 日本語のログメッセージ 한국어 中文",
    "C1 CSI \x9b31m and DEL \x7f and backspace \x08",
    "tab\there, CR\rand LF\nnew line",
    "combining: e\u0301 a\u0308 and zero width\u200bspace",
]
HOSTILE_COLUMN = f"{ESC}[2Jcol[bold]x[/]"
HOSTILE_TARGET = f"{ESC}]0;target title{BEL}svc::auth"
HOSTILE_FIELD = f"{ESC}]0;pwned by a struct field{BEL}k"
"""A struct field name: it reaches the screen inside the column's type name."""
HOSTILE_ZONE = f"{ESC}]0;pwned by a time zone{BEL}"
"""A timestamp column's time zone, also shown in its type name."""


@dataclass
class CallRecord:
    """One call the server received: its method and headers (names lower-cased)."""

    method: str
    headers: dict[str, list[str]]


@dataclass
class FaultPlan:
    """What a fault sends: a schema, then a batch iterator (which may block or raise)."""

    schema: pa.Schema
    batches: Callable[[], Iterator[pa.RecordBatch]]
    before_schema: Callable[[], None] | None = None
    """Runs in DoGet before the schema is sent; it may block or raise."""
    before_prepare: Callable[[], None] | None = None
    """Runs in CreatePreparedStatement before the schema is sent; it may block."""


class _RecordingMiddleware(flight.ServerMiddleware):
    def __init__(self, headers: dict[str, list[str]]) -> None:
        super().__init__()
        self.headers = headers


class _RecordingMiddlewareFactory(flight.ServerMiddlewareFactory):
    def __init__(self, calls: list[CallRecord], lock: threading.Lock) -> None:
        super().__init__()
        self._calls = calls
        self._lock = lock

    def start_call(self, info: Any, headers: dict[str, list[Any]]) -> _RecordingMiddleware:
        decoded = {
            key.lower(): [v.decode("latin-1") if isinstance(v, bytes) else v for v in values]
            for key, values in headers.items()
        }
        with self._lock:
            self._calls.append(CallRecord(info.method.name.lower(), decoded))
        return _RecordingMiddleware(decoded)


class FaultServer(flight.FlightServerBase):
    """The fault server; see the module docstring for the faults."""

    def __init__(
        self,
        location: str,
        *,
        allow_process_exit: bool = False,
        get_tables: bool = True,
        tls_certificates: list[Any] | None = None,
    ) -> None:
        self.calls: list[CallRecord] = []
        self.waiting_calls = 0
        self.cancelled_calls = 0
        self._calls_lock = threading.Lock()
        self.stopping = threading.Event()
        self._prepare_release = threading.Event()
        """Set by `release_slow_prepares` to end the waits of `fault:slow_prepare` calls."""
        self.allow_process_exit = allow_process_exit
        self.get_tables = get_tables
        self.count_answer: int | None = None
        """When set, a `SELECT COUNT(*)` around a fault returns this count."""
        self.count_delay: float | None = None
        """When set, that COUNT(*) sends its schema at once and its count after this many
        seconds, or never when the client cancels first (counted in `cancelled_calls`)."""
        self.tables_listing: pa.Table | Exception | None = None
        """When set, DoGet of GetTables sends this table, or GetFlightInfo raises this error."""
        super().__init__(
            location,
            tls_certificates=tls_certificates,
            middleware={"recorder": _RecordingMiddlewareFactory(self.calls, self._calls_lock)},
        )

    # Flight methods.

    def get_flight_info(self, context: Any, descriptor: Any) -> Any:
        command = _unpack_command(descriptor.command)
        if isinstance(command, flight_sql_pb2.CommandGetTables):
            if not self.get_tables:
                raise NotImplementedError("GetTables is turned off on this fault server")
            if isinstance(self.tables_listing, Exception):
                raise self.tables_listing
            ticket = flight.Ticket(descriptor.command)
            schema = _tables_schema()
        elif isinstance(command, flight_sql_pb2.CommandStatementQuery):
            ticket = flight.Ticket(
                _pack(
                    flight_sql_pb2.TicketStatementQuery(
                        statement_handle=command.query.encode("utf-8")
                    )
                )
            )
            schema = pa.schema([])
        else:
            raise NotImplementedError("this command is not implemented by the fault server")
        endpoint = flight.FlightEndpoint(ticket, [])
        return flight.FlightInfo(schema, descriptor, [endpoint], -1, -1)

    def do_get(self, context: Any, ticket: Any) -> Any:
        command = _unpack_command(ticket.ticket)
        if isinstance(command, flight_sql_pb2.CommandGetTables):
            if isinstance(self.tables_listing, pa.Table):
                return flight.RecordBatchStream(self.tables_listing)
            return flight.RecordBatchStream(_tables_table(command.include_schema))
        if isinstance(command, flight_sql_pb2.TicketStatementQuery):
            sql = command.statement_handle.decode("utf-8")
        else:
            sql = ticket.ticket.decode("utf-8", errors="replace")
        plan = self.plan(sql, context)
        if plan.before_schema is not None:
            plan.before_schema()
        if any(pa.types.is_dictionary(column.type) for column in plan.schema):
            # GeneratorStream cannot send dictionary batches (pyarrow 23) but a reader can.
            # The reader would turn a failing fault's gRPC status into UNKNOWN.
            reader = pa.RecordBatchReader.from_batches(plan.schema, plan.batches())
            return flight.RecordBatchStream(reader)
        return flight.GeneratorStream(plan.schema, plan.batches())

    def do_action(self, context: Any, action: Any) -> Any:
        if action.type == "ClosePreparedStatement":
            return []
        if action.type != "CreatePreparedStatement":
            raise NotImplementedError(f"action {action.type} is not implemented")
        request = flight_sql_pb2.ActionCreatePreparedStatementRequest()
        wrapper = any_pb2.Any()
        wrapper.ParseFromString(action.body.to_pybytes())
        wrapper.Unpack(request)
        plan = self.plan(request.query, context)
        if plan.before_prepare is not None:
            plan.before_prepare()
        result = flight_sql_pb2.ActionCreatePreparedStatementResult(
            prepared_statement_handle=request.query.encode("utf-8"),
            dataset_schema=plan.schema.serialize().to_pybytes(),
        )
        return [_pack(result)]

    def list_actions(self, context: Any) -> list[tuple[str, str]]:
        return [("CreatePreparedStatement", ""), ("ClosePreparedStatement", "")]

    # Faults.

    def plan(self, sql: str, context: Any) -> FaultPlan:
        """Return what to send for `sql`; raise the error a fault starts with."""
        match = FAULT_RE.search(sql)
        if match is None:
            if re.fullmatch(r'\s*select\s+\*\s+from\s+"?faults"?\s*;?\s*', sql, re.IGNORECASE):
                names = pa.array(FAULT_NAMES, pa.string())
                batch = pa.record_batch([names], schema=FAULTS_SCHEMA)
                return FaultPlan(FAULTS_SCHEMA, lambda: iter([batch]))
            if re.fullmatch(r"\s*show\s+tables\s*;?\s*", sql, re.IGNORECASE):
                listing = show_tables_table()
                return FaultPlan(listing.schema, lambda: iter(listing.to_batches()))
            raise pa.ArrowInvalid(
                "no fault named in the SQL: include fault:NAME, see SELECT * FROM faults "
                f"(query_id={uuid.uuid4()})"
            )
        if re.match(r"\s*select\s+count\(\*\)", sql, re.IGNORECASE):
            if self.count_answer is None:
                raise pa.ArrowInvalid("COUNT(*) over a fault is not supported by the fault server")
            counted = pa.record_batch([pa.array([self.count_answer], pa.int64())], ["row_count"])
            delay = self.count_delay

            def count_batches() -> Iterator[pa.RecordBatch]:
                if delay is not None and self._waiting_ended(context, delay):
                    return
                yield counted

            return FaultPlan(counted.schema, count_batches)
        name, argument = match.group(1), match.group(2)
        builder = getattr(self, f"_fault_{name}", None)
        if builder is None:
            raise pa.ArrowInvalid(f"unknown fault {name!r}: see SELECT * FROM faults")
        plan: FaultPlan = builder(argument, context)
        return plan

    def release_slow_prepares(self) -> None:
        """End the wait of every `fault:slow_prepare` call in progress, so each returns now.

        Calls that start later wait their full time again.
        """
        with self._calls_lock:
            release, self._prepare_release = self._prepare_release, threading.Event()
        release.set()

    def _waiting_ended(
        self, context: Any, seconds: float | None, release: threading.Event | None = None
    ) -> bool:
        """Wait up to `seconds` (None: forever); return True if the call or server stopped.

        A set `release` ends the wait early, as if the time had passed. `waiting_calls` counts
        the calls in this wait, `cancelled_calls` those it saw cancelled.
        """
        deadline = None if seconds is None else time.monotonic() + seconds
        with self._calls_lock:
            self.waiting_calls += 1
        try:
            while not self.stopping.is_set():
                if context.is_cancelled():
                    with self._calls_lock:
                        self.cancelled_calls += 1
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                if release is not None and release.is_set():
                    return False
                self.stopping.wait(POLL_SECONDS)
            return True
        finally:
            with self._calls_lock:
                self.waiting_calls -= 1

    def _fault_zero_batches(self, argument: str | None, context: Any) -> FaultPlan:
        return FaultPlan(LOG_SCHEMA, lambda: iter([]))

    def _fault_empty_batches_between(self, argument: str | None, context: Any) -> FaultPlan:
        sizes = [0, 3, 0, 0, 2, 0]
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        return FaultPlan(
            LOG_SCHEMA, lambda: (_log_batch(s, n) for s, n in zip(starts, sizes, strict=True))
        )

    def _fault_big_batch_20mb(self, argument: str | None, context: Any) -> FaultPlan:
        def batches() -> Iterator[pa.RecordBatch]:
            ids = pa.array(range(BIG_ROWS), pa.int64())
            values = [f"{i:08d}" + "x" * (BIG_VALUE_CHARS - 8) for i in range(BIG_ROWS)]
            yield pa.record_batch([ids, pa.array(values, pa.string())], schema=LOG_SCHEMA)

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_huge_value_5m(self, argument: str | None, context: Any) -> FaultPlan:
        def batches() -> Iterator[pa.RecordBatch]:
            value = ("0123456789" * (HUGE_VALUE_CHARS // 10))[: HUGE_VALUE_CHARS - 3] + "END"
            yield pa.record_batch(
                [pa.array([0], pa.int64()), pa.array([value], pa.string())], schema=LOG_SCHEMA
            )

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_error_after(self, argument: str | None, context: Any) -> FaultPlan:
        count = int(argument or 3)

        def batches() -> Iterator[pa.RecordBatch]:
            for index in range(count):
                yield _log_batch(index * ROWS_PER_BATCH, ROWS_PER_BATCH)
            raise flight.FlightInternalError(
                f"error executing plan: simulated storage failure after {count} batches "
                "(query_id=fault-error-after)"
            )

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_empty_then(self, argument: str | None, context: Any) -> FaultPlan:
        if argument not in ("error", "silent"):
            raise pa.ArrowInvalid(f"fault:empty_then takes error or silent, not {argument!r}")

        def batches() -> Iterator[pa.RecordBatch]:
            yield _log_batch(0, 0)
            if argument == "silent":
                self._waiting_ended(context, None)
                return
            raise flight.FlightInternalError(
                "error executing plan: simulated failure after an empty batch "
                "(query_id=fault-empty-then-error)"
            )

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_silent(
        self,
        argument: str | None,
        context: Any,
        before_schema: Callable[[], None] | None = None,
    ) -> FaultPlan:
        def batches() -> Iterator[pa.RecordBatch]:
            self._waiting_ended(context, None)
            yield from ()

        return FaultPlan(LOG_SCHEMA, batches, before_schema)

    def _fault_silent_no_schema(self, argument: str | None, context: Any) -> FaultPlan:
        return FaultPlan(
            LOG_SCHEMA, lambda: iter([]), before_schema=lambda: self._block_forever(context)
        )

    def _block_forever(self, context: Any) -> None:
        self._waiting_ended(context, None)
        raise flight.FlightCancelledError("the call was cancelled before the schema was sent")

    def _fault_slow_first_batch(self, argument: str | None, context: Any) -> FaultPlan:
        seconds = float(argument or 3)

        def batches() -> Iterator[pa.RecordBatch]:
            if self._waiting_ended(context, seconds):
                return
            for index in range(3):
                yield _log_batch(index * ROWS_PER_BATCH, ROWS_PER_BATCH)

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_slow_schema(self, argument: str | None, context: Any) -> FaultPlan:
        seconds = float(argument or 3)

        def wait_before_schema() -> None:
            self._waiting_ended(context, seconds)

        return self._fault_silent(None, context, before_schema=wait_before_schema)

    def _fault_trickle(self, argument: str | None, context: Any) -> FaultPlan:
        count = int(argument or 10)

        def batches() -> Iterator[pa.RecordBatch]:
            for index in range(count):
                if index and self._waiting_ended(context, TRICKLE_SECONDS):
                    return
                yield _log_batch(index * ROWS_PER_BATCH, ROWS_PER_BATCH)

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_rows(self, argument: str | None, context: Any) -> FaultPlan:
        total = int(argument or 1_000_000)
        size = 65_536

        def batches() -> Iterator[pa.RecordBatch]:
            for start in range(0, total, size):
                yield _log_batch(start, min(size, total - start))

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_die_after(self, argument: str | None, context: Any) -> FaultPlan:
        if not self.allow_process_exit:
            raise pa.ArrowInvalid(
                "fault:die_after needs the subprocess fault server (start_fault_server_process)"
            )
        count = int(argument or 2)

        def batches() -> Iterator[pa.RecordBatch]:
            for index in range(count):
                yield _log_batch(index * ROWS_PER_BATCH, ROWS_PER_BATCH)
            # gRPC writes block until the transport takes the message, so the batches above are
            # queued for sending. The grace gives them time to go out before the exit.
            self._waiting_ended(context, DIE_GRACE_SECONDS)
            os._exit(70)

        return FaultPlan(LOG_SCHEMA, batches)

    def _fault_sql_error(self, argument: str | None, context: Any) -> FaultPlan:
        line, column = _position_argument(argument, default=("2", "8"))
        raise pa.ArrowInvalid(
            "error building dataframe: Schema error: No field named nope. "
            f"Valid fields are log_entries.msg. (at line {line}, column {column}) "
            f"(query_id={uuid.uuid4()})"
        )

    def _fault_long_error(self, argument: str | None, context: Any) -> FaultPlan:
        length = int(argument or 20_000)
        fields = ", ".join(f"wide.col_{index}" for index in range(length // 12 + 1))[:length]
        raise pa.ArrowInvalid(
            "error building dataframe: Schema error: No field named nope. "
            f"Valid fields are {fields}. (at line 1, column 8) (query_id={uuid.uuid4()})"
        )

    def _fault_run_error(self, argument: str | None, context: Any) -> FaultPlan:
        line, column = _position_argument(argument, default=("1", "1"))

        def fail_before_schema() -> None:
            raise pa.ArrowInvalid(
                "error executing plan: Arrow error: Cast error: Cannot cast string 'abc' to "
                f"value of Int64 type (at line {line}, column {column}) "
                f"(query_id={uuid.uuid4()})"
            )

        return FaultPlan(LOG_SCHEMA, lambda: iter([]), before_schema=fail_before_schema)

    def _fault_slow_prepare(self, argument: str | None, context: Any) -> FaultPlan:
        seconds = float(argument or 60)
        with self._calls_lock:
            release = self._prepare_release

        def wait_before_schema() -> None:
            self._waiting_ended(context, seconds, release)

        return FaultPlan(LOG_SCHEMA, lambda: iter([]), before_prepare=wait_before_schema)

    def _fault_status(self, argument: str | None, context: Any) -> FaultPlan:
        code = (argument or "UNKNOWN").upper()
        error_class = STATUS_ERRORS.get(code)
        if error_class is None:
            raise pa.ArrowInvalid(f"unknown status {code!r}: use one of {sorted(STATUS_ERRORS)}")
        raise error_class(f"simulated {code} error (query_id=fault-status-{code.lower()})")

    def _fault_echo_bearer(self, argument: str | None, context: Any) -> FaultPlan:
        middleware = context.get_middleware("recorder")
        headers = middleware.headers if isinstance(middleware, _RecordingMiddleware) else {}
        authorization = (headers.get("authorization") or ["(none)"])[0]
        raise flight.FlightUnauthenticatedError(f"unknown credential {authorization}")

    def _fault_hostile(self, argument: str | None, context: Any) -> FaultPlan:
        table = hostile_table()
        return FaultPlan(table.schema, lambda: iter(table.to_batches()))

    def _fault_no_columns(self, argument: str | None, context: Any) -> FaultPlan:
        batch = pa.record_batch([pa.array([1, 2, 3])], names=["x"]).select([])
        return FaultPlan(batch.schema, lambda: iter([batch]))

    def _fault_bad_utf8(self, argument: str | None, context: Any) -> FaultPlan:
        values = pa.array(BAD_UTF8_VALUES, pa.binary()).view(pa.string())
        batch = pa.record_batch([pa.array(range(len(values))), values], names=["id", "s"])
        return FaultPlan(batch.schema, lambda: iter([batch]))

    def _fault_extension_types(self, argument: str | None, context: Any) -> FaultPlan:
        batch = extension_types_batch()
        return FaultPlan(batch.schema, lambda: iter([batch]))

    def _fault_shared_dictionary(self, argument: str | None, context: Any) -> FaultPlan:
        count = int(argument or 10)
        entries = pa.array([f"entry-{index}" for index in range(SHARED_DICTIONARY_ENTRIES)])
        schema = pa.schema([("id", pa.int64()), ("entry", pa.dictionary(pa.int32(), pa.string()))])

        def batches() -> Iterator[pa.RecordBatch]:
            last = SHARED_DICTIONARY_ENTRIES - 1
            for index in range(count):
                indices = pa.array([index, last - index, None], pa.int32())
                ids = pa.array(range(3 * index, 3 * index + 3), pa.int64())
                column = pa.DictionaryArray.from_arrays(indices, entries)
                yield pa.record_batch([ids, column], schema=schema)

        return FaultPlan(schema, batches)

    def _fault_types(self, argument: str | None, context: Any) -> FaultPlan:
        first, second = types_batches()
        return FaultPlan(first.schema, lambda: iter([first, second]))


def _position_argument(argument: str | None, default: tuple[str, str]) -> tuple[str, str]:
    """Return the line and column digits of a fault argument written `LINE_COLUMN` (`5_5`).

    The digits stay text, so a test can send numbers of any length.
    """
    if argument is None:
        return default
    match = re.fullmatch(r"(\d+)_(\d+)", argument)
    if match is None:
        raise pa.ArrowInvalid(f"invalid position {argument!r}: write LINE_COLUMN, such as 5_5")
    return match.group(1), match.group(2)


def _log_batch(start: int, rows: int) -> pa.RecordBatch:
    ids = pa.array(range(start, start + rows), pa.int64())
    messages = pa.array([f"message {i}" for i in range(start, start + rows)], pa.string())
    return pa.record_batch([ids, messages], schema=LOG_SCHEMA)


def hostile_table() -> pa.Table:
    """Return the table of `fault:hostile`: one row per hostile message."""
    count = len(HOSTILE_MESSAGES)
    return pa.table(
        {
            "id": pa.array(range(count), pa.int64()),
            "target": pa.array([HOSTILE_TARGET] * count, pa.string()),
            "msg": pa.array(HOSTILE_MESSAGES, pa.string()),
            HOSTILE_COLUMN: pa.array(["[bold]markup in a hostile column[/]"] * count),
            "nested": pa.array(
                [{HOSTILE_FIELD: index} for index in range(count)],
                pa.struct([(HOSTILE_FIELD, pa.int64())]),
            ),
            "zoned": pa.array(range(count), pa.timestamp("s", tz=HOSTILE_ZONE)),
        }
    )


def types_batches() -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Return the two batches of `fault:types` (3 rows each, same schema)."""
    columns: dict[str, pa.Array] = {}
    int_types = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]
    uint_types = [pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]
    for int_type in int_types:
        bits = int_type.bit_width
        columns[str(int_type)] = pa.array([-(2 ** (bits - 1)), None, 2 ** (bits - 1) - 1], int_type)
    for uint_type in uint_types:
        columns[str(uint_type)] = pa.array([0, None, 2**uint_type.bit_width - 1], uint_type)

    columns["float32"] = pa.array([float("nan"), float("inf"), -0.0], pa.float32())
    columns["float64"] = pa.array([float("-inf"), None, 1.5e308], pa.float64())
    columns["bool"] = pa.array([True, None, False])
    columns["decimal128"] = pa.array(
        [decimal.Decimal("12345678901234567890.1234567890"), None, decimal.Decimal("-0.5")],
        pa.decimal128(38, 10),
    )
    columns["decimal256"] = pa.array(
        [decimal.Decimal("1" * 50 + ".25"), None, decimal.Decimal(0)], pa.decimal256(76, 20)
    )

    columns["date32"] = pa.array([dt.date(1, 1, 1), None, dt.date(9999, 12, 31)], pa.date32())
    columns["date64"] = pa.array([dt.date(1970, 1, 1), None, dt.date(2024, 2, 29)], pa.date64())
    columns["time32_s"] = pa.array([0, None, 86_399], pa.time32("s"))
    columns["time64_ns"] = pa.array([0, None, 86_399_999_999_999], pa.time64("ns"))
    nanos = [1_700_000_000_123_456_789, None, -1]
    columns["ts_ns"] = pa.array(nanos, pa.timestamp("ns"))
    columns["ts_ns_utc_offset"] = pa.array(nanos, pa.timestamp("ns", tz="+00:00"))
    columns["ts_us_minus5"] = pa.array(
        [1_700_000_000_123_456, None, 0], pa.timestamp("us", tz="-05:00")
    )
    columns["ts_ms_paris"] = pa.array(
        [1_700_000_000_123, None, 0], pa.timestamp("ms", "Europe/Paris")
    )
    columns["ts_s_utc"] = pa.array(
        [-62_135_596_800, None, 253_402_300_799], pa.timestamp("s", "UTC")
    )

    columns["duration_ns"] = pa.array([1, None, -(2**63) + 1], pa.duration("ns"))
    columns["interval"] = pa.array(
        [pa.MonthDayNano([1, 2, 3]), None, pa.MonthDayNano([-1, 0, 0])],
        pa.month_day_nano_interval(),
    )

    columns["string"] = pa.array(["plain", None, ""], pa.string())
    columns["large_string"] = pa.array(["large", None, "ü"], pa.large_string())
    columns["string_view"] = pa.array(
        ["view", None, "a longer view value over 12 bytes"], pa.string_view()
    )
    json_bytes = json.dumps({"user": "alice", "nested": {"ids": [1, 2]}}).encode()
    columns["binary_json"] = pa.array([json_bytes, None, b"\x00\xff\x1b"], pa.binary())
    columns["large_binary"] = pa.array([b"large", None, b""], pa.large_binary())
    columns["fixed_size_binary"] = pa.array([b"abcd", None, b"\x00\x01\x02\x03"], pa.binary(4))

    columns["list"] = pa.array([[1, 2, None], None, []], pa.list_(pa.int64()))
    columns["large_list"] = pa.array([["a"], None, ["b", "c"]], pa.large_list(pa.string()))
    columns["fixed_size_list"] = pa.array([[1.0, 2.0], None, [3.0, 4.0]], pa.list_(pa.float64(), 2))
    columns["struct"] = pa.array(
        [{"a": 1, "b": "x"}, None, {"a": None, "b": "y"}],
        pa.struct([("a", pa.int32()), ("b", pa.string())]),
    )
    columns["map"] = pa.array(
        [[("host", "web-1"), ("region", "eu")], None, []], pa.map_(pa.string(), pa.string())
    )
    columns["sparse_union"] = pa.UnionArray.from_sparse(
        pa.array([0, 1, 0], pa.int8()),
        [pa.array([7, 8, 9], pa.int64()), pa.array(["p", "q", "r"], pa.string())],
        ["int", "str"],
    )

    columns["null"] = pa.nulls(3, pa.null())
    columns["uuid"] = pa.array(
        [uuid.UUID(int=1).bytes, None, uuid.UUID(int=2**128 - 1).bytes], pa.uuid()
    )

    first = pa.RecordBatch.from_pydict(
        {**columns, "dictionary": pa.array(["info", "warn", "info"]).dictionary_encode()}
    )
    second_dictionary = pa.DictionaryArray.from_arrays(
        pa.array([0, None, 1], pa.int32()), pa.array(["error", "debug"])
    )
    second = pa.RecordBatch.from_pydict({**columns, "dictionary": second_dictionary})
    return first, second.cast(first.schema)


def extension_types_batch() -> pa.RecordBatch:
    """Return the batch of `fault:extension_types` (3 rows, one column per extension type)."""
    uuids = [uuid.UUID(int=1).bytes, None, uuid.UUID(int=2**128 - 1).bytes]
    tensor_storage = pa.array([[1, 2, 3, 4], None, [-5, 0, 0, 7]], pa.list_(pa.int32(), 4))
    columns = {
        "uuid": pa.ExtensionArray.from_storage(pa.uuid(), pa.array(uuids, pa.binary(16))),
        # Any value other than 0 is true.
        "bool8": pa.ExtensionArray.from_storage(pa.bool8(), pa.array([0, None, -3], pa.int8())),
        "json": pa.ExtensionArray.from_storage(pa.json_(), pa.array(['{"a": 1}', None, "[]"])),
        "opaque": pa.ExtensionArray.from_storage(
            pa.opaque(pa.binary(), "point", "geo.vendor"), pa.array([b"\x01\xff", None, b""])
        ),
        "tensor": pa.ExtensionArray.from_storage(
            pa.fixed_shape_tensor(pa.int32(), [2, 2]), tensor_storage
        ),
    }
    return pa.RecordBatch.from_pydict(columns)


def _pack(message: Any) -> bytes:
    wrapper = any_pb2.Any()
    wrapper.Pack(message)
    return wrapper.SerializeToString()


def _unpack_command(data: bytes) -> Any:
    """Return the FlightSQL message in an `Any`, or None when `data` is not one we serve."""
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(data)
    except Exception:
        return None
    for message_class in (
        flight_sql_pb2.TicketStatementQuery,
        flight_sql_pb2.CommandStatementQuery,
        flight_sql_pb2.CommandGetTables,
    ):
        if wrapper.Is(message_class.DESCRIPTOR):
            message = message_class()
            wrapper.Unpack(message)
            return message
    return None


def show_tables_table() -> pa.Table:
    """Return the `SHOW TABLES` result: the `faults` view and one information_schema view."""
    return pa.table(
        {
            "table_catalog": ["datafusion", "datafusion"],
            "table_schema": ["public", "information_schema"],
            "table_name": ["faults", "tables"],
            "table_type": ["VIEW", "VIEW"],
        }
    )


def _tables_schema() -> pa.Schema:
    return pa.schema(
        [
            ("catalog_name", pa.string()),
            ("db_schema_name", pa.string()),
            ("table_name", pa.string(), False),
            ("table_type", pa.string(), False),
            ("table_schema", pa.binary(), False),
        ]
    )


def _tables_table(include_schema: bool) -> pa.Table:
    table = pa.table(
        {
            "catalog_name": pa.array(["datafusion"], pa.string()),
            "db_schema_name": pa.array(["public"], pa.string()),
            "table_name": pa.array(["faults"], pa.string()),
            "table_type": pa.array(["VIEW"], pa.string()),
            "table_schema": pa.array([FAULTS_SCHEMA.serialize().to_pybytes()], pa.binary()),
        },
        schema=_tables_schema(),
    )
    return table if include_schema else table.drop_columns(["table_schema"])


# Starting and stopping.


@dataclass
class FaultServerHandle:
    """The in-thread fault server on a loopback port."""

    server: FaultServer
    uri: str
    port: int
    _stopped: bool = field(default=False, repr=False)

    @property
    def calls(self) -> list[CallRecord]:
        """Every call received so far, oldest first (a copy)."""
        with self.server._calls_lock:
            return list(self.server.calls)

    @property
    def waiting_calls(self) -> int:
        """Calls now held open by a silent or slow fault."""
        with self.server._calls_lock:
            return self.server.waiting_calls

    def release_slow_prepares(self) -> None:
        """End the wait of every `fault:slow_prepare` call in progress, so each returns now."""
        self.server.release_slow_prepares()

    @property
    def cancelled_calls(self) -> int:
        """Calls whose cancellation a silent or slow fault has seen."""
        with self.server._calls_lock:
            return self.server.cancelled_calls

    def headers_of(self, method: str = "do_get") -> list[dict[str, list[str]]]:
        """Return the headers of every call of `method` (`do_get`, `do_action`, ...)."""
        return [call.headers for call in self.calls if call.method == method]

    def stop(self) -> None:
        """Stop the server; silent faults end at once. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.server.stopping.set()
        self.server.shutdown()
        self.server.wait()


def start_fault_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    get_tables: bool = True,
    tls: tuple[bytes, bytes] | None = None,
) -> FaultServerHandle:
    """Start the fault server in this process (gRPC threads) and return its handle.

    `get_tables=False` makes GetTables return UNIMPLEMENTED. `tls` is (certificate PEM,
    private key PEM): the server then speaks `grpc+tls://`.
    """
    scheme = "grpc+tls" if tls is not None else "grpc"
    certificates = [flight.CertKeyPair(cert=tls[0], key=tls[1])] if tls is not None else None
    server = FaultServer(
        f"{scheme}://{host}:{port}", get_tables=get_tables, tls_certificates=certificates
    )
    return FaultServerHandle(server, f"{scheme}://{host}:{server.port}", server.port)


@dataclass
class FaultServerProcess:
    """The fault server in a child process, which `fault:die_after:N` ends."""

    process: subprocess.Popen[str]
    uri: str
    port: int

    def kill(self) -> None:
        """Kill the process at once (SIGKILL), as a crash would."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """Stop the process cleanly (closing its stdin), or kill it after 5 s. Idempotent."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_fault_server_process(timeout: float = 20.0) -> FaultServerProcess:
    """Start the fault server in a child process (with `fault:die_after`) and wait for its port.

    Raises RuntimeError when the child does not report its port within `timeout` seconds.
    """
    repo_root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fault_server", "--allow-exit"],
        cwd=repo_root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.append(process.stdout.readline() if process.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(timeout)
    match = re.match(r"listening on (grpc://127\.0\.0\.1:(\d+))", lines[0]) if lines else None
    if match is None:
        process.kill()
        process.wait()
        raise RuntimeError(f"the fault server process did not report its port: {lines!r}")
    return FaultServerProcess(process, match.group(1), int(match.group(2)))


def main(argv: list[str] | None = None) -> int:
    """Serve until stdin closes; print `listening on URI` once ready."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fault_server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: free)")
    parser.add_argument(
        "--allow-exit", action="store_true", help="let fault:die_after:N end this process"
    )
    args = parser.parse_args(argv)
    server = FaultServer(f"grpc://127.0.0.1:{args.port}", allow_process_exit=args.allow_exit)
    print(f"listening on grpc://127.0.0.1:{server.port}", flush=True)
    sys.stdin.read()
    server.stopping.set()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
