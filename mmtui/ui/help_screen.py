"""The help screen, built from the bindings the app and its panes really have.

Keys come from each pane's live binding chain with the user's key overrides applied, so a key
remapped in the settings file shows up here under its new key. Each row describes what the key
does in plain words: the binding's tooltip for mmtui's own bindings, and `BUILTIN_HELP` for the
bindings that Textual's widgets declare. Those have no id, so the id column reads `FIXED_KEY`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mmtui.ui.footer import KeyFooter, key_name

ID_COLUMN_MIN_WIDTH = 120
"""Terminal columns from which the help shows the binding ids in a column of their own."""

KEYS_MIN_CELLS = 14
"""Narrowest keys column, so that short key lists still leave a gap before the description."""

HelpSection = tuple[str, Sequence[tuple[str, str, str]]]
"""A section title and its rows of (keys, description, binding id)."""

FIXED_KEY = "fixed"
"""Id column text for a binding without an id, which `[keys]` cannot remap."""

BUILTIN_HELP: dict[str, str] = {
    # Focus and the clipboard (Textual's Screen and App).
    "app.focus_next": "Move focus to the next pane",
    "app.focus_previous": "Move focus to the previous pane",
    "screen.copy_text": "Copy the text selected with the mouse",
    "command_palette": "Open the command palette to search every command",
    # Cursor movement (TextArea, Tree and scrolling views).
    "cursor_up": "Move the cursor up",
    "cursor_down": "Move the cursor down",
    "cursor_left": "Move the cursor left",
    "cursor_right": "Move the cursor right",
    "cursor_word_left": "Move the cursor to the start of the word",
    "cursor_word_right": "Move the cursor to the end of the word",
    "cursor_line_start": "Move the cursor to the start of the line",
    "cursor_line_end": "Move the cursor to the end of the line",
    "cursor_page_up": "Move the cursor up one page",
    "cursor_page_down": "Move the cursor down one page",
    "page_up": "Move the cursor up one page",
    "page_down": "Move the cursor down one page",
    "page_left": "Scroll left one page",
    "page_right": "Scroll right one page",
    "scroll_home": "Scroll to the top",
    "scroll_end": "Scroll to the bottom",
    # Selection (TextArea): the same moves, with the argument True, extend the selection.
    "cursor_up(True)": "Select up to the line above",
    "cursor_down(True)": "Select down to the line below",
    "cursor_left(True)": "Select one more character to the left",
    "cursor_right(True)": "Select one more character to the right",
    "cursor_word_left(True)": "Select to the start of the word",
    "cursor_word_right(True)": "Select to the end of the word",
    "cursor_line_start(True)": "Select to the start of the line",
    "cursor_line_end(True)": "Select to the end of the line",
    "select_line": "Select the line under the cursor",
    "select_all": "Select the whole buffer",
    # Editing (TextArea).
    "delete_left": "Delete the character before the cursor",
    "delete_right": "Delete the character under the cursor",
    "delete_word_left": "Delete back to the start of the word",
    "delete_word_right": "Delete forward to the start of the next word",
    "delete_to_start_of_line": "Delete from the cursor to the start of the line",
    "delete_to_end_of_line_or_delete_line": (
        "Delete to the end of the line; on an empty line, delete the line"
    ),
    "delete_line": "Delete the line under the cursor",
    "cut": "Cut the selection",
    "copy": "Copy the selection",
    "paste": "Paste the text last cut or copied in mmtui",
    "undo": "Undo the last edit",
    "redo": "Redo the last undone edit",
    # The schema tree (Tree).
    "cursor_parent": "Move the cursor to the parent row",
    "cursor_parent_next_sibling": "Move the cursor to the row after the parent",
    "cursor_previous_sibling": "Move the cursor to the previous row at this level",
    "cursor_next_sibling": "Move the cursor to the next row at this level",
    "toggle_expand_all": "Expand or collapse every row at this level",
}
"""Plain-word descriptions of the actions that Textual's built-in bindings run, by action."""


