"""Interactive OIDC login flows: device authorization (RFC 8628) and browser + PKCE.

Both are usable from the TUI and the CLI: `start()` returns what to show the user and the
blocking part (`DeviceLogin.poll`, `BrowserLogin.wait`) runs in a worker thread and stops
when the given `threading.Event` is set. On success the tokens are written to the cache.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import webbrowser
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError

from mmtui.auth.cache import TokenCache
from mmtui.auth.errors import AuthError, LoginCancelled, LoginFailed
from mmtui.auth.oidc import (
    audience_params,
    create_session,
    fetch_discovery,
    unverified_claims,
)
from mmtui.auth.settings import ConnectionSettings

logger = logging.getLogger(__name__)

DEVICE_CODE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: after `slow_down` the client adds 5 seconds to its polling interval.
SLOW_DOWN_STEP = 5.0
DEFAULT_CALLBACK_PORT = 48080

LoginMethod = Literal["device", "browser"]


def is_remote_session(env: Mapping[str, str]) -> bool:
    """Return True inside an SSH session, where a browser on this machine is not the user's."""
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY") or env.get("SSH_CLIENT"))


def browser_available(env: Mapping[str, str]) -> bool:
    """Return True when a graphical browser can probably be opened on this machine."""
    if env.get("BROWSER"):
        return True
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
            return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def choose_login_method(
    discovery: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> LoginMethod:
    """Return "device" over SSH or without a browser when the IdP supports it, else "browser"."""
    env = os.environ if env is None else env
    has_device = bool(discovery.get("device_authorization_endpoint"))
    if has_device and (is_remote_session(env) or not browser_available(env)):
        return "device"
    return "browser"


def open_browser(url: str) -> bool:
    """Open `url` in the default browser; return False when none could be started."""
    try:
        return webbrowser.open(url)
    except webbrowser.Error as exc:
        logger.info("could not open a browser: %s", exc)
        return False


def _check_login_token(token: dict[str, Any]) -> None:
    id_token = token.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise LoginFailed("the IdP returned no ID token; check that the scope includes openid")
    unverified_claims(id_token)


def _client_advice(settings: ConnectionSettings, error: object, method: LoginMethod) -> str:
    """Return what to check after an IdP error about the client, or "" for other errors."""
    source = settings.sources.get("client_id", "the settings")
    if error == "invalid_client":
        return (
            f". Check the client id {settings.client_id!r} (from {source}): the IdP does not "
            "accept it as a public client"
        )
    if error == "unauthorized_client":
        other = "--browser" if method == "device" else "--device"
        return (
            f". The client {settings.client_id!r} (from {source}) may not use {method} login "
            f"at this IdP: try {other}, or ask the IdP's administrators to allow it"
        )
    return ""


def _cache_for(settings: ConnectionSettings, cache: TokenCache | None) -> TokenCache:
    return cache if cache is not None else TokenCache.for_settings(settings)


def _store(cache: TokenCache, token: dict[str, Any]) -> None:
    with cache.locked():
        cache.store(token)


@dataclass(frozen=True)
class DeviceCode:
    """Device code, user code and verification URI of one device login."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    #: Polling interval in seconds requested by the IdP.
    interval: float
    #: Seconds until the device code expires.
    expires_in: float
    device_code: str = field(repr=False)


class DeviceLogin:
    """OAuth 2.0 device authorization grant (RFC 8628)."""

    def __init__(
        self,
        settings: ConnectionSettings,
        cache: TokenCache | None = None,
        *,
        slow_down_step: float = SLOW_DOWN_STEP,
    ) -> None:
        if settings.issuer is None or settings.client_id is None:
            raise AuthError("device login needs an OIDC issuer and a client id")
        self.settings = settings
        self.cache = _cache_for(settings, cache)
        self.slow_down_step = slow_down_step
        self.code: DeviceCode | None = None
        #: Current polling interval in seconds; grows by slow_down_step after each slow_down.
        self.interval = 0.0
        self.polls = 0

    def start(self) -> DeviceCode:
        """Request a device code and user code from the IdP."""
        assert self.settings.issuer is not None
        discovery = fetch_discovery(self.settings.issuer)
        endpoint = discovery.get("device_authorization_endpoint")
        if not endpoint:
            raise LoginFailed(
                f"the IdP {self.settings.issuer} does not support device login "
                "(no device_authorization_endpoint); use browser login"
            )

        data = {"client_id": self.settings.client_id, "scope": self.settings.scope}
        data.update(audience_params(self.settings))
        session = create_session(self.settings)
        try:
            response = session.post(endpoint, data=data, withhold_token=True)
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise LoginFailed(f"device authorization request to {endpoint} failed: {exc}") from exc
        finally:
            session.close()

        if not isinstance(body, dict) or "error" in body or response.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else response.status_code
            raise LoginFailed(
                f"the IdP rejected the device authorization request: {error}"
                f"{_client_advice(self.settings, error, 'device')}"
            )
        try:
            self.code = DeviceCode(
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=body.get("verification_uri_complete"),
                interval=float(body.get("interval", 5)),
                expires_in=float(body["expires_in"]),
                device_code=str(body["device_code"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LoginFailed(f"invalid device authorization response: missing {exc}") from exc

        self.interval = self.code.interval
        logger.info("device login started at %s", self.code.verification_uri)
        return self.code

    def poll(self, cancel_event: threading.Event | None = None) -> dict[str, Any]:
        """Poll the token endpoint until the user approves; blocking, run it in a thread.

        Raises LoginCancelled when `cancel_event` is set, LoginFailed when the user denies
        access or the code expires. On success the tokens are cached and returned.
        """
        if self.code is None:
            raise AuthError("DeviceLogin.poll() called before start()")
        assert self.settings.issuer is not None
        cancel = cancel_event if cancel_event is not None else threading.Event()
        token_endpoint = fetch_discovery(self.settings.issuer)["token_endpoint"]
        deadline = time.monotonic() + self.code.expires_in
        session = create_session(self.settings)
        try:
            while True:
                if cancel.wait(self.interval):
                    raise LoginCancelled("device login cancelled")
                if time.monotonic() > deadline:
                    raise LoginFailed("the device code expired before it was approved; retry")
                token = self._poll_once(session, token_endpoint)
                if token is not None:
                    break
        finally:
            session.close()
        _check_login_token(token)
        _store(self.cache, token)
        logger.info("device login complete")
        return token

    def _poll_once(self, session: Any, token_endpoint: str) -> dict[str, Any] | None:
        assert self.code is not None
        self.polls += 1
        try:
            return dict(
                session.fetch_token(
                    token_endpoint,
                    grant_type=DEVICE_CODE_GRANT_TYPE,
                    device_code=self.code.device_code,
                    **audience_params(self.settings),
                )
            )
        except OAuthError as exc:
            if exc.error == "authorization_pending":
                return None
            if exc.error == "slow_down":
                self.interval += self.slow_down_step
                logger.info("IdP asked to slow down: polling every %.1f s", self.interval)
                return None
            if exc.error == "expired_token":
                raise LoginFailed("the device code expired before it was approved; retry") from exc
            if exc.error == "access_denied":
                raise LoginFailed("the login was denied at the IdP") from exc
            raise LoginFailed(f"device login failed: {exc.error}: {exc.description}") from exc
        except requests.RequestException as exc:
            raise LoginFailed(f"device login failed: {exc}") from exc


class BrowserLogin:
    """Authorization code flow with PKCE (S256), a loopback callback and a paste fallback."""

    def __init__(
        self,
        settings: ConnectionSettings,
        cache: TokenCache | None = None,
        *,
        callback_port: int = DEFAULT_CALLBACK_PORT,
    ) -> None:
        if settings.issuer is None or settings.client_id is None:
            raise AuthError("browser login needs an OIDC issuer and a client id")
        self.settings = settings
        self.cache = _cache_for(settings, cache)
        self.callback_port = callback_port
        self.authorization_url: str | None = None
        self.redirect_uri: str | None = None
        #: False when the callback port could not be bound; only the paste fallback works.
        self.listening = False
        self._state = generate_token(32)
        self._code_verifier = generate_token(64)
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._complete_lock = threading.Lock()
        self._token: dict[str, Any] | None = None
        self._error: AuthError | None = None

    def start(self) -> str:
        """Start the callback server and return the authorization URL to open."""
        assert self.settings.issuer is not None
        discovery = fetch_discovery(self.settings.issuer)
        endpoint = discovery.get("authorization_endpoint")
        if not endpoint:
            raise LoginFailed(f"the IdP {self.settings.issuer} has no authorization_endpoint")

        port = self._start_server()
        self.redirect_uri = f"http://localhost:{port}/callback"
        session = create_session(self.settings, redirect_uri=self.redirect_uri)
        try:
            url, _ = session.create_authorization_url(
                endpoint,
                state=self._state,
                code_verifier=self._code_verifier,
                **audience_params(self.settings),
            )
        finally:
            session.close()
        self.authorization_url = str(url)
        logger.info("browser login started; callback %s", self.redirect_uri)
        return self.authorization_url

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, cancel_event: threading.Event | None = None) -> dict[str, Any]:
        """Block until the callback or a pasted URL completes the login; run it in a thread."""
        cancel = cancel_event if cancel_event is not None else threading.Event()
        try:
            while not self._done.wait(0.1):
                if cancel.is_set():
                    raise LoginCancelled("browser login cancelled")
            return self._result()
        finally:
            self.close()

    def complete_with_redirect(self, url: str) -> dict[str, Any]:
        """Finish the login with the redirect URL the user pasted from the browser."""
        query = parse_qs(urlparse(url.strip()).query)
        if not query.keys() & {"state", "code", "error"}:
            raise LoginFailed(
                "not a redirect URL: paste the whole address that the browser shows after the "
                "login, with its code= and state= parameters"
            )
        if query.get("state", [None])[0] != self._state:
            raise LoginFailed("state mismatch: this redirect URL is not from this login; retry")
        self._complete(query)
        return self._result()

    def close(self) -> None:
        """Stop the callback server; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _result(self) -> dict[str, Any]:
        if self._error is not None:
            raise self._error
        assert self._token is not None
        return self._token

    def _complete(self, query: Mapping[str, list[str]]) -> None:
        """Exchange the code once; a second completion (callback and paste) reuses the result."""
        with self._complete_lock:
            if self._done.is_set():
                return
            try:
                self._token = self._exchange(query)
            except AuthError as exc:
                self._error = exc
            self._done.set()

    def _exchange(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        if "error" in query:
            description = query.get("error_description", [""])[0]
            raise LoginFailed(f"the IdP rejected the login: {query['error'][0]} {description}")
        code = query.get("code", [None])[0]
        if not code:
            raise LoginFailed("the redirect URL has no authorization code")
        assert self.settings.issuer is not None
        token_endpoint = fetch_discovery(self.settings.issuer)["token_endpoint"]
        session = create_session(self.settings, redirect_uri=self.redirect_uri)
        try:
            token = dict(
                session.fetch_token(
                    token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=self._code_verifier,
                    **audience_params(self.settings),
                )
            )
        except OAuthError as exc:
            raise LoginFailed(
                f"the IdP rejected the authorization code: {exc.error}"
                f"{_client_advice(self.settings, exc.error, 'browser')}"
            ) from exc
        except requests.RequestException as exc:
            raise LoginFailed(f"the token request failed: {exc}") from exc
        finally:
            session.close()
        _check_login_token(token)
        _store(self.cache, token)
        logger.info("browser login complete")
        return token

    def _start_server(self) -> int:
        login = self

        class CallbackHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                if parsed.path != "/callback":
                    self._reply(404, "Not found.")
                    return
                query = parse_qs(parsed.query)
                if query.get("state", [None])[0] != login._state:
                    logger.warning("rejected a login callback with a mismatched state")
                    self._reply(400, "Login rejected: the state does not match this login.")
                    return
                login._complete(query)
                if login._error is not None:
                    self._reply(400, f"Login failed: {login._error}")
                else:
                    self._reply(200, "Login complete. You can close this tab.")

            def _reply(self, status: int, text: str) -> None:
                body = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                # The request line has the authorization code in it; log only the status.
                return

        try:
            server = HTTPServer(("127.0.0.1", self.callback_port), CallbackHandler)
        except OSError as exc:
            logger.warning(
                "cannot listen on 127.0.0.1:%d for the login callback (%s); "
                "only pasting the redirect URL will work",
                self.callback_port,
                exc,
            )
            return self.callback_port
        self._server = server
        self.listening = True
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="mmtui-login-callback",
            daemon=True,
        )
        self._thread.start()
        return int(server.server_address[1])
