"""`WidthMeasurer`: rows are measured while they stream in, and the pane is notified at a
bounded rate."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pyarrow as pa

from mmtui.results import ResultStore
from mmtui.ui.query_worker import (
    MEASURE_IN_APPEND_NEVER,
    BatchesArrived,
    QueryWorker,
    WidthMeasurer,
)

WAIT_S = 10.0
SCHEMA = pa.schema([("id", pa.int64()), ("msg", pa.string())])


class Recorder:
    """A stand-in for the pane that keeps each posted message with its arrival time."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, Any]] = []

    def post_message(self, message: Any) -> bool:
        self.messages.append((time.monotonic(), message))
        return True


def make_batch(first_id: int, rows: int, msg: str) -> pa.RecordBatch:
    return pa.record_batch(
        [pa.array(range(first_id, first_id + rows), pa.int64()), pa.array([msg] * rows)],
        schema=SCHEMA,
    )


def make_worker(recorder: Recorder) -> QueryWorker:
    # The worker is never started: the measurer only reads its run id and posts through it.
    return QueryWorker(recorder, None, "SELECT 1", run_id=7)  # type: ignore[arg-type]


def wait_until(condition: Any, description: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {description}"
        time.sleep(0.005)


def test_measures_before_notify_is_due() -> None:
    recorder = Recorder()
    store = ResultStore(SCHEMA, measure_every_rows=MEASURE_IN_APPEND_NEVER)
    store.append(make_batch(0, 100, "short"))
    for index in range(1, 20):
        # Batch 15 contains the widest message, so the widths show whether it was measured.
        msg = "w" * 60 if index == 15 else "short"
        store.append(make_batch(index * 100, 100, msg))
    assert store.unmeasured_row_count == 1900
    assert store.column_widths[1] == len("short")

    measurer = WidthMeasurer(make_worker(recorder), measure_interval=0.01, notify_interval=3600.0)
    measurer.start()
    measurer.begin(store)
    try:
        wait_until(lambda: store.unmeasured_row_count == 0, "the measurer to measure")
    finally:
        measurer.stop()

    assert store.measured_row_count == 2000
    assert store.column_widths[1] == 60
    # Measured, but the notify interval (an hour) has not passed, so no message was posted.
    assert recorder.messages == []


def test_notify_interval_is_kept() -> None:
    recorder = Recorder()
    store = ResultStore(SCHEMA, measure_every_rows=MEASURE_IN_APPEND_NEVER)
    store.append(make_batch(0, 10, "first"))
    notify_interval = 0.15
    measurer = WidthMeasurer(
        make_worker(recorder), measure_interval=0.005, notify_interval=notify_interval
    )
    measurer.start()
    started = time.monotonic()
    measurer.begin(store)

    def produce() -> None:
        for index in range(1, 80):
            store.append(make_batch(index * 10, 10, f"row {index}"))
            time.sleep(0.01)

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(WAIT_S)
    wait_until(lambda: store.unmeasured_row_count == 0, "the last rows to be measured")
    wait_until(
        lambda: bool(recorder.messages) and recorder.messages[-1][1].rows == 800,
        "a message with every row",
    )
    measurer.stop()

    times = [started] + [when for when, _ in recorder.messages]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(recorder.messages) >= 2
    assert min(gaps) >= notify_interval
    rows = [message.rows for _, message in recorder.messages]
    assert rows == sorted(set(rows))
    assert all(isinstance(message, BatchesArrived) for _, message in recorder.messages)
    assert all(message.run_id == 7 for _, message in recorder.messages)


def measure_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "mmtui-measure-7"]


def test_stop_before_begin_ends_the_thread() -> None:
    # A query that fails before its first batch stops a measurer that never got a store.
    recorder = Recorder()
    measurer = WidthMeasurer(make_worker(recorder), measure_interval=0.005)
    measurer.start()
    assert len(measure_threads()) == 1
    measurer.stop()
    assert measure_threads() == []
    assert measurer.store is None
    assert recorder.messages == []
