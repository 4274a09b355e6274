"""Export screen path handling against the demo server: bad paths, overwrite, temporary files."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, RadioSet, Static

from mmtui.flightsql import FlightSQLClient
from mmtui.ui.export_screen import ExportScreen
from tests.ui.test_results_pane_support import (
    SCREEN_SIZE,
    PaneApp,
    run_to_end,
    wait_for_rows,
    wait_until,
)

SERIES_SQL = "SELECT value AS n, value * 2 AS twice FROM generate_series(0, 99) ORDER BY n"


async def open_export(pilot: Pilot[None], app: PaneApp) -> ExportScreen:
    """Press `e` on the grid and return the export screen."""
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")
    screen = app.screen
    assert isinstance(screen, ExportScreen)
    return screen


async def submit_path(pilot: Pilot[None], screen: ExportScreen, path: str) -> str:
    """Type `path` into the export screen, press Enter and return the status line."""
    screen.query_one("#export-path", Input).value = path
    await pilot.pause()
    await pilot.press("enter")
    return export_status(screen)


def export_status(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-status", Static).content)


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as file:
        return list(csv.reader(file))


async def test_export_unknown_user_rejected(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        store = app.pane.store
        screen = await open_export(pilot, app)

        status = await submit_path(pilot, screen, "~nosuchuser-mmtui/x.csv")

        assert status == "Invalid path ~nosuchuser-mmtui/x.csv: no user named nosuchuser-mmtui."
        assert app.is_running
        assert app.screen is screen
        assert not screen.running
        assert app.pane.store is store
        assert app.grid.row_count == 100


async def test_export_directory_rejected(demo_client: FlightSQLClient, tmp_path: Path) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)

        for path in (f"{tmp_path}/", str(tmp_path)):
            status = await submit_path(pilot, screen, path)
            assert status == (
                f"Cannot export: {tmp_path} is a directory; enter a file name, "
                f"such as {tmp_path / 'results.csv'}."
            )
            assert not screen.running
        assert list(tmp_path.iterdir()) == []
        assert not (tmp_path.parent / f"{tmp_path.name}.part").exists()


async def test_export_asks_before_overwrite(demo_client: FlightSQLClient, tmp_path: Path) -> None:
    target = tmp_path / "existing.csv"
    other = tmp_path / "other.csv"
    target.write_text("precious\n")
    other.write_text("also precious\n")
    # A file of the user's that the old exporter used as its temporary file.
    user_part = tmp_path / "existing.csv.part"
    user_part.write_text("mine\n")
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)

        status = await submit_path(pilot, screen, str(target))
        assert status == f"{target} exists. Press Enter again to overwrite it."
        assert not screen.running
        assert target.read_text() == "precious\n"

        # Another path needs its own confirmation.
        status = await submit_path(pilot, screen, str(other))
        assert status == f"{other} exists. Press Enter again to overwrite it."
        status = await submit_path(pilot, screen, str(target))
        assert status == f"{target} exists. Press Enter again to overwrite it."
        assert target.read_text() == "precious\n"

        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")

        assert screen.rows_written == 100
        rows = csv_rows(target)
        assert rows[0] == ["n", "twice"]
        assert rows[1:3] == [["0", "0"], ["1", "2"]]
        assert len(rows) == 101
        assert other.read_text() == "also precious\n"
        assert user_part.read_text() == "mine\n"
        names = sorted(path.name for path in tmp_path.iterdir())
        assert names == ["existing.csv", "existing.csv.part", "other.csv"]


async def test_export_remembers_directory(demo_client: FlightSQLClient, tmp_path: Path) -> None:
    first = tmp_path / "first.parquet"
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)
        assert screen.query_one("#export-path", Input).value == "results.csv"
        screen.query_one("#export-path", Input).value = str(first)
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")
        assert first.exists()

        screen = await open_export(pilot, app)

        assert screen.query_one("#export-path", Input).value == str(tmp_path / "results.parquet")
        pressed = screen.query_one(RadioSet).pressed_button
        assert pressed is not None
        assert str(pressed.label) == "parquet"


async def test_export_user_error_logged_briefly(
    demo_client: FlightSQLClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The directory exists, so the path passes the checks; only writing the name fails.
    target = tmp_path / ("x" * 300 + ".csv")
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)
        with caplog.at_level(logging.INFO, logger="mmtui"):
            await submit_path(pilot, screen, str(target))
            await wait_until(pilot, lambda: not screen.running, "the export to fail")

        status = export_status(screen)
        assert status == f"Export failed: writing {target} failed: File name too long"
        assert app.screen is screen
        records = [r for r in caplog.records if r.name == "mmtui.ui.export_screen"]
        assert [r.levelno for r in records] == [logging.WARNING]
        assert records[0].exc_info is None
        assert str(target) in records[0].getMessage()
        assert ".mmtui-" not in records[0].getMessage()
        assert list(tmp_path.iterdir()) == []


async def test_export_one_row_singular(demo_client: FlightSQLClient, tmp_path: Path) -> None:
    target = tmp_path / "one.csv"
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "SELECT 'only' AS word")
        screen = await open_export(pilot, app)
        assert str(screen.query_one("#export-title", Static).content) == "Export 1 row"

        screen.query_one("#export-path", Input).value = str(target)
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")

        assert app.notifications[-1] == ("information", f"Exported 1 row to {target}")
        assert csv_rows(target) == [["word"], ["only"]]


async def test_export_format_sets_extension(
    demo_client: FlightSQLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default folder is the current directory, so the test runs in its own.
    monkeypatch.chdir(tmp_path)
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)
        path_input = screen.query_one("#export-path", Input)

        expected_names = [
            ("parquet", "results.parquet"),
            ("jsonl", "results.jsonl"),
            ("csv", "results.csv"),
            ("parquet", "results.parquet"),
        ]
        for fmt, name in expected_names:
            await pilot.click(f"#export-{fmt}")
            await pilot.pause()
            assert screen.selected_format == fmt
            assert path_input.value == name

        await pilot.click("#export-run")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")

        target = tmp_path / "results.parquet"
        assert app.notifications[-1] == ("information", f"Exported 100 rows to {target}")
        assert pq.read_table(target).column("twice").to_pylist()[:3] == [0, 2, 4]
        assert sorted(path.name for path in tmp_path.iterdir()) == ["results.parquet"]


async def test_export_format_keeps_other_extension(
    demo_client: FlightSQLClient, tmp_path: Path
) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)
        path_input = screen.query_one("#export-path", Input)

        cases = [
            (f"{tmp_path}/data.txt", "jsonl", f"{tmp_path}/data.txt"),
            (f"{tmp_path}/data.pq", "parquet", f"{tmp_path}/data.pq"),
            (f"{tmp_path}/data.pq", "csv", f"{tmp_path}/data.csv"),
            (f"{tmp_path}/data.NDJSON", "parquet", f"{tmp_path}/data.parquet"),
        ]
        for typed, fmt, expected in cases:
            path_input.value = typed
            await pilot.pause()
            await pilot.click(f"#export-{fmt}")
            await pilot.pause()
            assert screen.selected_format == fmt
            assert path_input.value == expected


async def test_export_messages_show_absolute_path(
    demo_client: FlightSQLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "results.csv"
    target.write_text("precious\n")
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)
        folder = str(screen.query_one("#export-folder", Static).content)
        assert folder == f"Relative paths are saved in {tmp_path}"

        status = await submit_path(pilot, screen, "results.csv")
        assert status == f"{target} exists. Press Enter again to overwrite it."

        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")

        assert app.notifications[-1] == ("information", f"Exported 100 rows to {target}")
        assert len(csv_rows(target)) == 101


async def test_export_title_follows_streaming_rows(fault_client: FlightSQLClient) -> None:
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        # 40 batches of 10 rows, one every 50 ms.
        app.run_sql("SELECT 1 -- fault:trickle:40")
        await wait_for_rows(pilot, app, 10)
        screen = await open_export(pilot, app)

        def title() -> str:
            return str(screen.query_one("#export-title", Static).content)

        assert title().endswith(" rows so far (the query is still running)")
        assert title() != "Export 400 rows"
        await wait_until(pilot, lambda: title() == "Export 400 rows", "the final row count")
        assert app.pane.store is screen.store
        assert screen.store.row_count == 400


async def test_export_no_columns_rejected(fault_client: FlightSQLClient, tmp_path: Path) -> None:
    # The result has 3 rows and no column, so the screen rejects the export and writes nothing.
    target = tmp_path / "empty.csv"
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "fault:no_columns")
        screen = await open_export(pilot, app)
        assert str(screen.query_one("#export-title", Static).content) == "Export 3 rows"

        status = await submit_path(pilot, screen, str(target))
        await pilot.pause()

        assert status == "The result has no columns, so there is nothing to export."
        assert app.screen is screen
        assert not screen.running
        assert app.notifications == []
        assert list(tmp_path.iterdir()) == []


async def test_export_dialog_fits_narrow_screen(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=(60, 20)) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        screen = await open_export(pilot, app)
        await pilot.pause()
        box = screen.query_one("#export-box")
        cancel = screen.query_one("#export-cancel")
        assert box.region.right <= 60
        assert cancel.region.right <= 60
        assert cancel.region.width > 0