def binding_help(binding: Binding) -> str:
    """Return what the key of `binding` does in plain words.

    The tooltip of mmtui's bindings, else the `BUILTIN_HELP` text of the action, else Textual's
    own description.
    """
    if binding.tooltip:
        return binding.tooltip
    return BUILTIN_HELP.get(binding.action, binding.description)


def class_bindings(widget_class: type) -> list[Binding]:
    """Return the bindings a class has, with each key bound as Textual resolves it.

    As in Textual's own merge, a class's binding of a key replaces the bindings of that key in
    its bases, key by key, and a class with `inherit_bindings=False` starts afresh. A binding
    whose keys are all taken by a subclass is left out; one with some keys taken keeps the rest.
    """
    by_key: dict[str, Binding] = {}
    for klass in reversed(widget_class.__mro__):
        if not klass.__dict__.get("_inherit_bindings", True):
            by_key.clear()
        for item in klass.__dict__.get("BINDINGS", []):
            binding = item if isinstance(item, Binding) else Binding(*item)
            for key in binding.key.split(","):
                by_key[key.strip()] = binding
    keys_of: dict[int, list[str]] = {}
    bindings: dict[int, Binding] = {}
    for key, binding in by_key.items():
        keys_of.setdefault(id(binding), []).append(key)
        bindings[id(binding)] = binding
    return [
        replace(binding, key=",".join(keys_of[identity])) for identity, binding in bindings.items()
    ]


def describe_bindings(
    app: Any, bindings: Iterable[Binding], keymap: dict[str, str]
) -> list[tuple[str, str, str]]:
    """Return (keys, description, id) rows for `bindings`, with `keymap` overrides applied.

    Bindings with no description and no help text (Textual's internal ones) are left out.
    """
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for binding in bindings:
        description = binding_help(binding)
        if not description:
            continue
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        shown = ", ".join(
            app.get_key_display(Binding(key.strip(), binding.action)) for key in keys.split(",")
        )
        marker = (shown, description)
        if marker in seen:
            continue
        seen.add(marker)
        rows.append((shown, description, binding.id or FIXED_KEY))
    return rows


class HelpScreen(ModalScreen[None]):
    """All keys by pane; Escape, q, ? or F1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,q,question_mark,f1",
            "close",
            "Close help",
            id="help.close",
            tooltip="Close this list of keys",
        ),
    ]

    def __init__(self, sections: Sequence[HelpSection], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Below this width the id follows the description, so the description has room.
        id_column = self.app.size.width >= ID_COLUMN_MIN_WIDTH
        # One width per column across every section, so the sections line up.
        all_rows = [row for _title, rows in self.sections for row in rows]
        keys_width = max([KEYS_MIN_CELLS, *(cell_len(keys) for keys, _, _ in all_rows)])
        id_width = max([1, *(cell_len(binding_id) for _, _, binding_id in all_rows)])
        with Vertical(id="help-dialog", classes="dialog"):
            close_key = key_name(self, "help.close")
            title = (
                f"mmtui keys  ({close_key} closes. [keys] in config.toml remaps a key by its id)"
            )
            yield Static(Text(title, style="bold"))
            with VerticalScroll(id="help-body"):
                for title, rows in self.sections:
                    table = Table(
                        title=title,
                        title_justify="left",
                        title_style="bold cyan",
                        show_header=False,
                        box=None,
                        padding=(0, 2),
                        expand=True,
                    )
                    table.add_column("keys", style="bold", no_wrap=True, width=keys_width)
                    table.add_column("action")
                    if id_column:
                        table.add_column("id", style="dim", no_wrap=True, width=id_width)
                    for keys, description, binding_id in rows:
                        if id_column:
                            table.add_row(Text(keys), Text(description), Text(binding_id))
                        else:
                            action = Text.assemble(description, "  ", (binding_id, "dim"))
                            table.add_row(Text(keys), action)
                    yield Static(table, classes="help-section")
        # The explorer's footer below offers keys that do something else while this is open.
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss(None)
