"""Copying from the grid and the detail view against the demo server: text, TSV and limits."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Static

from mmtui.flightsql import FlightSQLClient
from mmtui.ui.detail_screen import MAX_CLIPBOARD_CHARS, DetailScreen
from tests.ui.test_results_pane_support import SCREEN_SIZE, PaneApp, run_to_end, wait_until

CONTROLS_SQL = (
    "SELECT 'a' || chr(9) || 'b' || chr(10) || 'c' || chr(27) || '[31m' || chr(92) AS v, 'x' AS w"
)


async def open_detail(pilot: Pilot[None], app: PaneApp) -> DetailScreen:
    """Press Enter on the grid and return the detail screen once its value is loaded."""
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    await wait_until(pilot, lambda: screen.text != "", "the cell value", timeout=10)
    return screen


async def test_copy_keeps_tabs_not_escapes(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, CONTROLS_SQL)

        await pilot.press("c")
        assert app.clipboard == "a\tb\nc\u241b[31m\\"
        assert app.notifications[-1] == ("information", "Copied cell (11 characters)")

        await pilot.press("C")
        assert app.clipboard == '"a\tb\nc\u241b[31m\\"\tx'

        screen = await open_detail(pilot, app)
        app.copy_to_clipboard("")
        await pilot.press("c")
        assert app.clipboard == "a\tb\nc\u241b[31m\\"
        assert app.notifications[-1] == ("information", "Copied value (11 characters)")
        assert screen.text == "a\u2409b\nc\u241b[31m\\"


async def test_copy_row_tsv_spreadsheet_quoting(demo_client: FlightSQLClient) -> None:
    sql = (
        "SELECT 'C:' || chr(92) || 'Program Files' || chr(92) || 'x' AS path,"
        " 'say \"hi\"' AS quoted, 'a' || chr(9) || 'b' AS tabbed,"
        " 'one' || chr(13) || chr(10) || 'two' AS lines, 'plain' AS word"
    )
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, sql)

        await pilot.press("C")

        fields = [
            "C:\\Program Files\\x",
            '"say ""hi"""',
            '"a\tb"',
            '"one\r\ntwo"',
            "plain",
        ]
        assert app.clipboard == "\t".join(fields)
        assert app.notifications[-1] == ("information", "Copied row (54 characters)")


async def test_detail_names_level(demo_client: FlightSQLClient) -> None:
    sql = (
        "SELECT * FROM ((SELECT level, msg FROM log_entries WHERE level = 2 LIMIT 1)"
        " UNION ALL (SELECT arrow_cast(9, 'Int32') AS level, 'unknown level' AS msg)) AS t"
        " ORDER BY level"
    )
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, sql)
        store = app.pane.store
        assert store is not None
        assert store.window(0, 2).column("level").to_pylist() == [2, 9]
        assert app.grid.line_text(1).split()[0] == "ERROR"

        screen = await open_detail(pilot, app)
        assert screen.text == "ERROR (2)"
        await pilot.press("c")
        assert app.clipboard == "2"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, DetailScreen), "the grid")

        await pilot.press("down")
        screen = await open_detail(pilot, app)
        assert screen.text == "9"


async def test_detail_copy_over_limit_refused(demo_client: FlightSQLClient) -> None:
    size = MAX_CLIPBOARD_CHARS + 1
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, f"SELECT repeat('x', {size}) AS big")
        screen = await open_detail(pilot, app)
        assert len(screen.text) == size

        await pilot.press("c")

        assert app.clipboard == ""
        assert app.notifications[-1] == (
            "warning",
            "Value is 1,000,001 characters; the clipboard takes at most 1,000,000. "
            "Use export instead.",
        )


async def test_detail_footer_counts_singular(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "SELECT 'x' AS one")
        screen = await open_detail(pilot, app)

        info = str(screen.query_one("#detail-info", Static).content)
        assert info == "1 character · 1 line · Esc close · c copy · z UTC/local"
