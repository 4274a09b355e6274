"""Exceptions raised by the authentication and settings code."""


class AuthError(Exception):
    """Base class of the exceptions defined by mmtui.auth."""


class SettingsError(AuthError):
    """Invalid or conflicting connection settings; the message names the value and its source."""


class LoginRequired(AuthError):
    """No usable token: the user must log in again (no cache, refresh rejected, invalid token)."""


class TokenCacheRejected(LoginRequired):
    """The token cache file is not safe to use, because another user owns it."""


class LoginFailed(AuthError):
    """A login flow ended without tokens (denied, expired, state mismatch, IdP error)."""


class LoginCancelled(AuthError):
    """The user cancelled a login flow."""
