"""A statement on one very long line: the editor stays responsive, without SQL highlighting.

The long statement has 40,000 ids in one `IN (...)` list: 228,966 characters on one line.
"""

from __future__ import annotations

from pathlib import Path

from rich.style import Style
from textual import events

from mmtui.demo import DemoServerHandle
from mmtui.ui.app import MmtuiApp
from mmtui.ui.editor import MAX_HIGHLIGHT_BUFFER_CHARS, MAX_HIGHLIGHT_LINE_LENGTH
from tests.ui.test_app_hints import cell_styles
from tests.ui.test_app_support import (
    SIZE,
    make_app,
    screen_text,
    set_editor_text,
    wait_for,
    wait_hint,
    wait_schema,
)

LONG_STATEMENT = (
    "SELECT level, count(*) AS n FROM log_entries WHERE level IN ("
    + ",".join(str(number) for number in range(40_000))
    + ") GROUP BY level"
)
PLAIN_TEXT_NOTE = "No SQL highlighting: a line is over 5,000 characters"


def first_row_styles(app: MmtuiApp) -> list[Style]:
    """Return the style of each text cell of the editor's first row, scrolled to its start."""
    editor = app.editor
    assert editor.scroll_offset.x == 0
    return cell_styles(editor.render_line(0))[editor.gutter_width :]


async def test_long_line_paste_stays_editable(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "")
        app.editor.focus()
        await pilot.pause()

        app.post_message(events.Paste(LONG_STATEMENT))
        await wait_for(pilot, lambda: app.editor.text == LONG_STATEMENT, "the pasted statement")
        assert PLAIN_TEXT_NOTE in screen_text(app)
        assert not app.editor.highlighting

        # Keys typed after the paste are applied, in order, at the end of the line.
        await pilot.press(*" LIMIT 5")
        typed = LONG_STATEMENT + " LIMIT 5"
        assert app.editor.text == typed
        assert app.editor.cursor_location == (0, len(typed))
        assert "GROUP BY level LIMIT 5" in screen_text(app)

        # Validation still plans the whole statement.
        hint = await wait_hint(pilot, typed, "✓")
        assert "2 columns" in hint

        await pilot.press("ctrl+q")
    assert (tmp_path / "autosave.sql").read_text(encoding="utf-8") == typed


async def test_highlighting_follows_line_length(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        short = "SELECT 1 -- "
        longest_highlighted = short + "x" * (MAX_HIGHLIGHT_LINE_LENGTH - len(short))
        await set_editor_text(pilot, longest_highlighted)
        app.editor.focus()
        await pilot.pause()
        assert app.editor.highlighting
        assert PLAIN_TEXT_NOTE not in screen_text(app)

        # One more character makes the line too long, and Backspace makes it fit again.
        await pilot.press("x")
        assert not app.editor.highlighting
        assert PLAIN_TEXT_NOTE in screen_text(app)
        await pilot.press("backspace")
        assert app.editor.highlighting
        assert PLAIN_TEXT_NOTE not in screen_text(app)

        # Undo and redo bring the long line back and take it away again, with the cursor
        # where the edit left it.
        await set_editor_text(pilot, short)
        app.post_message(events.Paste(LONG_STATEMENT))
        await wait_for(pilot, lambda: app.editor.text == short + LONG_STATEMENT, "the paste")
        assert not app.editor.highlighting
        await pilot.press("ctrl+z")
        assert app.editor.text == short
        assert app.editor.cursor_location == (0, len(short))
        assert app.editor.highlighting
        await pilot.press("ctrl+y")
        assert app.editor.text == short + LONG_STATEMENT
        assert app.editor.cursor_location == (0, len(short + LONG_STATEMENT))
        assert not app.editor.highlighting
        await pilot.press("ctrl+z")
        assert app.editor.highlighting

        # On screen, a highlighted keyword and a number differ in colour. In plain text the
        # whole line has one style.
        app.editor.move_cursor((0, len(short)))
        await pilot.pause()
        styles = first_row_styles(app)
        assert styles[1] != styles[7], "SELECT and 1 should be highlighted"
        app.post_message(events.Paste(LONG_STATEMENT))
        await wait_for(pilot, lambda: not app.editor.highlighting, "the plain text")
        app.editor.move_cursor((0, len(short)))
        app.editor.scroll_to(x=0, animate=False, immediate=True)
        await pilot.pause()
        styles = first_row_styles(app)
        assert styles[1] == styles[7]


async def test_long_autosaved_line_restored(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    (tmp_path / "autosave.sql").write_text(LONG_STATEMENT, encoding="utf-8")
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        assert app.editor.text == LONG_STATEMENT
        assert PLAIN_TEXT_NOTE in screen_text(app)
        assert not app.editor.highlighting

        await pilot.press("end", *" LIMIT 5")
        assert app.editor.text == LONG_STATEMENT + " LIMIT 5"
        assert "GROUP BY level LIMIT 5" in screen_text(app)


async def test_big_buffer_is_plain_text(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # 5,000 short statements: no line is long, but the buffer is over the limit.
    statements = [f"SELECT {number} AS n{number};" for number in range(5_000)]
    big = "\n".join(statements)
    assert len(big) > MAX_HIGHLIGHT_BUFFER_CHARS
    assert max(map(len, statements)) < MAX_HIGHLIGHT_LINE_LENGTH
    big_note = f"No SQL highlighting: the buffer is over {MAX_HIGHLIGHT_BUFFER_CHARS:,} characters"
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, big)
        app.editor.focus()
        await pilot.pause()
        assert not app.editor.highlighting
        assert big_note in screen_text(app)

        # Typing still works, and the statement under the cursor is validated.
        await pilot.press("backspace", *" LIMIT 1;")
        last = "SELECT 4999 AS n4999 LIMIT 1"
        assert app.editor.text.endswith(last + ";")
        await wait_hint(pilot, last, "✓")

        # Undo brings the big buffer back after a small one, in plain text again.
        app.editor.select_all()
        app.post_message(events.Paste("SELECT 2"))
        await wait_for(pilot, lambda: app.editor.text == "SELECT 2", "the paste over the buffer")
        assert app.editor.highlighting
        assert big_note not in screen_text(app)
        await pilot.press("ctrl+z")
        assert len(app.editor.text) > MAX_HIGHLIGHT_BUFFER_CHARS
        assert not app.editor.highlighting
        assert big_note in screen_text(app)


async def test_redo_over_replaced_lines(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Typing over a selection of many lines, then undo and redo: the redo shrinks the buffer
    # to one line while Textual still has the cursor on the last line of the old text.
    small = "\n".join(f"SELECT {number} AS n{number};" for number in range(50))
    big = "\n".join(f"SELECT {number} AS n{number}, 'padding' AS p;" for number in range(4_000))
    assert len(big) > MAX_HIGHLIGHT_BUFFER_CHARS
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        for text in (small, big):
            await set_editor_text(pilot, text)
            app.editor.focus()
            app.editor.select_all()
            await pilot.press(*"SELECT 42")
            assert app.editor.text == "SELECT 42"

            # Textual undoes the first key, which replaced the selection, on its own.
            await pilot.press("ctrl+z", "ctrl+z")
            assert app.editor.text == text
            await pilot.press("ctrl+y")
            assert app.editor.text == "S"
            assert app.editor.cursor_location == (0, 1)
            assert app.editor.highlighting
            assert app.is_running
