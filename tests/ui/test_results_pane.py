"""Results pane against the demo server: cancel, failures, detail view, copy and export."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from textual.widgets import Input, RadioSet, Static

from mmtui.flightsql import FlightSQLClient, QueryError
from mmtui.results import SpillLimitError, SpillWriteError, encode_jsonb_object
from mmtui.ui.detail_screen import DetailScreen, TextView
from mmtui.ui.export_screen import ExportScreen
from mmtui.ui.results_pane import ResultsPane, describe_error, format_status, json_row
from tests.ui.test_results_pane_support import (
    SCREEN_SIZE,
    PaneApp,
    grid_lines,
    run_to_end,
    status_rows,
    wait_until,
)

SERIES_SQL = (
    "SELECT value AS n, value * 2 AS twice, 'row ' || arrow_cast(value, 'Utf8') AS label "
    "FROM generate_series(0, 999) ORDER BY n"
)
DOCUMENT = {"service": "api", "tags": ["edge", "eu-west"], "retries": 3}


async def test_pane_failure_keeps_previous_results(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        previous_store = app.pane.store
        assert previous_store is not None

        await run_to_end(pilot, app, "SELECT nope FROM no_such_table", expect="failed")

        assert app.pane.state == "failed"
        assert app.pane.status_text.startswith("failed after 0 rows · ")
        assert app.pane.store is previous_store
        assert app.grid.row_count == 1000
        assert grid_lines(app.grid)[1].split() == ["0", "0", "row", "0"]
        error_text = app.pane.error_text
        assert "no_such_table" in error_text
        assert error_text.endswith("\nThe rows shown are from the previous query.")
        message = app.pane_messages[-1]
        assert isinstance(message, ResultsPane.QueryFailed)
        assert message.rows_so_far == 0


async def test_pane_new_query_replaces_results(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        await pilot.press("down", "down")
        await run_to_end(pilot, app, "SELECT 'only' AS word")

        assert app.grid.row_count == 1
        assert app.grid.cursor_row == 0
        lines = grid_lines(app.grid)
        assert lines[0].split() == ["word"]
        assert lines[1].split() == ["only"]
        assert lines[2].strip() == ""
        assert status_rows(app.pane.status_text) == 1


async def test_pane_detail_shows_pretty_json(demo_client: FlightSQLClient) -> None:
    sql = f"SELECT 'plain' AS name, '{json.dumps(DOCUMENT)}' AS doc"
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, sql)
        await pilot.press("right", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await wait_until(pilot, lambda: screen.text != "", "the cell value")

        lines = screen.text.splitlines()
        assert len(lines) > 3
        assert json.loads(screen.text) == DOCUMENT
        assert any(line.startswith('  "service": ') for line in lines)
        view = screen.query_one(TextView)
        assert view.row_text(0) == "{"

        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


async def test_pane_copy_cell_and_row(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        await pilot.press("down", "right", "right", "c")
        assert app.clipboard == "row 1"

        await pilot.press("C")
        assert app.clipboard == "1\t2\trow 1"

        await pilot.press("J")
        assert json.loads(app.clipboard) == {"n": 1, "twice": 2, "label": "row 1"}


async def test_pane_export_parquet(demo_client: FlightSQLClient, tmp_path: Path) -> None:
    target = tmp_path / "errors.parquet"
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(
            pilot, app, "SELECT time, exe, level, msg FROM log_entries WHERE level <= 3"
        )
        expected = status_rows(app.pane.status_text)

        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        path_input = screen.query_one("#export-path", Input)
        path_input.value = str(target)
        await pilot.pause()
        pressed = screen.query_one(RadioSet).pressed_button
        assert pressed is not None
        assert str(pressed.label) == "parquet"

        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")

        assert screen.rows_written == expected
        assert expected > 0
        table = pq.read_table(target)
        assert table.num_rows == expected
        assert table.column_names == ["time", "exe", "level", "msg"]


async def test_pane_export_error_is_shown(demo_client: FlightSQLClient, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "deeper" / "out.jsonl"
    (tmp_path / "missing-dir").write_text("a file where a directory is expected")
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("enter")

        # The missing directory is found before anything is written.
        assert not screen.running
        assert isinstance(app.screen, ExportScreen)
        status = str(screen.query_one("#export-status", Static).content)
        assert (
            status
            == f"Cannot export: directory {target.parent} does not exist: create it, or enter a "
            "path in another directory."
        )
        assert not target.exists()
        assert sorted(path.name for path in tmp_path.iterdir()) == ["missing-dir"]


def test_status_line_texts() -> None:
    assert format_status("running", 1234, 3, 2.0) == (
        "running · 1,234 rows · 3 batches · 617 rows/s · 2.0 s"
    )
    assert format_status("running", 420, 1, 1.0, estimate=1000).startswith("running 42% · ")
    # The estimate can be lower than the rows that arrive; the percentage stays below 100.
    assert format_status("running", 2000, 1, 1.0, estimate=1000).startswith("running 99% · ")
    assert format_status("running", 0, 0, 1.0, estimate=10**12).startswith("running 0% · ")
    assert format_status("running", 5_000_000, 9, 1.0, estimate=10**12).startswith("running <1% · ")
    assert format_status("done", 10, 1, 0.5, estimate=10) == ("done · 10 rows · 1 batch · 0.5 s")
    assert format_status("failed", 1, 1, 1.0) == "failed after 1 row · 1 batch · 1.0 s"
    # From the second batch on, the rate shows.
    assert format_status("running", 8192, 2, 0.5) == (
        "running · 8,192 rows · 2 batches · 16,384 rows/s · 0.5 s"
    )
    assert format_status("cancelled", 0, 0, 0.0) == ("cancelled · 0 rows · 0 batches · 0.0 s")
    assert format_status("failed", 30, 3, 1.0) == (
        "failed after 30 rows · 3 batches · 30 rows/s · 1.0 s"
    )
    assert format_status("cut", 49_152, 6, 0.5) == (
        "cut at size limit after 49,152 rows · 6 batches · 98,304 rows/s · 0.5 s"
    )
    assert format_status("cut", 49_152, 6, 0.5, max_cells=40) == (
        "cut at size limit after 49,152 rows"
    )


def test_status_line_fits_width() -> None:
    full = "done · 9,000,000 rows · 138 batches · 3,165,946 rows/s · 2.8 s"
    assert format_status("done", 9_000_000, 138, 9_000_000 / 3_165_946.5, max_cells=80) == full
    assert format_status("done", 9_000_000, 138, 2.8, max_cells=len(full) - 1) == (
        "done · 9,000,000 rows · 3,214,286 rows/s · 2.8 s"
    )
    assert format_status("done", 9_000_000, 138, 2.8, max_cells=40) == (
        "done · 9,000,000 rows · 2.8 s"
    )
    assert format_status("done", 9_000_000, 138, 2.8, max_cells=25) == "done · 9,000,000 rows"
    assert format_status("done", 9_000_000, 138, 2.8, max_cells=12) == "done · 9,00…"


def test_status_line_cursor_row() -> None:
    assert format_status("done", 36_006, 5, 0.9, cursor_row=1233) == (
        "done · 36,006 rows · 5 batches · 40,007 rows/s · 0.9 s · at row 1,234"
    )
    # Narrower: the batches and the rate go first, then the cursor's row, then the time.
    assert format_status("done", 36_006, 5, 0.9, max_cells=45, cursor_row=1233) == (
        "done · 36,006 rows · 0.9 s · at row 1,234"
    )
    assert format_status("done", 36_006, 5, 0.9, max_cells=30, cursor_row=1233) == (
        "done · 36,006 rows · 0.9 s"
    )


async def test_pane_status_shows_cursor_row(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        assert app.pane.status_text.endswith(" · at row 1")
        app.grid.focus()
        await pilot.press("end")
        await wait_until(
            pilot, lambda: app.pane.status_text.endswith(" · at row 1,000"), "the row at the end"
        )
        await pilot.press("up")
        await wait_until(
            pilot, lambda: app.pane.status_text.endswith(" · at row 999"), "the row above"
        )


async def test_pane_status_fits_narrow_pane(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=(32, 12)) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        status = app.pane.query_one("#results-status", Static)
        status_line = "".join(segment.text for segment in status.render_line(0)).strip()

        # The full text, "done · 1,000 rows · 1 batch · 0.1 s", is 35 cells wide, and the
        # status line has 30.
        assert status_line == app.pane.status_text
        assert status_line.startswith("done · 1,000 rows · ")
        assert status_line.endswith(" s")
        assert "batch" not in status_line


async def test_pane_count_estimate_arrives(demo_client: FlightSQLClient) -> None:
    sql = "SELECT time, msg FROM log_entries WHERE level <= 3"
    expected = (
        demo_client.query("SELECT COUNT(*) AS n FROM log_entries WHERE level <= 3")
        .column(0)[0]
        .as_py()
    )
    app = PaneApp(demo_client, estimate_count=True)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, sql)
        await wait_until(pilot, lambda: app.pane.estimated_rows is not None, "the estimate")

        assert app.pane.estimated_rows == expected
        assert status_rows(app.pane.status_text) == expected
        assert app.pane.status_text.startswith("done · ")


def test_json_row_decodes_and_escapes() -> None:
    fields: list[tuple[str, object]] = [
        ("properties", encode_jsonb_object({"region": "eu-west-1"})),
        ("raw", b"\x00\xff"),
        ("doc", b'{"x": 1}'),
        ("msg", "red \x1b[31m and \u202e reversed"),
    ]
    text = json_row(fields)

    assert json.loads(text) == {
        "properties": {"region": "eu-west-1"},
        "raw": "00ff",
        "doc": {"x": 1},
        "msg": "red \x1b[31m and \u202e reversed",
    }
    assert "\x1b" not in text
    assert "\u202e" not in text


def test_json_row_renames_duplicate_names() -> None:
    text = json_row([("msg", "first"), ("msg", "second"), ("msg_2", "third"), ("n", 1)])

    assert text == '{"msg": "first", "msg_3": "second", "msg_2": "third", "n": 1}'
    assert json.loads(text, object_pairs_hook=list) == [
        ("msg", "first"),
        ("msg_3", "second"),
        ("msg_2", "third"),
        ("n", 1),
    ]


def test_error_text_keeps_lines_only() -> None:
    error = QueryError(
        "INVALID_ARGUMENT", "bad \x1b[2J input (at line 1, column 8)\r\nhelp: quote it", 1, 8, None
    )
    text = describe_error(error)

    assert text.split("\n") == [
        "INVALID_ARGUMENT: bad \u241b[2J input (at line 1, column 8)",
        "help: quote it",
    ]


def test_spill_limit_error_text_free_space() -> None:
    error = SpillLimitError(
        rows_kept=1234,
        spill_parent=Path("/tmp"),
        spill_path=Path("/tmp/mmtui-spill-abcd1234/results.arrows"),
        spilled_bytes=3 * 1024**3 - 4096,
        limit_bytes=3 * 1024**3,
        configured_limit_bytes=10 * 1024**3,
        free_bytes=6 * 1024**3,
    )
    text = describe_error(error)

    assert text.startswith(
        "Result cut at the spill limit: 1,234 rows kept, 3.0 GiB spilled to "
        "/tmp/mmtui-spill-abcd1234/results.arrows (limit 3.0 GiB, set by the free space: "
    )
    assert "half of the 6.0 GiB free in /tmp" in text
    assert "never the last 1.0 GiB" in text
    assert "set TMPDIR to a larger disk and restart mmtui" in text


def test_spill_limit_error_text_spilling_off() -> None:
    error = SpillLimitError(
        rows_kept=1,
        spill_parent=Path("/tmp"),
        spill_path=None,
        spilled_bytes=0,
        limit_bytes=0,
        configured_limit_bytes=0,
        free_bytes=6 * 1024**3,
    )
    text = describe_error(error)

    assert text.startswith("Result cut at the memory budget: 1 row kept. Spilling to disk is off")
    assert "(spill_limit_mb = 0)" in text
    assert "raise memory_budget_mb in " in text


def test_spill_write_error_text() -> None:
    error = SpillWriteError(
        rows_kept=5000,
        spill_parent=Path("/data/tmp"),
        spill_path=None,
        error=PermissionError(13, "Permission denied", "/data/tmp/mmtui-spill-abcd1234"),
    )
    text = describe_error(error)

    assert text.startswith(
        "Spilling to disk failed: cannot create a spill directory in /data/tmp: Permission denied."
    )
    assert "the 5,000 rows received are kept" in text
    assert "spill to /data/tmp (TMPDIR)" in text
    assert "set TMPDIR to a writable directory" in text
