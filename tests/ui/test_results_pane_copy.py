"""Copying from the grid and the detail view against the demo server: text, TSV and limits."""

from __future__ import annotations

import json
import threading

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from mmtui.flightsql import FlightSQLClient
from mmtui.ui import detail_screen
from mmtui.ui.detail_screen import OSC52_MAX_BYTES, DetailScreen, TextView, osc52_bytes
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


async def test_copy_row_json_duplicate_names(demo_client: FlightSQLClient) -> None:
    sql = (
        "SELECT a.msg, b.msg, a.n FROM (SELECT 'first' AS msg, 1 AS n) AS a"
        " CROSS JOIN (SELECT 'second' AS msg) AS b"
    )
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, sql)

        await pilot.press("J")

        # Python's json module keeps only the last member of a name, so the repeat is renamed.
        assert app.clipboard == '{"msg": "first", "msg_2": "second", "n": 1}'
        assert json.loads(app.clipboard) == {"msg": "first", "msg_2": "second", "n": 1}
        assert app.notifications[-1] == ("information", "Copied row as JSON (43 characters)")


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


def test_osc52_bytes_counts_base64_of_utf8() -> None:
    assert osc52_bytes("") == len("52;c;")
    assert osc52_bytes("abc") == len("52;c;") + 4
    assert osc52_bytes("abcd") == len("52;c;") + 8
    # "é" is 2 UTF-8 bytes and "日" 3, so 5 bytes take 8 Base64 characters.
    assert osc52_bytes("é日") == len("52;c;") + 8


def test_osc52_limit_boundary() -> None:
    # 786,426 ASCII characters make an OSC 52 string of 1,048,573 bytes, the longest in 1 MiB.
    assert osc52_bytes("x" * 786_426) <= OSC52_MAX_BYTES
    assert osc52_bytes("x" * 786_427) > OSC52_MAX_BYTES


async def test_detail_copy_over_limit_refused(demo_client: FlightSQLClient) -> None:
    # tmux 3.3a drops the OSC 52 copy of a value this long.
    size = 800_000
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, f"SELECT repeat('x', {size}) AS big")
        screen = await open_detail(pilot, app)
        assert len(screen.text) == size

        await pilot.press("c")

        assert app.clipboard == ""
        assert app.notifications[-1] == (
            "warning",
            "Value is 800,000 characters, 1,066,673 bytes as an OSC 52 copy, and tmux drops "
            "copies over 1,048,576 bytes. Use export instead.",
        )


async def test_grid_copy_under_limit_copies(demo_client: FlightSQLClient) -> None:
    size = 500_000
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, f"SELECT repeat('x', {size}) AS half")

        await pilot.press("c")

        assert app.clipboard == "x" * size
        assert app.notifications[-1] == ("information", "Copied cell (500,000 characters)")


async def test_detail_footer_counts_singular(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "SELECT 'x' AS one")
        screen = await open_detail(pilot, app)

        info = str(screen.query_one("#detail-info", Static).content)
        assert info == "1 character · 1 line · esc close · c copy · z UTC/local"


async def test_copy_row_json_keeps_nanoseconds(demo_client: FlightSQLClient) -> None:
    sql = (
        "SELECT arrow_cast(1500, 'Time64(Nanosecond)') AS t,"
        " [arrow_cast(1500, 'Time64(Nanosecond)')] AS times,"
        " arrow_cast(1500, 'Time64(Microsecond)') AS micros"
    )
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, sql)

        await pilot.press("J")

        # pyarrow's as_py makes time64[ns] a datetime.time, which has no nanoseconds.
        assert json.loads(app.clipboard) == {
            "t": "00:00:00.000001500",
            "times": ["00:00:00.000001500"],
            "micros": "00:00:00.001500",
        }


async def test_copy_row_json_over_limit_message(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "SELECT repeat('x', 800000) AS big")

        await pilot.press("J")

        assert app.clipboard == ""
        severity, message = app.notifications[-1]
        assert severity == "warning"
        assert message.startswith("Row as JSON is 800,011 characters"), message


async def test_detail_wraps_off_ui_thread(
    demo_client: FlightSQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wrapping 2.5 million lines took 1.5 s, during which the UI thread drew nothing.
    wrapping_threads: set[str] = set()
    wrap_line = detail_screen.wrap_line

    def recording_wrap_line(line: str, width: int) -> list[tuple[int, int]]:
        wrapping_threads.add(threading.current_thread().name)
        return wrap_line(line, width)

    monkeypatch.setattr(detail_screen, "wrap_line", recording_wrap_line)
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        await run_to_end(pilot, app, "SELECT repeat('x' || chr(10), 20000) AS lines")
        screen = await open_detail(pilot, app)
        view = screen.query_one(TextView)
        await wait_until(pilot, lambda: view.line_count == 20001, "the wrapped value")
        await pilot.resize_terminal(SCREEN_SIZE[0] - 20, SCREEN_SIZE[1])
        await wait_until(pilot, lambda: view.wrapped.width == view.wrap_width, "the new wrap")

        assert view.row_text(19999) == "x"
        assert view.row_text(20000) == ""
        assert wrapping_threads
        assert threading.main_thread().name not in wrapping_threads


async def test_detail_footer_shows_remapped_keys(demo_client: FlightSQLClient) -> None:
    app = PaneApp(demo_client)
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        app.set_keymap({"detail.copy": "y", "detail.close": "ctrl+w"})
        await run_to_end(pilot, app, "SELECT 'x' AS one")
        screen = await open_detail(pilot, app)

        info = str(screen.query_one("#detail-info", Static).content)
        assert info == "1 character · 1 line · ^w close · y copy · z UTC/local"
        await pilot.press("y")
        assert app.clipboard == "x"
