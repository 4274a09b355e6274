"""Record batches that do not match the schema the server sent first, over real gRPC."""

from collections.abc import Iterator

import pytest

from mmtui.flightsql import FlightSQLClient, QueryError
from tests.mismatch_server import GOOD_ROWS_BEFORE, start_mismatch_server


@pytest.fixture(scope="module")
def mismatch_client() -> Iterator[FlightSQLClient]:
    handle = start_mismatch_server()
    client = FlightSQLClient(handle.uri)
    yield client
    client.close()
    handle.stop()


@pytest.mark.parametrize("kind", ["layout", "columns"])
def test_mismatched_batch_decode_error(mismatch_client: FlightSQLClient, kind: str) -> None:
    stream = mismatch_client.query_stream(f"SELECT 1 -- mismatch:{kind}")
    ids: list[int] = []
    with pytest.raises(QueryError) as raised:
        for batch in stream:
            ids += batch.column(0).to_pylist()

    assert ids == list(range(GOOD_ROWS_BEFORE))
    error = raised.value
    assert error.code == "DATA_LOSS"
    assert "cannot decode record batch 3 that the server sent" in error.message
    assert "may not match the result's schema" in error.message
    assert f"The {GOOD_ROWS_BEFORE} rows before it are kept" in error.message
    assert stream.phase == "failed"
    assert stream.rows == GOOD_ROWS_BEFORE


def test_server_error_keeps_status(mismatch_client: FlightSQLClient) -> None:
    # An error status from the server is not taken for a decode failure.
    with pytest.raises(QueryError) as raised:
        mismatch_client.query("SELECT 1")
    assert raised.value.code == "INVALID_ARGUMENT"
    assert (
        raised.value.message
        == "unknown ticket: include mismatch:layout or mismatch:columns in the SQL"
    )
