"""The thread that runs one query: stream batches into a `ResultStore` and report to the pane.

The worker owns the Flight stream and the store it fills. `ResultStore.append` measures the
widths of the first batch on the reading thread, and a `WidthMeasurer` thread those of the
rest, never the UI thread. The worker reaches the UI only through `post_message` (thread-safe
in Textual): `BatchesArrived` for the first batch with rows at once and then at most every
`NOTIFY_INTERVAL` seconds, then exactly one of `QueryFinished`, `QueryFailed` or
`QueryCancelled`. These messages are private to `ResultsPane`, which re-posts public ones.

When the store stops taking batches (`SpillLimitError`, `SpillWriteError`), the worker cancels
the call and ends with `QueryFailed` carrying that error, and the rows received stay.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa
from textual.message import Message
from textual.message_pump import MessagePump

from mmtui import flightsql
from mmtui.auth.errors import AuthError
from mmtui.flightsql import FlightSQLClient, QueryError, QueryStream
from mmtui.results import (
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_SPILL_LIMIT,
    ResultStore,
    SpillError,
    SpillLimitError,
    StoreClosedError,
)
from mmtui.results.allocator import keep_freed_memory

logger = logging.getLogger(__name__)

NOTIFY_INTERVAL = 0.25
"""Minimum seconds between two `BatchesArrived` messages of one query (after the first).

The status line updates at the same rate. Each message wakes the UI thread, which takes in
the rows and repaints, using CPU time that the reading thread could use. At 0.25 s instead
of 0.1 s (when the measurer also ran at this rate), a query of 5.3 M rows took 20 ms less
CPU (231 against 251 ms) and read 0.861 of a raw DoGet's rate against 0.814 (blocks of
queries in one session, 2-core VM). Four updates a second also send less to a terminal over
SSH."""

MEASURE_INTERVAL = 0.02
"""Seconds between two runs of the `WidthMeasurer`, which measures whatever rows wait.

The reading thread's last step is to measure the rows still waiting, and the query is not
over until that is done. Measuring only every `NOTIFY_INTERVAL` would leave every row of a
shorter query to that step: 5.3 M rows took 30 to 58 ms to measure after the last batch, a
fifth of the whole query (2-core VM). Every 0.02 s, the rows are mostly measured while the
reading thread waits for the network, and about 0.02 s of rows are left for the end. A run
with nothing to measure costs a lock and a comparison."""


GC_YOUNG_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation (700 in Python 3.11).

The first paint of a result allocated enough to run a dozen young collections, and a few of
the next generation, each holding the GIL while the reading thread waited for it. In one
session of queries (2-core VM), a query took 186 instead of 195 ms of CPU and read 0.787 of
a raw DoGet's rate against 0.760. Garbage cycles wait longer for collection, about 14 times
as long in each generation: a cycle that survived one young collection was freed after
110,000 allocations instead of 7,700 (measured with Python 3.11)."""

CALL_HANDOFF_WAIT_S = 0.005
"""Maximum seconds that `QueryWorker.start` waits for the query thread to send the call.

Without the wait, the UI thread went on to repaint the status line while the query thread
waited for the GIL: the call was sent 2.0 ms after `run_query`, against 0.7 ms with it
(medians of 15 queries, 2-core VM). Waiting releases the GIL to the query thread. The bound
keeps the screen responsive while the token provider is slow (a refresh over the network)."""

MEASURE_IN_APPEND_NEVER = sys.maxsize
"""`measure_every_rows` of the worker's stores: `append` measures the first batch only."""


_warm_up_started = threading.Event()
_warm_up_done = threading.Event()


def warm_up_store() -> None:
    """Append a tiny batch to a throwaway store on a daemon thread, once per process.

    It also makes the C heap keep freed result memory for the next query (`keep_freed_memory`).

    The first `ResultStore.append` of a process is slow (about 0.2 s measured on a 2-core
    machine), mostly because pyarrow imports pandas the first time it converts Python objects.
    Doing it at start-up keeps that delay off the first query's first rows.
    """
    if _warm_up_started.is_set():
        return
    _warm_up_started.set()
    keep_freed_memory()

    def run() -> None:
        try:
            # The column types of Micromegas log and metric views.
            texts = pa.array(["ascii", "accentué", "日本語", "🔥"])
            batch = pa.RecordBatch.from_pydict(
                {
                    "time": pa.array([0, 1, 2, 3], pa.timestamp("ns", tz="+00:00")),
                    "exe": texts.dictionary_encode(),
                    "level": pa.array([1, 2, 3, 4], pa.int32()),
                    "msg": texts,
                    "value": pa.array([0.5, 1.0, 2.0, 4.0]),
                    "count": pa.array([1, 2, 3, 4], pa.int64()),
                    "properties": pa.array([b"", b"x", b"y", b"z"]),
                }
            )
            schema = batch.schema
            try:
                with ResultStore(schema) as store:
                    store.append(batch)
            except Exception:
                # Only a speed-up: a failure here shows again, with context, on the first
                # query.
                logger.exception("warming up the result store failed")
            # Start-up and the pandas import leave a full garbage collection due. It took
            # 40-50 ms (2-core VM), so it runs here rather than inside the first query's first
            # repaint.
            gc.collect()
            # The objects that survive it (modules, the widget tree) mostly live as long as the
            # app, so later full collections skip them: 8-22 ms instead of 35-65 ms in a
            # session of queries, with every thread stopped. NOTE: frozen objects that later
            # form unreachable cycles (a dismissed start-up screen, say) are never collected.
            gc.freeze()
            # After start-up, most new objects are short-lived (cells, strips, batch wrappers).
            _, older, oldest = gc.get_threshold()
            gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
        finally:
            _warm_up_done.set()

    threading.Thread(target=run, name="mmtui-store-warm-up", daemon=True).start()


