"""The main user story on the demo server: type a query, see a hint, run it with F5."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pyarrow as pa
import pytest

from mmtui.auth import AppSettings
from mmtui.demo import DemoServerHandle
from mmtui.ui.hints import HINT_DELAY
from tests.ui.test_app_support import (
    SIZE,
    make_app,
    run_and_wait,
    screen_text,
    set_editor_text,
    wait_for,
    wait_hint,
    wait_schema,
)

STORY_SQL = (
    "SELECT time, exe, level, msg FROM log_entries WHERE level <= 2 ORDER BY time DESC LIMIT 500"
)


async def test_user_story_hint_then_run(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="24h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        app.editor.load_text("")
        app.editor.focus()
        await pilot.press(*STORY_SQL)
        typed_at = time.monotonic()
        assert app.editor.text == STORY_SQL

        await wait_hint(pilot, STORY_SQL, "✓ valid")
        latency = app.hints.last_shown_at - typed_at
        print(f"hint shown {latency * 1000:.0f} ms after the last keystroke")
        # The pause is HINT_DELAY; planning on the local demo server adds tens of ms.
        assert latency < HINT_DELAY + 0.5
        hint = app.hints.last_text
        assert "4 columns" in hint
        assert "est. 112 B/row" in hint  # timestamp 8 + dict<utf8> 50 + int32 4 + utf8 50
        assert "level int32" in hint
        assert "No time range" not in hint
        assert "Tab" not in screen_text(app).split("\n")[0]

        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "done", "the query to finish")
        store = app.results.store
        assert store is not None
        assert 0 < store.row_count <= 500
        levels = set(store.window(0, store.row_count).column("level").to_pylist())
        assert levels <= {1, 2}
        assert "done" in app.results.status_text
        assert f"{store.row_count:,} rows" in app.results.status_text
        # Move the grid cursor to the level column (third) so it is scrolled into view.
        await pilot.press("f4", "right", "right")
        screen = screen_text(app)
        assert "ERROR" in screen or "FATAL" in screen
        assert app.history.entries[-1].sql == STORY_SQL


async def test_first_start_typing_replaces_example(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="24h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        assert "FROM log_entries" in app.editor.text
        assert app.editor.selected_text.startswith("SELECT time, exe, level, msg")

        await pilot.press(*"SELECT 42 AS answer")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "done", "the query to finish")

        assert "log_entries" not in app.editor.text
        assert app.editor.text.startswith("-- F5 or Ctrl+J runs")
        store = app.results.store
        assert store is not None
        assert store.window(0, 1).column("answer").to_pylist() == [42]


DICTIONARY_SQL = "SELECT exe, properties FROM log_entries ORDER BY time LIMIT 50"


async def run_dictionary_query(uri: str, state_dir: Path, preserve: bool) -> list[str]:
    """Run DICTIONARY_SQL in the app with `preserve_dictionary` set; return the grid's lines."""
    app = make_app(uri, state_dir, app_settings=AppSettings(preserve_dictionary=preserve))
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, DICTIONARY_SQL)
        await wait_hint(pilot, DICTIONARY_SQL, "✓ valid")

        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "done", "the query to finish")
        store = app.results.store
        assert store is not None
        assert store.row_count == 50
        assert pa.types.is_dictionary(store.schema.field("exe").type) is preserve
        assert pa.types.is_dictionary(store.schema.field("properties").type) is preserve

        lines = [line.split("│")[-1] for line in screen_text(app).splitlines()]
        header = next(
            i for i, line in enumerate(lines) if line.split()[:2] == ["exe", "properties"]
        )
        grid_lines = lines[header : header + 16]
        first_exe = store.scalar(0, 0).as_py()
        assert isinstance(first_exe, str)
        assert first_exe in grid_lines[1]
        assert any('{"' in line for line in grid_lines)  # properties show as JSON, not bytes
        return grid_lines


async def test_dictionary_columns_stay_encoded(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    """The app requests dictionary-encoded columns (`preserve_dictionary`) unless the settings
    turn it off, and shows their values the same way either way."""
    encoded = await run_dictionary_query(demo_server.uri, tmp_path / "encoded", True)
    decoded = await run_dictionary_query(demo_server.uri, tmp_path / "decoded", False)
    assert encoded == decoded


COUNT_SQL_START = "SELECT COUNT(*) AS row_count FROM ("


async def test_count_estimate_setting(
    demo_server: DemoServerHandle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mmtui.demo.server")

    def counts_sent() -> int:
        return sum(COUNT_SQL_START in record.getMessage() for record in caplog.records)

    for enabled in (True, False):
        caplog.clear()
        settings = AppSettings(count_estimate=enabled)
        app = make_app(demo_server.uri, tmp_path / str(enabled), app_settings=settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            assert app.results.estimate_count is enabled
            await run_and_wait(pilot, "SELECT msg FROM log_entries LIMIT 5")

            if enabled:
                await wait_for(pilot, lambda: counts_sent() >= 1, "the COUNT(*) estimate")
            else:
                # The estimate is sent as the query starts, so by the end of a second query
                # it would have been logged.
                await run_and_wait(pilot, "SELECT 1")
                assert counts_sent() == 0
