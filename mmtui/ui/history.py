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

`add` runs on the UI thread, so it never waits for the lock. When another process holds it, or
the write fails (a full disk), the entry stays in memory and is written with the next append or
at exit. A failed write is cut off again, and an append after a line without its line break
starts on a new line.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
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

from mmtui.paths import read_regular_file, require_regular_file
from mmtui.results import safe_text
from mmtui.ui.footer import KeyFooter, key_name

logger = logging.getLogger(__name__)

MAX_ENTRIES = 1000
"""Entries kept in the file and in memory."""

TRIM_SLACK = 100
"""Lines allowed past MAX_ENTRIES before the file is trimmed, so a full file is not rewritten
on every run."""

EXIT_LOCK_TIMEOUT = 2.0
"""Seconds `close` waits for another process's history lock before unsaved entries are lost."""


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
        self._lock = FileLock(str(path) + ".lock", mode=0o600)
        self._unsaved: list[bytes] = []
        """File lines of entries that could not be written yet, oldest first."""
        self._reported_problem: str | None = None
        """The last message `add` returned, so that a lasting problem is reported once."""
        self.load()

    def load(self) -> None:
        """Read the file's newest MAX_ENTRIES valid entries, logging invalid lines among them."""
        self.entries = []
        self._file_lines = 0
        try:
            lines = read_regular_file(self.path).splitlines()
        except FileNotFoundError:
            return
        except OSError as error:
            logger.warning("cannot read query history %s: %s", self.path, error)
            return
        self._file_lines = len(lines)
        self.entries = [entry for entry, _line in _newest_entries(lines, self.path)]

    def add(self, sql: str, time_range: str) -> str | None:
        """Record a run as the newest entry, replacing an earlier entry with the same SQL.

        The entry is appended to the file together with the entries that earlier calls could
        not write. Returns a one-line message for the user when entries stay unsaved, once per
        cause, and None otherwise.
        """
        self.reset_navigation()
        sql = sql.strip()
        if not sql:
            return None
        entry = HistoryEntry(sql, datetime.now(UTC).isoformat(timespec="seconds"), time_range)
        self.entries = [old for old in self.entries if old.sql != sql]
        self.entries.append(entry)
        self.entries = self.entries[-MAX_ENTRIES:]
        self._unsaved.append(_to_line(entry).encode("utf-8"))
        del self._unsaved[:-MAX_ENTRIES]
        problem = self._save_unsaved(timeout=0)
        if problem is None or problem == self._reported_problem:
            return None
        self._reported_problem = problem
        return problem

    def close(self) -> None:
        """Write the unsaved entries, waiting up to EXIT_LOCK_TIMEOUT for another process."""
        if not self._unsaved:
            return
        count = len(self._unsaved)
        problem = self._save_unsaved(timeout=EXIT_LOCK_TIMEOUT)
        if problem is not None:
            logger.warning("lost %d unsaved entries of query history %s", count, self.path)

    def _save_unsaved(self, timeout: float) -> str | None:
        """Append the unsaved lines, and return a message for the user when they stay unsaved."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A timeout of 0 tries once: the UI thread must not wait for another process.
            with self._lock.acquire(timeout=timeout, blocking=timeout > 0):
                self._append(b"".join(self._unsaved))
                saved = len(self._unsaved)
                self._unsaved.clear()
                self._file_lines += saved
                if self._reported_problem is not None:
                    logger.info("wrote %d queries to query history %s", saved, self.path)
                    self._reported_problem = None
                if self._file_lines > MAX_ENTRIES + TRIM_SLACK:
                    self._trim_or_log()
        except Timeout:
            logger.warning(
                "query history %s is locked by another process: %d entries kept in memory",
                self.path,
                len(self._unsaved),
            )
            return (
                f"Another process holds the lock of the query history {self.path}, so the "
                "query is not saved yet. It is kept in memory, and the next query tries again."
            )
        except OSError as error:
            logger.warning(
                "cannot write query history %s: %s (%d entries kept in memory)",
                self.path,
                error,
                len(self._unsaved),
            )
            return (
                f"Cannot save the query history {self.path}: {error.strerror or error}. "
                "The queries of this session are kept in memory, and the next query tries again."
            )
        return None

    def _append(self, data: bytes) -> None:
        """Append whole lines to the file, or raise OSError and leave the file as it was.

        The caller holds the lock, so no other mmtui process appends meanwhile, and the bytes
        of a write that stopped early (a full disk) can be cut off again.
        """
        descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # Lines written to a FIFO or to /dev/null would be lost without an error.
            require_regular_file(descriptor, self.path)
            size = os.fstat(descriptor).st_size
            if size > 0 and os.pread(descriptor, 1, size - 1) != b"\n":
                # The last line has no line break (an older mmtui's partial write, or a hand
                # edit), so the new lines start on a line of their own.
                data = b"\n" + data
            try:
                _write_all(descriptor, data)
            except OSError:
                _truncate_or_log(descriptor, size, self.path)
                raise
        finally:
            os.close(descriptor)

    def _trim_or_log(self) -> None:
        try:
            self._trim()
        except OSError as error:
            logger.warning("cannot trim query history %s: %s", self.path, error)

    def _trim(self) -> None:
        """Replace the file by the last line of each of its newest MAX_ENTRIES query texts.

        The caller holds the lock. Lines are copied byte for byte; invalid lines are dropped.
        """
        lines = read_regular_file(self.path).splitlines(keepends=True)
        latest = _newest_entries(lines, self.path)
        newest = [line if line.endswith(b"\n") else line + b"\n" for _entry, line in latest]
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
        self.entries = [entry for entry, _line in latest]
        self._file_lines = len(newest)

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


def _newest_entries(lines: list[bytes], path: Path) -> list[tuple[HistoryEntry, bytes]]:
    """Return the last line of each of the newest MAX_ENTRIES query texts, oldest first.

    Parses `lines` from the end and stops at the MAX_ENTRIES-th distinct query, so the older
    lines of a file of 100,000 lines are never parsed. Invalid lines met on the way are logged
    and skipped.
    """
    newest_first: list[tuple[HistoryEntry, bytes]] = []
    seen: set[str] = set()
    skipped = 0
    for number in range(len(lines), 0, -1):
        if len(newest_first) == MAX_ENTRIES:
            break
        line = lines[number - 1]
        entry = _parse_line(line)
        if entry is None:
            skipped += 1
            if skipped <= 5:
                logger.warning("skipped invalid line %d of query history %s", number, path)
            continue
        # A line further up with the same query is an older run of it.
        if entry.sql in seen:
            continue
        seen.add(entry.sql)
        newest_first.append((entry, line))
    if skipped > 5:
        logger.warning("skipped %d invalid lines of query history %s", skipped, path)
    newest_first.reverse()
    return newest_first


def _parse_line(line: bytes) -> HistoryEntry | None:
    """Return the entry of one file line, or None when it is not UTF-8 JSON with `sql`."""
    try:
        data = json.loads(line.decode("utf-8"))
        return HistoryEntry(
            str(data["sql"]), str(data.get("run_at", "")), str(data.get("time_range", ""))
        )
    except (ValueError, KeyError, TypeError, RecursionError):
        # json raises RecursionError for arrays or objects nested too deeply.
        return None


def _write_all(descriptor: int, data: bytes) -> None:
    """Write all of `data`, looping over short writes. Raises OSError for a write of 0 bytes."""
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        if written == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _truncate_or_log(descriptor: int, size: int, path: Path) -> None:
    """Cut the file back to `size` bytes after a failed write."""
    try:
        os.ftruncate(descriptor, size)
    except OSError as error:
        # The next append starts on a new line, so only the partial line is lost.
        logger.warning("cannot remove a partial line from query history %s: %s", path, error)


def _to_line(entry: HistoryEntry) -> str:
    record = {"sql": entry.sql, "run_at": entry.run_at, "time_range": entry.time_range}
    return json.dumps(record) + "\n"


@dataclass(frozen=True)
class HistoryPick:
    """A query picked in `HistoryScreen`."""

    sql: str
    time_range: str | None
    """The range the query ran with, when the user asked for it back; else None."""


class HistoryScreen(ModalScreen[HistoryPick | None]):
    """Pick a past query, newest first. Enter returns its SQL, the range key its SQL and time
    range, and Escape returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "dismiss_none",
            "Close",
            id="history.close",
            tooltip="Close the history without picking a query",
        ),
        Binding(
            "r",
            "pick_with_range",
            "With range",
            id="history.load_with_range",
            tooltip="Load the highlighted query and the time range it ran with",
        ),
    ]

    def __init__(self, entries: list[HistoryEntry], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._entries = list(reversed(entries))

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog", classes="dialog"):
            close_key = key_name(self, "history.close")
            range_key = key_name(self, "history.load_with_range")
            title = (
                f"Query history (Enter: load into the editor, {range_key}: load with its time "
                f"range, {close_key}: close)"
            )
            yield Label(Text(title, style="bold"))
            options = [Option(entry_text(entry)) for entry in self._entries]
            if not options:
                options = [Option(Text("(no queries run yet)", style="dim"), disabled=True)]
            yield OptionList(*options, id="history-list")
        # The explorer's footer below offers keys that do something else while this is open.
        yield KeyFooter()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(HistoryPick(self._entries[event.option_index].sql, None))

    def action_pick_with_range(self) -> None:
        index = self.query_one("#history-list", OptionList).highlighted
        if index is None or not self._entries:
            return
        entry = self._entries[index]
        self.dismiss(HistoryPick(entry.sql, entry.time_range or None))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def entry_text(entry: HistoryEntry) -> Text:
    """Return a picker row: the run time, the SQL on one line, and the time range it ran with.

    Enter loads the query without its range, so the row shows the range it ran with.
    """
    # History files can be edited by hand, so nothing in them is drawn raw.
    text = Text.assemble(
        (safe_text(entry.run_at.replace("T", " ")[:19]), "dim"),
        ("  ", ""),
        (safe_text(_one_line_prefix(entry.sql, _code_start(entry.sql), ROW_SQL_CHARS)), ""),
    )
    if entry.time_range:
        text.append(f"  · range {safe_text(entry.time_range)}", style="dim")
    return text


def summary_sql(sql: str) -> str:
    """Return `sql` without its leading comment-only lines, for a one-line list entry.

    Queries typed below the welcome text's comment lines start with them, so each entry of
    the history picker would otherwise begin with the same comment. SQL that is all comments
    is returned unchanged.
    """
    return sql[_code_start(sql) :]


ROW_SQL_CHARS = 200
"""Characters of a query shown in a picker row."""

_COMMENT_OR_BLANK_LINES = re.compile(r"(?:[^\S\n]*(?:--[^\n]*)?\n)*")
_COMMENT_OR_BLANK_TAIL = re.compile(r"[^\S\n]*(?:--[^\n]*)?")


def _code_start(sql: str) -> int:
    """Return the index of the first line of `sql` that is neither blank nor a `--` comment.

    Returns 0 when every line is blank or a comment. Scans no further than that line, because
    a query in the history file can be megabytes long.
    """
    # Both patterns can match the empty string, so `match` never returns None.
    lines = _COMMENT_OR_BLANK_LINES.match(sql)
    assert lines is not None
    tail = _COMMENT_OR_BLANK_TAIL.match(sql, lines.end())
    assert tail is not None
    if tail.end() == len(sql):
        return 0
    return lines.end()


def _one_line_prefix(sql: str, start: int, limit: int) -> str:
    """Return the first `limit` characters of `sql[start:]` with each whitespace run as one space.

    Reads a slice that grows until it yields `limit` characters, so a query of megabytes
    costs about as much as a short one.
    """
    size = 4 * limit
    while True:
        words = sql[start : start + size].split()
        # The slice may end inside a word, so its last word counts only at the end of `sql`.
        if start + size >= len(sql):
            return " ".join(words)[:limit]
        complete = " ".join(words[:-1])
        if len(complete) >= limit:
            return complete[:limit]
        size *= 4
