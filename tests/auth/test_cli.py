"""`mmtui login` and `mmtui logout` against the test IdP."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from mmtui.auth import ConnectionSettings, OidcUserProvider
from mmtui.auth.cli import login_main, logout_main
from tests.auth.conftest import browser_redirect, log_in, wait_for
from tests.auth.idp import DEFAULT_EMAIL, TestIdPHandle


@pytest.fixture
def cli_env(oidc_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in list(os.environ):
        if name.startswith(("MICROMEGAS_", "MMTUI_", "SSH_")):
            monkeypatch.delenv(name)
    for name, value in oidc_env.items():
        monkeypatch.setenv(name, value)
    return oidc_env


def run_cli(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def runner() -> None:
        outcome["status"] = target()

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    return thread, outcome


def test_login_device_prints_code_not_token(
    cli_env: dict[str, str], oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    out = io.StringIO()
    thread, outcome = run_cli(lambda: login_main(["--device"], stdout=out))
    user_code = wait_for(lambda: idp.pending_user_codes(), message="a device code")[0]
    wait_for(lambda: user_code in out.getvalue(), message="the user code on stdout")
    idp.approve_device(user_code)
    thread.join(timeout=15)

    text = out.getvalue()
    assert outcome["status"] == 0
    assert f"open {idp.issuer}/device" in text
    assert f"enter the code {user_code}" in text
    assert f"Logged in as {DEFAULT_EMAIL}" in text
    for secret in idp.issued_secrets():
        assert secret not in text
    assert OidcUserProvider(oidc_settings).token_state() == "valid"


def test_login_browser_with_pasted_url(
    cli_env: dict[str, str], oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    out = io.StringIO()
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stdin, os.fdopen(write_fd, "w") as pasted:
        thread, outcome = run_cli(
            lambda: login_main(
                ["--browser", "--no-open", "--callback-port", "0"], stdout=out, stdin=stdin
            )
        )
        url = wait_for(
            lambda: next((ln for ln in out.getvalue().splitlines() if "/authorize?" in ln), None),
            message="the authorization URL on stdout",
        )
        assert "paste the address" in out.getvalue()
        pasted.write("\n" + browser_redirect(url) + "\n")
        pasted.flush()
        thread.join(timeout=15)

    assert outcome["status"] == 0
    assert "Logged in as" in out.getvalue()
    for secret in idp.issued_secrets():
        assert secret not in out.getvalue()


def test_login_without_oidc_settings(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MICROMEGAS_OIDC_ISSUER")
    monkeypatch.delenv("MICROMEGAS_OIDC_CLIENT_ID")
    assert login_main([]) == 2
    assert "login applies only to OIDC" in capsys.readouterr().err


def test_login_auth_mode_option(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # With an API key and OIDC settings both set, --auth-mode picks one, as errors advise.
    monkeypatch.setenv("MMTUI_API_KEY", "key-1")
    assert login_main([]) == 2
    assert "choose with --auth-mode" in capsys.readouterr().err

    assert login_main(["--auth-mode", "api-key"]) == 2
    assert "the auth mode is 'api-key'" in capsys.readouterr().err


def test_login_client_credentials_advice(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MICROMEGAS_OIDC_CLIENT_SECRET", "service-secret")
    assert login_main([]) == 2
    error = capsys.readouterr().err
    assert "the auth mode is 'client-credentials'" in error
    assert "a client secret is set (from env MICROMEGAS_OIDC_CLIENT_SECRET)" in error
    assert "service-secret" not in error


def test_logout_auth_mode_option(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MICROMEGAS_OIDC_ISSUER")
    assert logout_main([]) == 2
    assert "or pass --auth-mode none" in capsys.readouterr().err

    assert logout_main(["--auth-mode", "none"]) == 0


def test_logout_warns_unknown_config_key(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config_dir = Path(cli_env["HOME"]) / ".micromegas"
    config_dir.mkdir(parents=True)
    (config_dir / "config.json").write_text('{"analytics_uri": "grpc://127.0.0.1:1"}', "utf-8")

    assert logout_main(["--auth-mode", "none"]) == 0

    error = capsys.readouterr().err
    assert "mmtui logout: ignored unknown key 'analytics_uri' in " in error
    assert "(known: api_key_file, client_id, issuers, uri)" in error


def test_login_invalid_profile(cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert login_main(["--profile", "../x"]) == 2
    assert "invalid profile name" in capsys.readouterr().err


def test_logout_deletes_and_revokes(
    cli_env: dict[str, str], oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    tokens = log_in(oidc_settings)
    path = oidc_settings.token_cache_path
    assert json.loads(path.read_text(encoding="utf-8"))["token"]["refresh_token"]

    out = io.StringIO()
    assert logout_main([], stdout=out) == 0
    assert not path.exists()
    assert f"Deleted {path}." in out.getvalue()
    assert f"Revoked the refresh token at {idp.issuer}/revoke." in out.getvalue()
    assert idp.by_refresh[str(tokens["refresh_token"])].revoked

    again = io.StringIO()
    assert logout_main([], stdout=again) == 0
    assert "No cached tokens" in again.getvalue()


def test_unwritable_cache_login_and_logout(
    cli_env: dict[str, str],
    oidc_settings: ConnectionSettings,
    idp: TestIdPHandle,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A folder in place of the cache file: the tokens cannot be written or deleted.
    oidc_settings.token_cache_path.mkdir(parents=True)

    out = io.StringIO()
    thread, outcome = run_cli(lambda: login_main(["--device"], stdout=out))
    user_code = wait_for(lambda: idp.pending_user_codes(), message="a device code")[0]
    idp.approve_device(user_code)
    thread.join(timeout=15)

    assert outcome.get("status") == 1, "login raised instead of returning a status"
    errors = capsys.readouterr().err
    assert f"cannot write the token cache {oidc_settings.token_cache_path}" in errors
    assert "MMTUI_DATA_DIR" in errors
    assert "Traceback" not in errors

    assert logout_main([], stdout=io.StringIO()) == 1
    errors = capsys.readouterr().err
    assert f"cannot delete the token cache {oidc_settings.token_cache_path}" in errors
