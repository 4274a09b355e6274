"""The result store: record batches of one query as they arrive, with a memory budget.

A worker thread appends batches while the UI thread reads windows of rows. Rows are located with
cumulative batch offsets and a binary search, so a window costs the same at row 10 and at row
10 million. Column widths are measured with Arrow compute (see `measure.column_cells`): by
default in `append`, one batch at a time. With `measure_every_rows`, batches wait until that many
rows are pending or the producer calls `measure_pending`, and are measured together. That pays
the fixed cost of a measurement (a few Arrow kernel calls per column) once per group of batches.

When the Arrow bytes held in memory exceed the budget, the oldest in-memory batches are written
to a spill file and their memory is released. Each spilled batch is appended to that one file as
a complete Arrow IPC file image (schema, dictionaries, batch, footer). So batches with different
dictionaries spill without unification. A batch is read back zero-copy from a memory map of the
file, by `pyarrow.ipc.open_file` on its byte range.

The spill file is bounded by a spill limit (`spill_limit_bytes`, lowered to fit the free space
of the spill directory's file system when the first batch spills). A batch that would pass it
stays in memory and `append` raises `SpillLimitError`. A failed write raises `SpillWriteError`.
After either, the store keeps every row appended so far and takes no more batches.
"""

from __future__ import annotations

import bisect
import logging
import os
import shutil
import tempfile
import threading
import weakref
from array import array as typed_array
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from mmtui.results.allocator import release_freed_memory
from mmtui.results.formatting import format_array, is_level_field
from mmtui.results.measure import DictionaryMemo, column_cells
from mmtui.results.text import cell_width, safe_text
from mmtui.results.widths import MAX_COLUMN_CELLS, MAX_HEADER_CELLS

logger = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET = 1024**3
"""Arrow bytes kept in memory before older batches spill to disk (1 GiB): large enough that
typical on-call results never touch the disk, small enough for a laptop running other tools."""

DEFAULT_SPILL_LIMIT = 10 * 1024**3
"""Largest spill file of one result in bytes (10 GiB), lowered on a fuller disk when the first
batch spills (`spill_limit_for_free_space`).

Ten times the default memory budget, so a result can reach about 11 GiB of Arrow data, more
rows than anyone pages through in a grid. The limit is a fixed size, and not only a share of
the free space, so that a query that never ends (an unbounded CROSS JOIN) stops after a bounded
amount of disk writes on any disk."""

SPILL_FREE_SPACE_KEPT = 1024**3
"""Bytes of the spill file system that a spill never uses (1 GiB), whatever the spill limit.

The spill limit is also at most half the free space, which leaves room for a second result
spilling at the same time. This margin keeps room for the rest of the system on a nearly full
disk, where half the free space is little."""

SPILLED_BATCH_CACHE = 8
"""Spilled batches kept open after a read; a window spans at most a few neighbouring batches."""


@dataclass(frozen=True)
class _SpillLocation:
    offset: int
    length: int


class StoreClosedError(RuntimeError):
    """Raised when a closed store is used."""


class SpillError(Exception):
    """Raised by `ResultStore.append` when the store cannot spill and takes no more batches.

    Every row appended before, including those of the batch whose `append` raised, stays
    readable: `rows_kept` of them.
    """

    def __init__(self, message: str, *, rows_kept: int, spill_parent: Path) -> None:
        super().__init__(message)
        self.rows_kept = rows_kept
        self.spill_parent = spill_parent
        """The directory that contains the store's spill directory (the temporary folder)."""


