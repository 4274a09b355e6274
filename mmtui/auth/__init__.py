"""Connection settings, token providers, the token cache and OIDC login flows (no UI code).

The names below are imported from their modules on first use (PEP 562). A start-up without
OIDC then loads neither requests nor authlib, which took about a tenth of a second (2-core VM).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmtui.auth.app_settings import AppSettings, app_settings_path, load_app_settings
    from mmtui.auth.cache import TokenCache
    from mmtui.auth.errors import (
        AuthError,
        LoginCancelled,
        LoginFailed,
        LoginRequired,
        SettingsError,
    )
    from mmtui.auth.login import (
        BrowserLogin,
        DeviceCode,
        DeviceLogin,
        LoginMethod,
        choose_login_method,
        is_remote_session,
        open_browser,
    )
    from mmtui.auth.oidc import DiscoveryError, fetch_discovery
    from mmtui.auth.oidc_providers import ClientCredentialsProvider, OidcUserProvider
    from mmtui.auth.providers import ApiKeyProvider, StaticHeadersProvider, make_token_provider
    from mmtui.auth.settings import AUTH_MODES, AuthMode, ConnectionSettings, resolve_settings

_MODULES = {
    "mmtui.auth.app_settings": ["AppSettings", "app_settings_path", "load_app_settings"],
    "mmtui.auth.cache": ["TokenCache"],
    "mmtui.auth.errors": [
        "AuthError",
        "LoginCancelled",
        "LoginFailed",
        "LoginRequired",
        "SettingsError",
    ],
    "mmtui.auth.login": [
        "BrowserLogin",
        "DeviceCode",
        "DeviceLogin",
        "LoginMethod",
        "choose_login_method",
        "is_remote_session",
        "open_browser",
    ],
    "mmtui.auth.oidc": ["DiscoveryError", "fetch_discovery"],
    "mmtui.auth.oidc_providers": ["ClientCredentialsProvider", "OidcUserProvider"],
    "mmtui.auth.providers": ["ApiKeyProvider", "StaticHeadersProvider", "make_token_provider"],
    "mmtui.auth.settings": ["AUTH_MODES", "AuthMode", "ConnectionSettings", "resolve_settings"],
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "AUTH_MODES",
    "ApiKeyProvider",
    "AppSettings",
    "AuthError",
    "AuthMode",
    "BrowserLogin",
    "ClientCredentialsProvider",
    "ConnectionSettings",
    "DeviceCode",
    "DeviceLogin",
    "DiscoveryError",
    "LoginCancelled",
    "LoginFailed",
    "LoginMethod",
    "LoginRequired",
    "OidcUserProvider",
    "SettingsError",
    "StaticHeadersProvider",
    "TokenCache",
    "app_settings_path",
    "choose_login_method",
    "fetch_discovery",
    "is_remote_session",
    "load_app_settings",
    "make_token_provider",
    "open_browser",
    "resolve_settings",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` and return it (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    """List the module's names with the ones `__getattr__` imports on first use."""
    return sorted({*globals(), *__all__})
