"""Keep freed result memory in the process for the next query, and return it when asked.

gRPC allocates a result's batches with the C library's `malloc`. With glibc's defaults, a
buffer above the dynamic mmap threshold gets its own mapping, unmapped when freed, and free
memory at the top of a heap is trimmed. Either way, the next query's buffers land on pages
the kernel must fault in afresh.

A page fault costs microseconds, and far more in a virtual machine whose host backs guest
memory lazily. On the 2-core VM of `benchmarks/README.md`, reading and keeping 822 MiB took
1.0 to 2.7 s of system time in fresh memory. In memory the same thread had freed, it took
0.2 to 0.3 s.

`keep_freed_memory` sets a fixed mmap threshold and a high trim threshold, so freed buffers
stay in the heap for the next result. `release_freed_memory` hands free pages back after a
spill, and once the results pane has closed a store and no query has run for 30 s
(`RELEASE_IDLE_S`). So an idle process keeps about the memory of the result on screen.

Both do nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
import threading

import pyarrow as pa

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""`mallopt` parameter numbers from glibc's `malloc.h`."""

MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
"""Allocations below this come from the heap. 32 MiB is glibc's maximum on 64-bit systems;
a FlightData message of one record batch is usually a few MiB."""

TRIM_THRESHOLD_BYTES = 1024**3
"""Free bytes at the top of a heap before glibc trims it on its own: never, in practice."""

_lock = threading.Lock()
_libc: ctypes.CDLL | None = None
_options_set = False


def _glibc() -> ctypes.CDLL | None:
    """Return the loaded C library when it is glibc, else None."""
    global _libc
    if _libc is None and platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        name = ctypes.util.find_library("c") or "libc.so.6"
        try:
            _libc = ctypes.CDLL(name)
        except OSError as error:
            logger.info("cannot load %s to tune malloc: %s", name, error)
    return _libc


def keep_freed_memory() -> bool:
    """Make glibc keep freed buffers for reuse; return True when both options were set.

    Idempotent and thread-safe. The options last for the whole process.
    """
    global _options_set
    with _lock:
        if _options_set:
            return True
        libc = _glibc()
        if libc is None:
            return False
        mmap_set = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1)
        trim_set = bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1)
        _options_set = mmap_set and trim_set
        if _options_set:
            logger.info(
                "malloc keeps freed memory: mmap threshold %d, trim threshold %d",
                MMAP_THRESHOLD_BYTES,
                TRIM_THRESHOLD_BYTES,
            )
        else:
            logger.warning(
                "mallopt failed (mmap threshold set: %s, trim threshold set: %s)",
                mmap_set,
                trim_set,
            )
        return _options_set


def release_freed_memory() -> None:
    """Return the free pages of the C heap and of Arrow's memory pool to the operating system."""
    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
