"""Keys: the help screen is built from live bindings, overrides apply, focus keys, palette."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from mmtui.auth import AppSettings
from mmtui.demo import DemoServerHandle
from mmtui.timerange import PRESETS
from mmtui.ui.app import MmtuiApp
from mmtui.ui.detail_screen import DetailScreen
from mmtui.ui.export_screen import ExportScreen
from mmtui.ui.help_screen import HelpScreen
from mmtui.ui.history import HistoryScreen
from mmtui.ui.time_range_screen import TimeRangeScreen
from tests.fault_server import start_fault_server
from tests.ui.test_app_support import (
    SIZE,
    make_app,
    run_and_wait,
    screen_text,
    set_editor_text,
    wait_for,
    wait_schema,
)


async def test_help_lists_bindings(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        sections = dict(app.screen.sections)
        assert set(sections) >= {"Everywhere", "SQL editor", "Schema browser", "Results"}
        everywhere = {row[2]: row for row in sections["Everywhere"]}
        assert everywhere["app.run_query"][0] == "f5, ^j, ^⏎"
        assert everywhere["app.quit"][0] == "^q"
        assert "schema.insert" in {row[2] for row in sections["Schema browser"]}
        assert "results.cancel" in {row[2] for row in sections["Results"]}
        screen = screen_text(app)
        assert "Run" in screen
        assert "app.run_query" in screen
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_rows_say_what_keys_do(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        sections = dict(app.screen.sections)
        for title, rows in sections.items():
            keys_seen: set[str] = set()
            for keys, description, binding_id in rows:
                assert binding_id, (title, keys)
                # A plain-word description is a phrase with a verb, not a one-word label.
                assert len(description.split()) >= 3, (title, keys, description)
                for key in keys.split(", "):
                    assert key not in keys_seen, f"{key} listed twice under {title}"
                    keys_seen.add(key)

        editor = {row[0]: row for row in sections["SQL editor"]}
        assert editor["home, ^a"][1] == "Move the cursor to the start of the line"
        assert editor["home, ^a"][2] == "fixed"
        everywhere = {row[0]: row for row in sections["Everywhere"]}
        assert everywhere["tab"][1] == "Move focus to the next pane"
        assert everywhere["^p"][1] == "Open the command palette to search every command"
        grid = {row[0]: row for row in sections["Result grid"]}
        assert "^pgup" not in grid  # the grid does not inherit the scroll view's keys
        assert "Scroll Home" not in screen_text(app)


async def test_key_override_remaps(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    settings = AppSettings(
        keys={
            "app.run_query": "f12",
            "app.no_such_action": "f11",
            "app.focus_schema": "Ctrl+F2",
            "app.history\x1b]2;HIJACKED\x07": "esc",
        }
    )
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "SELECT 7 AS seven")
        await pilot.press("f5")
        assert app.results.state == "idle"
        await pilot.press("f12")
        await wait_for(pilot, lambda: app.results.state == "done", "the remapped run key")
        await pilot.press("f1")
        everywhere = {row[2]: row for row in dict(app.screen.sections)["Everywhere"]}
        assert everywhere["app.run_query"][0] == "f12"
        warnings = [notification.message for notification in app._notifications]
        assert any("app.no_such_action" in message for message in warnings)
        # A misspelt key is reported, and its command keeps the default key.
        assert any("app.focus_schema = 'Ctrl+F2'" in message for message in warnings)
        assert any("app.history\u241b]2;HIJACKED\u2407" in message for message in warnings)
        assert not any("\x1b" in message for message in warnings)
        assert everywhere["app.focus_schema"][0] == "f2"
        await pilot.press("escape")
        await pilot.press("f2")
        assert app.focused is app.schema_browser


async def test_dialog_key_override_known(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # The dialogs' bindings have ids too, and `[keys]` remaps them.
    settings = AppSettings(keys={"detail.copy": "y", "export.close": "ctrl+w"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        warnings = [notification.message for notification in app._notifications]
        assert not any("Unknown binding ids" in message for message in warnings)

        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        sections = dict(app.screen.sections)
        detail = {row[2]: row for row in sections["Cell detail"]}
        assert detail["detail.copy"][0] == "y"
        assert detail["detail.close"][0] == "esc, q"
        assert "history.close" in {row[2] for row in sections["History"]}
        assert "time_range.cancel" in {row[2] for row in sections["Time range prompt"]}
        assert "help.close" in {row[2] for row in sections["This help"]}
        await pilot.press("escape")


async def test_dialog_titles_name_remapped_keys(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    settings = AppSettings(keys={"history.close": "ctrl+w", "help.close": "f1,q"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert "(F1 closes." in screen_text(app)
        assert "Esc closes" not in screen_text(app)
        await pilot.press("f1")
        assert not isinstance(app.screen, HelpScreen)

        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), "the history")
        assert "^w: close" in screen_text(app)
        assert "Esc: close" not in screen_text(app)
        await pilot.press("ctrl+w")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen), "the explorer")


async def test_key_override_conflict_warns(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    settings = AppSettings(keys={"app.quit": "f5"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        warnings = [notification.message for notification in app._notifications]
        conflicts = [message for message in warnings if message.startswith("With [keys]")]
        assert conflicts == [
            "With [keys], f5 is the key of app.quit and app.run_query, and only one of them "
            "runs. Give one of them another key."
        ]


async def test_pane_key_on_focus_key_warns(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # F2 focuses the schema before the results pane receives the key, so export would have no key.
    settings = AppSettings(keys={"results.export": "f2", "app.quit": "f3"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        warnings = [notification.message for notification in app._notifications]
        conflicts = [message for message in warnings if message.startswith("With [keys]")]
        assert conflicts == [
            "With [keys], f3 is the key of app.quit and app.focus_editor, and only one of them "
            "runs. Give one of them another key.",
            "With [keys], f2 is the key of app.focus_schema and results.export, and only one "
            "of them runs. Give one of them another key.",
        ]


async def test_grid_key_on_pane_key_warns(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # In the grid, c would move the cursor, and copying the cell would have no key.
    settings = AppSettings(keys={"grid.cursor_down": "c"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        warnings = [notification.message for notification in app._notifications]
        conflicts = [message for message in warnings if message.startswith("With [keys]")]
        assert conflicts == [
            "With [keys], c is the key of results.copy_cell and grid.cursor_down, and only one "
            "of them runs. Give one of them another key."
        ]


async def test_text_key_override_refused(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    settings = AppSettings(keys={"app.quit": "q", "app.focus_editor": "c,f3"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "")

        warnings = [notification.message for notification in app._notifications]
        rejected = [message for message in warnings if message.startswith("Keys that type text")]
        assert len(rejected) == 1
        assert "app.quit = 'q'" in rejected[0]
        assert "app.focus_editor = 'c,f3'" in rejected[0]

        # The letters go into the editor, and the commands keep their default keys.
        await pilot.press(*"quick")
        assert app.editor.text == "quick"
        assert app.is_running
        await pilot.press("ctrl+q")
    assert not app.is_running


async def test_enter_alias_override_refused(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Textual runs a binding on ctrl+m when Enter is pressed.
    settings = AppSettings(keys={"app.quit": "ctrl+m"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "")

        warnings = [notification.message for notification in app._notifications]
        rejected = [message for message in warnings if message.startswith("Keys that type text")]
        assert len(rejected) == 1
        assert "app.quit = 'ctrl+m'" in rejected[0]

        await pilot.press("a", "enter", "b")
        assert app.editor.text == "a\nb"
        assert app.is_running
        await pilot.press("ctrl+q")
    assert not app.is_running


async def test_key_override_swap_is_quiet(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Swapping two keys leaves each key with one command.
    settings = AppSettings(keys={"app.run_query": "f8", "app.history": "f5"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        warnings = [notification.message for notification in app._notifications]
        assert not any(message.startswith("With [keys]") for message in warnings)
        await set_editor_text(pilot, "SELECT 7 AS seven")
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.results.state == "done", "the swapped run key")


async def test_focus_keys_and_tab(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        assert app.focused is app.editor
        await pilot.press("f2")
        assert app.focused is app.schema_browser
        await pilot.press("f4")
        assert app.focused is app.results.grid
        await pilot.press("f3")
        assert app.focused is app.editor
        await pilot.press("ctrl+r")
        assert app.focused is app.results.grid
        await pilot.press("f3")
        await set_editor_text(pilot, "SELECT 1")  # no completion pending: Tab moves focus
        await pilot.press("tab")
        assert app.focused is not app.editor


async def test_completion_accepts_with_tab(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "")
        app.editor.focus()
        await pilot.press(*"SELECT * FROM log_e")
        assert app.editor.suggestion == "ntries"
        await pilot.press("tab")
        assert app.editor.text == "SELECT * FROM log_entries"
        assert app.focused is app.editor
        await pilot.press(*" WHERE prop")
        assert app.editor.completions[0] in ("properties", "property_get")
        assert "process_properties" not in app.editor.completions


async def test_whole_name_gets_no_completion(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # `time` is a whole column of log_entries, although another view has `time_bin`.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "")
        await pilot.press(*"SELECT * FROM log_entries ORDER BY tim")
        assert app.editor.suggestion == "e"
        await pilot.press("e")
        assert app.editor.suggestion == ""
        await pilot.press("tab")
        assert app.editor.text == "SELECT * FROM log_entries ORDER BY time"
        assert app.focused is not app.editor


async def test_completion_dropped_when_cursor_leaves(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "")
        await pilot.press(*"SELECT * FROM log_e")
        assert app.editor.suggestion == "ntries"
        await pilot.press("home")
        assert app.editor.suggestion == ""
        await pilot.press("tab")
        assert app.editor.text == "SELECT * FROM log_e"

        # In one burst, Right arrives before the app hears that Home moved the cursor.
        app.editor.focus()
        await pilot.press("end")
        assert app.editor.suggestion == ""
        await pilot.press("backspace", "e")
        assert app.editor.suggestion == "ntries"
        await post_keys(pilot, "home", "right")
        assert app.editor.text == "SELECT * FROM log_e"
        assert app.editor.cursor_location == (0, 1)

        # An undo offers a completion where it leaves the cursor: Right still only moves.
        await pilot.press("end", "backspace", "ctrl+z")
        assert app.editor.text == "SELECT * FROM log_e"
        await pilot.press("right")
        assert app.editor.text == "SELECT * FROM log_e"


async def test_arrows_never_insert_completion(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    text = "SELECT count(*) AS n FROM log_entries"
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, text)
        await pilot.press("home", *["right"] * 18)
        # The cursor is after `AS`, which starts `ASC`, but moving there offers nothing.
        assert app.editor.cursor_location == (0, 18)
        assert app.editor.suggestion == ""

        await pilot.press("right")

        assert app.editor.text == text
        assert app.editor.cursor_location == (0, 19)
        await pilot.press("left", "left", "tab")
        assert app.editor.text == text


async def test_palette_has_app_commands(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Run query" in titles
        assert "Range: last 5m" in titles
        assert "Query history" in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"last 15m")
        await wait_for(pilot, lambda: "Range: last 15m" in screen_text(app), "the palette hit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "last 15m:" in app.header_text, "the palette command")


async def run_palette_command(pilot: Pilot[Any], app: MmtuiApp, title: str) -> None:
    """Open the command palette, search for `title` and run the first hit."""
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
    await pilot.press(*title)
    await wait_for(pilot, lambda: title in screen_text(app), f"the palette hit {title!r}")
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: not isinstance(app.screen, CommandPalette), "the palette to close"
    )


def last_notification(app: MmtuiApp) -> str:
    """Return the message of the newest notification, or "" when there is none."""
    # NOTE: toasts do not show in `screen_text`, so the app's notification list is read.
    messages = [notification.message for notification in app._notifications]
    return messages[-1] if messages else ""


async def test_palette_result_commands(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        app.copy_to_clipboard("before")

        await run_palette_command(pilot, app, "Copy row as TSV")
        message = "No result to copy yet. Run a query first."
        await wait_for(pilot, lambda: last_notification(app) == message, "the no-result message")
        assert app.clipboard == "before"
        await run_palette_command(pilot, app, "Export results")
        message = "No result to export yet. Run a query first."
        await wait_for(pilot, lambda: last_notification(app) == message, "the no-export message")
        assert not isinstance(app.screen, ExportScreen)

        await run_and_wait(pilot, "SELECT 'a b' AS word, 7 AS n")

        await run_palette_command(pilot, app, "Copy cell")
        assert app.clipboard == "a b"
        await run_palette_command(pilot, app, "Copy row as TSV")
        assert app.clipboard == "a b\t7"
        await run_palette_command(pilot, app, "Copy row as JSON")
        assert json.loads(app.clipboard) == {"word": "a b", "n": 7}

        await run_palette_command(pilot, app, "Cell detail")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await wait_for(pilot, lambda: detail.text == "a b", "the cell value")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DetailScreen), "the main screen")

        await run_palette_command(pilot, app, "Export results")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), "the export screen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen), "the main screen")

        await run_and_wait(pilot, "SELECT 1 AS n WHERE false")
        app.copy_to_clipboard("before")
        await run_palette_command(pilot, app, "Copy cell")
        message = "The result has no rows to copy."
        await wait_for(pilot, lambda: last_notification(app) == message, "the no-rows message")
        assert app.clipboard == "before"


async def test_paste_into_editor_cleaned(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await set_editor_text(pilot, "SELECT 1;\n")
        app.editor.focus()
        await pilot.pause()

        # A terminal's driver posts a bracketed paste to the app as one Paste event.
        app.post_message(events.Paste("-- \x1b[31mERROR\x1b[0m disk full \x11\r\n-- next\tcol"))
        await wait_for(pilot, lambda: app.editor.text != "SELECT 1;\n", "the pasted text")

        assert app.editor.text == "SELECT 1;\n-- ERROR disk full \u2411\n-- next\tcol"
        assert app.editor.cursor_location == app.editor.document.end
        assert "-- ERROR disk full \u2411" in screen_text(app)
        await pilot.press("ctrl+z")
        assert app.editor.text == "SELECT 1;\n", "one undo removes the whole paste"


async def test_paste_into_dialog_cleaned(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, TimeRangeScreen)
        field = app.screen.query_one("#time-range-input", Input)
        await pilot.press("ctrl+a", "ctrl+k")

        # Textual's Input keeps control characters, and its rendering writes SO, SI and the
        # other C0 controls to the terminal unchanged.
        app.post_message(events.Paste("2h \x1b[31mx\x1b[0m\x0e\x0f\x01\x1b]0;t\x07\r\nnext"))
        await wait_for(pilot, lambda: field.value != "", "the pasted text")

        assert field.value == "2h x\u240e\u240f\u2401\u241b]0;t\u2407"
        screen = screen_text(app)
        assert "2h x\u240e\u240f\u2401" in screen
        assert not any(ord(character) < 0x20 and character != "\n" for character in screen)


async def test_completion_of_odd_names(tmp_path: Path) -> None:
    # Names from the server may hold ESC sequences, capitals, spaces or double quotes.
    columns = pa.schema(
        [
            ("esc\x1b[31mred", pa.string()),
            ("escape_plain", pa.string()),
            ("Time", pa.string()),
            ('qu"ote', pa.string()),
        ]
    )
    tables = ["esc\x1b]0;pwned\x07title", "Mixed Case", "plain_view"]
    server = start_fault_server()
    server.server.tables_listing = pa.table(
        {
            "table_name": tables,
            "table_type": ["VIEW"] * 3,
            "table_schema": [columns.serialize().to_pybytes()] * 3,
        }
    )
    try:
        app = make_app(server.uri, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_editor(pilot, "")
            await pilot.press(*"SELECT es")
            # The ESC names can be neither typed nor drawn: the plain name is offered.
            assert app.editor.completions == ["escape_plain"]
            assert app.editor.suggestion == "cape_plain"
            assert "\x1b" not in screen_text(app)

            # DataFusion reads a bare `Time` as `time`, so capitals are offered only quoted.
            await set_editor_text(pilot, "SELECT Ti")
            await pilot.press("e")
            assert "Time" not in app.editor.completions
            await set_editor_text(pilot, 'SELECT "T')
            await pilot.press("i")
            assert app.editor.suggestion == "me"

            # A quoted name matches in its own case, and its double quotes are doubled.
            await set_editor_text(pilot, 'SELECT "t')
            await pilot.press("i")
            assert app.editor.suggestion == ""
            await set_editor_text(pilot, 'SELECT "q')
            await pilot.press("u")
            assert app.editor.completions == ['qu""ote']

            await set_editor_text(pilot, 'SELECT * FROM "M')
            await pilot.press("i", "tab")
            assert app.editor.text == 'SELECT * FROM "Mixed Case'
    finally:
        server.stop()


async def open_editor(pilot: Pilot[Any], text: str) -> None:
    """Wait for the schema, then put `text` in the focused editor with the cursor at its end."""
    app = pilot.app
    assert isinstance(app, MmtuiApp)
    await wait_schema(pilot)
    await set_editor_text(pilot, text)
    app.editor.focus()
    await pilot.pause()


async def post_keys(pilot: Pilot[Any], *keys: str) -> None:
    """Post the keys named `keys` to the app at once, as a terminal burst arrives."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause()


