"""`FlightSQLClient`: queries, prepared statements and table listing on a Micromegas server.

Queries skip GetFlightInfo and call DoGet directly with a `TicketStatementQuery` ticket, as the
upstream `micromegas` client does. The gRPC message-size caps are lifted, so a record batch of
any size passes. TLS uses the `certifi` bundle unless `tls_root_certs` is given.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from mmtui.flightsql.call_headers import CallHeaderBuilder, TokenProvider, check_attribution
from mmtui.flightsql.errors import QueryError, error_from_arrow
from mmtui.flightsql.messages import (
    get_tables_descriptor,
    parse_prepared_result,
    prepare_action,
    read_ipc_schema,
    statement_ticket,
)
from mmtui.flightsql.stream import QueryStream

logger = logging.getLogger(__name__)

MAX_METADATA_BYTES = 4 * 1024 * 1024
"""Maximum size of the headers and trailers of a received call, the server's error included.

With gRPC's default, a planning error longer than about 8,000 characters arrived as gRPC's
own "received metadata size exceeds hard limit (... vs. 16384)". DataFusion lists every
valid field in such an error, so a view of a few hundred columns passes that. Arrow sends the
message twice (`grpc-message` and `x-arrow-status-detail-bin`): with pyarrow 23 and this limit,
an error of 1,100,000 characters arrived and one of 1,500,000 did not."""

# Lift gRPC's default 4 MiB receive cap (and the send cap) so large record batches pass.
_GRPC_OPTIONS: list[tuple[str, int]] = [
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
    # gRPC has a soft and a hard limit (the error above names the hard one): both are raised.
    ("grpc.max_metadata_size", MAX_METADATA_BYTES),
    ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
]
_SCHEMES = {
    "grpc": "grpc",
    "grpc+tcp": "grpc+tcp",
    "grpc+tls": "grpc+tls",
    "http": "grpc",
    "https": "grpc+tls",
}


@dataclass(frozen=True)
class PreparedStatement:
    """A statement the server planned without running it."""

    query: str
    """The SQL text; Micromegas uses it as the prepared statement handle."""
    dataset_schema: pa.Schema
    """The schema of the rows the query would return."""


@dataclass(frozen=True)
class TableInfo:
    """A table or view the server lists."""

    name: str
    table_type: str
    """The server's table type, such as `TABLE` or `VIEW`."""
    schema: pa.Schema | None
    """The table's columns, or None when the server did not send them."""


def normalize_uri(uri: str) -> str:
    """Return `uri` with an `http(s)://` scheme rewritten to `grpc(+tls)://`.

    Raises ValueError for another scheme or a missing host.
    """
    scheme, separator, rest = uri.partition("://")
    if not separator or not rest:
        raise ValueError(f"uri={uri!r} is invalid: expected grpc://HOST:PORT or grpc+tls://")
    flight_scheme = _SCHEMES.get(scheme.lower())
    if flight_scheme is None:
        raise ValueError(
            f"uri={uri!r} has an unsupported scheme {scheme!r}: use grpc, grpc+tls, http or https"
        )
    return f"{flight_scheme}://{rest}"


def check_timeout(name: str, seconds: float | None) -> float | None:
    """Return `seconds`, or None when it is None or 0 (no timeout); reject negative values,
    NaN and infinity."""
    if seconds is None or seconds == 0:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name}={seconds!r} is invalid: use seconds > 0, or None for no timeout")
    return float(seconds)


def load_root_certs(tls_root_certs: bytes | str | os.PathLike[str] | None) -> bytes | None:
    """Return PEM bytes from PEM bytes, a file path, or the `certifi` bundle when None.

    Returns None (gRPC's own roots) when `certifi` is not installed.
    """
    if isinstance(tls_root_certs, bytes):
        return tls_root_certs
    if tls_root_certs is not None:
        return Path(tls_root_certs).read_bytes()
    try:
        import certifi
    except ImportError:
        return None
    return Path(certifi.where()).read_bytes()


