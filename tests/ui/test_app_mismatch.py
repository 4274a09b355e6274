"""The app on a raw gRPC server: a third record batch that does not match the schema, and
interval types that pyarrow cannot wrap in Python."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtui.results.text import NULL_TEXT
from tests.mismatch_server import GOOD_ROWS_BEFORE, MismatchServerHandle, start_mismatch_server
from tests.ui.test_app_support import SIZE, make_app, screen_text, set_editor_text, wait_for

SQL = "SELECT id, msg FROM logs -- mismatch:layout"


@pytest.fixture
def mismatch_server() -> Iterator[MismatchServerHandle]:
    handle = start_mismatch_server()
    yield handle
    handle.stop()


async def test_mismatched_batch_keeps_rows(
    mismatch_server: MismatchServerHandle, tmp_path: Path
) -> None:
    app = make_app(mismatch_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await set_editor_text(pilot, SQL)
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state == "failed", "the query to fail")

        assert app.editor.text == SQL
        store = app.results.store
        assert store is not None
        assert store.row_count == GOOD_ROWS_BEFORE
        assert store.window(0, GOOD_ROWS_BEFORE).column("id").to_pylist() == list(
            range(GOOD_ROWS_BEFORE)
        )
        assert app.results.status_text.startswith(f"failed after {GOOD_ROWS_BEFORE} rows")

        error = app.results.error_text
        assert "DATA_LOSS: cannot decode record batch 3 that the server sent" in error
        assert "buffer_index out of range" in error
        screen = screen_text(app)
        assert "cannot decode record batch 3" in screen
        assert "Traceback" not in screen


async def test_interval_columns_shown(
    mismatch_server: MismatchServerHandle, tmp_path: Path
) -> None:
    app = make_app(mismatch_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await set_editor_text(pilot, "SELECT * FROM spans -- intervals")
        app.editor.focus()
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.results.state in ("done", "failed"), "the query to end")

        assert app.results.state == "done", app.results.error_text
        store = app.results.store
        assert store is not None
        rows = store.format_window(0, 3, [0, 1, 2])
        assert rows == [
            ["1", "1y 2mo", "1d 01:00:00"],
            ["2", NULL_TEXT, NULL_TEXT],
            ["3", "-1mo", "-2d -00:00:00.001"],
        ]
        screen = screen_text(app)
        assert "1y 2mo" in screen
        assert "KeyError" not in screen
