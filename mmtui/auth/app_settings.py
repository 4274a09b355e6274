"""mmtui's own settings (theme, default time range, memory budget, spill limit, keys) from TOML.

The file is `config.toml` in platformdirs' user config dir for "mmtui" (or MMTUI_CONFIG_DIR).
An absent file gives the defaults. Example:

    theme = "textual-dark"
    default_time_range = "1h"
    memory_budget_mb = 1024
    spill_limit_mb = 10240
    first_batch_timeout = 60.0
    preserve_dictionary = true

    [keys]
    "app.run_query" = "f5,ctrl+j"
"""

from __future__ import annotations

import datetime
import json
import math
import os
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmtui.auth.errors import SettingsError
from mmtui.auth.settings import config_dir, read_settings_file
from mmtui.timerange import parse_time_range

APP_SETTINGS_FILE = "config.toml"

#: Largest `first_batch_timeout`, in seconds: the longest wait `threading.Timer` accepts
#: (about 292 years on Linux). 0 waits without limit.
MAX_FIRST_BATCH_TIMEOUT = threading.TIMEOUT_MAX


@dataclass(frozen=True)
class AppSettings:
    """User preferences of the terminal app; they do not affect the connection."""

    #: Textual theme name.
    theme: str = "textual-dark"
    #: Time range of a new query, as typed in the time range prompt (e.g. "1h", "now-7d").
    default_time_range: str = "1h"
    #: Memory for query results in MiB before they spill to disk.
    memory_budget_mb: int = 1024
    #: Largest spill file of one result in MiB, lowered to at most half the free space of the
    #: temporary folder's file system, never its last GiB. A result that would pass it is cut.
    #: 0 never spills: results are cut at the memory budget.
    spill_limit_mb: int = 10240
    #: Seconds to wait for a query's first batch before it fails; 0 waits without limit.
    first_batch_timeout: float = 60.0
    #: Whether queries request dictionary-encoded columns as the server stores them (less data,
    #: faster queries).
    preserve_dictionary: bool = True
    #: Whether each query also sends `SELECT COUNT(*)` over the same statement, for the
    #: progress percentage. False spares a busy server that second query.
    count_estimate: bool = True
    #: Key overrides: binding id to keys, e.g. {"app.run_query": "f5,ctrl+j"}.
    keys: Mapping[str, str] = field(default_factory=dict)
    #: The file these settings were read from; None when no file exists.
    path: Path | None = None


def app_settings_path(env: Mapping[str, str] | None = None) -> Path:
    """Return the path of mmtui's TOML settings file."""
    return config_dir(os.environ if env is None else env) / APP_SETTINGS_FILE


def load_app_settings(
    path: Path | str | None = None, env: Mapping[str, str] | None = None
) -> AppSettings:
    """Read the TOML settings file; return the defaults when it does not exist.

    Raises SettingsError naming the file and the key when the file is invalid.
    """
    file_path = Path(path) if path is not None else app_settings_path(env)
    try:
        data = tomllib.loads(read_settings_file(file_path, "settings file").decode("utf-8"))
    except FileNotFoundError:
        return AppSettings()
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {file_path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"invalid settings file {file_path}: it is not UTF-8 text ({exc.reason} at byte "
            f"{exc.start})"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"invalid TOML in settings file {file_path}: {exc}") from exc
    except RecursionError as exc:
        # tomllib parses nested arrays and inline tables recursively.
        raise SettingsError(
            f"invalid TOML in settings file {file_path}: arrays or tables nested too deeply"
        ) from exc
    return _parse(data, file_path)


def _parse(data: Mapping[str, Any], path: Path) -> AppSettings:
    known = {
        "theme",
        "default_time_range",
        "memory_budget_mb",
        "spill_limit_mb",
        "first_batch_timeout",
        "preserve_dictionary",
        "count_estimate",
        "keys",
    }
    for key in data:
        if key not in known:
            raise SettingsError(
                f"unknown key {key!r} in settings file {path} (known: {', '.join(sorted(known))})"
            )

    defaults = AppSettings()

    theme = data.get("theme", defaults.theme)
    if not isinstance(theme, str) or not theme:
        raise SettingsError(f"invalid 'theme' in {path}: expected a theme name")

    time_range = data.get("default_time_range", defaults.default_time_range)
    if not isinstance(time_range, str):
        raise SettingsError(f"invalid 'default_time_range' in {path}: expected a string")
    try:
        parse_time_range(time_range)
    except ValueError as exc:
        raise SettingsError(f"invalid 'default_time_range' in {path}: {exc}") from exc

    budget = data.get("memory_budget_mb", defaults.memory_budget_mb)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise SettingsError(
            f"invalid 'memory_budget_mb' {_toml_text(budget)} in {path}: expected a whole number "
            "of MiB above 0"
        )

    spill_limit = data.get("spill_limit_mb", defaults.spill_limit_mb)
    if isinstance(spill_limit, bool) or not isinstance(spill_limit, int) or spill_limit < 0:
        raise SettingsError(
            f"invalid 'spill_limit_mb' {_toml_text(spill_limit)} in {path}: expected a whole "
            "number of MiB, 0 or more (0 never spills to disk)"
        )

    timeout = data.get("first_batch_timeout", defaults.first_batch_timeout)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout < 0
    ):
        raise SettingsError(
            f"invalid 'first_batch_timeout' {_toml_text(timeout)} in {path}: expected a finite "
            "number of seconds >= 0 (0 waits without limit)"
        )
    if timeout > MAX_FIRST_BATCH_TIMEOUT:
        raise SettingsError(
            f"invalid 'first_batch_timeout' {_toml_text(timeout)} in {path}: expected at most "
            f"{MAX_FIRST_BATCH_TIMEOUT:.0f} seconds (0 waits without limit)"
        )

    preserve = data.get("preserve_dictionary", defaults.preserve_dictionary)
    if not isinstance(preserve, bool):
        raise SettingsError(
            f"invalid 'preserve_dictionary' {_toml_text(preserve)} in {path}: expected true or "
            "false"
        )

    count_estimate = data.get("count_estimate", defaults.count_estimate)
    if not isinstance(count_estimate, bool):
        raise SettingsError(
            f"invalid 'count_estimate' {_toml_text(count_estimate)} in {path}: expected true or "
            "false"
        )

    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise SettingsError(f"invalid [keys] in {path}: expected a table of binding id = key")
    for binding, key in keys.items():
        if not isinstance(key, str):
            raise SettingsError(f"invalid key for 'keys.{binding}' in {path}: expected a string")
        if not key:
            raise SettingsError(
                f"invalid key for 'keys.{binding}' in {path}: the value is empty. Write one or "
                'more keys separated by commas, such as "f5,ctrl+j"'
            )

    return AppSettings(
        theme=theme,
        default_time_range=time_range,
        memory_budget_mb=budget,
        spill_limit_mb=spill_limit,
        first_batch_timeout=float(timeout),
        preserve_dictionary=preserve,
        count_estimate=count_estimate,
        keys=dict(keys),
        path=path,
    )


def _toml_text(value: object) -> str:
    """Return `value` as the settings file spells it (`true`, `"100"`, `100.5`, `inf`).

    A number keeps its value, not its spelling: `1e3` reads back as `1000.0`.
    """
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "nan"
        return "inf" if value > 0 else "-inf"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    try:
        return json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        return repr(value)
