"""Faults around the app: an unreachable server at start-up, quitting during a query, and
quitting while the table listing waits on a server that never replies."""

from __future__ import annotations

import asyncio
import gc
import inspect
import socket
import threading
import time
import types
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyarrow import flight
from textual import events

from mmtui.auth import AppSettings
from mmtui.demo import DemoServerHandle, start_demo_server
from mmtui.ui.app import MmtuiApp
from tests.fault_server import FaultServerHandle, start_fault_server
from tests.ui.test_app_support import (
    SIZE,
    SilentListener,
    make_app,
    screen_text,
    set_editor_text,
    wait_for,
    wait_schema,
)

# Each row of the cross join is tiny, but there are billions of them: the stream runs until
# it is cancelled.
ENDLESS_SQL = "SELECT a.msg FROM log_entries a CROSS JOIN log_entries b"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_names_remapped_keys(tmp_path: Path) -> None:
    uri = f"grpc://127.0.0.1:{_closed_port()}"
    settings = AppSettings(keys={"app.reconnect": "f12", "app.time_range": "ctrl+r"})
    app = make_app(uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.schema_message.startswith("Cannot reach"),
            "the unreachable message",
        )
        screen = screen_text(app)
        assert "F12 retries" in screen
        assert "F9" not in screen

        commands = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert commands["Reconnect"] == "Log in if needed and reload the schema (F12)"
        assert commands["Time range…"] == "Type a time range (^r)"


async def test_unreachable_then_retry(tmp_path: Path) -> None:
    port = _closed_port()
    uri = f"grpc://127.0.0.1:{port}"
    app = make_app(uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.schema_message.startswith("Cannot reach"),
            "the unreachable message",
        )
        assert not app.connected
        screen = screen_text(app)
        assert f"Cannot reach {uri}" in app.schema_message
        assert "Cannot reach" in screen
        assert "F9 retries" in screen
        assert "Connection refused" in app.schema_message
        assert "not connected" in app.header_text

        app.editor.load_text("")
        app.editor.focus()
        await pilot.press(*"SELECT 1")
        assert app.editor.text == "SELECT 1"

        server = start_demo_server(host="127.0.0.1", port=port, scale=0.05)
        try:
            await pilot.press("f9")
            await wait_schema(pilot)
            assert "log_entries" in app.schema_browser.table_names
            assert "●" in app.header_text
            assert "not connected" not in app.header_text
        finally:
            server.stop()


async def start_endless_query(pilot: Any, app: MmtuiApp) -> None:
    """Run `ENDLESS_SQL` from the editor and wait until its rows stream into the grid."""
    await wait_schema(pilot)
    app.editor.load_text(ENDLESS_SQL)
    app.editor.focus()
    await pilot.press("f5")
    await wait_for(
        pilot,
        lambda: app.results.is_running and app.results.grid.store is not None,
        "rows to stream",
    )


async def test_quit_during_query_is_quick(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await start_endless_query(pilot, app)
        worker = app.results._worker
        assert worker is not None
        pressed = time.monotonic()
        await pilot.press("ctrl+q")
    exited = time.monotonic() - pressed
    print(f"exit took {exited * 1000:.0f} ms")
    assert exited < 1.0
    assert worker.wait(timeout=1.0), "the query worker still runs 1 s after exit"
    assert app.return_code == 0


async def test_escape_in_editor_cancels(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await start_endless_query(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results.state == "cancelled", "the cancellation")
        store = app.results.store
        assert store is not None
        assert store.row_count > 0, "rows received before the cancel stay"
        assert app.focused is app.editor
        assert app.editor.text == ENDLESS_SQL


async def test_escape_cancels_in_maximized_pane(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await start_endless_query(pilot, app)
        # Ctrl+P → Maximize, with the result grid focused.
        await pilot.press("f4")
        app.screen.action_maximize()
        await pilot.pause()
        maximized = app.screen.maximized
        # The whole pane, so the status line with the progress stays on screen.
        assert maximized is app.results
        assert "running" in screen_text(app)

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results.state == "cancelled", "the cancellation")
        assert app.screen.maximized is maximized
        await wait_for(pilot, lambda: "cancelled ·" in screen_text(app), "the status on screen")

        await pilot.press("escape")
        assert app.screen.maximized is None

        # F3 from the maximized pane brings the layout back, so the editor shows.
        app.screen.action_maximize()
        await pilot.pause()
        assert app.screen.maximized is not None
        await pilot.press("f3")
        assert app.screen.maximized is None
        assert app.focused is app.editor


def _never_started_coroutines(name: str) -> list[str]:
    """Return the coroutines named `name` that were created and never awaited."""
    gc.collect()
    return [
        obj.__qualname__
        for obj in gc.get_objects()
        if isinstance(obj, types.CoroutineType)
        and obj.__qualname__.endswith(name)
        and inspect.getcoroutinestate(obj) == inspect.CORO_CREATED
    ]


def test_late_listing_result_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="mmtui")
    listener = SilentListener()
    # App.call_from_thread wraps the callback in this coroutine. Python warns when one is
    # collected without having been awaited.
    handoff = "call_from_thread.<locals>.run_callback"
    leaked_before = len(_never_started_coroutines(handoff))

    async def quit_while_listing() -> list[threading.Thread]:
        app = make_app(f"grpc://127.0.0.1:{listener.port}", tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: bool(listener.accepted), "the table listing to connect")
            return [t for t in threading.enumerate() if t.name.startswith("mmtui-worker")]

    # asyncio.run closes the app's event loop before the blocked listing ends, as at a real exit.
    try:
        blocked = asyncio.run(quit_while_listing())
    finally:
        listener.close()
    assert blocked, "no worker thread was blocked on the listener"
    for thread in blocked:
        thread.join(timeout=20.0)
        assert not thread.is_alive(), f"{thread.name} still runs 20 s after the listener closed"

    # The worker got its error after the app had exited, so it logged it at debug level
    # instead of warning about a connection that the exit closed.
    assert "listing tables ended after exit" in caplog.text
    assert "listing tables failed" not in caplog.text
    assert len(_never_started_coroutines(handoff)) == leaked_before


async def test_escape_before_run_spares_new_query(
    fault_server: FaultServerHandle, tmp_path: Path
) -> None:
    # Esc then F5 in quick succession: F5 (an app binding) starts the new query before Esc
    # reaches the editor's queue. The Esc was meant for the old query and must spare the new.
    sql = "SELECT 1 -- fault:trickle:400"
    app = make_app(fault_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, sql)
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "running", "the first query")
        first_run = app.results._run_id

        app.post_message(events.Key("escape", None))
        app.post_message(events.Key("f5", None))
        await wait_for(pilot, lambda: app.results._run_id != first_run, "the second query")
        await wait_for(pilot, lambda: app._escape_time is None, "the Esc to be handled")
        await wait_for(pilot, lambda: app.results.grid.row_count > 0, "the second query's rows")

        assert app.results.state == "running", app.results.status_text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results.state == "cancelled", "the cancel")


