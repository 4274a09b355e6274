"""Connection settings, token providers, the token cache and OIDC login flows (no UI code)."""

from mmtui.auth.app_settings import AppSettings, app_settings_path, load_app_settings
from mmtui.auth.cache import TokenCache
from mmtui.auth.errors import AuthError, LoginCancelled, LoginFailed, LoginRequired, SettingsError
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
from mmtui.auth.providers import (
    ApiKeyProvider,
    ClientCredentialsProvider,
    OidcUserProvider,
    StaticHeadersProvider,
    make_token_provider,
)
from mmtui.auth.settings import AUTH_MODES, AuthMode, ConnectionSettings, resolve_settings

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
