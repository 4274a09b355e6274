"""In-memory views of the demo server and the time-range cut applied to them per query.

A time-partitioned view is stored sorted by its time column, so the rows of a range are one
contiguous slice found by binary search, and no row is copied to serve a range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Arrow type of every timestamp the server sends: nanoseconds, UTC offset as upstream writes it.
TIMESTAMP = pa.timestamp("ns", tz="+00:00")
#: Rows per record batch of the stored views, so DataFusion streams large views batch by batch.
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class TimeRange:
    """Time range in nanoseconds since the Unix epoch (UTC), both ends included.

    NOTE: whether Micromegas includes rows exactly at the end of the range is not verified.
    """

    begin_ns: int
    end_ns: int


@dataclass
class TimeSortedView:
    """A view whose rows are sorted by one timestamp column.

    `slice(range)` returns the record batches of the rows whose time lies inside the range,
    zero-copy.
    """

    name: str
    table: pa.Table
    time_column: str
    _times: np.ndarray = field(init=False, repr=False)
    _batches: list[pa.RecordBatch] = field(init=False, repr=False)
    _offsets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.table = self.table.combine_chunks()
        times = self.table.column(self.time_column).cast(pa.int64()).to_numpy()
        if len(times) > 1 and bool(np.any(times[1:] < times[:-1])):
            raise ValueError(f"view {self.name} is not sorted by {self.time_column}")
        self._times = times
        self._batches = self.table.to_batches(max_chunksize=BATCH_ROWS)
        lengths = np.array([batch.num_rows for batch in self._batches], dtype=np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def row_bounds(self, time_range: TimeRange | None) -> tuple[int, int]:
        """Return the [start, stop) row positions of the rows inside the range."""
        if time_range is None:
            return 0, self.num_rows
        start = int(np.searchsorted(self._times, time_range.begin_ns, side="left"))
        stop = int(np.searchsorted(self._times, time_range.end_ns, side="right"))
        return start, max(start, stop)

    def slice(self, time_range: TimeRange | None) -> list[pa.RecordBatch]:
        """Return the record batches of the rows inside the range (all rows without one)."""
        if time_range is None:
            return list(self._batches)
        start, stop = self.row_bounds(time_range)
        if start == stop:
            return []
        first = int(np.searchsorted(self._offsets, start, side="right")) - 1
        last = int(np.searchsorted(self._offsets, stop, side="left"))
        batches: list[pa.RecordBatch] = []
        for index in range(first, last):
            batch_start = int(self._offsets[index])
            batch = self._batches[index]
            lo = max(start - batch_start, 0)
            hi = min(stop - batch_start, batch.num_rows)
            batches.append(batch if (lo, hi) == (0, batch.num_rows) else batch.slice(lo, hi - lo))
        return batches


@dataclass
class OverlapView:
    """A small view whose rows each cover a time span [begin_column, end_column].

    A range keeps the rows whose span overlaps it. The tables are small (processes, streams),
    so a boolean filter is cheap.
    """

    name: str
    table: pa.Table
    begin_column: str
    end_column: str

    @property
    def schema(self) -> pa.Schema:
        return self.table.schema

    def slice(self, time_range: TimeRange | None) -> list[pa.RecordBatch]:
        if time_range is None:
            return list(self.table.to_batches())
        begin = self.table.column(self.begin_column).cast(pa.int64())
        end = self.table.column(self.end_column).cast(pa.int64())
        mask = pc.and_(
            pc.less_equal(begin, time_range.end_ns), pc.greater_equal(end, time_range.begin_ns)
        )
        return list(self.table.filter(mask).to_batches())
