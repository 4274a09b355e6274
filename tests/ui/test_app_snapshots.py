"""Snapshot per screen at 80x24: the plain text on screen, compared with a stored copy.

Text snapshots, not SVG: they show the layout at the smallest supported size and stay stable,
because the screens chosen here hold nothing that changes between runs once the server's port
is masked (range "all", no query timing). Set UPDATE_SNAPSHOTS=1 to rewrite the stored copies
after a deliberate change, then review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mmtui.demo import DemoServerHandle
from mmtui.ui.app import MmtuiApp
from mmtui.ui.help_screen import HelpScreen
from mmtui.ui.time_range_screen import TimeRangeScreen
from tests.ui.test_app_support import (
    make_app,
    run_and_wait,
    screen_text,
    set_editor_text,
    wait_for,
    wait_schema,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
SMALL = (80, 24)
LARGE = (200, 50)
PORT = re.compile(r"127\.0\.0\.1:\d+")
ELAPSED = re.compile(r"· \d+\.\d s")
RESULTS_SQL = (
    "SELECT * FROM (VALUES (1, 'first', 4), (2, 'séance 二', 2), (3, '[bold]x[/]', 1))"
    " AS t(n, label, level)"
)


def masked_screen(app: MmtuiApp) -> str:
    lines = [line.rstrip() for line in screen_text(app).split("\n")]
    return PORT.sub("127.0.0.1:PORT", "\n".join(lines).rstrip("\n") + "\n")


async def empty_editor(pilot: Pilot[None], app: MmtuiApp) -> None:
    """Empty the editor and wait until the welcome example's hints are gone.

    They stay until the emptied buffer's hint replaces them, which a busy machine delays.
    """
    await set_editor_text(pilot, "")
    await wait_for(
        pilot, lambda: "No time range" not in screen_text(app), "the example's hints to go"
    )


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            pytest.fail(f"snapshot {path} is missing; run the tests locally to create it")
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"screen differs from {path}"


async def test_snapshot_schema_expanded(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_schema(pilot)
        await empty_editor(pilot, app)
        node = app.schema_browser.node_for("log_entries")
        assert node is not None
        await pilot.press("f2")
        app.schema_browser.move_cursor(node)
        await pilot.press("space")
        await pilot.pause()

        text = masked_screen(app)
        assert "level  int32  4 B" in text
        check_snapshot("schema-expanded-80x24", text)


async def test_snapshot_validation_error(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_schema(pilot)
        await set_editor_text(pilot, "SELECT mesg\nFROM log_entries")
        await wait_for(pilot, lambda: app.hints.last_text.startswith("✗"), "the error hint")

        text = masked_screen(app)
        assert "line 1, column 8" in text
        check_snapshot("validation-error-80x24", text)


async def test_snapshot_help(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_schema(pilot)
        await empty_editor(pilot, app)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")

        text = masked_screen(app)
        assert "app.run_query" in text
        check_snapshot("help-80x24", text)


async def test_snapshot_time_range_prompt(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_schema(pilot)
        await empty_editor(pilot, app)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, TimeRangeScreen), "the prompt")

        text = masked_screen(app)
        check_snapshot("time-range-80x24", text)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["80x24", "200x50"])
async def test_snapshot_results(
    demo_server: DemoServerHandle, tmp_path: Path, size: tuple[int, int]
) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_schema(pilot)
        await run_and_wait(pilot, RESULTS_SQL)
        await pilot.press("f4", "down")
        await pilot.pause()

        text = ELAPSED.sub("· T s", masked_screen(app))
        assert "done · 3 rows · 1 batch · T s" in text
        check_snapshot(f"results-{size[0]}x{size[1]}", text)


async def test_snapshot_first_start(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await wait_schema(pilot)
        await wait_for(pilot, lambda: app.hints.last_text.startswith("✓"), "the example's hint")

        text = masked_screen(app)
        assert "The example below is selected" in text
        check_snapshot("first-start-80x24", text)
