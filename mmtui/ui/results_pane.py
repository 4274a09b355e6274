"""The results pane: the result grid, the query's status line, and the keys that act on results.

`ResultsPane.run_query` starts a `QueryWorker` thread. The pane swaps the grid to the new
result store when the first row arrives, or when the query ends without a row. So a query
that fails or is cancelled before any row leaves the previous results on screen. The status line
reads "state · rows · batches · rows/s · elapsed" (the rate from the second batch on), where
the state is running (with a percentage once the COUNT estimate is known), done, cancelled,
"failed after N rows", or "cut at size limit after N rows" when the result store stopped at
its spill limit (`SpillLimitError`). The pane posts `QueryFinished`, `QueryFailed` (also for a
cut result) and `QueryCancelled` for the app once it has updated itself.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from mmtui.flightsql import FlightSQLClient, QueryError
from mmtui.logging_setup import redact
from mmtui.results import (
    JsonbError,
    ResultStore,
    SpillError,
    SpillLimitError,
    cell_width,
    decode_jsonb,
    safe_lines,
    truncate_cells,
)
from mmtui.results.allocator import release_freed_memory
from mmtui.results.detail import copy_text, tsv_field
from mmtui.results.export import unique_names
from mmtui.results.formatting import export_texts
from mmtui.ui import query_worker
from mmtui.ui.detail_screen import DetailScreen, copy_with_limit, count_text
from mmtui.ui.export_screen import ExportScreen
from mmtui.ui.grid import ResultGrid
from mmtui.ui.spill_messages import describe_spill_error

logger = logging.getLogger(__name__)

QueryState = Literal["idle", "running", "done", "cancelled", "failed", "cut"]

STATUS_INTERVAL = query_worker.NOTIFY_INTERVAL
"""Seconds between status line updates while a query runs (elapsed time and late rows)."""

RELEASE_IDLE_S = 30.0
"""Seconds without a running query before the memory of closed results goes back to the system.

