"""Delete result spill directories that earlier mmtui processes left in the temporary folder.

`mmtui.results.store.ResultStore` spills to `tempfile.mkdtemp(prefix="mmtui-spill-")`, a
directory named `mmtui-spill-` plus 8 random characters, which it deletes on close and at
interpreter exit. A process killed with SIGKILL, or by a power cut, leaves it behind. The name
contains no process id, so a directory counts as stale when all of these are true:

- it belongs to the current user;
- nothing in it was modified for `STALE_AFTER` seconds;
- on Linux, no process of this user has a file of it open or memory-mapped (`/proc/*/fd` and
  `/proc/*/maps`), which is how a live store reads its spill file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

SPILL_DIR_PATTERN = re.compile(r"^mmtui-spill-[A-Za-z0-9_]{8}$")
"""Names made by `tempfile.mkdtemp(prefix="mmtui-spill-")`: the prefix and 8 random characters."""

STALE_AFTER = 24 * 3600.0
"""Seconds without a change before an unused spill directory is deleted."""

STALE_AFTER_WHEN_UNUSED = 600.0
"""Seconds without a change before a spill directory that `/proc` shows unused is deleted.

A store maps its spill file right after the first write, so 10 minutes leaves a wide margin.
"""


def remove_stale_spill_dirs(
    parent: Path | None = None, *, now: float | None = None, proc: Path = Path("/proc")
) -> list[Path]:
    """Delete stale spill directories under `parent` (default: the temporary folder).

    Returns the directories deleted. Errors are logged, never raised, because this runs at
    start-up and must not stop the app.
    """
    folder = parent or Path(tempfile.gettempdir())
    moment = time.time() if now is None else now
    try:
        candidates = [
            entry
            for entry in folder.iterdir()
            if SPILL_DIR_PATTERN.match(entry.name) and _owned_directory(entry)
        ]
    except OSError as error:
        logger.warning("cannot list %s for stale spill directories: %s", folder, error)
        return []
    if not candidates:
        return []

    in_use = _paths_in_use(proc)
    proc_readable = in_use is not None
    removed: list[Path] = []
    for directory in candidates:
        age = moment - _last_change(directory)
        if proc_readable and in_use is not None and _is_used(directory, in_use):
            continue
        limit = STALE_AFTER_WHEN_UNUSED if proc_readable else STALE_AFTER
        if age < limit:
            continue
        shutil.rmtree(directory, ignore_errors=True)
        if directory.exists():
            logger.warning("cannot delete stale spill directory %s", directory)
            continue
        logger.info("deleted stale spill directory %s (unchanged for %.0f s)", directory, age)
        removed.append(directory)
    return removed


def _owned_directory(path: Path) -> bool:
    try:
        status = path.lstat()
    except OSError:
        return False
    is_directory = (status.st_mode & 0o170000) == 0o040000
    return is_directory and status.st_uid == os.getuid()


def _last_change(directory: Path) -> float:
    """Return the newest modification time of `directory` and the files directly in it."""
    newest = directory.lstat().st_mtime
    try:
        for entry in directory.iterdir():
            newest = max(newest, entry.lstat().st_mtime)
    except OSError:
        pass
    return newest


def _paths_in_use(proc: Path) -> set[str] | None:
    """Return the files this user's processes have open or mapped, or None without `/proc`."""
    if not (proc / "self" / "maps").exists():
        return None
    paths: set[str] = set()
    for process in proc.iterdir():
        if not process.name.isdigit():
            continue
        paths.update(_mapped_paths(process))
        paths.update(_open_paths(process))
    return paths


def _mapped_paths(process: Path) -> list[str]:
    """Return the files `process` has memory-mapped; none when its maps cannot be read."""
    try:
        with open(process / "maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.readlines()
    except OSError:
        # Another user's process, or one that exited while it was read.
        return []
    mapped = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            mapped.append(fields[5].rstrip("\n").removesuffix(" (deleted)"))
    return mapped


def _open_paths(process: Path) -> list[str]:
    """Return the files `process` has open; none when its descriptors cannot be listed."""
    try:
        descriptors = list((process / "fd").iterdir())
    except OSError:
        return []
    opened = []
    for descriptor in descriptors:
        # A descriptor can close between the listing and the readlink, as the listing's own one
        # does in this process. Skip that descriptor and keep reading the others.
        try:
            opened.append(os.readlink(descriptor))
        except OSError:
            continue
    return opened


def _is_used(directory: Path, in_use: set[str]) -> bool:
    prefix = str(directory.resolve()) + os.sep
    return any(path.startswith(prefix) for path in in_use)
