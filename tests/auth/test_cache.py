"""Token cache file: private modes on every write, upstream import, format."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mmtui.auth import ConnectionSettings, TokenCache, make_token_provider, resolve_settings
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

    idp.id_token_lifetime = 60
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
