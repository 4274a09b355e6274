"""The cell detail screen: the whole value of one result cell, paged lazily.

The value comes from `mmtui.results.detail_text` (JSON pretty-printed when it parses, control
characters made visible) and is computed on a worker thread, so a 5M-character value does not
freeze the screen. `wrap_text` wraps it to the view's width by index arithmetic on that thread
too, and after a resize a text of more than UI_THREAD_WRAP_MAX_LINES lines is wrapped again on
a worker. `TextView` renders only the visible lines, as plain text: nothing in the value is
parsed as markup. `c` copies the value with real tabs and line feeds (`copy_text`), up to
OSC52_MAX_BYTES, as the grid's `c` does.
A Micromegas level column shows the level name with its number (`ERROR (2)`), because the grid
shows the name, but `c` copies the number. Timestamps show in `display_tz`, the zone of the grid.
`z` toggles UTC and local time here as in the explorer, and the app then sets the zone of the
grid and of this screen.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import get_current_worker

from mmtui.results import (
    ResultStore,
    detail_text,
    is_level_field,
    level_detail_text,
    safe_text,
)
from mmtui.results.detail import copy_text
from mmtui.ui.footer import KeyFooter
from mmtui.ui.thread_calls import call_later_from_thread

logger = logging.getLogger(__name__)

OSC52_MAX_BYTES = 1_048_576
"""Longest OSC 52 string that tmux passes on to the terminal: `INPUT_BUF_LIMIT` in tmux's
`input.c`, 1 MiB, which newer tmux versions make the `input-buffer-size` option. tmux drops a
longer string without a message, and the copy is lost.

