"""mmtui in a real 80x24 terminal (tmux): keys reach the app and quitting is clean.

Textual's Pilot sends key events without a terminal, so only a real one shows that F5, Ctrl+J,
F1 and Ctrl+Q arrive through tmux, that the layout fits 80x24, and that the process exits 0.
Keys typed while the app starts must reach the editor after the restored buffer, and a
bracketed paste with ESC, control or invalid UTF-8 bytes must arrive as text.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mmtui.demo import DemoServerHandle
from tests.tmux_support import TmuxServer, tmux_path

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(tmux_path() is None, reason="the tmux binary is not installed"),
]

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0
STEP_TIMEOUT = 15.0


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[TmuxServer]:
    server = TmuxServer(tmp_path, width=80, height=24)
    yield server
    server.kill()


def _environment(home: Path) -> dict[str, str]:
    """Return this environment with HOME and the XDG folders under `home` (no user files)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TMUX", "TMUX_PANE") and not name.startswith(("MICROMEGAS_", "TEXTUAL"))
    }
    environment["HOME"] = str(home)
    for name, folder in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        environment[name] = str(home / folder)
    environment["TERM"] = "xterm-256color"
    return environment


DEAD_PANE_RE = re.compile(r"Pane is dead \((status|signal) (\d+)")
"""The line tmux 3.3 writes into a dead pane kept by `remain-on-exit on`."""


def _zombie_outcome(pid: int) -> str | None:
    """Return "status N" or "signal N" of `pid` once it exited but is not reaped, else None.

    Reads the state and the wait status (`exit_code`, the 52nd field of /proc/PID/stat).
    """
    try:
        stat_text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    fields = stat_text.rsplit(")", 1)[1].split()
    if fields[0] != "Z" or len(fields) < 50:
        return None
    wait_status = int(fields[-1])
    if wait_status & 0x7F:
        return f"signal {wait_status & 0x7F}"
    return f"status {wait_status >> 8}"


def wait_exit(tmux: TmuxServer, explain: Callable[[], str], timeout: float) -> str:
    """Wait until the pane's program exited; return "status N" or "signal N".

    NOTE: tmux 3.3a on this project's container sometimes misses the program's exit (the
    process stays a zombie, `#{pane_dead_status}` stays empty and no "Pane is dead" line
    appears), so the process state in /proc is read as well.
    """
    pid = int(tmux.display("#{pane_pid}"))
    outcome: list[str] = []

    def exited(text: str) -> bool:
        match = DEAD_PANE_RE.search(text)
        if match is not None:
            outcome.append(f"{match.group(1)} {match.group(2)}")
            return True
        zombie = _zombie_outcome(pid)
        if zombie is not None:
            outcome.append(zombie)
            return True
        return False

    tmux.wait_for(exited, "the app to exit", timeout, explain)
    return outcome[-1]


