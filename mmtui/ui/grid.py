"""The result grid: a Line API view (`ScrollView.render_line`) over a `ResultStore`.

The grid never converts rows to Python objects in bulk. Its virtual size comes from the row
count and the column widths that the store measured off the UI thread. Each repaint calls the
store to format only the visible rows of the visible columns, and rendered lines are cached by
what changes their picture (row, visible column span, cursor cell, column layout). Line 0 is a
header that stays fixed while the body scrolls. Cell text is placed in rich `Segment`s as plain
text after `mmtui.results` made control characters visible, so server data is never parsed as
markup. Timestamps show in `display_tz`, with a UTC offset of `+00:00` written as `Z`.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa
from rich.cells import split_graphemes
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, Spacing, clamp
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mmtui.results import (
    LEVEL_NAMES,
    MAX_COLUMN_CELLS,
    MAX_HEADER_CELLS,
    ResultStore,
    cell_width,
    is_level_field,
    resolve_display_tz,
    safe_text,
    truncate_cells,
)
from mmtui.results.formatting import (
    FRACTION_DIGITS,
    OFFSET_CELLS,
    TIMESTAMP_CELLS,
    compact_offset_cells,
    compact_utc_offset,
)

logger = logging.getLogger(__name__)

HEADER_HEIGHT = 1
"""Lines taken by the fixed header at the top of the grid."""

CELL_PADDING = 1
"""Blank cells on each side of a column's text."""

VIRTUAL_SIZE_INTERVAL = 1.0
"""Seconds between virtual size updates while rows stream in below the visible ones.

Each update costs a layout pass and a repaint of the whole screen: about 24 ms at 200x50 on a
2-core VM, so at 4 per second one key press in ten waited behind one. Only the scrollbars lag.
"""

LINE_CACHE_SIZE = 2000
"""Rendered lines kept, enough for several screens at 200x50."""

LEVEL_CLASSES: dict[str, str] = {
    "FATAL": "result-grid--level-fatal",
    "ERROR": "result-grid--level-error",
    "WARN": "result-grid--level-warn",
    "DEBUG": "result-grid--level-debug",
    "TRACE": "result-grid--level-trace",
}
"""Component class per level name; INFO keeps the default style."""

LEVEL_NAME_CELLS = max(len(name) for name in LEVEL_NAMES.values())
"""Width of the longest level name ("FATAL", "ERROR", "DEBUG", "TRACE")."""


@dataclass(frozen=True)
class _Styles:
    """Rich styles of the grid's parts, read from CSS once per focus state and theme.

    Reading `rich_style` or a component style walks the DOM, which costs more than drawing a
    cached line, so it is not done per line or per repaint.
    """

    base: Style
    header: Style
    header_cursor: Style
    cursor: Style
    levels: dict[str, Style]


@dataclass(frozen=True)
class _Frame:
    """Styles and visible column span of one repaint, computed once per `render_lines` call."""

    styles: _Styles
    first: int
    stop: int
    width: int
    start_x: int


def is_right_aligned(field: pa.Field) -> bool:
    """Tell whether a column's values read best right-aligned (plain numbers)."""
    data_type = field.type
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return bool(
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_decimal(data_type)
    )


def level_name(text: str) -> str | None:
    """Return the level name of a level cell's text ("ERROR" or "2" give "ERROR"), or None.

    The store shows `level` columns by name already; the number form is mapped for stores
    that do not.
    """
    if text in LEVEL_NAMES.values():
        return text
    try:
        return LEVEL_NAMES.get(int(text))
    except ValueError:
        return None


JOINED_GRAPHEME = re.compile("[\u200d\ufe0f\U0001f1e6-\U0001f1ff]")
"""The zero-width joiner, variation selector 16 and regional indicators (two make a flag):
code points that make one grapheme with their neighbours."""

REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


