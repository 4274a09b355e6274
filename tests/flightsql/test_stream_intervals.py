"""Month and day-time interval columns over real gRPC, which pyarrow cannot wrap in Python."""

from collections.abc import Iterator

import pyarrow as pa
import pytest

from mmtui.flightsql import FlightSQLClient
from tests.mismatch_server import start_mismatch_server


@pytest.fixture(scope="module")
def raw_client() -> Iterator[FlightSQLClient]:
    handle = start_mismatch_server()
    client = FlightSQLClient(handle.uri)
    yield client
    client.close()
    handle.stop()


def test_intervals_become_month_day_nano(raw_client: FlightSQLClient) -> None:
    stream = raw_client.query_stream("SELECT 1 -- intervals")
    batches = list(stream)

    assert stream.schema.field("months").type == pa.month_day_nano_interval()
    assert stream.schema.field("day_time").type == pa.month_day_nano_interval()
    assert len(batches) == 1
    batch = batches[0]
    assert batch.schema == stream.schema
    assert batch.column("id").to_pylist() == [1, 2, 3]
    assert batch.column("months").to_pylist() == [
        pa.MonthDayNano([14, 0, 0]),
        None,
        pa.MonthDayNano([-1, 0, 0]),
    ]
    assert batch.column("day_time").to_pylist() == [
        pa.MonthDayNano([0, 1, 3_600_000_000_000]),
        None,
        pa.MonthDayNano([0, -2, -1_000_000]),
    ]


def test_intervals_read_all(raw_client: FlightSQLClient) -> None:
    table = raw_client.query("SELECT 1 -- intervals")
    assert table.num_rows == 3
    assert table.column("day_time").null_count == 1
    assert table.column("months").to_pylist()[0] == pa.MonthDayNano([14, 0, 0])
