"""Connection settings: resolve the server URI and the auth mode from flags, env and profile.

The sources and their precedence match the upstream `micromegas` Python client, so a user's
existing `~/.micromegas/config.json` and `MICROMEGAS_*` variables work unchanged:
flags > `MICROMEGAS_*` environment variables > the selected profile > defaults.
An empty environment variable counts as unset.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import platformdirs

from mmtui.auth.errors import SettingsError
from mmtui.paths import NotRegularFileError, read_regular_file

AuthMode = Literal["oidc", "client-credentials", "api-key", "none"]
AUTH_MODES: tuple[AuthMode, ...] = ("oidc", "client-credentials", "api-key", "none")

DEFAULT_URI = "grpc://localhost:50051"
DEFAULT_SCOPE = "openid email profile offline_access"
URI_SCHEMES = ("grpc", "grpc+tcp", "grpc+tls")
#: Schemes accepted as the upstream client does, rewritten to their Flight equivalent.
URI_SCHEME_REWRITES = {"http": "grpc", "https": "grpc+tls"}
#: Largest `api_key_file` read, in bytes; an API key is far shorter.
MAX_API_KEY_FILE_BYTES = 64 * 1024

#: Environment variables read by the upstream client.
ENV_URI = "MICROMEGAS_ANALYTICS_URI"
ENV_PROFILE = "MICROMEGAS_PROFILE"
ENV_ISSUER = "MICROMEGAS_OIDC_ISSUER"
ENV_CLIENT_ID = "MICROMEGAS_OIDC_CLIENT_ID"
ENV_CLIENT_SECRET = "MICROMEGAS_OIDC_CLIENT_SECRET"
ENV_AUDIENCE = "MICROMEGAS_OIDC_AUDIENCE"
ENV_SCOPE = "MICROMEGAS_OIDC_SCOPE"

#: mmtui's own variables. Upstream reads an API key only from a profile's `api_key_file`.
ENV_API_KEY = "MMTUI_API_KEY"
ENV_AUTH_MODE = "MMTUI_AUTH_MODE"
ENV_DATA_DIR = "MMTUI_DATA_DIR"
ENV_CONFIG_DIR = "MMTUI_CONFIG_DIR"

_PROFILE_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class ConnectionSettings:
    """Resolved settings for one connection to a Micromegas analytics server."""

    uri: str = DEFAULT_URI
    profile: str | None = None
    auth_mode: AuthMode = "none"
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    audience: str | None = None
    scope: str = DEFAULT_SCOPE
    api_key: str | None = field(default=None, repr=False)
    #: Our token cache file (OIDC user login).
    token_cache_path: Path = field(default_factory=lambda: data_dir(os.environ) / "tokens.json")
    #: The upstream client's token cache, imported once when ours is absent.
    upstream_token_path: Path | None = None
    #: Where each resolved value came from, e.g. {"uri": "env MICROMEGAS_ANALYTICS_URI"}.
    sources: Mapping[str, str] = field(default_factory=dict)
    #: Notices about the settings that did not stop mmtui, such as an ignored key.
    warnings: tuple[str, ...] = ()


def validate_profile_name(name: str, source: str) -> None:
    """Raise SettingsError unless `name` is safe to use inside a file name."""
    if not name or not _PROFILE_NAME_RE.match(name) or name in (".", ".."):
        raise SettingsError(
            f"invalid profile name {name!r} (from {source}): use only letters, digits, "
            "'.', '_' and '-', and not '.' or '..'"
        )


def home_dir(env: Mapping[str, str]) -> Path:
    """Return the home directory, from HOME in `env` when set."""
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def data_dir(env: Mapping[str, str]) -> Path:
    """Return mmtui's data directory: MMTUI_DATA_DIR, else platformdirs' user data dir."""
    override = env.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir("mmtui"))


def config_dir(env: Mapping[str, str]) -> Path:
    """Return mmtui's config directory: MMTUI_CONFIG_DIR, else platformdirs' user config dir."""
    override = env.get(ENV_CONFIG_DIR)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("mmtui"))


def token_file_name(profile: str | None) -> str:
    """Return the token cache file name for `profile`, the same name upstream uses."""
    return "tokens.json" if profile is None else f"tokens-{profile}.json"


MAX_SETTINGS_FILE_BYTES = 1 << 20
"""Largest `config.toml` or `config.json` read, 1 MiB: far more than any real settings file,
and small enough that a device such as /dev/zero in its place cannot fill the memory."""


def read_settings_file(path: Path, description: str) -> bytes:
    """Read a settings file of at most MAX_SETTINGS_FILE_BYTES.

    Raises FileNotFoundError when it is absent, OSError when it cannot be read, and
    SettingsError when it is not a regular file or is too large. The file is opened without
    blocking (`read_regular_file`), so a FIFO in its place cannot hang start-up.
    """
    try:
        data = read_regular_file(path, MAX_SETTINGS_FILE_BYTES + 1)
    except IsADirectoryError as error:
        raise SettingsError(f"invalid {description} {path}: it is a directory") from error
    except NotRegularFileError as error:
        raise SettingsError(f"invalid {description} {path}: it is not a regular file") from error
    if len(data) > MAX_SETTINGS_FILE_BYTES:
        raise SettingsError(
            f"invalid {description} {path}: it is larger than {MAX_SETTINGS_FILE_BYTES} bytes"
        )
    return data


def load_micromegas_config(path: Path) -> dict[str, Any]:
    """Read the upstream client's JSON config; an absent file is an empty config."""
    try:
        text = read_settings_file(path, "config file").decode("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"invalid config file {path}: it is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"invalid JSON in config file {path}: {exc}") from exc
    except RecursionError as exc:
        raise SettingsError(
            f"invalid JSON in config file {path}: arrays or objects nested too deeply"
        ) from exc
    if not isinstance(config, dict):
        raise SettingsError(f"invalid config file {path}: the top level must be a JSON object")
    return config