@pytest.mark.parametrize(
    ("listing", "reason"),
    [
        (flight.FlightInternalError("catalog store is down"), "catalog store is down"),
        (pa.table({"name": ["t"], "type": ["VIEW"]}), "GetTables result is not usable"),
        (
            pa.table({"table_name": ["t"], "table_type": ["VIEW"], "table_schema": ["text"]}),
            "GetTables result is not usable",
        ),
    ],
    ids=["server-error", "missing-columns", "schema-as-text"],
)
async def test_listing_failure_keeps_connected(
    tmp_path: Path, listing: pa.Table | Exception, reason: str
) -> None:
    # The server is reachable but cannot list its tables, so queries still run: the header
    # shows it connected and the schema pane names the listing as what failed.
    server = start_fault_server()
    server.server.tables_listing = listing
    try:
        app = make_app(server.uri, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: "listing its tables failed" in app.schema_message,
                "the listing failure",
            )
            assert reason in app.schema_message
            assert "Cannot reach" not in app.schema_message
            assert app.connected
            assert "not connected" not in app.header_text
            assert f"● {server.uri}" in screen_text(app)

            await set_editor_text(pilot, "SELECT 1 -- fault:rows:5")
            app.editor.focus()
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.results.state == "done", "the query to end")
            assert app.results.grid.row_count == 5
    finally:
        server.stop()


async def test_nameless_listed_table_skipped(tmp_path: Path) -> None:
    server = start_fault_server()
    server.server.tables_listing = pa.table(
        {"table_name": [None, "faults"], "table_type": ["VIEW", "VIEW"]},
        schema=pa.schema([("table_name", pa.string()), ("table_type", pa.string())]),
    )
    try:
        app = make_app(server.uri, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            assert app.schema_browser.table_names == ["faults"]
            assert "None" not in screen_text(app)
    finally:
        server.stop()


async def test_unsafe_table_name_not_inserted(tmp_path: Path) -> None:
    # A name with an ESC or a bidi override shows as visible symbols, which would not name
    # the server's table if inserted. So Enter refuses it and shows the reason.
    hostile = "\x1b]0;title\x07tbl"
    server = start_fault_server()
    server.server.tables_listing = pa.table(
        {"table_name": [hostile, "Plain Name"], "table_type": ["VIEW", "VIEW"]}
    )
    try:
        app = make_app(server.uri, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            await set_editor_text(pilot, "")
            browser = app.schema_browser
            browser.focus()
            views = browser.root.children[0].children
            # Sorted by name, and ESC (0x1b) sorts before "P".
            assert [str(node.label) for node in views] == [
                "\u241b]0;title\u2407tbl",
                "Plain Name",
            ]
            hostile_index, plain_index = 0, 1

            browser.move_cursor(views[hostile_index])
            await pilot.press("enter")
            notes = [notification.message for notification in app._notifications]
            assert any("cannot be inserted" in note for note in notes), notes
            assert app.editor.text == ""

            browser.move_cursor(views[plain_index])
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.editor.text != "", "the plain name inserted")
            assert app.editor.text == '"Plain Name"'
    finally:
        server.stop()


async def test_listing_timeout_not_called_unreachable(tmp_path: Path) -> None:
    server = start_fault_server()
    server.server.tables_listing = flight.FlightTimedOutError("listing took too long")
    try:
        app = make_app(server.uri, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: app.schema_message.startswith("No table list from"),
                "the timeout message",
            )
            assert "Cannot reach" not in app.schema_message
            assert "listing took too long" in app.schema_message
            assert "queries may still run" in app.schema_message
    finally:
        server.stop()
