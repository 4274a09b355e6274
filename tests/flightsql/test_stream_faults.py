"""QueryStream against the fault server: odd streams, errors mid-stream, deadlines, cancel."""

import socket
import threading
import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mmtui.flightsql import (
    ConnectionFailed,
    DeadlineExceeded,
    FlightSQLClient,
    QueryCancelled,
    QueryError,
)
from tests.fault_server import (
    BIG_ROWS,
    BIG_VALUE_CHARS,
    HOSTILE_COLUMN,
    HOSTILE_MESSAGES,
    HUGE_VALUE_CHARS,
    FaultServerHandle,
    start_fault_server,
    start_fault_server_process,
    types_batches,
)
from tests.flightsql.polling import wait_until

CANCEL_BOUND_SECONDS = 1.0


def test_zero_batches_gives_schema_only(fault_client: FlightSQLClient) -> None:
    stream = fault_client.query_stream("SELECT * FROM t -- fault:zero_batches")

    assert stream.schema.names == ["id", "msg"]
    assert list(stream) == []
    assert stream.rows == 0
    assert stream.batches == 0
    assert stream.phase == "done"


def test_empty_batches_between_real_ones(fault_client: FlightSQLClient) -> None:
    stream = fault_client.query_stream("fault:empty_batches_between")
    batches = list(stream)

    assert [batch.num_rows for batch in batches] == [0, 3, 0, 0, 2, 0]
    assert stream.rows == 5
    assert stream.batches == 6
    ids = pa.Table.from_batches(batches).column("id").to_pylist()
    assert ids == [0, 1, 2, 3, 4]


def test_big_batch_over_20mb_passes(fault_client: FlightSQLClient) -> None:
    stream = fault_client.query_stream("fault:big_batch_20mb")
    batches = list(stream)

    assert len(batches) == 1
    assert batches[0].num_rows == BIG_ROWS
    assert batches[0].nbytes > 20 * 1024 * 1024
    assert stream.bytes >= batches[0].nbytes
    last = batches[0].column("msg")[BIG_ROWS - 1].as_py()
    assert last.startswith(f"{BIG_ROWS - 1:08d}")
    assert len(last) == BIG_VALUE_CHARS


def test_huge_value_arrives_whole(fault_client: FlightSQLClient) -> None:
    table = fault_client.query("fault:huge_value_5m")

    value = table.column("msg")[0].as_py()
    assert len(value) == HUGE_VALUE_CHARS
    assert value.endswith("END")


def test_error_after_batches_keeps_them(fault_client: FlightSQLClient) -> None:
    stream = fault_client.query_stream("fault:error_after:3")
    received = []
    with pytest.raises(QueryError) as caught:
        for batch in stream:
            received.append(batch)

    assert len(received) == 3
    assert stream.rows == 30
    error = caught.value
    assert type(error) is QueryError
    assert error.code == "INTERNAL"
    assert error.message == (
        "error executing plan: simulated storage failure after 3 batches "
        "(query_id=fault-error-after)"
    )
    assert error.query_id == "fault-error-after"
    assert stream.phase == "failed"
    assert stream.schema.names == ["id", "msg"]
    with pytest.raises(QueryError) as again:
        next(stream)
    assert again.value is error


def test_hostile_strings_arrive_unchanged(fault_client: FlightSQLClient) -> None:
    table = fault_client.query("fault:hostile")

    assert table.column("msg").to_pylist() == HOSTILE_MESSAGES
    assert HOSTILE_COLUMN in table.column_names


def test_types_arrive_intact(fault_client: FlightSQLClient) -> None:
    first, second = types_batches()
    table = fault_client.query("fault:types")

    assert table.schema == first.schema
    assert table.num_rows == 6
    expected = pa.Table.from_batches([first, second])
    for name in expected.column_names:
        if name == "float32":
            continue
        assert table.column(name).equals(expected.column(name)), name
    nan_flags = pc.is_nan(table.column("float32")).to_pylist()
    assert nan_flags == [True, False, False, True, False, False]


