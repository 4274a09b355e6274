"""Results pane when a result stops spilling: cut at the spill limit, or a failed write.

Both run a CROSS JOIN of the demo server's log entries, which streams rows for far longer
than any test waits, so the query can only end by the pane's own stop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Static

from mmtui.demo import DemoServerHandle
from mmtui.flightsql import FlightSQLClient
from mmtui.results import SpillLimitError
from mmtui.ui.results_pane import ResultsPane
from tests.ui.test_results_pane_support import (
    SCREEN_SIZE,
    PaneApp,
    run_to_end,
    status_rows,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CROSS_JOIN = "SELECT a.time, b.msg FROM log_entries a CROSS JOIN log_entries b"
BUDGET = 256 * 1024
SPILL_LIMIT = 2 * 1024**2


def screen_text(widget: Static) -> str:
    """Return the lines `widget` paints on the screen, joined with newlines."""
    region = Region(0, 0, widget.outer_size.width, widget.outer_size.height)
    return "\n".join(strip.text.strip() for strip in widget.render_lines(region))


async def test_cross_join_cut_at_spill_limit(
    demo_client: FlightSQLClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The folder that `tempfile.gettempdir()`, and so the store, spills to.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    caplog.set_level("INFO", logger="mmtui.demo")
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.pane.memory_budget_bytes = BUDGET
        app.pane.spill_limit_bytes = SPILL_LIMIT
        await run_to_end(pilot, app, CROSS_JOIN, expect="cut")

        store = app.pane.store
        assert store is not None
        rows = store.row_count
        assert rows > 0
        assert app.grid.row_count == rows
        spill_path = store.spill_path
        assert spill_path is not None
        assert spill_path.parent.parent == tmp_path
        assert store.spill_bytes <= SPILL_LIMIT
        assert spill_path.stat().st_size == store.spill_bytes

        status = screen_text(app.pane.query_one("#results-status", Static))
        assert status.startswith(f"cut at size limit after {rows:,} rows · ")
        assert status_rows(status) == rows

        error_widget = app.pane.query_one("#results-error", Static)
        assert error_widget.display
        error_text = app.pane.error_text
        assert error_text.startswith(f"Result cut at the spill limit: {rows:,} rows kept, ")
        assert f"spilled to {spill_path} (limit 2.0 MiB)." in error_text
        assert "raise spill_limit_mb (now 2) in " in error_text
        assert "config.toml" in error_text
        # The whole error is on screen, wrapped to the pane's width.
        on_screen = " ".join(screen_text(error_widget).split())
        assert on_screen == " ".join(error_text.split())

        message = app.pane_messages[-1]
        assert isinstance(message, ResultsPane.QueryFailed)
        assert isinstance(message.error, SpillLimitError)
        assert message.rows_so_far == rows

        # The pane cancelled the call: the server's generator ends as cancelled.
        await wait_until(
            pilot,
            lambda: any(" cancelled: " in record.getMessage() for record in caplog.records),
            "the server to log the cancelled call",
        )
        assert store.row_count == rows


FILE_SIZE_LIMIT = 2 * 1024**2
"""RLIMIT_FSIZE of the child below: spill writes past 2 MiB fail (EFBIG), as on a full disk."""

WRITE_FAILURE_CHILD = f"""
import asyncio, json, resource, sys
from mmtui.flightsql import FlightSQLClient
from tests.ui.test_results_pane_spill import CROSS_JOIN, screen_text
from tests.ui.test_results_pane_support import SCREEN_SIZE, PaneApp, run_to_end, status_rows
from textual.widgets import Static

async def main():
    client = FlightSQLClient(sys.argv[1])
    app = PaneApp(client)
    result = {{}}
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.pane.memory_budget_bytes = {BUDGET}
        resource.setrlimit(resource.RLIMIT_FSIZE, ({FILE_SIZE_LIMIT}, resource.RLIM_INFINITY))
        await run_to_end(pilot, app, CROSS_JOIN, expect="failed")
        store = app.pane.store
        status = screen_text(app.pane.query_one("#results-status", Static))
        result = {{
            "store_rows": store.row_count,
            "grid_rows": app.grid.row_count,
            "status": status,
            "status_rows": status_rows(status),
            "error": app.pane.error_text,
            "error_on_screen": screen_text(app.pane.query_one("#results-error", Static)),
            "spill_path": str(store.spill_path),
            "spill_bytes": store.spill_bytes,
            "file_size": store.spill_path.stat().st_size,
            "message_rows": app.pane_messages[-1].rows_so_far,
        }}
    client.close()
    print(json.dumps(result))

asyncio.run(main())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX only")
def test_spill_write_failure_keeps_rows(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # In a child process, because RLIMIT_FSIZE applies to every file the process writes.
    done = subprocess.run(
        [sys.executable, "-c", WRITE_FAILURE_CHILD, demo_server.uri],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])

    rows = result["store_rows"]
    assert rows > 0
    assert result["grid_rows"] == rows
    assert result["message_rows"] == rows
    assert result["status"].startswith(f"failed after {rows:,} rows · ")
    assert result["status_rows"] == rows
    spill_path = Path(result["spill_path"])
    assert spill_path.parent.parent == tmp_path
    assert result["file_size"] == result["spill_bytes"]

    error = result["error"]
    assert error.startswith(f"Spilling to disk failed: cannot write {spill_path}: File too large.")
    assert f"the {rows:,} rows received are kept." in error
    assert f"spill to {tmp_path} (TMPDIR)." in error
    assert "spill_limit_mb" in error
    # The whole error is on screen, wrapped to the pane's width.
    assert " ".join(result["error_on_screen"].split()) == " ".join(error.split())
