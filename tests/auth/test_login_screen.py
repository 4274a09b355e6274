"""The login dialog driven with Textual's Pilot against the test IdP."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Static

from mmtui.auth import ConnectionSettings, LoginMethod, OidcUserProvider
from mmtui.ui.login_screen import LoginScreen
from tests.auth.conftest import browser_redirect
from tests.auth.idp import TestIdPHandle

SSH_ENV = {"SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22", "BROWSER": "firefox"}


class HostApp(App[None]):
    """A stand-in explorer: one label, then the login dialog on top."""

    def __init__(
        self, settings: ConnectionSettings, method: LoginMethod | None, env: dict[str, str]
    ) -> None:
        super().__init__()
        self.settings = settings
        self.method = method
        self.env = env
        self.results: list[bool | None] = []

    def compose(self) -> ComposeResult:
        yield Static("editor text stays here", id="editor")

    def on_mount(self) -> None:
        screen = LoginScreen(
            self.settings, method=self.method, env=self.env, callback_port=0, launch_browser=False
        )
        self.push_screen(screen, self.results.append)


async def pause_until(
    pilot: Pilot[None], condition: Callable[[], object], timeout: float = 10
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        await pilot.pause(0.05)


def screen_text(app: App[None]) -> str:
    return app.export_screenshot().replace("&#160;", " ")


async def test_device_code_shown_and_approved(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    app = HostApp(oidc_settings, None, SSH_ENV)
    async with app.run_test(size=(120, 40)) as pilot:
        await pause_until(pilot, idp.pending_user_codes)
        user_code = idp.pending_user_codes()[0]
        await pause_until(pilot, lambda: user_code in screen_text(app))
        text = screen_text(app)
        assert f"{idp.issuer}/device" in text
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.method == "device", "SSH with a device endpoint picks the device code"

        idp.approve_device(user_code)
        await pause_until(pilot, lambda: app.results)
        assert app.results == [True]
        assert not isinstance(app.screen, LoginScreen)
        assert "editor text stays here" in screen_text(app)
        token = OidcUserProvider(oidc_settings).get_token()
        assert token not in screen_text(app)


async def test_device_denied_keeps_dialog_open(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    app = HostApp(oidc_settings, "device", {})
    async with app.run_test(size=(120, 40)) as pilot:
        await pause_until(pilot, idp.pending_user_codes)
        user_code = idp.pending_user_codes()[0]
        await pause_until(pilot, lambda: user_code in screen_text(app))
        idp.deny_device(user_code)
        await pause_until(pilot, lambda: "denied" in screen_text(app))
        assert app.results == []
        assert isinstance(app.screen, LoginScreen)
        # The code of the ended login is no longer shown.
        assert user_code not in screen_text(app)
        assert "enter this code" not in screen_text(app)


async def test_browser_login_with_pasted_url(
    oidc_settings: ConnectionSettings, idp: TestIdPHandle
) -> None:
    app = HostApp(oidc_settings, "browser", {})
    async with app.run_test(size=(200, 40)) as pilot:
        await pause_until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.url)
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        url = screen.url
        assert "code_challenge_method=S256" in url
        location = browser_redirect(url)

        paste = screen.query_one("#login-paste", Input)
        assert paste.display
        paste.value = location.replace("state=", "state=forged")
        await paste.action_submit()
        await pause_until(pilot, lambda: "state mismatch" in screen_text(app))
        assert app.results == []
        # The login still waits, so its URL stays on screen.
        assert "Paste the address again" in screen_text(app)
        assert screen.url == url

        paste.value = location
        await paste.action_submit()
        await pause_until(pilot, lambda: app.results)
        assert app.results == [True]


async def test_escape_cancels(oidc_settings: ConnectionSettings, idp: TestIdPHandle) -> None:
    app = HostApp(oidc_settings, "browser", {})
    async with app.run_test(size=(120, 40)) as pilot:
        await pause_until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.url)
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        url = screen.url
        app.set_focus(None)
        await pilot.press("escape")
        await pause_until(pilot, lambda: app.results)
        assert app.results == [False]
        # The callback server is closed, so the browser's redirect finds nothing listening.
        location = browser_redirect(url)
        try:
            requests.get(location, timeout=2)
            reached = True
        except requests.ConnectionError:
            reached = False
        assert not reached
