"""Call headers of the demo server: time range, limit, preserve_dictionary, attribution."""

from __future__ import annotations

import logging
import time
from datetime import timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight
import pytest

from mmtui.demo import DemoServerHandle
from mmtui.demo.telemetry import to_ns
from tests.demo.flight_calls import (
    GRPC_INVALID_ARGUMENT,
    grpc_status,
    range_headers,
    run_query,
    server_message,
)


def _rows_between(table: pa.Table, column: str, begin_ns: int, end_ns: int) -> int:
    times = table.column(column).cast(pa.int64())
    inside = pc.and_(pc.greater_equal(times, begin_ns), pc.less_equal(times, end_ns))
    return int(pc.sum(inside.cast(pa.int64())).as_py() or 0)


def test_range_restricts_log_entries(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    begin = demo_server.now - timedelta(minutes=50)
    end = demo_server.now - timedelta(minutes=30)
    table = run_query(
        flight_client,
        "SELECT count(*) AS n, min(time) AS first, max(time) AS last FROM log_entries",
        range_headers(begin, end),
    )
    expected = _rows_between(
        demo_server.telemetry.views["log_entries"].table, "time", to_ns(begin), to_ns(end)
    )
    assert 0 < expected < demo_server.telemetry.log_rows
    assert table.column("n").to_pylist() == [expected]
    assert table.column("first").cast(pa.int64())[0].as_py() >= to_ns(begin)
    assert table.column("last").cast(pa.int64())[0].as_py() <= to_ns(end)


@pytest.mark.parametrize(
    ("view", "column"),
    [("measures", "time"), ("log_stats", "time_bin")],
)
def test_range_restricts_time_views(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle, view: str, column: str
) -> None:
    begin = demo_server.now - timedelta(hours=2, minutes=7)
    end = demo_server.now - timedelta(hours=1, minutes=3)
    table = run_query(flight_client, f"SELECT count(*) AS n FROM {view}", range_headers(begin, end))
    expected = _rows_between(
        demo_server.telemetry.views[view].table, column, to_ns(begin), to_ns(end)
    )
    assert 0 < expected < demo_server.telemetry.views[view].table.num_rows
    assert table.column("n").to_pylist() == [expected]


def test_range_restricts_view_instance(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    stream_id = demo_server.telemetry.processes[0].cpu_stream_ids[0]
    spans = demo_server.telemetry.thread_spans[stream_id].table
    begin = demo_server.now - timedelta(hours=3)
    end = demo_server.now - timedelta(hours=2)
    table = run_query(
        flight_client,
        f"SELECT count(*) AS n FROM view_instance('thread_spans', '{stream_id}')",
        range_headers(begin, end),
    )
    expected = _rows_between(spans, "begin", to_ns(begin), to_ns(end))
    assert 0 < expected < spans.num_rows
    assert table.column("n").to_pylist() == [expected]


def test_range_keeps_overlapping_processes(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    # Game sessions that ended hours ago are not visible in the last 10 minutes.
    begin = demo_server.now - timedelta(minutes=10)
    table = run_query(
        flight_client, "SELECT process_id FROM processes", range_headers(begin, demo_server.now)
    )
    alive = {p.process_id for p in demo_server.telemetry.processes if p.end_ns >= to_ns(begin)}
    assert set(table.column("process_id").to_pylist()) == alive
    assert len(alive) < len(demo_server.telemetry.processes)


def test_range_nanosecond_precision(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    log_times = demo_server.telemetry.views["log_entries"].table.column("time")
    target_ns = log_times.cast(pa.int64())[1000].as_py()
    seconds, nanos = divmod(target_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"
    headers = {"query_range_begin": stamp, "query_range_end": stamp}
    table = run_query(flight_client, "SELECT time FROM log_entries", headers)
    assert table.column("time").cast(pa.int64()).to_pylist() == [target_ns]


def test_range_with_offset(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    begin = demo_server.now - timedelta(minutes=20)
    utc = range_headers(begin, demo_server.now)
    shifted = {
        "query_range_begin": begin.astimezone(timezone(timedelta(hours=-5))).isoformat(),
        "query_range_end": utc["query_range_end"],
    }
    sql = "SELECT count(*) AS n FROM log_entries"
    assert run_query(flight_client, sql, shifted) == run_query(flight_client, sql, utc)


def test_empty_range_headers_mean_all_time(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    headers = {"query_range_begin": "", "query_range_end": ""}
    table = run_query(flight_client, "SELECT count(*) AS n FROM log_entries", headers)
    assert table.column("n").to_pylist() == [demo_server.telemetry.log_rows]


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"query_range_begin": "2024-01-01T00:00:00Z"}, "query_range_end"),
        ({"query_range_end": "2024-01-01T00:00:00Z"}, "query_range_begin"),
        (
            {"query_range_begin": "yesterday", "query_range_end": "2024-01-01T00:00:00Z"},
            "query_range_begin",
        ),
        (
            {"query_range_begin": "2024-01-01T00:00:00Z", "query_range_end": "2024-01-01 10:00"},
            "query_range_end",
        ),
        (
            {
                "query_range_begin": "2024-02-30T00:00:00Z",
                "query_range_end": "2024-03-01T00:00:00Z",
            },
            "query_range_begin",
        ),
        (
            {
                "query_range_begin": "2024-01-02T00:00:00Z",
                "query_range_end": "2024-01-01T00:00:00Z",
            },
            "query_range_begin",
        ),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-5"}, "limit"),
    ],
    ids=[
        "begin-only",
        "end-only",
        "begin-unparsable",
        "end-without-offset",
        "begin-no-such-day",
        "begin-after-end",
        "limit-not-a-number",
        "limit-negative",
    ],
)
def test_invalid_headers_rejected(
    flight_client: flight.FlightClient, headers: dict[str, str], named: str
) -> None:
    with pytest.raises(pa.ArrowInvalid) as raised:
        run_query(flight_client, "SELECT 1", headers)
    assert grpc_status(raised.value) == GRPC_INVALID_ARGUMENT
    message = server_message(raised.value)
    assert f"{named} header" in message


def test_limit_header_caps_rows(flight_client: flight.FlightClient) -> None:
    table = run_query(flight_client, "SELECT msg FROM log_entries", {"limit": "17"})
    assert table.num_rows == 17
    smaller = run_query(flight_client, "SELECT msg FROM log_entries LIMIT 5", {"limit": "17"})
    assert smaller.num_rows == 5


def test_preserve_dictionary_header(flight_client: flight.FlightClient) -> None:
    sql = "SELECT exe, target, msg FROM log_entries ORDER BY time, msg LIMIT 20000"
    plain = run_query(flight_client, sql)
    preserved = run_query(flight_client, sql, {"preserve_dictionary": "true"})
    assert plain.schema.field("exe").type == pa.utf8()
    assert preserved.schema.field("exe").type == pa.dictionary(pa.int32(), pa.utf8())
    assert preserved.column("exe").cast(pa.utf8()).to_pylist() == plain.column("exe").to_pylist()
    assert preserved.schema.field("msg").type == pa.utf8()


def test_preserve_dictionary_false_decodes(flight_client: flight.FlightClient) -> None:
    table = run_query(
        flight_client, "SELECT target FROM log_entries LIMIT 3", {"preserve_dictionary": "false"}
    )
    assert table.schema.field("target").type == pa.utf8()


def test_attribution_headers_logged(
    flight_client: flight.FlightClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mmtui.demo.server")
    headers = {"x-client-type": "python", "x-client-session": "session-1234"}
    run_query(flight_client, "SELECT 'attribution' AS probe", headers)
    logged = [r.getMessage() for r in caplog.records if "'attribution' AS probe" in r.getMessage()]
    assert logged
    assert "session-1234" in logged[0]
    assert "'x-client-type': 'python'" in logged[0]
