"""Grid display rules against the demo server: JSONB binaries, compact UTC offsets, zones."""

from __future__ import annotations

import json

import pytest

from mmtui.demo import DemoServerHandle
from mmtui.flightsql import FlightSQLClient
from mmtui.results import decode_jsonb
from mmtui.ui.detail_screen import DetailScreen
from tests.ui.test_results_pane_support import (
    SCREEN_SIZE,
    PaneApp,
    grid_lines,
    run_to_end,
    wait_until,
)

PROPERTIES_SQL = (
    "SELECT properties, msg FROM log_entries WHERE properties_length(properties) > 0 "
    "ORDER BY time LIMIT 3"
)
NANOS = 1_700_000_000_123_456_789
TIMES_SQL = (
    f"SELECT arrow_cast(to_timestamp_nanos({NANOS}), 'Timestamp(Nanosecond, Some(\"+00:00\"))')"
    f" AS utc, to_timestamp_nanos({NANOS}) AS naive, 'x' AS w"
)


async def test_grid_jsonb_binary_as_json(demo_client: FlightSQLClient) -> None:
    table = demo_client.query(PROPERTIES_SQL)
    assert str(table.schema.field("properties").type) == "binary"
    first = decode_jsonb(table.column("properties")[0].as_py())
    assert isinstance(first, dict)
    assert first
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, PROPERTIES_SQL)

        cell = grid_lines(app.grid)[1].strip()
        compact = json.dumps(first, ensure_ascii=False, separators=(",", ":"))
        assert cell.startswith(compact[:30])
        assert "0x" not in cell

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await wait_until(pilot, lambda: screen.text != "", "the cell value")
        assert json.loads(screen.text) == first
        assert screen.text.splitlines()[0] == "{"


async def test_grid_time_compact_utc(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, TIMES_SQL)

        lines = grid_lines(app.grid)
        # 1 blank + 30 cells + 2 blanks, then the naive column: 29 cells, no offset.
        assert lines[0].startswith(" utc" + " " * 29 + "naive" + " " * 26 + "w")
        assert lines[1].startswith(
            " 2023-11-14 22:13:20.123456789Z  2023-11-14 22:13:20.123456789  x"
        )

        # The detail view keeps the full offset.
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await wait_until(pilot, lambda: screen.text != "", "the cell value")
        assert screen.text == "2023-11-14 22:13:20.123456789+00:00"


DICTIONARY_TIMES_SQL = (
    f"SELECT arrow_cast(arrow_cast(to_timestamp_nanos({NANOS}), "
    "'Timestamp(Nanosecond, Some(\"+00:00\"))'), "
    "'Dictionary(Int32, Timestamp(Nanosecond, Some(\"+00:00\")))') AS utc, 'x' AS w"
)


async def test_grid_dictionary_time_compact_utc(demo_server: DemoServerHandle) -> None:
    # The server keeps the column dictionary-encoded only with preserve_dictionary, as mmtui sets.
    client = FlightSQLClient(demo_server.uri, preserve_dictionary=True)
    app = PaneApp(client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, DICTIONARY_TIMES_SQL)
        store = app.pane.store
        assert store is not None
        assert str(store.schema.field("utc").type).startswith("dictionary<values=timestamp")

        # As wide as a plain UTC timestamp column (30 cells), and written with Z.
        lines = grid_lines(app.grid)
        assert lines[0].startswith(" utc" + " " * 29 + "w")
        assert lines[1].startswith(" 2023-11-14 22:13:20.123456789Z  x")
    client.close()


async def test_grid_display_tz_switch(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, TIMES_SQL)
        assert app.pane.display_tz is None

        app.pane.display_tz = "Asia/Tokyo"
        await pilot.pause()
        assert app.grid.display_tz == "Asia/Tokyo"
        tokyo = "2023-11-15 07:13:20.123456789+09:00"
        assert grid_lines(app.grid)[1].split() == [*tokyo.split(), *tokyo.split(), "x"]

        app.pane.display_tz = None
        await pilot.pause()
        assert grid_lines(app.grid)[1].split() == [
            "2023-11-14",
            "22:13:20.123456789Z",
            "2023-11-14",
            "22:13:20.123456789",
            "x",
        ]

        app.pane.display_tz = "local"
        await pilot.pause()
        assert app.pane.display_tz == "local"
        with pytest.raises(ValueError, match="Mars/Olympus"):
            app.pane.display_tz = "Mars/Olympus"
        assert app.pane.display_tz == "local"


async def test_grid_cursor_visible_after_shrink(demo_client: FlightSQLClient) -> None:
    sql = "SELECT time, process_id, exe, level, target, msg FROM log_entries LIMIT 50"
    app = PaneApp(demo_client)
    async with app.run_test(size=(200, 50)) as pilot:
        await run_to_end(pilot, app, sql)
        grid = app.grid
        grid.focus()
        await pilot.press("ctrl+right")
        await pilot.pause()
        last = grid.cursor_column
        assert last == 5

        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: grid.size.width <= 80, "the grid to shrink")
        await pilot.pause()

        left = grid._offsets[last]
        right = grid._offsets[last + 1]
        view = grid.scrollable_content_region
        assert grid.scroll_x <= left
        assert right <= grid.scroll_x + view.width or left == grid.scroll_x
