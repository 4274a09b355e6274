"""The export screen: a path prompt and a format choice, then `export_store` on a worker thread.

The format follows the file extension as it is typed (.csv, .parquet or .pq, .jsonl or
.ndjson) until the user picks one by hand. Picking a format replaces a known export extension
(or the extension of the default name) with that format's, so Parquet bytes do not end up in a
`.csv` file. A name with any other extension stays as typed. A relative path is relative to
the current directory, which the screen shows, and messages name the absolute path.
The path is checked before anything is written: a `~user` that does not exist, a directory or
a missing directory is reported on the screen, and an existing file is replaced only after a
second Enter. A result without columns is not exported, and the screen shows why.

The export writes the rows in the store when the user confirms it. While a query still runs,
rows that arrive later are not written, so an export of an endless query ends too. Esc or the
Cancel button cancels a running export: the writer stops before its next batch, deletes its
temporary file, and the screen closes once it has stopped. The result is reported with a
notification (rows written, cancelled, or the error).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from mmtui.results import ResultStore, StoreClosedError, safe_text
from mmtui.results.export import (
    ExportCancelledError,
    ExportError,
    check_export_path,
    export_store,
)
from mmtui.ui.detail_screen import count_text
from mmtui.ui.footer import KeyFooter, key_name
from mmtui.ui.ordered_input import OrderedInput
from mmtui.ui.thread_calls import call_later_from_thread

if TYPE_CHECKING:
    from mmtui.ui.results_pane import ResultsPane

logger = logging.getLogger(__name__)

TITLE_INTERVAL = 0.5
"""Seconds between updates of the row count in the title while the query still runs."""

FORMATS = ("csv", "parquet", "jsonl")

EXTENSION_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


FORMAT_EXTENSIONS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}
"""Extension given to the file name when the user picks a format."""


FORMAT_HINT = "The extension sets the format, or Tab to the buttons."
"""Shown above the format buttons, on one line at 60 columns: the dialog has no other text on
how to choose a format."""


def format_for_path(path: str) -> str | None:
    """Return the export format that a file extension implies, or None."""
    return EXTENSION_FORMATS.get(Path(path).suffix.lower())


def path_with_format(path: str, fmt: str) -> str:
    """Return `path` with its extension replaced by the one of `fmt` (added if it has none).

    The text before the extension is kept exactly as typed, so `~` and relative parts stay.
    An extension that already implies `fmt` (such as `.pq` for Parquet) is kept.
    """
    if format_for_path(path) == fmt:
        return path
    suffix = Path(path).suffix
    stem = path[: len(path) - len(suffix)] if suffix else path
    return stem + FORMAT_EXTENSIONS[fmt]


class FormatButton(RadioButton):
    """A radio button whose mark shows its state by shape as well as colour.

    Textual draws the same mark for on and off and distinguishes them by colour alone, so in a
    terminal without colour (`NO_COLOR`) the three formats looked alike.
    """

    OFF_MARK = " "

    @property
    def _button(self) -> Content:
        # NOTE: `_button` is Textual's private drawing of the mark (8.x), which reads
        # BUTTON_INNER on each render.
        self.BUTTON_INNER = RadioButton.BUTTON_INNER if self.value else self.OFF_MARK
        return super()._button


class ExportScreen(ModalScreen[int | None]):
    """Ask for a path and a format and export `store`; dismiss with the rows written.

    The screen has its own footer, because the explorer's footer below it offers keys (such as
    Esc to cancel the query) that do something else while this screen is open.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="export.close", tooltip="Close the export dialog"),
        # The same key while the export writes (see `check_action`), so the footer shows it.
        Binding(
            "escape",
            "cancel_export",
            "Cancel export",
            id="export.cancel",
            tooltip="Cancel the running export",
        ),
    ]

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
        & > #export-box {
            width: 72;
            max-width: 100%;
            height: auto;
            border: round $primary;
            background: $surface;
            padding: 0 1;
        }
        & #export-formats {
            layout: horizontal;
            width: 100%;
            height: auto;
        }
        & #export-buttons {
            height: auto;
            align-horizontal: right;
        }
        & #export-status, & #export-folder {
            height: auto;
            color: $text-muted;
        }
    }
    """

    def __init__(
        self,
        store: ResultStore,
        *,
        pane: ResultsPane | None = None,
        default_path: str = "results.csv",
    ) -> None:
        super().__init__()
        self.store = store
        self.pane = pane
        self.default_path = default_path
        self._format_chosen_by_hand = False
        self._setting_format = False
        # The existing file the user was asked about; a second Enter on it overwrites it.
        self._overwrite_path: Path | None = None
        self.running = False
        self.rows_written: int | None = None
        self.rows_to_write: int | None = None
        """The store's row count when the user confirmed the export, which is the number of
        rows it writes. None until then and after a failure."""
        self._title_timer: Timer | None = None
        # Set by the UI thread to ask the writer thread to stop before its next batch.
        self._cancel_request = threading.Event()

    def compose(self) -> ComposeResult:
        initial = format_for_path(self.default_path) or "csv"
        with Vertical(id="export-box"):
            yield Static(Text(self._title_text()), id="export-title")
            yield OrderedInput(self.default_path, placeholder="file path", id="export-path")
            yield Static(
                Text(safe_text(f"Relative paths are saved in {Path.cwd()}")), id="export-folder"
            )
            yield Static(Text(FORMAT_HINT, style="dim"), id="export-format-hint")
            with RadioSet(id="export-formats"):
                for fmt in FORMATS:
                    yield FormatButton(fmt, value=fmt == initial, id=f"export-{fmt}")
            yield Static("", id="export-status", markup=False)
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-run")
                yield Button("Cancel", id="export-cancel")
        yield KeyFooter()

    def on_mount(self) -> None:
        # The pane keeps the store open while this screen may read it, even if a new query
        # replaces it on screen.
        if self.pane is not None:
            self.pane.begin_export(self.store)
        self.query_one("#export-path", Input).focus()
        if self._still_streaming():
            self._title_timer = self.set_interval(TITLE_INTERVAL, self._refresh_title)

    def _still_streaming(self) -> bool:
        """Tell whether the query that fills this screen's store still runs."""
        pane = self.pane
        return pane is not None and pane.is_running and pane.running_store is self.store

    def _title_text(self) -> str:
        if self.rows_to_write is not None:
            rows = count_text(self.rows_to_write, "row", "rows")
            if self._still_streaming():
                return f"Export {rows} (rows that arrive later are not exported)"
            return f"Export {rows}"
        rows = count_text(self.store.row_count, "row", "rows")
        if self._still_streaming():
            return f"Export {rows} so far (the query is still running)"
        return f"Export {rows}"

    def _refresh_title(self) -> None:
        """Show the current row count; stop the timer once the query no longer runs."""
        streaming = self._still_streaming()
        title = self.query_one("#export-title", Static)
        text = self._title_text()
        if str(title.content) != text:
            title.update(Text(text))
        if (not streaming or self.running) and self._title_timer is not None:
            self._title_timer.stop()
            self._title_timer = None

    def on_unmount(self) -> None:
        # The app may close this screen while the writer runs (on quit), so the writer stops
        # before its next batch and deletes its temporary file.
        # NOTE: the writer runs on a daemon thread (DaemonThreadExecutor). When the process
        # exits before the writer reaches that check, the `.part` file stays.
        self._cancel_request.set()
        if self.pane is not None:
            self.pane.end_export(self.store)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Bind Esc to closing the screen, or to cancelling the export while it writes."""
        if action == "close":
            return not self.running
        if action == "cancel_export":
            return self.running
        return True

    @property
    def selected_format(self) -> str:
        pressed = self.query_one("#export-formats", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return "csv"
        return pressed.id.removeprefix("export-")

    def _select_format(self, fmt: str) -> None:
        button = self.query_one(f"#export-{fmt}", RadioButton)
        if not button.value:
            self._setting_format = True
            button.value = True

    @on(Input.Changed, "#export-path")
    def _path_changed(self, event: Input.Changed) -> None:
        if self._overwrite_path is not None:
            self._overwrite_path = None
            self._set_status("")
        fmt = format_for_path(event.value)
        if fmt is not None and not self._format_chosen_by_hand:
            self._select_format(fmt)

    @on(RadioSet.Changed, "#export-formats")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        if self._setting_format:
            self._setting_format = False
            return
        self._format_chosen_by_hand = True
        path_input = self.query_one("#export-path", Input)
        path = path_input.value
        is_default = path.strip() == self.default_path
        if format_for_path(path) is not None or is_default:
            path_input.value = path_with_format(path, self.selected_format)

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-run")
    def _start(self) -> None:
        if self.running:
            return
        if not self.store.schema:
            self._set_status("The result has no columns, so there is nothing to export.")
            return
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self._set_status("Enter a file path.")
            return
        target = self._checked_target(path)
        if target is None:
            return
        if os.path.lexists(target) and target != self._overwrite_path:
            self._overwrite_path = target
            self._set_status(f"{target} exists. Press Enter again to overwrite it.")
            return
        self._set_running(True)
        # The UI thread counts the rows, so the file contains exactly the rows the title shows
        # when the user confirms, however many arrive before the writer thread starts.
        self.rows_to_write = self.store.row_count
        self._refresh_title()
        self._cancel_request.clear()
        self._set_status(f"Writing {target} … {key_name(self, 'export.cancel')} cancels.")
        self._export(target, self.selected_format, self.rows_to_write)

    def _checked_target(self, path: str) -> Path | None:
        """Return the file to write for `path`, or None after showing why it cannot be used."""
        try:
            # Absolute, so that messages show where a relative path is written.
            target = Path(path).expanduser().absolute()
        except RuntimeError:
            # Path.expanduser raises RuntimeError for `~name` when no user has that name.
            user = path[1:].split("/", 1)[0]
            reason = f"no user named {user}" if user else "the home directory is unknown"
            logger.warning("export path %s rejected: %s", path, reason)
            self._set_status(f"Invalid path {path}: {reason}.")
            return None
        try:
            # Path() drops a trailing slash, so it is added back for the directory check.
            check_export_path(f"{target}/" if path.endswith("/") else target)
        except ExportError as error:
            logger.warning("export path %s rejected: %s", path, error)
            self._set_status(f"Cannot export: {error}.")
            return None
        return target

    @on(Button.Pressed, "#export-cancel")
    def action_close(self) -> None:
        """Close the screen, or cancel the export while it writes."""
        if self.running:
            self.action_cancel_export()
            return
        self.dismiss(None)

    def action_cancel_export(self) -> None:
        """Ask the writer to stop. The screen closes once it has stopped (see `_cancelled`)."""
        if not self.running:
            return
        if not self._cancel_request.is_set():
            logger.info("cancel of the running export requested")
        self._cancel_request.set()
        self._set_status("Cancelling the export …")

    def _set_running(self, running: bool) -> None:
        self.running = running
        # Esc's footer hint changes between Close and Cancel export.
        self.refresh_bindings()

    def _set_status(self, text: str) -> None:
        self.query_one("#export-status", Static).update(Text(safe_text(text)))

    @work(thread=True, exclusive=True)
    def _export(self, path: Path, fmt: str, rows: int) -> None:
        try:
            written = export_store(
                self.store, path, fmt, rows=rows, cancelled=self._cancel_request.is_set
            )
        except ExportCancelledError:
            logger.info("export to %s as %s cancelled", path, fmt)
            call_later_from_thread(self, self._cancelled, path)
        except StoreClosedError:
            # The pane keeps the store open until this screen unmounts (`begin_export`), which
            # happens during an export only when the app quits. The unmount set the cancel
            # request, and export_store deleted its temporary file.
            logger.info("export to %s as %s stopped: the result was closed", path, fmt)
        except ExportError as error:
            if error.user_error:
                logger.warning("export to %s as %s failed: %s", path, fmt, error)
            else:
                logger.exception("export to %s as %s failed", path, fmt)
            call_later_from_thread(self, self._failed, path, error)
        except Exception as error:
            logger.exception("export to %s as %s failed", path, fmt)
            call_later_from_thread(self, self._failed, path, error)
        else:
            logger.info("exported %d rows to %s as %s", written, path, fmt)
            call_later_from_thread(self, self._done, path, written)

    def _done(self, path: Path, rows: int) -> None:
        self._set_running(False)
        self.rows_written = rows
        if self.pane is not None:
            self.pane.remember_export(path)
        rows_text = count_text(rows, "row", "rows")
        self.app.notify(safe_text(f"Exported {rows_text} to {path}"), markup=False)
        self.dismiss(rows)

    def _cancelled(self, path: Path) -> None:
        self._set_running(False)
        self.app.notify(
            safe_text(f"Export cancelled: nothing was written to {path}."), markup=False
        )
        self.dismiss(None)

    def _failed(self, path: Path, error: Exception) -> None:
        self._set_running(False)
        self.rows_to_write = None
        self._refresh_title()
        if self._still_streaming() and self._title_timer is None:
            self._title_timer = self.set_interval(TITLE_INTERVAL, self._refresh_title)
        if isinstance(error, ExportError):
            message = safe_text(f"Export failed: {error}")
        else:
            message = safe_text(f"Export to {path} failed: {type(error).__name__}: {error}")
        self._set_status(message)
        self.app.notify(message, severity="error", markup=False)
