"""The demo FlightSQL server: the Micromegas subset of FlightSQL on `pyarrow.flight`.

Implemented as the Micromegas analytics server does:
- DoGet with a `TicketStatementQuery` ticket (SQL in `statement_handle`) or a `CommandGetTables`
  ticket (from GetFlightInfo);
- GetFlightInfo for `CommandStatementQuery` (one endpoint, empty schema) and `CommandGetTables`;
- GetFlightInfo for `CommandPreparedStatementQuery` (runs the handle, which is the SQL) and
  `CommandGetSqlInfo` (server name and versions, as upstream reports them);
- DoAction `CreatePreparedStatement` (plans the SQL, returns its schema, runs nothing) and
  `ClosePreparedStatement` (accepted, does nothing).
Every other FlightSQL command and action, Handshake, DoPut and DoExchange are UNIMPLEMENTED.

Call headers: `query_range_begin` / `query_range_end` (RFC 3339, both or neither) cut the
time-partitioned views to the range, `limit` wraps the query in a LIMIT, `preserve_dictionary:
true` keeps dictionary-encoded columns, and `authorization: Bearer <JWT>` is checked when the
server has an issuer and audience.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message

from mmtui.demo.auth import JwtVerifier, TokenRejected
from mmtui.demo.engine import Engine, PlanningError
from mmtui.demo.tables import TimeRange
from mmtui.demo.telemetry import Telemetry, generate_telemetry
from mmtui.flightsql.proto import flight_sql_pb2 as sql_pb2

logger = logging.getLogger(__name__)

TYPE_URL_PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."
#: Seconds DemoServerHandle.stop waits for calls in progress.
SHUTDOWN_TIMEOUT = 5.0
#: Seconds start_demo_server waits for the server to respond to its first call.
STARTUP_TIMEOUT = 10.0
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)
_ATTRIBUTION_HEADERS = (
    "x-client-type",
    "x-client-agent",
    "x-client-entrypoint",
    "x-client-session",
)


def tables_schema(include_schema: bool) -> pa.Schema:
    """Schema of the FlightSQL GetTables result."""
    fields = [
        pa.field("catalog_name", pa.utf8()),
        pa.field("db_schema_name", pa.utf8()),
        pa.field("table_name", pa.utf8(), nullable=False),
        pa.field("table_type", pa.utf8(), nullable=False),
    ]
    if include_schema:
        fields.append(pa.field("table_schema", pa.binary(), nullable=False))
    return pa.schema(fields)


#: Schema of the FlightSQL GetSqlInfo result: an info id and a dense union of value kinds.
SQL_INFO_SCHEMA = pa.schema(
    [
        pa.field("info_name", pa.uint32(), nullable=False),
        pa.field(
            "value",
            pa.dense_union(
                [
                    pa.field("string_value", pa.utf8()),
                    pa.field("bool_value", pa.bool_()),
                    pa.field("bigint_value", pa.int64()),
                    pa.field("int32_bitmask", pa.int32()),
                    pa.field("string_list", pa.list_(pa.utf8())),
                    pa.field("int32_to_int32_list_map", pa.map_(pa.int32(), pa.list_(pa.int32()))),
                ]
            ),
            nullable=False,
        ),
    ]
)
#: SqlInfo values the Micromegas server reports: server name, version and Arrow format version.
SQL_INFO_STRINGS = {0: "Micromegas Flight SQL Server", 1: "1", 2: "1.3"}


def sql_info_table(requested: list[int]) -> pa.Table:
    """Build the GetSqlInfo result for the requested ids (all known ids when none is requested)."""
    ids = [i for i in (requested or SQL_INFO_STRINGS) if i in SQL_INFO_STRINGS]
    union_type = SQL_INFO_SCHEMA.field("value").type
    children = [pa.array([SQL_INFO_STRINGS[i] for i in ids], pa.utf8())] + [
        pa.array([], union_type.field(k).type) for k in range(1, union_type.num_fields)
    ]
    values = pa.UnionArray.from_dense(
        pa.array([0] * len(ids), pa.int8()),
        pa.array(range(len(ids)), pa.int32()),
        children,
        [union_type.field(k).name for k in range(union_type.num_fields)],
    )
    return pa.table([pa.array(ids, pa.uint32()), values], schema=SQL_INFO_SCHEMA)


def pack(message: Message) -> bytes:
    wrapper = any_pb2.Any()
    wrapper.Pack(message)
    return bytes(wrapper.SerializeToString())


def unpack(data: bytes) -> tuple[str, any_pb2.Any]:
    """Parse an `Any` and return the name of the FlightSQL message it contains, and the `Any`."""
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(data)
    except DecodeError as error:
        raise pa.ArrowInvalid(f"invalid FlightSQL command: not a protobuf Any ({error})") from None
    if not wrapper.type_url.startswith(TYPE_URL_PREFIX):
        raise pa.ArrowInvalid(f"invalid FlightSQL command: unknown type {wrapper.type_url!r}")
    return wrapper.type_url[len(TYPE_URL_PREFIX) :], wrapper


def schema_ipc_bytes(schema: pa.Schema) -> bytes:
    """Serialize a schema as an Arrow IPC stream without batches, as FlightSQL results do."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema):
        pass
    return bytes(sink.getvalue().to_pybytes())


