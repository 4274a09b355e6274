"""The login dialog's key bindings, in a module that imports no login flow.

At start-up the explorer checks `[keys]` against the bindings of every dialog. Importing
`mmtui.ui.login_screen` for that pulled in authlib, requests and cryptography, about 0.1 s
with warm caches, for a dialog that most sessions never open.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen


class LoginBindings(ModalScreen[bool]):
    """Base of the login dialog that carries its bindings; it dismisses with True after a
    successful login."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="login.cancel", tooltip="Cancel the login"),
    ]
