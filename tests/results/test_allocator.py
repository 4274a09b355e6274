"""`mmtui.results.allocator` in a child process: freed C heap memory kept, then released."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc tuning applies to glibc on Linux only",
)

BLOCKS = 4
BLOCK_MIB = 16

CHILD = f"""
import ctypes, json, os, sys
from mmtui.results.allocator import keep_freed_memory, release_freed_memory

def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
options_set = keep_freed_memory() if sys.argv[1] == "keep" else None
size = {BLOCK_MIB} * 2**20
blocks = [libc.malloc(size) for _ in range({BLOCKS})]
for block in blocks:
    ctypes.memset(block, 1, size)
touched = rss_mib()
for block in blocks:
    libc.free(block)
freed = rss_mib()
release_freed_memory()
released = rss_mib()
print(json.dumps(dict(options_set=options_set, touched=touched, freed=freed, released=released)))
"""


def run_child(mode: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def test_freed_blocks_stay_until_released() -> None:
    result = run_child("keep")

    assert result["options_set"] is True
    # Freed blocks stay resident for the next result to reuse...
    assert result["touched"] - result["freed"] < BLOCK_MIB
    # ...until release_freed_memory hands them back.
    assert result["freed"] - result["released"] > (BLOCKS - 1) * BLOCK_MIB


def test_default_malloc_unmaps_freed_blocks() -> None:
    # The control: without keep_freed_memory, glibc maps blocks this large on their own and
    # unmaps them at free, so the first test measures the option, not the machine.
    result = run_child("default")

    assert result["options_set"] is None
    assert result["touched"] - result["freed"] > (BLOCKS - 1) * BLOCK_MIB
