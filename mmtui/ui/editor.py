"""The SQL editor: a TextArea with SQL highlighting, inline completion and an error mark.

Completion offers the first matching view, column, Micromegas function or keyword as ghost text
after the cursor (Textual's `TextArea.suggestion`). Tab accepts it, and Right only moves. The
other matches travel in `CompletionsChanged` for the hints panel. The position of a server's
error, from validation or from a failed query, is painted in the error style without moving the
cursor, so the user keeps typing where they were. Cells of the selection and the cursor keep
their colours under the mark and take only its underline. The mark moves with its statement when
other text changes, and goes when the statement does. Pasted text loses its colour codes and
shows other control characters as visible symbols. While a line is longer than
MAX_HIGHLIGHT_LINE_LENGTH or the buffer is larger than MAX_HIGHLIGHT_BUFFER_CHARS, the buffer
is plain text and the editor's border shows why."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from itertools import pairwise
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Offset
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import DocumentBase, Edit, EditResult, Selection

from mmtui import sqlhints
from mmtui.results import safe_text

ERROR_STYLE = Style(color="#ffffff", bgcolor="#d03030", bold=True, underline=True)
ERROR_UNDER_SELECTION_STYLE = Style(bold=True, underline=True)
"""The mark on cells of the selection or the cursor: their own colours stay visible."""
_CSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
MIN_COMPLETION_PREFIX = 2
"""Characters typed before completion offers anything (one letter matches too much)."""
MAX_HIGHLIGHT_LINE_LENGTH = 5_000
"""Maximum line length, in characters, that the editor highlights as SQL. With a longer line the
buffer is plain text, because after every edit Textual runs tree-sitter's highlight query over
the whole buffer, and the query takes time quadratic in the length of a line. With Textual 8.2.8
and tree-sitter 0.26.1 on a 2-core test machine, one query took 11 ms for a 4,466-character
line, 0.12 s for 18,966 characters and 2 s for 84,966."""
MAX_HIGHLIGHT_BUFFER_CHARS = 100_000
"""Maximum buffer size, in characters, that the editor highlights as SQL. After every edit,
Textual reparses the buffer and runs the highlight query over all of it, so a key costs time in
proportion to the buffer. On the same machine, a key took 0.22 s in a buffer of 298,000
characters (4,000 one-line statements) and 0.86 s in 1.1 million. Without highlighting, neither
the parse nor the query runs."""


def _location_after(start: tuple[int, int], text: str) -> tuple[int, int]:
    """Return the (row, column) location reached by writing `text` from `start`."""
    row, column = start
    line_breaks = text.count("\n")
    if line_breaks == 0:
        return row, column + len(text)
    return row + line_breaks, len(text) - text.rfind("\n") - 1


class SqlEditor(TextArea):
    """The SQL buffer the user edits and runs statements from."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "tab",
            "accept_completion",
            "Complete",
            show=False,
            id="editor.complete",
            tooltip="Accept the offered completion, or move focus on when none is offered",
        ),
        Binding(
            "ctrl+up",
            "app.history_previous",
            "Older query",
            show=False,
            id="editor.history_previous",
            tooltip="Replace the buffer with the previous query of the history",
        ),
        Binding(
            "ctrl+down",
            "app.history_next",
            "Newer query",
            show=False,
            id="editor.history_next",
            tooltip="Replace the buffer with the next query of the history, then the draft",
        ),
    ]

    class CompletionsChanged(Message):
        """The completion candidates for the word before the cursor changed."""

        def __init__(self, prefix: str, candidates: list[str]) -> None:
            super().__init__()
            self.prefix = prefix
            self.candidates = candidates

    def __init__(self, text: str = "", **kwargs: object) -> None:
        super().__init__(
            text,
            language="sql",
            soft_wrap=False,
            show_line_numbers=True,
            tab_behavior="focus",
            **kwargs,  # type: ignore[arg-type]
        )
        self._table_names: list[str] = []
        self._column_names: list[str] = []
        self._bare_table_names: list[str] = []
        """The view names that need no double quotes in SQL."""
        self._bare_column_names: list[str] = []
        self._known_names: set[str] = set()
        """Every table and column name, lower-cased: a word equal to one gets no completion."""
        self._candidates: list[str] = []
        self._suggested_at: tuple[int, int] | None = None
        """The cursor location the completion was offered for, by `update_suggestion`."""
        self.error_position: sqlhints.ErrorPosition | None = None
        """The server error that the mark shows, kept while its statement is in the buffer."""
        self.error_from_query = False
        """True when `error_position` comes from a failed query, False from validation."""
        self.error_location: tuple[int, int] | None = None
        """Row and column (0-based) of the mark, painted in ERROR_STYLE. None when no error is
        marked, or when the server's position is outside its statement."""
        self._error_selection: Selection | None = None
        """The selection `goto_error` made, while the user has not changed it."""
        self._placeholder_selection: Selection | None = None
        """The placeholder that `insert_at_cursor` selected, while the user has not changed it."""
        self._example_selection: Selection | None = None
        """The welcome example that `select_example` selected, while the user has not changed it."""
        self._split_cache: tuple[str, list[sqlhints.Statement]] | None = None
        """The last buffer text that `statement_under_cursor` split, and its statements."""
        self._oversized_in_history = False
        """True when the buffer was too large to highlight (`_plain_text_reason`) at some point
        since the last `load_text`, so that undo or redo may bring that text back."""

    # Keys

    async def _on_key(self, event: events.Key) -> None:
        """Run the bindings of a key that the TextArea does not insert, here and now.

        Textual runs a focused widget's bindings when its key event has bubbled up to the
        app, through the queue of each ancestor, while the TextArea inserts a typed character
        from its own queue at once. So in one burst of input (a paste, keys typed over SSH,
        tmux `send-keys`), "Left 3" inserted the 3 before the cursor moved. Running the
        bindings from this queue keeps the keys in the order they arrived.
        """
        inserted = event.is_printable or event.key == "enter"
        # NOTE: `_check_bindings` is Textual's private entry to bindings (8.x). It walks the
        # same chain, from this widget up to the app, as it would for the bubbled event.
        if not inserted and await self.app._check_bindings(event.key):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    # Completion

    def set_vocabulary(self, tables: Iterable[str], columns: Iterable[str]) -> None:
        """Set the view and column names completion offers (from the schema browser).

        A name with control or bidi characters is left out, because the editor cannot hold it
        as written (`editor_text`) and the completion line would send it to the terminal raw.
        """
        self._table_names = sorted({name for name in tables if editor_text(name) == name})
        self._column_names = sorted({name for name in columns if editor_text(name) == name})
        self._bare_table_names = [
            name for name in self._table_names if sqlhints.is_plain_identifier(name)
        ]
        self._bare_column_names = [
            name for name in self._column_names if sqlhints.is_plain_identifier(name)
        ]
        self._known_names = {name.lower() for name in (*self._table_names, *self._column_names)}

    @property
    def completions(self) -> list[str]:
        return list(self._candidates)

    def update_suggestion(self) -> None:
        row, column = self.cursor_location
        line = self.document.get_line(row)
        following = line[column : column + 1]
        prefix = sqlhints.word_before(line, column)
        qualified = "." in prefix
        if qualified:
            prefix = prefix.rsplit(".", 1)[1]
        tables = [] if qualified else self._bare_table_names
        candidates: list[str] = []
        # A word that already is a whole name gets no completion, so that Tab moves the focus
        # instead of lengthening `time` into another view's `time_bin`.
        if (
            len(prefix) >= MIN_COMPLETION_PREFIX
            and not (following.isalnum() or following == "_")
            and self.selection.is_empty
            and prefix.lower() not in self._known_names
        ):
            if line[: column - len(prefix)].endswith('"'):
                candidates = self._quoted_candidates(prefix, qualified)
            else:
                # Only names that work bare: DataFusion lower-cases an unquoted `Time`.
                candidates = [
                    _match_case(prefix, candidate)
                    for candidate in sqlhints.complete(prefix, tables, self._bare_column_names)
                ]
        self._candidates = candidates
        self._suggested_at = self.cursor_location
        self.suggestion = candidates[0][len(prefix) :] if candidates else ""
        self.post_message(self.CompletionsChanged(prefix, candidates))

    def _quoted_candidates(self, prefix: str, qualified: bool) -> list[str]:
        """Return the names that complete `prefix` typed after a double quote.

        A quoted name keeps its case, so it matches case-sensitively. Any name fits between
        quotes, written with its own double quotes doubled. Keywords and functions do not.
        """
        names = self._column_names if qualified else [*self._table_names, *self._column_names]
        found: dict[str, None] = {}
        for name in names:
            written = name.replace('"', '""')
            if written.startswith(prefix) and written != prefix:
                found[written] = None
        return list(found)

    def drop_moved_suggestion(self) -> None:
        """Drop the completion once the cursor left the place it was offered for.

        Textual calls `update_suggestion` after each edit, but not after a cursor move. A
        completion offered on moving the cursor was inserted by the next Right arrow, which
        Textual's `TextArea` turns into accepting it.
        """
        if self.cursor_location == self._suggested_at:
            return
        self._drop_suggestion()

    def _drop_suggestion(self) -> None:
        self._suggested_at = None
        if not self.suggestion and not self._candidates:
            return
        self._candidates = []
        self.suggestion = ""
        self.post_message(self.CompletionsChanged("", []))

    def action_accept_completion(self) -> None:
        """Insert the offered completion, or move focus on as Tab does elsewhere."""
        if self.suggestion and self.cursor_location == self._suggested_at:
            self.insert(self.suggestion)
        else:
            self.screen.focus_next()

    def action_cursor_right(self, select: bool = False) -> None:
        """Move the cursor right, and drop the completion instead of inserting it.

        Textual's `TextArea` inserts the completion on Right. Moving through a statement then
        changed it (`AS n` became `ASC n`) whenever a completion was offered where the cursor
        stood, after an undo or in a burst of keys. Tab accepts a completion here.
        """
        self._drop_suggestion()
        super().action_cursor_right(select)

    # Statements

    def statement_under_cursor(self) -> sqlhints.Statement | None:
        """Return the selection as a statement when text is selected, else the one at the cursor.

        The word Ctrl+G selects (`goto_error`) and the placeholder of an inserted template
        (`insert_at_cursor`) are only there to be typed over: while one is the selection, the
        statement around it counts, so validation and F5 keep seeing the whole query.
        """
        text = self.text
        typed_over = (self._error_selection, self._placeholder_selection)
        if not self.selection.is_empty and self.selection not in typed_over:
            start, end = sorted((self.selection.start, self.selection.end))
            start_offset = sqlhints.location_to_offset(text, *start)
            end_offset = sqlhints.location_to_offset(text, *end)
            selected = text[start_offset:end_offset]
            leading = len(selected) - len(selected.lstrip())
            stripped = selected.strip()
            if stripped:
                first = start_offset + leading
                return sqlhints.Statement(stripped, first, first + len(stripped))
        offset = sqlhints.location_to_offset(text, *self.cursor_location)
        return sqlhints.statement_at_offset(self._statements(text), offset)

    def _statements(self, text: str) -> list[sqlhints.Statement]:
        """Return `split_statements(text)`, kept for the next call while the text is the same.

        Splitting reads the whole buffer: 0.15 s for 1.1 million characters on a 2-core test
        machine. Comparing the text with the kept one is one memory comparison.
        NOTE: it runs on the UI thread, and a buffer of megabytes with many string literals
        takes seconds (1.5 s for 4.5 MB with 200,000 literals), a freeze on each edit.
        """
        cached = self._split_cache
        if cached is not None and cached[0] == text:
            return cached[1]
        statements = sqlhints.split_statements(text)
        self._split_cache = (text, statements)
        return statements

    async def _on_paste(self, event: events.Paste) -> None:
        # Replaces TextArea's handler, which inserts the pasted text unchanged.
        event.prevent_default()
        if self.read_only:
            return
        start, end = self.selection
        result = self.replace(
            clean_pasted_text(event.text), start, end, maintain_selection_offset=False
        )
        self.move_cursor(result.end_location)

    # Buffer changes

    def edit(self, edit: Edit) -> EditResult:
        """Apply `edit` with its text made safe for the terminal (`editor_text`).

        Every change of the buffer but `load_text`, undo and redo comes through here: keys,
        pastes, completions, inserted names and history entries. Undo and redo only restore
        text that came through here. A server's table name or a hand-edited history file may
        contain an ESC sequence that the terminal would run.
        """
        edit.text = editor_text(edit.text)
        # A placeholder or error selection ends with any edit, so the same range selected
        # later is the user's own selection.
        self._placeholder_selection = None
        self._error_selection = None
        self._example_selection = None
        # Highlighting goes off before the text reaches the syntax tree, which is where the
        # time goes. The buffer size is bounded from above (nothing removed), and the check
        # after the edit switches highlighting back on when the exact size fits. While it is
        # off already, that check alone names the limit.
        if self.highlighting:
            reason = _plain_text_reason(
                _longest_line_after(self.document, edit),
                _buffer_chars(self.document.lines) + len(edit.text),
            )
            if reason is not None:
                self._oversized_in_history = True
                self._set_highlighting(False, reason)
        result = super().edit(edit)
        self._follow_edit()
        self._restore_highlighting_when_fits()
        return result

    def load_text(self, text: str) -> None:
        """Replace the buffer with `text`, made safe for the terminal (`editor_text`)."""
        text = editor_text(text)
        reason = _plain_text_reason(_longest_line(text.split("\n")), len(text))
        self._oversized_in_history = reason is not None
        if reason is not None:
            self._set_highlighting(False, reason)
        super().load_text(text)
        self._restore_highlighting_when_fits()
        self._follow_edit()

    def undo(self) -> None:
        # The text that undo brings back is not known beforehand, so any oversized text of
        # the history counts.
        if self._oversized_in_history:
            self._set_highlighting(False)
        super().undo()
        self._follow_edit()
        self._restore_highlighting_when_fits()

    def redo(self) -> None:
        if self._oversized_in_history:
            self._set_highlighting(False)
        super().redo()
        self._follow_edit()
        self._restore_highlighting_when_fits()

    def scroll_cursor_visible(self, center: bool = False, animate: bool = False) -> Offset:
        # Textual 8.2.8 resizes the view after a redo before it moves the cursor into the new
        # text. When the redo removed lines, such as typing over a selection of several
        # lines, the cursor then lies past the last line and Textual raises ValueError,
        # which ended the app. The cursor is moved, and scrolled to, right after.
        if self.selection.end[0] >= self.document.line_count:
            return Offset(0, 0)
        return super().scroll_cursor_visible(center, animate)

    # Highlighting

    @property
    def highlighting(self) -> bool:
        """True while the buffer is highlighted as SQL, False while a line or the whole buffer
        is too large for it."""
        return self.language is not None

    def _set_highlighting(self, enabled: bool, reason: str | None = None) -> None:
        """Switch SQL highlighting on or off, keeping the selection, scroll offset and history.

        While it is off, `reason` completes the border's "No SQL highlighting: ...". None
        leaves the border as it is, for `_restore_highlighting_when_fits` to set.
        """
        if not enabled and reason is not None:
            self.border_subtitle = f"No SQL highlighting: {reason}"
        if enabled == self.highlighting:
            return
        selection = self.selection
        scroll_x, scroll_y = self.scroll_offset
        # Textual builds a new document for the language (a plain `Document` for None) and
        # moves the cursor to the start, which also ends the current undo batch. The undo
        # history stays.
        self.language = "sql" if enabled else None
        self.selection = selection
        if self.is_mounted:
            self.scroll_to(scroll_x, scroll_y, animate=False, immediate=True)
        if enabled:
            self.border_subtitle = ""

    def _restore_highlighting_when_fits(self) -> None:
        """Switch highlighting on when the buffer fits both limits, else name the limit it
        passes in the border."""
        if self.highlighting:
            return
        lines = self.document.lines
        reason = _plain_text_reason(_longest_line(lines), _buffer_chars(lines))
        if reason is None:
            self._set_highlighting(True)
        else:
            self._set_highlighting(False, reason)

    def insert_at_cursor(self, text: str, select: str | None = None) -> None:
        """Insert `text` at the cursor, replacing the selection, as an undoable edit.

        The welcome example, selected for typing over (`select_example`), is kept: the text
        goes in at the cursor. With `select`, its first occurrence in `text` is selected
        afterwards, so typing replaces it. A `select` that `text` does not contain raises
        ValueError before any edit.
        """
        # Made safe here too, so the selection offsets match the inserted text.
        text = editor_text(text)
        select = None if select is None else editor_text(select)
        offset = None if select is None else text.index(select)
        keep_example = (
            self._example_selection is not None and self.selection == self._example_selection
        )
        if keep_example:
            start = end = self.selection.end
        else:
            start, end = sorted(self.selection)
        self.replace(text, start, end)
        if keep_example:
            # The example's selection would otherwise grow over the inserted text, and the
            # next insert would replace both.
            self.move_cursor(_location_after(start, text))
        if select is None or offset is None:
            return
        self.selection = Selection(
            _location_after(start, text[:offset]),
            _location_after(start, text[: offset + len(select)]),
        )
        self._placeholder_selection = self.selection

    def select_example(self, start: tuple[int, int]) -> None:
        """Select from `start` to the end of the buffer, for typing to replace."""
        self.selection = Selection(start, self.document.end)
        self._example_selection = self.selection

    def replace_buffer(self, text: str) -> None:
        """Replace the whole buffer with `text` as one undoable edit (Ctrl+Z brings it back)."""
        self.replace(text, self.document.start, self.document.end)
        self.move_cursor(self.document.end)

    # Error mark

    def mark_error(
        self, position: sqlhints.ErrorPosition | None, *, from_query: bool = False
    ) -> None:
        """Mark the server's error at `position` in its statement; None removes the mark.

        With `from_query`, running the statement failed there, and a later validation without
        an error (`clear_error(from_query=False)`) keeps the mark.
        """
        self.error_position = position
        self.error_from_query = from_query and position is not None
        self._place_error()

    def clear_error(self, *, from_query: bool) -> None:
        """Remove the mark when it comes from a failed query (True) or from validation (False)."""
        if self.error_position is not None and self.error_from_query == from_query:
            self.mark_error(None)

    def unmarked_error_message(self) -> str:
        """Return the message for Ctrl+G when `error_location` is None."""
        position = self.error_position
        if position is None:
            return "No error is marked."
        if sqlhints.find_statement(self.text, position.statement) is None:
            return (
                f"The query failed at {position.label()} of a statement that was edited while "
                "it ran, so no error is marked."
            )
        return (
            f"The server's error position ({position.label()}) is outside the statement, so "
            "no error is marked."
        )

    def _follow_edit(self) -> None:
        """Move the mark with its statement after a change of the buffer.

        The mark goes when its statement changed or left the buffer, because the server's
        position no longer applies.
        """
        if self.error_position is not None:
            self._place_error(drop_when_missing=True)

    def _place_error(self, drop_when_missing: bool = False) -> None:
        """Paint `error_position` where its statement is now in the buffer."""
        location = None
        position = self.error_position
        statement = None
        if position is not None:
            text = self.text
            statement = sqlhints.find_statement(text, position.statement)
            if statement is not None:
                self.error_position = replace(position, statement=statement)
                location = sqlhints.error_location(text, statement, position.line, position.column)
        if statement is None and drop_when_missing:
            self.error_position = None
            self.error_from_query = False
        if location == self.error_location:
            return
        self.error_location = location
        self.notify_style_update()
        self.refresh()

    def goto_error(self) -> bool:
        """Move the cursor to the marked error and select the word there; False when none."""
        if self.error_location is None:
            return False
        row, column = self.error_location
        line = self.document.get_line(row) if row < self.document.line_count else ""
        end = _word_end(line, column)
        self.selection = Selection((row, column), (row, end))
        self._error_selection = self.selection
        return True

    def render_line(self, y: int) -> Strip:
        # The mark is painted over the finished line, because the cursor-line style (applied
        # after `get_line`) would hide it on the line being edited. Lines do not wrap
        # (soft_wrap=False), so screen row y is document row y + scroll_y.
        strip = super().render_line(y)
        if self.error_location is None:
            return strip
        row, column = self.error_location
        scroll_x, scroll_y = self.scroll_offset
        if y + scroll_y != row or row >= self.document.line_count:
            return strip
        line = self.document.get_line(row)
        gutter = self.gutter_width
        # NOTE: a tab before the error counts one cell here, so the mark shifts on such lines.
        start = gutter + cell_len(line[:column]) - scroll_x
        end = gutter + cell_len(line[: _word_end(line, column)]) - scroll_x
        if column >= len(line):
            end = start + 1  # past the end of the line (a missing token): mark one blank
        start = max(start, gutter)
        if end <= start or start >= strip.cell_length:
            return strip
        end = min(end, strip.cell_length)
        # Cells of the selection and the cursor keep their own background under the mark and
        # only take its underline, so that Ctrl+G's selection of the error stays visible.
        selection_spans = self._selection_cells(row, line, gutter - scroll_x)
        edges = sorted({start, end, *(edge for span in selection_spans for edge in span)})
        pieces = [strip.crop(0, start)]
        for left, right in pairwise(edges):
            if left < start or right > end:
                continue
            in_selection = any(first <= left and right <= last for first, last in selection_spans)
            piece = strip.crop(left, right)
            style = ERROR_UNDER_SELECTION_STYLE if in_selection else ERROR_STYLE
            painted = Segment.apply_style(iter(piece), post_style=style)
            pieces.append(Strip(painted, piece.cell_length))
        pieces.append(strip.crop(end))
        return Strip.join(pieces)

    def _selection_cells(self, row: int, line: str, origin: int) -> list[tuple[int, int]]:
        """Return the screen cell spans of the selection and the cursor on document `row`.

        `origin` is the screen cell of the line's first character.
        """
        spans: list[tuple[int, int]] = []
        selection_start, selection_end = sorted((self.selection.start, self.selection.end))
        if not self.selection.is_empty and selection_start[0] <= row <= selection_end[0]:
            first = selection_start[1] if row == selection_start[0] else 0
            first_cell = origin + cell_len(line[:first])
            if row == selection_end[0]:
                last_cell = origin + cell_len(line[: selection_end[1]])
            else:
                # The selection continues on the next row, so it also covers the line break.
                last_cell = origin + cell_len(line) + 1
            spans.append((first_cell, last_cell))
        cursor_row, cursor_column = self.cursor_location
        if self.has_focus and cursor_row == row:
            cursor_cell = origin + cell_len(line[:cursor_column])
            spans.append((cursor_cell, cursor_cell + 1))
        return spans