NOTE: other terminals cap OSC 52 elsewhere or not at all. mmtui cannot ask the terminal, so
every copy gets the limit of the common case over SSH. Export moves bigger values.
"""

OSC52_PREFIX = "52;c;"
"""The start of the OSC 52 string that Textual's `copy_to_clipboard` writes, before the Base64
text."""


def osc52_bytes(text: str) -> int:
    """Return the length of the OSC 52 string that copies `text`: its UTF-8 in Base64."""
    utf8_bytes = len(text.encode("utf-8", errors="surrogatepass"))
    return len(OSC52_PREFIX) + 4 * -(-utf8_bytes // 3)


def count_text(count: int, singular: str, plural: str) -> str:
    """Return the count with its noun: "1 row", "0 rows", "1,234 rows"."""
    return f"{count:,} {singular if count == 1 else plural}"


def copy_with_limit(widget: Widget, text: str, subject: str) -> bool:
    """Copy `text` to the clipboard and notify, or warn when its OSC 52 string exceeds
    OSC52_MAX_BYTES.

    `subject` names the copied thing in the notification ("cell", "row as JSON"). Returns True
    when copied.
    """
    characters = count_text(len(text), "character", "characters")
    size = osc52_bytes(text)
    if size > OSC52_MAX_BYTES:
        # str.capitalize would lower the rest of the subject ("row as json").
        sentence_start = subject[:1].upper() + subject[1:]
        widget.notify(
            f"{sentence_start} is {characters}, {size:,} bytes as an OSC 52 copy, and "
            f"tmux drops copies over {OSC52_MAX_BYTES:,} bytes. Use export instead.",
            severity="warning",
            markup=False,
        )
        return False
    widget.app.copy_to_clipboard(text)
    widget.notify(f"Copied {subject} ({characters})", markup=False)
    return True


EXACT_WRAP_MAX_CHARS = 20_000
"""Maximum length of a non-ASCII line wrapped by measuring each character. Longer ones are cut
in chunks of half the width, which fits even when every character is two cells wide."""

TAB_SIZE = 4

UI_THREAD_WRAP_MAX_LINES = 10_000
"""Maximum lines of a text wrapped again on the UI thread when the view's width changes. Longer
texts are wrapped on a worker thread, because 2.5 million short lines took about 1.5 s
(measured with `wrap_line` on the 2-core VM of the tests)."""


def wrap_line(line: str, width: int) -> list[tuple[int, int]]:
    """Split one line into (start, end) character spans of at most `width` terminal cells."""
    width = max(2, width)
    length = len(line)
    if length == 0:
        return [(0, 0)]
    if line.isascii():
        return [(start, min(length, start + width)) for start in range(0, length, width)]
    if length > EXACT_WRAP_MAX_CHARS:
        step = width // 2
        return [(start, min(length, start + step)) for start in range(0, length, step)]
    spans = []
    start = 0
    used = 0
    for index, character in enumerate(line):
        size = get_character_cell_size(character)
        if used + size > width:
            spans.append((start, index))
            start = index
            used = 0
        used += size
    spans.append((start, length))
    return spans


@dataclass(frozen=True)
class WrappedText:
    """A text split into lines and wrapped to `width` cells, ready for `TextView`."""

    text: str
    lines: list[str]
    width: int
    first_rows: list[int]
    """First screen row of each source line."""
    spans: list[list[tuple[int, int]]]
    """The wrapped (start, end) character spans of each source line."""
    row_count: int


def wrap_text(text: str, width: int) -> WrappedText:
    """Split `text` into lines and wrap them to `width` cells (tabs expanded).

    2.5 million short lines take about 1.5 s, so the detail view calls this on its worker
    thread, not on the UI thread.
    """
    if "\t" in text:
        text = text.expandtabs(TAB_SIZE)
    return rewrap(text, text.split("\n"), max(2, width))


def rewrap(text: str, lines: list[str], width: int) -> WrappedText:
    """Wrap the lines of `text` to `width` cells."""
    first_rows = []
    spans = []
    total = 0
    for line in lines:
        line_spans = wrap_line(line, width)
        first_rows.append(total)
        spans.append(line_spans)
        total += len(line_spans)
    return WrappedText(text, lines, width, first_rows, spans, total)


class TextView(ScrollView, can_focus=True):
    """A read-only view of a long text, wrapped to the widget width, drawn line by line."""

    DEFAULT_CSS = """
    TextView {
        height: 1fr;
        background: $surface;
        overflow-x: auto;
        overflow-y: scroll;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._wrapped = WrappedText("", [], 0, [], [], 0)
        self._style: Style | None = None

    @property
    def text(self) -> str:
        """The whole text shown."""
        return self._wrapped.text

    @property
    def wrapped(self) -> WrappedText:
        """The text with the wrapping on screen, which a worker may still be redoing."""
        return self._wrapped

    @property
    def wrap_width(self) -> int:
        """Cells per row that the text is wrapped to at the current size."""
        return max(2, self.scrollable_content_region.width or self.size.width or 80)

    def set_text(self, text: str) -> None:
        self.set_wrapped(wrap_text(text, self.wrap_width))

    def set_wrapped(self, wrapped: WrappedText) -> None:
        """Show a text wrapped by `wrap_text`, wrapped again if the width has changed since."""
        self._wrapped = wrapped
        self._rewrap()

    def _rewrap(self) -> None:
        width = self.wrap_width
        wrapped = self._wrapped
        if width != wrapped.width:
            if len(wrapped.lines) > UI_THREAD_WRAP_MAX_LINES:
                # The old wrapping stays on screen until the worker's is ready.
                self._wrap_in_thread(wrapped, width)
            else:
                wrapped = rewrap(wrapped.text, wrapped.lines, width)
                self._wrapped = wrapped
        self.virtual_size = Size(width, wrapped.row_count)
        self.refresh()

    @work(thread=True, exclusive=True, group="wrap")
    def _wrap_in_thread(self, wrapped: WrappedText, width: int) -> None:
        result = rewrap(wrapped.text, wrapped.lines, width)
        if not get_current_worker().is_cancelled:
            call_later_from_thread(self, self._show_wrapped_in_thread, result)

    def _show_wrapped_in_thread(self, result: WrappedText) -> None:
        # The text or the width may have changed while the worker wrapped.
        if result.text is not self._wrapped.text or result.width != self.wrap_width:
            return
        self._wrapped = result
        self.virtual_size = Size(result.width, result.row_count)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self._wrapped.lines:
            self._rewrap()

    @property
    def line_count(self) -> int:
        """Screen rows of the wrapped text."""
        return self._wrapped.row_count

    def row_text(self, row: int) -> str:
        """Return the text of wrapped row `row` (0-based)."""
        wrapped = self._wrapped
        line_index = bisect_right(wrapped.first_rows, row) - 1
        if line_index < 0 or row >= wrapped.row_count:
            return ""
        start, end = wrapped.spans[line_index][row - wrapped.first_rows[line_index]]
        return wrapped.lines[line_index][start:end]

    def render_lines(self, crop: Region) -> list[Strip]:
        # Reading rich_style walks the DOM, so it is read once per repaint, not per line.
        self._style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self._style or self.rich_style
        text = self.row_text(y + scroll_y)
        strip = Strip([Segment(text, style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)


class DetailScreen(ModalScreen[None]):
    """The whole value of the cell at (`row`, `column`) of `store`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="detail.close", tooltip="Close the cell detail"),
        Binding(
            "c",
            "copy_value",
            "Copy value",
            id="detail.copy",
            tooltip="Copy the whole value to the clipboard",
        ),
        # A modal screen hides the app's bindings, so the zone toggle is bound here too.
        Binding(
            "z",
            "app.toggle_zone",
            "UTC/local",
            id="detail.toggle_zone",
            tooltip="Show times in UTC or in local time",
        ),
    ]

    DEFAULT_CSS = """
    DetailScreen {
        align: center middle;
        & > #detail-box {
            width: 90%;
            height: 90%;
            border: round $primary;
            background: $surface;
        }
        & #detail-title {
            height: 1;
            text-style: bold;
            padding: 0 1;
        }
        & #detail-info {
            height: 1;
            color: $text-muted;
            padding: 0 1;
        }
    }
    """

    def __init__(
        self,
        store: ResultStore,
        row: int,
        column: int,
        *,
        title: str = "",
        display_tz: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.row = row
        self.column = column
        self.title_text = title
        self._display_tz = display_tz

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-box"):
            yield Static(Text(self.title_text), id="detail-title")
            yield TextView(id="detail-text")
            yield Static(Text("loading…"), id="detail-info")
        # The explorer's footer below offers keys that do something else while this is open.
        yield KeyFooter()

    def on_mount(self) -> None:
        view = self.query_one(TextView)
        view.focus()
        self._load(self._display_tz, view.wrap_width)

    @property
    def display_tz(self) -> str | None:
        """Zone timestamps show in, as `ResultGrid.display_tz`: None keeps each column's zone."""
        return self._display_tz

    @display_tz.setter
    def display_tz(self, tz: str | None) -> None:
        if tz == self._display_tz:
            return
        self._display_tz = tz
        if self.is_mounted:
            self._load(tz, self.query_one(TextView).wrap_width)

    @work(thread=True, exclusive=True)
    def _load(self, tz: str | None, width: int) -> None:
        # The zone and the width are read by the caller on the UI thread: this thread reaches
        # the screen only through call_later_from_thread.
        try:
            scalar = self.store.scalar(self.row, self.column)
            if is_level_field(self.store.schema.field(self.column)) and scalar.is_valid:
                # The grid shows level names, so the detail view names the level too.
                text = level_detail_text(scalar.as_py())
            else:
                text = detail_text(scalar, tz)
        except Exception as error:
            # The store may have been closed underneath, so the error is shown on screen.
            logger.exception("reading cell %d,%d failed", self.row, self.column)
            call_later_from_thread(self, self._show_error, error)
            return
        # Wrapped here, so a value of millions of lines does not stop the UI thread.
        wrapped = wrap_text(text, width)
        call_later_from_thread(self, self._show_text, wrapped, len(text), tz)

    def _show_text(self, wrapped: WrappedText, length: int, tz: str | None) -> None:
        if tz != self._display_tz:
            # A load for the zone shown before the last toggle finished late.
            return
        view = self.query_one(TextView)
        view.set_wrapped(wrapped)
        characters = count_text(length, "character", "characters")
        lines = count_text(view.line_count, "line", "lines")
        info = " · ".join([characters, lines, *self._key_hints()])
        self.query_one("#detail-info", Static).update(Text(info))

    def _key_hints(self) -> list[str]:
        """Return "key action" hints for closing, copying and the zone, with the keys that
        `[keys]` in the settings gives them."""
        keys_shown: dict[str, str] = {}
        for active in self.active_bindings.values():
            binding = active.binding
            if binding.id and binding.id not in keys_shown:
                keys_shown[binding.id] = self.app.get_key_display(binding)
        actions = [
            ("detail.close", "close"),
            ("detail.copy", "copy"),
            ("detail.toggle_zone", "UTC/local"),
        ]
        return [
            f"{keys_shown[binding_id]} {action}"
            for binding_id, action in actions
            if binding_id in keys_shown
        ]

    def _show_error(self, error: Exception) -> None:
        message = f"Reading the cell failed: {type(error).__name__}: {error}"
        self.query_one("#detail-info", Static).update(Text(safe_text(message)))

    @property
    def text(self) -> str:
        """The value shown (empty while loading)."""
        return self.query_one(TextView).text

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy_value(self) -> None:
        """Copy the value as `copy_text` gives it: real tabs and line feeds, no raw ESC."""
        if not self.text:
            # Still loading, or reading the cell failed.
            self.app.bell()
            return
        try:
            text = copy_text(self.store.scalar(self.row, self.column), self._display_tz)
        except Exception as error:
            logger.exception("reading cell %d,%d failed", self.row, self.column)
            self._show_error(error)
            return
        copy_with_limit(self, text, "value")
