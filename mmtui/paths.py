"""File locations of mmtui, by platformdirs conventions (XDG on Linux).

- log file and crash reports: `user_log_dir` (e.g. `~/.local/state/mmtui/log/`);
- query history and the autosaved editor buffer: `user_state_dir` (`~/.local/state/mmtui/`).

Settings and the token cache belong to `mmtui.auth` (`user_config_dir`, `user_data_dir`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "mmtui"


def log_dir() -> Path:
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def log_file() -> Path:
    return log_dir() / "mmtui.log"


def state_dir() -> Path:
    return platformdirs.user_state_path(APP_NAME, appauthor=False)


@dataclass(frozen=True)
class AppPaths:
    """The files the explorer writes while it runs; tests point them at a temporary folder."""

    history: Path
    """Queries run, one JSON object per line, newest last."""
    autosave: Path
    """The editor buffer, rewritten shortly after each change."""

    @classmethod
    def default(cls) -> AppPaths:
        base = state_dir()
        return cls(history=base / "history.jsonl", autosave=base / "autosave.sql")

    @classmethod
    def under(cls, folder: Path) -> AppPaths:
        return cls(history=folder / "history.jsonl", autosave=folder / "autosave.sql")
