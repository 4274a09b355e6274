"""Third-party clients against the demo server: the upstream `micromegas` Python client (in a
subprocess) and the ADBC FlightSQL driver."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mmtui.demo import DemoServerHandle
from mmtui.demo.telemetry import to_ns

PROBE = Path(__file__).with_name("upstream_probe.py")
GLOBAL_VIEWS = ["blocks", "log_entries", "log_stats", "measures", "processes", "streams"]


@pytest.fixture(scope="module")
def upstream_report(demo_server: DemoServerHandle) -> dict[str, Any]:
    begin = demo_server.now - timedelta(minutes=20)
    end = demo_server.now - timedelta(minutes=10)
    completed = subprocess.run(
        [sys.executable, str(PROBE), demo_server.uri, begin.isoformat(), end.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    report["begin"], report["end"] = begin, end
    return report


def test_upstream_show_tables(upstream_report: dict[str, Any]) -> None:
    assert upstream_report["tables"] == GLOBAL_VIEWS


def test_upstream_prepare_statement_schema(upstream_report: dict[str, Any]) -> None:
    assert upstream_report["prepared_query"] == "SELECT * FROM log_entries"
    assert upstream_report["prepared_columns"] == [
        ["process_id", "dictionary<values=string, indices=int32, ordered=0>"],
        ["stream_id", "dictionary<values=string, indices=int32, ordered=0>"],
        ["block_id", "dictionary<values=string, indices=int32, ordered=0>"],
        ["insert_time", "timestamp[ns, tz=+00:00]"],
        ["exe", "dictionary<values=string, indices=int32, ordered=0>"],
        ["username", "dictionary<values=string, indices=int32, ordered=0>"],
        ["computer", "dictionary<values=string, indices=int32, ordered=0>"],
        ["time", "timestamp[ns, tz=+00:00]"],
        ["target", "dictionary<values=string, indices=int32, ordered=0>"],
        ["level", "int32"],
        ["msg", "string"],
        ["properties", "dictionary<values=binary, indices=int32, ordered=0>"],
        ["process_properties", "dictionary<values=binary, indices=int32, ordered=0>"],
    ]


def test_upstream_query_range(
    upstream_report: dict[str, Any], demo_server: DemoServerHandle
) -> None:
    times = demo_server.telemetry.views["log_entries"].table.column("time").cast(pa.int64())
    begin_ns, end_ns = to_ns(upstream_report["begin"]), to_ns(upstream_report["end"])
    inside = pc.and_(pc.greater_equal(times, begin_ns), pc.less_equal(times, end_ns))
    expected = pc.sum(inside.cast(pa.int64())).as_py()
    assert upstream_report["ranged_rows"] == expected
    assert upstream_report["stream_rows"] == expected
    # pandas keeps microseconds in isoformat; the range is whole microseconds.
    assert upstream_report["ranged_min"] >= upstream_report["begin"].isoformat()
    assert upstream_report["ranged_max"] <= upstream_report["end"].isoformat()


def test_upstream_error_has_position(upstream_report: dict[str, Any]) -> None:
    error = upstream_report["error"]
    assert error is not None
    assert "No field named levl" in error
    assert "(at line 2, column 3)" in error
    assert "(query_id=" in error


def test_adbc_query_and_tables(demo_server: DemoServerHandle) -> None:
    import adbc_driver_flightsql.dbapi as flightsql_dbapi

    with flightsql_dbapi.connect(demo_server.uri, autocommit=True) as connection:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT level, count(*) AS n FROM log_entries GROUP BY level ORDER BY level"
            )
            table = cursor.fetch_arrow_table()
            assert table.column("level").to_pylist() == [1, 2, 3, 4, 5, 6]
            assert sum(table.column("n").to_pylist()) == demo_server.telemetry.log_rows

            cursor.execute("SHOW TABLES")
            tables = cursor.fetch_arrow_table()
            public = [
                name
                for name, schema in zip(
                    tables.column("table_name").to_pylist(),
                    tables.column("table_schema").to_pylist(),
                    strict=True,
                )
                if schema == "public"
            ]
            assert sorted(public) == GLOBAL_VIEWS
        # GetTables through the driver; get_objects would need GetDbSchemas, which Micromegas
        # does not implement.
        schema = connection.adbc_get_table_schema("measures")
        assert schema == demo_server.telemetry.views["measures"].schema
        assert connection.adbc_get_info()["vendor_name"] == "Micromegas Flight SQL Server"


def test_adbc_time_range_header(demo_server: DemoServerHandle) -> None:
    import adbc_driver_flightsql
    import adbc_driver_flightsql.dbapi as flightsql_dbapi

    begin = demo_server.now - timedelta(minutes=5)
    prefix = adbc_driver_flightsql.DatabaseOptions.RPC_CALL_HEADER_PREFIX.value
    options = {
        f"{prefix}query_range_begin": begin.isoformat(),
        f"{prefix}query_range_end": demo_server.now.isoformat(),
    }
    connection = flightsql_dbapi.connect(demo_server.uri, db_kwargs=options, autocommit=True)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT min(time) AS first FROM log_entries")
        first = cursor.fetch_arrow_table().column("first").cast(pa.int64())[0].as_py()
    assert first >= to_ns(begin)
