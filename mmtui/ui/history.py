"""Query history: every statement run, kept in a JSON-lines file, browsed from the editor.

Ctrl+Up/Ctrl+Down step through older and newer queries in the editor (the draft being typed is
kept and comes back after the newest entry); F8 opens a picker.

Each query text appears once: running a query that is already in the history moves it to the
newest place with the time and range of the latest run. The file stays append-only (one line per
run), and loading keeps only the last line of each query text.

Several mmtui processes can share the file. Each run appends one line with `O_APPEND` while it
holds `history.jsonl.lock` (a `filelock` lock). Once the file holds more than `MAX_ENTRIES` +
`TRIM_SLACK` lines, it is re-read under the lock and replaced atomically by the last line of
each of its newest `MAX_ENTRIES` query texts, so entries that another process appended are kept.
Lines that are not valid UTF-8 or not valid JSON are skipped with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from filelock import FileLock, Timeout
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from mmtui.results import safe_text

logger = logging.getLogger(__name__)

MAX_ENTRIES = 1000
"""Entries kept in the file and in memory."""

TRIM_SLACK = 100
"""Lines allowed past MAX_ENTRIES before the file is trimmed, so a full file is not rewritten
on every run."""

LOCK_TIMEOUT = 5.0
"""Seconds to wait for another process's history lock before the entry is kept in memory only."""


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
        self._file_lines = 0
        """Lines in the file as of the last load or trim, plus the lines appended since."""
        self._cursor: int | None = None
        self._draft = ""
        self._lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT, mode=0o600)
        self.load()

    def load(self) -> None:
        """Read the file's newest MAX_ENTRIES valid entries; bad lines are logged and skipped."""
        self.entries = []
        self._file_lines = 0
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return
        except OSError as error:
            logger.warning("cannot read query history %s: %s", self.path, error)
            return
        self._file_lines = len(lines)
        latest: dict[str, HistoryEntry] = {}
        skipped = 0
        for number, line in enumerate(lines, 1):
            entry = _parse_line(line)
            if entry is None:
                skipped += 1
                if skipped <= 5:
                    logger.warning("skipped invalid line %d of query history %s", number, self.path)
                continue
            # Removing first moves a repeated query to the end of the dict's insertion order.
            latest.pop(entry.sql, None)
            latest[entry.sql] = entry
        if skipped > 5:
            logger.warning("skipped %d invalid lines of query history %s", skipped, self.path)
        self.entries = list(latest.values())[-MAX_ENTRIES:]

    def add(self, sql: str, time_range: str) -> None:
        """Record a run as the newest entry, replacing an earlier entry with the same SQL."""
        self.reset_navigation()
        sql = sql.strip()
        if not sql:
            return
        entry = HistoryEntry(sql, datetime.now(UTC).isoformat(timespec="seconds"), time_range)
        self.entries = [old for old in self.entries if old.sql != sql]
        self.entries.append(entry)
        self.entries = self.entries[-MAX_ENTRIES:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._append_line(_to_line(entry).encode("utf-8"))
                self._file_lines += 1
                if self._file_lines > MAX_ENTRIES + TRIM_SLACK:
                    self._trim()
        except Timeout:
            logger.warning(
                "query history %s is locked by another process: the entry was not saved",
                self.path,
            )
        except OSError as error:
            logger.warning("cannot write query history %s: %s", self.path, error)

    def _append_line(self, line: bytes) -> None:
        # One write() per entry on an O_APPEND descriptor, so lines of processes do not mix.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)

    def _trim(self) -> None:
        """Replace the file by the last line of each of its newest MAX_ENTRIES query texts.

        The caller holds the lock. Lines are copied byte for byte; invalid lines are dropped.
        """
        lines = self.path.read_bytes().splitlines(keepends=True)
        latest: dict[str, bytes] = {}
        for line in lines:
            entry = _parse_line(line)
            if entry is None:
                continue
            latest.pop(entry.sql, None)
            latest[entry.sql] = line if line.endswith(b"\n") else line + b"\n"
        newest = list(latest.values())[-MAX_ENTRIES:]
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".history-")
        try:
            with os.fdopen(descriptor, "wb") as stream:
                stream.writelines(newest)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        logger.info(
            "trimmed query history %s from %d to %d lines", self.path, len(lines), len(newest)
        )
        self.load()

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


def _parse_line(line: bytes) -> HistoryEntry | None:
    """Return the entry of one file line, or None when it is not UTF-8 JSON with `sql`."""
    try:
        data = json.loads(line.decode("utf-8"))
        return HistoryEntry(
            str(data["sql"]), str(data.get("run_at", "")), str(data.get("time_range", ""))
        )
    except (ValueError, KeyError, TypeError):
        return None


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
                        (safe_text(entry.run_at.replace("T", " ")[:19]), "dim"),
                        ("  ", ""),
                        # History files can be edited by hand, so nothing in them is drawn raw.
                        (safe_text(" ".join(summary_sql(entry.sql).split())[:200]), ""),
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


def summary_sql(sql: str) -> str:
    """Return `sql` without its leading comment-only lines, for a one-line list entry.

    Queries typed below the welcome text's comment lines start with them, so each entry of
    the history picker would otherwise begin with the same comment. SQL that is all comments
    is returned unchanged.
    """
    lines = sql.splitlines()
    first_code = next(
        (
            index
            for index, line in enumerate(lines)
            if line.strip() and not line.lstrip().startswith("--")
        ),
        None,
    )
    if first_code is None:
        return sql
    return "\n".join(lines[first_code:])
