"""The schema browser: views with sizes, columns with types and bytes, Enter inserts names."""

from __future__ import annotations

from pathlib import Path

from mmtui.demo import DemoServerHandle
from tests.ui.test_app_support import SIZE, make_app, screen_text, set_editor_text, wait_schema


async def test_expand_view_shows_columns(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        browser = app.schema_browser
        assert {"processes", "streams", "log_entries", "measures"} <= set(browser.table_names)
        node = browser.node_for("log_entries")
        assert node is not None
        assert not node.is_expanded
        # 3 dict ids 150 + insert_time 8 + exe/username/computer 150 + time 8 + target 50
        # + level 4 + msg 50 + two jsonb (dictionary of binary) 100 = 520 B.
        assert "13 cols · ~520 B/row" in str(node.label)

        await pilot.press("f2")
        browser.move_cursor(node)
        await pilot.press("space")
        assert node.is_expanded
        labels = [str(child.label) for child in node.children]
        assert "level  int32  4 B" in labels
        assert "msg  string  50 B" in labels
        assert "exe  dict<string>  50 B" in labels
        assert any(label.startswith("time  ts[ns") and label.endswith("8 B") for label in labels)
        screen = screen_text(app)
        assert "level  int32  4 B" in screen
        templates = [str(leaf.label) for leaf in browser.root.children[1].children]
        assert any(label.startswith("thread_spans(stream_id)") for label in templates)
        assert len(templates) == 4


async def test_enter_inserts_name_at_cursor(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "SELECT  FROM log_entries")
        app.editor.move_cursor((0, 7))
        browser = app.schema_browser
        node = browser.node_for("log_entries")
        assert node is not None
        node.expand()
        await pilot.pause()
        msg = next(child for child in node.children if str(child.label).startswith("msg "))
        await pilot.press("f2")
        browser.move_cursor(msg)
        await pilot.press("enter")
        assert app.editor.text == "SELECT msg FROM log_entries"
        assert app.focused is app.editor
        assert app.editor.cursor_location == (0, 10)

        await pilot.press("f2")
        browser.move_cursor(browser.root.children[1].children[0])
        await pilot.press("enter")
        assert "view_instance('thread_spans', '<stream_id>')" in app.editor.text


async def test_template_selects_placeholder(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "-- one process\nSELECT * FROM ")
        browser = app.schema_browser
        template = next(
            leaf
            for leaf in browser.root.children[1].children
            if str(leaf.label).startswith("measures(process_id)")
        )

        await pilot.press("f2")
        browser.move_cursor(template)
        await pilot.press("enter")

        call_start = len("SELECT * FROM view_instance('measures', '")
        placeholder_end = call_start + len("<process_id>")
        assert (
            app.editor.text
            == "-- one process\nSELECT * FROM view_instance('measures', '<process_id>')"
        )
        assert app.focused is app.editor
        assert app.editor.selected_text == "<process_id>"
        assert tuple(app.editor.selection) == ((1, call_start), (1, placeholder_end))

        await pilot.press("p", "4", "2")

        assert app.editor.text == "-- one process\nSELECT * FROM view_instance('measures', 'p42')"
        assert app.editor.cursor_location == (1, call_start + 3)
