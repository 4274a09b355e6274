"""Token providers against the test IdP: refresh, rejection, client credentials, static keys."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from mmtui.auth import (
    ApiKeyProvider,
    AuthError,
    ClientCredentialsProvider,
    ConnectionSettings,
    DeviceLogin,
    LoginRequired,
    OidcUserProvider,
    StaticHeadersProvider,
    TokenCache,
    make_token_provider,
    resolve_settings,
)
from mmtui.auth.oidc import unverified_claims
from tests.auth.conftest import log_in
from tests.auth.idp import SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, TestIdPHandle


def oidc_provider(settings: ConnectionSettings) -> OidcUserProvider:
    provider = make_token_provider(settings)
    assert isinstance(provider, OidcUserProvider)
    return provider


def cached_token(settings: ConnectionSettings) -> dict[str, object]:
    entry = json.loads(settings.token_cache_path.read_text(encoding="utf-8"))
    token = entry["token"]
    assert isinstance(token, dict)
    return token


def test_valid_token_used_without_refresh(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    tokens = log_in(oidc_settings)
    provider = oidc_provider(oidc_settings)
    assert provider.token_state() == "valid"
    assert provider.get_token() == tokens["id_token"]
    assert provider.get_token() == tokens["id_token"]
    assert idp.refresh_count == 0


def test_valid_token_read_while_lock_held(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = log_in(oidc_settings)
    monkeypatch.setattr("mmtui.auth.cache.LOCK_TIMEOUT", 0.5)
    provider = oidc_provider(oidc_settings)

    # Another process holds the lock while its refresh waits on the IdP. A valid cached
    # token is read without the lock.
    with FileLock(str(oidc_settings.token_cache_path) + ".lock", timeout=0):
        assert provider.token_state() == "valid"
        assert provider.get_token() == tokens["id_token"]
    assert idp.refresh_count == 0


def test_logout_elsewhere_ends_session(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    tokens = log_in(oidc_settings)
    provider = oidc_provider(oidc_settings)
    assert provider.get_token() == tokens["id_token"]

    # `mmtui logout` in another terminal deletes the cache, and this provider gets no notice.
    assert provider.cache.delete() is not None
    with pytest.raises(LoginRequired) as caught:
        provider.get_token()
    assert "no cached tokens" in str(caught.value)


def test_refresh_when_expiring_within_5_minutes(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    # A one-hour token cached 56 minutes ago: it expires in 4 minutes.
    idp.id_token_issued_ago = 3360
    old = log_in(oidc_settings)
    idp.id_token_issued_ago = 0
    provider = oidc_provider(oidc_settings)
    assert provider.token_state() == "refresh"

    new_id_token = provider.get_token()
    assert new_id_token != old["id_token"]
    assert idp.refresh_count == 1
    assert unverified_claims(new_id_token)["exp"] > time.time() + 3000
    cached = cached_token(oidc_settings)
    assert cached["id_token"] == new_id_token
    assert cached["refresh_token"] != old["refresh_token"], "the IdP rotates refresh tokens"

    assert provider.get_token() == new_id_token
    assert idp.refresh_count == 1


def test_short_lived_token_not_refreshed_at_once(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    # Keycloak's default: ID tokens that live 5 minutes, no longer than the refresh margin.
    idp.id_token_lifetime = 300
    tokens = log_in(oidc_settings)
    provider = oidc_provider(oidc_settings)

    assert provider.token_state() == "valid"
    assert provider.get_token() == tokens["id_token"]
    assert provider.get_token() == tokens["id_token"]
    assert idp.refresh_count == 0


def test_short_lived_token_refreshed_at_half_life(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    idp.id_token_lifetime = 300
    idp.id_token_issued_ago = 160  # expires in 140 s, less than half of its lifetime
    old = log_in(oidc_settings)
    idp.id_token_issued_ago = 0
    provider = oidc_provider(oidc_settings)

    assert provider.token_state() == "refresh"
    new_id_token = provider.get_token()
    assert new_id_token != old["id_token"]
    assert idp.refresh_count == 1
    assert provider.get_token() == new_id_token
    assert idp.refresh_count == 1


def test_invalidate_does_not_wait_for_refresh(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    idp.id_token_issued_ago = 3480  # expires in 2 min: due for refresh
    log_in(oidc_settings)
    idp.id_token_issued_ago = 0
    idp.refresh_gate = threading.Event()
    provider = oidc_provider(oidc_settings)
    refresh = threading.Thread(target=provider.get_token)
    refresh.start()
    try:
        # The IdP holds the refresh until the gate opens, so the provider's lock stays taken.
        assert idp.refresh_started.wait(30), "the refresh never reached the IdP"
        invalidate = threading.Thread(target=provider.invalidate)
        invalidate.start()
        invalidate.join(30)
        assert not invalidate.is_alive(), "invalidate() waited for the refresh"
        assert refresh.is_alive()
    finally:
        idp.refresh_gate.set()
        refresh.join()

    # The refreshed token is in the cache, so the next call reads it there.
    refreshed = cached_token(oidc_settings)["id_token"]
    assert provider.get_token() == refreshed
    assert idp.refresh_count == 1


def test_refresh_keeps_old_refresh_token(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    idp.rotate_refresh_tokens = False
    idp.id_token_issued_ago = 3480  # expires in 2 min: due for refresh
    old = log_in(oidc_settings)
    provider = oidc_provider(oidc_settings)
    provider.get_token()
    assert idp.refresh_count == 1
    assert cached_token(oidc_settings)["refresh_token"] == old["refresh_token"]
    provider.invalidate()
    provider.get_token()
    assert idp.refresh_count == 2


def test_refresh_without_id_token_fails(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    idp.id_token_issued_ago = 3480  # expires in 2 min: due for refresh
    log_in(oidc_settings)
    idp.omit_id_token_on_refresh = True
    with pytest.raises(LoginRequired, match="no ID token"):
        oidc_provider(oidc_settings).get_token()


def test_revoked_refresh_token_requires_login(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    idp.id_token_issued_ago = 3480  # expires in 2 min: due for refresh
    log_in(oidc_settings)
    idp.revoke_user("user-alice")
    provider = oidc_provider(oidc_settings)
    with pytest.raises(LoginRequired, match="invalid_grant"):
        provider.get_token()
    assert idp.refresh_count == 1


def test_missing_cache_requires_login(oidc_settings: ConnectionSettings) -> None:
    provider = oidc_provider(oidc_settings)
    assert provider.token_state() == "login"
    with pytest.raises(LoginRequired, match="no cached tokens"):
        provider.get_token()


def unsigned_jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_cached_id_token_with_line_break(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    # gRPC aborts the process on a header with a line break, so such a token is never sent.
    log_in(oidc_settings)
    entry = json.loads(oidc_settings.token_cache_path.read_text(encoding="utf-8"))
    entry["token"]["id_token"] += "\n"
    oidc_settings.token_cache_path.write_text(json.dumps(entry), encoding="utf-8")
    provider = oidc_provider(oidc_settings)

    assert provider.token_state() == "login"
    with pytest.raises(LoginRequired, match="not a valid JWT"):
        provider.get_token()


def test_unsigned_id_token_rejected(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    cache = TokenCache.for_settings(oidc_settings)
    forged = unsigned_jwt({"iss": idp.issuer, "sub": "mallory", "exp": time.time() + 3600})
    cache.store({"id_token": forged, "access_token": "x", "refresh_token": "y"})
    provider = oidc_provider(oidc_settings)
    assert provider.token_state() == "login"
    with pytest.raises(LoginRequired, match="unsigned"):
        provider.get_token()


def test_login_rejects_unsigned_refresh_result(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    with pytest.raises(LoginRequired, match="unsigned"):
        unverified_claims(unsigned_jwt({"exp": 1}))


def client_credentials_settings(idp: TestIdPHandle, tmp_path: Path) -> ConnectionSettings:
    return resolve_settings(
        env={
            "HOME": str(tmp_path),
            "MMTUI_DATA_DIR": str(tmp_path / "data"),
            "MICROMEGAS_OIDC_ISSUER": idp.issuer,
            "MICROMEGAS_OIDC_CLIENT_ID": SERVICE_CLIENT_ID,
            "MICROMEGAS_OIDC_CLIENT_SECRET": SERVICE_CLIENT_SECRET,
        }
    )


def test_client_credentials_token_reused(idp: TestIdPHandle, tmp_path: Path) -> None:
    settings = client_credentials_settings(idp, tmp_path)
    assert settings.auth_mode == "client-credentials"
    provider = make_token_provider(settings)
    assert isinstance(provider, ClientCredentialsProvider)
    first = provider.get_token()
    assert first == idp.issued_secrets()[0]
    assert provider.get_token() == first
    assert len(idp.issued_secrets()) == 1
    assert not settings.token_cache_path.exists(), "service tokens stay in memory"


def test_client_credentials_short_lived_reused(idp: TestIdPHandle, tmp_path: Path) -> None:
    idp.access_token_lifetime = 120  # shorter than the 5 minute refresh margin
    provider = ClientCredentialsProvider(client_credentials_settings(idp, tmp_path))
    first = provider.get_token()
    assert provider.get_token() == first
    assert len(idp.issued_secrets()) == 1


def test_client_credentials_refetched_near_expiry(idp: TestIdPHandle, tmp_path: Path) -> None:
    idp.access_token_lifetime = 2  # refetched once less than half of it, 1 s, is left
    provider = ClientCredentialsProvider(client_credentials_settings(idp, tmp_path))
    first = provider.get_token()
    time.sleep(1.2)
    second = provider.get_token()
    assert first != second
    assert len(idp.issued_secrets()) == 2


def test_client_credentials_wrong_secret(idp: TestIdPHandle, tmp_path: Path) -> None:
    settings = client_credentials_settings(idp, tmp_path)
    wrong = ConnectionSettings(
        issuer=settings.issuer,
        client_id=settings.client_id,
        client_secret="wrong",
        auth_mode="client-credentials",
    )
    with pytest.raises(AuthError, match="invalid_client"):
        ClientCredentialsProvider(wrong).get_token()


def test_api_key_provider(tmp_path: Path) -> None:
    settings = resolve_settings(env={"HOME": str(tmp_path), "MMTUI_API_KEY": " key-789 \n"})
    provider = make_token_provider(settings)
    assert isinstance(provider, ApiKeyProvider)
    assert provider.get_token() == "key-789"
    assert "key-789" not in repr(provider)
    with pytest.raises(AuthError, match="invalid API key"):
        ApiKeyProvider("two words")


def test_no_auth_has_no_provider(tmp_path: Path) -> None:
    assert make_token_provider(resolve_settings(env={"HOME": str(tmp_path)})) is None


def test_static_headers_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="static headers are deprecated"):
        provider = StaticHeadersProvider({"Authorization": "Bearer abc.def"})
    assert provider.get_token() == "abc.def"
    with pytest.warns(DeprecationWarning), pytest.raises(AuthError, match="no 'authorization'"):
        StaticHeadersProvider({"x-other": "1"})


# Loggers of the test IdP itself (server side); everything else in the process is client side.
IDP_LOGGERS = ("werkzeug", "authlib.oauth2.rfc", "authlib.integrations.flask")


class ClientSideOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(IDP_LOGGERS)


@pytest.fixture
def debug_log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "mmtui.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.addFilter(ClientSideOnly())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def test_no_token_in_log_file(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle, debug_log_file: Path, tmp_path: Path
) -> None:
    idp.id_token_issued_ago = 3480  # expires in 2 min: due for refresh
    login = DeviceLogin(oidc_settings)
    code = login.start()
    idp.approve_device(code.user_code)
    login.poll()
    log_in(oidc_settings)
    oidc_provider(oidc_settings).get_token()
    idp.revoke_user("user-alice")
    with pytest.raises(LoginRequired):
        oidc_provider(oidc_settings).get_token()
    ClientCredentialsProvider(client_credentials_settings(idp, tmp_path)).get_token()

    text = debug_log_file.read_text(encoding="utf-8")
    assert "refreshing the ID token" in text, "the log file must contain the flows' records"
    secrets = [*idp.issued_secrets(), SERVICE_CLIENT_SECRET, code.device_code]
    assert len(secrets) >= 8
    for secret in secrets:
        assert secret not in text
