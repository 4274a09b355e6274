"""The app keeps running on bad input: overflowing time ranges, bad state files, a lost server."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from mmtui.auth import AppSettings
from mmtui.demo import DemoServerHandle, start_demo_server
from mmtui.stale_spill import remove_stale_spill_dirs
from mmtui.ui.app import MmtuiApp
from mmtui.ui.history import MAX_ENTRIES, TRIM_SLACK, QueryHistory
from mmtui.ui.schema_browser import SchemaBrowser
from mmtui.ui.time_range_screen import TimeRangeScreen
from tests.ui.test_app_support import (
    SIZE,
    make_app,
    screen_text,
    wait_for,
    wait_hint,
    wait_schema,
)


def _notifications(app: MmtuiApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def test_overflowing_range_in_prompt(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, TimeRangeScreen)
        await pilot.press("ctrl+u", *"9999-12-31T23:59:59-12:00", "enter")
        assert isinstance(app.screen, TimeRangeScreen)
        error = str(app.screen.query_one("#time-range-error").content)
        assert "out of range" in error
        assert "between years 1 and 9999" in error
        await pilot.press("escape")
        assert app.is_running
        assert app.time_range.text == "1h"


async def test_overflowing_initial_range(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="0001-01-01T00:00:00+14:00")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.time_range.text == "1h"
        assert "last 1h:" in app.header_text
        warnings = _notifications(app)
        assert any("between years 1 and 9999" in message for message in warnings), warnings


async def test_zone_toggle_year_one(
    demo_server: DemoServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        app = make_app(demo_server.uri, tmp_path, time_range="0001-01-01T00:00:00Z")
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            await pilot.press("f4", "z")
            assert app.is_running
            assert not app.local_time
            assert "0001-01-01 00:00" in app.header_text
            assert "UTC" in app.header_text
            warnings = _notifications(app)
            assert any("Cannot show local time" in message for message in warnings), warnings
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_autosave_not_utf8(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    original = b"SELECT 1 \xff -- kept\n"
    (tmp_path / "autosave.sql").write_bytes(original)
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.editor.text == "SELECT 1 \ufffd -- kept\n"
        copies = list(tmp_path.glob("autosave.sql.invalid-*"))
        assert len(copies) == 1
        assert copies[0].read_bytes() == original
        assert copies[0].stat().st_mode & 0o777 == 0o600
        warnings = _notifications(app)
        assert any("not valid UTF-8" in message for message in warnings), warnings


async def test_state_folder_is_a_file(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # No folder can be made where a regular file is, so a single error reports that nothing
    # is saved.
    state_file = tmp_path / "statefile"
    state_file.write_text("not a folder")
    app = make_app(demo_server.uri, state_file)
    async with app.run_test(size=SIZE) as pilot:
        app.editor.focus()
        await pilot.press(*"SELECT 7")
        await pilot.press("ctrl+q")

    autosave_notices = [
        notification.message
        for notification in app._notifications
        if notification.title == "Autosave"
    ]
    assert len(autosave_notices) == 1
    assert "cannot save the editor buffer" in autosave_notices[0]
    assert "autosave.sql.new" not in autosave_notices[0]
    assert state_file.read_text() == "not a folder"


async def test_unreadable_autosave_kept(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # A folder in place of the file cannot be read, even by root (whom file modes do not
    # stop). The session saves beside it, so whatever the original contains survives.
    unreadable = tmp_path / "autosave.sql"
    unreadable.mkdir()
    (unreadable / "inside").write_text("kept")
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        warnings = _notifications(app)
        assert any("Cannot read the autosaved buffer" in message for message in warnings)
        assert any("autosave.sql.new" in message for message in warnings), warnings
        app.editor.load_text("")
        app.editor.focus()
        await pilot.press(*"SELECT 7")
        await pilot.press("ctrl+q")

    assert (unreadable / "inside").read_text() == "kept"
    assert (tmp_path / "autosave.sql.new").read_text() == "SELECT 7"

    # The next session meets the same file and continues the buffer saved beside it.
    again = make_app(demo_server.uri, tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        assert again.editor.text == "SELECT 7"
        again.editor.focus()
        await pilot.press(*" + 1")
        await pilot.press("ctrl+q")
    assert (tmp_path / "autosave.sql.new").read_text() == "SELECT 7 + 1"


async def test_fifo_state_files_do_not_hang(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Reading a FIFO without a writer blocked the start-up before the first paint, and a link
    # to /dev/null took every history line without an error.
    os.mkfifo(tmp_path / "autosave.sql")
    os.mkfifo(tmp_path / "autosave-2.sql")
    (tmp_path / "history.jsonl").symlink_to(os.devnull)
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        warnings = _notifications(app)
        assert any("Cannot read the autosaved buffer" in message for message in warnings)
        assert any("autosave.sql.new" in message for message in warnings), warnings

        app.editor.load_text("")
        app.editor.focus()
        await pilot.press(*"SELECT 1 AS one", "f5")
        await wait_for(
            pilot,
            lambda: any("Cannot save the query history" in m for m in _notifications(app)),
            "the query history notice",
        )
        await pilot.press("ctrl+q")

    assert (tmp_path / "autosave.sql.new").read_text() == "SELECT 1 AS one"


async def test_autosave_failure_shown_once(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    (tmp_path / "autosave.sql").mkdir()
    # A non-empty folder where the buffer would go: the rename over it fails.
    blocked = tmp_path / "autosave.sql.new"
    blocked.mkdir()
    (blocked / "inside").write_text("")
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.editor.load_text("")
        app.editor.focus()
        await pilot.press(*"SELECT 1")
        await wait_for(
            pilot,
            lambda: any("Cannot save the editor buffer" in m for m in _notifications(app)),
            "the autosave failure notice",
        )
        await pilot.press(*" + 1")
        app._write_autosave()
        failures = [m for m in _notifications(app) if "Cannot save the editor buffer" in m]
        assert len(failures) == 1
        assert str(blocked) in failures[0]


async def test_quit_waits_when_autosave_fails(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # Quit right after typing, before the autosave delay, wrote the buffer once, failed, and
    # exited at once: the text was lost with only a log line.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        blocked = tmp_path / "autosave.sql"
        blocked.unlink(missing_ok=True)
        blocked.mkdir()
        (blocked / "inside").write_text("")
        app.editor.load_text("")
        app.editor.focus()
        await pilot.press(*"SELECT 'precious'", "ctrl+q")

        assert app.is_running
        failures = [m for m in _notifications(app) if "Cannot save the editor buffer" in m]
        assert len(failures) == 1
        assert "quit again to exit without saving" in failures[0]
        assert app.editor.text == "SELECT 'precious'"

        # A second quit with the same buffer exits.
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, "the exit")
    assert app.return_code == 0


TITLE_ESCAPE = "\x1b]2;HIJACKED\x07"
"""An OSC sequence that sets the terminal's title when a terminal receives it."""


