"""`mmtui` as a process in a real terminal (tmux): quick exits, signals and gRPC's own output.

These need a real process: `asyncio.run` waits for the default executor only when the program
exits, native code writes to file descriptor 2 directly, and signals go to a process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mmtui.demo import DemoServerHandle, start_demo_server
from tests.fault_server import start_fault_server
from tests.tmux_support import TmuxServer, tmux_path
from tests.ui.test_app_support import SilentListener
from tests.ui.test_app_tmux import REPO_ROOT, _environment, wait_exit

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(tmux_path() is None, reason="the tmux binary is not installed"),
]

START_TIMEOUT = 60.0
STEP_TIMEOUT = 20.0
QUIT_LIMIT = 1.5
"""Seconds from Ctrl+Q or a signal to the pane's death, with margin over the 1 s target."""


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[TmuxServer]:
    server = TmuxServer(tmp_path, width=100, height=30)
    yield server
    server.kill()


def _log_reader(log_file: Path) -> tuple[Callable[[], str], Callable[[], str]]:
    """Return functions reading the whole log file and its last 30 lines (for failures)."""

    def text() -> str:
        return log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""

    def explain() -> str:
        return "\n".join(text().splitlines()[-30:]) or "(no log file)"

    return text, explain


def test_quit_while_connect_blocked(tmux: TmuxServer, tmp_path: Path) -> None:
    listener = SilentListener()
    home = tmp_path / "home"
    log_text, explain = _log_reader(home / "state" / "mmtui" / "log" / "mmtui.log")
    try:
        uri = f"grpc://127.0.0.1:{listener.port}"
        tmux.start(
            [sys.executable, "-m", "mmtui", "--uri", uri], env=_environment(home), cwd=REPO_ROOT
        )
        tmux.wait_for(lambda text: "Connecting to" in text, "the app to start", START_TIMEOUT)
        # The table listing is in flight, blocked on a peer that never replies.
        tmux.wait_for(
            lambda _text: bool(listener.accepted), "the app to connect", STEP_TIMEOUT, explain
        )
        pressed = time.monotonic()
        tmux.send_keys("C-q")
        outcome = wait_exit(tmux, explain, STEP_TIMEOUT)
        exited = time.monotonic() - pressed
    finally:
        listener.close()
    print(f"exit seen {exited:.2f} s after Ctrl+Q")
    assert exited < QUIT_LIMIT, explain()
    assert outcome == "status 0"
    assert "mmtui exits" in log_text()


@pytest.mark.parametrize("verbosity", [None, "INFO"])
def test_grpc_output_off_screen(tmux: TmuxServer, tmp_path: Path, verbosity: str | None) -> None:
    server = start_demo_server(host="127.0.0.1", port=0, scale=0.05)
    home = tmp_path / "home"
    log_text, explain = _log_reader(home / "state" / "mmtui" / "log" / "mmtui.log")
    environment = _environment(home)
    environment.pop("GRPC_VERBOSITY", None)
    if verbosity is not None:
        environment["GRPC_VERBOSITY"] = verbosity
    try:
        uri = f"grpc+tls://127.0.0.1:{server.port}"
        tmux.start([sys.executable, "-m", "mmtui", "--uri", uri], env=environment, cwd=REPO_ROOT)
        screen = tmux.wait_for(
            lambda text: "Cannot reach" in text, "the TLS failure", START_TIMEOUT, explain
        )
        if verbosity == "INFO":
            # gRPC logs the failed handshake to file descriptor 2, which is the log file.
            tmux.wait_for(
                lambda _text: "Handshake failed" in log_text(),
                "gRPC's line in the log file",
                STEP_TIMEOUT,
                explain,
            )
            screen = tmux.capture()
        assert "Handshake failed" not in screen
        assert "ssl_transport_security" not in screen
        tmux.send_keys("C-q")
        outcome = wait_exit(tmux, explain, STEP_TIMEOUT)
    finally:
        server.stop()
    assert outcome == "status 0"


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP])
def test_signal_removes_spill_dir(
    tmux: TmuxServer, tmp_path: Path, signal_number: signal.Signals
) -> None:
    server = start_fault_server()
    home = tmp_path / "home"
    log_file = home / "state" / "mmtui" / "log" / "mmtui.log"
    log_text, explain = _log_reader(log_file)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    config = home / "config" / "mmtui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("memory_budget_mb = 1\n", encoding="utf-8")
    environment = {**_environment(home), "TMPDIR": str(temporary)}
    try:
        tmux.start(
            [sys.executable, "-m", "mmtui", "--uri", server.uri], env=environment, cwd=REPO_ROOT
        )
        tmux.wait_for(lambda text: "●" in text, "the app to connect", START_TIMEOUT, explain)
        tmux.send_text("SELECT 'fault:rows:300000'")
        tmux.wait_for(
            lambda text: "SELECT 'fault:rows:300000'" in text and "✓ valid" in text,
            "the statement to be typed and validated",
            STEP_TIMEOUT,
            explain,
        )
        tmux.send_keys("F5")
        tmux.wait_for(lambda text: "done ·" in text, "the query to end", STEP_TIMEOUT, explain)
        spill_dirs = list(temporary.glob("mmtui-spill-*"))
        assert len(spill_dirs) == 1, explain()
        match = re.search(r"starting \(pid (\d+)\)", log_text())
        assert match is not None, explain()
        sent = time.monotonic()
        os.kill(int(match.group(1)), signal_number)
        outcome = wait_exit(tmux, explain, STEP_TIMEOUT)
        exited = time.monotonic() - sent
    finally:
        server.stop()
    print(f"exit seen {exited:.2f} s after the signal")
    assert exited < QUIT_LIMIT
    assert not spill_dirs[0].exists()
    assert f"received {signal_number.name}" in log_text()
    assert outcome == f"status {128 + signal_number}"


