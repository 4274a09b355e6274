"""The key footer: Textual's compact footer, cut to the keys that fit on one line.

Textual's footer lays its keys out in one row and lets the row run on under the command palette
key, which is docked right. At 80 columns the results pane's keys would overflow it: a hint is
cut mid-word and one of its characters shows in the last column. This footer shows only the
hints that fit whole. When they do not all fit, it drops hints from the end of the row, where
the app's global keys follow the focused pane's, but it keeps the keys in `PINNED_ACTIONS` as
long as it can. Every key stays in the help screen (F1).
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

PINNED_ACTIONS = frozenset(["help", "quit", "cancel_query", "reconnect"])
"""Actions whose hints are dropped last. Help leads to every other key, and the others act on
the current state (quit, cancel the running query, reconnect)."""

KEY_GAP = 1
"""Cells between two hints: the right margin of each key in the compact footer."""

PALETTE_FRAME = 2
"""Cells of the palette key beyond its text: its left border and its right margin."""


def key_name(node: DOMNode, binding_id: str) -> str:
    """Return the first key of the binding `binding_id` of `node`'s class, with the app's keymap
    (`[keys]`) applied, as the footer spells it but capitalized for prose ("Esc", "^w").

    Raises KeyError when the class has no binding with that id.
    """
    for item in type(node).BINDINGS:
        if isinstance(item, Binding) and item.id == binding_id:
            # NOTE: `_keymap` is a Textual internal (8.x): the keymap of `App.set_keymap`,
            # normalized (stripped, "?" as "question_mark").
            keymap: dict[str, str] = getattr(node.app, "_keymap", {})
            first_key = keymap.get(binding_id, item.key).split(",")[0].strip()
            display = node.app.get_key_display(Binding(first_key, item.action))
            # A single character keeps its case: "Y" would mean Shift+Y.
            return display[0].upper() + display[1:] if len(display) > 1 else display
    raise KeyError(binding_id)


def label_width(widget: Widget) -> int:
    """Return the cells of a footer key's text: the key, a space and the description."""
    # NOTE: read from Textual 8's FooterKey (`key_display`, `description`) in the compact
    # footer, where the key and the description have no padding. Other versions may differ.
    key_display = str(getattr(widget, "key_display", ""))
    description = str(getattr(widget, "description", ""))
    width = cell_len(key_display)
    if description:
        width += 1 + cell_len(description)
    return width


def hint_width(widget: Widget) -> int:
    """Return the cells a footer key takes in the row, its right margin included."""
    return label_width(widget) + KEY_GAP


class KeyFooter(Footer):
    """The footer of the explorer: the hints that fit whole at the current width."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._composed_width = 0
        self._composed_keys: object = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Rebuild the keys only when the hints to show differ from those on screen.

        Textual calls this on every focus change and every `refresh_bindings`, such as the
        header's update every 30 seconds. A rebuild repaints the whole footer line: 3.1 to 3.4 KB
        at 120 columns with 256 colours, measured through tmux. A slow SSH link pays that even
        when no hint changed.
        """
        if self._bindings_ready and self._shown_keys(screen) == self._composed_keys:
            return
        super().bindings_changed(screen)

    def _shown_keys(self, screen: Screen[object]) -> tuple[object, ...]:
        """Return what `compose` builds the hints from: the shown bindings and their state."""
        # NOTE: read like Textual 8's `Footer.compose`. A click on a key simulates its key
        # press, so the node that owns a binding does not change what the footer shows.
        return tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.show,
                binding.group,
                binding.tooltip,
                enabled,
                tooltip,
            )
            for (_node, binding, enabled, tooltip) in screen.active_bindings.values()
        )

    def compose(self) -> ComposeResult:
        _drop_removed_key_watchers(self)
        if self._bindings_ready:
            self._composed_keys = self._shown_keys(self.screen)
        # NOTE: Textual's footer builds binding groups with `with KeyGroup(...)`; those are not
        # measured here, and mmtui declares no binding group.
        widgets = list(super().compose())
        palette = [widget for widget in widgets if widget.has_class("-command-palette")]
        hints = [widget for widget in widgets if not widget.has_class("-command-palette")]
        width = self.size.width or self.app.size.width
        self._composed_width = width
        available = width - sum(label_width(widget) + PALETTE_FRAME for widget in palette)
        yield from _fit_hints(hints, available)
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._composed_width:
            self._composed_width = event.size.width
            self.call_after_refresh(self.recompose)


def _drop_removed_key_watchers(footer: Footer) -> None:
    """Drop the `compact` watchers of the keys that a recompose removed from `footer`.

    Each key's `data_bind(compact=Footer.compact)` adds the key and a setter to the footer's
    watchers of `compact`. Textual 8.2.8 prunes that list only when `compact` changes, which it
    never does here. So every key removed by a recompose stayed alive with its styles and
    caches. Each change of the bindings rebuilds the footer, so that was about 30 keys (about
    0.5 MB) per query in a 120-column app.
    """
    # NOTE: `__watchers` and `_closing` are Textual 8 internals. Should a later Textual store
    # watchers elsewhere, this does nothing and test_footer_frees_replaced_keys fails, unless
    # that version frees the removed keys itself.
    watchers = getattr(footer, "__watchers", {}).get("compact")
    if watchers:
        watchers[:] = [(node, callback) for node, callback in watchers if not node._closing]


def _fit_hints(hints: list[Widget], available: int) -> list[Widget]:
    """Return the hints to show in `available` cells, in their order.

    Unpinned hints are dropped first, from the end of the row. Pinned ones are dropped, also
    from the end, only when they alone do not fit.
    """
    unpinned = [widget for widget in hints if getattr(widget, "action", "") not in PINNED_ACTIONS]
    pinned = [widget for widget in hints if widget not in unpinned]
    shown_hints = list(hints)
    used = sum(hint_width(widget) for widget in shown_hints)
    for widget in [*reversed(unpinned), *reversed(pinned)]:
        if used <= available:
            break
        shown_hints.remove(widget)
        used -= hint_width(widget)
    return shown_hints
