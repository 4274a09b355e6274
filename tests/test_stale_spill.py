"""Unit tests of `mmtui.stale_spill` against a fake `/proc` tree (no app, no server)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mmtui.stale_spill import remove_stale_spill_dirs

UNREADABLE_DESCRIPTORS = 40
"""Descriptors that fail readlink, like the one a listing of `/proc/<pid>/fd` closes itself.

With this many, the readable descriptor is listed after some of them whatever order the file
system returns, so a scan that gives up on a process at its first failure misses it.
"""


def make_fake_proc(root: Path, open_file: Path) -> Path:
    proc = root / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "maps").write_text("")
    process = proc / "4242"
    (process / "fd").mkdir(parents=True)
    (process / "maps").write_text("00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/python3\n")
    for number in range(UNREADABLE_DESCRIPTORS):
        # A regular file: readlink raises OSError (EINVAL), as for a descriptor that closed.
        (process / "fd" / str(number)).write_text("")
    (process / "fd" / "99").symlink_to(open_file)
    return proc


def make_old_spill_dir(parent: Path, name: str) -> Path:
    directory = parent / name
    directory.mkdir()
    spill = directory / "results.arrows"
    spill.write_bytes(b"x" * 10)
    old = time.time() - 2 * 24 * 3600
    os.utime(spill, (old, old))
    os.utime(directory, (old, old))
    return directory


def test_open_spill_kept_despite_bad_descriptors(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    in_use = make_old_spill_dir(temporary, "mmtui-spill-inuse001")
    stale = make_old_spill_dir(temporary, "mmtui-spill-abcd1234")
    proc = make_fake_proc(tmp_path, in_use / "results.arrows")

    removed = remove_stale_spill_dirs(temporary, proc=proc)

    assert removed == [stale]
    assert in_use.exists()
    assert not stale.exists()


def test_mapped_spill_kept(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    mapped = make_old_spill_dir(temporary, "mmtui-spill-mapped01")
    proc = make_fake_proc(tmp_path, tmp_path / "elsewhere")
    spill = mapped / "results.arrows"
    with open(proc / "4242" / "maps", "a", encoding="utf-8") as maps:
        maps.write(f"7f0000000000-7f0000100000 r--s 00000000 08:02 99 {spill} (deleted)\n")

    removed = remove_stale_spill_dirs(temporary, proc=proc)

    assert removed == []
    assert mapped.exists()
