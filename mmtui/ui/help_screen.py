"""The help screen, built from the bindings the app and its panes really have.

Keys come from each pane's live binding chain with the user's key overrides applied, so a key
remapped in the settings file shows up here under its new key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HelpSection = tuple[str, Sequence[tuple[str, str, str]]]
"""A section title and its rows of (keys, description, binding id)."""


def describe_bindings(
    app: Any, bindings: Iterable[Binding], keymap: dict[str, str]
) -> list[tuple[str, str, str]]:
    """Return (keys, description, id) rows for `bindings`, with `keymap` overrides applied."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for binding in bindings:
        if not binding.description:
            continue
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        shown = ", ".join(
            app.get_key_display(Binding(key.strip(), binding.action)) for key in keys.split(",")
        )
        marker = (shown, binding.description)
        if marker in seen:
            continue
        seen.add(marker)
        rows.append((shown, binding.description, binding.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    """All keys by pane; Escape, q, ? or F1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close help", id="help.close"),
    ]

    def __init__(self, sections: Sequence[HelpSection], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            title = "mmtui keys  (Esc closes; the ids are for [keys] in config.toml)"
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
                    table.add_column("keys", style="bold", no_wrap=True, min_width=14)
                    table.add_column("action")
                    table.add_column("id", style="dim", no_wrap=True)
                    for keys, description, binding_id in rows:
                        table.add_row(Text(keys), Text(description), Text(binding_id))
                    yield Static(table, classes="help-section")

    def action_close(self) -> None:
        self.dismiss(None)
