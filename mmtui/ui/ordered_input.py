"""A single-line input that applies its own editing keys in the order they were typed.

Textual's `Input` inserts a typed character as soon as the key reaches it, but runs its
editing bindings (Ctrl+U, Ctrl+K, Ctrl+W, Home, Left...) only once the key has bubbled up to
the app. In a burst such as "Ctrl+U /tmp/out.csv", which a terminal delivers in one read, the
characters were inserted first and Ctrl+U then deleted them. `OrderedInput` runs its bindings
when the key reaches it, before the characters that follow.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """An `Input` whose own key bindings run in typing order with the characters."""

    async def _on_key(self, event: events.Key) -> None:
        # NOTE: `_bindings` is a Textual internal (8.x), also read by `Screen._binding_chain`.
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.priority:
                continue
            if await self.app.run_action(binding.action, self):
                # Textual calls `Input._on_key` after this handler unless the default is
                # prevented, and the app would run the binding again if the key bubbled up.
                event.stop()
                event.prevent_default()
                return