def wait_for_warm_up(timeout: float) -> bool:
    """Wait up to `timeout` seconds for the thread of `warm_up_store` to finish.

    Returns True once it has finished, False when it has not started or is still running.
    """
    return _warm_up_started.is_set() and _warm_up_done.wait(timeout)


class QueryThread:
    """A daemon thread that runs queries one after another, kept for the whole process.

    glibc gives threads their own malloc arenas, and gRPC allocates a batch's buffers on the
    thread that reads the stream. A new thread per query may get another arena than the one
    that keeps the memory the previous result freed, and fault in fresh pages instead. On the
    2-core VM of `benchmarks/README.md`, a later 822 MiB read on a new thread took 0.3 to 3 s
    of system time, and 0.2 to 0.25 s on the thread that read the previous result.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None], name: str) -> None:
        """Run `job` on the kept thread when it is idle, else on a new daemon thread.

        So a query does not wait behind another one (a cancelled query may still be winding down).
        """
        with self._lock:
            if not self._idle.is_set():
                threading.Thread(target=job, name=name, daemon=True).start()
                return
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="mmtui-query", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    @property
    def thread_ident(self) -> int | None:
        """The kept thread's id, once it started."""
        return None if self._thread is None else self._thread.ident

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the kept thread has no job (for tests); True when it is idle."""
        return self._idle.wait(timeout)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:
                # QueryWorker._run reports its own errors; this only keeps the thread alive.
                logger.exception("a query job failed")
            finally:
                self._idle.set()


_query_thread = QueryThread()


class WorkerMessage(Message, bubble=False, namespace="query_worker"):
    """A report from the query worker of run `run_id` to the pane that started it."""

    def __init__(self, run_id: int, store: ResultStore | None, rows: int, batches: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.store = store
        """The store of this run, or None when the query failed before its schema arrived."""
        self.rows = rows
        """Rows appended to the store when the message was posted."""
        self.batches = batches


class BatchesArrived(WorkerMessage, bubble=False, namespace="query_worker"):
    """New rows are in the store. Only the newest of several queued ones is handled."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BatchesArrived) and message.run_id == self.run_id


class QueryFinished(WorkerMessage, bubble=False, namespace="query_worker"):
    """The stream ended normally; every row is in the store."""


class QueryFailed(WorkerMessage, bubble=False, namespace="query_worker"):
    """The query failed; rows that arrived before the error stay in the store."""

    def __init__(
        self,
        run_id: int,
        store: ResultStore | None,
        rows: int,
        batches: int,
        error: Exception,
    ) -> None:
        super().__init__(run_id, store, rows, batches)
        self.error = error


class QueryCancelled(WorkerMessage, bubble=False, namespace="query_worker"):
    """The query was cancelled; rows that arrived before stay in the store."""


class CountEstimated(WorkerMessage, bubble=False, namespace="query_worker"):
    """The server's COUNT(*) estimate for the query, used for a progress percentage."""

    def __init__(self, run_id: int, count: int) -> None:
        super().__init__(run_id, None, 0, 0)
        self.count = count


