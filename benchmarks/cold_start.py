"""Figure 6: `mmtui --demo` cold start until the editor accepts a key, in a real terminal.

Two lines: `cold_start_s` for `mmtui --demo`, which also generates the demo data, and
`cold_start_uri_s` for `mmtui --uri` on a demo server started beforehand, as a user starts
mmtui on a real server.

Each command runs in a new tmux session. From the launch, the script sends one `q` every
POLL_S and reads the pane. The time is taken when a `q` shows on the application's screen,
with the alternate screen on, so the shell's echo of early keys does not count. The baseline,
measured in the same run and the same way, is a bare Textual app whose only widget is a
focused TextArea: the part of the start-up that any Textual editor pays.

State and logs go to a temporary XDG home, so no autosaved buffer or history is restored.
Run: `python -m benchmarks.cold_start [--repeats 3]`; prints two JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.server_process import ServerProcess

SERVER_SCALE = 1.0
"""Data of the server that `mmtui --uri` connects to. Start-up reads only its table list."""
POLL_S = 0.02
TIMEOUT_S = 120.0
MARKER = "q"

BARE_APP = """
from textual.app import App
from textual.widgets import TextArea

class Bare(App):
    def compose(self):
        yield TextArea(id="editor")

    def on_mount(self):
        self.query_one(TextArea).focus()

Bare().run()
"""


SOCKET = f"mmtui-bench-{os.getpid()}"
"""A tmux server of our own, started without a config file, so no other session's options
(or a user's ~/.tmux.conf) change how the pane behaves."""


def tmux(*args: str) -> str:
    command = ["tmux", "-L", SOCKET, "-f", "/dev/null", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout


def time_until_key_accepted(command: list[str], home: str) -> float:
    session = f"mmtui-bench-{os.getpid()}-{time.monotonic_ns()}"
    env = (
        f"env XDG_DATA_HOME={home}/data XDG_STATE_HOME={home}/state "
        f"XDG_CONFIG_HOME={home}/config XDG_CACHE_HOME={home}/cache"
    )
    line = f"{env} {shlex.join(command)}"
    start = time.perf_counter()
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", line)
    try:
        deadline = start + TIMEOUT_S
        while time.perf_counter() < deadline:
            tmux("send-keys", "-t", session, "-l", MARKER)
            time.sleep(POLL_S)
            on_app_screen = tmux("display", "-p", "-t", session, "#{alternate_on}").strip() == "1"
            if on_app_screen and MARKER in tmux("capture-pane", "-p", "-t", session):
                return time.perf_counter() - start
        screen = tmux("capture-pane", "-p", "-t", session)
        raise TimeoutError(f"no key accepted within {TIMEOUT_S} s: {line}\nscreen:\n{screen}")
    finally:
        tmux("kill-session", "-t", session)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    bare = [sys.executable, "-c", BARE_APP]
    demo_times: list[float] = []
    uri_times: list[float] = []
    bare_times: list[float] = []
    # tmux ends its server when the last session closes. A launch that raced that shutdown
    # got a blank pane with no process in it (2 of about 60 launches on the 2-core VM), so a
    # session that outlives the runs keeps the server up.
    tmux("new-session", "-d", "-s", "keep-server", "sleep 86400")
    try:
        with tempfile.TemporaryDirectory() as home, ServerProcess(SERVER_SCALE) as server:
            demo = [sys.executable, "-m", "mmtui", "--demo"]
            uri = [sys.executable, "-m", "mmtui", "--uri", server.uri]
            for _ in range(args.repeats):
                bare_times.append(time_until_key_accepted(bare, home))
                demo_times.append(time_until_key_accepted(demo, home))
                uri_times.append(time_until_key_accepted(uri, home))
    finally:
        tmux("kill-server")
    bare_s = statistics.median(bare_times)
    for figure, times in [("cold_start_s", demo_times), ("cold_start_uri_s", uri_times)]:
        app_s = statistics.median(times)
        record = {
            "figure": figure,
            "value": round(app_s, 2),
            "baseline_bare_textarea_s": round(bare_s, 2),
            "ratio": round(app_s / bare_s, 2),
            "runs": [round(value, 2) for value in times],
        }
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
