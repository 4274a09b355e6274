"""Export from the explorer while a query streams from the demo server: cancel and footer."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from mmtui.demo import DemoServerHandle
from mmtui.ui.app import MmtuiApp
from mmtui.ui.export_screen import ExportScreen
from tests.ui.test_app_keys import post_keys
from tests.ui.test_app_support import SIZE, make_app, screen_text, wait_for, wait_schema
from tests.ui.test_results_pane_export import export_status, hold_first_call, part_files

# Billions of rows: the stream runs until it is cancelled.
CROSS_JOIN_SQL = "SELECT a.time, b.msg FROM log_entries a CROSS JOIN log_entries b"


def footer_line(app: MmtuiApp) -> str:
    return screen_text(app).rstrip("\n").split("\n")[-1]


async def start_endless_query(pilot: Pilot[None], app: MmtuiApp) -> None:
    """Start CROSS_JOIN_SQL from the editor and wait for its first rows."""
    await wait_schema(pilot)
    app.editor.load_text(CROSS_JOIN_SQL)
    app.editor.focus()
    await pilot.press("f5")
    await wait_for(pilot, lambda: app.results.grid.row_count > 0, "rows to stream")


async def run_on_grid(pilot: Pilot[None], app: MmtuiApp, sql: str) -> None:
    """Run `sql` from the editor and focus the grid once the query is done."""
    await wait_schema(pilot)
    app.editor.load_text(sql)
    app.editor.focus()
    await pilot.press("f5")
    await wait_for(pilot, lambda: app.results.state == "done", "the query")
    await pilot.press("f4")


async def test_export_cancel_during_endless_query(
    demo_server: DemoServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    target = folder / "running.parquet"
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await start_endless_query(pilot, app)
        store = app.results.store
        await pilot.press("f4", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert "esc Close" in footer_line(app)
        assert "Cancel query" not in footer_line(app)

        # The writer waits once its temporary file exists.
        with hold_first_call(monkeypatch, pq.ParquetWriter, "write_batch") as gate:
            screen.query_one("#export-path", Input).value = str(target)
            await pilot.pause()
            await pilot.press("enter")
            await wait_for(pilot, gate.reached.is_set, "the writer")
            assert len(part_files(folder)) == 1
            assert "esc Cancel export" in footer_line(app)
            assert "Cancel query" not in footer_line(app)

            await pilot.press("escape")
            await pilot.pause()
            assert export_status(screen) == "Cancelling the export …"

        await wait_for(pilot, lambda: app.screen is app.screen_stack[0], "the cancelled export")

        messages = [notification.message for notification in app._notifications]
        assert f"Export cancelled: nothing was written to {target}." in messages
        assert list(folder.iterdir()) == []
        assert app.results.is_running
        assert app.results.store is store

        # Back on the explorer, Esc cancels the query.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results.state == "cancelled", "the query's cancel")


async def test_dialog_footers_during_query(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await start_endless_query(pilot, app)
        await pilot.press("f4")
        assert "esc Cancel query" in footer_line(app)

        # Each dialog shows its own keys, not the explorer's Esc, which would cancel the query.
        for keys, expected in [
            ("enter", "esc Close"),
            ("f8", "esc Close"),
            ("ctrl+t", "esc Cancel"),
        ]:
            await pilot.press(keys)
            await wait_for(pilot, lambda: app.screen is not app.screen_stack[0], keys)
            line = footer_line(app)
            assert expected in line, (keys, line)
            assert "Cancel query" not in line, (keys, line)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.screen_stack[0], f"{keys} closed")
            assert app.results.is_running

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results.state == "cancelled", "the query's cancel")


async def test_keys_after_e_reach_path(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await run_on_grid(pilot, app, "SELECT 1 AS n")

        # A terminal sends a burst at once: the keys after `e` arrive before the dialog mounts.
        await post_keys(pilot, "e", "x", "y", "z")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")

        # The field selects its text when it takes the focus, so typing replaces it.
        assert app.screen.query_one("#export-path", Input).value == "xyz"


async def test_ctrl_u_burst_keeps_path(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await run_on_grid(pilot, app, "SELECT 1 AS n")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")
        await pilot.press("end")

        # Ctrl+U is a binding of the field: it must clear the field before the path is typed.
        await post_keys(pilot, "ctrl+u", *"out.csv")

        assert app.screen.query_one("#export-path", Input).value == "out.csv"


async def test_format_marks_differ_by_shape(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Without colour, only the characters tell the selected format apart.
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await run_on_grid(pilot, app, "SELECT 1 AS n")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")
        await pilot.pause()

        text = screen_text(app)
        assert "▐●▌ csv" in text
        assert "▐ ▌ parquet" in text
        assert "▐ ▌ jsonl" in text
