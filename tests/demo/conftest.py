"""Fixtures of the demo server tests: a raw pyarrow Flight client to the shared demo server."""

from collections.abc import Iterator

import pyarrow.flight as flight
import pytest

from mmtui.demo import DemoServerHandle


@pytest.fixture
def flight_client(demo_server: DemoServerHandle) -> Iterator[flight.FlightClient]:
    client = flight.connect(demo_server.uri)
    yield client
    client.close()
