"""The views of the demo server: upstream names and Arrow types, table functions, UDFs and the
example queries of the Micromegas documentation."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight
import pytest

from mmtui.demo import DemoServerHandle
from tests.demo.flight_calls import range_headers, run_query

TS = pa.timestamp("ns", tz="+00:00")
DICT = pa.dictionary(pa.int32(), pa.utf8())
JSONB = pa.dictionary(pa.int32(), pa.binary())
UTF8 = pa.utf8()
I32, I64, U32 = pa.int32(), pa.int64(), pa.uint32()

# Column names and Arrow types of the Micromegas schema reference.
EXPECTED_SCHEMAS: dict[str, list[tuple[str, pa.DataType]]] = {
    "processes": [
        ("process_id", UTF8),
        ("exe", UTF8),
        ("username", UTF8),
        ("realname", UTF8),
        ("computer", UTF8),
        ("distro", UTF8),
        ("cpu_brand", UTF8),
        ("tsc_frequency", I64),
        ("start_time", TS),
        ("start_ticks", I64),
        ("insert_time", TS),
        ("parent_process_id", UTF8),
        ("properties", JSONB),
        ("last_update_time", TS),
        ("last_block_end_ticks", I64),
        ("last_block_end_time", TS),
    ],
    "streams": [
        ("stream_id", UTF8),
        ("process_id", UTF8),
        ("dependencies_metadata", pa.binary()),
        ("objects_metadata", pa.binary()),
        ("tags", pa.list_(UTF8)),
        ("properties", JSONB),
        ("insert_time", TS),
        ("format", UTF8),
        ("last_update_time", TS),
    ],
    "log_entries": [
        ("process_id", DICT),
        ("stream_id", DICT),
        ("block_id", DICT),
        ("insert_time", TS),
        ("exe", DICT),
        ("username", DICT),
        ("computer", DICT),
        ("time", TS),
        ("target", DICT),
        ("level", I32),
        ("msg", UTF8),
        ("properties", JSONB),
        ("process_properties", JSONB),
    ],
    "log_stats": [
        ("time_bin", TS),
        ("process_id", DICT),
        ("level", I32),
        ("target", DICT),
        ("count", I64),
    ],
    "measures": [
        ("process_id", DICT),
        ("stream_id", DICT),
        ("block_id", DICT),
        ("insert_time", TS),
        ("exe", DICT),
        ("username", DICT),
        ("computer", DICT),
        ("time", TS),
        ("target", DICT),
        ("name", DICT),
        ("unit", DICT),
        ("value", pa.float64()),
        ("properties", JSONB),
        ("process_properties", JSONB),
    ],
}
BLOCKS_COLUMNS = [
    ("block_id", UTF8),
    ("stream_id", UTF8),
    ("process_id", UTF8),
    ("begin_time", TS),
    ("begin_ticks", I64),
    ("end_time", TS),
    ("end_ticks", I64),
    ("nb_objects", I32),
    ("object_offset", I64),
    ("payload_size", I64),
    ("insert_time", TS),
    ("streams.tags", pa.list_(UTF8)),
    ("processes.exe", UTF8),
    ("processes.computer", UTF8),
]
THREAD_SPANS = [
    ("id", I64),
    ("parent", I64),
    ("depth", U32),
    ("hash", U32),
    ("begin", TS),
    ("end", TS),
    ("duration", I64),
    ("name", DICT),
    ("target", DICT),
    ("filename", DICT),
    ("line", U32),
]
ASYNC_EVENTS = [
    ("stream_id", DICT),
    ("block_id", DICT),
    ("time", TS),
    ("event_type", DICT),
    ("span_id", I64),
    ("parent_span_id", I64),
    ("depth", U32),
    ("hash", U32),
    ("name", DICT),
    ("filename", DICT),
    ("target", DICT),
    ("line", U32),
]


def _columns(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    return [(field.name, field.type) for field in schema]


@pytest.mark.parametrize("view", sorted(EXPECTED_SCHEMAS))
def test_view_schema_matches_upstream(demo_server: DemoServerHandle, view: str) -> None:
    schema = demo_server.telemetry.views[view].schema
    assert _columns(schema) == EXPECTED_SCHEMAS[view]


def test_blocks_schema_has_joined_columns(demo_server: DemoServerHandle) -> None:
    columns = dict(_columns(demo_server.telemetry.views["blocks"].schema))
    for name, data_type in BLOCKS_COLUMNS:
        assert columns.get(name) == data_type, name


def test_blocks_quoted_columns_query(flight_client: flight.FlightClient) -> None:
    table = run_query(
        flight_client,
        'SELECT "processes.exe" AS exe, sum(nb_objects) AS n FROM blocks '
        "WHERE array_has(\"streams.tags\", 'log') GROUP BY 1 ORDER BY 1",
    )
    assert "/srv/payments/bin/payments-worker" in table.column("exe").to_pylist()
    assert all(n > 0 for n in table.column("n").to_pylist())


def test_instance_view_schemas(demo_server: DemoServerHandle) -> None:
    info = demo_server.telemetry.processes[0]
    spans = demo_server.telemetry.thread_spans[info.cpu_stream_ids[0]].schema
    events = demo_server.telemetry.async_events[info.process_id].schema
    assert _columns(spans) == THREAD_SPANS
    assert _columns(events) == ASYNC_EVENTS


def test_show_tables_lists_views(flight_client: flight.FlightClient) -> None:
    table = run_query(flight_client, "SHOW TABLES")
    public = {
        name
        for name, schema in zip(
            table.column("table_name").to_pylist(),
            table.column("table_schema").to_pylist(),
            strict=True,
        )
        if schema == "public"
    }
    assert public == {"processes", "streams", "blocks", "log_entries", "log_stats", "measures"}


def test_information_schema_columns(flight_client: flight.FlightClient) -> None:
    table = run_query(
        flight_client,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'log_entries' ORDER BY ordinal_position",
    )
    names = table.column("column_name").to_pylist()
    assert names == [name for name, _ in EXPECTED_SCHEMAS["log_entries"]]
    assert table.column("data_type").to_pylist()[0] == "Dictionary(Int32, Utf8)"


def test_timestamps_sent_with_utc_offset(flight_client: flight.FlightClient) -> None:
    table = run_query(flight_client, "SELECT time, insert_time FROM log_entries LIMIT 1")
    assert table.schema.field("time").type == TS
    assert table.schema.field("insert_time").type == TS


def test_view_instance_log_entries_one_process(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    info = demo_server.telemetry.processes[3]
    table = run_query(
        flight_client,
        f"SELECT process_id, count(*) AS n FROM view_instance('log_entries', '{info.process_id}') "
        "GROUP BY process_id",
    )
    assert table.column("process_id").to_pylist() == [info.process_id]
    assert table.column("n").to_pylist() == [
        demo_server.telemetry.log_rows_by_process[info.process_id]
    ]


def test_view_instance_measures_one_process(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    info = demo_server.telemetry.processes[-1]
    table = run_query(
        flight_client,
        f"SELECT DISTINCT name FROM view_instance('measures', '{info.process_id}') ORDER BY name",
    )
    # The last process is a game client, which reports frame times.
    assert table.column("name").to_pylist() == ["cpu_usage", "frame_time", "memory_used"]


def test_view_instance_async_events(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    info = demo_server.telemetry.processes[0]
    table = run_query(
        flight_client,
        f"SELECT event_type, count(*) AS n FROM view_instance('async_events', '{info.process_id}') "
        "GROUP BY event_type ORDER BY event_type",
    )
    assert table.column("event_type").to_pylist() == ["begin", "end"]
    begins, ends = table.column("n").to_pylist()
    assert begins == ends > 0


def test_thread_spans_nest(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    stream_id = demo_server.telemetry.processes[0].cpu_stream_ids[0]
    table = run_query(
        flight_client,
        f"WITH s AS (SELECT * FROM view_instance('thread_spans', '{stream_id}')) "
        "SELECT count(*) AS bad FROM s child JOIN s parent ON child.parent = parent.id "
        "WHERE child.depth != parent.depth + 1 OR child.begin < parent.begin "
        'OR child."end" > parent."end"',
    )
    assert table.column("bad").to_pylist() == [0]
    depths = run_query(
        flight_client,
        f"SELECT max(depth) AS d FROM view_instance('thread_spans', '{stream_id}')",
    )
    assert depths.column("d").to_pylist() == [2]


def test_property_udfs(flight_client: flight.FlightClient) -> None:
    table = run_query(
        flight_client,
        "SELECT exe, property_get(properties, 'build-version') AS version, "
        "property_get(properties, 'BUILD-VERSION') AS upper, "
        "property_get(properties, 'missing') AS missing, "
        "properties_length(properties) AS n, jsonb_format_json(properties) AS json "
        "FROM processes WHERE computer = 'worker-02'",
    )
    row = table.to_pylist()[0]
    assert row["version"] == "2024.11.3"
    assert row["upper"] == "2024.11.3"
    assert row["missing"] is None
    assert row["n"] == 4
    assert '"region": "eu-central-1"' in row["json"]


def test_incident_is_recognisable(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle
) -> None:
    incident = demo_server.telemetry.incident
    table = run_query(
        flight_client,
        "SELECT computer, date_trunc('minute', time) AS minute, count(*) AS n FROM log_entries "
        f"WHERE level = 2 AND msg LIKE '{incident.message_prefix}%' GROUP BY 1, 2 ORDER BY 3 DESC",
    )
    assert set(table.column("computer").to_pylist()) == {"worker-02"}
    assert sum(table.column("n").to_pylist()) == incident.rows
    peak = table.column("minute")[0].as_py()
    assert timedelta(minutes=36) < demo_server.now - peak < timedelta(minutes=44)


def _example_queries(handle: DemoServerHandle) -> list[str]:
    info = handle.telemetry.processes[0]
    return [
        "SELECT process_id, exe, computer, start_time, last_update_time FROM processes "
        "ORDER BY last_update_time DESC LIMIT 100",
        "SELECT time, exe, level, target, msg FROM log_entries WHERE level <= 2 "
        "ORDER BY time DESC LIMIT 200",
        f"SELECT time, level, target, msg FROM view_instance('log_entries', '{info.process_id}') "
        "ORDER BY time DESC",
        "SELECT time_bin, level, sum(count) FROM log_stats "
        "GROUP BY time_bin, level ORDER BY time_bin",
        "SELECT time, value, unit FROM measures WHERE name = 'cpu_usage' ORDER BY time",
        "SELECT name, avg(duration), count(*) FROM "
        f"view_instance('thread_spans', '{info.cpu_stream_ids[0]}') "
        "GROUP BY name ORDER BY 2 DESC LIMIT 20",
        "SELECT process_id, property_get(properties, 'build-version') FROM processes",
        "SELECT process_id, properties_length(properties) FROM processes",
    ]


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("ranged", [False, True], ids=["all-time", "last-hour"])
def test_documented_queries_return_rows(
    flight_client: flight.FlightClient, demo_server: DemoServerHandle, index: int, ranged: bool
) -> None:
    sql = _example_queries(demo_server)[index]
    headers = (
        range_headers(demo_server.now - timedelta(hours=1), demo_server.now) if ranged else None
    )
    table = run_query(flight_client, sql, headers)
    assert table.num_rows > 0
    assert all(column.null_count < table.num_rows for column in table.columns)


def test_log_levels_all_present(flight_client: flight.FlightClient) -> None:
    table = run_query(
        flight_client, "SELECT level, count(*) AS n FROM log_entries GROUP BY level ORDER BY level"
    )
    assert table.column("level").to_pylist() == [1, 2, 3, 4, 5, 6]
    counts = dict(
        zip(table.column("level").to_pylist(), table.column("n").to_pylist(), strict=True)
    )
    assert counts[4] + counts[5] > 0.6 * sum(counts.values())


def test_non_ascii_messages_present(flight_client: flight.FlightClient) -> None:
    table = run_query(flight_client, "SELECT msg FROM log_entries WHERE level = 4")
    messages = table.column("msg")
    non_ascii = pc.sum(pc.invert(pc.string_is_ascii(messages)).cast(pa.int64())).as_py()
    assert non_ascii > 0.02 * len(messages)
    joined = "".join(messages.to_pylist()[:20000])
    assert any("\u3040" <= ch <= "\u9fff" for ch in joined)  # kana or CJK ideographs
    assert "é" in joined


def test_property_get_null_and_column_keys(flight_client: flight.FlightClient) -> None:
    table = run_query(
        flight_client,
        "SELECT property_get(properties, NULL) AS none, "
        "property_get(properties, CASE WHEN computer = 'web-01' THEN 'region' ELSE 'service' END) "
        "AS picked, computer FROM processes ORDER BY computer",
    )
    assert table.column("none").null_count == table.num_rows
    computers = table.column("computer").to_pylist()
    picked = dict(zip(computers, table.column("picked").to_pylist(), strict=True))
    assert picked["web-01"] == "eu-west-1"
    assert picked["worker-02"] == "payments-worker"
