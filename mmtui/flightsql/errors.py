"""Typed query errors and their translation from `pyarrow.flight` exceptions.

`pyarrow.flight` (checked against version 23) raises one exception class per gRPC status, and
its `str()` is the server's message followed by text the client library appends:
`. Detail: ...` (from servers written with pyarrow, sometimes a whole Python traceback),
`. gRPC client debug context: ...` and `. Client context: ...`. Servers that are not written
with pyarrow get the prefix `Flight returned <kind> error, with message: ` instead.
`error_from_arrow` removes that wrapping so `QueryError.message` is the server's own text.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.flight as flight

# Names of the gRPC status codes by number (grpc/include/grpc/impl/codegen/status.h).
GRPC_STATUS_NAMES: dict[int, str] = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}

# The status pyarrow maps each exception class to, used when the text carries no grpc_status.
# Order matters: the first matching class wins, so subclasses come before their bases.
_STATUS_BY_EXCEPTION: tuple[tuple[type[BaseException], str], ...] = (
    (flight.FlightCancelledError, "CANCELLED"),
    (flight.FlightTimedOutError, "DEADLINE_EXCEEDED"),
    (flight.FlightUnavailableError, "UNAVAILABLE"),
    (flight.FlightUnauthenticatedError, "UNAUTHENTICATED"),
    (flight.FlightUnauthorizedError, "PERMISSION_DENIED"),
    (flight.FlightInternalError, "INTERNAL"),
    (flight.FlightServerError, "UNKNOWN"),
    (pa.ArrowInvalid, "INVALID_ARGUMENT"),
    (pa.ArrowNotImplementedError, "UNIMPLEMENTED"),
    (pa.ArrowKeyError, "NOT_FOUND"),
    (pa.ArrowIndexError, "OUT_OF_RANGE"),
    (pa.ArrowCapacityError, "RESOURCE_EXHAUSTED"),
    (pa.ArrowMemoryError, "RESOURCE_EXHAUSTED"),
    (pa.ArrowTypeError, "INVALID_ARGUMENT"),
)

_GRPC_STATUS_RE = re.compile(r"grpc_status:(\d+)")
_CLIENT_PREFIX_RE = re.compile(r"^Flight (?:returned [a-z ]+ error|cancelled call), with message: ")
# Markers of the context the client library appends after the server's message.
DEBUG_CONTEXT_MARKERS = (". gRPC client debug context:", ". Client context:")
# `. Detail: <status>` as pyarrow servers append it, or `. Detail: Python exception: ...`.
_DETAIL_RE = re.compile(r"\. Detail: (?:Python exception: .*|[A-Za-z]+)\Z", re.DOTALL)
# A position of more digits is not parsed, because no SQL text has that many lines, and int()
# raises ValueError beyond 4,300 digits (Python 3.11 and later, by default). Such a message
# keeps its text and gets no position.
_POSITION_RE = re.compile(r"\(at line (\d{1,30}), column (\d{1,30})\)")
_QUERY_ID_RE = re.compile(r"\(query_id=([^)\s]+)\)")


class QueryError(Exception):
    """A failed FlightSQL call, with the gRPC status name and the server's message."""

    def __init__(
        self,
        code: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        query_id: str | None = None,
    ) -> None:
        super().__init__(code, message)
        self.code = code
        """gRPC status name, such as `INVALID_ARGUMENT` or `UNAVAILABLE`."""
        self.message = message
        """The server's text, without the context the client library appends."""
        self.line = line
        """1-based line of the SQL position the server reported, if any."""
        self.column = column
        """1-based column of the SQL position the server reported, if any."""
        self.query_id = query_id
        """The server's query id from `(query_id=...)`, for its audit log."""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConnectionFailed(QueryError):
    """The server could not be reached, or the connection broke during the call."""


class DeadlineExceeded(QueryError):
    """A deadline passed: the call timeout, or no first batch within `first_batch_timeout`."""


class QueryCancelled(QueryError):
    """The call was cancelled by `QueryStream.cancel()` or `QueryStream.close()`."""


def clean_message(text: str) -> str:
    """Return the server's message from the `str()` of a `pyarrow.flight` exception."""
    cut = len(text)
    for marker in DEBUG_CONTEXT_MARKERS:
        index = text.find(marker)
        if index != -1:
            cut = min(cut, index)
    message = _CLIENT_PREFIX_RE.sub("", text[:cut], count=1)
    return _DETAIL_RE.sub("", message, count=1)


def status_name(exc: BaseException) -> str:
    """Return the gRPC status name of a pyarrow exception, `UNKNOWN` when it has none."""
    match = _GRPC_STATUS_RE.search(str(exc))
    if match is not None:
        return GRPC_STATUS_NAMES.get(int(match.group(1)), "UNKNOWN")
    for exception_class, name in _STATUS_BY_EXCEPTION:
        if isinstance(exc, exception_class):
            return name
    return "UNKNOWN"


def error_from_arrow(exc: BaseException, uri: str) -> QueryError:
    """Translate an exception raised by `pyarrow.flight` into a `QueryError` subclass.

    `uri` names the server in the message of `ConnectionFailed`.
    """
    code = status_name(exc)
    message = clean_message(str(exc)).strip()
    position = _POSITION_RE.search(message)
    query_id = _QUERY_ID_RE.search(message)
    line = int(position.group(1)) if position else None
    column = int(position.group(2)) if position else None
    query_id_text = query_id.group(1) if query_id else None

    error_class: type[QueryError] = QueryError
    if code == "UNAVAILABLE":
        error_class = ConnectionFailed
        message = f"connection to {uri} failed: {message}"
    elif code == "DEADLINE_EXCEEDED":
        error_class = DeadlineExceeded
    elif code == "CANCELLED":
        error_class = QueryCancelled
    return error_class(code, message, line, column, query_id_text)
