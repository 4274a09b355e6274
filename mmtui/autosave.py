"""Autosave slots: each running mmtui owns one autosave file, so two instances keep both buffers.

The first instance uses `autosave.sql`, a second one started beside it `autosave-2.sql`,
and so on. An instance owns its slot through an exclusive `filelock` lock on the slot's
`.lock` file, held until it exits, so only the owner reads the file at start-up and rewrites it
after edits.

Once every instance has exited, the next one takes slot 1 again. The buffer of a later slot
stays in its file until that many instances run together again. `unclaimed_buffers` lists such
files, so that the app can name them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from mmtui.paths import read_regular_file

logger = logging.getLogger(__name__)

MAX_SLOTS = 16
"""Slots tried before an instance gives up on owning one. More instances than this at once
share the last slot, as every instance did before slots existed."""

LOCK_MODE = 0o600


def slot_path(first: Path, number: int) -> Path:
    """Return the file of slot `number` (1-based) for the slot-1 file `first`."""
    if number == 1:
        return first
    return first.with_name(f"{first.stem}-{number}{first.suffix}")


def _lock_for(path: Path) -> FileLock:
    # A new FileLock per claim has its own file descriptor, so two claims in one process
    # (tests, or two apps in one interpreter) exclude each other as two processes do.
    return FileLock(str(path) + ".lock", timeout=0, mode=LOCK_MODE)


@dataclass
class AutosaveSlot:
    """The autosave file this process owns while `release` has not been called."""

    path: Path
    number: int
    owned: bool
    """False when every slot was taken or locking failed: the file is then shared."""
    _lock: FileLock | None = field(default=None, repr=False)

    def release(self) -> None:
        """Give the slot up; another instance may then claim it. Idempotent."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def claim_slot(first: Path, max_slots: int = MAX_SLOTS) -> AutosaveSlot:
    """Lock the lowest free slot for `first` (the slot-1 file) and return it.

    When the folder cannot contain a lock file, or every slot is taken, return an unowned slot
    (slot 1 or the last one) and log a warning instead of raising.
    """
    try:
        first.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        logger.warning("cannot create %s for autosave locks: %s", first.parent, error)
        return AutosaveSlot(first, 1, owned=False)

    for number in range(1, max_slots + 1):
        path = slot_path(first, number)
        lock = _lock_for(path)
        try:
            lock.acquire()
        except Timeout:
            continue
        except OSError as error:
            logger.warning("cannot lock autosave file %s: %s", path, error)
            return AutosaveSlot(first, 1, owned=False)
        logger.info("autosave slot %d: %s", number, path)
        return AutosaveSlot(path, number, owned=True, _lock=lock)

    last = slot_path(first, max_slots)
    logger.warning("all %d autosave slots are taken; sharing %s", max_slots, last)
    return AutosaveSlot(last, max_slots, owned=False)


def unclaimed_buffers(first: Path, own: AutosaveSlot, max_slots: int = MAX_SLOTS) -> list[Path]:
    """Return the files of other slots that contain text and that no running instance owns.

    A slot whose lock this call can take has no owner; the lock is released at once.
    """
    found: list[Path] = []
    for number in range(1, max_slots + 1):
        path = slot_path(first, number)
        if number == own.number or not _has_text(path):
            continue
        lock = _lock_for(path)
        try:
            lock.acquire()
        except (Timeout, OSError):
            continue
        lock.release()
        found.append(path)
    return found


def _has_text(path: Path) -> bool:
    try:
        return bool(read_regular_file(path).strip())
    except OSError:
        return False
