"""Escape sequences in query results stay on the screen as text, in a real terminal (tmux).

A log message can carry an OSC 0 (window title), an OSC 52 (clipboard write) or a clear-screen
sequence. Textual's test pilot has no terminal, so only a real one shows whether such bytes
reach it. These tests run `python -m mmtui` in a private tmux server against the fault server's
`fault:hostile` result and read tmux's own state: the pane title, the paste buffers and the
screen text.

The control test writes the same bytes raw into a pane and shows that tmux, with the settings
of `tests.tmux_support`, does change the title, the buffer and the screen. So a leak from the
app would fail the app test.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtui.results import safe_text
from tests.fault_server import HOSTILE_MESSAGES, FaultServerHandle, start_fault_server
from tests.tmux_support import TmuxServer, tmux_path

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(tmux_path() is None, reason="the tmux binary is not installed"),
]

REPO_ROOT = Path(__file__).resolve().parent.parent

KNOWN_TITLE = "mmtui-test-known-title"
KNOWN_BUFFER = "mmtui test buffer: must stay unchanged"

OSC_TITLE_MESSAGE = HOSTILE_MESSAGES[0]
"""The fault row that sets the window title with OSC 0 to "pwned window title"."""
OSC_CLIPBOARD_MESSAGE = HOSTILE_MESSAGES[1]
"""The fault row that writes "echo clipboard was written" to the clipboard with OSC 52."""
CLEAR_SCREEN_MESSAGE = HOSTILE_MESSAGES[2]
"""The fault row that clears the screen and writes "the screen was cleared"."""

ESC_SYMBOL = safe_text("\x1b")
BEL_SYMBOL = safe_text("\x07")

START_TIMEOUT = 30.0
"""Seconds for the app to start and list the tables, because importing pyarrow is slow."""
STEP_TIMEOUT = 15.0
"""Seconds for one step on screen (a query, a detail view) to show."""


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[TmuxServer]:
    server = TmuxServer(tmp_path, width=120, height=40)
    yield server
    server.kill()


@pytest.fixture
def fault_server() -> Iterator[FaultServerHandle]:
    handle = start_fault_server()
    yield handle
    handle.stop()


def isolated_environment(home: Path) -> dict[str, str]:
    """Return this process's environment with HOME and XDG folders under `home`.

    The app then reads no user settings or profiles and shares no history, autosave or log
    with a real session. `TMUX` and `TMUX_PANE` are dropped because the program runs in a
    tmux server of its own, not in the one that may run pytest.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TMUX", "TMUX_PANE") and not name.startswith(("MICROMEGAS_", "TEXTUAL"))
    }
    for name, folder in (
        ("HOME", home),
        ("XDG_CONFIG_HOME", home / "config"),
        ("XDG_STATE_HOME", home / "state"),
        ("XDG_DATA_HOME", home / "data"),
        ("XDG_CACHE_HOME", home / "cache"),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        environment[name] = str(folder)
    environment["LANG"] = "C.UTF-8"
    environment["LC_ALL"] = "C.UTF-8"
    return environment


def log_tail(home: Path, lines: int = 30) -> str:
    """Return the last lines of every log file and crash report the app wrote under `home`."""
    parts = []
    for path in sorted(home.rglob("*")):
        if path.is_file() and (path.suffix == ".log" or "crash" in path.name):
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"--- {path}\n" + "\n".join(text[-lines:]))
    return "\n".join(parts) or "(the app wrote no log)"


def test_tmux_control_raw_sequences_leak(tmux: TmuxServer, tmp_path: Path) -> None:
    """Raw hostile bytes in a pane change title, buffer and screen, so the app test can fail."""
    payload = tmp_path / "hostile.bin"
    payload.write_bytes(
        (
            "text before the clear\r\n"
            + OSC_TITLE_MESSAGE
            + "\r\n"
            + OSC_CLIPBOARD_MESSAGE
            + "\r\n"
            + CLEAR_SCREEN_MESSAGE
            + "\r\n"
        ).encode("utf-8")
    )
    # The shell waits for a line, so the title and the buffer are set before the bytes arrive.
    # It then stays alive, because tmux 3.3a has shown a dead pane's screen blank.
    script = f"read go && cat {shlex.quote(str(payload))} && read end"
    tmux.start(["sh", "-c", script], env=isolated_environment(tmp_path / "home"), cwd=tmp_path)
    tmux.set_pane_title(KNOWN_TITLE)
    tmux.set_buffer(KNOWN_BUFFER)
    assert tmux.pane_title() == KNOWN_TITLE
    assert tmux.top_buffer() == KNOWN_BUFFER

    tmux.send_keys("Enter")
    # tmux handles a pane's output in order, so once the last line is on screen, the OSC
    # sequences before it have been handled too.
    screen = tmux.wait_for(
        lambda text: "the screen was cleared" in text, "the payload on screen", STEP_TIMEOUT
    )

    assert tmux.pane_title() == "pwned window title"
    assert tmux.top_buffer() == "echo clipboard was written"
    assert len(tmux.buffers()) == 2
    assert "text before the clear" not in screen


