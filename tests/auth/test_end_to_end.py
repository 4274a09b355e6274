"""OIDC end to end: test IdP tokens sent by FlightSQLClient to a demo server that checks them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mmtui.auth import (
    ApiKeyProvider,
    ConnectionSettings,
    LoginRequired,
    OidcUserProvider,
    make_token_provider,
)
from mmtui.demo import DemoServerHandle, start_demo_server
from mmtui.flightsql import FlightSQLClient, QueryError
from tests.auth.conftest import log_in
from tests.auth.idp import PUBLIC_CLIENT_ID, TestIdPHandle

# Further in the past than the demo server's 30 s leeway on `exp`.
EXPIRED_LIFETIME = -120


@pytest.fixture
def secured_server(idp: TestIdPHandle) -> Iterator[DemoServerHandle]:
    handle = start_demo_server(
        host="127.0.0.1", port=0, scale=0.01, issuer=idp.issuer, audience=PUBLIC_CLIENT_ID
    )
    yield handle
    handle.stop()


def oidc_provider(settings: ConnectionSettings) -> OidcUserProvider:
    provider = make_token_provider(settings)
    assert isinstance(provider, OidcUserProvider)
    return provider


def test_query_refreshes_expired_token(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle, secured_server: DemoServerHandle
) -> None:
    idp.id_token_lifetime = EXPIRED_LIFETIME
    expired = log_in(oidc_settings)
    idp.id_token_lifetime = 3600

    stale_client = FlightSQLClient(
        secured_server.uri, auth_provider=ApiKeyProvider(str(expired["id_token"]))
    )
    try:
        with pytest.raises(QueryError) as rejected:
            stale_client.query("SELECT 1 AS one")
        assert rejected.value.code == "UNAUTHENTICATED"
    finally:
        stale_client.close()

    provider = oidc_provider(oidc_settings)
    client = FlightSQLClient(secured_server.uri, auth_provider=provider)
    try:
        assert client.query("SELECT 1 AS one").column("one").to_pylist() == [1]
        assert idp.refresh_count == 1
        assert provider.get_token() != expired["id_token"]
        assert client.query("SELECT 2 AS two").column("two").to_pylist() == [2]
        assert idp.refresh_count == 1, "the refreshed token is reused"
    finally:
        client.close()


def test_query_without_token_rejected(secured_server: DemoServerHandle) -> None:
    client = FlightSQLClient(secured_server.uri)
    try:
        with pytest.raises(QueryError) as rejected:
            client.query("SELECT 1")
        assert rejected.value.code == "UNAUTHENTICATED"
    finally:
        client.close()


def test_revoked_refresh_token_raises_login_required(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle, secured_server: DemoServerHandle
) -> None:
    idp.id_token_lifetime = EXPIRED_LIFETIME
    log_in(oidc_settings)
    idp.revoke_user("user-alice")
    client = FlightSQLClient(secured_server.uri, auth_provider=oidc_provider(oidc_settings))
    try:
        with pytest.raises(LoginRequired, match="rejected the token refresh"):
            client.query("SELECT 1")
    finally:
        client.close()
