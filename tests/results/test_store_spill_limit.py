"""ResultStore at its spill limit and on a failed spill: the rows kept, the errors, the file."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from mmtui.results import ResultStore, SpillLimitError, SpillWriteError
from mmtui.results import store as store_module
from mmtui.results.store import SPILL_FREE_SPACE_KEPT, spill_limit_for_free_space
from tests.results.test_store import SCHEMA, make_batch

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
BUDGET = 64 * 1024
LIMIT = 256 * 1024
BATCH_ROWS = 1000
MAX_BATCHES = 200
"""Bound of the append loops: 200 batches of 1000 rows are about 10 MiB, far past every limit."""


def append_until_error(store: ResultStore) -> tuple[list[pa.RecordBatch], Exception]:
    """Append batches until `append` raises; return the batches appended and the error."""
    batches: list[pa.RecordBatch] = []
    for index in range(MAX_BATCHES):
        batch = make_batch(index * BATCH_ROWS, BATCH_ROWS)
        batches.append(batch)
        try:
            store.append(batch)
        except (SpillLimitError, SpillWriteError) as error:
            return batches, error
    raise AssertionError(f"no spill error after {MAX_BATCHES} batches")


def test_limit_cuts_result_keeping_rows(tmp_path: Path) -> None:
    store = ResultStore(
        SCHEMA, memory_budget_bytes=BUDGET, spill_dir=tmp_path, spill_limit_bytes=LIMIT
    )
    batches, error = append_until_error(store)

    assert isinstance(error, SpillLimitError)
    # The batch whose append raised is kept too.
    assert store.row_count == len(batches) * BATCH_ROWS
    assert error.rows_kept == store.row_count
    table = pa.Table.from_batches(batches, schema=SCHEMA)
    assert store.window(0, store.row_count).equals(table)
    assert store.spilled_batch_count > 0

    spill_path = store.spill_path
    assert spill_path is not None
    assert spill_path.is_relative_to(tmp_path)
    assert error.spill_path == spill_path
    assert error.spill_parent == tmp_path
    assert spill_path.stat().st_size == store.spill_bytes
    assert store.spill_bytes <= LIMIT
    assert error.spilled_bytes == store.spill_bytes
    assert error.limit_bytes == LIMIT
    assert error.configured_limit_bytes == LIMIT
    assert not error.capped_by_free_space
    assert store.applied_spill_limit_bytes == LIMIT
    assert store.spill_error is error
    store.close()
    assert not spill_path.exists()


def test_append_after_limit_stores_nothing(tmp_path: Path) -> None:
    store = ResultStore(
        SCHEMA, memory_budget_bytes=BUDGET, spill_dir=tmp_path, spill_limit_bytes=LIMIT
    )
    _, error = append_until_error(store)
    rows = store.row_count

    with pytest.raises(SpillLimitError) as again:
        store.append(make_batch(rows, BATCH_ROWS))
    assert again.value is error
    assert store.row_count == rows
    store.close()


def test_zero_limit_never_spills(tmp_path: Path) -> None:
    store = ResultStore(SCHEMA, memory_budget_bytes=BUDGET, spill_dir=tmp_path, spill_limit_bytes=0)
    batches, error = append_until_error(store)

    assert isinstance(error, SpillLimitError)
    assert error.configured_limit_bytes == 0
    assert error.spill_path is None
    assert error.spilled_bytes == 0
    assert store.spill_path is None
    assert list(tmp_path.iterdir()) == []
    assert store.row_count == len(batches) * BATCH_ROWS
    assert store.window(0, store.row_count).equals(pa.Table.from_batches(batches, schema=SCHEMA))
    store.close()


def test_negative_limit_rejected() -> None:
    with pytest.raises(ValueError, match="spill limit"):
        ResultStore(SCHEMA, spill_limit_bytes=-1)


@pytest.mark.parametrize(
    ("limit", "free", "expected"),
    [
        (10 * 2**30, 100 * 2**30, 10 * 2**30),
        (10 * 2**30, 8 * 2**30, 4 * 2**30),
        (10 * 2**30, 3 * 2**30 // 2, 2**29),
        (10 * 2**30, 2**30, 0),
        (10 * 2**30, 0, 0),
        (0, 100 * 2**30, 0),
    ],
)
def test_free_space_caps_limit(limit: int, free: int, expected: int) -> None:
    assert spill_limit_for_free_space(limit, free) == expected


def test_free_space_lowers_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    free = SPILL_FREE_SPACE_KEPT + 100 * 1024
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        store_module.shutil,
        "disk_usage",
        lambda path: type(usage)(usage.total, usage.total - free, free),
    )
    store = ResultStore(
        SCHEMA, memory_budget_bytes=BUDGET, spill_dir=tmp_path, spill_limit_bytes=LIMIT
    )
    _, error = append_until_error(store)

    assert isinstance(error, SpillLimitError)
    assert error.free_bytes == free
    assert error.limit_bytes == 100 * 1024
    assert error.capped_by_free_space
    assert store.spill_bytes <= 100 * 1024
    store.close()


def test_unwritable_spill_dir_keeps_rows(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("not a directory", encoding="utf-8")
    store = ResultStore(SCHEMA, memory_budget_bytes=BUDGET, spill_dir=not_a_directory)
    batches, error = append_until_error(store)

    assert isinstance(error, SpillWriteError)
    assert isinstance(error.error, OSError)
    assert error.spill_path is None
    assert error.spill_parent == not_a_directory
    assert str(not_a_directory) in str(error)
    assert error.rows_kept == store.row_count == len(batches) * BATCH_ROWS
    assert store.window(0, store.row_count).equals(pa.Table.from_batches(batches, schema=SCHEMA))
    with pytest.raises(SpillWriteError):
        store.append(make_batch(store.row_count, BATCH_ROWS))
    store.close()


FILE_SIZE_LIMIT = 300_000
"""RLIMIT_FSIZE of the child below: writes past 300,000 bytes fail with EFBIG, as on a full disk."""

PARTIAL_WRITE_CHILD = f"""
import json, resource, sys
import pyarrow as pa
from mmtui.results import ResultStore, SpillWriteError
from tests.results.test_store import SCHEMA, make_batch

