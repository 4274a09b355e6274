"""Result grid against the demo server: first rows, row counts, cursor keys, level columns."""

from __future__ import annotations

from rich.style import Style

from mmtui.flightsql import FlightSQLClient
from mmtui.ui.grid import ResultGrid
from tests.ui.test_results_pane_support import (
    SCREEN_SIZE,
    PaneApp,
    grid_lines,
    run_to_end,
    status_rows,
    wait_for_rows,
)

SERIES_ROWS = 10_000
SERIES_SQL = (
    "SELECT value AS n, value * 2 AS twice, 'row ' || arrow_cast(value, 'Utf8') AS label "
    f"FROM generate_series(0, {SERIES_ROWS - 1}) ORDER BY n"
)
WIDE_SQL = (
    "SELECT value AS n, repeat('x', 60) AS wide1, repeat('y', 60) AS wide2, 'END' AS tail "
    "FROM generate_series(0, 99) ORDER BY n"
)


def label_column(line: str) -> str:
    """Return the text of the last cell of a grid line of SERIES_SQL."""
    return line.split("row ", 1)[-1].strip() if "row " in line else ""


async def test_grid_first_rows_visible(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.run_sql(SERIES_SQL)
        await wait_for_rows(pilot, app)

        lines = grid_lines(app.grid)
        assert lines[0].split() == ["n", "twice", "label"]
        assert lines[1].split() == ["0", "0", "row", "0"]
        assert lines[2].split() == ["1", "2", "row", "1"]


async def test_grid_row_count_matches_server(demo_client: FlightSQLClient) -> None:
    sql = "SELECT time, process_id, level, msg FROM log_entries"
    expected = demo_client.query("SELECT COUNT(*) AS n FROM log_entries").column(0)[0].as_py()
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, sql)

        assert app.pane.state == "done"
        assert expected > 100_000
        assert status_rows(app.pane.status_text) == expected
        assert app.grid.row_count == expected
        assert app.pane.status_text.startswith("done · ")


async def test_grid_cursor_rows_and_pages(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        grid = app.grid
        page = grid.scrollable_content_region.height - 1

        await pilot.press("down", "down", "down")
        assert grid.cursor_row == 3
        assert label_column(grid_lines(grid)[4]) == "3"
        assert grid.has_focus
        cursor_colour = grid.get_component_rich_style("result-grid--cursor").bgcolor
        cursor_cells = [
            segment.text
            for segment in grid.render_line(4)
            if segment.style is not None and segment.style.bgcolor == cursor_colour
        ]
        assert [text.strip() for text in cursor_cells] == ["3"]

        await pilot.press("pagedown")
        assert grid.cursor_row == 3 + page
        lines = grid_lines(grid)
        # The view scrolled by a page, so the cursor keeps its line on screen.
        assert label_column(lines[4]) == str(3 + page)
        assert label_column(lines[1]) == str(page)

        await pilot.press("pageup")
        assert grid.cursor_row == 3
        assert label_column(grid_lines(grid)[1]) == "0"

        await pilot.press("end")
        assert grid.cursor_row == SERIES_ROWS - 1
        lines = grid_lines(grid)
        assert label_column(lines[-1]) == str(SERIES_ROWS - 1)
        assert label_column(lines[1]) == str(SERIES_ROWS - page)

        await pilot.press("up")
        assert grid.cursor_row == SERIES_ROWS - 2

        await pilot.press("home")
        assert grid.cursor_row == 0
        assert label_column(grid_lines(grid)[1]) == "0"

        await pilot.press("up")
        assert grid.cursor_row == 0


async def test_grid_click_moves_cursor(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, SERIES_SQL)
        grid = app.grid
        label_x = grid_lines(grid)[0].index("label")

        await pilot.click(ResultGrid, offset=(label_x, 5))
        assert grid.cursor_row == 4
        assert grid.cursor_column == 2

        # A click on the header moves nothing.
        await pilot.click(ResultGrid, offset=(1, 0))
        assert (grid.cursor_row, grid.cursor_column) == (4, 2)


async def test_grid_columns_scroll_into_view(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, WIDE_SQL)
        grid = app.grid
        assert "tail" not in grid_lines(grid)[0]

        await pilot.press("right")
        assert grid.cursor_column == 1
        await pilot.press("ctrl+right")
        assert grid.cursor_column == 3
        lines = grid_lines(grid)
        assert lines[0].split()[-1] == "tail"
        assert lines[1].split()[-1] == "END"
        assert grid.scroll_x > 0

        await pilot.press("left")
        assert grid.cursor_column == 2

        await pilot.press("ctrl+left")
        assert grid.cursor_column == 0
        assert grid.scroll_x == 0
        assert grid_lines(grid)[0].split()[0] == "n"


async def test_grid_level_names_and_colours(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "SELECT DISTINCT level FROM log_entries ORDER BY level")
        grid = app.grid
        lines = grid_lines(grid)
        names = [line.strip() for line in lines[1:7]]
        assert names == ["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"]

        def level_style(y: int) -> Style:  # the style of the cell text on screen line y
            strip = grid.render_line(y)
            style = next(segment.style for segment in strip if segment.text.strip())
            assert style is not None
            return style

        error_colour = grid.get_component_rich_style("result-grid--level-error").color
        warn_colour = grid.get_component_rich_style("result-grid--level-warn").color
        assert error_colour is not None
        assert warn_colour is not None
        assert error_colour != warn_colour
        # Line 1 (FATAL) carries the cursor; lines 2-6 show the level styles alone.
        assert level_style(2).color == error_colour
        assert level_style(3).color == warn_colour
        assert level_style(4).color == grid.rich_style.color
        assert level_style(5).dim
        assert level_style(6).dim
        assert not level_style(4).dim
