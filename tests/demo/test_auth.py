"""Bearer-token check of the demo server against a local JWKS issuer."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.flight as flight
import pytest
from authlib.jose import JsonWebKey

from mmtui.demo import DemoServerHandle, Telemetry, generate_telemetry, start_demo_server
from tests.demo.flight_calls import GRPC_UNAUTHENTICATED, grpc_status, run_query, server_message
from tests.demo.jwks_server import LocalIssuer

AUDIENCE = "mmtui-demo"


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    local = LocalIssuer()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def tiny_telemetry() -> Telemetry:
    return generate_telemetry(seed=3, scale=0.02)


@pytest.fixture(scope="module")
def secured(issuer: LocalIssuer, tiny_telemetry: Telemetry) -> Iterator[DemoServerHandle]:
    handle = start_demo_server(issuer=issuer.issuer, audience=AUDIENCE, telemetry=tiny_telemetry)
    yield handle
    handle.stop()


def _query(handle: DemoServerHandle, authorization: str | None) -> int:
    client = flight.connect(handle.uri)
    try:
        headers = {"authorization": authorization} if authorization is not None else None
        table = run_query(client, "SELECT count(*) AS n FROM processes", headers)
        return int(table.column("n")[0].as_py())
    finally:
        client.close()


def _rejected(handle: DemoServerHandle, authorization: str | None) -> str:
    with pytest.raises(flight.FlightUnauthenticatedError) as raised:
        _query(handle, authorization)
    assert grpc_status(raised.value) == GRPC_UNAUTHENTICATED
    return server_message(raised.value)


def test_valid_token_accepted(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    assert _query(secured, f"Bearer {issuer.sign(AUDIENCE)}") == len(secured.telemetry.processes)


def test_missing_header_rejected(secured: DemoServerHandle) -> None:
    assert "missing authorization header" in _rejected(secured, None)


def test_not_bearer_rejected(secured: DemoServerHandle) -> None:
    assert "expected 'Bearer <token>'" in _rejected(secured, "Basic dXNlcjpwYXNz")


def test_wrong_audience_rejected(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    message = _rejected(secured, f"Bearer {issuer.sign('another-app')}")
    assert "aud" in message


def test_wrong_issuer_rejected(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    token = issuer.sign(AUDIENCE, issuer="https://evil.example")
    assert "iss" in _rejected(secured, f"Bearer {token}")


def test_expired_token_rejected(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    token = issuer.sign(AUDIENCE, expires_in=-600)
    assert "expired" in _rejected(secured, f"Bearer {token}")


def test_foreign_signature_rejected(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    stranger = JsonWebKey.generate_key("RSA", 2048, {"kid": "key-1"}, is_private=True)
    token = issuer.sign(AUDIENCE, key=stranger)
    assert "invalid bearer token" in _rejected(secured, f"Bearer {token}")


def test_alg_none_rejected(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    message = _rejected(secured, f"Bearer {issuer.unsigned(AUDIENCE)}")
    assert "unsupported_algorithm" in message


def test_garbage_token_rejected(secured: DemoServerHandle) -> None:
    assert "invalid bearer token" in _rejected(secured, "Bearer not.a.jwt")


def test_token_never_logged(
    secured: DemoServerHandle, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="mmtui.demo")
    token = issuer.sign("another-app")
    _rejected(secured, f"Bearer {token}")
    assert caplog.records
    assert all(token not in record.getMessage() for record in caplog.records)


def test_rotated_key_fetched(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    _query(secured, f"Bearer {issuer.sign(AUDIENCE)}")
    fetches = issuer.jwks_fetches
    issuer.add_key("key-2")
    verifier = secured.server.verifier
    assert verifier is not None
    verifier.refresh_interval = 0.0
    assert _query(secured, f"Bearer {issuer.sign(AUDIENCE, kid='key-2')}") > 0
    assert issuer.jwks_fetches == fetches + 1


def test_issuer_without_audience_rejected(tiny_telemetry: Telemetry) -> None:
    with pytest.raises(ValueError, match="together"):
        start_demo_server(issuer="http://127.0.0.1:1", telemetry=tiny_telemetry)