class SpillLimitError(SpillError):
    """The spill file would have grown past the store's spill limit."""

    def __init__(
        self,
        *,
        rows_kept: int,
        spill_parent: Path,
        spill_path: Path | None,
        spilled_bytes: int,
        limit_bytes: int,
        configured_limit_bytes: int,
        free_bytes: int,
    ) -> None:
        where = spill_path if spill_path is not None else spill_parent
        super().__init__(
            f"result cut at the spill limit of {limit_bytes} bytes after {rows_kept} rows "
            f"({spilled_bytes} bytes spilled to {where})",
            rows_kept=rows_kept,
            spill_parent=spill_parent,
        )
        self.spill_path = spill_path
        """The spill file, or None when no batch fitted under the limit."""
        self.spilled_bytes = spilled_bytes
        self.limit_bytes = limit_bytes
        """The limit applied: `configured_limit_bytes`, or less to fit `free_bytes`."""
        self.configured_limit_bytes = configured_limit_bytes
        self.free_bytes = free_bytes
        """Free bytes of the spill file system when the result first spilled."""

    @property
    def capped_by_free_space(self) -> bool:
        """True when the free space, not the configured limit, set `limit_bytes`."""
        return self.limit_bytes < self.configured_limit_bytes


class SpillWriteError(SpillError):
    """Creating or writing the spill file failed, for example on a full or read-only disk."""

    def __init__(
        self, *, rows_kept: int, spill_parent: Path, spill_path: Path | None, error: OSError
    ) -> None:
        action = (
            f"write {spill_path}"
            if spill_path is not None
            else f"create a spill directory in {spill_parent}"
        )
        super().__init__(
            f"cannot {action}: {error}", rows_kept=rows_kept, spill_parent=spill_parent
        )
        self.spill_path = spill_path
        """The spill file, or None when its directory could not be created."""
        self.error = error


class _SpillLimitReached(Exception):
    """The next batch does not fit under the spill limit (internal to the store)."""


