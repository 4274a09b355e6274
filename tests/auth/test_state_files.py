"""Settings and token cache files that are not what they should be: bad bytes, huge, wrong URI."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from mmtui.auth import SettingsError, TokenCache, load_app_settings, resolve_settings
from mmtui.auth.cli import logout_main
from mmtui.auth.settings import MAX_API_KEY_FILE_BYTES
from tests.auth.test_settings import base_env, write_config


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1:47011", "grpc://127.0.0.1:47011"),
        ("https://analytics.example.com:443", "grpc+tls://analytics.example.com:443"),
        ("HTTPS://analytics.example.com", "grpc+tls://analytics.example.com"),
        ("grpc+tls://analytics.example.com:50051", "grpc+tls://analytics.example.com:50051"),
    ],
)
def test_http_uris_rewritten(tmp_path: Path, uri: str, expected: str) -> None:
    from_flag = resolve_settings(uri=uri, env=base_env(tmp_path), config_path=tmp_path / "none")
    assert from_flag.uri == expected
    env = base_env(tmp_path, MICROMEGAS_ANALYTICS_URI=uri)
    from_env = resolve_settings(env=env, config_path=tmp_path / "none")
    assert from_env.uri == expected
    config = write_config(tmp_path, {"profiles": {"p": {"uri": uri}}, "default_profile": "p"})
    from_profile = resolve_settings(env=base_env(tmp_path), config_path=config)
    assert from_profile.uri == expected


def test_bad_ipv6_uri_is_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve_settings(uri="grpc://[::1", env=base_env(tmp_path), config_path=tmp_path / "x")
    assert "invalid server URI 'grpc://[::1'" in str(caught.value)
    assert "command line" in str(caught.value)


@pytest.mark.parametrize(
    "uri", ["grpc://alice:s3cretpw@127.0.0.1:47011", "https://alice:s3cretpw@host/x"]
)
def test_uri_credentials_rejected(
    tmp_path: Path, uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = base_env(tmp_path, MICROMEGAS_ANALYTICS_URI=uri)
    with pytest.raises(SettingsError) as caught:
        resolve_settings(env=env, config_path=tmp_path / "none")
    message = str(caught.value)
    assert "contains credentials" in message
    assert "s3cretpw" not in message
    assert "alice" not in message
    assert "env MICROMEGAS_ANALYTICS_URI" in message
    assert "s3cretpw" not in caplog.text


def test_config_json_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(b'{"uri": "grpc://h\xff:1"}')
    with pytest.raises(SettingsError) as caught:
        resolve_settings(env=base_env(tmp_path), config_path=config)
    assert str(config) in str(caught.value)
    assert "not UTF-8" in str(caught.value)


def test_api_key_file_dev_zero_rejected(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, {"profiles": {"p": {"api_key_file": "/dev/zero"}}, "default_profile": "p"}
    )
    with pytest.raises(SettingsError) as caught:
        resolve_settings(env=base_env(tmp_path), config_path=config)
    assert f"larger than {MAX_API_KEY_FILE_BYTES} bytes" in str(caught.value)


def test_api_key_file_at_limit_accepted(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("k" * MAX_API_KEY_FILE_BYTES, encoding="utf-8")
    config = write_config(
        tmp_path, {"profiles": {"p": {"api_key_file": str(key_file)}}, "default_profile": "p"}
    )
    settings = resolve_settings(env=base_env(tmp_path), config_path=config)
    assert settings.api_key == "k" * MAX_API_KEY_FILE_BYTES
    assert settings.auth_mode == "api-key"


def test_garbage_token_cache_is_no_token(tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe\x00garbage")
    cache = TokenCache(path, issuer="https://idp.example", client_id="c")
    assert cache.load() is None


def test_logout_deletes_garbage_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "tokens.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    monkeypatch.setenv("MMTUI_DATA_DIR", str(data))
    out = io.StringIO()
    assert logout_main(["--all"], stdout=out) == 0
    assert not path.exists()
    assert f"Deleted {path}." in out.getvalue()
    assert "no refresh token" in out.getvalue()


def test_default_time_range_overflow(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('default_time_range = "9999-12-31T23:59:59-12:00"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)
    assert str(path) in str(caught.value)
    assert "between years 1 and 9999" in str(caught.value)
