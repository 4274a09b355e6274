"""Query history: every statement run, kept in a JSON-lines file, browsed from the editor.

Ctrl+Up/Ctrl+Down step through older and newer queries in the editor (the draft being typed is
kept and comes back after the newest entry); F8 opens a picker. The file keeps at most
`MAX_ENTRIES` entries and is rewritten when it grows past that.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

logger = logging.getLogger(__name__)

MAX_ENTRIES = 1000


@dataclass(frozen=True)
class HistoryEntry:
    sql: str
    run_at: str
    """UTC time of the run, RFC 3339."""
    time_range: str


class QueryHistory:
    """Queries run, oldest first, loaded from and appended to `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[HistoryEntry] = []
        self._cursor: int | None = None
        self._draft = ""
        self.load()

    def load(self) -> None:
        self.entries = []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        except OSError as error:
            logger.warning("cannot read query history %s: %s", self.path, error)
            return
        for number, line in enumerate(lines, 1):
            try:
                data = json.loads(line)
                entry = HistoryEntry(
                    str(data["sql"]), str(data.get("run_at", "")), str(data.get("time_range", ""))
                )
                self.entries.append(entry)
            except (ValueError, KeyError, TypeError):
                logger.warning("skipped invalid line %d of query history %s", number, self.path)
        self.entries = self.entries[-MAX_ENTRIES:]

    def add(self, sql: str, time_range: str) -> None:
        """Record a run; a repeat of the newest entry is not stored twice."""
        self.reset_navigation()
        sql = sql.strip()
        if not sql or (self.entries and self.entries[-1].sql == sql):
            return
        entry = HistoryEntry(sql, datetime.now(UTC).isoformat(timespec="seconds"), time_range)
        self.entries.append(entry)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if len(self.entries) > MAX_ENTRIES:
                self.entries = self.entries[-MAX_ENTRIES:]
                self.path.write_text(
                    "".join(_to_line(item) for item in self.entries), encoding="utf-8"
                )
            else:
                with self.path.open("a", encoding="utf-8") as stream:
                    stream.write(_to_line(entry))
        except OSError as error:
            logger.warning("cannot write query history %s: %s", self.path, error)

    def reset_navigation(self) -> None:
        self._cursor = None

    def older(self, current_text: str) -> str | None:
        """Step to the previous entry; returns its SQL, or None at the oldest."""
        if not self.entries:
            return None
        if self._cursor is None:
            self._draft = current_text
            self._cursor = len(self.entries)
        if self._cursor == 0:
            return None
        self._cursor -= 1
        return self.entries[self._cursor].sql

    def newer(self) -> str | None:
        """Step to the next entry; after the newest, returns the draft; None when not browsing."""
        if self._cursor is None:
            return None
        self._cursor += 1
        if self._cursor >= len(self.entries):
            self._cursor = None
            return self._draft
        return self.entries[self._cursor].sql


def _to_line(entry: HistoryEntry) -> str:
    record = {"sql": entry.sql, "run_at": entry.run_at, "time_range": entry.time_range}
    return json.dumps(record) + "\n"


class HistoryScreen(ModalScreen[str | None]):
    """Pick a past query, newest first; Enter returns its SQL, Escape returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Close", id="history.close")
    ]

    def __init__(self, entries: list[HistoryEntry], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entries = list(reversed(entries))

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog", classes="dialog"):
            title = "Query history (Enter: load into the editor, Esc: close)"
            yield Label(Text(title, style="bold"))
            options = [
                Option(
                    Text.assemble(
                        (entry.run_at.replace("T", " ")[:19], "dim"),
                        ("  ", ""),
                        (" ".join(entry.sql.split())[:200], ""),
                    )
                )
                for entry in self._entries
            ]
            if not options:
                options = [Option(Text("(no queries run yet)", style="dim"), disabled=True)]
            yield OptionList(*options, id="history-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._entries[event.option_index].sql)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