def _select_profile(
    config: Mapping[str, Any], flag_profile: str | None, env: Mapping[str, str], path: Path
) -> tuple[str | None, Mapping[str, Any]]:
    """Pick the active profile (flag > MICROMEGAS_PROFILE > default_profile) and its entry."""
    env_profile = env.get(ENV_PROFILE) or None
    if flag_profile is not None:
        validate_profile_name(flag_profile, "--profile")
    if env_profile is not None:
        validate_profile_name(env_profile, f"env {ENV_PROFILE}")

    profiles = config.get("profiles")
    if profiles is None:
        if flag_profile is None and env_profile is None:
            return None, config
        if not path.exists():
            requested, source = (
                (flag_profile, "--profile")
                if flag_profile is not None
                else (env_profile, f"env {ENV_PROFILE}")
            )
            raise SettingsError(
                f"profile {requested!r} (from {source}) not found: the config file {path} "
                f"does not exist. Create it with a 'profiles' map, or drop --profile and "
                f"{ENV_PROFILE}"
            )
        raise SettingsError(
            f"a profile was requested but {path} has no 'profiles' map: add one, or drop "
            f"--profile and {ENV_PROFILE}"
        )
    if not isinstance(profiles, dict):
        raise SettingsError(f"invalid 'profiles' in {path}: expected a map of name to settings")
    if not profiles:
        raise SettingsError(f"the 'profiles' map in {path} is empty")

    available = ", ".join(sorted(profiles))
    if flag_profile is not None:
        name, source = flag_profile, "--profile"
    elif env_profile is not None:
        name, source = env_profile, f"env {ENV_PROFILE}"
    else:
        default = config.get("default_profile")
        if default is None:
            raise SettingsError(
                f"no profile selected: pass --profile, set {ENV_PROFILE} or set "
                f"'default_profile' in {path} (available: {available})"
            )
        if not isinstance(default, str):
            raise SettingsError(f"invalid 'default_profile' in {path}: expected a profile name")
        name, source = default, f"'default_profile' in {path}"
        validate_profile_name(name, source)

    if name not in profiles:
        raise SettingsError(f"profile {name!r} (from {source}) not found (available: {available})")
    entry = profiles[name]
    if not isinstance(entry, dict):
        raise SettingsError(f"invalid profile {name!r} in {path}: expected a map of settings")
    return name, entry


