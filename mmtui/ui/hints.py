"""The hints panel under the editor: live validation of the statement under the cursor.

A short pause after typing (`HINT_DELAY`), a thread worker calls `prepare_statement` on the
statement with the current time range. The server plans the SQL without running it, so the
reply is the result schema or the planning error. While a request waits, the panel shows
"Validating…" instead of the result of other text. Each request carries a generation number and
replies from an older generation are dropped, so a slow reply never overwrites a newer one.
The advice rules live in `mmtui.sqlhints`.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
from rich.text import Text
from textual import work
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from mmtui import sqlhints
from mmtui.auth.errors import LoginRequired
from mmtui.results import safe_lines, safe_text
from mmtui.ui.detail_screen import count_text
from mmtui.ui.footer import key_name
from mmtui.ui.thread_calls import call_later_from_thread

logger = logging.getLogger(__name__)

HINT_DELAY = 0.15
"""Seconds of no typing before validation starts. Planning on a local demo server adds tens of
milliseconds, so the hint shows within 200 ms of the last keystroke (the user story test prints
the measured figure)."""

MAX_COLUMNS_SHOWN = 12

MAX_VALIDATIONS_IN_FLIGHT = 3
"""Maximum validation calls running at once. A stalled server keeps each call, and its thread,
busy until the call timeout (30 s by default), so without a cap every edit would add one. More
than one, so that a statement the server is slow to plan does not delay the next one."""


@dataclass
class HintRequest:
    """One validation request: what was sent and the range it was sent with."""

    generation: int
    statement: sqlhints.Statement
    buffer: str
    begin: datetime | None
    end: datetime | None
    requested_at: float = field(default_factory=time.monotonic)


class HintsPanel(Vertical):
    """Shows completions, then the validation result and advice for the current statement."""

    class ErrorLocated(Message):
        """The position of the planning error validation found; None when it found none."""

        def __init__(self, position: sqlhints.ErrorPosition | None) -> None:
            super().__init__()
            self.position = position

    class LoginNeeded(Message):
        """Validation failed because the token is no longer accepted."""

        def __init__(self, error: BaseException | None = None) -> None:
            super().__init__()
            self.error = error
            """The server's rejection, or `LoginRequired` when there was no usable token."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generation = 0
        self.shown_generation = 0
        self.last_shown_at = 0.0
        """time.monotonic() when a validation result was last drawn."""
        self.last_text = ""
        """The panel's validation text as shown."""
        self.shown_statement: str | None = None
        """The statement the shown validation result is for."""
        self._in_flight = 0
        """prepare_statement calls running, at most MAX_VALIDATIONS_IN_FLIGHT."""
        self._queued: tuple[Any, HintRequest] | None = None
        """The newest request that waits for a running call to end."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="completions")
        yield Static(Text("Type a query; hints appear here.", style="dim"), id="hint-body")

    # Completion line

    def show_completions(self, prefix: str, candidates: list[str]) -> None:
        line = self.query_one("#completions", Static)
        if not candidates:
            line.display = False
            return
        text = Text.assemble(("Tab ", "bold"), (safe_text(candidates[0]), "bold green"))
        if len(candidates) > 1:
            text.append("   also: ", style="dim")
            text.append(safe_text(", ".join(candidates[1:6])), style="dim")
        line.update(text)
        line.display = True

    # Validation

    def invalidate(self) -> int:
        """Start a new generation so replies already in flight are dropped."""
        self.generation += 1
        return self.generation

    def clear(self, message: str = "") -> None:
        self.invalidate()
        self._show(Text(message, style="dim"))
        self.post_message(self.ErrorLocated(None))

    def request(
        self,
        client: Any,
        statement: sqlhints.Statement,
        buffer: str,
        begin: datetime | None,
        end: datetime | None,
    ) -> None:
        """Validate `statement` of `buffer` with the given range in a worker."""
        request = HintRequest(self.invalidate(), statement, buffer, begin, end)
        self._show(Text("Validating…", style="dim"), keep_height=True)
        self.shown_statement = None
        if self._in_flight >= MAX_VALIDATIONS_IN_FLIGHT:
            # Only the newest text is worth validating once a call ends.
            self._queued = (client, request)
            return
        self._in_flight += 1
        self._prepare(client, request)

    @work(thread=True, group="hints", exit_on_error=False)
    def _prepare(self, client: Any, request: HintRequest) -> None:
        try:
            prepared = client.prepare_statement(
                request.statement.text, begin=request.begin, end=request.end
            )
        except Exception as error:  # every failure is shown; typed below
            call_later_from_thread(self, self._prepared, request, None, [], error)
            return
        schema = prepared.dataset_schema
        # The advice rules scan the whole statement, so they run here and not on the UI thread.
        has_range = request.begin is not None
        notes = sqlhints.advice(request.statement.text, schema, has_range)
        call_later_from_thread(self, self._prepared, request, schema, notes, None)

    def _prepared(
        self,
        request: HintRequest,
        schema: pa.Schema | None,
        notes: list[str],
        error: Exception | None,
    ) -> None:
        """Show a call's outcome unless it is stale, then start the queued request, if any.

        `notes` is the advice for the statement when `schema` is given.
        """
        self._in_flight -= 1
        queued, self._queued = self._queued, None
        if queued is not None and queued[1].generation == self.generation:
            self._in_flight += 1
            self._prepare(*queued)
        if error is not None:
            self._show_failure(request, error)
        elif schema is not None:
            self._show_schema(request, schema, notes)

    def _is_stale(self, request: HintRequest) -> bool:
        if request.generation != self.generation:
            logger.debug("dropped stale hint %d (now %d)", request.generation, self.generation)
            return True
        return False

    def _show_schema(self, request: HintRequest, schema: pa.Schema, notes: list[str]) -> None:
        if self._is_stale(request):
            return
        row_bytes = sqlhints.estimate_row_bytes(schema)
        text = Text()
        text.append("✓ valid", style="bold green")
        columns = count_text(len(schema), "column", "columns")
        text.append(f"  {columns} · est. {row_bytes} B/row", style="green")
        # Advice comes before the column list: in a short panel (80x24) a long column list
        # would push it out of view.
        for note in notes:
            text.append("\n⚠ ", style="bold yellow")
            text.append(note, style="yellow")
        text.append("\n")
        shown = list(schema)[:MAX_COLUMNS_SHOWN]
        for index, column in enumerate(shown):
            if index:
                text.append(" · ", style="dim")
            text.append(safe_text(column.name))
            text.append(f" {sqlhints.describe_type(column.type)}", style="cyan")
        if len(schema) > MAX_COLUMNS_SHOWN:
            text.append(f" … +{len(schema) - MAX_COLUMNS_SHOWN} more", style="dim")
        self._show(text, request)
        self.post_message(self.ErrorLocated(None))

    def _show_failure(self, request: HintRequest, error: Exception) -> None:
        if self._is_stale(request):
            return
        if _needs_login(error):
            # The app then opens the login screen, or shows why the server rejected the call.
            self._show(Text("Not authenticated: no validation.", style="yellow"), request)
            self.post_message(self.LoginNeeded(error))
            return
        logger.info("validation failed: %s", error)
        position = error_position(error, request.statement)
        message = str(getattr(error, "message", "") or error)
        text = Text()
        text.append("✗ ", style="bold red")
        location = None
        if position is not None:
            location = sqlhints.error_location(
                request.buffer, request.statement, position.line, position.column
            )
        if location is not None:
            text.append(f"line {location[0] + 1}, column {location[1] + 1}: ", style="bold red")
        elif position is not None:
            # Shown as sent: moved into the statement, it would point at text that is fine.
            text.append(f"{position.label()} (outside the statement): ", style="bold red")
        cause = server_cause(message) if position is not None else message
        text.append(safe_lines(_first_lines(cause)), style="red")
        if location is not None:
            goto_key = key_name(self.app, "app.goto_error")
            text.append(f"\n{goto_key} moves the cursor to the error.", style="dim")
        elif position is not None:
            text.append(
                "\nThe server's position is outside the statement, so no error is marked.",
                style="dim",
            )
        self._show(text, request)
        self.post_message(self.ErrorLocated(position))

    def _show(
        self, text: Text, request: HintRequest | None = None, keep_height: bool = False
    ) -> None:
        """Show `text`, the result of `request` when given.

        `keep_height` keeps the panel's current height, so that the results pane under it
        does not move up and back down while a fast server validates. The text then gets
        blank lines up to that height.
        """
        body = self.query_one("#hint-body", Static)
        height_before = body.content_size.height
        body_text = text
        if keep_height and height_before > 1:
            body_text = text.copy()
            body_text.append("\n" * (height_before - 1))
        body.update(body_text, layout=False)

        # A layout pass repaints every scrollbar on the screen (Textual 8.2). At 120x35 in
        # tmux, skipping it sent about 2 KB less per typed character (two hints per edit),
        # which a slow SSH link pays for. It is needed only when the text takes another
        # number of lines than the panel shows.
        width = body.content_size.width
        if not width or body.get_content_height(self.size, self.app.size, width) != height_before:
            body.refresh(layout=True)
        self.last_text = text.plain
        if request is not None:
            self.shown_statement = request.statement.text
            self.shown_generation = request.generation
            self.last_shown_at = time.monotonic()
            logger.debug(
                "hint %d shown %.0f ms after the request",
                request.generation,
                (self.last_shown_at - request.requested_at) * 1000,
            )


def error_position(
    error: BaseException, statement: sqlhints.Statement
) -> sqlhints.ErrorPosition | None:
    """Return the SQL position a server error sent for `statement`, or None when it sent none.

    `QueryError` carries the position from the message's `(at line L, column C)`.
    """
    line = getattr(error, "line", None)
    column = getattr(error, "column", None)
    if line is None or column is None:
        return None
    return sqlhints.ErrorPosition(statement, line, column)


def _needs_login(error: Exception) -> bool:
    if isinstance(error, LoginRequired):
        return True
    return getattr(error, "code", None) == "UNAUTHENTICATED"


_POSITION = re.compile(r"\s*\(at line \d+, column \d+\)")
_QUERY_ID = re.compile(r"\s*\(query_id=[^)]*\)")
_PLANNING_PREFIX = "error building dataframe: "


def server_cause(message: str) -> str:
    """Strip what the panel shows elsewhere from a planning error: the position, query id
    and the server's generic prefix. The full message stays in the log."""
    cleaned = _QUERY_ID.sub("", _POSITION.sub("", message))
    return cleaned.strip().removeprefix(_PLANNING_PREFIX)


def _first_lines(message: str, limit: int = 2) -> str:
    """Keep the first lines of a server message; the panel is a few rows high."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    kept = "\n".join(lines[:limit])
    return kept + (" …" if len(lines) > limit else "")