def _process_gone(pid: int) -> bool:
    """Return True when `pid` no longer runs: it exited, or it is a zombie not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_closed_terminal_ends_process(
    tmux: TmuxServer, tmp_path: Path, demo_server: DemoServerHandle
) -> None:
    # Closing the window (here: killing the tmux session) takes the terminal away. The input
    # thread then reads end of file, and must stop so that interpreter shutdown can finish.
    home = tmp_path / "home"
    log_text, explain = _log_reader(home / "state" / "mmtui" / "log" / "mmtui.log")
    tmux.start(
        [sys.executable, "-m", "mmtui", "--uri", demo_server.uri],
        env=_environment(home),
        cwd=REPO_ROOT,
    )
    tmux.wait_for(lambda text: "●" in text, "the app to connect", START_TIMEOUT, explain)
    match = re.search(r"starting \(pid (\d+)\)", log_text())
    assert match is not None, explain()
    pid = int(match.group(1))

    tmux.run("kill-session", "-t", "main")

    deadline = time.monotonic() + STEP_TIMEOUT
    while not _process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    exited = _process_gone(pid)
    if not exited:
        os.kill(pid, signal.SIGKILL)
    assert exited, explain()


def test_app_runs_without_log_file(
    tmux: TmuxServer, tmp_path: Path, demo_server: DemoServerHandle
) -> None:
    # The state folder (log, history, autosave) cannot be created, because a file has its name.
    state_file = tmp_path / "state-file"
    state_file.write_text("not a folder\n", encoding="utf-8")
    environment = {**_environment(tmp_path / "home"), "XDG_STATE_HOME": str(state_file)}
    tmux.start(
        [sys.executable, "-m", "mmtui", "--uri", demo_server.uri], env=environment, cwd=REPO_ROOT
    )
    screen = tmux.wait_for(
        lambda text: "●" in text or "Pane is dead" in text,
        "the app to connect",
        START_TIMEOUT,
        tmux.capture,
    )
    assert "●" in screen, screen
    tmux.send_keys("F5")
    tmux.wait_for(
        lambda text: "Query history" in text and "Cannot save" in text,
        "the notice that the query history cannot be saved",
        STEP_TIMEOUT,
        tmux.capture,
    )
    tmux.send_keys("C-q")
    outcome = wait_exit(tmux, tmux.capture, STEP_TIMEOUT)

    assert outcome == "status 0"
    # -J joins the rows of a wrapped line: the warning is longer than the pane is wide.
    terminal_text = tmux.run("capture-pane", "-p", "-J", "-t", "main")
    assert "Running without a log file." in terminal_text


def test_unknown_config_key_on_screen(tmux: TmuxServer, tmp_path: Path) -> None:
    server = start_demo_server(host="127.0.0.1", port=0, scale=0.05)
    home = tmp_path / "home"
    config_dir = home / ".micromegas"
    config_dir.mkdir(parents=True)
    profile = {"uri": f"grpc://127.0.0.1:{server.port}", "analytics_uri": "grpc://127.0.0.1:1"}
    (config_dir / "config.json").write_text(
        json.dumps({"profiles": {"lab": profile}}), encoding="utf-8"
    )
    log_text, explain = _log_reader(home / "state" / "mmtui" / "log" / "mmtui.log")
    try:
        tmux.start(
            [sys.executable, "-m", "mmtui", "--profile", "lab"],
            env=_environment(home),
            cwd=REPO_ROOT,
        )
        screen = tmux.wait_for(
            lambda text: "analytics_uri" in text and "log_entries" in text,
            "the warning and the schema",
            START_TIMEOUT,
            explain,
        )
        tmux.send_keys("C-q")
        outcome = wait_exit(tmux, explain, STEP_TIMEOUT)
    finally:
        server.stop()
    assert "ignored unknown key 'analytics_uri'" in screen
    assert "ignored unknown key 'analytics_uri' in profile 'lab'" in log_text()
    assert outcome == "status 0"