PROFILE_KEYS = frozenset({"uri", "client_id", "issuers", "api_key_file"})
"""Keys of a profile (or of a flat `config.json`) that mmtui reads."""

ISSUER_KEYS = frozenset({"issuer", "audience"})
"""Keys of an entry of a profile's `issuers` list that mmtui reads."""

PROFILE_MAP_KEYS = frozenset({"default_profile", "profiles"})
"""Top-level keys of a `config.json` with named profiles."""


def _unknown_key_warnings(
    config: Mapping[str, Any], entry: Mapping[str, Any], where: str, path: Path
) -> tuple[str, ...]:
    """Return one notice per key of `config.json` that mmtui ignores.

    Unknown keys are not errors: the file belongs to the upstream client, which may read keys
    that mmtui does not. A misspelt `uri` would otherwise leave the default server in use
    without a word.
    """
    known_here = ", ".join(sorted(PROFILE_KEYS))
    notices = [
        f"ignored unknown key {key!r} in {where} (known: {known_here})"
        for key in entry
        if key not in PROFILE_KEYS and (entry is not config or key not in PROFILE_MAP_KEYS)
    ]
    issuers = entry.get("issuers")
    if isinstance(issuers, list):
        known_issuer = ", ".join(sorted(ISSUER_KEYS))
        notices.extend(
            f"ignored unknown key {key!r} in {where} issuers[{index}] (known: {known_issuer})"
            for index, issuer in enumerate(issuers)
            if isinstance(issuer, dict)
            for key in issuer
            if key not in ISSUER_KEYS
        )
    if entry is not config:
        known_top = ", ".join(sorted(PROFILE_MAP_KEYS))
        notices.extend(
            f"ignored unknown key {key!r} at the top of {path} (known: {known_top})"
            for key in config
            if key not in PROFILE_MAP_KEYS
        )
    return tuple(notices)


def _profile_string(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SettingsError(f"invalid '{key}' in {where}: expected a string")
    return value or None


def _profile_issuer(entry: Mapping[str, Any], where: str) -> tuple[str | None, str | None]:
    """Return (issuer, audience) of the first entry of the profile's `issuers` list."""
    issuers = entry.get("issuers")
    if not issuers:
        return None, None
    if not isinstance(issuers, list) or not isinstance(issuers[0], dict):
        raise SettingsError(f"invalid 'issuers' in {where}: expected a list of objects")
    first = issuers[0]
    return (
        _profile_string(first, "issuer", f"{where} issuers[0]"),
        _profile_string(first, "audience", f"{where} issuers[0]"),
    )


def _read_api_key_file(path_text: str, where: str) -> str:
    """Read an API key file of at most MAX_API_KEY_FILE_BYTES (so /dev/zero cannot hang)."""
    try:
        path = Path(path_text).expanduser()
    except RuntimeError as exc:
        raise SettingsError(f"invalid 'api_key_file' {path_text!r} (from {where}): {exc}") from exc
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_API_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"cannot read 'api_key_file' {path} (from {where}): {exc}") from exc
    if len(data) > MAX_API_KEY_FILE_BYTES:
        raise SettingsError(
            f"'api_key_file' {path} (from {where}) is larger than {MAX_API_KEY_FILE_BYTES} "
            "bytes: it must contain only the API key"
        )
    try:
        key = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"'api_key_file' {path} (from {where}) is not UTF-8 text: it must contain only the "
            "API key"
        ) from exc
    if not key:
        raise SettingsError(f"'api_key_file' {path} (from {where}) is empty")
    return key


