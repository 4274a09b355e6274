"""Bearer-token check of the demo server against a local JWKS issuer."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pyarrow.flight as flight
import pytest
from joserfc.jwk import RSAKey

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
    stranger = RSAKey.generate_key(2048, {"kid": "key-1"}, private=True)
    token = issuer.sign(AUDIENCE, key=stranger)
    message = _rejected(secured, f"Bearer {token}")
    assert "invalid bearer token" in message
    assert "bad_signature" in message


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


def test_unknown_key_id_rejected(
    secured: DemoServerHandle, issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = secured.server.verifier
    assert verifier is not None
    monkeypatch.setattr(verifier, "refresh_interval", 0.0)
    _query(secured, f"Bearer {issuer.sign(AUDIENCE)}")
    fetches = issuer.jwks_fetches
    unpublished = RSAKey.generate_key(2048, {"kid": "key-unpublished"}, private=True)
    token = issuer.sign(AUDIENCE, kid="key-unpublished", key=unpublished)
    message = _rejected(secured, f"Bearer {token}")
    assert f"no signing key of {issuer.issuer} matches the token" in message
    assert "key-unpublished" in message
    # One refetch for the unknown kid, then the token is rejected.
    assert issuer.jwks_fetches == fetches + 1


def test_audience_list_accepted(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    token = issuer.sign(["another-app", AUDIENCE])
    assert _query(secured, f"Bearer {token}") == len(secured.telemetry.processes)


def test_unregistered_header_accepted(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    token = issuer.sign(AUDIENCE, extra_header={"x-idp-region": "eu-1"})
    assert _query(secured, f"Bearer {token}") == len(secured.telemetry.processes)


def test_unknown_critical_header_rejected(secured: DemoServerHandle, issuer: LocalIssuer) -> None:
    token = issuer.sign(AUDIENCE, extra_header={"crit": ["x-idp-region"], "x-idp-region": "eu-1"})
    message = _rejected(secured, f"Bearer {token}")
    assert "x-idp-region" in message


def test_jose_users_avoid_authlib_jose() -> None:
    # authlib.jose warns on import that it is deprecated (authlib 1.9) and goes away in 2.0.
    modules = ["mmtui.demo.auth", "mmtui.auth.oidc", "tests.demo.jwks_server", "tests.auth.idp"]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('authlib.jose'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []


def test_issuer_without_audience_rejected(tiny_telemetry: Telemetry) -> None:
    with pytest.raises(ValueError, match="together"):
        start_demo_server(issuer="http://127.0.0.1:1", telemetry=tiny_telemetry)
