"""History and autosave survive a restart of the app (files under a temporary state folder)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from textual import events

from mmtui.autosave import claim_slot
from mmtui.demo import DemoServerHandle
from mmtui.ui import app as app_module
from mmtui.ui.app import MmtuiApp
from mmtui.ui.history import HistoryScreen
from mmtui.ui.schema_browser import SchemaBrowser
from tests.ui.test_app_support import (
    SIZE,
    make_app,
    run_and_wait,
    screen_text,
    wait_for,
    wait_schema,
)

FIRST = "SELECT count(*) FROM processes"
SECOND = "SELECT exe FROM processes LIMIT 3"


async def test_history_across_restarts(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await run_and_wait(pilot, FIRST)
        await run_and_wait(pilot, SECOND)

    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["sql"] for line in lines] == [FIRST, SECOND]

    restarted = make_app(demo_server.uri, tmp_path)
    async with restarted.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        draft = restarted.editor.text
        restarted.editor.focus()
        await pilot.press("ctrl+up")
        assert restarted.editor.text == SECOND
        await pilot.press("ctrl+up")
        assert restarted.editor.text == FIRST
        await pilot.press("ctrl+down", "ctrl+down")
        assert restarted.editor.text == draft

        await pilot.press("f8")
        assert isinstance(restarted.screen, HistoryScreen)
        await pilot.press("down", "enter")
        assert restarted.editor.text == FIRST


RUN_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  SELECT")


def history_lines(app: MmtuiApp) -> list[str]:
    """Return the picker's rows as shown (run time, then SQL), newest first."""
    assert isinstance(app.screen, HistoryScreen)
    return [line for line in screen_text(app).split("\n") if RUN_TIME.search(line)]


async def test_history_rerun_moves_to_top(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    old_runs = [
        {"sql": FIRST, "run_at": "2020-01-02T03:04:05+00:00", "time_range": "1h"},
        {"sql": SECOND, "run_at": "2020-01-02T03:05:00+00:00", "time_range": "1h"},
    ]
    history_file = tmp_path / "history.jsonl"
    history_file.write_text("".join(json.dumps(run) + "\n" for run in old_runs))
    today = datetime.now(UTC).strftime("%Y-%m-%d")

    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await run_and_wait(pilot, FIRST)
        await pilot.press("f8")
        rows = history_lines(app)
        assert len(rows) == 2, rows
        assert FIRST in rows[0]
        assert today in rows[0]
        assert "2020-01-02" not in rows[0]
        assert SECOND in rows[1]

    restarted = make_app(demo_server.uri, tmp_path)
    async with restarted.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("f8")
        rows = history_lines(restarted)
        assert len(rows) == 2, rows
        assert FIRST in rows[0]
        assert today in rows[0]
        assert SECOND in rows[1]
        await pilot.press("escape")

        restarted.editor.focus()
        await pilot.press("ctrl+up")
        assert restarted.editor.text == FIRST
        await pilot.press("ctrl+up")
        assert restarted.editor.text == SECOND
        await pilot.press("ctrl+up")
        assert restarted.editor.text == SECOND  # the oldest entry: no duplicate beyond it


async def test_history_picker_shows_range(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # The range is not kept across restarts, so the picker is where the user finds it again.
    window = "2026-12-05T21:06:00Z..2026-12-05T21:16:00Z"
    old_runs = [
        {"sql": FIRST, "run_at": "2026-12-05T21:20:00+00:00", "time_range": window},
        {"sql": SECOND, "run_at": "2026-12-05T21:25:00+00:00", "time_range": "6h"},
    ]
    history_file = tmp_path / "history.jsonl"
    history_file.write_text("".join(json.dumps(run) + "\n" for run in old_runs))

    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("f8")
        assert isinstance(app.screen, HistoryScreen)

        rows = history_lines(app)
        assert len(rows) == 2, rows
        assert f"{SECOND}  · range 6h" in rows[0]
        # The row wraps inside the dialog, so borders and spaces are left out of the match.
        squeezed = re.sub(r"[\s│█▊▎]", "", screen_text(app))
        assert re.sub(r"\s", "", f"{FIRST} · range {window}") in squeezed


async def test_history_pick_restores_range(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    window = "2026-12-05T21:06:00Z..2026-12-05T21:16:00Z"
    old_runs = [
        {"sql": FIRST, "run_at": "2026-12-05T21:20:00+00:00", "time_range": window},
        {"sql": SECOND, "run_at": "2026-12-05T21:25:00+00:00", "time_range": "not a range"},
    ]
    history_file = tmp_path / "history.jsonl"
    history_file.write_text("".join(json.dumps(run) + "\n" for run in old_runs))

    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        # Enter loads the query and keeps the range.
        await pilot.press("f8", "down", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen), "the picker")
        assert app.editor.text == FIRST
        assert app.time_range.text == "1h"

        await pilot.press("f8", "down", "r")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen), "the picker")
        assert app.editor.text == FIRST
        assert app.time_range.text == window
        assert app.time_range.begin is not None
        assert app.time_range.resolve()[0] == datetime(2026, 12, 5, 21, 6, tzinfo=UTC)

        # A range edited into something invalid: the query loads, the range stays.
        await pilot.press("f8", "r")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen), "the picker")
        assert app.editor.text == SECOND
        assert app.time_range.text == window
        messages = [notice.message for notice in app._notifications]
        assert any(message.startswith(f"The time range stays {window}: ") for message in messages)