def test_tmux_hostile_rows_stay_text(
    tmux: TmuxServer, fault_server: FaultServerHandle, tmp_path: Path
) -> None:
    """The app shows fault:hostile rows without changing the pane title, buffer or screen."""
    home = tmp_path / "home"
    environment = isolated_environment(home)
    uri = f"grpc://127.0.0.1:{fault_server.port}"
    # The shell records the app's exit status, because with tmux 3.3a `#{pane_dead_status}`
    # sometimes stayed empty, as the tmux server left the exited app unreaped.
    exit_status_path = tmp_path / "exit-status"
    app_command = shlex.join([sys.executable, "-m", "mmtui", "--uri", uri])
    script = f"{app_command}; echo $? > {shlex.quote(str(exit_status_path))}"
    tmux.start(["sh", "-c", script], env=environment, cwd=REPO_ROOT)

    def explain() -> str:
        return log_tail(home)

    tmux.wait_for(
        # The header shows "○ not connected" until the tables are listed.
        lambda text: "● grpc://" in text and "Quit" in text,
        "the app to start and connect",
        START_TIMEOUT,
        explain,
    )
    tmux.set_pane_title(KNOWN_TITLE)
    tmux.set_buffer(KNOWN_BUFFER)
    assert tmux.pane_title() == KNOWN_TITLE
    assert tmux.top_buffer() == KNOWN_BUFFER

    # F7 selects the whole editor buffer and Delete empties it. With Textual 8.2.8, text sent
    # at once after F7 just after start-up was inserted before the selection was made, so
    # the test waits for the empty editor before typing.
    tmux.send_keys("F7", "Delete")
    tmux.wait_for(
        lambda text: "SELECT" not in text and "LIMIT" not in text,
        "the editor to be empty",
        STEP_TIMEOUT,
        explain,
    )
    tmux.send_text("fault:hostile")
    tmux.wait_for(
        lambda text: "1  fault:hostile" in text,
        "the editor to hold the typed statement",
        STEP_TIMEOUT,
        explain,
    )
    tmux.send_keys("F5")
    done_status = f"done · {len(HOSTILE_MESSAGES)} rows"
    # The status line can show "done" before the grid paints the rows. "svc::auth" follows the
    # OSC 0 in each row's target, so it shows whether or not that OSC reached the terminal.
    results_screen = tmux.wait_for(
        lambda text: done_status in text and "svc::auth" in text,
        f"the status line {done_status!r} and the rows",
        STEP_TIMEOUT,
        explain,
    )

    # F4 focuses the grid, and the footer then lists the grid's keys. `Widget.focus` moves the
    # focus later (`call_later`), so keys sent at once with F4 could still reach the editor.
    tmux.send_keys("F4")
    tmux.wait_for(
        lambda text: "⏎ Detail" in text.splitlines()[-1],
        "the grid to take the focus",
        STEP_TIMEOUT,
        explain,
    )
    # Walk the msg column over every row, then open the OSC 52 row (row 1) in the detail view.
    tmux.send_keys("Right", "Right")
    tmux.send_keys(*["Down"] * (len(HOSTILE_MESSAGES) - 1))
    tmux.send_keys(*["Up"] * (len(HOSTILE_MESSAGES) - 2))
    tmux.send_keys("Enter")
    detail_screen = tmux.wait_for(
        lambda text: "esc close" in text, "the detail view", STEP_TIMEOUT, explain
    )
    tmux.send_keys("Escape")
    screen = tmux.wait_for(
        lambda text: "esc close" not in text and done_status in text,
        "the detail view to close",
        STEP_TIMEOUT,
        explain,
    )
    lines = screen.splitlines()

    assert tmux.pane_title() == KNOWN_TITLE, f"the app changed the pane title; screen:\n{screen}"
    assert tmux.buffers() == ["buffer0"], f"the app added a paste buffer; screen:\n{screen}"
    assert tmux.top_buffer() == KNOWN_BUFFER
    assert not tmux.pane_dead(), f"the app exited; screen:\n{screen}\n{explain()}"
    assert uri in lines[0], f"the header row is gone (screen cleared?); screen:\n{screen}"
    assert "Quit" in lines[-1], f"the footer row is gone (screen cleared?); screen:\n{screen}"
    assert f"{ESC_SYMBOL}]0;target title{BEL_SYMBOL}" in results_screen, results_screen
    assert ESC_SYMBOL in screen, screen
    assert "the screen was cleared" in screen, screen
    assert "[bold" in screen, f"Rich markup from the data is not shown literally:\n{screen}"
    assert f"{ESC_SYMBOL}]52;c;" in detail_screen, f"detail view:\n{detail_screen}"
    assert "OSC 52 clipboard" in detail_screen

    # The detail view's copy key writes an OSC 52 through the same terminal, and tmux takes it.
    # So the app's output does reach tmux's clipboard handling, and a leak would have shown.
    tmux.send_keys("Enter")
    tmux.wait_for(lambda text: "esc close" in text, "the detail view", STEP_TIMEOUT, explain)
    tmux.send_keys("c")
    tmux.wait_for(
        lambda _text: len(tmux.buffers()) == 2,
        "the copy key to add a paste buffer",
        STEP_TIMEOUT,
        explain,
    )
    assert tmux.top_buffer() == safe_text(OSC_CLIPBOARD_MESSAGE)

    tmux.send_keys("C-q")
    tmux.wait_for(
        lambda _text: exit_status_path.exists() and exit_status_path.read_text().endswith("\n"),
        "the app to exit",
        STEP_TIMEOUT,
        explain,
    )
    exit_status = exit_status_path.read_text().strip()
    assert exit_status == "0", f"the app exited with status {exit_status}:\n{explain()}"
