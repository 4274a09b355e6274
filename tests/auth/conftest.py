"""Fixtures of the auth tests: a test IdP per test and settings pointing at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mmtui.auth import BrowserLogin, ConnectionSettings, resolve_settings
from tests.auth.idp import PUBLIC_CLIENT_ID, TestIdPHandle, start_test_idp


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, message: str = "") -> Any:
    """Poll `condition` until it returns a true value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message or condition}")
        time.sleep(0.02)


def browser_redirect(url: str) -> str:
    """Play the browser: request the authorization URL and return the redirect Location."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return str(response.headers["Location"])


def log_in(settings: ConnectionSettings) -> dict[str, Any]:
    """Log in with PKCE through the pasted redirect URL (no waiting) and return the tokens."""
    login = BrowserLogin(settings, callback_port=0)
    try:
        url = login.start()
        return login.complete_with_redirect(browser_redirect(url))
    finally:
        login.close()


@pytest.fixture
def idp() -> Iterator[TestIdPHandle]:
    handle = start_test_idp()
    yield handle
    handle.stop()


@pytest.fixture
def oidc_env(idp: TestIdPHandle, tmp_path: Path) -> dict[str, str]:
    return {
        "HOME": str(tmp_path / "home"),
        "MMTUI_DATA_DIR": str(tmp_path / "data"),
        "MICROMEGAS_OIDC_ISSUER": idp.issuer,
        "MICROMEGAS_OIDC_CLIENT_ID": PUBLIC_CLIENT_ID,
    }


@pytest.fixture
def oidc_settings(oidc_env: dict[str, str]) -> ConnectionSettings:
    settings = resolve_settings(env=oidc_env)
    assert settings.auth_mode == "oidc"
    return settings
