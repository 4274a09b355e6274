"""Start-up and mid-session login: the OIDC login screen over the explorer, work kept.

Real HTTP to the test IdP and real gRPC to a demo server that checks the IdP's tokens.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mmtui.auth import AppSettings, OidcUserProvider, make_token_provider, resolve_settings
from mmtui.demo import DemoServerHandle, start_demo_server
from mmtui.flightsql import FlightSQLClient
from mmtui.paths import AppPaths
from mmtui.ui.app import MmtuiApp
from mmtui.ui.login_screen import LoginScreen
from tests.auth.conftest import log_in
from tests.auth.idp import (
    PUBLIC_CLIENT_ID,
    SERVICE_CLIENT_ID,
    SERVICE_CLIENT_SECRET,
    TestIdPHandle,
    start_test_idp,
)
from tests.fault_server import FaultServerHandle
from tests.ui.test_app_support import SIZE, run_and_wait, screen_text, wait_for, wait_schema

WORK = "SELECT count(*) AS n FROM processes -- my unsaved work"


@pytest.fixture
def idp() -> Iterator[TestIdPHandle]:
    handle = start_test_idp()
    yield handle
    handle.stop()


@pytest.fixture
def secured_server(idp: TestIdPHandle) -> Iterator[DemoServerHandle]:
    handle = start_demo_server(
        host="127.0.0.1", port=0, scale=0.01, issuer=idp.issuer, audience=PUBLIC_CLIENT_ID
    )
    yield handle
    handle.stop()


def _make_app(
    idp: TestIdPHandle, server: DemoServerHandle, tmp_path: Path
) -> tuple[MmtuiApp, OidcUserProvider]:
    env = {
        "HOME": str(tmp_path / "home"),
        "MMTUI_DATA_DIR": str(tmp_path / "data"),
        "MICROMEGAS_ANALYTICS_URI": server.uri,
        "MICROMEGAS_OIDC_ISSUER": idp.issuer,
        "MICROMEGAS_OIDC_CLIENT_ID": PUBLIC_CLIENT_ID,
    }
    settings = resolve_settings(env=env)
    assert settings.auth_mode == "oidc"
    provider = OidcUserProvider(settings)

    def login_screen(settings: Any, reason: str = "") -> LoginScreen:
        return LoginScreen(
            settings,
            method="device",
            env={},
            callback_port=0,
            launch_browser=False,
            reason=reason,
        )

    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "autosave.sql").write_text(WORK)
    app = _explorer(server, settings, provider, tmp_path, login_screen_factory=login_screen)
    return app, provider


def _explorer(
    server: DemoServerHandle, settings: Any, provider: Any, tmp_path: Path, **options: Any
) -> MmtuiApp:
    """Return the explorer on `server` with `provider`'s tokens and its state in `tmp_path`."""
    return MmtuiApp(
        lambda: FlightSQLClient(server.uri, auth_provider=provider),
        settings,
        AppSettings(),
        token_provider=provider,
        paths=AppPaths.under(tmp_path / "state"),
        time_range="all",
        **options,
    )


async def _approve_device_login(pilot: Any, idp: TestIdPHandle) -> None:
    await wait_for(pilot, idp.pending_user_codes, "a device code at the IdP")
    idp.approve_device(idp.pending_user_codes()[0])
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, LoginScreen), "the login")