def crop_line(strip: Strip, start: int, end: int, style: Style) -> Strip:
    """Return cells [start, end) of `strip`, padded with `style`, without splitting a grapheme.

    Textual's `crop_extend` cuts with Rich's `Segment.split_cells`, which can cut inside a ZWJ
    sequence and leave a line wider on screen than its cell count. Here a grapheme that an edge
    cuts becomes spaces. Lines without such a grapheme take `crop_extend`.
    """
    if not any(JOINED_GRAPHEME.search(segment.text) for segment in strip):
        return strip.crop_extend(start, end, style)

    segments: list[Segment] = []
    position = 0
    shown_cells = 0
    for segment in strip:
        pieces: list[str] = []
        for first, last, cells in _flag_spans(segment.text):
            left, right = position, position + cells
            position = right
            if cells == 0:
                if start <= left < end:
                    pieces.append(segment.text[first:last])
            elif start <= left and right <= end:
                pieces.append(segment.text[first:last])
                shown_cells += cells
            elif left < end and right > start:
                blank = min(right, end) - max(left, start)
                pieces.append(" " * blank)
                shown_cells += blank
        if pieces:
            segments.append(Segment("".join(pieces), segment.style))
    if shown_cells < end - start:
        segments.append(Segment(" " * (end - start - shown_cells), style))
    return Strip(segments, end - start)


def _flag_spans(text: str) -> list[tuple[int, int, int]]:
    """Return Rich's grapheme spans of `text` (start, end, cells), with flags as one span.

    Rich measures each regional indicator alone, and a terminal pairs them left to right, so a
    crop between the two halves of a flag would show other flags after it.
    """
    spans, _ = split_graphemes(text)
    merged: list[tuple[int, int, int]] = []
    index = 0
    while index < len(spans):
        first, last, cells = spans[index]
        following = spans[index + 1] if index + 1 < len(spans) else None
        pair = (
            following is not None
            and _is_regional(text, first, last)
            and _is_regional(text, following[0], following[1])
        )
        if pair and following is not None:
            merged.append((first, following[1], cells + following[2]))
            index += 2
            continue
        merged.append((first, last, cells))
        index += 1
    return merged


def _is_regional(text: str, first: int, last: int) -> bool:
    return last - first == 1 and ord(text[first]) in REGIONAL_INDICATORS