store = ResultStore(SCHEMA, memory_budget_bytes={BUDGET}, spill_dir=sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT}, resource.RLIM_INFINITY))
batches = []
for index in range({MAX_BATCHES}):
    batch = make_batch(index * {BATCH_ROWS}, {BATCH_ROWS})
    batches.append(batch)
    try:
        store.append(batch)
    except SpillWriteError as caught:
        error = caught
        break
else:
    raise SystemExit("no SpillWriteError")
table = pa.Table.from_batches(batches, schema=SCHEMA)
print(json.dumps({{
    "errno": error.error.errno,
    "rows_kept": error.rows_kept,
    "rows_appended": len(batches) * {BATCH_ROWS},
    "row_count": store.row_count,
    "spill_path": str(error.spill_path),
    "file_size": store.spill_path.stat().st_size,
    "spill_bytes": store.spill_bytes,
    "spilled_batches": store.spilled_batch_count,
    "rows_equal": store.window(0, store.row_count).equals(table),
}}))
store.close()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX only")
def test_partial_write_truncated(tmp_path: Path) -> None:
    # In a child process, because RLIMIT_FSIZE applies to every file the process writes.
    done = subprocess.run(
        [sys.executable, "-c", PARTIAL_WRITE_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["errno"] == errno.EFBIG
    assert result["rows_kept"] == result["rows_appended"]
    assert result["row_count"] == result["rows_appended"]
    assert Path(result["spill_path"]).is_relative_to(tmp_path)
    assert result["spilled_batches"] > 0
    # The part of the batch written before the error is cut off.
    assert result["file_size"] == result["spill_bytes"]
    assert result["spill_bytes"] <= FILE_SIZE_LIMIT
    assert result["rows_equal"] is True