def editor_text(text: str) -> str:
    """Return `text` with every control character but line breaks and tabs made visible.

    CR LF and CR become LF. `safe_text` shows the other controls as visible symbols (ESC as
    U+241B), so the terminal never receives them from the editor.
    """
    if text.isprintable():
        return text
    lines = _LINE_BREAK_RE.split(text)
    return "\n".join("\t".join(safe_text(part) for part in line.split("\t")) for line in lines)


def clean_pasted_text(text: str) -> str:
    """Return pasted text fit for the SQL buffer: colour codes removed, other controls visible.

    Complete CSI sequences (ESC [ ... final byte), such as colour codes in copied log text, are
    removed. CR LF and CR become LF and tabs stay. `safe_text` shows every other control
    character as a visible symbol (ESC as U+241B), so none reaches the document or the terminal.
    """
    return editor_text(_CSI_RE.sub("", text))


def _plain_text_reason(longest_line: int, buffer_chars: int) -> str | None:
    """Return why a buffer is too large to highlight, for the border, or None when it fits."""
    if longest_line > MAX_HIGHLIGHT_LINE_LENGTH:
        return f"a line is over {MAX_HIGHLIGHT_LINE_LENGTH:,} characters"
    if buffer_chars > MAX_HIGHLIGHT_BUFFER_CHARS:
        return f"the buffer is over {MAX_HIGHLIGHT_BUFFER_CHARS:,} characters"
    return None


