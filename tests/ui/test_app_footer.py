"""The footer offers the keys that apply now (Esc while a query runs, F9 while disconnected),
as whole hints that fit the terminal's width, and frees the hints it replaces."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from mmtui.auth import AppSettings
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


def notification_messages(app: MmtuiApp) -> list[str]:
    # NOTE: toasts do not show in `screen_text`, so the app's notification list is read.
    return [notification.message for notification in app._notifications]


RANGE_NOTICE = "The results are from the previous range: F5 runs the query again."


async def show_range_notice(pilot: Pilot[Any], app: MmtuiApp) -> None:
    """Run a query, then pick another range preset, which shows `RANGE_NOTICE`."""
    await wait_schema(pilot)
    await run_and_wait(pilot, "SELECT 1 AS one")
    await pilot.press("f2", "3")
    await wait_for(pilot, lambda: RANGE_NOTICE in notification_messages(app), "the notice")


async def test_range_notice_gone_after_rerun(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await show_range_notice(pilot, app)

        await pilot.press("f3", "f5")
        await wait_for(pilot, lambda: app.results.state == "done", "the rerun")
        await pilot.pause()
        assert RANGE_NOTICE not in notification_messages(app)


async def test_second_range_replaces_notice(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await show_range_notice(pilot, app)

        await pilot.press("4")
        await pilot.pause()
        assert notification_messages(app).count(RANGE_NOTICE) == 1


async def test_range_notice_names_remapped_run_key(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    settings = AppSettings(keys={"app.run_query": "f12"})
    app = make_app(demo_server.uri, tmp_path, app_settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "SELECT 1 AS one")
        app.editor.focus()
        await pilot.press("f12")
        await wait_for(pilot, lambda: app.results.state == "done", "the query")
        await pilot.press("f2", "3")
        await pilot.pause()

        messages = notification_messages(app)
        assert "The results are from the previous range: F12 runs the query again." in messages


async def test_rerun_without_unnotify_still_runs(
    demo_server: DemoServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await show_range_notice(pilot, app)

        # A Textual release without this internal must not stop the query from running.
        monkeypatch.setattr(app, "_unnotify", None)
        await run_and_wait(pilot, "SELECT 2 AS two")
        assert "two" in screen_text(app)


def shown_hints(app: MmtuiApp) -> list[str]:
    """Return the "key description" text of each hint the footer widget holds, in order."""
    footer = app.screen_stack[0].query_one(Footer)
    return [
        f"{key.key_display} {key.description}"
        for key in footer.children
        if not key.has_class("-command-palette")
    ]


def check_footer_fits(app: MmtuiApp) -> str:
    """Assert that the footer shows whole hints and the palette key; return the hints part."""
    line = footer(app)
    assert len(line) <= app.size.width
    hints, border, palette = line.partition("▏")
    assert border == "▏", line
    # Nothing follows the palette key, so no hint runs on under it.
    assert palette.rstrip() == "^p palette", line
    assert hints.split() == " ".join(shown_hints(app)).split(), line
    return hints


async def test_footer_fits_narrow_and_wide(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_schema(pilot)
        await run_and_wait(pilot, "SELECT 1 AS one")
        await pilot.press("f4")
        await wait_for(pilot, lambda: "⏎ Detail" in footer(app), "the grid's keys")
        wide = check_footer_fits(app)
        for hint in ("⏎ Detail", "J Row JSON", "e Export", "f8 History", "f1 Help", "^q Quit"):
            assert hint in wide

        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: "f8 History" not in footer(app), "the narrow footer")
        narrow = check_footer_fits(app)
        for hint in ("⏎ Detail", "e Export", "f1 Help", "^q Quit"):
            assert hint in narrow

        await pilot.press("f2")
        await wait_for(pilot, lambda: "Insert name" in footer(app), "the schema's keys")
        narrow = check_footer_fits(app)
        assert "f1 Help" in narrow


def footer_keys_in_memory() -> int:
    """Return how many `FooterKey` objects survive a full garbage collection.

    `gc.get_objects` leaves out objects frozen by `gc.freeze`. The app calls it once per
    process while it starts, so the keys of the queries measured here are counted.
    """
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, FooterKey))


async def test_footer_frees_replaced_keys(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Each query changes the bindings (Esc is offered while it runs), and the footer rebuilds
    # its keys on every change. Removed keys used to stay alive: about 30 per query.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        for _ in range(20):
            await run_and_wait(pilot, "SELECT 1")
        before = footer_keys_in_memory()

        for _ in range(40):
            await run_and_wait(pilot, "SELECT 1")
        after = footer_keys_in_memory()
        keys_on_screen = len(app.screen_stack[0].query(FooterKey))

    # A rebuild still in flight may hold one footer's worth of new keys.
    assert keys_on_screen > 0
    assert after - before <= keys_on_screen, (
        f"{after - before} more FooterKey objects after 40 queries"
    )


async def test_footer_keeps_unchanged_keys(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # Rebuilt keys repaint the whole footer line, which costs bytes over SSH. The header's
    # update every 30 seconds refreshes the bindings even when none of them changed.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.pause()
        keys_before = list(app.screen_stack[0].query(FooterKey))

        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        keys_after = list(app.screen_stack[0].query(FooterKey))

    assert keys_before
    assert keys_after == keys_before, "the footer rebuilt keys that did not change"