async def test_control_characters_never_reach_editor(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # A hand-edited autosave file, a view name from a hostile server, and a history entry.
    (tmp_path / "autosave.sql").write_text(f"SELECT 1 -- {TITLE_ESCAPE}\r\nFROM t\tx\n")
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        assert app.editor.text == "SELECT 1 -- \u241b]2;HIJACKED\u2407\nFROM t\tx\n"

        app.editor.load_text("SELECT * FROM ")
        app.editor.move_cursor(app.editor.document.end)
        name = f'"evil{TITLE_ESCAPE}v"'
        app.post_message(SchemaBrowser.InsertRequested(f"{name}(<id>)", "<id>"))
        await pilot.pause()
        assert app.editor.text == 'SELECT * FROM "evil\u241b]2;HIJACKED\u2407v"(<id>)'
        assert app.editor.selected_text == "<id>", "the placeholder stays selected"

        app._load_from_history(f"SELECT '{TITLE_ESCAPE}'")
        assert "\x1b" not in app.editor.text
        assert "\x07" not in app.editor.text
        assert "\x1b" not in screen_text(app)


async def test_history_picker_shows_controls(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # The picker shows the control characters of a hand-edited history file as symbols.
    entry = {"sql": f"SELECT 7 AS {TITLE_ESCAPE}x", "run_at": "2026-12-05T09:02:00+00:00"}
    (tmp_path / "history.jsonl").write_text(json.dumps(entry) + "\n")
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("f8")
        await wait_for(pilot, lambda: "SELECT 7 AS" in screen_text(app), "the history picker")

        text = screen_text(app)
        assert "SELECT 7 AS \u241b]2;HIJACKED\u2407x" in text
        assert "\x1b" not in text
        assert "\x07" not in text


async def test_template_placeholder_not_run_alone(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        app.editor.load_text("SELECT * FROM ")
        app.editor.move_cursor(app.editor.document.end)
        app.post_message(SchemaBrowser.InsertRequested("log_entries(<process_id>)", "<process_id>"))
        await pilot.pause()
        assert app.editor.selected_text == "<process_id>"

        # Validation and F5 see the whole statement, not the selected placeholder alone.
        statement = app.editor.statement_under_cursor()
        assert statement is not None
        assert statement.text == "SELECT * FROM log_entries(<process_id>)"

        # Once the text changes, the same range selected again is the user's own selection.
        placeholder = app.editor.selection
        app.editor.insert_at_cursor("<process_id>")
        app.editor.selection = placeholder
        statement = app.editor.statement_under_cursor()
        assert statement is not None
        assert statement.text == "<process_id>"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT E'it\\'s; fine' AS word",
        "SELECT $$a;b$$ AS word",
        "SELECT /* off /* old; */ still; */ 'x' AS word",
    ],
    ids=["escape-string", "dollar-quoted", "nested-comment"],
)
async def test_f5_runs_whole_odd_statement(
    demo_server: DemoServerHandle, tmp_path: Path, sql: str
) -> None:
    # DataFusion reads these forms, so a semicolon inside them does not end the statement.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        app.editor.load_text(f"SELECT 1;\n{sql};\nSELECT 2")
        app.editor.move_cursor((1, 0))
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state in ("done", "failed"), "the query")

        assert app.results.state == "done", app.results.error_text
        assert app.history.entries[-1].sql == sql
        store = app.results.store
        assert store is not None
        assert store.schema.names == ["word"]


