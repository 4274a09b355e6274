"""Result grid formatting budget: only visible cells are formatted, and cached lines are reused."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from textual.app import App, ComposeResult

from mmtui.results import ResultStore
from mmtui.ui.grid import ResultGrid
from tests.ui.test_results_pane_support import SCREEN_SIZE

COLUMNS = 30
BATCH_ROWS = 10_000
SCHEMA = pa.schema([(f"c{i}", pa.string()) for i in range(COLUMNS)])


def make_batch(start: int, rows: int, cell: str = "v") -> pa.RecordBatch:
    """Return `rows` rows whose cells read "{cell}{row}" (so widths grow only with `cell`)."""
    values = [f"{cell}{row % 1000:03d}" for row in range(start, start + rows)]
    return pa.record_batch([pa.array(values)] * COLUMNS, schema=SCHEMA)


class CountingStore(ResultStore):
    """A result store that records the (start, stop, columns) of every `format_window` call."""

    def __init__(self, schema: pa.Schema) -> None:
        super().__init__(schema)
        self.calls: list[tuple[int, int, list[int]]] = []

    def format_window(
        self, start: int, stop: int, columns: Sequence[int], tz: str | None = None
    ) -> list[list[str]]:
        self.calls.append((start, stop, list(columns)))
        return super().format_window(start, stop, columns, tz)


class GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResultGrid()


async def test_grid_formats_visible_cells_only() -> None:
    store = CountingStore(SCHEMA)
    store.append(make_batch(0, BATCH_ROWS))
    app = GridApp()
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        grid = app.query_one(ResultGrid)
        grid.show_store(store)
        grid.focus()
        await pilot.pause()
        page = grid.scrollable_content_region.height - 1

        assert len(store.calls) == 1
        start, stop, columns = store.calls[0]
        assert (start, stop) == (0, page)
        # Each column is 4 cells of text plus padding, so about 20 fit in 120 cells.
        assert columns == list(range(len(columns)))
        assert 15 <= len(columns) < COLUMNS
        assert grid_text(grid, 1).split()[0] == "v000"

        # Stepping past the bottom line formats the one row that scrolled in.
        store.calls.clear()
        for _ in range(page):
            await pilot.press("down")
        assert grid.cursor_row == page
        assert [call[:2] for call in store.calls] == [(page, page + 1)]


async def test_grid_keeps_lines_when_rows_arrive_below() -> None:
    store = CountingStore(SCHEMA)
    store.append(make_batch(0, BATCH_ROWS))
    app = GridApp()
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        grid = app.query_one(ResultGrid)
        grid.show_store(store, BATCH_ROWS)
        await pilot.pause()
        store.calls.clear()

        store.append(make_batch(BATCH_ROWS, BATCH_ROWS))
        grid.rows_appended(store.row_count)
        grid.refresh()
        await pilot.pause()

        assert grid.row_count == 2 * BATCH_ROWS
        assert store.calls == []

        # A wider value changes the column layout, so the visible lines are drawn again with
        # the new widths: the second column's text moves from cell 7 to cell 23.
        assert grid_text(grid, 1).index("v000", 2) == 7
        store.append(make_batch(2 * BATCH_ROWS, 10, cell="much-wider-value-"))
        grid.rows_appended(store.row_count)
        await pilot.pause()

        assert grid_text(grid, 1).index("v000", 2) == 23
        assert grid_text(grid, 0).split()[:2] == ["c0", "c1"]


async def test_grid_fills_blank_lines_as_rows_arrive() -> None:
    store = CountingStore(SCHEMA)
    store.append(make_batch(0, 3))
    app = GridApp()
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        grid = app.query_one(ResultGrid)
        grid.show_store(store)
        await pilot.pause()
        assert grid_text(grid, 4).strip() == ""
        store.calls.clear()

        store.append(make_batch(3, 2))
        grid.rows_appended(store.row_count)
        await pilot.pause()

        assert [call[:2] for call in store.calls] == [(3, 5)]
        assert grid_text(grid, 4).split()[0] == "v003"
        assert grid_text(grid, 5).split()[0] == "v004"
        assert grid_text(grid, 6).strip() == ""


def grid_text(grid: ResultGrid, y: int) -> str:
    return grid.render_line(y).text


async def test_streamed_rows_keep_horizontal_scrollbar() -> None:
    # Over SSH every repaint costs bytes. New rows of the same widths change only the
    # vertical scrollbar's range, so the horizontal scrollbar must not be repainted.
    store = CountingStore(SCHEMA)
    store.append(make_batch(0, BATCH_ROWS))
    app = GridApp()
    async with app.run_test(size=SCREEN_SIZE) as pilot:
        grid = app.query_one(ResultGrid)
        grid.show_store(store)
        await pilot.pause()
        assert grid.show_horizontal_scrollbar
        assert grid.show_vertical_scrollbar
        repainted: list[str] = []
        for name, scrollbar in (
            ("horizontal", grid.horizontal_scrollbar),
            ("vertical", grid.vertical_scrollbar),
        ):

            def count(*regions: object, name: str = name, **kwargs: object) -> None:
                repainted.append(name)

            scrollbar.refresh = count  # type: ignore[method-assign]

        store.append(make_batch(BATCH_ROWS, BATCH_ROWS))
        grid.rows_appended(store.row_count)
        grid._flush_virtual_size()
        # Read before the next await: style updates at exit repaint both scrollbars.
        repainted_by_rows = list(repainted)
        virtual_height = grid.virtual_size.height
        window_virtual_size = grid.vertical_scrollbar.window_virtual_size

    assert virtual_height == 2 * BATCH_ROWS + 1
    assert window_virtual_size == virtual_height
    assert "vertical" in repainted_by_rows
    assert "horizontal" not in repainted_by_rows
