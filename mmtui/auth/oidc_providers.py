"""Token providers that talk to an OIDC identity provider: a user login's ID token, refreshed
under the cache lock, and a client credentials access token.

They import requests and authlib, about a tenth of a second at start-up, so
`make_token_provider` imports this module only for the modes that need it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Literal

import requests
from authlib.integrations.base_client.errors import OAuthError

from mmtui.auth.cache import TokenCache
from mmtui.auth.errors import AuthError, LoginRequired
from mmtui.auth.oidc import (
    HTTP_TIMEOUT,
    audience_params,
    create_session,
    fetch_discovery,
    id_token_times,
    unverified_claims,
)
from mmtui.auth.settings import ConnectionSettings

logger = logging.getLogger(__name__)

#: Refresh a token this many seconds before it expires, or at half its lifetime when that
#: comes later. A token that lives 5 minutes or less would otherwise be due for a refresh as
#: soon as it is issued, and be refreshed before every call. Keycloak's access token lifespan
#: defaults to 5 minutes.
REFRESH_MARGIN = 300.0

TokenState = Literal["valid", "refresh", "login"]

#: Characters of a bearer token that gRPC accepts in the authorization header.
_BEARER_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


class OidcUserProvider:
    """Bearer = the cached ID token of a user login, refreshed when it expires within 5 min
    (or within half its lifetime, for a token that lives less than 10 min).

    Raises LoginRequired from get_token() when there is no cached token, the refresh token
    is missing or rejected, or the IdP returns no new ID token.
    """

    def __init__(self, settings: ConnectionSettings, cache: TokenCache | None = None) -> None:
        if settings.issuer is None or settings.client_id is None:
            raise AuthError("OIDC login needs an issuer and a client id")
        self.settings = settings
        self.cache = cache if cache is not None else TokenCache.for_settings(settings)
        self._token: dict[str, Any] | None = None
        self._lock = threading.Lock()
        #: Count of invalidate() calls. A token read before the latest call is not reused.
        self._generation = 0
        self._token_generation = 0

    def __repr__(self) -> str:
        return f"OidcUserProvider(issuer={self.settings.issuer!r}, cache={self.cache.path})"

    def token_state(self) -> TokenState:
        """Return whether the cache contains a valid token, one to refresh, or none (no network)."""
        if self._fresh_cached_token() is not None:
            return "valid"
        try:
            with self.cache.locked():
                token = self.cache.load()
        except LoginRequired:
            return "login"
        if token is None:
            return "login"
        try:
            fresh = _is_fresh(token)
        except LoginRequired:
            return "login"
        if fresh:
            return "valid"
        return "refresh" if token.get("refresh_token") else "login"

    def invalidate(self) -> None:
        """Forget the in-memory token so the next get_token() reads the cache again.

        It does not wait for a get_token() in progress, which may be refreshing, so the UI
        thread can call it. The token that such a call returns is not reused afterwards.
        """
        self._generation += 1

    def get_token(self) -> str:
        with self._lock:
            generation = self._generation
            # `mmtui logout` in another terminal deletes the cache file. The token in memory
            # goes with it, so the session ends here too and the call raises LoginRequired.
            if (
                self._token is not None
                and self._token_generation == generation
                and _is_fresh(self._token)
                and self.cache.path.exists()
            ):
                return str(self._token["id_token"])
            fresh = self._fresh_cached_token()
            if fresh is not None:
                self._token = fresh
                self._token_generation = generation
                return str(fresh["id_token"])
            with self.cache.locked():
                # Another process may have refreshed while we waited for the lock, so the
                # cache is read again here; refreshing with a rotated token would fail.
                token = self.cache.load()
                if token is None:
                    raise LoginRequired(f"no cached tokens in {self.cache.path}; log in")
                if not _is_fresh(token):
                    token = self._refresh(token)
                    self.cache.store(token)
                self._token = token
                self._token_generation = generation
                return str(token["id_token"])

    def _fresh_cached_token(self) -> dict[str, Any] | None:
        """Return the cached token when it needs no refresh, read without the file lock.

        `TokenCache.store` replaces the file atomically, so a read without the lock gets a
        whole token. Another process that holds the lock while its refresh waits on the IdP
        then does not hold this one up. None when the token needs a refresh or a login, and
        when there is no cache file yet: importing the upstream cache writes one, under the
        lock.
        """
        if not self.cache.path.exists():
            return None
        try:
            token = self.cache.load()
            if token is None or not _is_fresh(token):
                return None
        except LoginRequired:
            return None
        return token

    def _refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        refresh_token = token.get("refresh_token")
        if not refresh_token:
            raise LoginRequired("the ID token expired and there is no refresh token; log in")
        assert self.settings.issuer is not None
        discovery = fetch_discovery(self.settings.issuer)
        session = create_session(self.settings)
        logger.info("refreshing the ID token at %s", discovery["token_endpoint"])
        try:
            new_token = dict(
                session.refresh_token(
                    discovery["token_endpoint"],
                    refresh_token=refresh_token,
                    timeout=HTTP_TIMEOUT,
                    **audience_params(self.settings),
                )
            )
        except OAuthError as exc:
            logger.warning("token refresh rejected by the IdP: %s", exc.error)
            raise LoginRequired(
                f"the IdP rejected the token refresh ({exc.error}); log in"
            ) from exc
        except requests.RequestException as exc:
            raise AuthError(f"token refresh failed: {type(exc).__name__}: {exc}") from exc
        finally:
            session.close()

        if not new_token.get("id_token"):
            raise LoginRequired("the refresh response has no ID token; log in again")
        unverified_claims(str(new_token["id_token"]))
        if not new_token.get("refresh_token"):
            new_token["refresh_token"] = refresh_token
        logger.info("refreshed the ID token")
        return new_token


def refresh_margin(lifetime: float | None) -> float:
    """Return how many seconds before its expiry a token of `lifetime` seconds is refreshed."""
    if lifetime is None or lifetime <= 0:
        return REFRESH_MARGIN
    return min(REFRESH_MARGIN, lifetime / 2)


def _is_fresh(token: dict[str, Any]) -> bool:
    expiry, lifetime = id_token_times(token)
    return expiry > time.time() + refresh_margin(lifetime)


class ClientCredentialsProvider:
    """Bearer = an access token from the client credentials grant, reused until 5 min before
    it expires, or half its lifetime for a shorter-lived token (service accounts, CI)."""

    def __init__(self, settings: ConnectionSettings) -> None:
        if settings.issuer is None or settings.client_id is None or not settings.client_secret:
            raise AuthError("client credentials need an issuer, a client id and a client secret")
        self.settings = settings
        self._token: dict[str, Any] | None = None
        self._lock = threading.Lock()
        #: Count of invalidate() calls. A token fetched before the latest call is not reused.
        self._generation = 0
        self._token_generation = 0

    def __repr__(self) -> str:
        return f"ClientCredentialsProvider(client_id={self.settings.client_id!r})"

    def invalidate(self) -> None:
        """Forget the token in memory, so the next get_token() fetches a new one.

        It does not wait for a get_token() in progress, so the UI thread can call it.
        """
        self._generation += 1

    def get_token(self) -> str:
        with self._lock:
            generation = self._generation
            if (
                self._token is not None
                and self._token_generation == generation
                and self._usable(self._token)
            ):
                return str(self._token["access_token"])
            self._token = self._fetch()
            self._token_generation = generation
            return str(self._token["access_token"])

    @staticmethod
    def _usable(token: dict[str, Any]) -> bool:
        expires_at = token.get("expires_at")
        # NOTE: a token without expires_in is reused until invalidate() is called.
        if expires_at is None:
            return True
        return float(expires_at) > time.time() + refresh_margin(_lifetime(token))

    def _fetch(self) -> dict[str, Any]:
        assert self.settings.issuer is not None
        discovery = fetch_discovery(self.settings.issuer)
        session = create_session(self.settings, with_secret=True)
        try:
            token = dict(
                session.fetch_token(
                    discovery["token_endpoint"],
                    grant_type="client_credentials",
                    timeout=HTTP_TIMEOUT,
                    **audience_params(self.settings),
                )
            )
        except OAuthError as exc:
            raise AuthError(
                f"the IdP rejected the client credentials of {self.settings.client_id!r} "
                f"({exc.error}); check {self.settings.sources.get('client_secret', 'the secret')}"
            ) from exc
        except requests.RequestException as exc:
            raise AuthError(f"client credentials request failed: {exc}") from exc
        finally:
            session.close()
        if not token.get("access_token"):
            raise AuthError("the IdP's client credentials response has no access token")
        if not _BEARER_TOKEN_RE.fullmatch(str(token["access_token"])):
            raise AuthError(
                "the IdP's client credentials response has an invalid access token, which must be "
                "printable ASCII without spaces or line breaks"
            )
        if "expires_at" not in token and "expires_in" in token:
            token["expires_at"] = time.time() + float(token["expires_in"])
        logger.info("fetched a client credentials token for %s", self.settings.client_id)
        return token


def _lifetime(token: dict[str, Any]) -> float | None:
    """Return the token response's `expires_in` in seconds, or None when it is not a number."""
    try:
        return float(token["expires_in"])
    except (KeyError, TypeError, ValueError):
        return None
