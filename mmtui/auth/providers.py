"""Token providers: objects with `get_token() -> str` that return the bearer for each call.

OIDC user login sends the ID token and refreshes it under the cache lock. Client credentials
send the access token (both in `mmtui.auth.oidc_providers`). An API key or deprecated static
headers send a fixed value.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mmtui.auth.cache import TokenCache
from mmtui.auth.errors import AuthError
from mmtui.auth.settings import ENV_API_KEY, ConnectionSettings

if TYPE_CHECKING:
    from mmtui.auth.oidc_providers import ClientCredentialsProvider, OidcUserProvider

_BEARER_RE = re.compile(r"^[\x21-\x7e]+$")


class ApiKeyProvider:
    """Bearer = a static analytics API key."""

    def __init__(self, key: str) -> None:
        key = key.strip()
        if not key or not _BEARER_RE.match(key):
            raise AuthError("invalid API key: expected printable ASCII without whitespace")
        self._key = key

    def __repr__(self) -> str:
        return "ApiKeyProvider(key='***')"

    def get_token(self) -> str:
        return self._key


class StaticHeadersProvider:
    """Bearer taken once from an `authorization: Bearer ...` header map. Deprecated."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        warnings.warn(
            "static headers are deprecated: use an API key (MMTUI_API_KEY) or OIDC login",
            DeprecationWarning,
            stacklevel=2,
        )
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        if value is None:
            raise AuthError("the static headers have no 'authorization' header")
        scheme, _, credentials = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not _BEARER_RE.match(credentials.strip()):
            raise AuthError("the 'authorization' header must be 'Bearer <token>'")
        self._token = credentials.strip()

    def __repr__(self) -> str:
        return "StaticHeadersProvider(authorization='***')"

    def get_token(self) -> str:
        return self._token


if TYPE_CHECKING:
    TokenProviderType = OidcUserProvider | ClientCredentialsProvider | ApiKeyProvider


def make_token_provider(
    settings: ConnectionSettings, cache: TokenCache | None = None
) -> TokenProviderType | None:
    """Create the provider for `settings.auth_mode`, or return None for "none"."""
    if settings.auth_mode in ("oidc", "client-credentials"):
        from mmtui.auth.oidc_providers import ClientCredentialsProvider, OidcUserProvider

        if settings.auth_mode == "oidc":
            return OidcUserProvider(settings, cache)
        return ClientCredentialsProvider(settings)
    if settings.auth_mode == "api-key":
        source = settings.sources.get("api_key", "the settings")
        if settings.api_key is None:
            raise AuthError(f"auth mode api-key, but no API key is set: set {ENV_API_KEY}")
        try:
            return ApiKeyProvider(settings.api_key)
        except AuthError as error:
            raise AuthError(f"{error} (from {source})") from None
    return None
