"""`DemoStartup`: the demo server starts on a background thread and stops at exit."""

from __future__ import annotations

import pyarrow.flight as flight
import pytest

from mmtui.demo.startup import DemoStartup
from mmtui.flightsql import FlightSQLClient

WAIT_S = 60.0
SCALE = 0.05


def test_startup_serves_tables() -> None:
    startup = DemoStartup(host="127.0.0.1", port=0, scale=SCALE)
    try:
        handle = startup.result(WAIT_S)

        assert startup.done
        assert handle.uri.startswith("grpc://127.0.0.1:")
        with FlightSQLClient(handle.uri) as client:
            names = {table.name for table in client.list_tables()}
        assert "log_entries" in names
    finally:
        startup.stop()


def test_stop_waits_for_start_then_stops() -> None:
    startup = DemoStartup(host="127.0.0.1", port=0, scale=SCALE)

    # Called at once, while the data is still being generated, as when a user quits at once.
    startup.stop()

    handle = startup.result(0)
    client = flight.connect(handle.uri)
    try:
        with pytest.raises(flight.FlightUnavailableError):
            list(client.list_actions(flight.FlightCallOptions(timeout=2.0)))
    finally:
        client.close()


def test_failed_start_raises_from_result() -> None:
    # An issuer without an audience is rejected before any data is generated.
    startup = DemoStartup(host="127.0.0.1", port=0, issuer="http://127.0.0.1:1")

    with pytest.raises(ValueError, match="issuer and audience"):
        startup.result(WAIT_S)
    assert startup.done

    startup.stop()
