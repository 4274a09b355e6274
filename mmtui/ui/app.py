"""The explorer application: layout, global keys, start-up, time range, history and autosave.

Start-up: the token provider (if any) is asked for a token in a thread worker; `LoginRequired`
opens the login screen. Then the schema browser is filled in another worker while the editor
already has focus. An unreachable server leaves a message in the schema pane and F9 retries;
the editor stays usable. A query or hint rejected with UNAUTHENTICATED opens the login screen
on top, so the editor text and the results stay as they were.

Every binding has an id, so `[keys]` in the settings file can remap it (`App.set_keymap`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from platformdirs import user_downloads_path
from rich.text import Text
from textual import events, work
from textual._files import generate_datetime_filename
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.driver import Driver
from textual.notifications import Notification, Notify
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static, TextArea

from mmtui.auth.errors import LoginRequired, TokenCacheRejected
from mmtui.auth.settings import ENV_API_KEY, ENV_CLIENT_ID, ENV_ISSUER
from mmtui.autosave import AutosaveSlot, claim_slot, unclaimed_buffers
from mmtui.flightsql import ConnectionFailed, DeadlineExceeded, QueryError
from mmtui.logging_setup import redact
from mmtui.paths import AppPaths, log_file, read_regular_file
from mmtui.results import LOCAL_TZ, safe_lines, safe_text
from mmtui.sqlhints import Statement
from mmtui.stale_spill import remove_stale_spill_dirs
from mmtui.timerange import DEFAULT_RANGE, PRESETS, TimeRange, TimeRangeError, parse_time_range
from mmtui.ui.daemon_executor import DaemonThreadExecutor
from mmtui.ui.detail_screen import DetailScreen
from mmtui.ui.editor import SqlEditor, clean_pasted_text
from mmtui.ui.export_screen import ExportScreen
from mmtui.ui.footer import KeyFooter, key_name
from mmtui.ui.help_screen import HelpScreen, HelpSection, class_bindings, describe_bindings
from mmtui.ui.hints import HINT_DELAY, HintsPanel, error_position
from mmtui.ui.history import HistoryPick, HistoryScreen, QueryHistory
from mmtui.ui.key_names import invalid_keys, is_text_key, key_conflicts
from mmtui.ui.login_bindings import LoginBindings
from mmtui.ui.results_pane import ResultsPane
from mmtui.ui.schema_browser import SchemaBrowser
from mmtui.ui.thread_calls import call_later_from_thread
from mmtui.ui.time_range_screen import TimeRangeScreen, local_zone_label

logger = logging.getLogger(__name__)

WidgetT = TypeVar("WidgetT", bound=Widget)

AUTOSAVE_DELAY = 0.5
"""Seconds after the last edit before the buffer is written to the autosave file."""

ESCAPE_TIME_LIMIT = 1.0
"""Seconds after an Esc press during which its time decides what it cancels (see
`take_escape_time`); the queue delay it covers is milliseconds."""
SHORT_TERMINAL_ROWS = 20
"""Terminals with fewer rows get at most two lines of hints, so the results keep a few rows.
At 60x15 the hints had taken six of the thirteen rows between header and footer."""
HEADER_REFRESH = 30.0
"""Seconds between header updates, so a relative range ("last 1h") shows the moving clock."""

WELCOME_SQL = """-- F5 or Ctrl+J runs the statement under the cursor; F1 lists every key.
-- The example below is selected: type to replace it.
SELECT time, exe, level, msg
FROM log_entries
WHERE level <= 2
ORDER BY time DESC
LIMIT 500;
"""

_PRESET_BINDINGS = [
    Binding(
        str(number),
        f"preset({number - 1})",
        f"Range {preset}",
        show=False,
        id=f"app.preset_{number}",
        tooltip=(
            "Query all time, with no time range (outside the editor)"
            if preset == "all"
            else f"Set the time range to the last {preset} (outside the editor)"
        ),
    )
    for number, preset in enumerate(PRESETS, 1)
]


def screenshot_directory() -> Path:
    """Return the folder for screenshots: Downloads when it exists, else the working directory.

    Raises OSError when neither can be found (the working directory was deleted, say).
    """
    downloads = user_downloads_path()
    return downloads if downloads.is_dir() else Path.cwd()


class MmtuiApp(App[int]):
    """The Micromegas explorer."""

    CSS_PATH = "app.tcss"
    TITLE = "mmtui"
    # Not annotated: Textual 8 declares it `ClassVar[...] | None`, which mypy reads as an
    # instance variable that a ClassVar may not override.
    VERTICAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-short"),
        (SHORT_TERMINAL_ROWS, "-tall"),
    ]
    """Screen classes by terminal height: `app.tcss` shrinks the hints on a `-short` screen."""

    # The description is the footer's label. The tooltip describes in plain words what the key
    # does (footer hover and the help screen).
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not a priority binding: those run as soon as the app receives the key, while keys
        # that came just before in the same burst (pasted, or typed over SSH) may still wait
        # in the editor's queue. F5 would then run the text and cursor from before them.
        Binding(
            "f5,ctrl+j,ctrl+enter",
            "run_query",
            "Run",
            id="app.run_query",
            tooltip="Run the statement under the cursor, or the selected text",
        ),
        Binding(
            "escape",
            "cancel_query",
            "Cancel",
            id="app.cancel_query",
            tooltip="Cancel the running query and keep the rows received so far",
        ),
        # Priority bindings, so the app moves the focus before it forwards the next key of a
        # burst: "F4 End" moves the grid's cursor. Keys that came before still reach the
        # widget they were sent to. Under a dialog they choose the explorer's focus for when
        # the dialog closes, so "Esc F3" closes it and leaves the editor focused.
        Binding(
            "f2",
            "focus_schema",
            "Schema",
            priority=True,
            id="app.focus_schema",
            tooltip="Move focus to the schema browser",
        ),
        Binding(
            "f3",
            "focus_editor",
            "Editor",
            show=False,
            priority=True,
            id="app.focus_editor",
            tooltip="Move focus to the SQL editor",
        ),
        Binding(
            "f4,ctrl+r",
            "focus_results",
            "Results",
            priority=True,
            id="app.focus_results",
            tooltip="Move focus to the result grid",
        ),
        Binding(
            "ctrl+t",
            "edit_time_range",
            "Range",
            priority=True,
            id="app.time_range",
            tooltip="Type the time range of the queries",
        ),
        Binding(
            "t",
            "edit_time_range",
            "Time range",
            show=False,
            id="app.time_range_key",
            tooltip="Type the time range of the queries (outside the editor)",
        ),
        Binding(
            "z",
            "toggle_zone",
            "UTC/local",
            show=False,
            id="app.toggle_zone",
            tooltip="Show times in UTC or in local time (outside the editor)",
        ),
        *_PRESET_BINDINGS,
        Binding(
            "ctrl+g",
            "goto_error",
            "Go to error",
            show=False,
            id="app.goto_error",
            tooltip="Select the word at the server's error in the editor",
        ),
        Binding(
            "f8", "history", "History", id="app.history", tooltip="Pick a query from the history"
        ),
        Binding(
            "f9",
            "reconnect",
            "Reconnect",
            id="app.reconnect",
            tooltip="Connect again after the connection is lost, logging in first if needed",
        ),
        Binding(
            "f1,question_mark", "help", "Help", id="app.help", tooltip="List every key (this list)"
        ),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            priority=True,
            id="app.quit",
            tooltip="Quit mmtui, cancelling a running query",
        ),
    ]

    def __init__(
        self,
        client_factory: Callable[[], Any],
        settings: Any,
        app_settings: Any = None,
        demo: Any = None,
        *,
        token_provider: Any = None,
        paths: AppPaths | None = None,
        time_range: str | None = None,
        login_screen_factory: Callable[..., Screen[bool]] | None = None,
        startup_warnings: Iterable[str] = (),
    ) -> None:
        """Create the app.

        `client_factory` returns the FlightSQLClient to use. The connection worker calls it
        after mount, and again when F9 replaces a client that failed to connect.
        `demo` is the `DemoStartup` of `mmtui --demo`, whose server the worker waits for.
        `token_provider` is asked for a token at start-up to detect a needed login.
        `time_range` is the initial range text (else the settings' default, else 1h).
        `startup_warnings` are shown once the screen is up, with the app's own.
        """
        super().__init__()
        self.client_factory = client_factory
        self.settings = settings
        self.app_settings = app_settings
        self.demo = demo
        self.token_provider = token_provider
        self.paths = paths or AppPaths.default()
        self.login_screen_factory = login_screen_factory
        self.client: Any = None
        self.connected = False
        self.connecting = False
        """True while a connection worker waits for the demo server, a token or the table list."""
        self._connect_attempt = 0
        """The number of connection workers started, so that an older one can tell it is stale."""
        self.connection_lost = False
        """A query failed with UNAVAILABLE after the schema loaded (until F9 reconnects)."""
        self.local_time = False
        self.keymap_overrides: dict[str, str] = dict(getattr(app_settings, "keys", {}) or {})
        initial = time_range or getattr(app_settings, "default_time_range", None) or DEFAULT_RANGE
        # Notifications for problems found before the screen exists, shown on mount.
        self._startup_warnings: list[str] = list(startup_warnings)
        try:
            self.time_range: TimeRange = parse_time_range(initial)
        except TimeRangeError as error:
            logger.warning("ignored invalid initial time range %r: %s", initial, error)
            self._startup_warnings.append(
                f"Ignored the time range {initial!r}: {error}. Using {DEFAULT_RANGE}."
            )
            self.time_range = parse_time_range(DEFAULT_RANGE)
        self.history = QueryHistory(self.paths.history)
        self._hint_generation = 0
        self._hint_pending = False
        """True from `_schedule_hint` until its `_fire_hint` runs."""
        self._move_generation = 0
        self._escape_time: float | None = None
        self._hinted_statement_start: int | None = None
        self._running_statement: Statement | None = None
        """The statement F5 ran last, which the position of its query error refers to."""
        self._old_results_notice: Notification | None = None
        """The notice that the results are from the previous range, removed once a query runs
        because it is then false."""
        self._autosave_generation = 0
        self.autosave_slot: AutosaveSlot | None = None
        """The autosave file this instance owns, claimed at mount."""
        self._autosave_redirect: Path | None = None
        """The file the buffer is saved to instead, when the slot's file could not be read."""
        self._autosave_failure_shown = False
        self._autosave_off = False
        """Whether start-up found that no buffer can be saved and showed a notice about it."""
        self._quit_unsaved_text: str | None = None
        """The buffer that quit could not save and warned about: a second quit with the same
        buffer exits without saving it."""
        self._key_targets: weakref.WeakKeyDictionary[events.Key, tuple[Widget, int]] = (
            weakref.WeakKeyDictionary()
        )
        """The widget each key from the terminal was sent to (the screen itself when nothing
        had the focus), and how many screens were open then, while the key is handled."""
        self._key_from_other_widget = False
        """True while `_run_bindings_of` runs a binding of a widget that lost the focus."""
        self._login_open = False
        self._new_login_state: Literal["new", "rejected"] | None = None
        """"new" from a login until the server accepts a call, "rejected" once the server
        rejected that login's token (the app then shows why, and F9 logs in again)."""
        self._signal_handlers: list[int] = []
        self.crash_error: BaseException | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="app-header"):
            yield Static(id="header-server")
            yield Static(id="header-range")
        with Horizontal(id="main"):
            with Vertical(id="schema-pane"):
                yield Static(id="schema-message")
                yield SchemaBrowser(id="schema")
            with Vertical(id="right"):
                yield SqlEditor(id="editor")
                yield HintsPanel(id="hints")
                budget = getattr(self.app_settings, "memory_budget_mb", None)
                spill_limit = getattr(self.app_settings, "spill_limit_mb", None)
                yield ResultsPane(
                    id="results",
                    memory_budget_bytes=budget * 1024 * 1024 if budget else None,
                    spill_limit_bytes=None if spill_limit is None else spill_limit * 1024 * 1024,
                    estimate_count=getattr(self.app_settings, "count_estimate", True),
                )
        yield KeyFooter()

    def _main_widget(self, selector: str, expect_type: type[WidgetT]) -> WidgetT:
        """Find a widget of the explorer screen, even while a modal screen is on top."""
        return self.screen_stack[0].query_one(selector, expect_type)

    @property
    def editor(self) -> SqlEditor:
        return self._main_widget("#editor", SqlEditor)

    @property
    def schema_browser(self) -> SchemaBrowser:
        return self._main_widget("#schema", SchemaBrowser)

    @property
    def schema_message(self) -> str:
        """The message over the schema tree (connecting, unreachable, login), or ""."""
        message = self._main_widget("#schema-message", Static)
        return str(message.content) if message.display else ""

    def show_schema_message(self, message: str, style: str = "italic") -> None:
        """Show `message` (wrapped) in the schema pane in place of the tree; "" hides it."""
        widget = self._main_widget("#schema-message", Static)
        widget.update(Text(safe_lines(message), style=style))
        widget.display = bool(message)
        self.schema_browser.display = not message

    @property
    def hints(self) -> HintsPanel:
        return self._main_widget("#hints", HintsPanel)

    @property
    def results(self) -> ResultsPane:
        return self._main_widget("#results", ResultsPane)

    # ------------------------------------------------------------------ start-up

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Paste) and not event.is_forwarded:
            # Cleaned here for every widget, because Textual 8.2.8's Input (dialogs, the command
            # palette) inserts pasted text unchanged and writes C0 controls such as SO and SI
            # to the terminal when it renders them.
            event.text = clean_pasted_text(event.text)
        if isinstance(event, events.Key) and not event.is_forwarded:
            if event.key == "escape":
                self._escape_time = event.time
            # Textual sends the key to the widget focused now (or to the screen), and it may
            # bubble back later.
            self._key_targets[event] = (self.focused or self.screen, len(self.screen_stack))
        await super().on_event(event)

    def get_driver_class(self) -> type[Driver]:
        """Return Textual's driver for this platform, on Linux and macOS with the paste filter."""
        driver_class = super().get_driver_class()
        if sys.platform == "win32":
            return driver_class
        # Imported here because the Linux driver needs termios, which Windows lacks.
        from textual.drivers.linux_driver import LinuxDriver

        from mmtui.ui.terminal_input import PasteSafeLinuxDriver

        # A driver class set with the TEXTUAL_DRIVER environment variable is kept.
        if driver_class is LinuxDriver:
            return PasteSafeLinuxDriver
        return driver_class

    def _settings_warning(self, message: str) -> None:
        self.notify(message, title="Settings", severity="warning", markup=False)

    def _apply_keymap(self) -> None:
        """Bind the keys of `[keys]`, and warn of misspelt keys and unknown binding ids."""
        # Textual would bind misspelt keys anyway, and the command would lose its key.
        self._drop_overrides(
            invalid_keys(self.keymap_overrides),
            "invalid keys",
            "These commands keep their default keys. Keys are written like f5, ctrl+j or escape.",
        )
        self._drop_overrides(
            self._priority_text_keys(),
            "keys that type text",
            "These commands run before the SQL editor receives a key, so typing would trigger "
            "them. They keep their default keys. Use a key with ctrl or alt, or a function key.",
        )
        if not self.keymap_overrides:
            return

        self.set_keymap(self.keymap_overrides)
        known = {row[2] for _title, rows in self.help_sections() for row in rows}
        # The export dialog binds Escape twice (close, or cancel a running export), and the
        # help lists only the second, so the ids come from the dialogs' own lists too.
        known |= {
            binding.id
            for _title, dialog in self._dialogs()
            for binding in dialog.BINDINGS
            if isinstance(binding, Binding) and binding.id
        }
        unknown = sorted(set(self.keymap_overrides) - known)
        if unknown:
            listed = safe_text(", ".join(unknown))
            logger.warning("unknown binding ids in [keys]: %s", listed)
            self._settings_warning(f"Unknown binding ids in [keys]: {listed}. F1 lists the ids.")
        self._warn_key_conflicts()

    def _drop_overrides(self, dropped: dict[str, str], problem: str, advice: str) -> None:
        """Remove `dropped` from the `[keys]` overrides, log them and warn on screen."""
        if not dropped:
            return
        for binding in dropped:
            del self.keymap_overrides[binding]
        entries = safe_text(", ".join(f"{binding} = {keys!r}" for binding, keys in dropped.items()))
        logger.warning("%s in [keys], defaults kept: %s", problem, entries)
        self._settings_warning(f"{problem.capitalize()} in [keys]: {entries}. {advice}")

    def _priority_text_keys(self) -> dict[str, str]:
        """Return the entries of `[keys]` that give a text key to a priority binding.

        Priority bindings of the app (quit, focus keys, the time range prompt) run before the
        focused widget receives the key, so a letter bound to one is taken from the editor.
        """
        _title, app_bindings = self._binding_scopes()[0]
        priority_ids = {binding.id for binding in app_bindings if binding.priority and binding.id}
        return {
            binding: keys
            for binding, keys in self.keymap_overrides.items()
            if binding in priority_ids and any(is_text_key(key) for key in keys.split(","))
        }

    def _warn_key_conflicts(self) -> None:
        """Warn when `[keys]` gives a key to a command while another command of the same pane
        (or of the whole app) still has it."""
        scopes = self._binding_scopes()
        _title, app_bindings = scopes[0]
        # The app's priority bindings (focus keys, Ctrl+T, quit) run before the focused pane
        # receives the key, so a pane's command on one of their keys never runs.
        priority_bindings = [binding for binding in app_bindings if binding.priority]
        dialog_titles = {title for title, _dialog in self._dialogs()}
        pane_bindings = dict(scopes)
        reported: set[tuple[str, tuple[str, ...]]] = set()
        for index, (title, bindings) in enumerate(scopes):
            if title == "Result grid":
                # The grid sits in the results pane, and a key pressed in the grid runs the
                # grid's binding of that key, not the pane's.
                bindings = [*pane_bindings["Results"], *bindings]
            if index > 0 and title not in dialog_titles:
                bindings = [*priority_bindings, *bindings]
            pairs = [(binding.id, binding.key) for binding in bindings if binding.id]
            for key, ids in key_conflicts(pairs, self.keymap_overrides):
                if (key, tuple(ids)) in reported:
                    continue
                reported.add((key, tuple(ids)))
                owners = safe_text(" and ".join(ids))
                shown_key = safe_text(key)
                logger.warning("key %s of [keys] belongs to %s", shown_key, owners)
                self._settings_warning(
                    f"With [keys], {shown_key} is the key of {owners}, and only one of them "
                    "runs. Give one of them another key."
                )

    def on_mount(self) -> None:
        self._install_exit_handling()
        theme = getattr(self.app_settings, "theme", None)
        if theme and theme in self.available_themes:
            self.theme = theme
        elif theme:
            logger.warning("unknown theme %r in the settings file", theme)
            self._settings_warning(
                f"Unknown theme {theme!r} in the settings file. Ctrl+P, then 'theme', lists "
                "the available themes."
            )
        self._apply_keymap()
        self._main_widget("#schema-pane", Vertical).border_title = "Schema"
        self.editor.border_title = "SQL"
        self.autosave_slot = claim_slot(self.paths.autosave)
        self._restore_buffer()
        self._mention_unclaimed_buffers()

        # Keys typed during start-up wait in the app's queue, which Textual 8 reads only after
        # on_mount. Auto-focus has given the focus to the schema tree, and `Widget.focus` would
        # move it only later (`call_later`, behind those keys). Focusing here, after the buffer
        # is restored, sends every key to the editor at the restored cursor.
        self.screen.set_focus(self.editor)

        for warning in self._startup_warnings:
            # Warnings quote settings and environment values, which may hold control characters.
            text = safe_text(warning)
            self.notify(text, title="Start-up", severity="warning", markup=False, timeout=15)
        self._remove_stale_spill_dirs()
        self._update_header()
        self.set_interval(HEADER_REFRESH, self._update_header)
        self._start_connecting()

    def _install_exit_handling(self) -> None:
        """Make Ctrl+Q, SIGTERM and SIGHUP end the process at once, even with workers blocked.

        Thread workers run on the loop's default executor, which `asyncio.run` waits for at
        exit; the daemon-thread executor does not wait. SIGTERM and SIGHUP exit through
        `App.exit`, so the normal shutdown (autosave, spill file deletion at interpreter exit)
        runs instead of the default handler killing the process.
        """
        loop = asyncio.get_running_loop()
        loop.set_default_executor(DaemonThreadExecutor("mmtui-worker"))
        for signal_number in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(signal_number, self._exit_on_signal, signal_number)
            except (NotImplementedError, RuntimeError, ValueError) as error:
                # Windows loops have no add_signal_handler; a loop off the main thread cannot
                # install one (as in tests that run the app in a thread).
                logger.debug("no handler for signal %d: %s", signal_number, error)
            else:
                self._signal_handlers.append(signal_number)

    def on_unmount(self) -> None:
        self.history.close()
        if self.autosave_slot is not None:
            self.autosave_slot.release()
        # The loop can outlive the app (Pilot tests), so the signal handlers go with the app.
        loop = asyncio.get_running_loop()
        for signal_number in self._signal_handlers:
            loop.remove_signal_handler(signal_number)
        self._signal_handlers.clear()

    def _exit_on_signal(self, signal_number: int) -> None:
        logger.info("received %s: exiting", signal.Signals(signal_number).name)
        if self._main_screen_ready():
            if self.results.is_running:
                self.results.cancel()
            self._write_autosave()
        self.exit(128 + signal_number)

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save an SVG of the screen, then notify where it went or why it failed.

        Textual saves to the Downloads folder, which a server reached over SSH often lacks,
        and its failure notice gives no reason. Without `path`, this saves to Downloads when
        it exists, else to the working directory. Returns None: nothing is sent to a browser.
        """
        try:
            directory = Path(path).expanduser() if path else screenshot_directory()
        except OSError as error:
            logger.warning("no folder for a screenshot: %s", error)
            reason = error.strerror or str(error)
            self.notify(
                f"Could not save the screenshot: the working directory is gone ({reason}).",
                title="Screenshot",
                severity="error",
                markup=False,
            )
            return None
        name = filename or generate_datetime_filename(self.title, ".svg", time_format)
        self._save_screenshot(directory / name, self.export_screenshot())
        return None

    @work(thread=True, group="screenshot", exit_on_error=False)
    def _save_screenshot(self, target: Path, svg: str) -> None:
        """Write a screenshot (worker thread: a network home directory may be slow)."""
        target_text = safe_text(str(target))
        try:
            target.write_text(svg, encoding="utf-8")
        except OSError as error:
            logger.warning("saving a screenshot to %s failed: %s", target, error)
            reason = error.strerror or str(error)
            notice = partial(self.notify, title="Screenshot", severity="error", markup=False)
            call_later_from_thread(
                self, notice, f"Could not save the screenshot to {target_text}: {reason}."
            )
            return
        logger.info("saved a screenshot to %s", target)
        notice = partial(self.notify, title="Screenshot", markup=False)
        call_later_from_thread(self, notice, f"Saved the screenshot to {target_text}")

    @work(thread=True, group="housekeeping", exit_on_error=False)
    def _remove_stale_spill_dirs(self) -> None:
        """Delete spill directories of dead processes (worker thread: it scans /proc and may
        delete hundreds of MiB, which must not delay the first paint)."""
        removed = remove_stale_spill_dirs()
        if removed:
            logger.info("deleted %d stale spill directories", len(removed))

    def _restore_buffer(self) -> None:
        saved = self._read_autosave()
        # The welcome text, saved unchanged at the last exit, is restored like a first start,
        # with its example selected as its second comment line states.
        if saved.strip() and saved != WELCOME_SQL:
            self.editor.load_text(saved)
            self.editor.move_cursor(self.editor.document.end)
            # Moved before the first layout, the cursor left the view scrolled right (by 4 to
            # 17 columns in a trial) although it sat near the left. So once laid out, scroll
            # from the left, then as far as the cursor needs.
            self.editor.call_after_refresh(self._scroll_editor_from_left)
        else:
            self.editor.load_text(WELCOME_SQL)
            # The example stays selected so that typing replaces it, and F5 runs it.
            self.editor.select_example((2, 0))
            # The TextArea scrolls to the cursor (the selection's end) when it next refreshes,
            # so the scroll to the top waits until after that.
            self.editor.call_after_refresh(self.editor.scroll_home, animate=False)

    @property
    def autosave_path(self) -> Path:
        """The file of this instance's autosave slot (`autosave.sql` before mount)."""
        return self.autosave_slot.path if self.autosave_slot is not None else self.paths.autosave

    @property
    def autosave_target(self) -> Path:
        """The file the buffer is written to: the slot's file, unless it could not be read."""
        return self._autosave_redirect or self.autosave_path

    def _mention_unclaimed_buffers(self) -> None:
        """Notify the user of autosave files that other instances left and no instance owns now."""
        assert self.autosave_slot is not None
        others = [
            path
            for path in unclaimed_buffers(self.paths.autosave, self.autosave_slot)
            if _read_text_or_empty(path) != WELCOME_SQL
        ]
        if not others:
            return
        listed = ", ".join(str(path) for path in others)
        logger.info("unclaimed autosaved buffers: %s", listed)
        self.notify(
            f"An editor buffer from another mmtui instance is in {listed}. This instance "
            "shows its own buffer and leaves that file unchanged.",
            title="Autosave",
            markup=False,
            timeout=15,
        )

    def _scroll_editor_from_left(self) -> None:
        self.editor.scroll_to(x=0, animate=False, immediate=True)
        self.editor.scroll_cursor_visible(animate=False)

    def _read_autosave(self) -> str:
        """Return the autosaved buffer; "" when it is missing or unreadable.

        A file that is not valid UTF-8 is decoded with U+FFFD for the bad bytes, and its
        original bytes are copied to `autosave.sql.invalid-<UTC time>` first.
        """
        path = self.autosave_path
        try:
            data = read_regular_file(path)
        except FileNotFoundError:
            return ""
        except OSError as error:
            # The file may still contain work (a permission problem, say), so this session
            # saves the buffer beside it instead of replacing it.
            self._autosave_redirect = path.with_name(f"{path.name}.new")
            if not _is_writable_dir(path.parent):
                # For example a regular file in place of the state folder: nothing can be saved.
                self._autosave_failure_shown = True
                self._autosave_off = True
                logger.warning("cannot read autosave file %s: %s, and autosave is off", path, error)
                self.notify(
                    f"Cannot read the autosaved buffer {path}: {error}. Its folder cannot "
                    "take a new file either, so this session cannot save the editor buffer. "
                    "Copy any text you need before quitting.",
                    title="Autosave",
                    severity="error",
                    markup=False,
                    timeout=30,
                )
                return ""
            logger.warning(
                "cannot read autosave file %s: %s; saving to %s",
                path,
                error,
                self._autosave_redirect,
            )
            self.notify(
                f"Cannot read the autosaved buffer {path}: {error}. The file stays as it is, "
                f"and this session saves the buffer to {self._autosave_redirect}.",
                title="Autosave",
                severity="warning",
                markup=False,
                timeout=15,
            )
            # An earlier session that met the same file left its buffer there: continue it,
            # so that this session's saves do not replace it unseen.
            return _read_text_or_empty(self._autosave_redirect)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            copy = path.with_name(f"{path.name}.invalid-{stamp}")
            try:
                _write_private_file(copy, data)
                copy_note = f"The original bytes are in {copy}."
            except OSError as copy_error:
                logger.warning("cannot copy autosave file to %s: %s", copy, copy_error)
                copy_note = "The original bytes could not be copied aside."
            logger.warning("autosave file %s is not valid UTF-8 (%s). %s", path, error, copy_note)
            self.notify(
                "The autosaved buffer is not valid UTF-8: invalid bytes show as U+FFFD. "
                + copy_note,
                title="Autosave",
                severity="warning",
                markup=False,
                timeout=15,
            )
            return data.decode("utf-8", errors="replace")

    def _start_connecting(self) -> None:
        """Show that a connection starts, and start the worker that makes it."""
        self._connect_attempt += 1
        self.connecting = True
        if self.demo is not None and not self.demo.done:
            self.show_schema_message("Starting the demo server…")
        else:
            self.show_schema_message(
                f"Connecting to {getattr(self.settings, 'uri', 'the server')}…"
            )
        self._update_header()
        self._connect(self._connect_attempt)

    def _demo_started(self, handle: Any) -> None:
        self.settings = dataclasses.replace(self.settings, uri=handle.uri)
        if self.connecting:
            self.show_schema_message(f"Connecting to {handle.uri}…")
        self._update_header()

    @work(thread=True, group="connect", exclusive=True, exit_on_error=False)
    def _connect(self, attempt: int) -> None:
        """Make the client, get a token when the server needs one, then list the tables.

        Runs on a worker thread, because the demo server may still be starting. `attempt`
        is the `_connect_attempt` that started it.
        """
        if self.client is None:
            if self.demo is not None:
                try:
                    handle = self.demo.result()
                except Exception as error:
                    # `DemoStartup` logged the traceback.
                    logger.warning("the demo server did not start: %s", error)
                    call_later_from_thread(self, self._demo_failed, error)
                    return
                call_later_from_thread(self, self._demo_started, handle)
            try:
                client = self.client_factory()
            except Exception as error:
                logger.exception("creating the client failed")
                call_later_from_thread(self, self._connection_failed, error)
                return
            # F9 may have started a newer attempt while this one waited. Only the newest
            # keeps its client, so no channel is left open and unused.
            if attempt != self._connect_attempt:
                client.close()
                return
            self.client = client
        if self.token_provider is not None:
            try:
                self.token_provider.get_token()
            except TokenCacheRejected as error:
                logger.warning("%s", error)
                call_later_from_thread(self, self._token_cache_rejected, error)
                return
            except LoginRequired as error:
                call_later_from_thread(self, self.request_login, error)
                return
            except Exception as error:
                logger.warning("getting a token failed: %s", error)
                call_later_from_thread(self, self._token_failed, error)
                return
        try:
            tables = self.client.list_tables()
        except LoginRequired as error:
            call_later_from_thread(self, self.request_login, error)
            return
        except Exception as error:
            if getattr(error, "code", None) == "UNAUTHENTICATED":
                call_later_from_thread(self, self.request_login, error)
                return
            if not self.is_running:
                # The app quit while the listing waited, and the demo server it used is gone.
                logger.debug("listing tables ended after exit: %s", error)
                return
            logger.warning("listing tables failed: %s", error)
            if isinstance(error, QueryError) and not isinstance(
                error, ConnectionFailed | DeadlineExceeded
            ):
                # The server returned an error or an unusable listing, so it is reachable
                # and queries may still work: the app counts as connected.
                call_later_from_thread(self, self._listing_failed, error)
            else:
                call_later_from_thread(self, self._connection_failed, error)
            return
        call_later_from_thread(self, self._schema_loaded, tables)

    def _schema_loaded(self, tables: list[Any]) -> None:
        self._new_login_state = None
        self.connected = True
        self.connecting = False
        self.connection_lost = False
        self.show_schema_message("")
        browser = self.schema_browser
        browser.show_tables(tables)
        self.editor.set_vocabulary(browser.table_names, browser.column_names)
        self._update_header()
        logger.info("schema loaded: %d views", len(tables))
        self._schedule_hint()

    def _reconnect_key(self) -> str:
        """Return the key that reconnects (F9 unless `[keys]` remaps it), for messages."""
        return key_name(self, "app.reconnect")

    def _connection_failed(self, error: BaseException) -> None:
        uri = getattr(self.settings, "uri", "the server")
        retry = self._reconnect_key()
        if isinstance(error, DeadlineExceeded):
            # A server that is slow to list its tables may still run queries, so the message
            # states what happened, not that the server is unreachable.
            self._show_not_connected(
                f"No table list from {uri} in time:\n{_first_line(error)}\n\n{retry} retries. "
                "The editor still works, and queries may still run.",
                f"No table list from {uri} in time. {retry} retries.",
            )
            return
        self._show_not_connected(
            f"Cannot reach {uri}:\n{_first_line(error)}\n\n{retry} retries. The editor still "
            "works.",
            f"Cannot reach {uri}. {retry} retries.",
        )

    def _listing_failed(self, error: BaseException) -> None:
        uri = getattr(self.settings, "uri", "the server")
        self.connected = True
        self.connecting = False
        self.connection_lost = False
        retry = self._reconnect_key()
        self.show_schema_message(
            f"{uri} is reachable, but listing its tables failed:\n{_first_line(error)}\n\n"
            f"{retry} retries. Queries still run.",
            style="red",
        )
        self._update_header()
        self.notify(
            safe_text(f"Listing the tables of {uri} failed. {retry} retries."),
            title="Schema",
            severity="error",
            markup=False,
        )
        self._schedule_hint()

    def _token_failed(self, error: BaseException) -> None:
        # The identity provider failed, not the server, so the message names the issuer.
        issuer = getattr(self.settings, "issuer", None) or "the identity provider"
        retry = self._reconnect_key()
        self._show_not_connected(
            f"Cannot get a token from {issuer}:\n{_first_line(error)}\n\n{retry} retries. The "
            "editor still works.",
            f"Cannot get a token from {issuer}. {retry} retries.",
        )

    def _token_cache_rejected(self, error: TokenCacheRejected) -> None:
        self.notify(safe_text(str(error)), title="Login", severity="warning", markup=False)
        self.request_login()

    def _demo_failed(self, error: BaseException) -> None:
        # A retry would raise the same error, so the message offers the log instead of F9.
        first = _first_line(error)
        self._show_not_connected(
            f"The demo server did not start:\n{first}\n\nThe log file {log_file()} has the "
            "details.",
            f"The demo server did not start: {first}",
        )

    def _show_not_connected(self, schema_message: str, notice: str) -> None:
        """Show why the app is not connected, in the schema pane and in a notification."""
        self.connected = False
        self.connecting = False
        self.show_schema_message(schema_message, style="red")
        self._update_header()
        self.notify(safe_text(notice), title="Not connected", severity="error", markup=False)

    def action_reconnect(self) -> None:
        """Retry the token and the table listing (after an outage or a login)."""
        if self._new_login_state == "rejected":
            # The server rejected the token of the last login: a rejection now opens the
            # login dialog again.
            self._new_login_state = None
        # A client credentials token that the server rejected is fetched anew here, on F9, not
        # on each rejected validation hint, which would ask the IdP on every key typed.
        self._forget_token()
        if not self.connected and self.client is not None:
            # A gRPC channel that failed to connect waits out a growing back-off before it
            # tries again; a new client, made by the worker, retries at once.
            self.client.close()
            self.client = None
        self._start_connecting()

    # ------------------------------------------------------------------ login

    def request_login(self, error: BaseException | None = None) -> None:
        """Open the login screen on top of the explorer (once), and reconnect when it succeeds.

        Only an OIDC user login can get a new token. In the other auth modes, the server
        rejected the credentials or requires some, so the app shows that message instead.
        `error` is the server's rejection, or `LoginRequired` (or None) when there is no usable
        token. The dialog shows which. When the server rejects the token of the login that just
        completed, another login would get the same rejection, so the app shows the server's
        reason and waits for F9.
        """
        reason = _login_reason(error)
        if isinstance(error, LoginRequired):
            error = None
        self.connecting = False
        self._update_header()
        if getattr(self.settings, "auth_mode", "none") != "oidc":
            self._authentication_rejected(error)
            return
        # The server rejected the ID token, or there is none: the next call must not reuse the
        # provider's copy in memory, but read the cache again.
        self._forget_token()
        if self._login_open:
            return
        if error is not None and self._new_login_state is not None:
            self._new_login_state = "rejected"
            self._new_login_rejected(error)
            return
        factory = self.login_screen_factory
        if factory is None:
            from mmtui.ui.login_screen import LoginScreen

            factory = LoginScreen
        self._login_open = True
        logger.info("login requested: %s", reason)
        self.push_screen(factory(self.settings, reason=reason), callback=self._login_done)

    def _authentication_rejected(self, error: BaseException | None = None) -> None:
        uri = getattr(self.settings, "uri", "the server")
        mode = getattr(self.settings, "auth_mode", "none")
        sources = getattr(self.settings, "sources", {})
        if mode == "api-key":
            reason = f"it rejected the API key (from {sources.get('api_key', 'the settings')})"
        elif mode == "client-credentials":
            reason = "it rejected the client credentials token"
        else:
            reason = (
                f"it requires authentication: set {ENV_API_KEY}, or {ENV_ISSUER} and "
                f"{ENV_CLIENT_ID} for an OIDC login, or choose a --profile that has them"
            )
        server_reason = "" if error is None else f"\n{_rejection_reason(error)}"
        schema_message = (
            f"Not authenticated on {uri}:\n{reason}.{server_reason}\n\n"
            f"{self._reconnect_key()} retries."
        )
        if self.schema_message == safe_lines(schema_message):
            # The listing and the validation of the same start were both rejected.
            return
        logger.warning("not authenticated on %s (auth mode %s): %s", uri, mode, error)
        self._show_not_connected(schema_message, f"Not authenticated on {uri}: {reason}.")

    def _new_login_rejected(self, error: BaseException) -> None:
        """Show that the server rejected the token of the login that just completed."""
        uri = getattr(self.settings, "uri", "the server")
        issuer = getattr(self.settings, "issuer", None)
        client_id = getattr(self.settings, "client_id", None)
        audience = getattr(self.settings, "audience", None)
        expected = f"tokens of {issuer} for client {client_id}"
        if audience:
            expected += f" with audience {audience}"
        schema_message = (
            f"Not authenticated on {uri}:\nit rejected the token of the new login: "
            f"{_rejection_reason(error)}\n\nCheck that the server accepts {expected}. "
            f"{self._reconnect_key()} logs in again."
        )
        if self.schema_message == safe_lines(schema_message):
            # The listing and the validation of the same start were both rejected.
            return
        logger.warning("%s rejected the token of the new login: %s", uri, error)
        self._show_not_connected(
            schema_message, f"Not authenticated on {uri}: it rejected the token of the new login."
        )

    def _forget_token(self) -> None:
        """Make the token provider drop its token in memory, so the next call gets another."""
        invalidate = getattr(self.token_provider, "invalidate", None)
        if invalidate is not None:
            invalidate()

    def _login_done(self, logged_in: bool | None) -> None:
        self._login_open = False
        if logged_in:
            # A worker may have read the old token back from the cache while the dialog was
            # open, so it is dropped again now that the login has stored the new one.
            self._forget_token()
            self._new_login_state = "new"
            self.notify("Logged in.")
            self.action_reconnect()
        else:
            # A login that follows a rejection mid-session leaves no usable token either, and
            # F9 (offered only while not connected) must open the dialog again.
            self.connected = False
            self.show_schema_message(
                f"Not logged in.\n{self._reconnect_key()} logs in again.", style="yellow"
            )
            self._update_header()

    # ------------------------------------------------------------------ header

    def _main_screen_ready(self) -> bool:
        """Tell whether the explorer's widgets exist (timers can fire during shutdown)."""
        return bool(self.screen_stack) and bool(self.screen_stack[0].query("#editor"))

    def _update_header(self) -> None:
        if not self._main_screen_ready():
            return
        # The connection state decides whether the footer offers F9.
        self.refresh_bindings()
        # One line, cut with an ellipsis: wrapping would push the rest out of the 1-line header.
        server = Text(no_wrap=True, overflow="ellipsis")
        server.append("mmtui ", style="bold")
        # The state comes before the URI so that a narrow terminal cuts the URI, not the state.
        # A green dot alone means "connected", which leaves room for the URI at 80 columns.
        if self.connected:
            server.append("● ", style="green")
        elif self.connecting:
            server.append("◌ connecting  ", style="yellow")
        elif self.connection_lost:
            server.append(f"○ connection lost · {self._reconnect_key()}  ", style="red")
        else:
            server.append("○ not connected  ", style="red")
        uri = getattr(self.settings, "uri", "") or ""
        profile = getattr(self.settings, "profile", None)
        server.append(safe_text(str(uri)))
        if self.demo is not None:
            server.append(" (demo)", style="italic")
        elif profile:
            server.append(safe_text(f" [{profile}]"))
        _update_if_changed(self._main_widget("#header-server", Static), server)
        try:
            label = self.time_range.label(local=self.local_time)
        except TimeRangeError as error:
            # Only the local-time label can fail here: parsing checked the UTC instants.
            logger.warning("cannot show the time range in local time: %s", error)
            self.local_time = False
            self.notify(
                f"Cannot show local time: {error}. The header shows UTC.",
                title="Time range",
                severity="warning",
                markup=False,
            )
            label = self.time_range.label()
        _update_if_changed(self._main_widget("#header-range", Static), Text(label, style="bold"))

    @property
    def header_text(self) -> str:
        """The header as plain text (server, state and time range)."""
        server = self._main_widget("#header-server", Static).content
        range_text = self._main_widget("#header-range", Static).content
        return f"{server} {range_text}"

    # ------------------------------------------------------------------ time range

    def set_time_range(self, time_range: TimeRange) -> None:
        self.time_range = time_range
        logger.info("time range set to %s", time_range.text)
        self._update_header()
        self._schedule_hint()
        if self.results.has_results and not self.results.is_running:
            run_key = key_name(self, "app.run_query")
            self._show_old_results_notice(
                f"The results are from the previous range: {run_key} runs the query again."
            )

    def _show_old_results_notice(self, message: str) -> None:
        """Show `message` in place of an earlier notice about the previous range."""
        self._remove_old_results_notice()
        # `notify` returns nothing, so the notice is built here to keep a handle for removal.
        notice = Notification(message, timeout=self.NOTIFICATION_TIMEOUT, markup=False)
        self._old_results_notice = notice
        self.post_message(Notify(notice))

    def _remove_old_results_notice(self) -> None:
        notice = self._old_results_notice
        if notice is None:
            return
        self._old_results_notice = None
        # A notice whose Notify message still waits in the queue expires as it arrives.
        notice.timeout = 0
        # NOTE: `_notifications` and `_unnotify` are Textual internals (8.x): `notify` has no
        # public handle for removing one toast. Without them, the notice stays until its
        # timeout ends instead of failing the query that is starting.
        try:
            if notice in self._notifications:
                self._unnotify(notice)
        except (AttributeError, KeyError, TypeError) as error:
            logger.warning("could not remove the previous-range notice: %r", error)

    def action_preset(self, index: int) -> None:
        self.set_time_range(parse_time_range(PRESETS[index]))

    def action_edit_time_range(self) -> None:
        def apply(time_range: TimeRange | None) -> None:
            if time_range is not None:
                self.set_time_range(time_range)

        self.push_screen(
            TimeRangeScreen(self.time_range.text, local=self.local_time), callback=apply
        )

    def action_toggle_zone(self) -> None:
        self.local_time = not self.local_time
        self._update_header()
        # The header falls back to UTC when the range has no local-time label.
        display_tz = LOCAL_TZ if self.local_time else None
        self.results.display_tz = display_tz
        for screen in self.screen_stack:
            if isinstance(screen, DetailScreen):
                screen.display_tz = display_tz
        # Notified too, because no time column may be on screen to show the change.
        if self.local_time:
            message = f"Times show in local time ({local_zone_label()})"
        else:
            message = "Times show in UTC (columns with a time zone of their own keep it)"
        self.notify(message, title="Time zone", markup=False)

    @property
    def escape_to_minimize(self) -> bool:
        """Tell whether Esc restores a maximized pane. While a query runs, Esc cancels it first,
        as the footer shows, and the next Esc restores the pane."""
        on_explorer = self._main_screen_ready() and self.screen is self.screen_stack[0]
        if on_explorer and self.results.is_running:
            return False
        return super().escape_to_minimize

    async def _on_key(self, event: events.Key) -> None:
        """Send a key typed ahead of a dialog to that dialog, and run the bindings of the widget
        that a bubbled key was sent to, when the editor has taken the focus since.

        Textual looks a bubbled key up in the bindings of the widget focused when the key comes
        back, without the keys that widget takes as text. In the burst "F2 3 F3", F3 (a
        priority key) focuses the editor before the schema tree passes the 3 up, so the app's
        range key 3 was hidden and the key did nothing.
        """
        sent = self._key_targets.pop(event, None)
        if sent is None:
            return
        target, screens_then = sent
        if self._typed_ahead_of_dialog(target, screens_then):
            event.prevent_default()
            # Route it again now, to the dialog's focused field this time. Posting it would queue
            # it behind keys that arrived later, and mix up the order of a typed path.
            await self.on_event(events.Key(event.key, event.character))
            return
        if (
            target is not self.focused
            and not isinstance(target, Screen)
            and isinstance(self.focused, TextArea)
            and event.is_printable
            and not isinstance(target, TextArea)
            and target.is_attached
            and target.screen is self.screen
            and await self._run_bindings_of(target, event.key)
        ):
            # Textual calls `App._on_key` after this handler unless the default is prevented.
            event.prevent_default()

    def _typed_ahead_of_dialog(self, target: Widget, screens_then: int) -> bool:
        """Tell whether a key that bubbled back unused was typed for the dialog now open.

        A key typed right after the one that opens a dialog (`e`, Ctrl+T) reaches Textual before
        the dialog has focused its field. It goes to the widget below, or to the dialog screen
        itself, and was lost: a trial lost the first characters of an export path this way
        while a query streamed.
        """
        focused = self.screen.focused
        if focused is None or self.screen is self.screen_stack[0]:
            return False
        if len(self.screen_stack) > screens_then:
            # The dialog opened after the key was sent to a widget below it.
            return True
        # The key reached the dialog before any of its widgets had the focus.
        return target is self.screen

    async def _run_bindings_of(self, target: Widget, key: str) -> bool:
        """Run the first non-priority binding of `key` from `target` up to the app."""
        for node in target.ancestors_with_self:
            # NOTE: `_bindings` and `_keymap` are Textual internals (8.x), which
            # `Screen._binding_chain` also reads.
            bindings = node._bindings.copy()
            if self._keymap:
                bindings.apply_keymap(self._keymap)
            for binding in bindings.key_to_bindings.get(key, ()):
                if binding.priority:
                    continue
                self._key_from_other_widget = True
                try:
                    if await self.run_action(binding.action, node):
                        return True
                finally:
                    self._key_from_other_widget = False
        return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Plain letter and digit keys are text while the editor has focus. The TextArea
        # consumes them first, so this only keeps them out of the footer there.
        if action in ("run_query", "edit_time_range", "history", "help"):
            # Priority keys reach the app under dialogs too; they act on the explorer only.
            return self.screen is self.screen_stack[0]
        if action == "cancel_query":
            # Shown in the footer only when Esc has something to cancel.
            return self.results.is_running or bool(self.editor.suggestion)
        if action == "reconnect":
            return not self.connected
        # The editor's own keys never get here: it takes them as text. A key sent to another
        # widget before the editor took the focus does (`_run_bindings_of`).
        in_editor = isinstance(self.focused, TextArea) and not self._key_from_other_widget
        return not (in_editor and action in ("preset", "toggle_zone"))

    # ------------------------------------------------------------------ queries

    def action_run_query(self) -> None:
        statement = self.editor.statement_under_cursor()
        if statement is None:
            self.notify("Nothing to run: type a statement first.", severity="warning")
            return
        if self.client is None:
            if self.connecting:
                self.notify("Still connecting: run the query once the header shows ●.")
            else:
                self.notify(f"Not connected: {self._reconnect_key()} retries.", severity="error")
            return
        range_bounds = self._resolve_range()
        if range_bounds is None:
            return
        begin, end = range_bounds
        history_problem = self.history.add(statement.text, self.time_range.text)
        if history_problem is not None:
            self.notify(
                safe_text(history_problem), title="Query history", severity="warning", markup=False
            )
        logger.info(
            "running query (%d chars) with range %s", len(statement.text), self.time_range.text
        )
        self.results.run_query(self.client, statement.text, begin, end)
        self._remove_old_results_notice()
        # A failure's position is relative to this statement. The previous run's mark is outdated.
        self._running_statement = statement
        self.editor.clear_error(from_query=True)
        self.refresh_bindings()

    def _resolve_range(self) -> tuple[Any, Any] | None:
        """Return the range's (begin, end) now, or None after telling the user it overflows."""
        try:
            return self.time_range.resolve()
        except TimeRangeError as error:
            logger.warning("cannot resolve time range %r: %s", self.time_range.text, error)
            self.notify(
                f"{error}. {key_name(self, 'app.time_range')} changes the range.",
                title="Time range",
                severity="error",
                markup=False,
            )
            return None

    def action_cancel_query(self) -> None:
        if not self.results.cancel(self.take_escape_time()):
            self.editor.suggestion = ""

    def take_escape_time(self) -> float | None:
        """Return when the Esc being handled was read from the terminal, and forget it.

        Esc goes through the focused widget's queue, while F5 (an app binding) runs at once.
        So an Esc pressed just before F5 can be handled after F5 started a new query, and the
        pane uses this time to leave that query alone. None when no Esc was read recently (a
        palette command, for instance).
        """
        pressed_at, self._escape_time = self._escape_time, None
        if pressed_at is None or time.monotonic() - pressed_at > ESCAPE_TIME_LIMIT:
            return None
        return pressed_at

    def on_results_pane_query_cancelled(self, _message: ResultsPane.QueryCancelled) -> None:
        self.refresh_bindings()

    def on_results_pane_query_failed(self, message: ResultsPane.QueryFailed) -> None:
        self.refresh_bindings()
        error = message.error
        position = None
        if self._running_statement is not None:
            position = error_position(error, self._running_statement)
        if position is not None:
            self.editor.mark_error(position, from_query=True)
        if isinstance(error, LoginRequired) or getattr(error, "code", None) == "UNAUTHENTICATED":
            self.request_login(error)
        elif isinstance(error, ConnectionFailed) or getattr(error, "code", None) == "UNAVAILABLE":
            self._connection_lost(error)

    def on_results_pane_query_finished(self, _message: ResultsPane.QueryFinished) -> None:
        self.refresh_bindings()
        self._new_login_state = None
        if self.connection_lost:
            # The server is back: the channel reconnected by itself.
            self.connection_lost = False
            self.connected = True
            self._update_header()

    def _connection_lost(self, error: BaseException) -> None:
        """Show that the server went away: header state, and no stale validation result."""
        logger.warning("connection lost: %s", error)
        if self.connected:
            self.connected = False
            self.connection_lost = True
        self._update_header()
        self.hints.clear(f"Connection lost: no validation. {self._reconnect_key()} reconnects.")

    async def action_quit(self) -> None:
        """Cancel a running query, save the buffer and exit.

        When the buffer cannot be saved, the first quit shows an error and the app stays open,
        so the text can be copied. A second quit with the same buffer exits without saving.
        """
        if self.results.is_running:
            self.results.cancel()
        error = self._write_autosave(report=False)
        text = self.editor.text if self._main_screen_ready() else ""
        unsaved_work = bool(text.strip()) and text != WELCOME_SQL
        # Start-up shows a notice when this session can save nothing, so quit shows none.
        warned = self._autosave_off or text == self._quit_unsaved_text
        if error is not None and unsaved_work and not warned:
            self._quit_unsaved_text = text
            self.notify(
                f"Cannot save the editor buffer to {self.autosave_target}: {error}. Copy any "
                "text you need, then quit again to exit without saving it.",
                title="Autosave",
                severity="error",
                markup=False,
                timeout=30,
            )
            return
        self.exit(0)

    # ------------------------------------------------------------------ focus

    def _focus_now(self, widget: Widget) -> None:
        """Give `widget` the focus before the next key is handled.

        `Widget.focus` moves the focus later (`call_later`, behind the keys already queued),
        so the keys after F4 in one burst, say, went to the pane that had the focus before.
        """
        screen = widget.screen
        maximized = screen.maximized
        if maximized is not None and widget is not maximized and maximized not in widget.ancestors:
            # The layout comes back, so the focused pane and what is typed there show.
            screen.minimize()
        screen.set_focus(widget)

    def action_focus_schema(self) -> None:
        if self.schema_browser.display:
            self._focus_now(self.schema_browser)
        else:
            self.notify(self.schema_message or "The schema is not loaded.", markup=False)

    def action_focus_editor(self) -> None:
        self._focus_now(self.editor)

    def action_focus_results(self) -> None:
        self._focus_now(self.results.grid)

    # ------------------------------------------------------------------ editor events

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area is not self.editor:
            return
        self.history.reset_navigation()
        self._schedule_hint()
        self._schedule_autosave()

    def on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        if event.text_area is not self.editor:
            return
        # The completion belongs to the word before the cursor: Home or a click moves away
        # from it, and Tab must not insert it at the new place.
        self.editor.drop_moved_suggestion()
        # Finding the statement under the cursor splits the whole buffer, so it waits until
        # the cursor rests, as validation does. In a buffer of 1.1 million characters a split
        # takes 0.15 s (2-core test machine), which each key paid before.
        self._move_generation += 1
        self.set_timer(HINT_DELAY, partial(self._check_statement_moved, self._move_generation))

    def _check_statement_moved(self, generation: int) -> None:
        """Validate the statement under the cursor when the cursor moved to another one."""
        if generation != self._move_generation or not self._main_screen_ready():
            return
        if self._hint_pending:
            # An edit scheduled a hint, which looks up the statement itself.
            return
        statement = self.editor.statement_under_cursor()
        start = statement.start if statement is not None else None
        if start != self._hinted_statement_start:
            self._hint_generation += 1
            self.hints.invalidate()
            self._fire_hint(self._hint_generation)

    def on_sql_editor_completions_changed(self, event: SqlEditor.CompletionsChanged) -> None:
        self.hints.show_completions(event.prefix, event.candidates)

    def on_schema_browser_insert_requested(self, event: SchemaBrowser.InsertRequested) -> None:
        self.editor.insert_at_cursor(event.text, event.placeholder)
        self._focus_now(self.editor)

    def on_hints_panel_error_located(self, event: HintsPanel.ErrorLocated) -> None:
        if not self._main_screen_ready():
            # A validation result can arrive while the app shuts down.
            return
        if event.position is None:
            self.editor.clear_error(from_query=False)
        else:
            self.editor.mark_error(event.position)

    def on_hints_panel_login_needed(self, event: HintsPanel.LoginNeeded) -> None:
        self.request_login(event.error)

    def action_goto_error(self) -> None:
        if self.editor.goto_error():
            self._focus_now(self.editor)
        else:
            self.notify(self.editor.unmarked_error_message(), markup=False)

    # ------------------------------------------------------------------ hints

    def _schedule_hint(self) -> None:
        self._hint_generation += 1
        self._hint_pending = True
        self.hints.invalidate()
        self.set_timer(HINT_DELAY, partial(self._fire_hint, self._hint_generation))

    def _fire_hint(self, generation: int) -> None:
        if generation != self._hint_generation:
            return
        self._hint_pending = False
        if not self._main_screen_ready():
            return
        statement = self.editor.statement_under_cursor()
        self._hinted_statement_start = statement.start if statement is not None else None
        if statement is None:
            self.hints.clear("Type a query; hints appear here.")
            return
        if self.client is None:
            self.hints.clear("Not connected: no validation.")
            return
        range_bounds = self._resolve_range()
        if range_bounds is None:
            self.hints.clear(
                f"The time range is out of range: {key_name(self, 'app.time_range')} changes it."
            )
            return
        begin, end = range_bounds
        self.hints.request(self.client, statement, self.editor.text, begin, end)

    # ------------------------------------------------------------------ history

    def action_history_previous(self) -> None:
        sql = self.history.older(self.editor.text)
        if sql is None:
            self.bell()
            return
        self._load_from_history(sql)

    def action_history_next(self) -> None:
        sql = self.history.newer()
        if sql is None:
            self.bell()
            return
        self._load_from_history(sql)

    def _load_from_history(self, sql: str) -> None:
        with self.prevent(TextArea.Changed):
            self.editor.replace_buffer(sql)
        self._schedule_hint()
        self._schedule_autosave()

    def action_history(self) -> None:
        def load(pick: HistoryPick | None) -> None:
            if pick is None:
                return
            self.history.reset_navigation()
            self.editor.replace_buffer(pick.sql)
            self._focus_now(self.editor)
            if pick.time_range is not None:
                self._restore_history_range(pick.time_range)

        self.push_screen(HistoryScreen(self.history.entries), callback=load)

    def _restore_history_range(self, text: str) -> None:
        """Set the time range to `text`, a range stored in the history file."""
        try:
            time_range = parse_time_range(text, local=self.local_time)
        except TimeRangeError as error:
            # History files can be edited by hand: the query loads, the range stays.
            logger.warning("cannot restore the time range %r from history: %s", text, error)
            self.notify(
                f"The time range stays {self.time_range.text}: {error}",
                title="Time range",
                severity="error",
                markup=False,
            )
            return
        self.set_time_range(time_range)

    # ------------------------------------------------------------------ autosave

    def _schedule_autosave(self) -> None:
        self._autosave_generation += 1
        self.set_timer(AUTOSAVE_DELAY, partial(self._autosave_due, self._autosave_generation))

    def _autosave_due(self, generation: int) -> None:
        if generation == self._autosave_generation:
            self._write_autosave()

    def _write_autosave(self, report: bool = True) -> OSError | None:
        """Write the buffer atomically (temporary file, then rename) to the autosave file.

        Returns the error of a failed write, which is logged, and also shown the first time
        in this session unless `report` is False.
        """
        path = self.autosave_target
        if not self._main_screen_ready():
            return None
        data = self.editor.text.encode("utf-8")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".autosave-")
        except OSError as error:
            self._autosave_failed(path, error, report)
            return error
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            # Atomic on POSIX: another mmtui that reads the file gets the old or the new buffer.
            Path(temporary).replace(path)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            self._autosave_failed(path, error, report)
            return error
        return None

    def _autosave_failed(self, path: Path, error: OSError, report: bool) -> None:
        """Log a failed autosave, and with `report` tell the user the first time in this
        session."""
        logger.warning("cannot write autosave file %s: %s", path, error)
        if self._autosave_failure_shown or not report:
            return
        self._autosave_failure_shown = True
        self.notify(
            f"Cannot save the editor buffer to {path}: {error}. Copy any text you need before "
            "quitting.",
            title="Autosave",
            severity="error",
            markup=False,
            timeout=30,
        )

    # ------------------------------------------------------------------ help and palette

    @staticmethod
    def _dialogs() -> list[tuple[str, type[Screen[Any]]]]:
        """Return the dialogs by title. A dialog hides the explorer's bindings and has keys of
        its own, which `[keys]` remaps by id like the panes' keys."""
        return [
            ("Cell detail", DetailScreen),
            ("Export dialog", ExportScreen),
            ("History", HistoryScreen),
            ("Time range prompt", TimeRangeScreen),
            # Its bindings alone: the login screen's module imports the login flows.
            ("Login dialog", LoginBindings),
            ("This help", HelpScreen),
        ]

    def _binding_scopes(self) -> list[tuple[str, list[Binding]]]:
        """Return the bindings that Textual looks up together, by title: the app's first, then
        each pane's, then each dialog's, without key overrides."""
        global_bindings = [*class_bindings(type(self)), *class_bindings(type(self.screen))]
        if self.ENABLE_COMMAND_PALETTE:
            # Textual binds the palette key on the app instance, not in a BINDINGS list.
            global_bindings.append(
                Binding(self.COMMAND_PALETTE_BINDING, "command_palette", "Command palette")
            )
        panes: list[tuple[str, Widget]] = [
            ("SQL editor", self.editor),
            ("Schema browser", self.schema_browser),
            ("Results", self.results),
            ("Result grid", self.results.grid),
        ]
        return [
            ("Everywhere", global_bindings),
            *((title, class_bindings(type(widget))) for title, widget in panes),
            *((title, class_bindings(dialog)) for title, dialog in self._dialogs()),
        ]

    def help_sections(self) -> list[HelpSection]:
        """Return the keys of the app and of each pane, with key overrides applied."""
        return [
            (title, describe_bindings(self, bindings, self.keymap_overrides))
            for title, bindings in self._binding_scopes()
        ]

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            (
                "Run query",
                f"Run the statement under the cursor ({key_name(self, 'app.run_query')})",
                self.action_run_query,
            ),
            ("Cancel query", "Stop the running query; rows so far stay", self.action_cancel_query),
            (
                "Time range…",
                f"Type a time range ({key_name(self, 'app.time_range')})",
                self.action_edit_time_range,
            ),
        ]
        for index, preset in enumerate(PRESETS):
            label = "all time (no range)" if preset == "all" else f"last {preset}"
            help_text = f"Key {index + 1} outside the editor"
            commands.append((f"Range: {label}", help_text, partial(self.action_preset, index)))
        commands += [
            (
                "Toggle UTC / local time",
                "Times in UTC or local, header and results (z)",
                self.action_toggle_zone,
            ),
            ("Query history", "Pick a past query (F8)", self.action_history),
            ("Focus schema", "Schema browser (F2)", self.action_focus_schema),
            ("Focus editor", "SQL editor (F3)", self.action_focus_editor),
            ("Focus results", "Result grid (F4, Ctrl+R)", self.action_focus_results),
            (
                "Go to error",
                f"Cursor to the server's error ({key_name(self, 'app.goto_error')})",
                self.action_goto_error,
            ),
            (
                "Reconnect",
                f"Log in if needed and reload the schema ({self._reconnect_key()})",
                self.action_reconnect,
            ),
            ("Help", "All keys (F1 or ?)", self.action_help),
        ]
        results = self.results
        result_commands: list[tuple[str, str, Callable[[], object], str]] = [
            (
                "Export results…",
                "Write the whole result to CSV, Parquet or JSON lines (e on the grid)",
                results.action_export,
                "export",
            ),
            (
                "Copy cell",
                "Copy the value of the grid's cell (c)",
                results.action_copy_cell,
                "copy",
            ),
            (
                "Copy row as TSV",
                "Copy the grid's row as tab-separated values (C)",
                results.action_copy_row,
                "copy",
            ),
            (
                "Copy row as JSON",
                "Copy the grid's row as a JSON object (J)",
                results.action_copy_row_json,
                "copy",
            ),
            (
                "Cell detail",
                "Show the whole value of the grid's cell (Enter on the grid)",
                results.action_show_detail,
                "show",
            ),
        ]
        for title, help_text, action, verb in result_commands:
            commands.append((title, help_text, partial(self._run_result_command, action, verb)))
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)
        yield from super().get_system_commands(screen)

    def _run_result_command(self, action: Callable[[], object], verb: str) -> None:
        """Run a result action from the palette, or notify the user why it cannot run yet."""
        results = self.results
        if not results.has_results:
            self.notify(
                f"No result to {verb} yet. Run a query first.", severity="warning", markup=False
            )
            return
        # An empty result can still be exported, as the `e` key on the grid allows.
        if verb != "export" and results.grid.row_count == 0:
            self.notify(f"The result has no rows to {verb}.", severity="warning", markup=False)
            return
        # Some actions are coroutines (export waits for its dialog): the loop runs either kind.
        self.call_next(action)

    # ------------------------------------------------------------------ crash report

    def _handle_exception(self, error: Exception) -> None:
        # NOTE: Textual 8 has no public hook for an unhandled exception, so this private method
        # is wrapped. The error is kept for the crash report written once the terminal is back.
        if self.crash_error is None:
            self.crash_error = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # NOTE: Textual 8 renders the traceback of an unhandled error with the local variables
        # of each frame, which can hold tokens, and prints it to standard error. While the app
        # runs, that is the log file, past the redacting formatter. So the traceback goes
        # through the logger instead, and the redacted crash report follows after exit.
        self.bell()
        logger.error("unhandled error, the app exits", exc_info=self.crash_error)
        self._close_messages_no_wait()


