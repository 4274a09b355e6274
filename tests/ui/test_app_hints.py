"""Live validation: the error position marked in the editor, advice texts, stale replies.

Ctrl+G also goes to the position of a failed query's error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from textual.strip import Strip

from mmtui.auth import AppSettings
from mmtui.demo import DemoServerHandle
from mmtui.sqlhints import Statement
from mmtui.ui.app import MmtuiApp
from mmtui.ui.editor import ERROR_STYLE
from tests.fault_server import FaultServerHandle
from tests.ui.test_app_keys import last_notification
from tests.ui.test_app_support import (
    SIZE,
    make_app,
    screen_text,
    set_editor_text,
    wait_for,
    wait_hint,
    wait_schema,
)


async def test_misspelled_column_marks_position(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    buffer = "SELECT 1;\n\nSELECT time,\n       mesg\nFROM log_entries;"
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, buffer)
        app.editor.move_cursor((3, 3))
        await pilot.pause()
        hint = await wait_hint(pilot, "SELECT time,\n       mesg\nFROM log_entries", "✗")
        assert "mesg" in hint
        # "mesg" is on buffer row 4, column 8 (1-based): line 2, column 8 of the statement.
        assert hint.startswith("✗ line 4, column 8:")
        assert app.editor.error_location == (3, 7)
        # The mark is painted on screen, over the cursor line's own style.
        strip = app.editor.render_line(3 - app.editor.scroll_offset.y)
        marked = "".join(
            segment.text
            for segment in strip
            if segment.style is not None and segment.style.bgcolor == ERROR_STYLE.bgcolor
        )
        assert marked == "mesg"

        await pilot.press("ctrl+g")
        assert app.editor.selected_text == "mesg"
        # The selected word is there to be typed over: validation and F5 still take the
        # whole statement, not the word alone.
        statement = app.editor.statement_under_cursor()
        assert statement is not None
        assert statement.text == "SELECT time,\n       mesg\nFROM log_entries"
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "failed", "the query to fail")
        assert "mesg" in app.results.error_text
        assert "ParserError" not in app.results.error_text


def cell_styles(strip: Strip) -> list[Style]:
    """Return the style of each screen cell of a rendered line."""
    styles: list[Style] = []
    for segment in strip:
        styles += [segment.style or Style()] * cell_len(segment.text)
    return styles


async def test_goto_error_keeps_selection_visible(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        editor = app.editor
        editor.cursor_blink = False
        selection_style = editor.get_component_rich_style("text-area--selection")
        cursor_style = editor.get_component_rich_style("text-area--cursor")

        # A misspelled name: Ctrl+G selects it, and the selection shows through the mark.
        await set_editor_text(pilot, "SELECT mesg FROM log_entries")
        await wait_hint(pilot, "SELECT mesg FROM log_entries", "✗")
        await pilot.press("ctrl+g")
        assert editor.selected_text == "mesg"
        word = cell_styles(editor.render_line(0))[editor.gutter_width + 7 :][:4]
        for style in word:
            assert style.bgcolor == selection_style.bgcolor
            assert style.bgcolor != ERROR_STYLE.bgcolor
            assert style.underline

        # A missing token past the end of the line: the cursor sits on the marked blank.
        await set_editor_text(pilot, "SELECT time FROM")
        await wait_hint(pilot, "SELECT time FROM", "✗")
        assert editor.error_location == (0, 16)
        editor.move_cursor((0, 0))
        await pilot.press("ctrl+g")
        assert editor.cursor_location == (0, 16)
        blank = cell_styles(editor.render_line(0))[editor.gutter_width + 16]
        assert blank.bgcolor == cursor_style.bgcolor
        assert blank.bgcolor != ERROR_STYLE.bgcolor
        assert blank.underline

        # Away from the error, the mark keeps its own colour.
        editor.move_cursor((0, 0))
        await pilot.pause()
        blank = cell_styles(editor.render_line(0))[editor.gutter_width + 16]
        assert blank.bgcolor == ERROR_STYLE.bgcolor


async def test_advice_texts(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        ordered = "SELECT time, msg FROM log_entries ORDER BY time"
        await set_editor_text(pilot, ordered)
        hint = await wait_hint(pilot, ordered, "✓")
        assert "No time range: the query scans all time." in hint
        assert "ORDER BY without LIMIT" in hint

        wide = ", ".join(f"msg AS m{index}" for index in range(25))
        wide_sql = f"SELECT {wide} FROM log_entries WHERE time > now() LIMIT 1"
        await set_editor_text(pilot, wide_sql)
        hint = await wait_hint(pilot, wide_sql, "✓")
        assert "25 columns" in hint
        assert "Estimated row size 1250 B (over 1000 B)" in hint
        assert "No time range" not in hint
        assert "ORDER BY" not in hint


async def test_grouped_sort_gets_no_limit_advice(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        grouped = "SELECT level, count(*) FROM log_entries GROUP BY level ORDER BY 2"
        await set_editor_text(pilot, grouped)
        hint = await wait_hint(pilot, grouped, "✓")
        assert "ORDER BY" not in hint

        ordered = "SELECT time, msg FROM log_entries ORDER BY time"
        await set_editor_text(pilot, ordered)
        hint = await wait_hint(pilot, ordered, "✓")
        assert "ORDER BY without LIMIT" in hint


async def test_stale_answers_dropped(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        current = "SELECT level FROM log_entries LIMIT 3"
        await set_editor_text(pilot, current)
        await wait_hint(pilot, current, "✓")

        # A request goes out, then the user types again before its reply arrives.
        stale = "SELECT nope FROM log_entries"
        app.hints.request(app.client, Statement(stale, 0, len(stale)), stale, None, None)
        assert app.hints.last_text == "Validating…"
        app.hints.invalidate()
        await wait_for(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.group == "hints"),
            "the stale request to finish",
        )
        assert app.hints.last_text == "Validating…"
        assert app.hints.shown_statement is None
        assert app.editor.error_location is None


async def test_advice_visible_with_many_columns(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # log_entries has 13 columns: at 80x24 their list fills the panel, so advice goes first.
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_schema(pilot)
        query = "SELECT * FROM log_entries"
        await set_editor_text(pilot, query)
        await wait_hint(pilot, query, "✓")
        await pilot.pause()

        assert "No time range" in screen_text(app)


def marked_text(app: MmtuiApp, row: int) -> str:
    """Return the characters of buffer `row` painted in the error style on screen."""
    strip = app.editor.render_line(row - app.editor.scroll_offset.y)
    return "".join(
        segment.text
        for segment in strip
        if segment.style is not None and segment.style.bgcolor == ERROR_STYLE.bgcolor
    )


async def test_server_position_shown_as_sent(
    fault_server: FaultServerHandle, tmp_path: Path
) -> None:
    app = make_app(fault_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        editor = app.editor
        prefix = "SELECT 1 -- fault:sql_error:"

        # Inside the one-line statement, up to the column just past its end.
        for position, location in (("1_8", (0, 7)), ("1_33", (0, 32))):
            sql = prefix + position
            await set_editor_text(pilot, sql)
            hint = await wait_hint(pilot, sql, "✗")
            line, column = position.split("_")
            assert hint.startswith(f"✗ line {line}, column {column}: ")
            assert editor.error_location == location

        # Outside it: the panel shows the server's position and nothing is marked.
        outside = (
            ("5_5", "line 5, column 5"),
            ("0_0", "line 0, column 0"),
            ("1_34", "line 1, column 34"),
        )
        huge = "999999999999999999999"
        outside += ((f"{huge}_1", f"line {huge}, column 1"),)
        for position, label in outside:
            sql = prefix + position
            await set_editor_text(pilot, sql)
            hint = await wait_hint(pilot, sql, "✗")
            assert "Schema error: No field named nope." in hint
            screen = screen_text(app)
            assert f"✗ {label} (outside the statement): " in screen
            assert "so no error is marked" in screen
            assert "line 1, column 1:" not in screen
            assert editor.error_location is None
            assert marked_text(app, 0) == ""

            editor.move_cursor((0, 3))
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert editor.cursor_location == (0, 3)
            assert f"error position ({label}) is outside the statement" in last_notification(app)


async def test_goto_error_after_query_error(
    fault_server: FaultServerHandle, tmp_path: Path
) -> None:
    app = make_app(fault_server.uri, tmp_path)
    first = "SELECT 1 -- fault:zero_batches"
    second = "SELECT id,\n  msg -- fault:run_error:2_3"
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        editor = app.editor
        await set_editor_text(pilot, f"{first}\n;\n{second}")
        await wait_hint(pilot, second, "✓")
        assert editor.error_location is None

        # Validation succeeded, then running the statement fails at its line 2, column 3.
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "failed", "the query to fail")
        assert "(at line 2, column 3)" in app.results.error_text
        assert editor.error_location == (3, 2)
        assert marked_text(app, 3) == "msg"

        editor.move_cursor((0, 0))
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert editor.selected_text == "msg"
        assert last_notification(app) == ""

        # An edit of another statement moves the mark with its statement.
        editor.move_cursor((0, 0))
        await pilot.press("enter")
        assert editor.error_location == (4, 2)
        await wait_hint(pilot, first, "✓")
        assert editor.error_location == (4, 2)
        assert marked_text(app, 4) == "msg"

        # An edit of the statement that failed removes the mark.
        editor.move_cursor((4, 5))
        await pilot.press("x")
        assert editor.error_location is None
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert last_notification(app) == "No error is marked."


async def test_pending_validation_shows_validating(
    fault_server: FaultServerHandle, tmp_path: Path
) -> None:
    app = make_app(fault_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        failing = "SELECT 1 -- fault:sql_error"
        await set_editor_text(pilot, failing)
        await wait_hint(pilot, failing, "✗")
        assert "Schema error:" in screen_text(app)

        # The server delays the next validation: the panel shows that it waits, not the old error.
        slow = "SELECT 2 -- fault:slow_prepare:60"
        waiting_before = fault_server.waiting_calls
        results_top = app.results.region.y
        await set_editor_text(pilot, slow)
        await wait_for(
            pilot,
            lambda: fault_server.waiting_calls > waiting_before,
            "the server to hold the validation",
        )
        screen = screen_text(app)
        assert "Validating…" in screen
        assert "No field named nope" not in screen
        assert app.hints.shown_statement is None
        assert app.results.region.y == results_top

        # Typing goes on while the server delays the call.
        typed = "SELECT 3 -- fault:zero_batches"
        await pilot.press("enter", ";", "enter", *typed)
        assert app.editor.text == f"{slow}\n;\n{typed}"
        await wait_hint(pilot, typed, "✓")

        # The held reply arrives last and leaves the newer result on screen.
        fault_server.release_slow_prepares()
        await wait_for(
            pilot,
            lambda: all(worker.is_finished for worker in app.workers if worker.group == "hints"),
            "the held validation to end",
        )
        assert app.hints.shown_statement == typed
        screen = screen_text(app)
        assert "✓ valid" in screen
        assert "Validating…" not in screen


async def test_stalled_validations_capped(fault_server: FaultServerHandle, tmp_path: Path) -> None:
    # Each edit on a stalled server would keep one more thread busy until the call timeout.
    # The panel runs three calls at most and validates only the newest text once one ends.
    app = make_app(fault_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        waiting_before = fault_server.waiting_calls
        for index in range(3):
            await set_editor_text(pilot, f"SELECT {index} -- fault:slow_prepare:60")
            waiting = index + 1
            await wait_for(
                pilot,
                lambda waiting=waiting: fault_server.waiting_calls - waiting_before == waiting,
                f"the server to hold {waiting} validations",
            )
        for index in range(3, 5):
            generation = app.hints.generation
            await set_editor_text(pilot, f"SELECT {index} -- fault:slow_prepare:60")
            await wait_for(
                pilot,
                lambda generation=generation: app.hints.generation > generation,
                f"validation request {index}",
            )
        assert fault_server.waiting_calls - waiting_before == 3
        assert app.hints._in_flight == 3

        newest = "SELECT 9 -- fault:zero_batches"
        await set_editor_text(pilot, newest)
        await wait_for(pilot, lambda: app.hints._queued is not None, "the queued request")
        assert "Validating…" in screen_text(app)

        prepares_before = len(fault_server.headers_of("do_action"))
        fault_server.release_slow_prepares()
        await wait_hint(pilot, newest, "✓")
        await wait_for(pilot, lambda: app.hints._in_flight == 0, "every call to end")
        # The three held calls ended, and only the newest text was sent after them.
        assert len(fault_server.headers_of("do_action")) == prepares_before + 1


async def test_short_terminal_keeps_result_rows(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # At 60x15, the hints (six lines at most) used to leave the grid no row at all.
    app = make_app(demo_server.uri, tmp_path)
    sql = "SELECT 'row-' || CAST(x AS VARCHAR) AS label FROM (VALUES (1), (2), (3), (4)) AS t(x)"
    async with app.run_test(size=(60, 15)) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, sql)
        app.editor.focus()
        await wait_hint(pilot, sql, "✓")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "done", "the query")

        assert app.screen.has_class("-short")
        assert app.hints.size.height <= 2
        text = screen_text(app)
        assert "label" in text
        for label in ("row-1", "row-2", "row-3"):
            assert label in text


async def test_cursor_move_validates_other_statement(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    first = "SELECT 1 AS one"
    second = "SELECT time, msg FROM log_entries LIMIT 3"
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, f"{first};\n{second}")
        app.editor.focus()
        assert "2 columns" in await wait_hint(pilot, second, "✓")

        # Up moves the cursor into the first statement without an edit.
        await pilot.press("up")
        assert "1 column" in await wait_hint(pilot, first, "✓")
        await pilot.press("down")
        assert "2 columns" in await wait_hint(pilot, second, "✓")


async def test_short_terminal_keeps_rows_after_error(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # The server's error took six lines at 60x15 and pushed the status line off the screen.
    app = make_app(demo_server.uri, tmp_path)
    sql = "SELECT 'row-' || CAST(x AS VARCHAR) AS label FROM (VALUES (1), (2), (3), (4)) AS t(x)"
    async with app.run_test(size=(60, 15)) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, sql)
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "done", "the query")
        await set_editor_text(pilot, "SELECT no_such_column FROM log_entries")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "failed", "the failed query")
        await pilot.pause()

        text = screen_text(app)
        assert "INVALID_ARGUMENT: error building" in text, "the error is shown"
        assert "failed after 0 rows" in text, "the status line is shown"
        assert "row-1" in text, "a row of the previous result is shown"


async def test_short_terminal_maximized_error_shows_cause(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # At 60x15 the error keeps two lines. DataFusion names the cause on its last line, so
    # Maximize on the results pane shows more of it.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=(60, 15)) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "SELECT msg FROM log_entries WHERE level = 'ERROR'")
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "failed", "the failed query")
        await pilot.press("f4")
        app.screen.action_maximize()
        await pilot.pause()
        assert app.screen.maximized is app.results

        text = " ".join(screen_text(app).split())
        assert "Optimizer rule" in text, "the first line of the error is shown"
        assert "Cannot cast string 'ERROR'" in text, "the cause on the last line is shown"
        assert "failed after 0 rows" in text, "the status line is shown"


async def test_same_height_hint_skips_layout(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Over SSH, a layout pass costs kilobytes (Textual repaints every scrollbar), so a hint
    # that takes as many lines as the one before is repainted in place.
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "SELECT 1 AS one")
        await wait_hint(pilot, "SELECT 1 AS one", "✓")
        await pilot.pause()
        body = app.hints.query_one("#hint-body")
        lines_before = body.content_size.height
        refresh = body.refresh
        layouts: list[bool] = []

        def record(*regions: Any, **kwargs: Any) -> Any:
            layouts.append(bool(kwargs.get("layout", False)))
            return refresh(*regions, **kwargs)

        body.refresh = record  # type: ignore[method-assign]

        await set_editor_text(pilot, "SELECT 2 AS two")
        await wait_hint(pilot, "SELECT 2 AS two", "✓")
        await pilot.pause()
        same_height_layouts = list(layouts)
        lines_same = body.content_size.height

        await set_editor_text(pilot, "SELECT 1 AS one, 2 AS two, 3 AS three")
        await wait_hint(pilot, "SELECT 1 AS one, 2 AS two, 3 AS three", "✓")
        await set_editor_text(pilot, "SELECT mesg FROM log_entries")
        await wait_hint(pilot, "SELECT mesg FROM log_entries", "✗")
        await pilot.pause()
        lines_error = body.content_size.height
        text = screen_text(app)

    assert layouts, "the hint body was never repainted"
    assert same_height_layouts
    assert True not in same_height_layouts
    assert lines_same == lines_before
    # The error takes more lines, so its hint needs a layout pass and shows whole.
    assert lines_error > lines_before
    assert True in layouts
    assert "✗ line 1, column 8: Schema error: No field named mesg." in text


async def test_error_hint_names_remapped_key(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    settings = AppSettings(keys={"app.goto_error": "f11"})
    app = make_app(demo_server.uri, tmp_path, time_range="1h", app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "SELECT mesg FROM log_entries")
        hint = await wait_hint(pilot, "SELECT mesg FROM log_entries", "✗")

    assert hint.endswith("\nF11 moves the cursor to the error.")
    assert "Ctrl+G" not in hint
