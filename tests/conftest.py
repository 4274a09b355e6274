"""Fixtures shared by every test folder: the demo server, the fault server, and clients."""

from collections.abc import Iterator

import pytest

from mmtui.demo import DemoServerHandle, start_demo_server
from mmtui.flightsql import FlightSQLClient
from tests.fault_server import FaultServerHandle, start_fault_server


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


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServerHandle]:
    """The in-thread fault server on a free loopback port, shared by one test module."""
    handle = start_fault_server()
    yield handle
    handle.stop()


@pytest.fixture
def fault_client(fault_server: FaultServerHandle) -> Iterator[FlightSQLClient]:
    client = FlightSQLClient(fault_server.uri)
    yield client
    client.close()
