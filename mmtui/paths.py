"""File locations of mmtui, by platformdirs conventions (XDG on Linux).

- log file and crash reports: `user_log_dir` (e.g. `~/.local/state/mmtui/log/`);
- query history and the autosaved editor buffer: `user_state_dir` (`~/.local/state/mmtui/`).

Settings and the token cache belong to `mmtui.auth` (`user_config_dir`, `user_data_dir`).
"""

from __future__ import annotations

import errno
import os
import stat
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


class NotRegularFileError(OSError):
    """An error for a FIFO, socket or device found where a regular file was expected."""


def read_regular_file(path: Path, max_bytes: int = -1) -> bytes:
    """Read a whole file, or its first `max_bytes` bytes when `max_bytes` is not -1.

    Raises IsADirectoryError for a directory, NotRegularFileError for a FIFO, socket or device,
    and OSError when the file is missing or unreadable. The file is opened without blocking, so
    a FIFO in its place cannot hang the app, and a device such as /dev/zero, whose reads never
    end, is rejected before any read.
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        require_regular_file(descriptor, path)
    except OSError:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb") as stream:
        return stream.read(max_bytes)


def require_regular_file(descriptor: int, path: Path) -> None:
    """Raise IsADirectoryError or NotRegularFileError unless the open `descriptor` (of `path`)
    is a regular file."""
    mode = os.fstat(descriptor).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(
            errno.EINVAL, "Not a regular file (a FIFO, socket or device)", str(path)
        )


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
