"""The text the results pane shows when a result store stops spilling to disk.

The store (`mmtui.results.store`) raises `SpillLimitError` at the spill limit and
`SpillWriteError` when the disk fails. These texts add what the store does not know: the
settings to change (`spill_limit_mb` and `memory_budget_mb` in config.toml, TMPDIR) and
where the settings file is.
"""

from __future__ import annotations

import os

from mmtui.auth.app_settings import app_settings_path
from mmtui.results import SpillError, SpillLimitError, SpillWriteError
from mmtui.results.store import SPILL_FREE_SPACE_KEPT
from mmtui.ui.detail_screen import count_text

NARROW_QUERY_HINT = "or narrow the query with a time range, WHERE or LIMIT"


def size_text(size_bytes: int) -> str:
    """Return a byte count in binary units with one decimal: "512.0 KiB", "10.0 GiB"."""
    size = float(size_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size_bytes:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def describe_spill_error(error: SpillError) -> str:
    """Return the error text for a result that stopped at the spill limit or a failed write.

    It gives the rows kept, the spill directory, the limit and the setting or variable to change.
    """
    if isinstance(error, SpillLimitError):
        return _describe_limit(error)
    if isinstance(error, SpillWriteError):
        return _describe_write_failure(error)
    return str(error)


def _settings_file() -> str:
    return str(app_settings_path(os.environ))


def _describe_limit(error: SpillLimitError) -> str:
    rows_kept = f"{count_text(error.rows_kept, 'row', 'rows')} kept"
    configured_mb = error.configured_limit_bytes // 1024**2
    if error.configured_limit_bytes == 0:
        return (
            f"Result cut at the memory budget: {rows_kept}. Spilling to disk is off "
            f"(spill_limit_mb = 0). To keep more rows, set spill_limit_mb or raise "
            f"memory_budget_mb in {_settings_file()}, {NARROW_QUERY_HINT}."
        )
    limit = size_text(error.limit_bytes)
    if error.spill_path is None or error.spilled_bytes == 0:
        text = (
            f"Result cut at the spill limit: {rows_kept}, nothing spilled to {error.spill_parent}"
        )
    else:
        spilled = size_text(error.spilled_bytes)
        text = (
            f"Result cut at the spill limit: {rows_kept}, {spilled} spilled to {error.spill_path}"
        )
    if error.capped_by_free_space:
        return text + (
            f" (limit {limit}, set by the free space: at most half of the "
            f"{size_text(error.free_bytes)} free in {error.spill_parent} at the first spill, and "
            f"never the last {size_text(SPILL_FREE_SPACE_KEPT)}). To keep more rows, free space "
            f"there or set TMPDIR to a larger disk and restart mmtui, {NARROW_QUERY_HINT}."
        )
    return text + (
        f" (limit {limit}). To keep more rows, raise spill_limit_mb (now {configured_mb}) in "
        f"{_settings_file()}, {NARROW_QUERY_HINT}."
    )


def _describe_write_failure(error: SpillWriteError) -> str:
    rows_text = count_text(error.rows_kept, "row", "rows")
    target = (
        f"write {error.spill_path}"
        if error.spill_path is not None
        else f"create a spill directory in {error.spill_parent}"
    )
    return (
        f"Spilling to disk failed: cannot {target}: {error.error.strerror or error.error}. "
        f"The query stopped, and the {rows_text} received are kept. Results beyond the memory "
        f"budget spill to {error.spill_parent} (TMPDIR). Free space there, or set TMPDIR to a "
        f"writable directory with more room and restart mmtui. A lower spill_limit_mb in "
        f"{_settings_file()} cuts results before the disk is full."
    )