class WidthMeasurer:
    """A thread that measures a store's new rows, then posts `BatchesArrived` for them to the pane.

    After the first batch, which `append` measures, the reading thread only appends. On the
    2-core VM of `benchmarks/README.md`, measuring had taken about a fifth of that thread's
    time. Rows reach the screen once measured (`ResultStore.measured_row_count`), so the
    widths cover the rows shown. The thread measures every `MEASURE_INTERVAL` seconds and
    posts at most every `NOTIFY_INTERVAL` seconds.

    The worker starts the thread right after it sends the call, and hands it the store with
    `begin` once the first batch is posted. `Thread.start` waits until the new thread takes
    the GIL. After the first batch, the UI thread holds the GIL while it shows the rows, so
    that wait stalled the reading thread by up to 4 ms (2-core VM). Before the first batch,
    the server is planning the query and the reading thread has nothing to read.
    """

    def __init__(
        self,
        worker: QueryWorker,
        measure_interval: float = MEASURE_INTERVAL,
        notify_interval: float = NOTIFY_INTERVAL,
    ) -> None:
        self.worker = worker
        self.measure_interval = measure_interval
        self.notify_interval = notify_interval
        self.store: ResultStore | None = None
        """The store being measured, once `begin` gave it."""
        self._started = False
        self._stop = threading.Event()
        self._ready = threading.Event()
        """Set by `begin` or `stop`. The thread waits for it before it measures."""
        self._thread = threading.Thread(
            target=self._run, name=f"mmtui-measure-{worker.run_id}", daemon=True
        )

    def start(self) -> None:
        """Start the thread, which measures nothing until `begin`."""
        self._started = True
        self._thread.start()

    def begin(self, store: ResultStore) -> None:
        """Measure the new rows of `store` from now on. Call it once, after `start`."""
        self.store = store
        self._ready.set()

    def stop(self) -> None:
        """Stop the thread and wait for it, so that no measurement runs after this returns.
        Idempotent."""
        self._stop.set()
        self._ready.set()
        if self._started:
            self._thread.join()

    def _run(self) -> None:
        self._ready.wait()
        store = self.store
        if store is None or self._stop.is_set():
            return
        reported_rows = store.measured_row_count
        reported_at = time.monotonic()
        try:
            while not self._stop.wait(self.measure_interval):
                store.measure_pending()
                measured = store.measured_row_count
                now = time.monotonic()
                if measured == reported_rows or now - reported_at < self.notify_interval:
                    continue
                reported_rows = measured
                reported_at = now
                self.worker.progress = (measured, store.batch_count)
                self.worker._post(BatchesArrived(self.worker.run_id, store, *self.worker.progress))
        except Exception:
            # The reading thread measures what is left when the stream ends.
            logger.exception("measuring the widths of query %d failed", self.worker.run_id)