def parse_rfc3339_ns(value: str, header: str) -> int:
    """Parse an RFC 3339 timestamp into nanoseconds since the epoch, keeping all digits."""
    match = _RFC3339.match(value.strip())
    if match is None:
        raise pa.ArrowInvalid(
            f"invalid {header} header {value!r}: expected an RFC 3339 timestamp "
            "such as 2024-05-01T12:00:00Z"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(9, "0")
    offset = match.group(8)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as error:
        raise pa.ArrowInvalid(f"invalid {header} header {value!r}: {error}") from None
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        moment -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    seconds = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1)
    return seconds * 1_000_000_000 + int(fraction)


@dataclass
class CallOptions:
    """Query options read from the call headers of one call."""

    time_range: TimeRange | None
    limit: int | None
    preserve_dictionary: bool
    attribution: dict[str, str]

    def describe_range(self) -> str:
        if self.time_range is None:
            return "all time"
        begin = datetime.fromtimestamp(self.time_range.begin_ns / 1e9, UTC).isoformat()
        end = datetime.fromtimestamp(self.time_range.end_ns / 1e9, UTC).isoformat()
        return f"{begin}..{end}"


def _header(headers: dict[str, list[Any]], name: str) -> str | None:
    values = headers.get(name)
    if not values:
        return None
    value = values[0]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def parse_call_headers(headers: dict[str, list[Any]]) -> CallOptions:
    """Read the Micromegas call headers. Raises ArrowInvalid (INVALID_ARGUMENT) on bad values."""
    begin = _header(headers, "query_range_begin") or None
    end = _header(headers, "query_range_end") or None
    time_range = None
    if (begin is None) != (end is None):
        missing = "query_range_end" if end is None else "query_range_begin"
        raise pa.ArrowInvalid(
            f"missing {missing} header: query_range_begin and query_range_end must be sent together"
        )
    if begin is not None and end is not None:
        begin_ns = parse_rfc3339_ns(begin, "query_range_begin")
        end_ns = parse_rfc3339_ns(end, "query_range_end")
        if begin_ns > end_ns:
            raise pa.ArrowInvalid(
                f"invalid query_range_begin header {begin!r}: it is after query_range_end {end!r}"
            )
        time_range = TimeRange(begin_ns, end_ns)

    limit = None
    limit_text = _header(headers, "limit")
    if limit_text is not None and limit_text != "":
        if re.fullmatch(r"[0-9]+", limit_text.strip()) is None:
            raise pa.ArrowInvalid(
                f"invalid limit header {limit_text!r}: expected a non-negative decimal integer"
            )
        limit = int(limit_text.strip())

    preserve = (_header(headers, "preserve_dictionary") or "").strip().lower() == "true"
    attribution = {
        name: value for name in _ATTRIBUTION_HEADERS if (value := _header(headers, name))
    }
    return CallOptions(time_range, limit, preserve, attribution)