async def run_burst(pilot: Pilot[Any], *keys: str) -> None:
    """Post the keys named `keys` as one burst (`post_keys`) and wait for the query they run."""
    app = pilot.app
    assert isinstance(app, MmtuiApp)
    await post_keys(pilot, *keys)
    await wait_for(pilot, lambda: app.results.state == "done", "the query of the burst")


async def test_f5_after_typed_key_in_burst(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "SELECT 4 AS n")

        # "SELECT 4 AS n" becomes "SELECT 42 AS n" only if the 2 lands before the run.
        app.editor.move_cursor((0, len("SELECT 4")))
        await run_burst(pilot, "2", "f5")

        assert app.editor.text == "SELECT 42 AS n"
        store = app.results.store
        assert store is not None
        assert store.window(0, 1).column("n").to_pylist() == [42]


async def test_f5_after_cursor_key_in_burst(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "SELECT 1 AS first;\nSELECT 2 AS second;")
        assert app.editor.cursor_location[0] == 1

        await run_burst(pilot, "up", "f5")

        store = app.results.store
        assert store is not None
        assert store.schema.names == ["first"]
        assert store.window(0, 1).column("first").to_pylist() == [1]


@pytest.mark.parametrize(
    ("text", "burst", "expected"),
    [
        ("SELECT 1 AS n", ["left", "left", "left", "left", "left", "left", "3"], 31),
        ("SELECT 12 AS n", ["left", "left", "left", "left", "left", "backspace", "5"], 15),
        ("SELECT 7 AS n", ["f7", "delete", *"SELECT 61 AS n"], 61),
    ],
)
async def test_editor_keys_keep_burst_order(
    demo_server: DemoServerHandle, tmp_path: Path, text: str, burst: list[str], expected: int
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, text)

        await run_burst(pilot, *burst, "f5")

        store = app.results.store
        assert store is not None
        assert store.window(0, 1).column("n").to_pylist() == [expected]


