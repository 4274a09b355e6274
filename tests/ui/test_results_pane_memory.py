"""Results pane memory: a large result replaced by a small one goes back to the system once
no query has run for `release_idle_s`, and stays for the next query until then.

The pane runs in a child process, so that its resident size is not mixed with the fault server
or with other tests, which share the process-wide malloc options.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fault_server import FaultServerHandle

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc tuning applies to glibc on Linux only",
)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
LARGE_ROWS = 3_000_000
"""Rows of `fault:rows:N` (int64 id and a short string): about 80 MiB in the store."""
CHILD_TIMEOUT = 120.0
RELEASE_IDLE_S = 1.0
"""The pane's idle delay before a release, shortened from 30 s for the test."""

CHILD = f"""
import asyncio, json, os, sys
from mmtui.flightsql import FlightSQLClient
from tests.ui.test_results_pane_support import SCREEN_SIZE, PaneApp, run_to_end, wait_until

def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

async def main():
    client = FlightSQLClient(sys.argv[1])
    app = PaneApp(client)
    result = {{}}
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.pane.release_idle_s = {RELEASE_IDLE_S}
        await run_to_end(pilot, app, "fault:rows:10")
        result["before"] = rss_mib()
        await run_to_end(pilot, app, "fault:rows:{LARGE_ROWS}")
        result["large"] = rss_mib()
        await run_to_end(pilot, app, "fault:rows:20")
        assert app.grid.row_count == 20
        result["pending_after_small"] = app.pane.memory_release_pending
        result["kept"] = rss_mib()
        # Half the growth of the large result is the bar: the rest may be fragmentation.
        limit = (result["before"] + result["large"]) / 2
        try:
            await wait_until(pilot, lambda: rss_mib() < limit, "the release", timeout=10.0)
        except AssertionError:
            pass
        result["small"] = rss_mib()
        result["pending_at_end"] = app.pane.memory_release_pending
    client.close()
    print(json.dumps(result))

asyncio.run(main())
"""


def test_small_result_releases_large_one(fault_server: FaultServerHandle) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, fault_server.uri],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    growth = result["large"] - result["before"]
    assert growth > 40, f"the large result did not grow the process: {result}"
    # The store of the large result is closed when the small one reaches the screen. Its memory
    # stays for the next query's batches while queries follow one another...
    assert result["pending_after_small"] is True, result
    assert result["kept"] - result["before"] > growth / 2, result
    # ...and goes back to the system once none ran for `release_idle_s`.
    assert result["small"] - result["before"] < growth / 2, result
    assert result["pending_at_end"] is False, result