async def test_autosave_restores_buffer(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    autosave = tmp_path / "autosave.sql"
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.editor.load_text("")
        app.editor.focus()
        await pilot.press(*"SELECT 42 -- unsaved work")
        await wait_for(
            pilot,
            lambda: autosave.exists() and autosave.read_text() == "SELECT 42 -- unsaved work",
            "the autosave file",
        )
        # A crash does not run the quit action: the file was written while typing.

    restarted = make_app(demo_server.uri, tmp_path)
    async with restarted.run_test(size=SIZE) as pilot:
        assert restarted.editor.text == "SELECT 42 -- unsaved work"


RESTORED = "SELECT time, msg\nFROM log_entries\nWHERE level <= 2"
TYPED_AT_STARTUP = " limit 10"
"""Typed text with keys the app binds outside the editor: `t` (time range) and `1` (preset)."""


class EarlyKeysApp(MmtuiApp):
    """The explorer with TYPED_AT_STARTUP queued as key events before it mounts.

    A terminal's driver posts keys to the same queue, so the app receives the same events when the
    user types while it starts.
    """

    # Textual reads a relative CSS_PATH next to the module of the class that sets it.
    CSS_PATH = Path(app_module.__file__).with_name("app.tcss")

    def on_load(self) -> None:
        for character in TYPED_AT_STARTUP:
            key = "space" if character == " " else character
            self.post_message(events.Key(key, character))


async def test_keys_at_startup_follow_restored_buffer(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    (tmp_path / "autosave.sql").write_text(RESTORED, encoding="utf-8")
    app = make_app(demo_server.uri, tmp_path, time_range="1h", app_class=EarlyKeysApp)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.editor.text != RESTORED,
            "the keys typed at start-up to reach the editor",
        )
        assert app.editor.text == RESTORED + TYPED_AT_STARTUP
        assert app.editor.cursor_location == app.editor.document.end
        assert app.focused is app.editor
        assert app.screen is app.screen_stack[0], "a key opened a dialog"
        assert app.time_range.text == "1h"


async def test_unchanged_welcome_comes_back_selected(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    first = make_app(demo_server.uri, tmp_path)
    async with first.run_test(size=SIZE) as pilot:
        welcome = first.editor.text
        assert "selected: type to replace it" in welcome
        await pilot.press("ctrl+q")
    assert (tmp_path / "autosave.sql").read_text(encoding="utf-8") == welcome

    restarted = make_app(demo_server.uri, tmp_path)
    async with restarted.run_test(size=SIZE) as pilot:
        assert restarted.editor.text == welcome
        restarted.editor.focus()
        await pilot.press(*"SELECT 42")

        # Typing replaced the selected example, below the comment lines.
        lines = restarted.editor.text.splitlines()
        assert lines[-1] == "SELECT 42"
        assert all(line.startswith("--") for line in lines[:-1])


OWN_BUFFER = "SELECT 1 -- the first instance's work"
SECOND_BUFFER = "SELECT 2 -- the second instance's work"


async def test_instances_side_by_side_keep_both_buffers(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    first_file = tmp_path / "autosave.sql"
    first_file.write_text(OWN_BUFFER, encoding="utf-8")
    # Another mmtui owns slot 1, as `claim_slot` in its on_mount would.
    other_instance = claim_slot(first_file)
    try:
        second = make_app(demo_server.uri, tmp_path)
        async with second.run_test(size=SIZE) as pilot:
            assert second.autosave_path == tmp_path / "autosave-2.sql"
            assert OWN_BUFFER not in second.editor.text
            second.editor.load_text("")
            second.editor.focus()
            await pilot.press(*SECOND_BUFFER)
            await pilot.press("ctrl+q")
    finally:
        other_instance.release()
    assert first_file.read_text(encoding="utf-8") == OWN_BUFFER
    assert (tmp_path / "autosave-2.sql").read_text(encoding="utf-8") == SECOND_BUFFER

    # Alone again, an instance takes slot 1 and names the file of the other buffer.
    restarted = make_app(demo_server.uri, tmp_path)
    async with restarted.run_test(size=SIZE) as pilot:
        assert restarted.editor.text == OWN_BUFFER
        notes = [notification.message for notification in restarted._notifications]
        other_file = tmp_path / "autosave-2.sql"
        assert any(f"another mmtui instance is in {other_file}." in note for note in notes), notes


async def test_schema_insert_keeps_welcome_example(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # The example is selected for typing over, but a name from the schema browser goes in at
    # the cursor, as it does anywhere else.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        welcome = app.editor.text
        app.post_message(SchemaBrowser.InsertRequested("level"))
        await wait_for(pilot, lambda: app.editor.text != welcome, "the inserted name")
        assert app.editor.text == welcome + "level"

        # A second insert goes after the first, not over the example and the first name.
        app.post_message(SchemaBrowser.InsertRequested(", msg"))
        await wait_for(pilot, lambda: app.editor.text.endswith(", msg"), "the second name")
        assert app.editor.text == welcome + "level, msg"


async def test_restored_buffer_scrolled_to_left(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    long_first_line = "-- " + "a long comment line " * 5
    (tmp_path / "autosave.sql").write_text(f"{long_first_line}\n\nSELECT 'B' AS b")
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.editor.cursor_location == (2, 15)
        assert app.editor.scroll_x == 0
        assert long_first_line[:20] in screen_text(app)