async def test_range_key_before_focus_key(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # In "F2 3 F3", F3 moves the focus to the editor before the schema tree passes the 3 up:
    # the 3 still picks its range preset instead of vanishing.
    app = make_app(demo_server.uri, tmp_path, time_range="5m")
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "SELECT 1")
        await post_keys(pilot, "f2", "3", "f3")
        await wait_for(pilot, lambda: app.time_range.text != "5m", "the range preset")
        assert app.time_range.text == PRESETS[2]
        assert app.focused is app.editor
        assert app.editor.text == "SELECT 1"

        await post_keys(pilot, "f4", "1", "f3")
        await wait_for(pilot, lambda: app.time_range.text == PRESETS[0], "the first preset")
        assert app.focused is app.editor
        assert app.editor.text == "SELECT 1"


async def test_focus_key_then_keys_in_burst(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(pilot, "SELECT * FROM generate_series(1, 50) AS t(n)")
        await run_burst(pilot, "f5")
        await post_keys(pilot, "f3", "home")
        assert app.editor.cursor_location == (0, 0)

        # End after F4 in one burst moves the grid's cursor, not the editor's.
        await post_keys(pilot, "f4", "end")
        assert app.focused is app.results.grid
        assert app.results.grid.cursor_row == 49
        assert app.editor.cursor_location == (0, 0)

        # Text after F3 in one burst goes to the editor, not to the grid's keys (e exports).
        await post_keys(pilot, "f3", "x", "e")
        assert app.focused is app.editor
        assert app.editor.text.startswith("xeSELECT")
        assert app.screen is app.screen_stack[0]

        # Under a dialog, a focus key chooses the pane that has the focus once it closes.
        await pilot.press("f1")
        dialog = app.screen
        assert dialog is not app.screen_stack[0]
        await pilot.press("f4")
        assert app.screen is dialog
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]
        assert app.focused is app.results.grid

        # Esc and F3 in one burst close the dialog and focus the editor.
        await pilot.press("f1")
        assert app.screen is not app.screen_stack[0]
        await post_keys(pilot, "escape", "f3")
        assert app.screen is app.screen_stack[0]
        assert app.focused is app.editor