def test_demo_keys_in_tmux(tmux: TmuxServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    log_file = home / "state" / "mmtui" / "log" / "mmtui.log"

    def explain() -> str:
        if log_file.exists():
            return "\n".join(log_file.read_text(encoding="utf-8").splitlines()[-30:])
        return "(no log file)"

    tmux.start([sys.executable, "-m", "mmtui", "--demo"], env=_environment(home), cwd=REPO_ROOT)
    screen = tmux.wait_for(
        lambda text: "●" in text.splitlines()[0] and "✓ valid" in text,
        "the demo to start, connect and validate the welcome query",
        START_TIMEOUT,
        explain,
    )
    lines = screen.splitlines()
    assert len(lines) == 24
    assert "(demo)" in lines[0]
    assert "last 1h:" in lines[0]
    assert "f5 Run" in lines[-1]
    assert "f1 Help" in lines[-1]

    tmux.send_keys("F5")
    tmux.wait_for(lambda text: "done ·" in text, "F5 to run the query", STEP_TIMEOUT, explain)
    tmux.send_keys("F3", "C-j")
    # The results pane logs each run it starts; the second one comes from Ctrl+J.
    tmux.wait_for(
        lambda _text: "query 2 started" in log_file.read_text(encoding="utf-8"),
        "Ctrl+J to run the query again",
        STEP_TIMEOUT,
        explain,
    )
    tmux.wait_for(lambda text: "done ·" in text, "the second run", STEP_TIMEOUT, explain)
    history = home / "state" / "mmtui" / "history.jsonl"
    assert history.exists()

    tmux.send_keys("F1")
    tmux.wait_for(lambda text: "app.run_query" in text, "the help screen", STEP_TIMEOUT, explain)
    tmux.send_keys("Escape")
    tmux.wait_for(
        lambda text: "app.run_query" not in text, "the help to close", STEP_TIMEOUT, explain
    )

    pressed = time.monotonic()
    tmux.send_keys("C-q")
    outcome = wait_exit(tmux, explain, STEP_TIMEOUT)
    print(f"exit seen {time.monotonic() - pressed:.2f} s after Ctrl+Q")
    assert outcome == "status 0", f"{tmux.capture()}\n{explain()}"
    assert "mmtui exits" in log_file.read_text(encoding="utf-8")


def log_tail_reader(home: Path) -> Callable[[], str]:
    """Return a function that returns the last 30 lines of the app's log under `home`."""
    log_file = home / "state" / "mmtui" / "log" / "mmtui.log"

    def read_tail() -> str:
        if log_file.exists():
            return "\n".join(log_file.read_text(encoding="utf-8").splitlines()[-30:])
        return "(no log file)"

    return read_tail


def write_autosave(home: Path, text: str) -> Path:
    """Write `text` as the autosaved editor buffer of the app run with HOME `home`."""
    autosave = home / "state" / "mmtui" / "autosave.sql"
    autosave.parent.mkdir(parents=True)
    autosave.write_text(text, encoding="utf-8")
    return autosave


RESTORED = "SELECT time, msg\nFROM log_entries\nWHERE level <= 2"
TYPED_AT_STARTUP = " limit 10"
"""Typed text with keys the app binds outside the editor: `t` (time range) and `1` (preset)."""


def test_keys_typed_at_startup_in_tmux(
    tmux: TmuxServer, tmp_path: Path, demo_server: DemoServerHandle
) -> None:
    home = tmp_path / "home"
    autosave = write_autosave(home, RESTORED)
    explain = log_tail_reader(home)

    command = [sys.executable, "-m", "mmtui", "--uri", demo_server.uri]
    tmux.start(command, env=_environment(home), cwd=REPO_ROOT)
    # Python is still importing, so the terminal buffers these keys until the app reads them.
    tmux.send_text(TYPED_AT_STARTUP)

    # The autosave file is rewritten shortly after each edit of the buffer.
    screen = tmux.wait_for(
        lambda text: (
            "●" in text.splitlines()[0] and autosave.read_text(encoding="utf-8") != RESTORED
        ),
        "the app to connect and save the typed text",
        START_TIMEOUT,
        explain,
    )
    assert autosave.read_text(encoding="utf-8") == RESTORED + TYPED_AT_STARTUP
    assert "WHERE level <= 2 limit 10" in screen
    assert "last 1h:" in screen.splitlines()[0]


PASTED_LOG = b"-- \x1b[31mERROR\x1b[0m disk full \x11 quit? \x03\n-- \x1b]0;title\x07 end"
"""Log text copied with colour codes, Ctrl+Q and Ctrl+C bytes, a line break and an OSC 0."""
PASTED_LOG_IN_EDITOR = "-- ERROR disk full \u2411 quit? \u2403\n-- \u241b]0;title\u2407 end"
PASTED_LATIN_1 = b" caf\xe9"
"""Text in ISO 8859-1, whose byte 0xE9 is invalid UTF-8."""


def test_paste_with_escapes_in_tmux(
    tmux: TmuxServer, tmp_path: Path, demo_server: DemoServerHandle
) -> None:
    home = tmp_path / "home"
    autosave = write_autosave(home, "SELECT 1;\n")
    explain = log_tail_reader(home)

    def saved_text() -> str:
        return autosave.read_text(encoding="utf-8")

    command = [sys.executable, "-m", "mmtui", "--uri", demo_server.uri]
    tmux.start(command, env=_environment(home), cwd=REPO_ROOT)
    tmux.wait_for(
        lambda text: "●" in text.splitlines()[0] and "1  SELECT 1;" in text,
        "the app to connect and restore the buffer",
        START_TIMEOUT,
        explain,
    )

    tmux.load_buffer(PASTED_LOG)
    tmux.paste_buffer()
    screen = tmux.wait_for(
        lambda _text: saved_text() != "SELECT 1;\n",
        "the pasted text in the autosave file",
        STEP_TIMEOUT,
        explain,
    )
    assert not tmux.pane_dead(), f"a byte in the paste quit the app:\n{screen}\n{explain()}"
    assert saved_text() == "SELECT 1;\n" + PASTED_LOG_IN_EDITOR
    assert "2  -- ERROR disk full \u2411 quit? \u2403" in screen
    assert "3  -- \u241b]0;title\u2407 end" in screen

    tmux.load_buffer(PASTED_LATIN_1)
    tmux.paste_buffer()
    tmux.wait_for(
        lambda _text: saved_text().endswith(" end caf\ufffd"),
        "the Latin-1 text in the autosave file",
        STEP_TIMEOUT,
        explain,
    )

    tmux.send_keys("C-q")
    outcome = wait_exit(tmux, explain, STEP_TIMEOUT)
    assert outcome == "status 0", f"{tmux.capture()}\n{explain()}"