def test_dictionary_and_nested_columns(fault_client: FlightSQLClient) -> None:
    table = fault_client.query("fault:types")

    dictionary = table.column("dictionary")
    assert pa.types.is_dictionary(dictionary.type)
    assert dictionary.to_pylist() == ["info", "warn", "info", "error", None, "debug"]
    assert table.column("struct").to_pylist()[:3] == [
        {"a": 1, "b": "x"},
        None,
        {"a": None, "b": "y"},
    ]
    assert table.column("map").to_pylist()[0] == [("host", "web-1"), ("region", "eu")]
    assert table.column("list").to_pylist()[:3] == [[1, 2, None], None, []]
    assert table.schema.field("ts_us_minus5").type.tz == "-05:00"
    assert table.schema.field("ts_ns_utc_offset").type.tz == "+00:00"
    assert table.column("null").null_count == 6


def test_healthy_stream_outlives_first_batch_timeout(fault_server: FaultServerHandle) -> None:
    client = FlightSQLClient(fault_server.uri, first_batch_timeout=0.3)
    started = time.monotonic()
    stream = client.query_stream("fault:trickle:16")
    rows = sum(batch.num_rows for batch in stream)
    elapsed = time.monotonic() - started
    client.close()

    assert rows == 160
    assert elapsed > 0.6
    assert stream.phase == "done"


def test_slow_first_batch_hits_deadline(fault_server: FaultServerHandle) -> None:
    client = FlightSQLClient(fault_server.uri, first_batch_timeout=0.3)
    cancelled_before = fault_server.cancelled_calls
    started = time.monotonic()
    stream = client.query_stream("fault:slow_first_batch:10")

    assert stream.schema.names == ["id", "msg"]
    with pytest.raises(DeadlineExceeded) as caught:
        next(stream)
    elapsed = time.monotonic() - started

    assert 0.3 <= elapsed < 0.3 + CANCEL_BOUND_SECONDS
    assert caught.value.code == "DEADLINE_EXCEEDED"
    assert "first_batch_timeout=0.3" in caught.value.message
    assert stream.phase == "failed"
    assert wait_until(lambda: fault_server.cancelled_calls > cancelled_before)
    client.close()


def test_slow_schema_hits_deadline(fault_server: FaultServerHandle) -> None:
    client = FlightSQLClient(fault_server.uri, first_batch_timeout=0.3)
    cancelled_before = fault_server.cancelled_calls
    started = time.monotonic()
    stream = client.query_stream("fault:slow_schema:1")

    with pytest.raises(DeadlineExceeded):
        _ = stream.schema
    elapsed = time.monotonic() - started

    assert elapsed < 0.3 + CANCEL_BOUND_SECONDS
    assert stream.phase == "failed"
    # The server sends the schema after 1 s; the client then cancels the abandoned call.
    assert wait_until(lambda: fault_server.cancelled_calls > cancelled_before)
    client.close()


def test_cancel_mid_stream_from_thread(
    fault_client: FlightSQLClient, fault_server: FaultServerHandle
) -> None:
    cancelled_before = fault_server.cancelled_calls
    stream = fault_client.query_stream("fault:trickle:200")
    cancel_times: list[float] = []

    def cancel() -> None:
        cancel_times.append(time.monotonic())
        stream.cancel()

    with pytest.raises(QueryCancelled):
        for batch_number, _batch in enumerate(stream, start=1):
            if batch_number == 2:
                threading.Thread(target=cancel).start()
    raised_at = time.monotonic()

    assert raised_at - cancel_times[0] < CANCEL_BOUND_SECONDS
    assert stream.rows in (20, 30)
    assert stream.cancelled
    assert stream.phase == "cancelled"
    assert wait_until(lambda: fault_server.cancelled_calls > cancelled_before)


