"""The footer offers the keys that apply now: Esc while a query runs, F9 while disconnected."""

from __future__ import annotations

from pathlib import Path

from mmtui.demo import DemoServerHandle
from mmtui.ui.app import MmtuiApp
from tests.ui.test_app_faults import ENDLESS_SQL, _closed_port
from tests.ui.test_app_support import (
    SIZE,
    make_app,
    run_and_wait,
    screen_text,
    set_editor_text,
    wait_for,
    wait_schema,
)


def footer(app: MmtuiApp) -> str:
    return screen_text(app).rstrip("\n").split("\n")[-1]


async def test_footer_offers_cancel_while_running(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "")
        assert "Cancel" not in footer(app)

        await set_editor_text(pilot, ENDLESS_SQL)
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.store is not None, "the first rows")
        assert "esc Cancel" in footer(app)
        assert "Reconnect" not in footer(app)

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.results.state == "cancelled", "the cancel")
        assert "Cancel" not in footer(app)


async def test_footer_offers_reconnect_when_unreachable(tmp_path: Path) -> None:
    app = make_app(f"grpc://127.0.0.1:{_closed_port()}", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.schema_message.startswith("Cannot reach"), "failure")
        assert "f9 Reconnect" in footer(app)


async def test_range_change_says_results_are_old(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await run_and_wait(pilot, "SELECT 1 AS one")
        await pilot.press("f2", "3")

        messages = [notification.message for notification in app._notifications]
        assert "The results are from the previous range: F5 runs the query again." in messages
