"""Helpers for the app's Pilot tests: the app, a listener that never replies, screen text, polls."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.pilot import Pilot

from mmtui.auth import AppSettings, ConnectionSettings
from mmtui.client_factory import app_client_factory
from mmtui.paths import AppPaths
from mmtui.ui.app import MmtuiApp

SIZE = (120, 36)


class SilentListener:
    """A TCP listener on 127.0.0.1 that accepts connections and never sends a byte."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = int(self.socket.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _address = self.socket.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.accepted:
            connection.close()


def make_app(
    uri: str,
    state_dir: Path,
    *,
    time_range: str = "all",
    app_settings: AppSettings | None = None,
    demo: Any = None,
    app_class: type[MmtuiApp] = MmtuiApp,
    **kwargs: Any,
) -> MmtuiApp:
    """Return the explorer (an `app_class`) on `uri` with history and autosave under `state_dir`."""
    settings = ConnectionSettings(uri=uri, auth_mode="none")
    app_settings = app_settings or AppSettings()
    return app_class(
        app_client_factory(uri, app_settings),
        settings,
        app_settings,
        demo,
        paths=AppPaths.under(state_dir),
        time_range=time_range,
        **kwargs,
    )


def screen_text(app: MmtuiApp) -> str:
    """Return the screen as plain text, as a user would read it."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
    )
    # NOTE: Textual has no public API for the screen's text; this is what export_screenshot does.
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], object], what: str, timeout: float = 15.0
) -> float:
    """Poll `condition` until true; return the seconds waited, or fail naming `what`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.01)
    waited = time.monotonic() - started
    await pilot.pause()  # let the screen repaint what the condition saw
    return waited


async def wait_schema(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, MmtuiApp)
    await wait_for(pilot, lambda: app.connected, "the schema to load")


async def set_editor_text(pilot: Pilot[Any], text: str) -> None:
    """Replace the editor buffer and put the cursor at its end."""
    app = pilot.app
    assert isinstance(app, MmtuiApp)
    app.editor.load_text(text)
    app.editor.move_cursor(app.editor.document.end)
    await pilot.pause()


async def run_and_wait(pilot: Pilot[Any], sql: str) -> None:
    """Put `sql` in the editor, press F5 and wait until the query ends."""
    app = pilot.app
    assert isinstance(app, MmtuiApp)
    await set_editor_text(pilot, sql)
    app.editor.focus()
    await pilot.press("f5")
    await wait_for(pilot, lambda: app.results.state in ("done", "failed", "cancelled"), sql)
    assert app.results.state == "done", app.results.status_text


async def wait_hint(pilot: Pilot[Any], statement: str, mark: str) -> str:
    """Wait for the validation result of `statement` starting with `mark` ("✓" or "✗")."""
    app = pilot.app
    assert isinstance(app, MmtuiApp)
    hints = app.hints
    await wait_for(
        pilot,
        lambda: hints.shown_statement == statement and hints.last_text.startswith(mark),
        f"the hint {mark} for {statement!r}",
    )
    return hints.last_text


def first_value(app: MmtuiApp) -> Any:
    store = app.results.store
    assert store is not None
    return store.window(0, 1).column(0)[0].as_py()
