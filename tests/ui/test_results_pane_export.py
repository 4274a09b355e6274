"""Export screen path handling against the demo server: bad paths, overwrite, temporary files."""

from __future__ import annotations

import csv
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, RadioSet, Static

from mmtui.flightsql import FlightSQLClient
from mmtui.ui.export_screen import ExportScreen
from tests.ui.test_app_support import screen_text
from tests.ui.test_results_pane_support import (
    SCREEN_SIZE,
    WAIT_SECONDS,
    PaneApp,
    run_to_end,
    wait_for_rows,
    wait_until,
)

SERIES_SQL = "SELECT value AS n, value * 2 AS twice FROM generate_series(0, 99) ORDER BY n"

# 10 rows every 50 ms for more than an hour: the query still runs when each test ends.
ENDLESS_TRICKLE_SQL = "SELECT 1 -- fault:trickle:100000"

CONFIRMED_TITLE = re.compile(r"Export ([\d,]+) rows \(rows that arrive later are not exported\)")
"""The title once the user confirmed an export while the query still runs."""


class CallGate:
    """Gate that makes the first call of a patched method wait until the test releases it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        """Set when the first call has started and waits."""
        self.released = threading.Event()

    def hold(self) -> None:
        if not self.released.is_set():
            self.reached.set()
            self.released.wait(WAIT_SECONDS)


@contextmanager
def hold_first_call(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> Iterator[CallGate]:
    """Make the first call of `owner.name` (from any thread) wait until the gate is released.

    The gate is released on exit, so a failing test never leaves the export thread waiting.
    """
    gate = CallGate()
    original = getattr(owner, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        gate.hold()
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, held)
    try:
        yield gate
    finally:
        gate.released.set()


@contextmanager
def hold_first_csv_batch(monkeypatch: pytest.MonkeyPatch) -> Iterator[CallGate]:
    """Make the first `write_batch` of pyarrow's CSV writer wait until the gate is released."""
    gate = CallGate()

    # pyarrow's CSVWriter is a compiled type whose methods cannot be replaced, so the export
    # gets a subclass.
    class HeldCSVWriter(pacsv.CSVWriter):
        def write_batch(self, *args: Any, **kwargs: Any) -> None:
            gate.hold()
            super().write_batch(*args, **kwargs)

    monkeypatch.setattr(pacsv, "CSVWriter", HeldCSVWriter)
    try:
        yield gate
    finally:
        gate.released.set()


def footer_line(app: App[Any]) -> str:
    """Return the bottom line of the screen as the user sees it."""
    return screen_text(app).rstrip("\n").split("\n")[-1]  # type: ignore[arg-type]


def part_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".part"))


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


def export_title(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-title", Static).content)


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


async def test_export_file_mode_follows_umask(demo_client: FlightSQLClient, tmp_path: Path) -> None:
    existing = tmp_path / "shared.csv"
    existing.write_text("old\n")
    existing.chmod(0o640)
    new = tmp_path / "new.csv"
    old_umask = os.umask(0o022)
    try:
        app = PaneApp(demo_client)
        async with app.run_test(size=SCREEN_SIZE) as pilot:
            await run_to_end(pilot, app, SERIES_SQL)

            screen = await open_export(pilot, app)
            screen.query_one("#export-path", Input).value = str(new)
            await pilot.pause()
            await pilot.press("enter")
            await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "export")

            screen = await open_export(pilot, app)
            status = await submit_path(pilot, screen, str(existing))
            assert status == f"{existing} exists. Press Enter again to overwrite it."
            await pilot.press("enter")
            await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "export")
    finally:
        os.umask(old_umask)

    assert len(csv_rows(new)) == 101
    assert len(csv_rows(existing)) == 101
    # As `>` in a shell: a new file gets 0666 less the umask, a replaced one keeps its mode.
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640


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
        hint = str(screen.query_one("#export-format-hint", Static).content)
        assert hint == "The extension sets the format, or Tab to the buttons."

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


async def test_export_running_query_writes_confirmed_rows(
    fault_client: FlightSQLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "running.parquet"
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.run_sql(ENDLESS_TRICKLE_SQL)
        await wait_for_rows(pilot, app, 30)
        store = app.pane.store
        screen = await open_export(pilot, app)

        # The writer waits before it opens the file, while more rows arrive.
        with hold_first_call(monkeypatch, pq.ParquetWriter, "__init__") as gate:
            await submit_path(pilot, screen, str(target))
            await wait_until(pilot, gate.reached.is_set, "the writer to start")
            title = export_title(screen)
            match = CONFIRMED_TITLE.fullmatch(title)
            assert match is not None, title
            confirmed = int(match.group(1).replace(",", ""))
            await wait_until(
                pilot, lambda: app.pane.store.row_count > confirmed, "rows after the confirm"
            )
            # What the title timer runs every TITLE_INTERVAL while the query streams.
            screen._refresh_title()
            await pilot.pause()
            assert export_title(screen) == title

        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")

        assert screen.rows_written == confirmed
        assert pq.read_metadata(target).num_rows == confirmed
        ids = pq.read_table(target).column("id").to_pylist()
        assert ids == list(range(confirmed))
        rows_text = f"{confirmed:,} rows"
        assert app.notifications[-1] == ("information", f"Exported {rows_text} to {target}")
        assert app.pane.is_running
        assert app.pane.store is store
        assert store.row_count > confirmed
        assert part_files(tmp_path) == []
        app.pane.cancel()
        await wait_until(pilot, lambda: app.pane.state == "cancelled", "the query's cancel")


@pytest.mark.parametrize("how", ["escape", "button"])
async def test_export_cancel_deletes_partial_file(
    fault_client: FlightSQLClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    target = tmp_path / "cancelled.csv"
    app = PaneApp(fault_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.run_sql(ENDLESS_TRICKLE_SQL)
        await wait_for_rows(pilot, app, 30)
        store = app.pane.store
        assert "esc Cancel query" in footer_line(app)
        screen = await open_export(pilot, app)
        await pilot.pause()
        # Esc closes the dialog here, so the footer must not offer it as the query's cancel.
        assert "esc Close" in footer_line(app)
        assert "Cancel query" not in footer_line(app)

        # The writer waits inside the file's first batch.
        with hold_first_csv_batch(monkeypatch) as gate:
            await submit_path(pilot, screen, str(target))
            await wait_until(pilot, gate.reached.is_set, "the first batch")
            assert len(part_files(tmp_path)) == 1
            assert "esc Cancel export" in footer_line(app)
            assert "Cancel query" not in footer_line(app)

            if how == "escape":
                await pilot.press("escape")
            else:
                await pilot.click("#export-cancel")
            await pilot.pause()
            assert export_status(screen) == "Cancelling the export …"
            assert app.screen is screen

        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the cancel")

        assert app.notifications[-1] == (
            "information",
            f"Export cancelled: nothing was written to {target}.",
        )
        assert screen.rows_written is None
        assert list(tmp_path.iterdir()) == []
        # The query and its rows are untouched.
        assert app.pane.is_running
        assert app.pane.store is store
        await wait_until(pilot, lambda: app.grid.row_count > 30, "rows after the cancel")
        app.pane.cancel()
        await wait_until(pilot, lambda: app.pane.state == "cancelled", "the query's cancel")
