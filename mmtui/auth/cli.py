"""`mmtui login` and `mmtui logout`: OIDC login and token removal from the command line.

Both print URLs, codes and file paths to the terminal, never a token.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import requests
from authlib.integrations.base_client.errors import OAuthError

from mmtui.auth.cache import TokenCache
from mmtui.auth.errors import AuthError, LoginCancelled, SettingsError
from mmtui.auth.login import (
    DEFAULT_CALLBACK_PORT,
    BrowserLogin,
    DeviceLogin,
    LoginMethod,
    browser_available,
    choose_login_method,
    is_remote_session,
    open_browser,
)
from mmtui.auth.oidc import HTTP_TIMEOUT, create_session, fetch_discovery, unverified_claims
from mmtui.auth.settings import AUTH_MODES, ConnectionSettings, data_dir, resolve_settings

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130


def _login_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmtui login",
        description="Log in to the OIDC identity provider of a profile and cache the tokens.",
    )
    parser.add_argument("--profile", help="profile of ~/.micromegas/config.json to log in with")
    parser.add_argument(
        "--auth-mode", choices=AUTH_MODES, help="how to authenticate (else MMTUI_AUTH_MODE)"
    )
    method = parser.add_mutually_exclusive_group()
    method.add_argument(
        "--device",
        action="store_true",
        help="device login: open a URL on any device and enter a code (works over SSH)",
    )
    method.add_argument(
        "--browser",
        action="store_true",
        help="browser login with a callback to this machine (and a paste-the-URL fallback)",
    )
    parser.add_argument(
        "--callback-port",
        type=int,
        default=DEFAULT_CALLBACK_PORT,
        help=f"local port of the browser login callback (default {DEFAULT_CALLBACK_PORT})",
    )
    parser.add_argument(
        "--no-open", action="store_true", help="print the login URL without opening a browser"
    )
    return parser


def login_main(
    argv: list[str], *, stdout: TextIO | None = None, stdin: TextIO | None = None
) -> int:
    """Run `mmtui login`; returns the process exit status."""
    out = stdout if stdout is not None else sys.stdout
    args = _login_parser().parse_args(argv)
    try:
        settings = resolve_settings(profile=args.profile, auth_mode=args.auth_mode)
    except SettingsError as exc:
        print(f"mmtui login: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in settings.warnings:
        print(f"mmtui login: {warning}", file=sys.stderr)
    if settings.auth_mode != "oidc":
        if settings.auth_mode == "client-credentials":
            # The issuer and client id are set, and a client secret makes them a service
            # account, which fetches its own tokens.
            source = settings.sources.get("client_secret", "the settings")
            advice = (
                f"a client secret is set (from {source}), so mmtui fetches service tokens "
                "itself; unset it or pass --auth-mode oidc to log in as a user"
            )
        else:
            advice = (
                "set MICROMEGAS_OIDC_ISSUER and MICROMEGAS_OIDC_CLIENT_ID or use a profile "
                "with 'client_id' and 'issuers'"
            )
        print(
            f"mmtui login: the auth mode is {settings.auth_mode!r}, and login applies only to "
            f"OIDC: {advice}",
            file=sys.stderr,
        )
        return EXIT_USAGE

    try:
        method = _pick_method(settings, args)
        if method == "device":
            token = _device_login(settings, out)
        else:
            token = _browser_login(settings, args, out, stdin if stdin is not None else sys.stdin)
    except (KeyboardInterrupt, LoginCancelled):
        print("Login cancelled.", file=out)
        return EXIT_CANCELLED
    except AuthError as exc:
        print(f"mmtui login: {exc}", file=sys.stderr)
        return EXIT_FAILED

    claims = unverified_claims(str(token["id_token"]))
    who = claims.get("email") or claims.get("sub") or "unknown user"
    print(f"Logged in as {who}; tokens saved to {settings.token_cache_path}", file=out)
    return EXIT_OK


def _pick_method(settings: ConnectionSettings, args: argparse.Namespace) -> LoginMethod:
    if args.device:
        return "device"
    if args.browser:
        return "browser"
    assert settings.issuer is not None
    return choose_login_method(fetch_discovery(settings.issuer))


def _device_login(settings: ConnectionSettings, out: TextIO) -> dict[str, Any]:
    login = DeviceLogin(settings)
    code = login.start()
    print(f"To log in, open {code.verification_uri}", file=out)
    print(f"and enter the code {code.user_code}", file=out)
    if code.verification_uri_complete:
        print(f"(or open {code.verification_uri_complete})", file=out)
    minutes = max(1, round(code.expires_in / 60))
    print(f"Waiting for approval; the code expires in {minutes} min. Ctrl+C cancels.", file=out)
    out.flush()
    return login.poll(threading.Event())


def _browser_login(
    settings: ConnectionSettings, args: argparse.Namespace, out: TextIO, stdin: TextIO
) -> dict[str, Any]:
    login = BrowserLogin(settings, callback_port=args.callback_port)
    url = login.start()
    print("Open this URL in a browser to log in:", file=out)
    print(url, file=out)
    opened = False
    if not args.no_open and not is_remote_session(os.environ) and browser_available(os.environ):
        opened = open_browser(url)
    if opened:
        print("(A browser was opened.)", file=out)
    print(
        f"If the browser cannot reach this machine, paste the address it was sent to "
        f"(starting with {login.redirect_uri}) and press Enter.",
        file=out,
    )
    out.flush()

    def read_pasted() -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                login.complete_with_redirect(line)
                return
            except AuthError as exc:
                print(f"mmtui login: {exc}", file=out)
                out.flush()

    threading.Thread(target=read_pasted, name="mmtui-login-paste", daemon=True).start()
    return login.wait(threading.Event())


def _logout_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmtui logout",
        description="Delete mmtui's cached OIDC tokens and revoke the refresh token at the IdP.",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--profile", help="profile whose tokens to delete (default: active one)")
    target.add_argument("--all", action="store_true", help="delete the tokens of every profile")
    parser.add_argument(
        "--auth-mode", choices=AUTH_MODES, help="how to authenticate (else MMTUI_AUTH_MODE)"
    )
    return parser


def logout_main(argv: list[str], *, stdout: TextIO | None = None) -> int:
    """Run `mmtui logout`; returns the process exit status."""
    out = stdout if stdout is not None else sys.stdout
    args = _logout_parser().parse_args(argv)
    if args.all:
        directory = data_dir(os.environ)
        paths = sorted(directory.glob("tokens.json")) + sorted(directory.glob("tokens-*.json"))
        caches = [TokenCache(path, issuer=None, client_id=None) for path in paths]
        if not caches:
            print(f"No cached tokens in {directory}.", file=out)
            return EXIT_OK
    else:
        try:
            settings = resolve_settings(profile=args.profile, auth_mode=args.auth_mode)
        except SettingsError as exc:
            print(f"mmtui logout: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for warning in settings.warnings:
            print(f"mmtui logout: {warning}", file=sys.stderr)
        caches = [TokenCache.for_settings(settings)]

    status = EXIT_OK
    for cache in caches:
        try:
            with cache.locked():
                entry = cache.delete()
                cache.skip_upstream_import()
        except AuthError as exc:
            print(f"mmtui logout: {exc}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        if entry is None:
            print(f"No cached tokens in {cache.path}.", file=out)
            continue
        print(f"Deleted {cache.path}.", file=out)
        print(_revoke(entry), file=out)
    return status


def _revoke(entry: dict[str, Any]) -> str:
    """Revoke the entry's refresh token; return a sentence saying what happened."""
    token = entry.get("token")
    refresh_token = token.get("refresh_token") if isinstance(token, dict) else None
    issuer, client_id = entry.get("issuer"), entry.get("client_id")
    if not refresh_token or not isinstance(issuer, str) or not isinstance(client_id, str):
        return "There was no refresh token to revoke."

    try:
        endpoint = fetch_discovery(issuer).get("revocation_endpoint")
    except AuthError as exc:
        return f"The refresh token was not revoked: {exc}"
    if not endpoint:
        return (
            f"The IdP {issuer} has no revocation endpoint, so the refresh token stays valid "
            "until it expires."
        )

    settings = ConnectionSettings(issuer=issuer, client_id=client_id, token_cache_path=Path())
    session = create_session(settings)
    try:
        response = session.revoke_token(
            endpoint, token=refresh_token, token_type_hint="refresh_token", timeout=HTTP_TIMEOUT
        )
    except (OAuthError, requests.RequestException) as exc:
        logger.warning("refresh token revocation at %s failed: %s", endpoint, exc)
        return f"The refresh token was not revoked: revocation at {endpoint} failed ({exc})."
    finally:
        session.close()

    if response.status_code != 200:
        return (
            f"The refresh token was not revoked: {endpoint} returned HTTP {response.status_code}."
        )
    return f"Revoked the refresh token at {endpoint}."