class ResultStore:
    """Record batches of one result with row lookup, display widths and spilling.

    `append` is meant for one producer thread; every other method may run concurrently from
    other threads.
    """

    def __init__(
        self,
        schema: pa.Schema,
        memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET,
        spill_dir: str | os.PathLike[str] | None = None,
        measure_every_rows: int = 0,
        spill_limit_bytes: int = DEFAULT_SPILL_LIMIT,
    ) -> None:
        """Create an empty store for batches of `schema`.

        `spill_dir` is where the spill directory is created (default: `tempfile.gettempdir()`,
        which follows TMPDIR). `spill_limit_bytes` bounds the spill file. With 0 the store
        never spills, so the result is cut at the memory budget.

        `measure_every_rows` is the number of appended rows whose widths may wait for one
        measurement. 0 measures every batch in `append`. The first non-empty batch is always
        measured at once, so the first rows on screen get their real widths.
        """
        if memory_budget_bytes < 0:
            raise ValueError(f"memory budget must be >= 0 bytes, got {memory_budget_bytes}")
        if spill_limit_bytes < 0:
            raise ValueError(f"spill limit must be >= 0 bytes, got {spill_limit_bytes}")
        if measure_every_rows < 0:
            raise ValueError(f"measure_every_rows must be >= 0, got {measure_every_rows}")
        self.schema: pa.Schema = schema
        self.memory_budget_bytes = memory_budget_bytes
        self._spill_parent = Path(spill_dir) if spill_dir is not None else None
        self.spill_limit_bytes = spill_limit_bytes
        """The configured bound of the spill file in bytes."""
        # Set when the first batch spills: the free bytes then, and the limit they allow.
        self._free_bytes_at_first_spill: int | None = None
        self._applied_spill_limit: int | None = None
        # The error that stopped the store from taking batches, raised again by `append`.
        self._spill_error: SpillError | None = None
        self._lock = threading.Lock()
        self._append_lock = threading.Lock()
        # Entry i is the batch in memory, or None once it is spilled.
        self._batches: list[pa.RecordBatch | None] = []
        self._spilled: list[_SpillLocation | None] = []
        self._batch_bytes: list[int] = []
        # _starts[i] is the first row of stored batch i; the final entry is the row count.
        self._starts = typed_array("q", [0])
        self._appended_batches = 0
        self._bytes_in_memory = 0
        self._bytes_total = 0
        self._spill_dir: Path | None = None
        self._spill_path: Path | None = None
        self._spill_size = 0
        self._spill_map: Any = None
        self._spill_cache: OrderedDict[int, pa.RecordBatch] = OrderedDict()
        self._level_columns = [is_level_field(field) for field in schema]
        self._dictionary_memos = [DictionaryMemo() for _ in schema]
        # Top-level dictionary columns that `_new_bytes` checks for a dictionary shared with
        # the batch before. Only the producer touches them.
        self._watched_dictionaries: dict[int, _DictionaryWatch] = {
            index: _DictionaryWatch()
            for index, field in enumerate(schema)
            if pa.types.is_dictionary(field.type)
        }
        self._widths = [
            min(MAX_HEADER_CELLS, max(1, cell_width(safe_text(field.name)))) for field in schema
        ]
        self.measure_every_rows = measure_every_rows
        # Batches appended but not measured yet, and their rows; only the producer touches them.
        self._unmeasured: list[pa.RecordBatch] = []
        self._unmeasured_rows = 0
        self._measured_rows = 0
        self._closed = False

    # Counters.

    @property
    def row_count(self) -> int:
        """Rows appended so far."""
        return int(self._starts[-1])

    @property
    def batch_count(self) -> int:
        """Batches appended so far, zero-row batches included."""
        return self._appended_batches

    @property
    def nbytes_in_memory(self) -> int:
        """Arrow buffer bytes of the batches held in memory (spilled ones excluded)."""
        return self._bytes_in_memory

    @property
    def nbytes_total(self) -> int:
        """Arrow buffer bytes of every batch appended, in memory or spilled."""
        return self._bytes_total

    @property
    def spilled_batch_count(self) -> int:
        """Batches currently on disk rather than in memory."""
        with self._lock:
            return sum(1 for location in self._spilled if location is not None)

    @property
    def spill_path(self) -> Path | None:
        """The spill file, once something has spilled."""
        return self._spill_path

    @property
    def spill_parent(self) -> Path:
        """The directory the spill directory is created in: `spill_dir`, else the temporary
        folder (`tempfile.gettempdir()`, which follows TMPDIR)."""
        if self._spill_parent is not None:
            return self._spill_parent
        return Path(tempfile.gettempdir())

    @property
    def spill_bytes(self) -> int:
        """Bytes written to the spill file."""
        return self._spill_size

    @property
    def applied_spill_limit_bytes(self) -> int | None:
        """The spill limit in force: `spill_limit_bytes` capped by the free space when the
        first batch spilled (`spill_limit_for_free_space`). None until something spills."""
        return self._applied_spill_limit

    @property
    def spill_error(self) -> SpillError | None:
        """The error that stopped the store taking batches, or None while it takes them."""
        return self._spill_error

    @property
    def column_widths(self) -> list[int]:
        """Display width of each column in cells, header included, at most MAX_COLUMN_CELLS.

        Covers the measured rows: all rows unless `measure_every_rows` lets some wait.
        """
        with self._lock:
            return list(self._widths)

    @property
    def unmeasured_row_count(self) -> int:
        """Rows appended whose widths are not in `column_widths` yet."""
        return self._unmeasured_rows

    # Writing.

    def append(self, batch: pa.RecordBatch) -> None:
        """Add a batch: store it, measure column widths when due, and spill if over budget.

        Widths are due at once when `measure_every_rows` is 0 or no row was measured yet, else
        once `measure_every_rows` rows are unmeasured. Raises ValueError when the batch's schema
        differs from the store's (metadata aside).

        Raises `SpillLimitError` or `SpillWriteError` after storing the batch when spilling
        stopped at the spill limit or on a failed write. Batches that could not spill stay in
        memory, over the budget. Every later call raises the same error and stores nothing.
        """
        self._check_open()
        if not batch.schema.equals(self.schema, check_metadata=False):
            raise ValueError(
                f"batch schema differs from the result schema: {batch.schema} != {self.schema}"
            )
        with self._append_lock:
            # close() may have run while this thread waited for the lock.
            self._check_open()
            if self._spill_error is not None:
                raise self._spill_error
            if batch.num_rows == 0:
                with self._lock:
                    self._appended_batches += 1
                return
            self._unmeasured.append(batch)
            self._unmeasured_rows += batch.num_rows
            due = self._measured_rows == 0 or self._unmeasured_rows >= self.measure_every_rows
            # Measured before the rows become readable, so widths cover every row the store
            # reports unless measuring is deferred.
            widths = None
            measured_rows = 0
            if due:
                batches, measured_rows = self._take_unmeasured()
                widths = self._measure(batches)
            nbytes = self._new_bytes(batch)
            with self._lock:
                self._appended_batches += 1
                if widths is not None:
                    self._add_measured(widths, measured_rows)
                self._batches.append(batch)
                self._spilled.append(None)
                self._batch_bytes.append(nbytes)
                self._starts.append(self._starts[-1] + batch.num_rows)
                self._bytes_in_memory += nbytes
                self._bytes_total += nbytes
            # NOTE: unmeasured batches stay referenced until measured, so a spilled one keeps
            # its memory that long: at most measure_every_rows rows, or the rows that arrive
            # between two runs of a measuring thread.
            if self._bytes_in_memory > self.memory_budget_bytes:
                self._spill_oldest()

    def _new_bytes(self, batch: pa.RecordBatch) -> int:
        """Return the buffer bytes that `batch` adds to the store's memory.

        An Arrow IPC stream sends a dictionary once, and again only when it changes, so
        consecutive batches share one dictionary in memory. Its bytes count once, with the
        first batch that contains it. Counted with each batch, a dictionary of 1,000,000
        strings (17 MB) in batches of 3 rows made the store spill 1.4 GB after 100 batches.
        NOTE: when that first batch spills, the dictionary stays in memory for the later
        batches but no longer counts, and each spilled batch writes its own copy of it.
        """
        nbytes = _batch_bytes(batch)
        if not self._watched_dictionaries:
            return nbytes

        for index, watch in list(self._watched_dictionaries.items()):
            dictionary = batch.column(index).dictionary
            addresses = (
                dictionary.offset,
                len(dictionary),
                *(0 if buffer is None else buffer.address for buffer in dictionary.buffers()),
            )
            if addresses == watch.addresses:
                nbytes -= int(dictionary.get_total_buffer_size())
                watch.shared = True
            else:
                watch.own_copies += 1
            watch.addresses = addresses

            # Reading a dictionary's addresses took 3 to 4.5 µs per column and batch (2-core
            # VM): 6 to 9 ms of CPU time for the 650 batches of the demo's 5.3 M log rows.
            # Micromegas resends its dictionaries with every batch, and a writer that resends
            # keeps doing so, so such a column is checked for its first batches only.
            # NOTE: a stream that starts sharing a column's dictionary only after
            # `RESENT_DICTIONARY_CHECKS` batches that each brought their own is counted in full.
            if not watch.shared and watch.own_copies >= RESENT_DICTIONARY_CHECKS:
                del self._watched_dictionaries[index]
        return nbytes

    def measure_pending(self) -> None:
        """Measure the widths of the batches that wait for it. Does nothing on a closed store.

        For the producer, or for one measuring thread beside it: the batches are taken under
        the append lock and measured outside it, so `append` does not wait for a measurement.
        Call it at the end of the stream (with no other call running) so that the final
        widths cover every row.
        """
        with self._append_lock:
            if self._closed or not self._unmeasured:
                return
            batches, rows = self._take_unmeasured()
        widths = self._measure(batches)
        with self._lock:
            self._add_measured(widths, rows)

    def _add_measured(self, widths: list[int], rows: int) -> None:
        """Widen the columns to `widths` and count `rows` as measured; the caller holds _lock."""
        self._widths = [max(old, new) for old, new in zip(self._widths, widths, strict=True)]
        self._measured_rows += rows

    @property
    def measured_row_count(self) -> int:
        """Rows whose widths are in `column_widths`: the first rows of the result."""
        return self._measured_rows

    def _take_unmeasured(self) -> tuple[list[pa.RecordBatch], int]:
        """Take the unmeasured batches and their row count; the caller holds _append_lock."""
        batches, self._unmeasured = self._unmeasured, []
        rows, self._unmeasured_rows = self._unmeasured_rows, 0
        return batches, rows

    def _measure(self, batches: list[pa.RecordBatch]) -> list[int]:
        """Return the widths of `batches` together, starting from the known widths."""
        with self._lock:
            known = list(self._widths)
        # One Table makes every column's ChunkedArray in C++. Building each one from
        # `batch.column(i)` made a Python object per batch and column: about 3 ms of the
        # 10 ms that measuring groups of 50 demo batches took per query (2-core VM).
        columns: list[Any] = (
            batches[0].columns if len(batches) == 1 else pa.Table.from_batches(batches).columns
        )
        return [
            column_cells(column, level=level, known_cells=known_cells, memo=memo)
            for column, level, known_cells, memo in zip(
                columns, self._level_columns, known, self._dictionary_memos, strict=True
            )
        ]

    def _spill_oldest(self) -> None:
        """Write the oldest in-memory batches to the spill file until under budget.

        Raises `SpillError` (and keeps it for later appends) when a batch does not fit under
        the spill limit or cannot be written. The batches written before it stay spilled.
        """
        with self._lock:
            excess = self._bytes_in_memory - self.memory_budget_bytes
            victims: list[tuple[int, pa.RecordBatch]] = []
            freed = 0
            # The newest batch stays in memory: the producer may still be measuring or reading it.
            for index in range(len(self._batches) - 1):
                if freed >= excess:
                    break
                candidate = self._batches[index]
                if candidate is None:
                    continue
                victims.append((index, candidate))
                freed += self._batch_bytes[index]
        if not victims:
            return
        # Disk writes happen outside the lock, so readers keep using the in-memory batches.
        locations: list[tuple[int, _SpillLocation]] = []
        try:
            for index, batch in victims:
                locations.append((index, self._write_spilled(batch)))
        except _SpillLimitReached:
            self._spill_error = self._limit_error()
        except OSError as error:
            self._spill_error = SpillWriteError(
                rows_kept=self.row_count,
                spill_parent=self.spill_parent,
                spill_path=self._spill_path,
                error=error,
            )
        if locations:
            self._release_spilled(locations)
        victims.clear()
        if self._spill_error is not None:
            level = (
                logging.INFO if isinstance(self._spill_error, SpillLimitError) else logging.WARNING
            )
            logger.log(level, "result store stopped taking batches: %s", self._spill_error)
            raise self._spill_error

    def _release_spilled(self, locations: list[tuple[int, _SpillLocation]]) -> None:
        """Read the batches at `locations` from the spill file from now on, freeing their memory."""
        new_map = pa.memory_map(str(self._spill_path), "r")
        with self._lock:
            self._spill_map = new_map
            self._spill_cache.clear()
            for index, location in locations:
                self._batches[index] = None
                self._spilled[index] = location
                self._bytes_in_memory -= self._batch_bytes[index]
        release_freed_memory()
        logger.debug(
            "spilled %d batches to %s; %d bytes in memory",
            len(locations),
            self._spill_path,
            self._bytes_in_memory,
        )

    def _write_spilled(self, batch: pa.RecordBatch) -> _SpillLocation:
        """Append `batch` to the spill file, creating the file first when needed.

        Raises `_SpillLimitReached`, having written nothing, when the batch would pass the spill
        limit, and OSError when the file system fails. A partly written batch is cut off.
        """
        if self._applied_spill_limit is None:
            # Measured once, before this result put anything on disk, so the limit stays fixed
            # while the spill file grows.
            self._free_bytes_at_first_spill = shutil.disk_usage(self.spill_parent).free
            self._applied_spill_limit = spill_limit_for_free_space(
                self.spill_limit_bytes, self._free_bytes_at_first_spill
            )
        sink = pa.BufferOutputStream()
        with ipc.new_file(sink, batch.schema) as writer:
            writer.write_batch(batch)
        image = sink.getvalue()
        if self._spill_size + image.size > self._applied_spill_limit:
            raise _SpillLimitReached
        if self._spill_path is None:
            self._spill_dir = Path(tempfile.mkdtemp(prefix="mmtui-spill-", dir=self.spill_parent))
            # Deletes the directory at garbage collection or interpreter exit when close() was
            # never called. A killed process still leaves it behind.
            weakref.finalize(self, shutil.rmtree, self._spill_dir, ignore_errors=True)
            self._spill_path = self._spill_dir / "results.arrows"
            self._spill_path.touch()
            logger.info(
                "spilling results beyond %d bytes to %s, at most %d bytes (%d bytes free)",
                self.memory_budget_bytes,
                self._spill_path,
                self._applied_spill_limit,
                self._free_bytes_at_first_spill,
            )
        try:
            with open(self._spill_path, "ab") as spill_file:
                spill_file.write(image)
        except OSError:
            self._cut_partial_write()
            raise
        location = _SpillLocation(self._spill_size, image.size)
        self._spill_size += image.size
        return location

    def _cut_partial_write(self) -> None:
        """Truncate the spill file to its complete batches, giving a full disk its space back."""
        if self._spill_path is None:
            return
        try:
            os.truncate(self._spill_path, self._spill_size)
        except OSError as error:
            logger.warning("cannot truncate spill file %s: %s", self._spill_path, error)

    def _limit_error(self) -> SpillLimitError:
        assert self._applied_spill_limit is not None
        assert self._free_bytes_at_first_spill is not None
        return SpillLimitError(
            rows_kept=self.row_count,
            spill_parent=self.spill_parent,
            spill_path=self._spill_path,
            spilled_bytes=self._spill_size,
            limit_bytes=self._applied_spill_limit,
            configured_limit_bytes=self.spill_limit_bytes,
            free_bytes=self._free_bytes_at_first_spill,
        )

    # Reading.

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("the result store is closed")

    def _batch(self, index: int) -> pa.RecordBatch:
        """Return stored batch `index`, reading it from the spill file when it is on disk."""
        with self._lock:
            batch = self._batches[index]
            if batch is not None:
                return batch
            cached = self._spill_cache.get(index)
            if cached is not None:
                self._spill_cache.move_to_end(index)
                return cached
            location = self._spilled[index]
            spill_map = self._spill_map
        if location is None or spill_map is None:
            raise StoreClosedError("the result store is closed")
        image = spill_map.read_at(location.length, location.offset)
        batch = ipc.open_file(pa.BufferReader(image)).get_batch(0)
        with self._lock:
            self._spill_cache[index] = batch
            while len(self._spill_cache) > SPILLED_BATCH_CACHE:
                self._spill_cache.popitem(last=False)
        return batch

    def locate(self, row: int) -> tuple[int, int]:
        """Return (stored batch index, row within it) of `row`; raises IndexError outside."""
        with self._lock:
            total = self._starts[-1]
            if not 0 <= row < total:
                raise IndexError(f"row {row} outside 0..{total - 1}")
            index = bisect.bisect_right(self._starts, row) - 1
            return index, row - int(self._starts[index])

    def _slices(self, start: int, stop: int) -> list[pa.RecordBatch]:
        self._check_open()
        with self._lock:
            total = int(self._starts[-1])
            start = max(0, min(start, total))
            stop = max(start, min(stop, total))
            if start == stop:
                return []
            first = bisect.bisect_right(self._starts, start) - 1
            spans: list[tuple[int, int, int]] = []
            index = first
            while index < len(self._batches) and self._starts[index] < stop:
                batch_start = int(self._starts[index])
                batch_end = int(self._starts[index + 1])
                low = max(start, batch_start) - batch_start
                high = min(stop, batch_end) - batch_start
                spans.append((index, low, high - low))
                index += 1
        return [self._batch(index).slice(offset, length) for index, offset, length in spans]

    def window(self, start: int, stop: int) -> pa.Table:
        """Return rows [start, stop) as a table, clamped to the rows present; zero-copy slices."""
        return pa.Table.from_batches(self._slices(start, stop), schema=self.schema)

    def format_window(
        self, start: int, stop: int, columns: Sequence[int], tz: str | None = None
    ) -> list[list[str]]:
        """Return safe display text for rows [start, stop) of `columns`, one list per row.

        Level columns show level names; texts are cut to MAX_COLUMN_CELLS cells.
        """
        rows: list[list[str]] = []
        for piece in self._slices(start, stop):
            formatted = [
                format_array(piece.column(c), MAX_COLUMN_CELLS, tz, levels=self._level_columns[c])
                for c in columns
            ]
            rows.extend(
                [list(row) for row in zip(*formatted, strict=True)]
                if formatted
                else [[] for _ in range(piece.num_rows)]
            )
        return rows

    def scalar(self, row: int, col: int) -> pa.Scalar:
        """Return the value at (`row`, `col`); raises IndexError outside the result."""
        self._check_open()
        index, offset = self.locate(row)
        return self._batch(index).column(col)[offset]

    def iter_batches(self, rows: int | None = None) -> Iterator[pa.RecordBatch]:
        """Yield the stored batches in order (zero-row batches are not stored).

        Only batches stored when iteration starts are yielded, so batches appended meanwhile
        are left out. With `rows`, the batches contain the first `rows` rows (at most the rows
        stored), and the batch that contains the last of them is cut to it.
        """
        self._check_open()
        with self._lock:
            total = int(self._starts[-1])
            limit = total if rows is None else max(0, min(rows, total))
            # _starts strictly increases, so the batches that start before `limit` contain the
            # rows before it.
            count = bisect.bisect_left(self._starts, limit)
            last_start = int(self._starts[count - 1]) if count else 0
        for index in range(count):
            batch = self._batch(index)
            if index == count - 1 and last_start + batch.num_rows > limit:
                batch = batch.slice(0, limit - last_start)
            yield batch

    def close(self) -> None:
        """Drop every batch and delete the spill file. Idempotent."""
        with self._append_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            self._batches.clear()
            self._unmeasured.clear()
            self._unmeasured_rows = 0
            self._spill_cache.clear()
            self._dictionary_memos = [DictionaryMemo() for _ in self.schema]
            spill_map, self._spill_map = self._spill_map, None
            self._bytes_in_memory = 0
        if spill_map is not None:
            spill_map.close()
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            logger.debug("deleted spill directory %s", self._spill_dir)

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def spill_limit_for_free_space(limit_bytes: int, free_bytes: int) -> int:
    """Return `limit_bytes` capped to half of `free_bytes`, keeping `SPILL_FREE_SPACE_KEPT` free.

    Half, so that two results spilling at once leave a quarter of the free space.
    """
    return max(0, min(limit_bytes, free_bytes // 2, free_bytes - SPILL_FREE_SPACE_KEPT))


RESENT_DICTIONARY_CHECKS = 8
"""Batches in a row that bring their own copy of a column's dictionary, after which
`ResultStore` stops checking that column for a dictionary shared between batches."""


@dataclass
class _DictionaryWatch:
    """State that `ResultStore._new_bytes` keeps for one dictionary column."""

    addresses: tuple[int, ...] | None = None
    """Offset, length and buffer addresses of the last batch's dictionary."""
    own_copies: int = 0
    """Batches that brought a dictionary of their own, counted until two batches share one."""
    shared: bool = False
    """Whether two batches in a row have shared a dictionary: then every batch is checked."""


def _batch_bytes(batch: pa.RecordBatch) -> int:
    """Return the bytes of a batch's buffers, whole even when the batch is a slice of them.

    That is the memory the batch keeps alive. `nbytes` counts only the sliced ranges, and took
    about 10 µs per batch of six columns, against 0.4 µs for this (2-core VM).
    """
    return int(batch.get_total_buffer_size())