@pytest.fixture
def work_dir_without_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a new working directory, in a home without Downloads, as on many SSH servers."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


async def test_palette_screenshot_without_downloads(
    demo_server: DemoServerHandle, tmp_path: Path, work_dir_without_downloads: Path
) -> None:
    work = work_dir_without_downloads
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await run_palette_command(pilot, app, "Screenshot")
        await wait_for(pilot, lambda: "screenshot" in last_notification(app), "the notice")

        saved = list(work.glob("*.svg"))
        assert len(saved) == 1
        assert last_notification(app) == f"Saved the screenshot to {saved[0]}"
        assert "<svg" in saved[0].read_text(encoding="utf-8")

        # A folder that does not exist: the notice gives the reason.
        app.deliver_screenshot("shot.svg", str(tmp_path / "missing"))
        await wait_for(pilot, lambda: "Could not" in last_notification(app), "the failure")
        assert last_notification(app) == (
            f"Could not save the screenshot to {tmp_path / 'missing' / 'shot.svg'}: "
            "No such file or directory."
        )


async def test_screenshot_with_deleted_working_directory(
    demo_server: DemoServerHandle, tmp_path: Path, work_dir_without_downloads: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        work_dir_without_downloads.rmdir()
        await run_palette_command(pilot, app, "Screenshot")
        await wait_for(pilot, lambda: "screenshot" in last_notification(app), "the notice")

        assert last_notification(app) == (
            "Could not save the screenshot: the working directory is gone "
            "(No such file or directory)."
        )
        assert app.is_running


async def test_startup_warning_shows_control_characters_safely(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    warning = "Ignored GRPC_TRACE=x\\x1b: title \x1b]0;TT\x07 red \x1b[31mRED"
    app = make_app(demo_server.uri, tmp_path, startup_warnings=[warning])
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        messages = [notification.message for notification in app._notifications]

        assert len(messages) == 1
        assert "\x1b" not in messages[0]
        assert "\x07" not in messages[0]
        assert messages[0].startswith("Ignored GRPC_TRACE=x\\x1b: title ␛]0;TT␇ red ␛[31mRED")