class FlightSQLClient:
    """A FlightSQL client for a Micromegas analytics server.

    Thread-safe: several threads may run queries at once on one client.
    """

    def __init__(
        self,
        uri: str,
        *,
        auth_provider: TokenProvider | None = None,
        headers: Mapping[str, str] | None = None,
        tls_root_certs: bytes | str | os.PathLike[str] | None = None,
        call_timeout: float | None = 30.0,
        first_batch_timeout: float | None = None,
        client_type: str = "mmtui",
        session_id: str | None = None,
        preserve_dictionary: bool = False,
    ) -> None:
        """Create a client; no connection is made until the first call.

        `headers` is deprecated (use `auth_provider`): the static headers are sent on every
        call. `call_timeout` bounds unary calls in seconds, and `first_batch_timeout` bounds the
        wait for the first batch of a query. None or 0 turns either off.
        `preserve_dictionary` sends the header that makes the server keep dictionary-encoded
        columns encoded. Raises ValueError for a negative timeout, an invalid URI or invalid
        attribution values, and OSError when the `tls_root_certs` file cannot be read.
        """
        if headers is not None:
            warnings.warn(
                "FlightSQLClient(headers=...) is deprecated: pass auth_provider= instead, "
                "which fetches a fresh token for every call",
                DeprecationWarning,
                stacklevel=2,
            )
        self.uri = normalize_uri(uri)
        """The server's Flight URI (`http(s)://` rewritten to `grpc(+tls)://`)."""
        self.call_timeout = check_timeout("call_timeout", call_timeout)
        self.first_batch_timeout = check_timeout("first_batch_timeout", first_batch_timeout)
        self.session_id = check_attribution(
            "session_id", session_id if session_id is not None else str(uuid.uuid4())
        )
        """The `x-client-session` value sent with every call of this client."""
        self._headers = CallHeaderBuilder(
            client_type=check_attribution("client_type", client_type),
            session_id=self.session_id,
            auth_provider=auth_provider,
            static_headers=dict(headers) if headers is not None else None,
            preserve_dictionary=preserve_dictionary,
        )
        self.preserve_dictionary = preserve_dictionary
        """Whether queries ask the server to keep dictionary-encoded columns encoded."""

        root_certs = None
        if self.uri.startswith("grpc+tls://"):
            root_certs = load_root_certs(tls_root_certs)
        self._flight: Any = flight.FlightClient(
            self.uri, tls_root_certs=root_certs, generic_options=_GRPC_OPTIONS
        )

    def _options(
        self,
        begin: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        headers = self._headers.build(begin, end, limit)
        return flight.FlightCallOptions(headers=headers, timeout=timeout)

    def query_stream(
        self,
        sql: str,
        begin: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> QueryStream:
        """Start `sql` and return its `QueryStream` at once; batches are read by iterating it.

        `begin` and `end` are timezone-aware bounds of the time range (both or neither).
        Raises ValueError for invalid arguments, and exceptions of `auth_provider.get_token()`
        propagate unchanged. Server errors are raised by the stream.
        """
        options = self._options(begin, end, limit)
        logger.debug("query on %s: %s", self.uri, sql)
        return QueryStream(
            self._flight,
            statement_ticket(sql),
            options,
            uri=self.uri,
            first_batch_timeout=self.first_batch_timeout,
            description=f"on {self.uri}",
        )

    def query(
        self,
        sql: str,
        begin: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Run `sql` and return the whole result as a `pa.Table`. Raises `QueryError`."""
        with self.query_stream(sql, begin, end, limit) as stream:
            return stream.read_all()

    def prepare_statement(
        self,
        sql: str,
        begin: datetime | None = None,
        end: datetime | None = None,
    ) -> PreparedStatement:
        """Have the server plan `sql` without running it, and return the result schema.

        Without `preserve_dictionary`, dictionary-encoded columns are given as their value
        type, because that is how a query's stream sends them. Raises `QueryError` when the
        server rejects the SQL (with its line and column).
        """
        options = self._options(begin, end, timeout=self.call_timeout)
        try:
            results = list(self._flight.do_action(prepare_action(sql), options))
        except pa.ArrowException as exc:
            raise error_from_arrow(exc, self.uri) from exc
        if not results:
            raise QueryError("INTERNAL", "the server sent no CreatePreparedStatement result")
        try:
            _handle, schema = parse_prepared_result(results[0].body.to_pybytes())
        except ValueError as exc:
            raise QueryError("INTERNAL", str(exc)) from exc
        if not self.preserve_dictionary:
            schema = decoded_schema(schema)
        return PreparedStatement(query=sql, dataset_schema=schema)

    def list_tables(self) -> list[TableInfo]:
        """List the server's tables with their schemas.

        Uses GetTables with `include_schema`; when the server returns UNIMPLEMENTED, runs
        `SHOW TABLES` and prepares `SELECT * FROM <table>` for each schema instead.
        Raises `QueryError`.
        """
        try:
            return self._get_tables()
        except QueryError as exc:
            if exc.code != "UNIMPLEMENTED":
                raise
            logger.info("GetTables is not implemented by %s, listing with SHOW TABLES", self.uri)
        return self._show_tables()

    def _get_tables(self) -> list[TableInfo]:
        options = self._options(timeout=self.call_timeout)
        try:
            info = self._flight.get_flight_info(get_tables_descriptor(include_schema=True), options)
            batches = [
                self._flight.do_get(endpoint.ticket, options).read_all()
                for endpoint in info.endpoints
            ]
        except pa.ArrowException as exc:
            raise error_from_arrow(exc, self.uri) from exc

        tables: list[TableInfo] = []
        for table in batches:
            try:
                tables.extend(_table_infos(table))
            except (KeyError, TypeError, ValueError, pa.ArrowException) as exc:
                raise QueryError(
                    "INVALID_RESPONSE", f"the server's GetTables result is not usable: {exc}"
                ) from exc
        return tables

    def _show_tables(self) -> list[TableInfo]:
        listing = self.query("SHOW TABLES")
        schemas = listing.column("table_schema").to_pylist()
        names = listing.column("table_name").to_pylist()
        types = listing.column("table_type").to_pylist()
        tables: list[TableInfo] = []
        for schema_name, name, table_type in zip(schemas, names, types, strict=True):
            if schema_name == "information_schema":
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            try:
                schema = self.prepare_statement(f"SELECT * FROM {quoted}").dataset_schema
            except QueryError as exc:
                logger.info("no schema for table %s: %s", name, exc)
                schema = None
            tables.append(TableInfo(name, table_type, schema))
        return tables

    def count_estimate(
        self,
        sql: str,
        begin: datetime | None = None,
        end: datetime | None = None,
        on_stream: Callable[[QueryStream], None] | None = None,
    ) -> int | None:
        """Return the row count of `sql` from `SELECT COUNT(*) FROM (sql)`, or None on failure.

        Raises no Exception: a failure (rejected SQL, timeout, bad arguments, a cancel) is logged
        and gives None. `on_stream` receives the count's `QueryStream` as soon as the call
        starts, so that another thread can cancel it when the count is no longer wanted.

        NOTE: until the server sends the count's schema, a cancel only ends the wait here:
        pyarrow's `do_get` cannot be interrupted (see `QueryStream`), so the call itself is
        cancelled when the schema arrives.
        """
        body = sql.strip().rstrip(";")
        # The newlines keep a trailing `--` comment in `sql` from swallowing the parenthesis.
        count_sql = f"SELECT COUNT(*) AS row_count FROM (\n{body}\n) AS counted"
        try:
            options = self._options(begin, end, timeout=self.call_timeout)
        except Exception as exc:
            # The token provider raised (a login is needed, say), and the query reports it.
            logger.info("count estimate skipped, no token (%s: %s)", type(exc).__name__, exc)
            return None
        try:
            stream = QueryStream(
                self._flight,
                statement_ticket(count_sql),
                options,
                uri=self.uri,
                description=f"count estimate on {self.uri}",
            )
            if on_stream is not None:
                on_stream(stream)
            with stream:
                table = stream.read_all()
            value = table.column(0)[0].as_py() if table.num_rows else None
        except QueryError as exc:
            logger.info("count estimate failed: %s", exc)
            return None
        except (ValueError, TypeError, LookupError) as exc:
            logger.info("count estimate failed: %s: %s", type(exc).__name__, exc)
            return None
        except Exception:
            logger.exception("count estimate failed unexpectedly")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            logger.info("count estimate ignored: the server sent %r", value)
            return None
        return value

    def close(self) -> None:
        """Close the gRPC channel. Streams still open on it fail."""
        try:
            self._flight.close()
        except pa.ArrowException as exc:
            logger.debug("closing the Flight client of %s failed: %s", self.uri, exc)

    def __enter__(self) -> FlightSQLClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def decoded_schema(schema: pa.Schema) -> pa.Schema:
    """Return `schema` with each dictionary-encoded column as its value type.

    NOTE: only top-level columns change. A dictionary inside a list or struct keeps its type.
    """
    fields = [
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


def _table_infos(table: pa.Table) -> list[TableInfo]:
    """Read one GetTables result. Rows without a table name are skipped and logged.

    Raises KeyError for a missing column, and TypeError or ValueError for a column of the
    wrong type.
    """
    names = table.column("table_name").to_pylist()
    types = table.column("table_type").to_pylist()
    schemas: list[Any] = (
        table.column("table_schema").to_pylist()
        if "table_schema" in table.column_names
        else [None] * len(names)
    )
    infos: list[TableInfo] = []
    for name, table_type, schema_bytes in zip(names, types, schemas, strict=True):
        if not isinstance(name, str) or not name:
            logger.warning("the server listed a table without a name (%r); skipped", name)
            continue
        if schema_bytes is not None and not isinstance(schema_bytes, bytes):
            raise TypeError(f"table_schema of {name!r} is {type(schema_bytes).__name__}, not bytes")
        infos.append(TableInfo(name, table_type, _decode_table_schema(name, schema_bytes)))
    return infos


def _decode_table_schema(name: str, data: bytes | None) -> pa.Schema | None:
    if not data:
        return None
    try:
        return read_ipc_schema(data)
    except ValueError as exc:
        logger.info("the server sent an unreadable schema for table %s: %s", name, exc)
        return None
