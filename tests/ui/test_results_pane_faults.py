"""Results pane against the fault server: cancel, mid-stream errors, hostile text, odd streams."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator

from mmtui.flightsql import FlightSQLClient
from mmtui.ui.detail_screen import DetailScreen, TextView
from mmtui.ui.results_pane import ResultsPane
from tests.fault_server import (
    HOSTILE_MESSAGES,
    FaultServerHandle,
    start_fault_server,
    start_fault_server_process,
)
from tests.ui.test_app_support import screen_text
from tests.ui.test_results_pane_support import (
    SCREEN_SIZE,
    PaneApp,
    grid_lines,
    run_to_end,
    status_rows,
    wait_for_rows,
    wait_until,
)

# C0 controls, DEL and C1 controls: none of them may reach the terminal.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def screen_lines(app: PaneApp) -> list[str]:
    """Return the lines of the screen as a user reads them, stripped."""
    return [line.strip() for line in screen_text(app).splitlines()]  # type: ignore[arg-type]


def screen_segments(app: PaneApp) -> list[str]:
    """Return the text of every segment the grid renders for its visible lines."""
    grid = app.grid
    grid.line_text(0)  # formats the visible rows
    texts: list[str] = []
    for y in range(grid.scrollable_content_region.height):
        texts.extend(segment.text for segment in grid.render_line(y))
    return texts


async def test_pane_streams_and_counts(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.run_sql("fault:trickle:20")
        await wait_for_rows(pilot, app)
        status = app.pane.status_text
        assert status.startswith("running · ")
        assert 0 < status_rows(status) < 200
        assert grid_lines(app.grid)[1].split() == ["0", "message", "0"]

        await wait_until(pilot, lambda: app.pane.state == "done", "the end of the stream")
        status = app.pane.status_text
        assert status.startswith("done · 200 rows · 20 batches · ")
        assert re.search(r" · [\d,]+ rows/s · \d+\.\d s · at row 1$", status)
        assert app.grid.row_count == 200
        message = app.pane_messages[-1]
        assert isinstance(message, ResultsPane.QueryFinished)
        assert message.rows == 200


async def test_pane_cancel_mid_stream_keeps_rows(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.run_sql("fault:trickle:400")
        await wait_for_rows(pilot, app, 20)

        await pilot.press("escape")
        await wait_until(pilot, lambda: app.pane.state != "running", "the cancel", timeout=2)

        assert app.pane.state == "cancelled"
        status = app.pane.status_text
        assert status.startswith("cancelled · ")
        rows = status_rows(status)
        assert 20 <= rows < 4000
        assert app.grid.row_count == rows
        assert grid_lines(app.grid)[1].split() == ["0", "message", "0"]
        message = app.pane_messages[-1]
        assert isinstance(message, ResultsPane.QueryCancelled)
        assert message.rows_so_far == rows


async def test_pane_freed_memory_kept_between_queries(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:rows:1000")
        # No store was closed yet, so no memory waits for a release.
        assert not app.pane.memory_release_pending
        await run_to_end(pilot, app, "fault:rows:10")
        # The first result's store is closed, and its memory waits for the idle delay.
        assert app.pane.memory_release_pending

        app.run_sql("fault:trickle:400")
        await wait_for_rows(pilot, app)
        # A running query stops the countdown, so its batches may reuse that memory.
        assert app.pane.state == "running"
        assert not app.pane.memory_release_pending

        app.pane.release_idle_s = 0.5
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.pane.state == "cancelled", "the cancel", timeout=2)
        assert app.pane.memory_release_pending
        await wait_until(pilot, lambda: not app.pane.memory_release_pending, "the release")


async def test_pane_scrollbars_follow_new_results(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        grid = app.grid
        # A result without a scrollbar sits between two with one. The thumb must not come
        # back where the older result was scrolled to.
        for rows in [100_000, 300, 5, 200]:
            await run_to_end(pilot, app, f"fault:rows:{rows}")
            overflows = rows + 1 > grid.container_size.height
            assert grid.scroll_y == 0, rows
            assert grid.show_vertical_scrollbar == overflows, rows
            if overflows:
                assert grid.vertical_scrollbar.position == 0, rows

            # The scroll size follows at most once a second while rows stream in, and End
            # brings it up to date.
            await pilot.press("end")
            await pilot.pause()
            assert grid.virtual_size.height == rows + 1, rows
            assert grid.show_vertical_scrollbar == overflows, rows
            assert grid.max_scroll_y == max(0, rows + 1 - grid.scrollable_content_region.height)
            assert grid.scroll_y == grid.max_scroll_y, rows
            if overflows:
                assert grid.vertical_scrollbar.window_virtual_size == rows + 1, rows
                assert grid.vertical_scrollbar.position == grid.scroll_y, rows


async def test_pane_cancel_silent_keeps_previous(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:trickle:2")
        previous = app.pane.store

        app.run_sql("fault:silent")
        await pilot.pause()
        assert app.pane.is_running
        # Until the new query sends a batch, the previous rows stay on screen.
        assert app.pane.store is previous
        assert grid_lines(app.grid)[1].split() == ["0", "message", "0"]
        assert app.pane.cancel()
        await wait_until(pilot, lambda: app.pane.state != "running", "the cancel", timeout=2)

        assert app.pane.state == "cancelled"
        assert app.pane.status_text.startswith("cancelled · 0 rows · ")
        assert app.pane.store is previous
        assert app.grid.row_count == 20


async def test_pane_empty_batch_keeps_previous(fault_client: FlightSQLClient) -> None:
    # A batch of 0 rows shows nothing new, so the previous rows stay until a row arrives.
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:trickle:2")
        previous = app.pane.store

        await run_to_end(pilot, app, "fault:empty_then:error", expect="failed")
        assert app.pane.store is previous
        assert app.grid.row_count == 20
        assert "simulated failure after an empty batch" in app.pane.error_text
        assert "The rows shown are from the previous query." in app.pane.error_text

        app.run_sql("fault:empty_then:silent")
        await wait_until(pilot, lambda: app.pane.status_text.startswith("running"), "the run")
        await pilot.pause(0.3)
        assert app.pane.store is previous
        assert app.pane.cancel()
        await wait_until(pilot, lambda: app.pane.state == "cancelled", "the cancel", timeout=2)
        assert app.pane.store is previous
        assert app.grid.row_count == 20


async def test_pane_long_error_keeps_note(fault_client: FlightSQLClient) -> None:
    # The error area is a few lines high, and a long error used to push the note out of it.
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:trickle:2")
        await run_to_end(pilot, app, "fault:long_error:20000", expect="failed")
        await pilot.pause()

        lines = screen_lines(app)
        assert any("No field named nope." in line for line in lines)
        assert "The rows shown are from the previous query." in lines
        assert app.grid.row_count == 20

        await run_to_end(pilot, app, "fault:trickle:1")
        assert "The rows shown are from the previous query." not in screen_lines(app)


async def test_pane_error_after_batches(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:error_after:3", expect="failed")

        assert app.pane.state == "failed"
        assert app.pane.status_text.startswith("failed after 30 rows · 3 batches · ")
        error_text = app.pane.error_text
        assert "simulated storage failure after 3 batches" in error_text
        assert "previous query" not in error_text
        assert app.grid.row_count == 30
        await pilot.press("end")
        assert grid_lines(app.grid)[30].split() == ["29", "message", "29"]
        message = app.pane_messages[-1]
        assert isinstance(message, ResultsPane.QueryFailed)
        assert message.rows_so_far == 30


async def test_pane_hostile_text_stays_inert(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        title_before = app.title
        await run_to_end(pilot, app, "fault:hostile")
        assert app.pane.state == "done"
        assert app.grid.row_count == len(HOSTILE_MESSAGES)

        segments = screen_segments(app)
        assert not any(CONTROL_CHARACTERS.search(text) for text in segments)
        screen_text = "\n".join(grid_lines(app.grid))
        assert "\u241b]0;pwned window title" in screen_text
        assert "[bold red]x[/] and [link=file:///etc/passwd]a link[/link]" in screen_text
        assert "\u202e" not in screen_text
        await pilot.press("ctrl+right")
        header = grid_lines(app.grid)[0]
        assert "\u241b[2Jcol[bold]x[/]" in header
        await pilot.press("ctrl+left")
        assert app.title == title_before
        assert app.clipboard == ""

        # The detail view shows the whole value, still with visible symbols.
        await pilot.press("right", "right", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await wait_until(pilot, lambda: screen.text != "", "the cell value")
        assert screen.text.startswith("\u241b]0;pwned window title")
        assert not CONTROL_CHARACTERS.search(screen.text.replace("\n", ""))


async def test_pane_renders_every_type(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:types")

        assert app.pane.state == "done"
        assert app.pane.status_text.startswith("done · 6 rows · 2 batches · ")
        grid = app.grid
        for _ in range(grid.column_count):
            await pilot.press("right")
            assert not any(CONTROL_CHARACTERS.search(text) for text in screen_segments(app))
        assert grid.cursor_column == grid.column_count - 1
        assert grid_lines(grid)[0].split()[-1] == "dictionary"
        assert grid_lines(grid)[4].split()[-1] == "error"


async def test_pane_zero_and_empty_batches(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:trickle:2")
        await run_to_end(pilot, app, "fault:zero_batches")

        assert app.pane.status_text.startswith("done · 0 rows · 0 batches · ")
        assert app.grid.row_count == 0
        lines = grid_lines(app.grid)
        assert lines[0].split() == ["id", "msg"]
        assert lines[1].strip() == ""

        await run_to_end(pilot, app, "fault:empty_batches_between")
        assert app.pane.status_text.startswith("done · 5 rows · 6 batches · ")
        assert [line.split()[0] for line in grid_lines(app.grid)[1:6]] == ["0", "1", "2", "3", "4"]


async def test_pane_huge_value_detail(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:huge_value_5m")
        cell = grid_lines(app.grid)[1].split()[-1]
        assert cell.startswith("0123456789")
        assert cell.endswith("…")

        await pilot.press("right", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await wait_until(pilot, lambda: screen.text != "", "the cell value", timeout=10)

        assert len(screen.text) == 5_000_000
        view = screen.query_one(TextView)
        width = view.scrollable_content_region.width
        assert view.line_count == -(-5_000_000 // width)
        assert view.row_text(0) == ("0123456789" * (width // 10 + 1))[:width]
        await pilot.press("end")
        assert view.scroll_y == view.max_scroll_y
        assert view.row_text(view.line_count - 1).endswith("END")

        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


async def test_pane_server_killed_mid_stream() -> None:
    server = start_fault_server_process()
    client = FlightSQLClient(server.uri)
    try:
        app = PaneApp(client)
        async with app.run_test(size=SCREEN_SIZE) as pilot:
            await run_to_end(pilot, app, "fault:die_after:2", expect="failed")

            assert app.pane.state == "failed"
            assert app.pane.status_text.startswith("failed after 20 rows · 2 batches · ")
            assert app.grid.row_count == 20
            error_text = app.pane.error_text
            assert error_text.strip() != ""
    finally:
        client.close()
        server.stop()


async def test_pane_zero_columns_no_cell_actions(fault_client: FlightSQLClient) -> None:
    # Three rows and no column: there is no cell, so the cell and row keys do nothing.
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:no_columns")
        assert app.grid.row_count == 3
        app.grid.focus()
        app.copy_to_clipboard("before")

        await pilot.press("enter", "c", "C", "J")
        await pilot.pause()

        assert not isinstance(app.screen, DetailScreen)
        assert app.clipboard == "before"
        assert app.pane.state == "done"


async def test_pane_invalid_utf8_copied_replaced(fault_client: FlightSQLClient) -> None:
    # Arrow does not check the UTF-8 of a server's strings. Copying such a cell gives its text
    # with U+FFFD for each invalid sequence, and the app keeps running.
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:bad_utf8")
        app.grid.focus()
        await pilot.press("down", "right", "c")
        assert app.clipboard == "\ufffd\ufffd bad"

        await pilot.press("J")
        assert json.loads(app.clipboard) == {"id": 1, "s": "\ufffd\ufffd bad"}

        await pilot.press("down", "enter")
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.text == "caf\ufffd"


@contextlib.contextmanager
def counting_server(answer: int, delay: float) -> Iterator[tuple[FaultServerHandle, PaneApp]]:
    """Start a fault server whose COUNT(*) returns `answer` after `delay` seconds, and a pane
    app that requests count estimates from it."""
    handle = start_fault_server()
    handle.server.count_answer = answer
    handle.server.count_delay = delay
    client = FlightSQLClient(handle.uri)
    try:
        yield handle, PaneApp(client, estimate_count=True)
    finally:
        client.close()
        handle.stop()


async def test_pane_cancel_also_cancels_count() -> None:
    with counting_server(12_345, 30.0) as (handle, app):
        async with app.run_test(size=SCREEN_SIZE) as pilot:
            app.run_sql("fault:trickle:400")
            await wait_for_rows(pilot, app, 20)
            # The count's call has its schema and waits on the server for its delay, beside
            # the query's own call, which waits between its batches.
            await wait_until(pilot, lambda: handle.waiting_calls >= 1, "the count to wait")
            assert handle.cancelled_calls == 0

            await pilot.press("escape")
            await wait_until(pilot, lambda: app.pane.state == "cancelled", "the cancel")
            # Both calls end: the count's wait would otherwise last 30 s.
            await wait_until(pilot, lambda: handle.waiting_calls == 0, "the calls to end", 5)
            assert handle.cancelled_calls >= 1
            assert app.pane.estimated_rows is None


async def test_pane_count_arrives_while_streaming() -> None:
    with counting_server(4_000, 0.2) as (handle, app):
        async with app.run_test(size=SCREEN_SIZE) as pilot:
            app.run_sql("fault:trickle:400")
            await wait_until(pilot, lambda: app.pane.estimated_rows == 4_000, "the estimate")
            assert app.pane.state == "running"
            assert handle.cancelled_calls == 0
            await pilot.press("escape")
