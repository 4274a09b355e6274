"""The client against the embedded Micromegas-compatible demo server (DataFusion SQL)."""

import re
import threading
import time
from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mmtui.demo import DemoServerHandle
from mmtui.flightsql import FlightSQLClient, QueryCancelled, QueryError

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GLOBAL_VIEWS = {"processes", "streams", "blocks", "log_entries", "log_stats", "measures"}


def test_multi_million_rows_exact_count(demo_client: FlightSQLClient) -> None:
    stream = demo_client.query_stream("SELECT value FROM range(3000000)")
    total = 0
    last = None
    for batch in stream:
        total += batch.num_rows
        if batch.num_rows:
            last = batch.column(0)[batch.num_rows - 1].as_py()

    assert total == 3_000_000
    assert stream.rows == 3_000_000
    assert stream.batches > 1
    assert last == 2_999_999


def test_cancel_mid_stream_on_demo(demo_client: FlightSQLClient) -> None:
    stream = demo_client.query_stream("SELECT value FROM range(1000000000)")
    cancel_times: list[float] = []

    def cancel() -> None:
        cancel_times.append(time.monotonic())
        stream.cancel()

    with pytest.raises(QueryCancelled):
        for batch_number, _batch in enumerate(stream, start=1):
            if batch_number == 3:
                threading.Thread(target=cancel).start()
    raised_at = time.monotonic()

    assert raised_at - cancel_times[0] < 1.0
    assert 3 * 8192 <= stream.rows < 1_000_000_000
    assert stream.cancelled


def test_datafusion_error_position(demo_client: FlightSQLClient) -> None:
    with pytest.raises(QueryError) as caught:
        demo_client.query("SELECT *\nFROM log_entriess")
    error = caught.value

    assert error.code == "INVALID_ARGUMENT"
    assert (error.line, error.column) == (2, 6)
    assert error.query_id is not None
    assert UUID_RE.fullmatch(error.query_id)
    assert "log_entriess" in error.message
    assert "Traceback" not in error.message


def test_multiline_error_message_kept(demo_client: FlightSQLClient) -> None:
    with pytest.raises(QueryError) as caught:
        demo_client.prepare_statement("SELECT nope FROM log_entries")
    error = caught.value

    assert (error.line, error.column) == (1, 8)
    assert "No field named nope" in error.message
    assert "\nValid fields are" in error.message


def test_list_tables_on_demo(demo_client: FlightSQLClient) -> None:
    tables = {table.name: table for table in demo_client.list_tables()}

    assert set(tables) >= GLOBAL_VIEWS
    log_schema = tables["log_entries"].schema
    assert log_schema is not None
    assert {"time", "level", "msg", "target"} <= set(log_schema.names)


def test_prepare_on_demo(demo_client: FlightSQLClient) -> None:
    prepared = demo_client.prepare_statement("SELECT time, msg FROM log_entries")

    assert prepared.dataset_schema.names == ["time", "msg"]
    assert pa.types.is_timestamp(prepared.dataset_schema.field("time").type)


@pytest.mark.parametrize("preserve", [True, False])
def test_prepare_types_match_stream(demo_server: DemoServerHandle, preserve: bool) -> None:
    sql = "SELECT exe, msg FROM log_entries LIMIT 3"
    with FlightSQLClient(demo_server.uri, preserve_dictionary=preserve) as client:
        prepared = client.prepare_statement(sql)
        streamed = client.query(sql)

    # The hint describes the columns as the query's stream sends them.
    assert prepared.dataset_schema.types == streamed.schema.types
    assert pa.types.is_dictionary(prepared.dataset_schema.field("exe").type) is preserve


def test_count_estimate_matches_count(
    demo_client: FlightSQLClient, demo_server: DemoServerHandle
) -> None:
    end = demo_server.now
    begin = end - timedelta(hours=1)
    total = demo_client.query("SELECT COUNT(*) FROM log_entries").column(0)[0].as_py()
    in_range = (
        demo_client.query("SELECT COUNT(*) FROM log_entries", begin, end).column(0)[0].as_py()
    )

    assert demo_client.count_estimate("SELECT * FROM log_entries -- all") == total
    assert demo_client.count_estimate("SELECT * FROM log_entries;", begin, end) == in_range
    assert 0 < in_range < total
    assert demo_client.count_estimate("SELECT * FROM missing_table") is None


def test_time_range_limits_rows(
    demo_client: FlightSQLClient, demo_server: DemoServerHandle
) -> None:
    end = demo_server.now
    begin = end - timedelta(minutes=10)
    table = demo_client.query("SELECT time FROM log_entries", begin, end)
    times = table.column("time")

    assert table.num_rows > 0
    assert pc.min(times).as_py() >= begin
    assert pc.max(times).as_py() <= end


def test_limit_header_on_demo(demo_client: FlightSQLClient) -> None:
    table = demo_client.query("SELECT msg FROM log_entries", limit=7)

    assert table.num_rows == 7


def test_dictionary_columns_on_demo(demo_server: DemoServerHandle) -> None:
    sql = "SELECT target, msg FROM log_entries ORDER BY time LIMIT 5000"
    with FlightSQLClient(demo_server.uri, preserve_dictionary=True) as client:
        encoded = client.query(sql)
    with FlightSQLClient(demo_server.uri) as client:
        plain = client.query(sql)

    assert pa.types.is_dictionary(encoded.schema.field("target").type)
    assert encoded.column("target").to_pylist() == plain.column("target").to_pylist()
    assert encoded.column("msg").to_pylist() == plain.column("msg").to_pylist()
