"""Token cache file: private modes on every write, upstream import, format."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from mmtui.auth import (
    ConnectionSettings,
    LoginRequired,
    OidcUserProvider,
    TokenCache,
    make_token_provider,
    resolve_settings,
)
from mmtui.auth.errors import TokenCacheRejected
from tests.auth.conftest import log_in
from tests.auth.idp import TestIdPHandle

TOKEN = {"access_token": "a-1", "id_token": "i-1", "refresh_token": "r-1", "expires_at": 1}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make_cache(tmp_path: Path, upstream: Path | None = None) -> TokenCache:
    return TokenCache(
        tmp_path / "data" / "tokens-prod.json",
        issuer="https://idp.example.com",
        client_id="cli",
        audience="api://x",
        upstream_path=upstream,
    )


def test_store_creates_private_file_and_dir(tmp_path: Path) -> None:
    cache = make_cache(tmp_path)
    cache.store(TOKEN)
    assert mode_of(cache.path) == 0o600
    assert mode_of(cache.path.parent) == 0o700
    entry = json.loads(cache.path.read_text(encoding="utf-8"))
    assert entry == {
        "issuer": "https://idp.example.com",
        "client_id": "cli",
        "token": TOKEN,
        "audience": "api://x",
    }
    assert cache.load() == TOKEN


def test_store_over_existing_0644_file(tmp_path: Path) -> None:
    cache = make_cache(tmp_path)
    cache.path.parent.mkdir(parents=True, mode=0o755)
    os.chmod(cache.path.parent, 0o755)
    cache.path.write_text("{}", encoding="utf-8")
    os.chmod(cache.path, 0o644)
    assert mode_of(cache.path) == 0o644

    cache.store(TOKEN)
    assert mode_of(cache.path) == 0o600
    assert mode_of(cache.path.parent) == 0o700
    leftovers = [p.name for p in cache.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_cache_of_other_client_ignored(tmp_path: Path) -> None:
    cache = make_cache(tmp_path)
    cache.store(TOKEN)
    other = TokenCache(cache.path, issuer="https://idp.example.com", client_id="another")
    assert other.load() is None


def test_client_secret_never_written(
    oidc_env: dict[str, str], idp: TestIdPHandle, tmp_path: Path
) -> None:
    env = {**oidc_env, "MICROMEGAS_OIDC_CLIENT_SECRET": "do-not-write-me"}
    settings = resolve_settings(env=env, auth_mode="oidc")
    assert settings.client_secret == "do-not-write-me"
    log_in(settings)
    text = settings.token_cache_path.read_text(encoding="utf-8")
    assert "do-not-write-me" not in text
    assert json.loads(text)["issuer"] == idp.issuer


def test_mode_0600_after_login_and_refresh(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    path = oidc_settings.token_cache_path
    path.parent.mkdir(parents=True)
    path.write_text("{}", encoding="utf-8")
    os.chmod(path, 0o644)

    idp.id_token_issued_ago = 3480  # expires in 2 min: due for refresh
    log_in(oidc_settings)
    assert mode_of(path) == 0o600

    os.chmod(path, 0o644)
    provider = make_token_provider(oidc_settings)
    assert provider is not None
    provider.get_token()
    assert idp.refresh_count == 1
    assert mode_of(path) == 0o600


def test_upstream_cache_imported_once_read_only(tmp_path: Path) -> None:
    upstream = tmp_path / "home" / ".micromegas" / "tokens-prod.json"
    upstream.parent.mkdir(parents=True)
    upstream.write_text(
        json.dumps({"issuer": "https://idp.example.com", "client_id": "cli", "token": TOKEN}),
        encoding="utf-8",
    )
    os.chmod(upstream, 0o640)
    before = upstream.read_bytes()

    cache = make_cache(tmp_path, upstream)
    assert cache.load() == TOKEN
    assert cache.path.exists()
    assert mode_of(cache.path) == 0o600
    assert upstream.read_bytes() == before
    assert mode_of(upstream) == 0o640

    cache.store({**TOKEN, "id_token": "i-2"})
    assert upstream.read_bytes() == before

    cache.delete()
    assert cache.load() is None, "a deleted cache must not be imported again"
    assert upstream.read_bytes() == before


def test_upstream_cache_of_other_issuer_not_imported(tmp_path: Path) -> None:
    upstream = tmp_path / "tokens.json"
    upstream.write_text(
        json.dumps({"issuer": "https://other.example.com", "client_id": "cli", "token": TOKEN}),
        encoding="utf-8",
    )
    cache = make_cache(tmp_path, upstream)
    assert cache.load() is None
    assert not cache.path.exists()


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"issuer": 5}'])
def test_corrupt_cache_reads_as_empty(tmp_path: Path, content: str) -> None:
    cache = make_cache(tmp_path)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(content, encoding="utf-8")
    assert cache.load() is None


NESTED = "[" * 100_000 + "]" * 100_000
OTHER_USER = 65534
"""The uid of `nobody` on Linux, which owns the files of another user here."""

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a file to another user needs root",
)


def make_provider(cache: TokenCache) -> OidcUserProvider:
    settings = ConnectionSettings(
        auth_mode="oidc",
        issuer=cache.issuer,
        client_id=cache.client_id,
        token_cache_path=cache.path,
    )
    return OidcUserProvider(settings, cache)


def test_deeply_nested_cache_reads_as_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache(tmp_path)
    cache.path.parent.mkdir(parents=True)
    cache.path.write_text(NESTED, encoding="utf-8")

    assert cache.load() is None
    with pytest.raises(LoginRequired):
        make_provider(cache).get_token()
    assert f"ignoring invalid token cache {cache.path}" in caplog.text


def test_deeply_nested_id_token_needs_login(tmp_path: Path) -> None:
    def encode(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    cache = make_cache(tmp_path)
    header = encode(json.dumps({"alg": "RS256"}))
    # Deeper than the recursion limit, and shorter than the size limit of joserfc.
    payload = encode("[" * 5000 + "]" * 5000)
    id_token = f"{header}.{payload}.c2lnbmF0dXJl"
    cache.store({**TOKEN, "id_token": id_token})

    with pytest.raises(LoginRequired, match="not JSON"):
        make_provider(cache).get_token()


def test_readable_cache_made_private(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mmtui")
    cache = make_cache(tmp_path)
    cache.store(TOKEN)
    os.chmod(cache.path, 0o644)
    caplog.clear()

    assert cache.load() == TOKEN
    assert mode_of(cache.path) == 0o600
    records = [record.getMessage() for record in caplog.records]
    assert records == [
        f"token cache {cache.path} had mode 0644, open to other users: changed it to 0600"
    ]
    for secret in ("a-1", "i-1", "r-1"):
        assert secret not in caplog.text


@needs_root
def test_cache_of_other_user_rejected(tmp_path: Path) -> None:
    cache = make_cache(tmp_path)
    cache.store(TOKEN)
    os.chown(cache.path, OTHER_USER, OTHER_USER)

    with pytest.raises(TokenCacheRejected) as caught:
        cache.load()
    assert str(cache.path) in str(caught.value)
    assert f"owned by user {OTHER_USER}" in str(caught.value)
    with pytest.raises(LoginRequired):
        make_provider(cache).get_token()

    # A new login replaces the file with one of our own.
    cache.store({**TOKEN, "id_token": "i-2"})
    assert cache.path.stat().st_uid == os.geteuid()
    assert mode_of(cache.path) == 0o600
    assert cache.load() == {**TOKEN, "id_token": "i-2"}


@needs_root
def test_other_user_cache_deleted_without_revocation(tmp_path: Path) -> None:
    cache = make_cache(tmp_path)
    cache.store(TOKEN)
    os.chown(cache.path, OTHER_USER, OTHER_USER)

    assert cache.delete() == {}, "another user's refresh token is not revoked"
    assert not cache.path.exists()


@needs_root
def test_upstream_cache_of_other_user_not_imported(tmp_path: Path) -> None:
    upstream = tmp_path / "tokens.json"
    upstream.write_text(
        json.dumps({"issuer": "https://idp.example.com", "client_id": "cli", "token": TOKEN}),
        encoding="utf-8",
    )
    os.chown(upstream, OTHER_USER, OTHER_USER)
    cache = make_cache(tmp_path, upstream)

    assert cache.load() is None
    assert not cache.path.exists()
