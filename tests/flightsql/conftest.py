"""Fixtures of the FlightSQL client tests: the fault server and a client for it."""

from collections.abc import Iterator

import pytest

from mmtui.flightsql import FlightSQLClient
from tests.fault_server import FaultServerHandle, start_fault_server


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