def test_history_skips_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    good = json.dumps({"sql": "SELECT 1", "run_at": "", "time_range": "1h"}).encode()
    path.write_bytes(good + b"\n\xff\xfe not utf-8\n{broken json\n" + good.replace(b"1", b"2"))
    history = QueryHistory(path)
    assert [entry.sql for entry in history.entries] == ["SELECT 1", "SELECT 2"]


def test_history_keeps_other_instance_entries(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    first = QueryHistory(path)
    for number in range(MAX_ENTRIES):
        first.add(f"SELECT {number}", "1h")
    second = QueryHistory(path)
    second.add("SELECT 'from the second instance'", "1h")
    for number in range(200):
        first.add(f"SELECT 'first again' + {number}", "1h")

    on_disk = QueryHistory(path)
    sqls = [entry.sql for entry in on_disk.entries]
    assert "SELECT 'from the second instance'" in sqls
    assert sqls[-1] == "SELECT 'first again' + 199"
    line_count = len(path.read_bytes().splitlines())
    assert line_count <= MAX_ENTRIES + 100
    assert line_count >= MAX_ENTRIES
    assert path.stat().st_mode & 0o777 == 0o600


def test_history_trim_drops_repeats(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = QueryHistory(path)
    for _ in range(MAX_ENTRIES + TRIM_SLACK - 1):
        history.add("SELECT 1", "1h")
    history.add("SELECT 2", "1h")
    assert len(path.read_bytes().splitlines()) == MAX_ENTRIES + TRIM_SLACK
    history.add("SELECT 1", "6h")  # one line past the slack: the file is trimmed

    lines = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["sql"] for line in lines] == ["SELECT 2", "SELECT 1"]
    assert lines[1]["time_range"] == "6h"
    assert [entry.sql for entry in QueryHistory(path).entries] == ["SELECT 2", "SELECT 1"]


async def test_server_loss_updates_header(tmp_path: Path) -> None:
    server = start_demo_server(host="127.0.0.1", port=0, scale=0.05)
    app = make_app(server.uri, tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            statement = "SELECT 1 AS one"
            app.editor.load_text(statement)
            app.editor.focus()
            await wait_hint(pilot, statement, "✓")
            server.stop()
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.results.state == "failed", "the query to fail")
            await wait_for(pilot, lambda: not app.connected, "the connection state to change")
            assert "●" not in app.header_text
            assert "connection lost · F9" in app.header_text
            assert "✓ valid" not in app.hints.last_text
    finally:
        server.stop()


async def test_stale_spill_dirs_removed(
    demo_server: DemoServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    old = time.time() - 2 * 24 * 3600
    stale = temporary / "mmtui-spill-abcd1234"
    recent = temporary / "mmtui-spill-recent01"
    in_use = temporary / "mmtui-spill-inuse001"
    other = temporary / "mmtui-spill-not-ours"
    for folder in (stale, recent, in_use, other):
        folder.mkdir()
        (folder / "results.arrows").write_bytes(b"x" * 10)
    for folder in (stale, in_use, other):
        os.utime(folder / "results.arrows", (old, old))
        os.utime(folder, (old, old))
    with open(in_use / "results.arrows", "rb"):
        app = make_app(demo_server.uri, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            # The clean-up runs on a worker thread: wait for all of them to end.
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert not stale.exists()
            assert recent.exists()
            assert in_use.exists()
            assert other.exists()


def test_spill_cleanup_without_proc(tmp_path: Path) -> None:
    stale = tmp_path / "mmtui-spill-abcd1234"
    stale.mkdir()
    hour_old = time.time() - 3600
    os.utime(stale, (hour_old, hour_old))
    no_proc = tmp_path / "no-proc"
    assert remove_stale_spill_dirs(tmp_path, proc=no_proc) == []
    assert stale.exists()
    day_later = time.time() + 24 * 3600
    assert remove_stale_spill_dirs(tmp_path, now=day_later, proc=no_proc) == [stale]
    assert not stale.exists()


async def test_signal_handlers_removed_at_exit(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app._signal_handlers == [signal.SIGTERM, signal.SIGHUP]
    assert app._signal_handlers == []
    assert signal.getsignal(signal.SIGTERM) == before


async def test_unknown_theme_warns(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, app_settings=AppSettings(theme="no-such-theme"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme != "no-such-theme"
        warnings = _notifications(app)
        assert any("Unknown theme 'no-such-theme'" in message for message in warnings), warnings