class QueryWorker:
    """Run one query on the process's query thread; `cancel()` may be called from any thread."""

    def __init__(
        self,
        target: MessagePump,
        client: FlightSQLClient,
        sql: str,
        *,
        run_id: int,
        begin: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
        memory_budget_bytes: int | None = None,
        spill_limit_bytes: int | None = None,
        estimate_count: bool = False,
    ) -> None:
        self.target = target
        self.client = client
        self.sql = sql
        self.run_id = run_id
        self.begin = begin
        self.end = end
        self.limit = limit
        self.memory_budget_bytes = memory_budget_bytes
        self.spill_limit_bytes = spill_limit_bytes
        """Bound of the store's spill file in bytes, or None for the store's default."""
        self.estimate_count = estimate_count
        self.started_at = 0.0
        """`time.monotonic()` when the worker started."""
        self.progress: tuple[int, int] = (0, 0)
        """(rows, batches) appended so far; replaced as one tuple, so any thread can read it."""
        self.store: ResultStore | None = None
        self._stream: QueryStream | None = None
        self._count_stream: QueryStream | None = None
        self._count_unwanted = False
        """Set once the query failed or was cancelled: the count estimate is then of no use."""
        self._cancel_requested = False
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._call_opening = threading.Event()
        """Set once the query thread has sent the call, or failed before it."""

    @property
    def finished(self) -> bool:
        """True once the thread posted its final message (or tried to)."""
        return self._finished.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    def start(self) -> None:
        self.started_at = time.monotonic()
        _query_thread.submit(self._run, name=f"mmtui-query-{self.run_id}")
        self._call_opening.wait(CALL_HANDOFF_WAIT_S)
        if self.estimate_count:
            threading.Thread(
                target=self._estimate, name=f"mmtui-count-{self.run_id}", daemon=True
            ).start()

    def cancel(self) -> None:
        """Ask the stream to stop; returns at once and the thread reports `QueryCancelled`."""
        with self._lock:
            self._cancel_requested = True
            stream = self._stream
        if stream is not None:
            stream.cancel()
        self._drop_count()

    def _drop_count(self) -> None:
        """Cancel the count estimate's call, which the query no longer needs. Idempotent."""
        with self._lock:
            self._count_unwanted = True
            count_stream = self._count_stream
        if count_stream is not None:
            count_stream.cancel()

    def _keep_count_stream(self, stream: QueryStream) -> None:
        with self._lock:
            self._count_stream = stream
            unwanted = self._count_unwanted
        if unwanted:
            stream.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (for tests and shutdown); True when it did."""
        return self._finished.wait(timeout)

    def _post(self, message: Message) -> bool:
        """Post to the pane; return False when the pane or the app is gone."""
        try:
            return self.target.post_message(message)
        except RuntimeError:
            # The app's event loop is closed (the app exited while the query ran).
            logger.debug("query %d: dropped %s, the app is gone", self.run_id, type(message))
            return False

    def _run(self) -> None:
        store: ResultStore | None = None
        final: Message | None = None
        measurer = WidthMeasurer(self)
        try:
            try:
                stream = self.client.query_stream(
                    self.sql, begin=self.begin, end=self.end, limit=self.limit
                )
            finally:
                self._call_opening.set()
            # While the server plans the query, this thread has nothing to read.
            measurer.start()
            with self._lock:
                self._stream = stream
                cancel_now = self._cancel_requested
            if cancel_now:
                stream.cancel()
            with stream:
                schema = stream.schema
                store = self._make_store(schema)
                self.store = store
                try:
                    for batch in stream:
                        store.append(batch)
                        # The pane swaps the grid to the store on this message, so a batch
                        # of 0 rows does not post it. A failure or a cancel before the first
                        # row then keeps the previous rows on screen.
                        if measurer.store is None and store.row_count > 0:
                            # The store measured the first rows in `append`: show them at once.
                            self.progress = (store.row_count, store.batch_count)
                            self._post(BatchesArrived(self.run_id, store, *self.progress))
                            measurer.begin(store)
                finally:
                    # Rows kept after an error or a cancel get their widths too.
                    measurer.stop()
                    store.measure_pending()
                    self.progress = (store.row_count, store.batch_count)
            rows, batches = self.progress
            # A cancel that arrives after the last batch finds the stream ended and leaves it
            # complete, so only a cancel that stopped the stream counts.
            if stream.cancelled:
                final = QueryCancelled(self.run_id, store, rows, batches)
            else:
                final = QueryFinished(self.run_id, store, rows, batches)
            logger.info("query %d finished: %d rows in %d batches", self.run_id, rows, batches)
        except flightsql.QueryCancelled:
            final = QueryCancelled(self.run_id, store, *self.progress)
            logger.info("query %d cancelled after %d rows", self.run_id, self.progress[0])
        except SpillError as error:
            # Leaving `with stream` cancelled the call. The store keeps every row received.
            final = QueryFailed(self.run_id, store, *self.progress, error=error)
            if isinstance(error, SpillLimitError):
                logger.info("query %d cut after %d rows: %s", self.run_id, self.progress[0], error)
            else:
                logger.warning(
                    "query %d stopped after %d rows: %s", self.run_id, self.progress[0], error
                )
        except StoreClosedError:
            # The pane closed the store while unmounting, after cancelling this query.
            final = QueryCancelled(self.run_id, None, *self.progress)
            store = None
            logger.info("query %d stopped: its result store was closed", self.run_id)
        except QueryError as error:
            if self._cancel_requested:
                final = QueryCancelled(self.run_id, store, *self.progress)
            else:
                final = QueryFailed(self.run_id, store, *self.progress, error=error)
            logger.info("query %d failed after %d rows: %s", self.run_id, self.progress[0], error)
        except AuthError as error:
            # The token provider raised (a login is needed, say). The pane shows the error,
            # and the app opens the login screen when a login can help.
            final = QueryFailed(self.run_id, store, *self.progress, error=error)
            logger.info("query %d needs a token (%s)", self.run_id, error)
        except Exception as error:
            # Anything else (a store or decoding error) still ends the run with a final
            # message, so the pane does not show "running" for a thread that died.
            logger.exception("query %d failed unexpectedly", self.run_id)
            final = QueryFailed(self.run_id, store, *self.progress, error=error)
        finally:
            if not isinstance(final, QueryFinished):
                # After a failure or a cancel, a count still running only loads the server.
                self._drop_count()
            # The measurer never got a store when the query failed before its first batch.
            measurer.stop()
            if final is None:
                final = QueryFailed(
                    self.run_id, store, *self.progress, error=RuntimeError("worker stopped")
                )
            if not self._post(final) and store is not None:
                # The pane is gone and will not read this store, so free its memory and spill file.
                store.close()
            self._finished.set()

    def _make_store(self, schema: Any) -> ResultStore:
        # `append` measures only the first batch; WidthMeasurer measures the others.
        budget = self.memory_budget_bytes
        spill_limit = self.spill_limit_bytes
        return ResultStore(
            schema,
            memory_budget_bytes=DEFAULT_MEMORY_BUDGET if budget is None else budget,
            measure_every_rows=MEASURE_IN_APPEND_NEVER,
            spill_limit_bytes=DEFAULT_SPILL_LIMIT if spill_limit is None else spill_limit,
        )

    def _estimate(self) -> None:
        count = self.client.count_estimate(
            self.sql, begin=self.begin, end=self.end, on_stream=self._keep_count_stream
        )
        if count is not None and not self._cancel_requested:
            self._post(CountEstimated(self.run_id, count))