def test_cancel_before_first_batch(
    fault_client: FlightSQLClient, fault_server: FaultServerHandle
) -> None:
    cancelled_before = fault_server.cancelled_calls
    stream = fault_client.query_stream("fault:silent")
    outcome: list[BaseException] = []
    raised_at: list[float] = []

    def consume() -> None:
        try:
            list(stream)
        except QueryError as exc:
            raised_at.append(time.monotonic())
            outcome.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert wait_until(lambda: stream.phase == "waiting")
    cancelled_at = time.monotonic()
    stream.cancel()
    consumer.join(CANCEL_BOUND_SECONDS)

    assert not consumer.is_alive()
    assert isinstance(outcome[0], QueryCancelled)
    assert raised_at[0] - cancelled_at < CANCEL_BOUND_SECONDS
    assert stream.rows == 0
    assert wait_until(lambda: fault_server.cancelled_calls > cancelled_before)


def test_cancel_before_schema_returns_at_once() -> None:
    handle = start_fault_server()
    client = FlightSQLClient(handle.uri)
    stream = client.query_stream("fault:silent_no_schema")
    outcome: list[BaseException] = []

    def read_schema() -> None:
        try:
            _ = stream.schema
        except QueryError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read_schema)
    reader.start()
    assert wait_until(lambda: handle.waiting_calls == 1)
    assert stream.phase == "opening"
    stream.cancel()
    reader.join(CANCEL_BOUND_SECONDS)

    assert not reader.is_alive()
    assert isinstance(outcome[0], QueryCancelled)
    client.close()
    # The server keeps the call open because do_get cannot be interrupted. Stopping must not hang.
    started = time.monotonic()
    handle.stop()
    assert time.monotonic() - started < 2.0


def test_close_cancels_running_call(
    fault_client: FlightSQLClient, fault_server: FaultServerHandle
) -> None:
    cancelled_before = fault_server.cancelled_calls
    with fault_client.query_stream("fault:trickle:200") as stream:
        next(stream)

    assert stream.cancelled
    assert wait_until(lambda: fault_server.cancelled_calls > cancelled_before)


def test_cancel_after_end_changes_nothing(fault_client: FlightSQLClient) -> None:
    stream = fault_client.query_stream("fault:empty_batches_between")
    list(stream)
    stream.cancel()

    assert not stream.cancelled
    assert stream.phase == "done"
    assert list(stream) == []


def test_server_killed_mid_stream() -> None:
    server = start_fault_server_process()
    client = FlightSQLClient(server.uri)
    stream = client.query_stream("fault:die_after:2")
    received = []
    try:
        with pytest.raises(QueryError) as caught:
            for batch in stream:
                received.append(batch)
                if len(received) == 2:
                    # The server exits on its own 0.5 s later; killing it now keeps the test
                    # independent of that grace on a loaded machine.
                    server.kill()
    finally:
        client.close()
        server.stop()

    assert len(received) == 2
    assert stream.rows == 20
    assert isinstance(caught.value, ConnectionFailed), caught.value
    assert server.process.returncode != 0


def test_unreachable_server_connection_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = FlightSQLClient(f"grpc://127.0.0.1:{port}")
    stream = client.query_stream("SELECT 1")

    with pytest.raises(ConnectionFailed) as caught:
        _ = stream.schema
    client.close()

    assert caught.value.code == "UNAVAILABLE"
    assert f"grpc://127.0.0.1:{port}" in caught.value.message
    assert "gRPC client debug context" not in caught.value.message


def test_concurrent_streams_on_one_client(fault_client: FlightSQLClient) -> None:
    counts: dict[int, int] = {}

    def read(size: int) -> None:
        counts[size] = sum(
            batch.num_rows for batch in fault_client.query_stream(f"fault:rows:{size}")
        )

    sizes = [100_000, 150_000, 200_000, 250_000]
    threads = [threading.Thread(target=read, args=(size,)) for size in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert counts == {size: size for size in sizes}