async def test_login_at_start_then_explore(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    app, _provider = _make_app(idp, secured_server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        assert not app.connected
        assert app.editor.text == WORK
        assert "No usable token (no cached tokens in" in screen_text(app)

        await _approve_device_login(pilot, idp)
        await wait_schema(pilot)
        assert "log_entries" in app.schema_browser.table_names
        assert app.editor.text == WORK
        await run_and_wait(pilot, WORK)
        assert app.results.store is not None
        assert app.results.store.row_count == 1


async def test_login_dialog_fits_short_terminal(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    app, _provider = _make_app(idp, secured_server, tmp_path)
    async with app.run_test(size=(60, 15)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        await wait_for(pilot, idp.pending_user_codes, "a device code at the IdP")
        await pilot.pause()

        # The code is on screen, and the dialog scrolls to a button that takes the focus.
        assert idp.pending_user_codes()[0] in screen_text(app)
        app.screen.query_one("#login-cancel").focus()
        # Once in the footer ("esc Cancel"), once on the button. The scroll to the focused
        # button can take more than one refresh on a loaded machine.
        await wait_for(
            pilot, lambda: screen_text(app).count("Cancel") == 2, "the Cancel button on screen"
        )
        assert screen_text(app).count("Cancel") == 2


async def test_rejected_query_reopens_login(
    idp: TestIdPHandle,
    secured_server: DemoServerHandle,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mmtui")
    app, provider = _make_app(idp, secured_server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        await _approve_device_login(pilot, idp)
        await wait_schema(pilot)
        await run_and_wait(pilot, WORK)
        store = app.results.store

        # `mmtui logout` in another terminal: the cached tokens are gone.
        provider.cache.path.unlink()
        provider.invalidate()
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "login to reopen")
        assert app.results.state == "failed"
        assert app.editor.text == WORK
        assert app.results.store is store, "the previous results stay on screen"
        # A login that is needed is expected, so the query and the count log no traceback.
        assert [r.getMessage() for r in caplog.records if r.exc_info] == []
        assert any("needs a token" in r.getMessage() for r in caplog.records)

        await _approve_device_login(pilot, idp)
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "done", "the query after login")
        assert app.results.store is not None
        assert app.results.store.row_count == 1


async def test_login_after_rejected_token_sends_new_token(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    app, _provider = _make_app(idp, secured_server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        await _approve_device_login(pilot, idp)
        await wait_schema(pilot)

        # The IdP rotates its signing key, and the server restarts trusting only the new one:
        # it rejects the ID token in use, which is still far from its expiry.
        idp.rotate_signing_key()
        secured_server.stop()
        restarted = start_demo_server(
            host="127.0.0.1",
            port=secured_server.port,
            issuer=idp.issuer,
            audience=PUBLIC_CLIENT_ID,
            telemetry=secured_server.telemetry,
        )
        try:
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "login to reopen")
            await pilot.pause()
            assert "The server rejected the token (" in screen_text(app)
            assert "invalid bearer token (" in screen_text(app)
            await _approve_device_login(pilot, idp)
            await wait_for(pilot, lambda: app.connected, "the schema after login")
            assert not isinstance(app.screen, LoginScreen), "the new token was not sent"

            await pilot.press("f5")
            await wait_for(pilot, lambda: app.results.state == "done", "the query after login")
            assert app.results.store is not None
            assert app.results.store.row_count == 1
            assert not isinstance(app.screen, LoginScreen)
        finally:
            restarted.stop()


def _make_app_without_login(
    server: DemoServerHandle, tmp_path: Path, env: dict[str, str]
) -> MmtuiApp:
    """Return an app in an auth mode without login, with mmtui's own login screen."""
    settings = resolve_settings(
        env={"HOME": str(tmp_path / "home"), "MICROMEGAS_ANALYTICS_URI": server.uri, **env}
    )
    return _explorer(server, settings, make_token_provider(settings), tmp_path)


async def _wait_not_authenticated(pilot: Any, app: MmtuiApp) -> None:
    await wait_for(
        pilot,
        lambda: app.schema_message.startswith("Not authenticated"),
        "the not authenticated message",
    )


async def test_f9_after_cancelled_login_reopens_it(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    app, _provider = _make_app(idp, secured_server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        await _approve_device_login(pilot, idp)
        await wait_schema(pilot)

        # The server restarts trusting only a new signing key, so it rejects the token in use,
        # and the user closes the login dialog that opens.
        idp.rotate_signing_key()
        secured_server.stop()
        restarted = start_demo_server(
            host="127.0.0.1",
            port=secured_server.port,
            issuer=idp.issuer,
            audience=PUBLIC_CLIENT_ID,
            telemetry=secured_server.telemetry,
        )
        try:
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "login to reopen")
            await wait_for(pilot, idp.pending_user_codes, "a device code")
            cancelled_codes = set(idp.pending_user_codes())
            await pilot.press("escape")
            await wait_for(pilot, lambda: "Not logged in" in app.schema_message, "the message")
            assert "F9 logs in again" in app.schema_message
            assert not app.connected, "the header and footer must not show a usable connection"

            # F9 opens the login dialog, as the message promises.
            await pilot.press("f9")
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "login on F9")
            await wait_for(
                pilot,
                lambda: set(idp.pending_user_codes()) - cancelled_codes,
                "the device code of the new login",
            )
            idp.approve_device((set(idp.pending_user_codes()) - cancelled_codes).pop())
            await wait_for(pilot, lambda: app.connected, "the schema after login")
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.results.state == "done", "the query after login")
        finally:
            restarted.stop()


async def test_rejected_api_key_message(secured_server: DemoServerHandle, tmp_path: Path) -> None:
    app = _make_app_without_login(secured_server, tmp_path, {"MMTUI_API_KEY": "wrong-key"})
    async with app.run_test(size=SIZE) as pilot:
        await _wait_not_authenticated(pilot, app)

        assert f"Not authenticated on {secured_server.uri}" in app.schema_message
        assert "rejected the API key (from env MMTUI_API_KEY)" in app.schema_message
        assert "decode_error: Invalid JSON Web Signature" in app.schema_message, "the reason"
        assert not isinstance(app.screen, LoginScreen)
        assert "wrong-key" not in screen_text(app)

        # A query fails the same way and leaves the app running.
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "failed", "the query to fail")
        assert not isinstance(app.screen, LoginScreen)
        assert app.is_running


async def test_echoed_api_key_masked_on_screen(
    fault_server: FaultServerHandle, tmp_path: Path
) -> None:
    # A server that quotes the rejected credential in its error message.
    key = "token-3f9a8b7c6d5e4f3a2b1c"
    settings = resolve_settings(
        env={
            "HOME": str(tmp_path / "home"),
            "MICROMEGAS_ANALYTICS_URI": fault_server.uri,
            "MMTUI_API_KEY": key,
        }
    )
    provider = make_token_provider(settings)
    app = MmtuiApp(
        lambda: FlightSQLClient(fault_server.uri, auth_provider=provider),
        settings,
        AppSettings(),
        token_provider=provider,
        paths=AppPaths.under(tmp_path / "state"),
        time_range="all",
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        app.editor.load_text("SELECT 1 -- fault:echo_bearer")
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "failed", "the rejected query")
        await pilot.pause()

        text = screen_text(app)
        assert "unknown credential" in text, "the server's reason is shown"
        assert key not in text
        assert "3f9a8b7c" not in app.results.error_text


async def test_rejected_service_token_refetched_on_f9(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    # The demo server accepts only ID tokens, so it rejects every client credentials token.
    app = _make_app_without_login(
        secured_server,
        tmp_path,
        {
            "MICROMEGAS_OIDC_ISSUER": idp.issuer,
            "MICROMEGAS_OIDC_CLIENT_ID": SERVICE_CLIENT_ID,
            "MICROMEGAS_OIDC_CLIENT_SECRET": SERVICE_CLIENT_SECRET,
        },
    )
    async with app.run_test(size=SIZE) as pilot:
        await _wait_not_authenticated(pilot, app)
        assert "rejected the client credentials token" in app.schema_message
        fetched = len(idp.issued_secrets())

        # Each edit is validated and rejected again, without a new token from the IdP.
        for key in ("x", "y", "z"):
            await pilot.press(key)
            await pilot.pause(0.3)
        assert len(idp.issued_secrets()) == fetched

        await pilot.press("f9")
        await wait_for(pilot, lambda: len(idp.issued_secrets()) == fetched + 1, "a new token on F9")


async def test_required_auth_message(secured_server: DemoServerHandle, tmp_path: Path) -> None:
    app = _make_app_without_login(secured_server, tmp_path, {})
    async with app.run_test(size=SIZE) as pilot:
        await _wait_not_authenticated(pilot, app)

        assert "requires authentication: set MMTUI_API_KEY" in app.schema_message
        assert not isinstance(app.screen, LoginScreen)
        assert not app.connected

        # The validation of the editor's text is rejected too, with one notice in all.
        await wait_for(
            pilot,
            lambda: app.hints.last_text.startswith("Not authenticated"),
            "the validation hint",
        )
        notices = [n.message for n in app._notifications if "Not authenticated" in n.message]
        assert len(notices) == 1, notices


async def test_idp_down_names_issuer(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    # The cached ID token is due for a refresh, and the IdP is gone when the app starts.
    idp.id_token_issued_ago = 3480  # expires in 2 min: due for refresh
    app, provider = _make_app(idp, secured_server, tmp_path)
    log_in(provider.settings)
    idp.stop()

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.schema_message.startswith("Cannot get a token"),
            "the token failure message",
        )

        assert f"Cannot get a token from {idp.issuer}:" in app.schema_message
        assert "token refresh failed" in app.schema_message
        assert secured_server.uri not in app.schema_message
        assert not isinstance(app.screen, LoginScreen)


async def test_nested_token_cache_opens_login(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    # A token cache of nested arrays is invalid, like any other file that is not a cache.
    app, provider = _make_app(idp, secured_server, tmp_path)
    provider.cache.path.parent.mkdir(parents=True)
    provider.cache.path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        assert "recursion" not in app.schema_message

        await _approve_device_login(pilot, idp)
        await wait_schema(pilot)
        assert app.connected


async def test_unwritable_token_cache_login_fails(
    idp: TestIdPHandle,
    secured_server: DemoServerHandle,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A folder in place of the cache file: the login succeeds, and storing its tokens fails.
    app, provider = _make_app(idp, secured_server, tmp_path)
    provider.cache.path.mkdir(parents=True)

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        await wait_for(pilot, idp.pending_user_codes, "a device code at the IdP")
        idp.approve_device(idp.pending_user_codes()[0])
        await wait_for(
            pilot, lambda: "cannot write the token cache" in screen_text(app), "the failure"
        )

        assert app.is_running
        assert app.crash_error is None
        assert isinstance(app.screen, LoginScreen), "the dialog stays to show why"

    logged = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and "cannot write the token cache" in record.message
    ]
    assert logged, "the failure is in the log file too"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="giving a file to another user needs root",
)
async def test_token_cache_of_other_user_opens_login(
    idp: TestIdPHandle, secured_server: DemoServerHandle, tmp_path: Path
) -> None:
    app, provider = _make_app(idp, secured_server, tmp_path)
    log_in(provider.settings)
    cache_path = provider.cache.path
    os.chown(cache_path, 65534, 65534)

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
        notices = [n.message for n in app._notifications if str(cache_path) in n.message]
        assert len(notices) == 1, [n.message for n in app._notifications]
        assert "owned by user 65534" in notices[0]

        await _approve_device_login(pilot, idp)
        await wait_schema(pilot)
        assert cache_path.stat().st_uid == os.geteuid()


async def test_new_token_rejected_shows_reason(idp: TestIdPHandle, tmp_path: Path) -> None:
    # A server that expects another audience rejects every ID token of this client.
    server = start_demo_server(
        host="127.0.0.1", port=0, scale=0.01, issuer=idp.issuer, audience="api://other"
    )
    try:
        app, _provider = _make_app(idp, server, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login screen")
            await _approve_device_login(pilot, idp)
            await wait_for(
                pilot,
                lambda: app.schema_message.startswith("Not authenticated"),
                "the rejection of the new token",
            )

            assert not isinstance(app.screen, LoginScreen), "the login dialog reopened"
            assert idp.pending_user_codes() == []
            assert "rejected the token of the new login" in app.schema_message
            assert "Invalid claim: 'aud'" in app.schema_message, "the server's reason"
            assert f"tokens of {idp.issuer} for client {PUBLIC_CLIENT_ID}" in app.schema_message
            assert "F9 logs in again" in app.schema_message
            notices = [n.message for n in app._notifications if "new login" in n.message]
            assert len(notices) == 1, notices

            await pilot.press("f9")
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "login after F9")
    finally:
        server.stop()
