"""The time range prompt: type `1h`, `now-2h..now-1h`, an RFC 3339 time, or `all`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from mmtui.timerange import (
    PRESETS,
    TimeRange,
    TimeRangeError,
    parse_time_range,
    utc_offset_text,
)
from mmtui.ui.footer import KeyFooter
from mmtui.ui.ordered_input import OrderedInput

HELP_TEXT = (
    "Examples: 15m, 1h30m, 7d (look back from now) · now-2h..now-1h · "
    "2026-12-04T10:00:00Z (until now) · A..B between two times · A..+15m · "
    "T±5m or T+-5m around a time · all or empty (no range).\n"
    "Times without an offset are {zone}. Keys 1-7 outside the editor pick "
    + ", ".join(PRESETS)
    + "."
)
"""The prompt's help; `{zone}` follows the display zone, the zone of times typed without one."""


def local_zone_label() -> str:
    """Return the local zone's abbreviation and current offset, such as `IST, UTC+05:30`."""
    now = datetime.now().astimezone()
    offset = now.utcoffset() or timedelta(0)
    return f"{now.tzname()}, UTC{utc_offset_text(int(offset.total_seconds()))}"


class TimeRangeScreen(ModalScreen[TimeRange | None]):
    """Ask for a time range; dismisses with the parsed range, or None on Escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="time_range.cancel",
            tooltip="Close the prompt and keep the time range",
        )
    ]

    def __init__(self, current: str, local: bool = False, **kwargs: Any) -> None:
        """Prefill the prompt with `current`. With `local`, times typed without an offset are
        local time, as displayed."""
        super().__init__(**kwargs)
        self._current = current
        self._local = local

    def compose(self) -> ComposeResult:
        with Vertical(id="time-range-dialog", classes="dialog"):
            yield Label(Text("Time range", style="bold"))
            yield OrderedInput(value=self._current, placeholder="1h", id="time-range-input")
            # Under the input, above the help: in a short terminal the dialog cuts off its
            # last lines, and an error there left Enter looking like it did nothing. Hidden
            # until there is an error, so it leaves no blank line.
            error = Static(id="time-range-error")
            error.display = False
            yield error
            if self._local:
                zone = f"in the local time zone ({local_zone_label()}), as displayed"
            else:
                zone = "UTC"
            yield Static(Text(HELP_TEXT.format(zone=zone), style="dim"), id="time-range-help")
        # The explorer's footer below offers keys that do something else while this is open.
        yield KeyFooter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            time_range = parse_time_range(event.value, local=self._local)
        except TimeRangeError as error:
            message = self.query_one("#time-range-error", Static)
            message.update(Text(str(error), style="bold red"))
            message.display = True
            return
        self.dismiss(time_range)

    def action_cancel(self) -> None:
        self.dismiss(None)
