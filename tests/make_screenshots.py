"""Write the README's SVG screenshots from a Pilot run on the demo server (`make screenshots`).

Screens: the main screen with results, the schema browser expanded, a validation error, and
the help screen. Output goes to `screenshots/` at the repository root; history and autosave go
to a temporary folder, so a user's own files are not touched.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from mmtui.auth import AppSettings, ConnectionSettings
from mmtui.client_factory import app_client_factory
from mmtui.demo import start_demo_server
from mmtui.paths import AppPaths
from mmtui.ui.app import MmtuiApp

OUTPUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (140, 40)
STORY_SQL = (
    "SELECT time, exe, level, msg\nFROM log_entries\nWHERE level <= 2\n"
    "ORDER BY time DESC\nLIMIT 500"
)


async def _until(pilot: Pilot[Any], condition: Any, what: str, timeout: float = 30.0) -> None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def capture(uri: str, state: Path) -> list[Path]:
    app = MmtuiApp(
        app_client_factory(uri, AppSettings()),
        ConnectionSettings(uri=uri, auth_mode="none"),
        AppSettings(),
        paths=AppPaths.under(state),
        time_range="6h",
    )
    written: list[Path] = []

    def save(name: str) -> None:
        path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(OUTPUT)))
        written.append(path)

    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: app.connected, "the schema")
        app.editor.load_text(STORY_SQL)
        app.editor.move_cursor((2, 0))
        await _until(pilot, lambda: app.hints.last_text.startswith("✓"), "the hint")
        await pilot.press("f5")
        await _until(pilot, lambda: app.results.state == "done", "the query")
        await pilot.press("f4")
        await pilot.pause(0.2)
        save("main-results")

        browser = app.schema_browser
        node = browser.node_for("log_entries")
        assert node is not None
        await pilot.press("f2")
        browser.move_cursor(node)
        await pilot.press("space")
        await pilot.pause(0.2)
        save("schema-expanded")

        app.editor.focus()
        app.editor.load_text("SELECT time, level,\n       mesg\nFROM log_entries\nLIMIT 10")
        app.editor.move_cursor((1, 11))
        await _until(pilot, lambda: app.hints.last_text.startswith("✗"), "the error hint")
        await pilot.pause(0.2)
        save("validation-error")

        await pilot.press("f1")
        await pilot.pause(0.2)
        save("help")
        await pilot.press("escape")
    return written


def main() -> int:
    OUTPUT.mkdir(exist_ok=True)
    server = start_demo_server(host="127.0.0.1", port=0)
    try:
        with tempfile.TemporaryDirectory() as state:
            written = asyncio.run(capture(server.uri, Path(state)))
    finally:
        server.stop()
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
