"""`mmtui --demo` start-up: the explorer opens while the demo server starts, then connects."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from mmtui.auth import AppSettings, ConnectionSettings
from mmtui.client_factory import app_client_factory
from mmtui.demo.server import DemoServerHandle
from mmtui.demo.startup import DemoStartup
from mmtui.paths import AppPaths
from mmtui.ui.app import MmtuiApp
from tests.ui.test_app_support import SIZE, run_and_wait, wait_for

WAIT_S = 60.0


class GatedStartup:
    """A `DemoStartup` that begins only once `gate` is set, so a test can check the wait."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self._startup: DemoStartup | None = None
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        return self._startup is not None and self._startup.done

    def result(self, timeout: float | None = None) -> DemoServerHandle:
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        with self._lock:
            if self._startup is None:
                self._startup = DemoStartup(host="127.0.0.1", port=0, scale=0.05)
        return self._startup.result(timeout)

    def stop(self) -> None:
        if self._startup is not None:
            self._startup.stop()


def make_demo_app(
    startup: GatedStartup | DemoStartup,
    state_dir: Path,
    created: list[Any] | None = None,
    closed: list[Any] | None = None,
) -> MmtuiApp:
    """Return the explorer as `mmtui --demo` builds it.

    `created` collects each client made, and `closed` each one closed.
    """
    app_settings = AppSettings()

    # The factory needs the server's URI, known once it serves.
    def client_factory() -> Any:
        client = app_client_factory(startup.result().uri, app_settings)()
        if created is not None:
            created.append(client)
        if closed is not None:
            original_close = client.close

            def record_close() -> None:
                closed.append(client)
                original_close()

            client.close = record_close
        return client

    return MmtuiApp(
        client_factory,
        ConnectionSettings(uri="", auth_mode="none"),
        app_settings,
        startup,
        paths=AppPaths.under(state_dir),
        time_range="all",
    )


def still_connecting_notices(app: MmtuiApp) -> list[str]:
    messages = [notification.message for notification in app._notifications]
    return [message for message in messages if message.startswith("Still connecting")]


async def test_explorer_opens_before_demo_server(tmp_path: Path) -> None:
    startup = GatedStartup()
    app = make_demo_app(startup, tmp_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "(demo)" in app.header_text, "the header")
            assert app.schema_message == "Starting the demo server…"
            assert "◌ connecting" in app.header_text
            assert not app.connected

            # The editor works, and F5 explains why nothing runs yet.
            app.editor.load_text("")
            app.editor.focus()
            await pilot.press(*"SELECT 1")
            assert app.editor.text == "SELECT 1"
            await pilot.press("f5")
            await wait_for(pilot, lambda: still_connecting_notices(app), "the notice")
            assert app.results.state != "running"

            startup.gate.set()
            await wait_for(pilot, lambda: app.connected, "the schema to load", timeout=WAIT_S)
            assert "log_entries" in app.schema_browser.table_names
            assert "● grpc://127.0.0.1:" in app.header_text
            assert "(demo)" in app.header_text
            assert app.settings.uri.startswith("grpc://127.0.0.1:")

            await run_and_wait(pilot, "SELECT count(*) AS n FROM log_entries")
            store = app.results.store
            assert store is not None
            assert store.window(0, 1).column("n").to_pylist()[0] > 0
    finally:
        startup.gate.set()
        startup.stop()


async def test_retries_while_starting_keep_one_client(tmp_path: Path) -> None:
    startup = GatedStartup()
    created: list[Any] = []
    closed: list[Any] = []
    app = make_demo_app(startup, tmp_path, created, closed)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.connecting, "the first connection attempt")
            # F9 twice while the demo server starts: three workers wait for it.
            await pilot.press("f9")
            await pilot.press("f9")

            startup.gate.set()
            await wait_for(pilot, lambda: app.connected, "the schema to load", timeout=WAIT_S)
            await wait_for(pilot, lambda: len(closed) == 2, "the older attempts to close theirs")

            # Only the newest attempt keeps its client, and the others closed theirs.
            assert len(created) == 3
            assert app.client in created
            assert [client for client in created if client not in closed] == [app.client]
            assert "log_entries" in app.schema_browser.table_names
    finally:
        startup.gate.set()
        startup.stop()


async def test_failed_demo_start_is_explained(tmp_path: Path) -> None:
    # An issuer without an audience makes the real start fail at once.
    startup = DemoStartup(host="127.0.0.1", port=0, issuer="http://127.0.0.1:1")
    app = make_demo_app(startup, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: app.schema_message.startswith("The demo server did not start:\n"),
            "the failed start",
            timeout=WAIT_S,
        )

        assert not app.connecting
        assert "issuer and audience" in app.schema_message
        assert "has the details" in app.schema_message
        assert "Cannot reach" not in app.schema_message
        assert not app.connected
    startup.stop()