def _longest_line(lines: Iterable[str]) -> int:
    return max(map(len, lines), default=0)


def _buffer_chars(lines: list[str]) -> int:
    """Return the characters of a buffer of `lines`, line breaks included."""
    return sum(map(len, lines)) + max(0, len(lines) - 1)


def _longest_line_after(document: DocumentBase, edit: Edit) -> int:
    """Return the length of the longest line that `edit` leaves where it replaces text."""
    top_row, top_column = edit.top
    bottom_row, bottom_column = edit.bottom
    lines = document.lines
    # Rows past the end count as empty, as in Textual's `Document.replace_range`.
    top_line = lines[top_row] if top_row < len(lines) else ""
    bottom_line = lines[bottom_row] if bottom_row < len(lines) else ""
    before = min(top_column, len(top_line))
    after = len(bottom_line) - min(bottom_column, len(bottom_line))
    inserted = edit.text.split("\n")
    if len(inserted) == 1:
        return before + len(inserted[0]) + after
    return max(before + len(inserted[0]), _longest_line(inserted[1:-1]), len(inserted[-1]) + after)


def _word_end(line: str, column: int) -> int:
    end = column
    while end < len(line) and (line[end].isalnum() or line[end] == "_"):
        end += 1
    return max(end, column + 1)


def _match_case(prefix: str, candidate: str) -> str:
    """Write a keyword in the case the user types; names keep their own case."""
    if candidate.isupper() and prefix.islower():
        return candidate.lower()
    return candidate