The next query's batches reuse freed result memory. Handed back after every query, it came
back as new pages that the kernel zeroed on gRPC's threads. That took 40 to 55 ms of CPU in a
query of 5.3 M rows, a sixth of its CPU time (2-core VM, `perf`). Triage runs queries back to
back, so the memory stays while they do."""

# C1 controls, DEL, and bidi overrides/isolates: JSON allows them raw, a terminal would act on them.
UNSAFE_JSON_CHARS = re.compile("[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_value(value: object) -> object:
    """Convert a value that `json` cannot serialise.

    Bytes become the JSON or JSONB value they encode, else hex, because Micromegas sends
    properties as JSONB bytes. Other values become their string form.
    """
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError:
            pass
        try:
            return decode_jsonb(data)
        except JsonbError:
            return data.hex()
    return str(value)


def json_row(fields: Sequence[tuple[str, object]]) -> str:
    """Serialise one result row, given as (column name, value) pairs, as a JSON object.

    Every column gets a member. A repeated name gets a suffix (`msg_2`), as in the JSON lines
    export, because many JSON parsers keep only the last member of a name. Every control
    character is escaped.
    """
    names = unique_names([name for name, _ in fields])
    members = [
        json.dumps(name, ensure_ascii=False)
        + ": "
        + json.dumps(value, default=json_value, ensure_ascii=False)
        for name, (_, value) in zip(names, fields, strict=True)
    ]
    text = "{" + ", ".join(members) + "}"
    return UNSAFE_JSON_CHARS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


RESULT_ACTIONS = frozenset(["show_detail", "copy_cell", "copy_row", "copy_row_json", "export"])
"""Actions that need a result on screen."""


def format_status(
    state: QueryState,
    rows: int,
    batches: int,
    elapsed: float,
    estimate: int | None = None,
    max_cells: int | None = None,
    cursor_row: int | None = None,
) -> str:
    """Build the status line text, e.g. "running 42% · 1,234 rows · 3 batches · ...".

    With `cursor_row` (0-based), the text ends with the grid cursor's row, "at row 1,234".

    The rate is rows divided by the elapsed time since the query was sent. It is left out
    until a second batch arrives: with one batch, the time is mostly the server's latency, and
    a one-row result would show a meaningless "28 rows/s". With `max_cells`, the batch count,
    then the rate, the cursor's row and the elapsed time are left out until the text fits, so
    no field is cut. A state and row count that alone do not fit end with an ellipsis.
    """
    if state == "failed":
        label = f"failed after {count_text(rows, 'row', 'rows')}"
    elif state == "cut":
        label = f"cut at size limit after {count_text(rows, 'row', 'rows')}"
    elif state == "running" and estimate:
        percent = min(99, rows * 100 // estimate)
        # "0%" for millions of rows of a huge result reads as "nothing yet".
        label = f"running {percent}%" if percent or not rows else "running <1%"
    else:
        label = state
    rate = rows / elapsed if elapsed > 0 else 0.0
    parts = [label]
    if state not in ("failed", "cut"):
        parts.append(count_text(rows, "row", "rows"))
    batch_part = count_text(batches, "batch", "batches")
    rate_part = [f"{rate:,.0f} rows/s"] if batches > 1 else []
    elapsed_part = f"{elapsed:.1f} s"
    position_part = [] if cursor_row is None else [f"at row {cursor_row + 1:,}"]
    parts += [batch_part, *rate_part, elapsed_part, *position_part]
    # Dropped in this order when the text is too wide.
    optional = [batch_part, *rate_part, *position_part, elapsed_part]
    text = " · ".join(parts)
    if max_cells is None:
        return text
    for dropped in optional:
        if cell_width(text) <= max_cells:
            return text
        parts.remove(dropped)
        text = " · ".join(parts)
    return truncate_cells(text, max_cells)


PREVIOUS_ROWS_NOTE = "The rows shown are from the previous query."
"""The line under the error of a query that failed before its first row."""

CREDENTIAL_ERROR_CODES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})
"""gRPC status codes of a rejected credential: their messages are shown with secrets masked."""


def describe_error(error: Exception) -> str:
    """Return the text to show for a query error: the server's message, safe for the screen.

    Line breaks are kept (servers add `note:` and `help:` lines); every other control
    character is made visible. A spill error gets the settings that change its limit. The
    message of a rejected credential has anything like a token masked, as in the log.
    """
    if isinstance(error, SpillError):
        text = describe_spill_error(error)
    elif isinstance(error, QueryError):
        text = f"{error.code}: {error.message}" if error.code else error.message
        if error.code in CREDENTIAL_ERROR_CODES:
            # Some servers and proxies quote the rejected bearer token or key.
            text = redact(text)
    else:
        text = f"{type(error).__name__}: {error}"
    return safe_lines(text)


class ResultsPane(Widget, can_focus=False):
    """The result grid of the last query with its status line."""

    ALLOW_MAXIMIZE = True
    """Maximize from the grid takes the whole pane, so the status and error lines stay."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel_query",
            "Cancel query",
            id="results.cancel",
            tooltip="Cancel the running query and keep the rows received so far",
        ),
        Binding(
            "enter",
            "show_detail",
            "Detail",
            id="results.detail",
            tooltip="Show the whole value of the cell, JSON pretty-printed",
        ),
        Binding(
            "c",
            "copy_cell",
            "Copy",
            id="results.copy_cell",
            tooltip="Copy the value of the cell to the clipboard",
        ),
        Binding(
            "C",
            "copy_row",
            "Row TSV",
            key_display="C",
            id="results.copy_row",
            tooltip="Copy the row to the clipboard as tab-separated values",
        ),
        Binding(
            "J",
            "copy_row_json",
            "Row JSON",
            key_display="J",
            id="results.copy_row_json",
            tooltip="Copy the row to the clipboard as a JSON object",
        ),
        Binding(
            "e",
            "export",
            "Export",
            id="results.export",
            tooltip="Export the whole result to CSV, Parquet or JSON lines",
        ),
    ]

    DEFAULT_CSS = """
    ResultsPane {
        height: 1fr;
        layout: vertical;
        & > #results-status {
            height: 1;
            background: $panel;
            color: $foreground;
            padding: 0 1;
        }
        & > #results-error {
            height: auto;
            max-height: 6;
            color: $text-error;
            padding: 0 1;
            display: none;
        }
        & > #results-error.-visible {
            display: block;
        }
        & > #results-note {
            height: 1;
            color: $text-warning;
            padding: 0 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            display: none;
        }
        & > #results-note.-visible {
            display: block;
        }
    }
    """

    class QueryFinished(Message):
        """A query ended normally and all its rows are on screen."""

        def __init__(self, pane: ResultsPane, rows: int, batches: int, elapsed: float) -> None:
            super().__init__()
            self.pane = pane
            self.rows = rows
            self.batches = batches
            self.elapsed = elapsed

        @property
        def control(self) -> ResultsPane:
            return self.pane

    class QueryFailed(Message):
        """A query failed, or was cut at the spill limit (`error` is then a `SpillLimitError`).
        `rows_so_far` rows arrived before the error and stay on screen."""

        def __init__(self, pane: ResultsPane, error: Exception, rows_so_far: int) -> None:
            super().__init__()
            self.pane = pane
            self.error = error
            self.rows_so_far = rows_so_far

        @property
        def control(self) -> ResultsPane:
            return self.pane

    class QueryCancelled(Message):
        """A query was cancelled; `rows_so_far` rows stay on screen."""

        def __init__(self, pane: ResultsPane, rows_so_far: int) -> None:
            super().__init__()
            self.pane = pane
            self.rows_so_far = rows_so_far

        @property
        def control(self) -> ResultsPane:
            return self.pane

    def __init__(
        self,
        *,
        memory_budget_bytes: int | None = None,
        spill_limit_bytes: int | None = None,
        estimate_count: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.memory_budget_bytes = memory_budget_bytes
        """Memory budget of each result store in bytes; None keeps the store's default."""
        self.spill_limit_bytes = spill_limit_bytes
        """Bound of each result's spill file in bytes, or None for the store's default."""
        self.estimate_count = estimate_count
        """Run a COUNT(*) estimate next to each query to show a percentage."""
        self.state: QueryState = "idle"
        """idle before the first query, then running, done, cancelled, failed or cut."""
        self.error: Exception | None = None
        """The error of the last query when it failed."""
        self._run_id = 0
        self._worker: query_worker.QueryWorker | None = None
        self._rows = 0
        self._batches = 0
        self._elapsed = 0.0
        self._estimate: int | None = None
        self._showing_current_run = False
        # Workers whose final message has not been handled yet, by run id.
        self._workers: dict[int, query_worker.QueryWorker] = {}
        # Stores off screen that a worker or an export still uses; closed when both are done.
        self._retired: list[ResultStore] = []
        self._exporting: set[int] = set()
        # True when a store was closed after the last release of freed memory.
        self._memory_to_release = False
        self.release_idle_s = RELEASE_IDLE_S
        """Seconds without a running query before freed result memory is released."""
        self._release_timer: Timer | None = None
        # (state, has_results) when the footer's bindings were last refreshed.
        self._key_state: tuple[QueryState, bool] = ("idle", False)
        self._last_export: Path | None = None
        self._grid = ResultGrid(id="results-grid")

    def compose(self) -> ComposeResult:
        yield self._grid
        yield Static("", id="results-error", markup=False)
        # A line of its own, because the error area cuts a long server message at its bottom.
        yield Static(PREVIOUS_ROWS_NOTE, id="results-note", markup=False)
        yield Static("no query yet", id="results-status", markup=False)

    def on_mount(self) -> None:
        self.set_interval(STATUS_INTERVAL, self._tick)
        query_worker.warm_up_store()

    def on_unmount(self) -> None:
        # Close every store, including those a cancelled worker may still append to (its
        # append then fails with StoreClosedError and the worker ends as cancelled).
        stores = list(self._retired)
        for worker in self._workers.values():
            worker.cancel()
            if worker.store is not None:
                stores.append(worker.store)
        if self._grid.store is not None:
            stores.append(self._grid.store)
        for store in stores:
            try:
                store.close()
            except Exception:
                logger.exception("closing a result store failed")

    # ----------------------------------------------------------------------------------------
    # Public API

    @property
    def grid(self) -> ResultGrid:
        return self._grid

    @property
    def display_tz(self) -> str | None:
        """Zone the grid shows timestamps in: None for each column's own zone (naive ones
        without an offset), `"local"` for this machine's zone, or an IANA zone name."""
        return self._grid.display_tz

    @display_tz.setter
    def display_tz(self, tz: str | None) -> None:
        self._grid.display_tz = tz

    @property
    def store(self) -> ResultStore | None:
        """The result store on screen (possibly from an earlier query, see `has_results`)."""
        return self.grid.store

    @property
    def has_results(self) -> bool:
        """True when a result (even an empty one) is on screen."""
        return self.grid.store is not None

    @property
    def is_running(self) -> bool:
        return self.state == "running"

    @property
    def running_store(self) -> ResultStore | None:
        """The store the running query appends to; None when no query runs."""
        worker = self._worker
        if worker is None or not self.is_running:
            return None
        return worker.store

    @property
    def status_text(self) -> str:
        """The status line as shown."""
        return str(self.query_one("#results-status", Static).content)

    @property
    def estimated_rows(self) -> int | None:
        """The server's COUNT(*) estimate for the last query, once it arrived."""
        return self._estimate

    @property
    def error_text(self) -> str:
        """The error shown above the status line, and the line about the previous query's rows
        when it shows, or "" when the last query did not fail."""
        text = str(self.query_one("#results-error", Static).content)
        if self.query_one("#results-note", Static).has_class("-visible"):
            text += "\n" + PREVIOUS_ROWS_NOTE
        return text

    def run_query(
        self,
        client: FlightSQLClient,
        sql: str,
        begin: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> int:
        """Start `sql` in a worker thread, cancelling the query in flight; return its run id."""
        if self._worker is not None and not self._worker.finished:
            self._worker.cancel()
        self._run_id += 1
        self.state = "running"
        self._stop_release_timer()
        self.error = None
        self._rows = self._batches = 0
        self._elapsed = 0.0
        self._estimate = None
        self._showing_current_run = False
        self._show_error(None)
        worker = query_worker.QueryWorker(
            self,
            client,
            sql,
            run_id=self._run_id,
            begin=begin,
            end=end,
            limit=limit,
            memory_budget_bytes=self.memory_budget_bytes,
            spill_limit_bytes=self.spill_limit_bytes,
            estimate_count=self.estimate_count,
        )
        self._worker = worker
        self._workers[self._run_id] = worker
        worker.start()
        logger.info("query %d started", self._run_id)
        self._update_status()
        return self._run_id

    def cancel(self, pressed_at: float | None = None) -> bool:
        """Cancel the running query; rows so far stay. Return False when none was running.

        `pressed_at` is the `time.monotonic()` of the key press that asked for it. A press from
        before the running query started was meant for an earlier one, so it cancels nothing.
        """
        if self._worker is None or self.state != "running":
            return False
        if pressed_at is not None and pressed_at < self._worker.started_at:
            logger.info("ignored a cancel key pressed before query %d started", self._run_id)
            return False
        self._worker.cancel()
        return True

    # ----------------------------------------------------------------------------------------
    # Worker messages

    def _is_current(self, message: query_worker.WorkerMessage) -> bool:
        return message.run_id == self._run_id and self._worker is not None

    def _take_rows(self, store: ResultStore | None, rows: int, batches: int) -> None:
        """Bring the grid up to `rows` rows of the current run's store."""
        if store is None:
            return
        rows = max(rows, self._rows)
        if not self._showing_current_run:
            self._replace_store(store, rows)
            self._showing_current_run = True
        else:
            self.grid.rows_appended(rows)
        self._rows = rows
        self._batches = max(batches, self._batches)

    def _take_message_rows(self, message: query_worker.WorkerMessage) -> None:
        self._take_rows(message.store, message.rows, message.batches)

    def on_query_worker_batches_arrived(self, message: query_worker.BatchesArrived) -> None:
        if not self._is_current(message):
            return
        first_rows = not self._showing_current_run
        self._take_message_rows(message)
        # Later counts reach the status line on the next tick. Textual repaints every widget
        # that a frame's changes span, so a status update in the same frame as a grid line
        # would repaint the whole grid for each message: about 3 ms at 200x50 (2-core VM).
        if first_rows:
            self._update_status()

    def on_query_worker_count_estimated(self, message: query_worker.CountEstimated) -> None:
        if self._is_current(message):
            self._estimate = message.count
            self._update_status()

    def on_query_worker_query_finished(self, message: query_worker.QueryFinished) -> None:
        if not self._end_of_run(message):
            return
        self._take_message_rows(message)
        self.state = "done"
        self._release_memory_when_idle()
        self._update_status()
        self.post_message(self.QueryFinished(self, self._rows, self._batches, self._elapsed))

    def on_query_worker_query_cancelled(self, message: query_worker.QueryCancelled) -> None:
        if not self._end_of_run(message):
            return
        if message.rows > 0:
            self._take_message_rows(message)
        self.state = "cancelled"
        self._release_memory_when_idle()
        self._update_status()
        self.post_message(self.QueryCancelled(self, self._rows))

    def on_query_worker_query_failed(self, message: query_worker.QueryFailed) -> None:
        if not self._end_of_run(message):
            return
        if message.rows > 0:
            self._take_message_rows(message)
        self.state = "cut" if isinstance(message.error, SpillLimitError) else "failed"
        self._release_memory_when_idle()
        self.error = message.error
        previous_rows = not self._showing_current_run and self.has_results
        self._show_error(describe_error(message.error), previous_rows)
        self._update_status()
        self.post_message(self.QueryFailed(self, message.error, self._rows))

    def _end_of_run(self, message: query_worker.WorkerMessage) -> bool:
        """Handle the last message of a run; return True when it is the current run."""
        self._workers.pop(message.run_id, None)
        store = message.store
        current = self._is_current(message)
        if current:
            worker = self._worker
            assert worker is not None
            self._elapsed = time.monotonic() - worker.started_at
            # A store that never reached the screen (no batch before a cancel or an error) is
            # dropped, and the previous result stays.
            if (
                store is not None
                and message.rows == 0
                and not isinstance(message, query_worker.QueryFinished)
            ):
                message.store = None
                self._retire(store)
        elif store is not None:
            self._retire(store)
        self._close_retired()
        return current

    # ----------------------------------------------------------------------------------------
    # Stores

    def _replace_store(self, store: ResultStore, rows: int) -> None:
        old = self.grid.store
        self.grid.show_store(store, rows)
        if old is not None and old is not store:
            self._retire(old)
            self._close_retired()

    def _retire(self, store: ResultStore) -> None:
        """Mark a store as off screen; it is closed once no worker or export uses it."""
        if all(retired is not store for retired in self._retired):
            self._retired.append(store)

    def _close_retired(self) -> None:
        in_use = [worker.store for worker in self._workers.values()]
        for store in list(self._retired):
            if (
                store is self.grid.store
                or id(store) in self._exporting
                or any(used is store for used in in_use)
            ):
                continue
            self._retired.remove(store)
            try:
                store.close()
            except Exception:
                logger.exception("closing a result store failed")
            self._memory_to_release = True
        self._release_memory_when_idle()

    def _release_memory_when_idle(self) -> None:
        """Start the countdown after which the memory of closed stores goes back to the system.

        This is the one place freed result memory goes back. While queries run, the memory of
        the results they replace stays for their batches to reuse. Each call restarts the
        `release_idle_s` countdown, and a query that starts stops it.
        """
        if not self._memory_to_release or self.state == "running":
            return
        self._stop_release_timer()
        self._release_timer = self.set_timer(self.release_idle_s, self._release_now)

    @property
    def memory_release_pending(self) -> bool:
        """True while the memory of closed results waits for `release_idle_s` without a query."""
        return self._release_timer is not None

    def _stop_release_timer(self) -> None:
        if self._release_timer is not None:
            self._release_timer.stop()
            self._release_timer = None

    def _release_now(self) -> None:
        self._release_timer = None
        if not self._memory_to_release or self.state == "running":
            return
        self._memory_to_release = False
        # On a thread, because `malloc_trim` took 44 ms for 800 MiB of freed blocks (2-core VM).
        threading.Thread(
            target=release_freed_memory, name="mmtui-release-memory", daemon=True
        ).start()

    def begin_export(self, store: ResultStore) -> None:
        """Keep `store` open until `end_export`, even when a new result replaces it."""
        self._exporting.add(id(store))

    def end_export(self, store: ResultStore) -> None:
        self._exporting.discard(id(store))
        self._close_retired()

    # ----------------------------------------------------------------------------------------
    # Status

    def _tick(self) -> None:
        worker = self._worker
        if worker is None or self.state != "running":
            return
        self._elapsed = time.monotonic() - worker.started_at
        # Rows appended since the last BatchesArrived (the stream may have paused right after
        # a batch that fell inside the notify interval) are picked up here.
        rows, batches = worker.progress
        store = worker.store
        if store is not None and rows > self._rows:
            self._take_rows(store, rows, batches)
        self._update_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide Cancel unless a query runs, and dim the result keys until there is a result."""
        if action == "cancel_query":
            return self.is_running
        if action in RESULT_ACTIONS and not self.has_results:
            return None
        return True

    def _update_status(self) -> None:
        key_state = (self.state, self.has_results)
        if key_state != self._key_state:
            self._key_state = key_state
            self.refresh_bindings()
        if self.state == "idle":
            return
        if self.state == "running" and self._worker is not None:
            self._elapsed = time.monotonic() - self._worker.started_at
        status = self.query_one("#results-status", Static)
        # Before the first layout the width is 0, and the whole text is set.
        width = status.content_region.width or None
        grid = self.grid
        cursor_row = grid.cursor_row if grid.row_count > 0 else None
        text = format_status(
            self.state, self._rows, self._batches, self._elapsed, self._estimate, width, cursor_row
        )
        # The status line has a fixed height, so updating it needs no layout pass.
        status.update(Text(text), layout=False)

    def on_resize(self, _event: events.Resize) -> None:
        self._update_status()

    def on_result_grid_cursor_moved(self, _event: ResultGrid.CursorMoved) -> None:
        self._update_status()

    def _show_error(self, text: str | None, previous_rows: bool = False) -> None:
        """Show the error `text`, or hide it for None. With `previous_rows`, PREVIOUS_ROWS_NOTE
        shows on the line under it."""
        error = self.query_one("#results-error", Static)
        if text is None and not error.has_class("-visible"):
            # Nothing to clear. An update would cost a layout pass of the whole screen at the
            # start of every query, while its first batches arrive.
            return
        error.update(Text(text or ""))
        error.set_class(text is not None, "-visible")
        self.query_one("#results-note", Static).set_class(previous_rows, "-visible")

    # ----------------------------------------------------------------------------------------
    # Actions

    def action_cancel_query(self) -> None:
        take_escape_time = getattr(self.app, "take_escape_time", None)
        self.cancel(take_escape_time() if take_escape_time is not None else None)

    def _has_cells(self) -> bool:
        """Tell whether the grid shows a cell: a store with rows and at least one column."""
        grid = self.grid
        return grid.store is not None and grid.row_count > 0 and len(grid.store.schema) > 0

    def _cursor_scalar_text(self) -> str | None:
        grid = self.grid
        store = grid.store
        if store is None or not self._has_cells():
            return None
        return copy_text(store.scalar(grid.cursor_row, grid.cursor_column), grid.display_tz)

    def action_show_detail(self) -> None:
        grid = self.grid
        store = grid.store
        if store is None or not self._has_cells():
            self.app.bell()
            return
        row, column = grid.cursor_row, grid.cursor_column
        title = f"{grid.column_names[column]} · row {row + 1:,}"
        detail = DetailScreen(store, row, column, title=title, display_tz=grid.display_tz)
        self.app.push_screen(detail)

    def _copy(self, text: str, what: str) -> None:
        copy_with_limit(self, text, what)

    def action_copy_cell(self) -> None:
        text = self._cursor_scalar_text()
        if text is None:
            self.app.bell()
            return
        self._copy(text, "cell")

    def _row_values(self) -> tuple[list[str], list[str]] | None:
        """Return the column names and the TSV fields of the cursor row."""
        grid = self.grid
        store = grid.store
        if store is None or not self._has_cells():
            return None
        names = [field.name for field in store.schema]
        values = [
            tsv_field(store.scalar(grid.cursor_row, i), grid.display_tz) for i in range(len(names))
        ]
        return names, values

    def action_copy_row(self) -> None:
        row = self._row_values()
        if row is None:
            self.app.bell()
            return
        _, values = row
        self._copy("\t".join(values), "row")

    def action_copy_row_json(self) -> None:
        grid = self.grid
        store = grid.store
        if store is None or not self._has_cells():
            self.app.bell()
            return
        names = [field.name for field in store.schema]
        try:
            row = store.window(grid.cursor_row, grid.cursor_row + 1)
            values = [_json_column_value(row.column(index)) for index in range(len(names))]
        except (ValueError, TypeError, OverflowError):
            # Some Arrow values have no Python equivalent (out-of-range dates, invalid UTF-8),
            # so the text of such a cell replaces its value.
            values = [
                _json_cell(store.scalar(grid.cursor_row, index)) for index in range(len(names))
            ]
        self._copy(json_row(list(zip(names, values, strict=True))), "row as JSON")

    def remember_export(self, path: Path) -> None:
        """Offer `path`'s directory and extension for the next export of this session."""
        self._last_export = path

    def default_export_path(self) -> str:
        """Return the path the export screen starts with: results.csv, or beside the last export."""
        last = self._last_export
        if last is None:
            return "results.csv"
        return str(last.parent / f"results{last.suffix}")

    async def action_export(self) -> None:
        store = self.grid.store
        if store is None:
            self.notify("No result to export yet. Run a query first.", markup=False)
            return
        screen = ExportScreen(store, pane=self, default_path=self.default_export_path())
        # Keys typed right after `e` wait in the app's queue while this action runs. Awaiting
        # the mount runs the dialog's `on_mount`, which focuses its path field, before they
        # are routed. A streaming query makes that window tens of milliseconds wide.
        await self.app.push_screen(screen)


def _contains_nanosecond_time(data_type: pa.DataType) -> bool:
    """Tell whether `data_type` is time64[ns] or nests one (in a list, struct, map...)."""
    if pa.types.is_time64(data_type):
        return bool(data_type.unit == "ns")
    if isinstance(data_type, pa.ExtensionType):
        return _contains_nanosecond_time(data_type.storage_type)
    if pa.types.is_dictionary(data_type):
        return _contains_nanosecond_time(data_type.value_type)
    return any(
        _contains_nanosecond_time(data_type.field(index).type)
        for index in range(data_type.num_fields)
    )


def _json_column_value(column: Any) -> Any:
    """Return the first value of a one-row column for `json_row`.

    pyarrow's `as_py` (version 23) cuts time64[ns] values to microseconds (`datetime.time`),
    so such columns take the exact JSON of the JSON lines export instead. Raises ValueError
    for a value that cannot be formatted.
    """
    if _contains_nanosecond_time(column.type):
        text = export_texts(column, as_json=True)[0]
        return None if text is None else json.loads(text)
    return column[0].as_py()


def _json_cell(scalar: Any) -> Any:
    """Return a cell's Python value for `json_row`, or its copy text when it has none."""
    if _contains_nanosecond_time(scalar.type):
        # The copy text keeps the nanoseconds that `as_py` cuts.
        return copy_text(scalar)
    try:
        return scalar.as_py()
    except (ValueError, TypeError, OverflowError):
        return copy_text(scalar)