def decode_dictionaries(schema: pa.Schema) -> pa.Schema:
    """Return the schema with each dictionary-encoded field replaced by its value type."""
    fields = [
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


class _CallHeaders(flight.ServerMiddleware):  # type: ignore[misc]
    def __init__(self, headers: dict[str, list[Any]]) -> None:
        self.headers = headers


class _CallHeadersFactory(flight.ServerMiddlewareFactory):  # type: ignore[misc]
    """Keeps each call's headers for the handlers and checks the bearer token when required."""

    def __init__(self, verifier: JwtVerifier | None) -> None:
        self.verifier = verifier

    def start_call(self, info: flight.CallInfo, headers: dict[str, list[Any]]) -> _CallHeaders:
        if self.verifier is not None:
            self._authenticate(info, headers)
        return _CallHeaders(headers)

    def _authenticate(self, info: flight.CallInfo, headers: dict[str, list[Any]]) -> None:
        assert self.verifier is not None
        value = _header(headers, "authorization")
        if value is None:
            logger.warning("rejected %s call: no authorization header", info.method.name)
            raise flight.FlightUnauthenticatedError(
                "missing authorization header: send 'authorization: Bearer <token>'"
            )
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            logger.warning(
                "rejected %s call: authorization is not a bearer token", info.method.name
            )
            raise flight.FlightUnauthenticatedError(
                "invalid authorization header: expected 'Bearer <token>'"
            )
        try:
            claims = self.verifier.verify(token.strip())
        except TokenRejected as error:
            logger.warning("rejected %s call: %s", info.method.name, error)
            # The reason is in brackets: after "token:" the log's redaction would mask it.
            raise flight.FlightUnauthenticatedError(f"invalid bearer token ({error})") from None
        logger.debug("authenticated %s call for subject %s", info.method.name, claims.get("sub"))


class DemoFlightServer(flight.FlightServerBase):  # type: ignore[misc]
    """FlightSQL server that serves Micromegas calls from the generated telemetry."""

    def __init__(
        self, location: str, telemetry: Telemetry, verifier: JwtVerifier | None = None
    ) -> None:
        super().__init__(location, middleware={"call": _CallHeadersFactory(verifier)})
        self.verifier = verifier
        self.telemetry = telemetry
        #: Set when the server shuts down, so result streams end at their next batch.
        self.stopping = threading.Event()
        self.engine = Engine(telemetry)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _headers(context: flight.ServerCallContext) -> dict[str, list[Any]]:
        middleware = context.get_middleware("call")
        return middleware.headers if isinstance(middleware, _CallHeaders) else {}

    def _plan(self, sql: str, options: CallOptions, query_id: str) -> Any:
        try:
            return self.engine.plan(sql, options.time_range, options.limit)
        except PlanningError as error:
            first_line, _, rest = error.root_cause.partition("\n")
            message = f"error building dataframe: {first_line}"
            if error.position is not None:
                message += f" (at line {error.position[0]}, column {error.position[1]})"
            message += f" (query_id={query_id})"
            if rest:
                message += "\n" + rest
            logger.info("query %s rejected: %s", query_id, message)
            raise pa.ArrowInvalid(message) from None

    # -- DoGet -----------------------------------------------------------------------------

    def do_get(
        self, context: flight.ServerCallContext, ticket: flight.Ticket
    ) -> flight.FlightDataStream:
        name, wrapper = unpack(ticket.ticket)
        if name == "TicketStatementQuery":
            statement = sql_pb2.TicketStatementQuery()
            wrapper.Unpack(statement)
            sql = statement.statement_handle.decode("utf-8", "replace")
            return self._execute(sql, parse_call_headers(self._headers(context)))
        if name == "CommandGetTables":
            command = sql_pb2.CommandGetTables()
            wrapper.Unpack(command)
            return flight.RecordBatchStream(self._tables(command))
        if name == "CommandGetSqlInfo":
            info_command = sql_pb2.CommandGetSqlInfo()
            wrapper.Unpack(info_command)
            return flight.RecordBatchStream(sql_info_table(list(info_command.info)))
        raise NotImplementedError(f"DoGet is not implemented for {name}")

    def _execute(self, sql: str, options: CallOptions) -> flight.FlightDataStream:
        query_id = str(uuid.uuid4())
        started = time.perf_counter()
        logger.info(
            "query %s range=%s limit=%s preserve_dictionary=%s client=%s sql=%r",
            query_id,
            options.describe_range(),
            options.limit,
            options.preserve_dictionary,
            options.attribution,
            sql,
        )
        planned = self._plan(sql, options, query_id)
        schema = (
            planned.schema if options.preserve_dictionary else decode_dictionaries(planned.schema)
        )
        try:
            stream = planned.dataframe.execute_stream()
        except Exception as error:  # DataFusion raises plain Exception subclasses
            logger.warning("query %s failed to start: %s", query_id, error)
            raise flight.FlightInternalError(
                f"error executing plan: {error} (query_id={query_id})"
            ) from None
        batches = self._stream_batches(stream, schema, query_id, options, started, self.stopping)
        return flight.GeneratorStream(schema, batches)

    @staticmethod
    def _stream_batches(
        stream: Any,
        schema: pa.Schema,
        query_id: str,
        options: CallOptions,
        started: float,
        stopping: threading.Event,
    ) -> Iterator[pa.RecordBatch | flight.FlightDataStream]:
        # pyarrow 23's GeneratorStream sends a bare RecordBatch without its dictionaries, so a
        # batch with dictionary columns goes out as a one-batch stream, which sends them first
        # (dictionaries re-sent per batch, as upstream does).
        has_dictionaries = any(pa.types.is_dictionary(field.type) for field in schema)
        rows = 0
        outcome = "cancelled"
        try:
            # NOTE: a cancelled call ends this loop only between batches, when gRPC stops
            # pulling. A batch that takes long to compute (an aggregate over a CROSS JOIN)
            # keeps a core busy until DataFusion returns it, also under `mmtui --demo`.
            for item in stream:
                if stopping.is_set():
                    outcome = "stopped by server shutdown"
                    # UNAVAILABLE is the code gRPC itself gives calls when a server shuts down
                    # (doc/statuscodes.md). Clients read CANCELLED as their own cancel.
                    raise flight.FlightUnavailableError(
                        f"the server is shutting down (query_id={query_id})"
                    )
                batch = item.to_pyarrow()
                if batch.schema != schema:
                    batch = batch.cast(schema)
                rows += batch.num_rows
                if has_dictionaries:
                    yield flight.RecordBatchStream(
                        pa.RecordBatchReader.from_batches(schema, [batch])
                    )
                else:
                    yield batch
            outcome = "done"
        except flight.FlightError:
            raise
        except Exception as error:  # DataFusion raises plain Exception subclasses
            outcome = f"failed: {error}"
            raise flight.FlightInternalError(
                f"error executing query: {error} (query_id={query_id})"
            ) from None
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info(
                "query %s %s: %d rows in %.1f ms (range %s)",
                query_id,
                outcome,
                rows,
                elapsed_ms,
                options.describe_range(),
            )

    def _tables(self, command: Any) -> pa.Table:
        include_schema = bool(command.include_schema)
        names = list(self.telemetry.views)
        if command.HasField("table_name_filter_pattern"):
            pattern = _like_to_regex(command.table_name_filter_pattern)
            names = [n for n in names if pattern.fullmatch(n)]
        if command.table_types and "table" not in {t.lower() for t in command.table_types}:
            names = []
        if command.HasField("catalog") and command.catalog != "":
            names = []
        if command.HasField("db_schema_filter_pattern") and not _like_to_regex(
            command.db_schema_filter_pattern
        ).fullmatch(""):
            names = []
        # Micromegas lists its global views with empty catalog and schema names.
        columns: dict[str, list[Any]] = {
            "catalog_name": [""] * len(names),
            "db_schema_name": [""] * len(names),
            "table_name": names,
            "table_type": ["table"] * len(names),
        }
        if include_schema:
            columns["table_schema"] = [
                schema_ipc_bytes(self.telemetry.views[n].schema) for n in names
            ]
        return pa.table(columns, schema=tables_schema(include_schema))

    # -- GetFlightInfo ---------------------------------------------------------------------

    def get_flight_info(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise NotImplementedError("GetFlightInfo is implemented only for FlightSQL commands")
        name, wrapper = unpack(descriptor.command)
        if name == "CommandStatementQuery":
            command = sql_pb2.CommandStatementQuery()
            wrapper.Unpack(command)
            logger.info("get_flight_info for statement %r", command.query)
            ticket = pack(sql_pb2.TicketStatementQuery(statement_handle=command.query.encode()))
            endpoint = flight.FlightEndpoint(ticket, [])
            return flight.FlightInfo(pa.schema([]), descriptor, [endpoint], -1, -1)
        if name == "CommandPreparedStatementQuery":
            # The handle of a prepared statement is its SQL, so executing it runs that SQL.
            # The result schema is planned here because clients such as ADBC check each
            # endpoint's schema against it.
            prepared = sql_pb2.CommandPreparedStatementQuery()
            wrapper.Unpack(prepared)
            handle = prepared.prepared_statement_handle
            sql = handle.decode("utf-8", "replace")
            logger.info("get_flight_info for prepared statement %r", sql)
            options = parse_call_headers(self._headers(context))
            planned = self._plan(sql, options, str(uuid.uuid4()))
            schema = planned.schema
            if not options.preserve_dictionary:
                schema = decode_dictionaries(schema)
            ticket = pack(sql_pb2.TicketStatementQuery(statement_handle=handle))
            endpoint = flight.FlightEndpoint(ticket, [])
            return flight.FlightInfo(schema, descriptor, [endpoint], -1, -1)
        if name == "CommandGetSqlInfo":
            endpoint = flight.FlightEndpoint(descriptor.command, [])
            return flight.FlightInfo(SQL_INFO_SCHEMA, descriptor, [endpoint], -1, -1)
        if name == "CommandGetTables":
            tables = sql_pb2.CommandGetTables()
            wrapper.Unpack(tables)
            endpoint = flight.FlightEndpoint(descriptor.command, [])
            schema = tables_schema(bool(tables.include_schema))
            return flight.FlightInfo(schema, descriptor, [endpoint], -1, -1)
        raise NotImplementedError(f"GetFlightInfo is not implemented for {name}")

    # -- DoAction --------------------------------------------------------------------------

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        return [
            ("CreatePreparedStatement", "plan a query and return its result schema"),
            ("ClosePreparedStatement", "release a prepared statement (nothing to release)"),
        ]

    def do_action(
        self, context: flight.ServerCallContext, action: flight.Action
    ) -> Iterator[flight.Result]:
        body = action.body.to_pybytes() if action.body is not None else b""
        if action.type == "CreatePreparedStatement":
            _, wrapper = unpack(body)
            request = sql_pb2.ActionCreatePreparedStatementRequest()
            if not wrapper.Unpack(request):
                raise pa.ArrowInvalid(
                    "invalid CreatePreparedStatement body: expected "
                    f"ActionCreatePreparedStatementRequest, got {wrapper.type_url}"
                )
            query_id = str(uuid.uuid4())
            logger.info("prepare statement %s sql=%r", query_id, request.query)
            # As upstream, the schema is planned without a time range and keeps dictionaries.
            options = CallOptions(None, None, True, {})
            planned = self._plan(request.query, options, query_id)
            result = sql_pb2.ActionCreatePreparedStatementResult(
                prepared_statement_handle=request.query.encode("utf-8"),
                dataset_schema=schema_ipc_bytes(planned.schema),
            )
            return iter([flight.Result(pack(result))])
        if action.type == "ClosePreparedStatement":
            logger.info("close prepared statement")
            return iter([])
        raise NotImplementedError(f"action {action.type!r} is not implemented")


def _like_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a SQL LIKE pattern (% and _ wildcards, backslash escapes) to a regex."""
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


class DemoServerHandle:
    """A running demo server on a background thread."""

    def __init__(self, server: DemoFlightServer, host: str, telemetry: Telemetry) -> None:
        self.server = server
        self.host = host
        self.port: int = server.port
        self.telemetry = telemetry
        self.now: datetime = telemetry.now
        self._stopped = False
        self._lock = threading.Lock()
        # The gRPC server already listens, so this thread only waits for its shutdown. It calls
        # `wait`, not `serve`, because pyarrow's `serve` (ServeWithSignals in pyarrow 23) hooks
        # SIGINT, and SIGTERM when Python handles it, for the whole process. On that signal gRPC
        # shuts down and waits for every call in progress before Python's handler runs, so an
        # open result stream would keep the process alive because `stop` could not end it.
        self._thread = threading.Thread(target=server.wait, name="demo-flightsql", daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"grpc://{host}:{self.port}"

    def wait_until_serving(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Poll the server with ListActions until it responds or the timeout passes."""
        deadline = time.monotonic() + timeout
        client = flight.connect(self.uri)
        try:
            while True:
                try:
                    list(client.list_actions(flight.FlightCallOptions(timeout=1.0)))
                    return
                except (flight.FlightUnavailableError, flight.FlightTimedOutError):
                    if time.monotonic() > deadline:
                        raise
                except flight.FlightUnauthenticatedError:
                    return  # serving, and checking tokens
        finally:
            client.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the server thread to end; return True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Shut the server down and join its thread, waiting at most `timeout` seconds.

        Result streams end at their next batch. A call whose client stopped reading without
        cancelling blocks gRPC's shutdown until that client goes away: after the timeout,
        shutdown goes on in a background thread and this method returns.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self.server.stopping.set()
        shutdown = threading.Thread(target=self.server.shutdown, name="demo-shutdown", daemon=True)
        shutdown.start()
        shutdown.join(timeout)
        if shutdown.is_alive():
            logger.warning(
                "demo server on %s: calls still in progress after %.0f s, "
                "shutdown continues in the background",
                self.uri,
                timeout,
            )
            return
        self._thread.join()
        logger.info("demo server on %s stopped", self.uri)


def start_demo_server(
    host: str = "127.0.0.1",
    port: int = 0,
    scale: float = 1.0,
    seed: int = 42,
    issuer: str | None = None,
    audience: str | None = None,
    now: datetime | None = None,
    telemetry: Telemetry | None = None,
) -> DemoServerHandle:
    """Generate the telemetry and serve it, returning once the server responds to calls.

    `port=0` picks a free port. With `issuer` and `audience`, every call needs a bearer JWT
    signed by a key of the issuer's JWKS. `telemetry` reuses an already generated data set.
    """
    if (issuer is None) != (audience is None):
        raise ValueError("issuer and audience must be given together")
    data = telemetry or generate_telemetry(now=now, seed=seed, scale=scale)
    verifier = JwtVerifier(issuer, audience) if issuer and audience else None
    location_host = f"[{host}]" if ":" in host else host
    server = DemoFlightServer(f"grpc://{location_host}:{port}", data, verifier)
    handle = DemoServerHandle(server, host, data)
    handle.wait_until_serving()
    logger.info(
        "demo FlightSQL server listening on %s (%d log rows, auth %s)",
        handle.uri,
        data.log_rows,
        f"required, issuer {issuer}" if verifier else "disabled",
    )
    return handle
