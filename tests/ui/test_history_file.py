"""The query history file: invalid lines, another process's lock, and writes that fail.

A second process holds the lock where another mmtui would. A file size limit
(`RLIMIT_FSIZE`) in a child process makes the kernel stop a write part way, as a full disk
does, without mounting a small file system.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mmtui.demo import DemoServerHandle
from mmtui.ui.history import MAX_ENTRIES, QueryHistory
from tests.ui.test_app_support import SIZE, make_app, run_and_wait, wait_schema

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

LOCK_HOLDER = """
import sys
from filelock import FileLock

lock = FileLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
sys.stdin.read()
"""

FULL_DISK_WRITER = """
import json
import resource
import signal
import sys
from pathlib import Path

from mmtui.demo import DemoServerHandle
from mmtui.ui.history import QueryHistory
from tests.ui.test_app_support import SIZE, make_app, run_and_wait, wait_schema

# Past the limit, write() returns a short count, then fails with EFBIG instead of a signal.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = Path(sys.argv[1])
history = QueryHistory(path)
history.add("SELECT 1 AS before", "1h")
before = path.read_bytes()
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 20, hard))
problem = history.add("SELECT '" + "x" * 200 + "' AS big", "1h")
after_failure = path.read_bytes()
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
later = history.add("SELECT 7 AS seven", "1h")
print(json.dumps({
    "before": before.decode(),
    "after_failure": after_failure.decode(),
    "problem": problem,
    "later": later,
}))
"""

NESTED = "[" * 100_000 + "]" * 100_000


@contextmanager
def lock_held_by_other_process(lock_path: Path) -> Iterator[None]:
    """Hold `lock_path` in a second process until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def sql_on_disk(path: Path) -> list[str]:
    return [entry.sql for entry in QueryHistory(path).entries]


def test_deeply_nested_line_skipped(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    lines = [json.dumps({"sql": "SELECT 1"}), NESTED, json.dumps({"sql": "SELECT 2"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert sql_on_disk(path) == ["SELECT 1", "SELECT 2"]


def test_locked_history_add_does_not_wait(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = QueryHistory(path)
    history.add("SELECT 1", "1h")

    with lock_held_by_other_process(tmp_path / "history.jsonl.lock"):
        started = time.monotonic()
        problem = history.add("SELECT 2", "1h")
        elapsed = time.monotonic() - started
        repeated = history.add("SELECT 3", "1h")

    assert elapsed < 1.0, f"add waited {elapsed:.1f} s for the lock"
    assert problem is not None
    assert "lock" in problem
    assert str(path) in problem
    assert repeated is None, "a lasting cause is reported once"
    assert [entry.sql for entry in history.entries] == ["SELECT 1", "SELECT 2", "SELECT 3"]
    assert sql_on_disk(path) == ["SELECT 1"]

    assert history.add("SELECT 4", "1h") is None
    assert sql_on_disk(path) == ["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4"]


def test_close_writes_unsaved_entries(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = QueryHistory(path)
    with lock_held_by_other_process(tmp_path / "history.jsonl.lock"):
        history.add("SELECT 1", "1h")
    assert sql_on_disk(path) == []

    history.close()

    assert sql_on_disk(path) == ["SELECT 1"]


def test_short_write_leaves_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    completed = subprocess.run(
        [sys.executable, "-c", FULL_DISK_WRITER, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)

    assert result["after_failure"] == result["before"]
    assert result["problem"] is not None
    assert str(path) in result["problem"]
    assert result["later"] is None
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert sql_on_disk(path) == [
        "SELECT 1 AS before",
        "SELECT '" + "x" * 200 + "' AS big",
        "SELECT 7 AS seven",
    ]


def test_append_after_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    # The start of a line that an older version could not finish writing.
    path.write_text(json.dumps({"sql": "SELECT 1"}) + '\n{"sql": "SELECT 2', encoding="utf-8")

    QueryHistory(path).add("SELECT 3", "1h")

    assert sql_on_disk(path) == ["SELECT 1", "SELECT 3"]


async def test_locked_history_notice_and_save_at_exit(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    query = "SELECT count(*) AS n FROM processes"
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        with lock_held_by_other_process(tmp_path / "history.jsonl.lock"):
            await run_and_wait(pilot, query)
            notices = [n.message for n in app._notifications if n.title == "Query history"]
            assert len(notices) == 1, [n.message for n in app._notifications]
            assert "Another process holds the lock" in notices[0]
        assert sql_on_disk(tmp_path / "history.jsonl") == []

    # The entry was kept in memory, and the app wrote it when it quit.
    assert sql_on_disk(tmp_path / "history.jsonl") == [query]


def test_history_on_device_reports_unsaved(tmp_path: Path) -> None:
    # /dev/null takes every write, so the entries vanished without a message.
    path = tmp_path / "history.jsonl"
    path.symlink_to(os.devnull)
    history = QueryHistory(path)

    problem = history.add("SELECT 1", "1h")

    assert problem is not None
    assert "Cannot save the query history" in problem
    assert "Not a regular file" in problem
    assert [entry.sql for entry in history.entries] == ["SELECT 1"]


async def test_long_history_reads_newest_lines(
    demo_server: DemoServerHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A history file that grew to many times MAX_ENTRIES lines (copied from another machine,
    # or written by a tool) is read from its end. The invalid first line is older than the
    # newest MAX_ENTRIES queries, so reading it would be wasted work.
    path = tmp_path / "history.jsonl"
    runs = [json.dumps({"sql": f"SELECT {number}", "time_range": "1h"}) for number in range(30)]
    repeats = [json.dumps({"sql": "SELECT 0", "time_range": "6h"})]
    lines = ["{broken json", *runs * (3 * MAX_ENTRIES // 30), *runs[:5]]
    newer = [json.dumps({"sql": f"SELECT 'new', {number}"}) for number in range(MAX_ENTRIES)]
    path.write_text("\n".join([*lines, *newer[:-1], *repeats, newer[-1]]) + "\n")

    app = make_app(demo_server.uri, tmp_path)
    with caplog.at_level(logging.WARNING, logger="mmtui.ui.history"):
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            entries = app.history.entries
            assert len(entries) == MAX_ENTRIES
            assert entries[0].sql == "SELECT 'new', 1"
            assert entries[-2].sql == "SELECT 0"
            assert entries[-2].time_range == "6h"
            assert entries[-1].sql == f"SELECT 'new', {MAX_ENTRIES - 1}"
            assert caplog.messages == []

            await run_and_wait(pilot, "SELECT 1 AS one")

    on_disk = [json.loads(line)["sql"] for line in path.read_bytes().splitlines()]
    assert len(on_disk) == MAX_ENTRIES
    assert on_disk[0] == "SELECT 'new', 2"
    assert on_disk[-3:] == ["SELECT 0", f"SELECT 'new', {MAX_ENTRIES - 1}", "SELECT 1 AS one"]
    assert caplog.messages == []