def _normalize_uri(uri: str, source: str) -> str:
    """Check the server URI and return it with `http(s)://` rewritten to `grpc(+tls)://`.

    Raises SettingsError for another scheme, a missing host, a bad port or IPv6 address, and
    for user credentials, which FlightSQL never sends. The error never repeats a password.
    """
    expected = "expected grpc://HOST:PORT, grpc+tls://HOST:PORT, http://HOST:PORT or https://"
    scheme, separator, rest = uri.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if separator and "@" in authority:
        redacted_uri = f"{scheme}://<credentials>@{authority.rsplit('@', 1)[1]}"
        raise SettingsError(
            f"invalid server URI {redacted_uri!r} (from {source}): it contains credentials, which "
            "mmtui never sends. Remove the 'user:password@' part and set an auth mode "
            f"(api-key, oidc or client-credentials) instead"
        )
    rewritten = scheme.lower()
    rewritten = URI_SCHEME_REWRITES.get(rewritten, rewritten)
    normalized = f"{rewritten}://{rest}" if separator else uri
    try:
        parsed = urlparse(normalized)
        hostname = parsed.hostname
    except ValueError as exc:
        raise SettingsError(f"invalid server URI {uri!r} (from {source}): {exc}") from exc
    if not separator or parsed.scheme not in URI_SCHEMES or not hostname:
        raise SettingsError(f"invalid server URI {uri!r} (from {source}): {expected}")
    try:
        _ = parsed.port
    except ValueError as exc:
        raise SettingsError(f"invalid port in server URI {uri!r} (from {source})") from exc
    return normalized


class _Picker:
    """Pick each value from flag > env > profile > default and record its source."""

    def __init__(self, env: Mapping[str, str], entry: Mapping[str, Any], where: str) -> None:
        self.env = env
        self.entry = entry
        self.where = where
        self.sources: dict[str, str] = {}

    def pick(
        self,
        name: str,
        *,
        flag: str | None = None,
        env_var: str | None = None,
        profile_value: str | None = None,
        default: str | None = None,
    ) -> str | None:
        if flag:
            self.sources[name] = "command line"
            return flag
        if env_var and self.env.get(env_var):
            self.sources[name] = f"env {env_var}"
            return self.env[env_var]
        if profile_value:
            self.sources[name] = self.where
            return profile_value
        if default is not None:
            self.sources[name] = "default"
        return default


