"""Fixtures shared by every test folder: the embedded demo server and a client for it."""

from collections.abc import Iterator

import pytest

from mmtui.demo import DemoServerHandle, start_demo_server
from mmtui.flightsql import FlightSQLClient


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServerHandle]:
    """The default demo data set served over real gRPC on a free loopback port."""
    handle = start_demo_server(host="127.0.0.1", port=0)
    yield handle
    handle.stop()


@pytest.fixture
def demo_client(demo_server: DemoServerHandle) -> Iterator[FlightSQLClient]:
    client = FlightSQLClient(demo_server.uri)
    yield client
    client.close()