class ResultGrid(ScrollView, can_focus=True, inherit_bindings=False):
    """A cursor-driven table over a `ResultStore`, drawn one line at a time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up",
            "cursor_up",
            "Up",
            show=False,
            id="grid.cursor_up",
            tooltip="Move the cursor up one row",
        ),
        Binding(
            "down",
            "cursor_down",
            "Down",
            show=False,
            id="grid.cursor_down",
            tooltip="Move the cursor down one row",
        ),
        Binding(
            "left",
            "cursor_left",
            "Left",
            show=False,
            id="grid.cursor_left",
            tooltip="Move the cursor one column left",
        ),
        Binding(
            "right",
            "cursor_right",
            "Right",
            show=False,
            id="grid.cursor_right",
            tooltip="Move the cursor one column right",
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            show=False,
            id="grid.page_up",
            tooltip="Move the cursor up one page",
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id="grid.page_down",
            tooltip="Move the cursor down one page",
        ),
        Binding(
            "home,ctrl+home",
            "cursor_top",
            "First row",
            show=False,
            id="grid.first_row",
            tooltip="Move the cursor to the first row",
        ),
        Binding(
            "end,ctrl+end",
            "cursor_bottom",
            "Last row",
            show=False,
            id="grid.last_row",
            tooltip="Move the cursor to the last row",
        ),
        Binding(
            "ctrl+left,shift+home",
            "cursor_first_column",
            "First column",
            show=False,
            id="grid.first_column",
            tooltip="Move the cursor to the first column",
        ),
        Binding(
            "ctrl+right,shift+end",
            "cursor_last_column",
            "Last column",
            show=False,
            id="grid.last_column",
            tooltip="Move the cursor to the last column",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "result-grid--header",
        "result-grid--cursor",
        "result-grid--cursor-column-header",
        "result-grid--null",
        *LEVEL_CLASSES.values(),
    }

    DEFAULT_CSS = """
    ResultGrid {
        background: $surface;
        color: $foreground;
        overflow: auto auto;
        height: 1fr;
        & > .result-grid--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .result-grid--cursor-column-header {
            text-style: bold reverse;
        }
        & > .result-grid--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .result-grid--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .result-grid--level-fatal {
            color: $text-error;
            text-style: bold;
        }
        & > .result-grid--level-error {
            color: $text-error;
        }
        & > .result-grid--level-warn {
            color: $text-warning;
        }
        & > .result-grid--level-debug {
            text-style: dim;
        }
        & > .result-grid--level-trace {
            text-style: dim;
        }
    }
    """

    class CursorMoved(Message):
        """The cursor cell changed (row and column are 0-based indices into the result)."""

        def __init__(self, grid: ResultGrid, row: int, column: int) -> None:
            super().__init__()
            self.grid = grid
            self.row = row
            self.column = column

        @property
        def control(self) -> ResultGrid:
            return self.grid

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._store: ResultStore | None = None
        self._row_count = 0
        self._names: list[str] = []
        self._widths: list[int] = []
        self._offsets: list[int] = [0]
        self._level_columns: set[int] = set()
        self._right_aligned: set[int] = set()
        # Timestamp columns: index to (unit, the column's own zone).
        self._timestamp_columns: dict[int, tuple[str, str | None]] = {}
        self._display_tz: str | None = None
        self._layout_version = 0
        self._line_cache: LRUCache[tuple[object, ...], Strip] = LRUCache(LINE_CACHE_SIZE)
        # Formatted cell texts by (row, first column, stop column). They do not depend on the
        # cursor or the column widths, so moving the cursor never calls the store again.
        self._cells_cache: LRUCache[tuple[int, int, int], Sequence[str]] = LRUCache(LINE_CACHE_SIZE)
        self._frame: _Frame | None = None
        self._styles: dict[bool, _Styles] = {}
        self._virtual_size_stale = False
        self.cursor_row = 0
        """Row index of the cursor cell, 0-based."""
        self.cursor_column = 0
        """Column index of the cursor cell, 0-based."""

    # ----------------------------------------------------------------------------------------
    # Data

    @property
    def store(self) -> ResultStore | None:
        """The result store on screen, or None before the first result."""
        return self._store

    @property
    def row_count(self) -> int:
        """Rows the grid shows: the store's row count when the grid last heard of new batches."""
        return self._row_count

    @property
    def column_count(self) -> int:
        return len(self._names)

    @property
    def column_names(self) -> list[str]:
        """Column names as displayed (control characters made visible)."""
        return list(self._names)

    @property
    def display_tz(self) -> str | None:
        """Zone timestamps are shown in: None for each column's own zone (naive columns without
        an offset), `"local"` for this machine's zone, or an IANA zone name.

        Setting it repaints the grid; an unknown zone name raises ValueError.
        """
        return self._display_tz

    @display_tz.setter
    def display_tz(self, tz: str | None) -> None:
        resolve_display_tz(tz)
        if tz == self._display_tz:
            return
        self._display_tz = tz
        self._cells_cache.clear()
        # The offset's width depends on the zone, so the layout is redone.
        self._apply_widths(self._measure_widths())
        self._update_virtual_size()
        self.refresh()

    def show_store(self, store: ResultStore | None, row_count: int | None = None) -> None:
        """Put a result store on screen, with the cursor at the first cell.

        `row_count` is the number of rows the caller knows are complete in the store. The grid
        reads no row beyond it, so a worker thread may keep appending meanwhile.
        """
        self._store = store
        if store is None:
            self._row_count = 0
        elif row_count is None:
            self._row_count = store.row_count
        else:
            self._row_count = row_count
        self._timestamp_columns = {}
        if store is None:
            self._names = []
            self._level_columns = set()
            self._right_aligned = set()
        else:
            schema = store.schema
            self._names = [safe_text(field.name) for field in schema]
            self._level_columns = {i for i, field in enumerate(schema) if is_level_field(field)}
            self._right_aligned = {
                i
                for i, field in enumerate(schema)
                if is_right_aligned(field) and i not in self._level_columns
            }
            # Dictionary-encoded timestamps show their values, so they are narrowed the same way.
            value_types = [
                field.type.value_type if pa.types.is_dictionary(field.type) else field.type
                for field in schema
            ]
            self._timestamp_columns = {
                i: (value_type.unit, value_type.tz)
                for i, value_type in enumerate(value_types)
                if pa.types.is_timestamp(value_type)
            }
        self._widths = []
        self._cells_cache.clear()
        self._apply_widths(self._measure_widths())
        self.cursor_row = 0
        self.cursor_column = 0
        self._update_virtual_size()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.CursorMoved(self, self.cursor_row, self.cursor_column))

    def rows_appended(self, row_count: int) -> None:
        """Take in rows a worker appended to the store; repaint only what changed on screen."""
        if self._store is None or row_count < self._row_count:
            return
        old_count = self._row_count
        self._row_count = row_count
        widths = self._measure_widths()
        if widths != self._widths:
            # Wider columns move every visible cell, so the whole grid is repainted.
            self._apply_widths(widths)
            self.refresh()
        else:
            first_visible = int(self.scroll_y)
            last_visible = first_visible + self._page_height()
            if old_count < last_visible and row_count > first_visible:
                # Rows appeared in lines that were blank: repaint those lines only. Cached lines
                # of older rows stay valid because stored rows never change.
                start = max(old_count, first_visible)
                self._refresh_rows(start, min(row_count, last_visible))
        # The virtual size only moves the scrollbars here. Setting it costs a layout pass of
        # the whole screen, so it follows at most every VIRTUAL_SIZE_INTERVAL seconds.
        self._virtual_size_stale = True

    def _measure_widths(self) -> list[int]:
        """Return the store's column widths, widened for level names, capped like the store."""
        if self._store is None:
            return []
        widths = list(self._store.column_widths)
        for index in self._level_columns:
            if index < len(widths):
                widths[index] = max(widths[index], LEVEL_NAME_CELLS)
        for index, (unit, zone) in self._timestamp_columns.items():
            if index < len(widths):
                widths[index] = self._timestamp_cells(index, widths[index], unit, zone)
        return [min(MAX_COLUMN_CELLS, max(1, width)) for width in widths]

    def _timestamp_cells(self, index: int, measured: int, unit: str, zone: str | None) -> int:
        """Narrow a timestamp column to the offset it shows (none, `Z` or `+HH:MM`).

        The store leaves room for a 6-cell offset on every timestamp column. Widths below that
        room come from values outside years 0001-9999, measured without it; they stay as they are.
        """
        fraction = FRACTION_DIGITS[unit] + (1 if FRACTION_DIGITS[unit] else 0)
        with_offset = TIMESTAMP_CELLS + fraction + OFFSET_CELLS
        if measured < with_offset:
            return measured
        saved = OFFSET_CELLS - compact_offset_cells(zone, self._display_tz)
        return max(min(cell_width(self._names[index]), MAX_HEADER_CELLS), measured - saved)

    def _apply_widths(self, widths: list[int]) -> None:
        self._widths = widths
        offsets = [0]
        for width in widths:
            offsets.append(offsets[-1] + width + 2 * CELL_PADDING)
        self._offsets = offsets
        self._layout_version += 1
        self._line_cache.clear()

    def _update_virtual_size(self) -> None:
        self._virtual_size_stale = False
        size = Size(self._offsets[-1], self._row_count + HEADER_HEIGHT)
        if size == self.virtual_size:
            return
        if not self.container_size:
            # Before the first layout, the layout pass to come sizes the scrollbars.
            self.virtual_size = size
            return
        # Assigning `virtual_size` costs a layout pass of the whole screen (about 10 ms at
        # 200x50 on the 2-core VM). It is needed only when a scrollbar appears or goes, and
        # Textual's `_refresh_scrollbars` (called by `_scroll_update`) then requests one
        # itself. Otherwise the scrollbars only take their new ranges.
        # NOTE: `_scroll_update` is private Textual API (textual 8.2). `ScrollView` calls it
        # from `_size_updated` with its own `virtual_size`, as here.
        old_width = self.virtual_size.width
        self.set_reactive(ResultGrid.virtual_size, size)
        if size.width == old_width:
            self._update_row_range(size)
        else:
            self._scroll_update(size)
        # `watch_scroll_y` moves a thumb only while its scrollbar is shown, so a scrollbar that
        # comes back would still show where an older result was scrolled to.
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = self.scroll_y
        if self.show_horizontal_scrollbar:
            self.horizontal_scrollbar.position = self.scroll_x

    def _update_row_range(self, size: Size) -> None:
        """Give the vertical scrollbar the new row count, leaving the horizontal one as it is.

        Textual's `_scroll_update` repaints both scrollbars. While rows stream in, the
        horizontal one keeps its range, and its repaint sent about 1.9 KB per second at 120
        columns in tmux (each of its cells is written with its own style).
        """
        scrollbars_before = (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self._refresh_scrollbars()
        if (self.show_vertical_scrollbar, self.show_horizontal_scrollbar) != scrollbars_before:
            # A scrollbar came or went, which changes the other one's length.
            self._scroll_update(size)
            return
        if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
            # The same assignments as Textual 8.2's `_scroll_update`.
            scrollbar = self.vertical_scrollbar
            scrollbar.window_virtual_size = size.height
            scrollbar.window_size = self.container_size.height - self.scrollbar_size_horizontal
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def _flush_virtual_size(self) -> None:
        if self._virtual_size_stale:
            self._update_virtual_size()

    def _reach_row(self, row: int) -> None:
        """Update a stale virtual size when `row` or the column widths lie beyond it.

        Otherwise scrolling to the cursor would be clamped to the old size.
        """
        if not self._virtual_size_stale:
            return
        size = self.virtual_size
        if row + HEADER_HEIGHT >= size.height or self._offsets[-1] != size.width:
            self._update_virtual_size()

    def on_mount(self) -> None:
        self.set_interval(VIRTUAL_SIZE_INTERVAL, self._flush_virtual_size)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._line_cache.clear()

    # ----------------------------------------------------------------------------------------
    # Geometry

    def _page_height(self) -> int:
        """Body lines on screen (the header excluded)."""
        return max(1, self.scrollable_content_region.height - HEADER_HEIGHT)

    def _visible_columns(self) -> tuple[int, int]:
        """Return the span [first, stop) of columns that intersect the viewport."""
        if not self._widths:
            return 0, 0
        left = int(self.scroll_x)
        right = left + max(1, self.scrollable_content_region.width)
        first = max(0, bisect_right(self._offsets, left) - 1)
        stop = min(len(self._widths), bisect_left(self._offsets, right))
        return first, max(first + 1, stop)

    def _refresh_rows(self, start: int, stop: int) -> None:
        """Repaint the lines showing rows [start, stop)."""
        top = start + HEADER_HEIGHT - int(self.scroll_y)
        if stop > start:
            self.refresh(Region(0, top, self.size.width, stop - start))

    def _row_at_line(self, y: int) -> int:
        return y - HEADER_HEIGHT + int(self.scroll_y)

    # ----------------------------------------------------------------------------------------
    # Rendering

    def _make_frame(self) -> _Frame:
        styles = self._styles.get(self.has_focus)
        if styles is None:
            styles = self._read_styles()
            self._styles[self.has_focus] = styles
        first, stop = self._visible_columns()
        return _Frame(
            styles=styles,
            first=first,
            stop=stop,
            width=self.size.width,
            start_x=int(self.scroll_x) - self._offsets[first] if self._widths else 0,
        )

    def _read_styles(self) -> _Styles:
        base = self.rich_style
        header = base + self.get_component_rich_style("result-grid--header")
        return _Styles(
            base=base,
            header=header,
            header_cursor=header
            + self.get_component_rich_style("result-grid--cursor-column-header"),
            cursor=self.get_component_rich_style("result-grid--cursor"),
            levels={
                name: base + self.get_component_rich_style(component)
                for name, component in LEVEL_CLASSES.items()
            },
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = self._make_frame()
        try:
            self._prefetch_visible_rows()
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _line_key(self, row: int, first: int, stop: int) -> tuple[object, ...]:
        cursor = (self.cursor_column, self.has_focus) if row == self.cursor_row else None
        return (row, first, stop, cursor, self._layout_version)

    def _prefetch_visible_rows(self) -> None:
        """Render the visible lines that are not cached, with one store call for their cells."""
        store = self._store
        if store is None or self._row_count == 0 or not self._widths:
            return
        frame = self._frame or self._make_frame()
        first, stop = frame.first, frame.stop
        first_row = int(self.scroll_y)
        stop_row = min(self._row_count, first_row + self._page_height())
        missing = [
            row
            for row in range(first_row, stop_row)
            if self._line_key(row, first, stop) not in self._line_cache
        ]
        if not missing:
            return
        unformatted = [row for row in missing if (row, first, stop) not in self._cells_cache]
        if unformatted:
            self._format_rows(store, unformatted[0], unformatted[-1] + 1, first, stop)
        for row in missing:
            cells = self._cells_cache.get((row, first, stop))
            if cells is None:
                # The store could not format the row (see _format_rows); the line stays blank.
                continue
            strip = self._render_row(frame, row, cells)
            self._line_cache[self._line_key(row, first, stop)] = strip

    def _format_rows(self, store: ResultStore, start: int, end: int, first: int, stop: int) -> None:
        """Format rows [start, end) of columns [first, stop) into the cell cache."""
        try:
            window = store.format_window(start, end, list(range(first, stop)), self._display_tz)
        except Exception:
            # A store read error (for example a closed store or a spill file removed
            # underneath) must not take the screen down: the rows render as blank lines.
            logger.exception("formatting rows %d..%d failed", start, end)
            return
        timestamp_offsets = [
            column - first for column in self._timestamp_columns if first <= column < stop
        ]
        # The store returns fewer rows than asked only when it was closed meanwhile.
        for row, cells in zip(range(start, end), window, strict=False):
            for offset in timestamp_offsets:
                cells[offset] = compact_utc_offset(cells[offset])
            self._cells_cache[(row, first, stop)] = cells

    def _fit(self, text: str, width: int, right: bool) -> str:
        text_width = cell_width(text)
        if text_width > width:
            text = truncate_cells(text, width)
            text_width = cell_width(text)
        padding = " " * max(0, width - text_width)
        return padding + text if right else text + padding

    def _render_row(self, frame: _Frame, row: int, cells: Sequence[str]) -> Strip:
        pad = " " * CELL_PADDING
        segments: list[Segment] = []
        for offset, column in enumerate(range(frame.first, frame.stop)):
            text = cells[offset] if offset < len(cells) else ""
            style = frame.styles.base
            if column in self._level_columns:
                name = level_name(text)
                if name is not None:
                    text = name
                    style = frame.styles.levels.get(name, frame.styles.base)
            text = self._fit(text, self._widths[column], column in self._right_aligned)
            if row == self.cursor_row and column == self.cursor_column:
                style = style + frame.styles.cursor
            segments.append(Segment(pad + text + pad, style))
        return Strip(segments)

    def _render_header(self, frame: _Frame) -> Strip:
        key = ("header", frame.first, frame.stop, self.cursor_column, self._layout_version)
        cached = self._line_cache.get(key)
        if cached is not None:
            return cached
        pad = " " * CELL_PADDING
        segments = []
        for column in range(frame.first, frame.stop):
            text = self._fit(self._names[column], self._widths[column], False)
            style = (
                frame.styles.header_cursor if column == self.cursor_column else frame.styles.header
            )
            segments.append(Segment(pad + text + pad, style))
        strip = Strip(segments)
        self._line_cache[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        frame = self._frame or self._make_frame()
        width, start_x = frame.width, frame.start_x
        if not self._widths:
            return Strip.blank(width, frame.styles.base)
        if y < HEADER_HEIGHT:
            strip = self._render_header(frame)
            return crop_line(strip, start_x, start_x + width, frame.styles.header)
        row = self._row_at_line(y)
        if row >= self._row_count:
            return Strip.blank(width, frame.styles.base)
        key = self._line_key(row, frame.first, frame.stop)
        cached = self._line_cache.get(key)
        if cached is None:
            # Not prefetched (a partial repaint of a line outside the last prefetch).
            self._prefetch_visible_rows()
            cached = self._line_cache.get(key)
            if cached is None:
                return Strip.blank(width, frame.styles.base)
        return crop_line(cached, start_x, start_x + width, frame.styles.base)

    def line_text(self, y: int) -> str:
        """Return the plain text of screen line `y` of the grid (0 is the header), for tests."""
        self._prefetch_visible_rows()
        return self.render_line(y).text

    # ----------------------------------------------------------------------------------------
    # Cursor

    def move_cursor(self, row: int, column: int) -> None:
        """Move the cursor to a cell (clamped to the result) and scroll it into view."""
        if self._row_count == 0 and not self._widths:
            return
        row = clamp(row, 0, max(0, self._row_count - 1))
        self._reach_row(row)
        column = clamp(column, 0, max(0, len(self._widths) - 1))
        old_row, old_column = self.cursor_row, self.cursor_column
        if (row, column) == (old_row, old_column):
            self._scroll_cursor_into_view()
            return
        self.cursor_row, self.cursor_column = row, column
        self._refresh_rows(old_row, old_row + 1)
        self._refresh_rows(row, row + 1)
        if column != old_column:
            self.refresh(Region(0, 0, self.size.width, HEADER_HEIGHT))
        self._scroll_cursor_into_view()
        self.post_message(self.CursorMoved(self, row, column))

    def _scroll_cursor_into_view(self) -> None:
        if not self._widths:
            return
        column = self.cursor_column
        region = Region(
            self._offsets[column],
            self.cursor_row + HEADER_HEIGHT,
            self._offsets[column + 1] - self._offsets[column],
            1,
        )
        self.scroll_to_region(
            region,
            spacing=Spacing(HEADER_HEIGHT, 0, 0, 0),
            animate=False,
            force=True,
            immediate=True,
        )

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1, self.cursor_column)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1, self.cursor_column)

    def action_cursor_left(self) -> None:
        self.move_cursor(self.cursor_row, self.cursor_column - 1)

    def action_cursor_right(self) -> None:
        self.move_cursor(self.cursor_row, self.cursor_column + 1)

    def _move_page(self, direction: int) -> None:
        page = self._page_height()
        target = clamp(self.cursor_row + direction * page, 0, max(0, self._row_count - 1))
        self._reach_row(target + page)
        # Scroll by the same distance so the cursor keeps its place on screen.
        self.scroll_to(
            y=clamp(int(self.scroll_y) + target - self.cursor_row, 0, self.max_scroll_y),
            animate=False,
            immediate=True,
        )
        self.move_cursor(target, self.cursor_column)

    def action_page_up(self) -> None:
        self._move_page(-1)

    def action_page_down(self) -> None:
        self._move_page(1)

    def action_cursor_top(self) -> None:
        self.move_cursor(0, self.cursor_column)

    def action_cursor_bottom(self) -> None:
        self.move_cursor(self._row_count - 1, self.cursor_column)

    def action_cursor_first_column(self) -> None:
        self.move_cursor(self.cursor_row, 0)

    def action_cursor_last_column(self) -> None:
        self.move_cursor(self.cursor_row, len(self._widths) - 1)

    def on_resize(self, event: events.Resize) -> None:
        # A narrower window can leave the cursor cell beyond the new right edge.
        self.call_after_refresh(self._scroll_cursor_into_view)

    def on_click(self, event: events.Click) -> None:
        """Put the cursor on the clicked cell."""
        if not self._widths or event.y < HEADER_HEIGHT:
            return
        row = self._row_at_line(event.y)
        x = event.x + int(self.scroll_x)
        column = bisect_right(self._offsets, x) - 1
        if 0 <= row < self._row_count and 0 <= column < len(self._widths):
            self.move_cursor(row, column)
