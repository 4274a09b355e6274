"""Device login and browser (PKCE) login against the test IdP over real HTTP."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
import requests

from mmtui.auth import (
    BrowserLogin,
    ConnectionSettings,
    DeviceLogin,
    DiscoveryError,
    LoginCancelled,
    LoginFailed,
    OidcUserProvider,
    choose_login_method,
    fetch_discovery,
    resolve_settings,
)
from mmtui.auth.oidc import unverified_claims
from tests.auth.conftest import browser_redirect, wait_for
from tests.auth.idp import DEFAULT_EMAIL, PUBLIC_CLIENT_ID, TestIdPHandle


def run_in_thread(target: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run `target()` in a thread; the dict gets "result" or "error"."""
    outcome: dict[str, Any] = {}

    def runner() -> None:
        try:
            outcome["result"] = target()
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    return thread, outcome


def test_device_login_approved(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = DeviceLogin(oidc_settings)
    code = login.start()
    assert code.verification_uri == idp.issuer + "/device"
    assert code.verification_uri_complete == f"{code.verification_uri}?user_code={code.user_code}"
    assert code.interval == 1.0
    assert code.expires_in == 600.0
    assert idp.pending_user_codes() == [code.user_code]

    thread, outcome = run_in_thread(login.poll)
    wait_for(lambda: idp.device_polls >= 1, message="the first poll")
    idp.approve_device(code.user_code)
    thread.join(timeout=10)

    token = outcome["result"]
    claims = unverified_claims(token["id_token"])
    assert claims["email"] == DEFAULT_EMAIL
    assert claims["aud"] == PUBLIC_CLIENT_ID
    assert login.polls >= 2, "the first poll happened before approval"
    assert OidcUserProvider(oidc_settings).get_token() == token["id_token"]


def test_device_login_denied(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = DeviceLogin(oidc_settings)
    code = login.start()
    idp.deny_device(code.user_code)
    with pytest.raises(LoginFailed, match="denied"):
        login.poll()
    assert not oidc_settings.token_cache_path.exists()


def test_device_login_expired(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = DeviceLogin(oidc_settings)
    code = login.start()
    idp.expire_device(code.user_code)
    with pytest.raises(LoginFailed, match="expired"):
        login.poll()


def test_device_login_slow_down(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    idp.slow_down_responses = 1
    login = DeviceLogin(oidc_settings, slow_down_step=0.5)
    code = login.start()
    started = time.monotonic()
    thread, outcome = run_in_thread(login.poll)
    wait_for(lambda: login.interval == 1.5, message="the slow_down answer")
    idp.approve_device(code.user_code)
    thread.join(timeout=10)
    elapsed = time.monotonic() - started
    assert "id_token" in outcome["result"]
    assert idp.device_polls == 2
    assert elapsed >= 2.5, "the second poll waited the increased interval"


def test_device_login_cancel(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = DeviceLogin(oidc_settings)
    login.start()
    cancel = threading.Event()
    thread, outcome = run_in_thread(lambda: login.poll(cancel))
    started = time.monotonic()
    cancel.set()
    thread.join(timeout=5)
    assert isinstance(outcome.get("error"), LoginCancelled)
    assert time.monotonic() - started < 1.0
    assert idp.device_polls == 0


def test_pkce_login_through_callback(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = BrowserLogin(oidc_settings, callback_port=0)
    url = login.start()
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert "code_verifier" not in query
    assert query["redirect_uri"] == [login.redirect_uri]
    assert login.listening

    thread, outcome = run_in_thread(login.wait)
    location = browser_redirect(url)
    assert location.startswith(f"{login.redirect_uri}?code=")
    page = requests.get(location, timeout=10)
    assert page.status_code == 200
    assert "Login complete" in page.text
    thread.join(timeout=10)

    token = outcome["result"]
    assert token["id_token"] not in page.text
    assert OidcUserProvider(oidc_settings).get_token() == token["id_token"]


def test_pkce_login_through_pasted_url(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    login = BrowserLogin(oidc_settings, callback_port=0)
    url = login.start()
    thread, outcome = run_in_thread(login.wait)
    token = login.complete_with_redirect("  " + browser_redirect(url) + "\n")
    thread.join(timeout=10)
    assert outcome["result"] == token
    assert OidcUserProvider(oidc_settings).get_token() == token["id_token"]


def with_state(url: str, state: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = state
    return urlunparse(parts._replace(query=urlencode(query)))


def test_pasted_url_checked(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = BrowserLogin(oidc_settings, callback_port=0)
    try:
        location = browser_redirect(login.start())
        with pytest.raises(LoginFailed, match="state mismatch"):
            login.complete_with_redirect(with_state(location, "forged-state"))
        for pasted in ["clear", "http://localhost:48080/callback", ""]:
            with pytest.raises(LoginFailed, match="not a redirect URL"):
                login.complete_with_redirect(pasted)
        assert not login.done
        assert not oidc_settings.token_cache_path.exists()
        assert login.complete_with_redirect(location)["id_token"]
    finally:
        login.close()


def test_state_mismatch_at_callback(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = BrowserLogin(oidc_settings, callback_port=0)
    try:
        location = browser_redirect(login.start())
        page = requests.get(with_state(location, "forged-state"), timeout=10)
        assert page.status_code == 400
        assert "state does not match" in page.text
        assert not login.done
        assert not oidc_settings.token_cache_path.exists()
    finally:
        login.close()


def test_idp_error_in_redirect(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = BrowserLogin(oidc_settings, callback_port=0)
    try:
        location = browser_redirect(login.start())
        state = parse_qs(urlparse(location).query)["state"][0]
        denied = f"{login.redirect_uri}?error=access_denied&state={state}"
        with pytest.raises(LoginFailed, match="access_denied"):
            login.complete_with_redirect(denied)
    finally:
        login.close()


def test_browser_login_cancel(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    login = BrowserLogin(oidc_settings, callback_port=0)
    login.start()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(LoginCancelled):
        login.wait(cancel)
    assert not login.listening or login._server is None


@pytest.mark.parametrize(
    ("env", "has_device", "expected"),
    [
        ({"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22", "BROWSER": "firefox"}, True, "device"),
        ({"SSH_TTY": "/dev/pts/3", "DISPLAY": ":0"}, True, "device"),
        ({"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}, False, "browser"),
        ({"BROWSER": "firefox"}, True, "browser"),
        pytest.param(
            {},
            True,
            "device",
            marks=pytest.mark.skipif(
                not sys.platform.startswith("linux"), reason="no DISPLAY means no browser on Linux"
            ),
        ),
    ],
)
def test_choose_login_method(
    oidc_settings: ConnectionSettings,
    idp: TestIdPHandle,
    env: dict[str, str],
    has_device: bool,
    expected: str,
) -> None:
    discovery = dict(fetch_discovery(idp.issuer))
    if not has_device:
        del discovery["device_authorization_endpoint"]
    assert choose_login_method(discovery, env) == expected


def test_device_login_unknown_client(oidc_env: dict[str, str], idp: TestIdPHandle) -> None:
    settings = resolve_settings(env={**oidc_env, "MICROMEGAS_OIDC_CLIENT_ID": "nope"})
    with pytest.raises(LoginFailed) as failed:
        DeviceLogin(settings).start()
    message = str(failed.value)
    assert "invalid_client" in message
    assert "Check the client id 'nope' (from env MICROMEGAS_OIDC_CLIENT_ID)" in message


def test_discovery_failure_says_what_to_check(idp: TestIdPHandle) -> None:
    with pytest.raises(DiscoveryError) as failed:
        fetch_discovery(idp.issuer + "/realms/missing")
    message = str(failed.value)
    assert "404" in message
    assert "Check the issuer URL" in message
