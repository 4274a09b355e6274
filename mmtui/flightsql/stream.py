"""`QueryStream`: one running DoGet call, read as record batches, cancellable from any thread.

`pyarrow.flight.FlightClient.do_get` blocks until the server sends the schema, and nothing can
interrupt it (checked with pyarrow 23: neither `FlightClient.close()` nor a Python signal reaches
it from another thread). So the call is opened on a short-lived daemon thread. `cancel()` then
returns at once even while the server is silent: the caller's wait ends with `QueryCancelled`,
and the opener thread cancels the call as soon as `do_get` returns. After the schema, batches
are read on the caller's thread and `FlightStreamReader.cancel()` interrupts a blocked read.

`first_batch_timeout` is enforced by a timer that cancels the call when the reading thread has
received neither a batch nor the end of the stream in time. It stops at the first batch, so a
long healthy stream is never cut by it, unlike a gRPC deadline, which covers the whole call.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.flight as flight

from mmtui.flightsql.errors import (
    DEBUG_CONTEXT_MARKERS,
    DeadlineExceeded,
    QueryCancelled,
    QueryError,
    error_from_arrow,
)
from mmtui.flightsql.intervals import (
    convert_intervals,
    has_unwrappable_intervals,
    wrappable_schema,
)

logger = logging.getLogger(__name__)


class _State(enum.Enum):
    OPENING = "opening"
    STREAMING = "streaming"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


_ENDED = (_State.DONE, _State.FAILED, _State.CANCELLED)


class QueryStream:
    """The record batches of one query, read as they arrive.

    Iterate it on one thread. `cancel()`, `close()` and the counters may be used from any
    thread. Errors raise `QueryError` (or a subclass) after the batches already yielded.
    """

    def __init__(
        self,
        flight_client: Any,
        ticket: Any,
        options: Any,
        *,
        uri: str,
        first_batch_timeout: float | None = None,
        description: str = "",
    ) -> None:
        self._uri = uri
        self._description = description
        self._first_batch_timeout = first_batch_timeout
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._state = _State.OPENING
        self._reader: Any = None
        self._open_error: BaseException | None = None
        self._error: QueryError | None = None
        self._cancel_requested = False
        self._deadline_passed = False
        self._first_batch_seen = False
        self._started = time.monotonic()
        self._convert_intervals: bool | None = None
        """Whether batches need `convert_intervals`, set at the first batch."""

        self.rows = 0
        """Rows received so far."""
        self.batches = 0
        """Record batches received so far, including zero-row batches."""
        self.bytes = 0
        """Arrow buffer bytes of the batches received so far (`get_total_buffer_size()`)."""

        self._timer: threading.Timer | None = None
        if first_batch_timeout is not None:
            self._timer = threading.Timer(first_batch_timeout, self._on_first_batch_deadline)
            self._timer.daemon = True
            self._timer.start()

        self._opener = threading.Thread(
            target=self._open,
            args=(flight_client, ticket, options),
            name="mmtui-flightsql-open",
            daemon=True,
        )
        self._opener.start()

    # Opening the call, on the opener thread.

    def _open(self, flight_client: Any, ticket: Any, options: Any) -> None:
        try:
            reader = flight_client.do_get(ticket, options)
        except Exception as exc:
            with self._lock:
                self._open_error = exc
        else:
            with self._lock:
                self._reader = reader
                abandoned = self._state in _ENDED or self._cancel_requested or self._deadline_passed
            if abandoned:
                reader.cancel()
        finally:
            self._opened.set()

    def _wait_for_reader(self) -> Any:
        """Block until the call is open; return its reader or raise why it is not."""
        self._opened.wait()
        with self._lock:
            self._raise_if_stopped()
            if self._open_error is not None:
                error = self._translate(self._open_error)
                self._end(_State.FAILED, error)
                raise error
            self._state = _State.STREAMING
            return self._reader

    # Deadline and cancellation, from any thread.

    def _on_first_batch_deadline(self) -> None:
        with self._lock:
            if self._first_batch_seen or self._state in _ENDED:
                return
            self._deadline_passed = True
            reader = self._reader
            self._end(
                _State.FAILED,
                DeadlineExceeded(
                    "DEADLINE_EXCEEDED",
                    f"the server sent no data within "
                    f"first_batch_timeout={self._first_batch_timeout} s",
                ),
            )
        if reader is not None:
            reader.cancel()
        self._opened.set()

    def cancel(self) -> None:
        """Cancel the call; the reading thread gets `QueryCancelled` within milliseconds.

        Does nothing when the stream has already ended.
        """
        with self._lock:
            if self._state in _ENDED:
                return
            self._cancel_requested = True
            reader = self._reader
            self._end(_State.CANCELLED, QueryCancelled("CANCELLED", "the query was cancelled"))
        if reader is not None:
            reader.cancel()
        self._opened.set()

    def close(self) -> None:
        """Release the call: cancel it when it is still running. Idempotent."""
        self.cancel()

    def _raise_if_stopped(self) -> None:
        """Raise the error that ended the stream: a failure, a cancel or the deadline.

        Call it with `self._lock` acquired.
        """
        if self._error is not None:
            raise self._error

    def _translate(self, exc: BaseException) -> QueryError:
        if isinstance(exc, pa.ArrowException):
            return error_from_arrow(exc, self._uri)
        return QueryError("UNKNOWN", f"{type(exc).__name__}: {exc}")

    def _translate_read_error(self, exc: BaseException) -> QueryError:
        """Translate an exception of a batch read, telling a failed decode from a server error.

        pyarrow raises a gRPC status as a `FlightError`, or with the client's debug context in
        its text. Without either, decoding the data that arrived failed (pyarrow 23 raised
        `OSError: buffer_index out of range.` for a batch whose columns do not match the
        schema), which a gRPC status name would blame on the server's handling of the SQL.
        """
        text = str(exc)
        from_server = isinstance(exc, flight.FlightError) or any(
            marker in text for marker in DEBUG_CONTEXT_MARKERS
        )
        if from_server or not isinstance(exc, (pa.ArrowException, OSError)):
            return self._translate(exc)
        return QueryError(
            "DATA_LOSS",
            f"cannot decode record batch {self.batches + 1} that the server sent "
            f"({type(exc).__name__}: {text.strip()}). The batch may not match the result's "
            f"schema. The {self.rows} rows before it are kept.",
        )

    def _end(self, state: _State, error: QueryError | None = None) -> None:
        """Record how the stream ended. Call it with `self._lock` acquired."""
        if self._state in _ENDED:
            return
        self._state = state
        self._error = error
        if self._timer is not None:
            self._timer.cancel()
        elapsed = time.monotonic() - self._started
        if error is None:
            logger.debug(
                "query %s: %s, %d rows in %d batches, %.3f s",
                self._description,
                state.value,
                self.rows,
                self.batches,
                elapsed,
            )
        else:
            logger.info(
                "query %s: %s after %d rows, %.3f s: %s",
                self._description,
                state.value,
                self.rows,
                elapsed,
                error,
            )

    # Reading, on the caller's thread.

    @property
    def schema(self) -> Any:
        """The result's `pa.Schema`; blocks until the server sent it.

        Raises `QueryError` (or a subclass) when the call ended before the schema arrived.
        It stays available after an error or cancel that came later.
        """
        self._opened.wait()
        reader = self._reader
        if reader is None:
            reader = self._wait_for_reader()
        schema = reader.schema
        if has_unwrappable_intervals(schema):
            return wrappable_schema(schema)
        return schema

    @property
    def phase(self) -> str:
        """The call's phase: `opening`, `waiting`, `streaming`, `done`, `failed` or `cancelled`.

        `opening` means no schema yet, and `waiting` means a schema but no batch yet.
        """
        state = self._state
        if state in _ENDED:
            return state.value
        if self._reader is None:
            return "opening"
        if not self._first_batch_seen:
            return "waiting"
        return "streaming"

    @property
    def cancelled(self) -> bool:
        """True when `cancel()` or `close()` stopped the stream before it ended."""
        return self._cancel_requested

    @property
    def finished(self) -> bool:
        """True when the stream ended: all batches read, failed, or cancelled."""
        return self._state in _ENDED

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        """Return the next `pa.RecordBatch`; raise StopIteration at the end of the stream."""
        if self._state is _State.DONE:
            raise StopIteration
        reader = self._reader if self._state is _State.STREAMING else self._wait_for_reader()
        while True:
            try:
                chunk = reader.read_chunk()
            except StopIteration:
                with self._lock:
                    self._first_batch_seen = True
                    self._raise_if_stopped()
                    self._end(_State.DONE)
                raise
            except Exception as exc:
                self._fail(exc)
            batch = chunk.data
            if batch is None:
                continue
            if not self._first_batch_seen:
                with self._lock:
                    self._first_batch_seen = True
                    if self._timer is not None:
                        self._timer.cancel()
            if self._convert_intervals is None:
                # Every batch of a stream has the stream's schema, so one check is enough.
                self._convert_intervals = has_unwrappable_intervals(batch.schema)
            if self._convert_intervals:
                batch = convert_intervals(batch)
            self.rows += batch.num_rows
            self.batches += 1
            self.bytes += batch.get_total_buffer_size()
            return batch

    def _fail(self, exc: BaseException) -> NoReturn:
        """End the stream for an exception raised by a read, and raise its `QueryError`."""
        with self._lock:
            self._raise_if_stopped()
            error = self._translate_read_error(exc)
            self._end(_State.FAILED, error)
        raise error from exc

    def read_all(self) -> Any:
        """Read the remaining batches into a `pa.Table` with the stream's schema."""
        schema = self.schema
        return pa.Table.from_batches(list(self), schema=schema)

    def __enter__(self) -> QueryStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
