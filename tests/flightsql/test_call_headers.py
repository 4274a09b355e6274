"""Headers of each call: attribution, time range, limit, bearer per call, deprecated headers."""

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mmtui.flightsql import FlightSQLClient
from tests.fault_server import FaultServerHandle


class CountingTokenProvider:
    """Returns a new token on every call, as a provider that refreshes would."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self) -> str:
        self.calls += 1
        return f"token-{self.calls}"


class LoginNeeded(Exception):
    pass


class FailingTokenProvider:
    def get_token(self) -> str:
        raise LoginNeeded("log in first")


def last_headers(server: FaultServerHandle, method: str = "do_get") -> dict[str, list[str]]:
    return server.headers_of(method)[-1]


def test_attribution_headers(fault_server: FaultServerHandle) -> None:
    client = FlightSQLClient(fault_server.uri, session_id="session-1")
    client.query("fault:zero_batches")
    headers = last_headers(fault_server)
    client.close()

    assert headers["x-client-type"] == ["mmtui"]
    assert headers["x-client-session"] == ["session-1"]
    assert headers["x-client-agent"][0].startswith("mmtui/")
    assert "authorization" not in headers
    assert "query_range_begin" not in headers
    assert "limit" not in headers


def test_session_id_per_client(fault_server: FaultServerHandle) -> None:
    first = FlightSQLClient(fault_server.uri)
    second = FlightSQLClient(fault_server.uri)
    first.query("fault:zero_batches")
    first.query("fault:zero_batches")
    second.query("fault:zero_batches")
    sessions = [h["x-client-session"][0] for h in fault_server.headers_of("do_get")[-3:]]
    first.close()
    second.close()

    assert sessions[0] == sessions[1] == first.session_id
    assert sessions[2] == second.session_id
    assert sessions[0] != sessions[2]
    assert uuid.UUID(sessions[0])


def test_time_range_as_rfc3339_utc(
    fault_client: FlightSQLClient, fault_server: FaultServerHandle
) -> None:
    plus_two = timezone(timedelta(hours=2))
    begin = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=plus_two)
    end = datetime(2026, 1, 2, 1, 30, tzinfo=UTC)
    fault_client.query("fault:zero_batches", begin=begin, end=end, limit=100)
    headers = last_headers(fault_server)

    assert headers["query_range_begin"] == ["2026-01-02T01:04:05.123456Z"]
    assert headers["query_range_end"] == ["2026-01-02T01:30:00Z"]
    assert headers["limit"] == ["100"]


@pytest.mark.parametrize(
    ("begin", "end", "limit", "fragment"),
    [
        (datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=UTC), None, "naive datetime"),
        (datetime(2026, 1, 1, tzinfo=UTC), None, None, "given together"),
        (None, datetime(2026, 1, 1, tzinfo=UTC), None, "given together"),
        (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), None, "before"),
        (None, None, -1, "non-negative"),
        (None, None, True, "non-negative"),
    ],
)
def test_invalid_arguments_rejected_before_sending(
    fault_client: FlightSQLClient,
    fault_server: FaultServerHandle,
    begin: datetime | None,
    end: datetime | None,
    limit: int | None,
    fragment: str,
) -> None:
    calls_before = len(fault_server.calls)
    with pytest.raises(ValueError, match=fragment):
        fault_client.query_stream("fault:zero_batches", begin=begin, end=end, limit=limit)

    assert len(fault_server.calls) == calls_before


def test_token_fetched_for_each_call(fault_server: FaultServerHandle) -> None:
    provider = CountingTokenProvider()
    client = FlightSQLClient(fault_server.uri, auth_provider=provider)
    client.query("fault:zero_batches")
    first = last_headers(fault_server)["authorization"]
    client.prepare_statement("fault:types")
    second = last_headers(fault_server, "do_action")["authorization"]
    client.query("fault:zero_batches")
    third = last_headers(fault_server)["authorization"]
    client.close()

    assert first == ["Bearer token-1"]
    assert second == ["Bearer token-2"]
    assert third == ["Bearer token-3"]


def test_token_error_propagates_unchanged(fault_server: FaultServerHandle) -> None:
    client = FlightSQLClient(fault_server.uri, auth_provider=FailingTokenProvider())
    calls_before = len(fault_server.calls)

    with pytest.raises(LoginNeeded):
        client.query_stream("fault:zero_batches")
    assert len(fault_server.calls) == calls_before
    client.close()


def test_deprecated_headers_still_sent(
    fault_server: FaultServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.warns(DeprecationWarning, match="auth_provider"):
        client = FlightSQLClient(
            fault_server.uri, headers={"Authorization": "Bearer static", "X-Team": "obs"}
        )
    client.query("fault:zero_batches")
    headers = last_headers(fault_server)
    client.close()

    assert headers["authorization"] == ["Bearer static"]
    assert headers["x-team"] == ["obs"]
    assert capsys.readouterr() == ("", "")


def test_provider_overrides_static_authorization(fault_server: FaultServerHandle) -> None:
    with pytest.warns(DeprecationWarning):
        client = FlightSQLClient(
            fault_server.uri,
            headers={"authorization": "Bearer static"},
            auth_provider=CountingTokenProvider(),
        )
    client.query("fault:zero_batches")
    headers = last_headers(fault_server)
    client.close()

    assert headers["authorization"] == ["Bearer token-1"]


def test_preserve_dictionary_header(fault_server: FaultServerHandle) -> None:
    client = FlightSQLClient(fault_server.uri, preserve_dictionary=True)
    client.query("fault:zero_batches")
    headers = last_headers(fault_server)
    client.close()

    assert headers["preserve_dictionary"] == ["true"]


@pytest.mark.parametrize("client_type", ["", "naïve", "x" * 65, "tab\there"])
def test_invalid_attribution_rejected(client_type: str) -> None:
    with pytest.raises(ValueError, match="client_type"):
        FlightSQLClient("grpc://127.0.0.1:1", client_type=client_type)


# gRPC aborts the whole process on an invalid header, so the client runs in a child process.
INVALID_HEADER_CHILD = """
import sys
import warnings

from mmtui.flightsql import FlightSQLClient

warnings.simplefilter("ignore", DeprecationWarning)


class Provider:
    def get_token(self):
        return "secret-token\\n"


cases = {
    "token": lambda: FlightSQLClient(sys.argv[1], auth_provider=Provider()),
    "static": lambda: FlightSQLClient(
        sys.argv[1], headers={"authorization": "Bearer secret-static\\tx"}
    ),
}
for name, make_client in cases.items():
    try:
        make_client().query("fault:zero_batches")
    except ValueError as error:
        print(f"{name}: ValueError: {error}")
    else:
        print(f"{name}: sent")
"""


def test_invalid_header_raises_not_aborts(fault_server: FaultServerHandle) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", INVALID_HEADER_CHILD, fault_server.uri],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    assert len(lines) == 2, completed.stdout
    assert lines[0].startswith("token: ValueError: invalid bearer token from"), lines[0]
    assert lines[1].startswith("static: ValueError: invalid value of header"), lines[1]
    assert "secret" not in completed.stdout


def test_static_headers_not_in_repr(fault_server: FaultServerHandle) -> None:
    with pytest.warns(DeprecationWarning):
        client = FlightSQLClient(fault_server.uri, headers={"authorization": "Bearer static-key"})
    assert "static-key" not in repr(client._headers)
    client.close()