def _is_writable_dir(path: Path) -> bool:
    """Tell whether `path` is a folder where this process can create files."""
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def _read_text_or_empty(path: Path) -> str:
    try:
        return read_regular_file(path).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _write_private_file(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 and write `data`; fails when the file exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)


def _login_reason(error: BaseException | None) -> str:
    """Return the login dialog's line on why a login is needed."""
    if error is None:
        return "No usable token in the token cache."
    if isinstance(error, LoginRequired):
        return f"No usable token ({_first_line(error)})."
    return f"The server rejected the token ({_rejection_reason(error)})."


def _rejection_reason(error: BaseException) -> str:
    """Return the first line of the server's rejection, with anything like a token masked."""
    return redact(_first_line(error))


def _first_line(error: BaseException) -> str:
    """Return the first line of an error's message, or its type name when it has none."""
    lines = str(getattr(error, "message", "") or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _update_if_changed(widget: Static, text: Text) -> None:
    """Show `text` in `widget` unless it shows that text already.

    An update repaints the widget. With Textual 8.2.8 one that requests a layout pass also
    repainted every scrollbar on the screen (measured through tmux). So the layout pass runs
    only when the text's width changed, because the header's widgets are one line high and do
    not wrap.
    """
    current = widget.content
    if isinstance(current, Text) and current == text and current.style == text.style:
        return
    width_changed = not isinstance(current, Text) or current.cell_len != text.cell_len
    widget.update(text, layout=width_changed)
