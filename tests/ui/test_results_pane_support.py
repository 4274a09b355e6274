"""Helpers for the result grid and results pane tests: a host app and polling helpers.

These tests mount `ResultsPane` alone in a small app, so that they exercise only the grid, the
worker thread and the screens it opens, without the rest of the explorer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Footer

from mmtui.flightsql import FlightSQLClient
from mmtui.ui.grid import ResultGrid
from mmtui.ui.results_pane import ResultsPane

SCREEN_SIZE = (120, 40)
WAIT_SECONDS = 20.0


class PaneApp(App[None]):
    """An app holding only a `ResultsPane`, recording the messages the pane posts."""

    def __init__(self, client: FlightSQLClient, *, estimate_count: bool = False) -> None:
        super().__init__()
        self.client = client
        self.estimate_count = estimate_count
        self.pane_messages: list[Message] = []
        self.notifications: list[tuple[str, str]] = []
        """(severity, message) of every notification, oldest first."""

    def compose(self) -> ComposeResult:
        yield ResultsPane(estimate_count=self.estimate_count)
        yield Footer()

    def on_mount(self) -> None:
        self.grid.focus()

    @property
    def pane(self) -> ResultsPane:
        return self.query_one(ResultsPane)

    @property
    def grid(self) -> ResultGrid:
        return self.query_one(ResultGrid)

    def run_sql(self, sql: str) -> int:
        return self.pane.run_query(self.client, sql)

    def notify(self, message: str, **options: Any) -> None:
        self.notifications.append((str(options.get("severity", "information")), message))
        super().notify(message, **options)

    def on_results_pane_query_finished(self, message: ResultsPane.QueryFinished) -> None:
        self.pane_messages.append(message)

    def on_results_pane_query_failed(self, message: ResultsPane.QueryFailed) -> None:
        self.pane_messages.append(message)

    def on_results_pane_query_cancelled(self, message: ResultsPane.QueryCancelled) -> None:
        self.pane_messages.append(message)


async def wait_until(
    pilot: Pilot[None],
    condition: Callable[[], bool],
    what: str,
    timeout: float = WAIT_SECONDS,
) -> None:
    """Let the app run until `condition()` holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)
    # One more turn so the repaint that follows the state change has happened.
    await pilot.pause()


async def wait_for_rows(pilot: Pilot[None], app: PaneApp, rows: int = 1) -> None:
    """Wait until the grid shows at least `rows` rows; fail at once if the query ends first."""

    def arrived() -> bool:
        if app.grid.row_count >= rows:
            return True
        if app.pane.state not in ("running", "idle"):
            raise AssertionError(f"query ended before {rows} rows: {app.pane.status_text!r}")
        return False

    await wait_until(pilot, arrived, f"{rows} rows")


async def run_to_end(pilot: Pilot[None], app: PaneApp, sql: str, expect: str = "done") -> None:
    """Run `sql` in the pane, wait until it ends, and check that it ended in state `expect`."""
    app.run_sql(sql)
    await wait_until(pilot, lambda: app.pane.state != "running", f"the end of {sql!r}")
    assert app.pane.state == expect, f"{sql!r}: {app.pane.status_text!r} {app.pane.error_text!r}"


def grid_lines(grid: ResultGrid) -> list[str]:
    """Return the grid's screen lines as plain text, header first."""
    return [grid.line_text(y) for y in range(grid.scrollable_content_region.height)]


def status_rows(status: str) -> int:
    """Return the row count of a status line, "done · 1,234 rows · ..." or "failed after N rows"."""
    for part in status.split(" · "):
        words = part.split()
        if (
            len(words) >= 2
            and words[-1] in ("row", "rows")
            and words[-2].replace(",", "").isdigit()
        ):
            return int(words[-2].replace(",", ""))
    raise AssertionError(f"no row count in status line {status!r}")
