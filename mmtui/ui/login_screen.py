"""The OIDC login dialog: device code or browser login, run in thread workers.

The dialog picks the method as `mmtui login` does (device code over SSH or without a browser,
when the IdP supports it) and lets the user switch. It shows the URL and the user code as plain
text, offers a field to paste the redirect URL when the browser cannot reach the callback, and
dismisses with True after a login, False when cancelled. Workers only post messages; widgets
change on the UI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Static

from mmtui.auth import (
    AuthError,
    BrowserLogin,
    ConnectionSettings,
    DeviceCode,
    DeviceLogin,
    LoginCancelled,
    LoginMethod,
    choose_login_method,
    fetch_discovery,
    is_remote_session,
    open_browser,
)
from mmtui.auth.login import DEFAULT_CALLBACK_PORT, browser_available
from mmtui.results import safe_text
from mmtui.ui.footer import KeyFooter, key_name
from mmtui.ui.login_bindings import LoginBindings
from mmtui.ui.ordered_input import OrderedInput

logger = logging.getLogger(__name__)


class LoginScreen(LoginBindings):
    """Modal login dialog; dismisses with True after a successful login. Its keys are in
    `LoginBindings`."""

    DEFAULT_CSS = """
    LoginScreen {
        align: center middle;
    }
    LoginScreen #login-dialog {
        width: 90%;
        max-width: 110;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    LoginScreen #login-title {
        text-style: bold;
        margin-bottom: 1;
    }
    LoginScreen #login-methods, LoginScreen #login-actions {
        height: auto;
    }
    LoginScreen #login-methods Button, LoginScreen #login-actions Button {
        margin-right: 2;
    }
    LoginScreen #login-reason {
        color: $text-muted;
        margin-bottom: 1;
    }
    LoginScreen #login-status {
        margin-bottom: 1;
    }
    LoginScreen #login-code {
        text-style: bold;
        color: $accent;
        margin-bottom: 1;
    }
    LoginScreen #login-methods {
        margin-bottom: 1;
    }
    LoginScreen #login-url {
        margin-bottom: 1;
    }
    /* Under 20 rows (the app's -short breakpoint), the dialog drops its spacing and draws
       its buttons on one line each, so the device code stays on screen at 60x15. */
    LoginScreen.-short #login-dialog {
        padding: 0 1;
        border: round $primary;
        max-height: 100%;
        overflow-y: auto;
    }
    LoginScreen.-short #login-title, LoginScreen.-short #login-reason,
    LoginScreen.-short #login-status, LoginScreen.-short #login-code,
    LoginScreen.-short #login-methods, LoginScreen.-short #login-url {
        margin-bottom: 0;
    }
    LoginScreen.-short Button {
        height: 1;
        /* The button variants draw focus and hover borders with higher specificity. */
        border: none !important;
        min-width: 12;
    }
    """

    class MethodChosen(Message):
        """The automatic method choice is known."""

        def __init__(self, method: LoginMethod) -> None:
            super().__init__()
            self.method = method

    class DeviceCodeReady(Message):
        """The IdP issued a device code; show the URL and the user code."""

        def __init__(self, code: DeviceCode) -> None:
            super().__init__()
            self.code = code

    class BrowserUrlReady(Message):
        """The authorization URL is ready; show it and the paste field."""

        def __init__(self, url: str, redirect_uri: str, listening: bool, opened: bool) -> None:
            super().__init__()
            self.url = url
            self.redirect_uri = redirect_uri
            self.listening = listening
            self.opened = opened

    class Succeeded(Message):
        """The tokens are in the cache."""

    class Failed(Message):
        """A login step failed; the text explains why."""

        def __init__(self, text: str, ended: bool = True) -> None:
            super().__init__()
            self.text = text
            self.ended = ended
            """False when the flow still waits, as after a pasted address that is wrong."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        method: LoginMethod | None = None,
        env: Mapping[str, str] | None = None,
        callback_port: int = DEFAULT_CALLBACK_PORT,
        launch_browser: bool = True,
        reason: str = "",
    ) -> None:
        """`method` forces device or browser login; None chooses as `mmtui login` does.
        `reason`, shown under the title, is why a login is needed."""
        super().__init__()
        self.settings = settings
        self.reason = reason
        self.initial_method = method
        self.env = os.environ if env is None else env
        self.callback_port = callback_port
        self.launch_browser = launch_browser
        self.method: LoginMethod | None = None
        self.url = ""
        self._cancel = threading.Event()
        self._browser_login: BrowserLogin | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="login-dialog"):
            yield Static(
                f"Log in to {self.settings.issuer} ({self.settings.profile or 'default profile'})",
                id="login-title",
                markup=False,
            )
            if self.reason:
                yield Static(safe_text(self.reason), id="login-reason", markup=False)
            with Horizontal(id="login-methods"):
                yield Button("Device code", id="login-device")
                yield Button("Browser", id="login-browser")
            yield Static("", id="login-url", markup=False)
            yield Static("", id="login-code", markup=False)
            yield Static("Contacting the identity provider…", id="login-status", markup=False)
            yield OrderedInput(
                placeholder="Paste the address the browser was sent to, then press Enter",
                id="login-paste",
            )
            with Horizontal(id="login-actions"):
                yield Button("Copy URL", id="login-copy", disabled=True)
                yield Button("Cancel", id="login-cancel", variant="error")
        # The explorer's footer below offers keys that do something else while this is open.
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#login-paste", Input).display = False
        if self.initial_method is not None:
            self.start(self.initial_method)
        else:
            self._choose_method()

    def on_unmount(self) -> None:
        self._stop_flow()

    # ---- flow control (UI thread) -----------------------------------------------------------

    def start(self, method: LoginMethod) -> None:
        """Start (or restart) a login with `method`, stopping the one in progress."""
        self._stop_flow()
        self._cancel = threading.Event()
        self.method = method
        self.url = ""
        self._set_status(f"Starting {method} login…")
        self.query_one("#login-url", Static).update("")
        self.query_one("#login-code", Static).update("")
        self.query_one("#login-copy", Button).disabled = True
        self.query_one("#login-paste", Input).display = method == "browser"
        if method == "device":
            self._run_device(self._cancel)
        else:
            self._run_browser(self._cancel)

    def _stop_flow(self) -> None:
        self._cancel.set()
        login, self._browser_login = self._browser_login, None
        if login is not None:
            login.close()

    def _set_status(self, text: str) -> None:
        self.query_one("#login-status", Static).update(text)

    def action_cancel(self) -> None:
        self._stop_flow()
        self.dismiss(False)

    @on(Button.Pressed, "#login-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#login-device")
    def _device_pressed(self) -> None:
        self.start("device")

    @on(Button.Pressed, "#login-browser")
    def _browser_pressed(self) -> None:
        self.start("browser")

    @on(Button.Pressed, "#login-copy")
    def _copy_pressed(self) -> None:
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.notify("Login URL copied to the clipboard.")

    @on(Input.Submitted, "#login-paste")
    def _paste_submitted(self, event: Input.Submitted) -> None:
        login = self._browser_login
        if login is None or not event.value.strip():
            return
        self._set_status("Checking the pasted address…")
        self._complete_pasted(login, event.value)

    # ---- messages from the workers -----------------------------------------------------------

    def on_login_screen_method_chosen(self, message: MethodChosen) -> None:
        if self.method is None:
            self.start(message.method)

    def on_login_screen_device_code_ready(self, message: DeviceCodeReady) -> None:
        code = message.code
        self.url = code.verification_uri_complete or code.verification_uri
        lines = [f"Open {code.verification_uri} on any device and enter this code:"]
        self.query_one("#login-url", Static).update("\n".join(lines))
        self.query_one("#login-code", Static).update(code.user_code)
        self.query_one("#login-copy", Button).disabled = False
        minutes = max(1, round(code.expires_in / 60))
        direct = (
            f"Or open {code.verification_uri_complete}\n" if code.verification_uri_complete else ""
        )
        self._set_status(f"{direct}Waiting for approval (the code expires in {minutes} min).")

    def on_login_screen_browser_url_ready(self, message: BrowserUrlReady) -> None:
        self.url = message.url
        self.query_one("#login-url", Static).update(f"Open this URL in a browser:\n{message.url}")
        self.query_one("#login-copy", Button).disabled = False
        opened = "A browser was opened. " if message.opened else ""
        if message.listening:
            wait = f"Waiting for the browser to return to {message.redirect_uri}."
        else:
            wait = f"The callback port is busy: paste the {message.redirect_uri} address below."
        self._set_status(f"{opened}{wait} If the page does not load, paste its address below.")

    def on_login_screen_succeeded(self, _message: Succeeded) -> None:
        self._set_status("Logged in.")
        self.dismiss(True)

    def on_login_screen_failed(self, message: Failed) -> None:
        if not message.ended:
            cancel_key = key_name(self, "login.cancel")
            self._set_status(f"{message.text}\nPaste the address again, or press {cancel_key}.")
            return
        # The code or URL of a flow that ended is no longer valid, so it leaves the screen.
        self.url = ""
        self.query_one("#login-url", Static).update("")
        self.query_one("#login-code", Static).update("")
        self.query_one("#login-copy", Button).disabled = True
        cancel_key = key_name(self, "login.cancel")
        self._set_status(f"{message.text}\nChoose a method to try again, or press {cancel_key}.")

    # ---- workers (threads: post messages only) ------------------------------------------------

    @work(thread=True, exclusive=True, group="login-choose")
    def _choose_method(self) -> None:
        assert self.settings.issuer is not None
        try:
            discovery = fetch_discovery(self.settings.issuer)
        except AuthError as exc:
            logger.warning("login failed: %s", exc)
            self.post_message(self.Failed(str(exc)))
            return
        self.post_message(self.MethodChosen(choose_login_method(discovery, self.env)))

    def _run_flow(self, cancel: threading.Event, flow: Callable[[], bool]) -> None:
        """Run a blocking login `flow` on the calling worker thread and post how it ended.

        `flow` returns False when it stopped early because `cancel` was set.
        """
        try:
            completed = flow()
        except LoginCancelled:
            return
        except AuthError as exc:
            if not cancel.is_set():
                logger.warning("login failed: %s", exc)
                self.post_message(self.Failed(str(exc)))
            return
        if completed and not cancel.is_set():
            self.post_message(self.Succeeded())

    @work(thread=True, exclusive=True, group="login-flow")
    def _run_device(self, cancel: threading.Event) -> None:
        def flow() -> bool:
            login = DeviceLogin(self.settings)
            code = login.start()
            if cancel.is_set():
                return False
            self.post_message(self.DeviceCodeReady(code))
            login.poll(cancel)
            return True

        self._run_flow(cancel, flow)

    @work(thread=True, exclusive=True, group="login-flow")
    def _run_browser(self, cancel: threading.Event) -> None:
        login = BrowserLogin(self.settings, callback_port=self.callback_port)

        def flow() -> bool:
            url = login.start()
            if cancel.is_set():
                login.close()
                return False
            self._browser_login = login
            opened = False
            usable = not is_remote_session(self.env) and browser_available(self.env)
            if self.launch_browser and usable:
                opened = open_browser(url)
            self.post_message(
                self.BrowserUrlReady(url, login.redirect_uri or "", login.listening, opened)
            )
            login.wait(cancel)
            return True

        self._run_flow(cancel, flow)

    @work(thread=True, group="login-paste")
    def _complete_pasted(self, login: BrowserLogin, url: str) -> None:
        # On success the browser worker's wait() returns and posts Succeeded.
        try:
            login.complete_with_redirect(url)
        except AuthError as exc:
            logger.warning("pasted redirect URL not accepted: %s", exc)
            self.post_message(self.Failed(str(exc), ended=False))
