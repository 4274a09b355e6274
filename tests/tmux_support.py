"""A private tmux server for tests that run a program in a real terminal.

Each `TmuxServer` has its own socket (`tmux -L NAME` in a temporary `TMUX_TMPDIR`, removed by
`kill`) and its own configuration file (`tmux -f FILE`), so it never reads the user's
`~/.tmux.conf`, touches their sessions or leaves a socket file behind.
The configuration turns on what the escape-sequence tests depend on (tmux 3.3):

- `set-clipboard on`: an OSC 52 sequence written by a program in a pane creates a new paste
  buffer. With `external` or `off`, tmux ignores OSC 52 from programs, so a leak would go unseen.
- OSC 0 and OSC 2 set the pane title (`#{pane_title}`), as the control test shows for OSC 0.
  `allow-rename on` lets a program rename the window as well.
- `remain-on-exit on`: a pane whose program exited stays, so a test can still read its title,
  the buffers and `#{pane_dead}` where it would otherwise find no server.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

TMUX_COMMAND_TIMEOUT = 10.0
"""Seconds a single tmux command may take before the test fails."""

POLL_SECONDS = 0.05
"""Seconds between two looks at the pane while waiting for a condition."""

CONFIG_LINES = (
    "set-option -g set-clipboard on",
    "set-option -g allow-rename on",
    "set-option -g remain-on-exit on",
    "set-option -g default-terminal tmux-256color",
    "set-option -g status off",
)


def tmux_path() -> str | None:
    """Return the path of the `tmux` binary, or None when it is not installed."""
    return shutil.which("tmux")


class TmuxServer:
    """A tmux server on its own socket, holding one detached session named `main`."""

    def __init__(self, folder: Path, *, width: int = 120, height: int = 40) -> None:
        binary = tmux_path()
        if binary is None:
            raise RuntimeError("tmux is not installed")
        self.binary = binary
        self.socket_name = f"mmtui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # A short path in the system temporary folder, because a Linux socket path has at most
        # 107 bytes.
        self.socket_folder = Path(tempfile.mkdtemp(prefix="mmtui-tmux-"))
        self.config_path = folder / "tmux.conf"
        self.config_path.write_text("\n".join(CONFIG_LINES) + "\n", encoding="utf-8")
        self.width = width
        self.height = height
        self.started = False

    def run(self, *arguments: str, env: Mapping[str, str] | None = None) -> str:
        """Run one tmux command against this server and return its standard output.

        `-u` makes tmux write UTF-8 whatever the locale, so Control Pictures such as U+241B
        come back intact from `capture-pane`. Raises AssertionError when tmux fails.
        """
        command = [
            self.binary,
            "-u",
            "-L",
            self.socket_name,
            "-f",
            str(self.config_path),
            *arguments,
        ]
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self._environment(env),
            timeout=TMUX_COMMAND_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(
                f"tmux {' '.join(arguments)} failed with exit status {completed.returncode}: "
                f"{completed.stderr.strip()}"
            )
        return completed.stdout

    def _environment(self, env: Mapping[str, str] | None) -> dict[str, str]:
        """Return `env` (default: this process's environment) pointing tmux at the socket folder."""
        base = os.environ if env is None else env
        return {**base, "TMUX_TMPDIR": str(self.socket_folder)}

    def start(self, command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
        """Start the server with one detached session running `command` in `cwd`.

        The server is started by this call, so its global environment, which the pane's
        program inherits, is `env`.
        """
        self.run(
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            str(self.width),
            "-y",
            str(self.height),
            "-c",
            str(cwd),
            shlex.join(command),
            env=env,
        )
        self.started = True

    def kill(self) -> None:
        """Stop the server and every program in it, then delete the socket folder. Idempotent."""
        if self.started:
            self.started = False
            # No check: the server may have exited already, with its last session.
            subprocess.run(
                [self.binary, "-L", self.socket_name, "kill-server"],
                capture_output=True,
                env=self._environment(None),
                timeout=TMUX_COMMAND_TIMEOUT,
                check=False,
            )
        shutil.rmtree(self.socket_folder, ignore_errors=True)

    # Reading the pane.

    def capture(self) -> str:
        """Return the visible text of the pane, one line per terminal row."""
        return self.run("capture-pane", "-p", "-t", "main")

    def display(self, format_text: str) -> str:
        """Return `format_text` expanded for the pane, e.g. `#{pane_title}`."""
        return self.run("display-message", "-p", "-t", "main", format_text).rstrip("\n")

    def pane_title(self) -> str:
        return self.display("#{pane_title}")

    def pane_dead(self) -> bool:
        """Return True when tmux marks the pane dead: its program exited and closed the terminal."""
        return self.display("#{pane_dead}") == "1"

    def buffers(self) -> list[str]:
        """Return the names of the paste buffers, most recent first."""
        return self.run("list-buffers", "-F", "#{buffer_name}").split()

    def top_buffer(self) -> str:
        """Return the content of the most recent paste buffer (what `paste-buffer` would paste)."""
        return self.run("show-buffer")

    # Changing state and sending keys.

    def set_pane_title(self, title: str) -> None:
        self.run("select-pane", "-t", "main", "-T", title)

    def set_buffer(self, content: str) -> None:
        """Replace every paste buffer with one buffer holding `content`."""
        for name in self.buffers():
            self.run("delete-buffer", "-b", name)
        self.run("set-buffer", content)

    def load_buffer(self, data: bytes) -> None:
        """Replace every paste buffer with one buffer containing `data` byte for byte."""
        path = self.config_path.with_name("paste-buffer.bin")
        path.write_bytes(data)
        for name in self.buffers():
            self.run("delete-buffer", "-b", name)
        self.run("load-buffer", str(path))

    def paste_buffer(self) -> None:
        """Paste the top buffer into the pane, bracketed when the program enabled bracketed paste.

        Without `-r`, tmux 3.3 writes each LF of the buffer as CR.
        """
        self.run("paste-buffer", "-p", "-t", "main")

    def send_keys(self, *keys: str) -> None:
        """Send tmux key names (`F5`, `Down`, `Enter`, `Escape`, `C-q`) to the pane."""
        self.run("send-keys", "-t", "main", *keys)

    def send_text(self, text: str) -> None:
        """Type `text` literally with `send-keys -l`, so no word is read as a key name."""
        self.run("send-keys", "-t", "main", "-l", text)

    def wait_for(
        self,
        condition: Callable[[str], bool],
        description: str,
        timeout: float,
        explain: Callable[[], str] | None = None,
    ) -> str:
        """Poll the pane until `condition(screen text)` is true and return that screen text.

        Raises AssertionError after `timeout` seconds, with the last screen and the output of
        `explain` (for example the tail of the program's log).
        """
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            if condition(screen):
                return screen
            if time.monotonic() >= deadline:
                details = explain() if explain is not None else ""
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {description}.\n"
                    f"pane title: {self.pane_title()!r}, pane dead: {self.pane_dead()}, "
                    f"buffers: {self.buffers()}\n"
                    f"screen:\n{screen}\n{details}"
                )
            time.sleep(POLL_SECONDS)