def resolve_settings(
    profile: str | None = None,
    uri: str | None = None,
    auth_mode: str | None = None,
    env: Mapping[str, str] | None = None,
    config_path: Path | str | None = None,
) -> ConnectionSettings:
    """Resolve the connection settings: flags > MICROMEGAS_* env > profile > defaults.

    `profile`, `uri` and `auth_mode` are the command-line flags. `config_path` defaults to
    `~/.micromegas/config.json`. Raises SettingsError naming the bad value and its source.
    """
    env = os.environ if env is None else env
    path = Path(config_path) if config_path else home_dir(env) / ".micromegas" / "config.json"
    config = load_micromegas_config(path)
    name, entry = _select_profile(config, profile, env, path)
    where = f"profile {name!r} in {path}" if name else str(path)

    picker = _Picker(env, entry, where)
    profile_issuer, profile_audience = _profile_issuer(entry, where)
    resolved_uri = picker.pick(
        "uri",
        flag=uri,
        env_var=ENV_URI,
        profile_value=_profile_string(entry, "uri", where),
        default=DEFAULT_URI,
    )
    assert resolved_uri is not None
    resolved_uri = _normalize_uri(resolved_uri, picker.sources["uri"])

    issuer = picker.pick("issuer", env_var=ENV_ISSUER, profile_value=profile_issuer)
    client_id = picker.pick(
        "client_id", env_var=ENV_CLIENT_ID, profile_value=_profile_string(entry, "client_id", where)
    )
    # Upstream reads the client secret only from the environment, never from the profile.
    client_secret = picker.pick("client_secret", env_var=ENV_CLIENT_SECRET)
    audience = picker.pick("audience", env_var=ENV_AUDIENCE, profile_value=profile_audience)
    scope = picker.pick("scope", env_var=ENV_SCOPE, default=DEFAULT_SCOPE)
    assert scope is not None

    api_key = picker.pick("api_key", env_var=ENV_API_KEY)
    api_key_file = _profile_string(entry, "api_key_file", where)
    if api_key is None and api_key_file is not None:
        picker.sources["api_key"] = f"'api_key_file' in {where}"
        api_key = _read_api_key_file(api_key_file, where)

    mode = _resolve_auth_mode(
        auth_mode or env.get(ENV_AUTH_MODE) or None,
        "command line" if auth_mode else f"env {ENV_AUTH_MODE}",
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        api_key=api_key,
        sources=picker.sources,
    )
    if issuer is not None:
        _validate_issuer(issuer, picker.sources["issuer"])

    return ConnectionSettings(
        uri=resolved_uri,
        profile=name,
        auth_mode=mode,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        audience=audience,
        scope=scope,
        api_key=api_key,
        token_cache_path=data_dir(env) / token_file_name(name),
        upstream_token_path=home_dir(env) / ".micromegas" / token_file_name(name),
        sources=dict(picker.sources),
        warnings=_unknown_key_warnings(config, entry, where, path),
    )


def _validate_issuer(issuer: str, source: str) -> None:
    parsed = urlparse(issuer)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise SettingsError(
            f"invalid OIDC issuer {issuer!r} (from {source}): expected an http or https URL"
        )


def _resolve_auth_mode(
    explicit: str | None,
    explicit_source: str,
    *,
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None,
    api_key: str | None,
    sources: Mapping[str, str],
) -> AuthMode:
    """Return the explicit auth mode after checking its inputs, else infer it as upstream does."""
    if explicit is not None:
        if explicit not in AUTH_MODES:
            raise SettingsError(
                f"invalid auth mode {explicit!r} (from {explicit_source}): expected one of "
                + ", ".join(AUTH_MODES)
            )
        mode: AuthMode = explicit
        required: dict[AuthMode, list[tuple[str, str | None, str]]] = {
            "oidc": [("issuer", issuer, ENV_ISSUER), ("client_id", client_id, ENV_CLIENT_ID)],
            "client-credentials": [
                ("issuer", issuer, ENV_ISSUER),
                ("client_id", client_id, ENV_CLIENT_ID),
                ("client_secret", client_secret, ENV_CLIENT_SECRET),
            ],
            "api-key": [("api key", api_key, ENV_API_KEY)],
            "none": [],
        }
        for label, value, variable in required[mode]:
            if value is None:
                raise SettingsError(
                    f"auth mode {mode!r} (from {explicit_source}) needs the {label}: "
                    f"set {variable} or add it to the profile"
                )
        return mode

    if issuer and client_id and client_secret:
        return "client-credentials"
    if issuer and client_id and api_key:
        raise SettingsError(
            f"two auth mechanisms configured: an API key (from {sources['api_key']}) and OIDC "
            f"(issuer from {sources['issuer']}, client_id from {sources['client_id']}); remove "
            f"one, or choose with --auth-mode or {ENV_AUTH_MODE}"
        )
    if issuer and client_id:
        return "oidc"
    if api_key:
        return "api-key"
    if issuer or client_id:
        present, missing, variable = (
            ("issuer", "client_id", ENV_CLIENT_ID)
            if issuer
            else ("client_id", "issuer", ENV_ISSUER)
        )
        raise SettingsError(
            f"incomplete OIDC settings: the {present} is set (from {sources[present]}) but the "
            f"{missing} is missing; set {variable}, or pass --auth-mode none"
        )
    return "none"
