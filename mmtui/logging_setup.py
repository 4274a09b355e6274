"""Logging to a file (never the screen, which Textual owns) and redacted crash reports.

The log and crash reports go to platformdirs `user_log_dir` (mode 0700), in files created with
mode 0600. Every record is formatted through `redact`, which masks bearer values, JWTs,
`token`/`secret`/`key` fields and URI passwords, so a secret that reaches a log message by
mistake is not written out.

While the app runs, `stderr_to_log` points file descriptor 2 at the log file, so native
libraries (gRPC's C core) cannot write over the screen.

When the log file cannot be written, mmtui runs without it: the app drops its log records
(`configure_no_logging`), and the subcommands log warnings to standard error
(`configure_stderr_logging`).
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import platform
import re
import stat
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mmtui import __version__, paths

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "bearer token" is prose ("invalid bearer token ..."), not a header value. A value that
    # only starts with "token", such as "token-3f9a", is a credential and is masked.
    (
        re.compile(r"(?i)(bearer\s+)(?!token(?![A-Za-z0-9._~+/=-]))[A-Za-z0-9._~+/=-]+"),
        r"\1<redacted>",
    ),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "<redacted-jwt>"),
    (
        re.compile(
            r"(?i)([\"']?(?:[a-z_]*token|client_secret|secret|api_key|apikey|password|"
            r"authorization)[\"']?\s*[:=]\s*[\"']?)[^\"',\s}]+"
        ),
        r"\1<redacted>",
    ),
    # The password of a URI such as grpc://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*@"), r"\1<redacted>@"),
)

FILE_MODE = 0o600
DIR_MODE = 0o700


def redact(text: str) -> str:
    """Mask bearer values, JWTs and the values of token/secret/key fields in `text`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _escapes(keep_newline: bool) -> dict[int, str]:
    table = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
    del table[ord("\t")]
    table[ord("\n")] = "\n" if keep_newline else "\\n"
    table[ord("\r")] = "\\r"
    return table


_MESSAGE_ESCAPES = _escapes(keep_newline=False)
_TRACEBACK_ESCAPES = _escapes(keep_newline=True)


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, tracebacks included, goes through `redact`.

    Control characters are written as `\\xNN` escapes, line breaks inside a message as `\\n`,
    and traceback lines are indented. Server errors and names reach the log, and `tail -f`
    in a terminal would otherwise run their escape sequences, or show a forged line. Times
    are UTC in RFC 3339 form with a `Z`, so lines from a machine in another zone, or from
    before a daylight saving change, sort and compare as they are.
    """

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = record.message.translate(_MESSAGE_ESCAPES)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        text = super().formatException(ei).translate(_TRACEBACK_ESCAPES)
        # An exception's message may contain line breaks, so every traceback line is indented
        # and none reads as a record of its own.
        return "\n".join("  " + line for line in text.split("\n"))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files, the rotated ones included, have mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        _restrict_mode(self.baseFilename, FILE_MODE)
        stream = os.fdopen(descriptor, "a", encoding=self.encoding, errors=self.errors)
        assert isinstance(stream, io.TextIOWrapper)
        return stream


def _restrict_mode(path: str | Path, mode: int) -> None:
    """Remove group and other permissions from an existing `path` made by an older version."""
    current = stat.S_IMODE(os.stat(path).st_mode)
    if current & 0o077:
        os.chmod(path, mode)


def make_private_dir(folder: Path) -> None:
    """Create `folder` (and parents) and make it 0700 when group or others can read it."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _restrict_mode(folder, DIR_MODE)


def configure_logging(log_path: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the root logger to a rotating file (created with its folder); return its path.

    Raises OSError when the folder or the file cannot be created or opened for writing.
    """
    path = log_path or paths.log_file()
    make_private_dir(path.parent)
    handler = PrivateRotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    _replace_console_handlers(handler, level)
    return path


GRPC_TRACE_OPT_IN = "MMTUI_ALLOW_GRPC_TRACE"
"""Set to 1 to keep `GRPC_TRACE`, accepting that its traces may contain the access token."""


def drop_grpc_trace(environ: MutableMapping[str, str] = os.environ) -> str | None:
    """Remove `GRPC_TRACE` from `environ` unless `GRPC_TRACE_OPT_IN` is 1, and return a notice.

    gRPC's `http` tracer writes each call's headers, the bearer token among them, to file
    descriptor 2. mmtui points that descriptor at its log file, past the redacting formatter.
    Call this before pyarrow.flight loads gRPC. Returns None when nothing was removed.
    """
    value = environ.get("GRPC_TRACE")
    if not value:
        return None
    if environ.get(GRPC_TRACE_OPT_IN) == "1":
        return None
    del environ["GRPC_TRACE"]
    # `!r` shows control characters as escapes, on a terminal too.
    return (
        f"Ignored GRPC_TRACE={value!r}: gRPC traces can contain the access token. "
        f"Set {GRPC_TRACE_OPT_IN}=1 to keep them."
    )


def configure_stderr_logging() -> None:
    """Log warnings and errors, redacted, to standard error (commands without a log file)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("mmtui: %(levelname)s %(message)s"))
    _replace_console_handlers(handler, logging.WARNING)


def configure_no_logging() -> None:
    """Drop every log record, so that none reaches the app's screen without a log file."""
    _replace_console_handlers(logging.NullHandler(), logging.WARNING)


def _replace_console_handlers(handler: logging.Handler, level: int) -> None:
    root = logging.getLogger()
    for existing in list(root.handlers):
        # Console handlers only (FileHandler is a StreamHandler subclass and stays).
        if type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)


def log_file_problem(log_path: Path | None = None) -> str | None:
    """Return why the log file cannot be written, or None when it can.

    Creates the log folder and the file as `configure_logging` would.
    """
    path = log_path or paths.log_file()
    try:
        make_private_dir(path.parent)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE))
    except OSError as error:
        return describe_os_error(error, path)
    return None


def describe_os_error(error: OSError, path: Path) -> str:
    """Return the reason of `error` for a message that already names `path`."""
    reason = error.strerror or str(error)
    if error.filename is not None and os.fsdecode(error.filename) != str(path):
        reason = f"{reason}: {os.fsdecode(error.filename)}"
    return reason


def write_crash_report(
    error: BaseException, context: dict[str, str], folder: Path | None = None
) -> Path:
    """Write the traceback and `context` (redacted) next to the log; return the report's path."""
    target = folder or paths.log_dir()
    make_private_dir(target)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = target / f"crash-{stamp}.txt"
    lines = [
        f"mmtui {__version__} crash report, {stamp}",
        f"python {platform.python_version()} on {platform.platform()}",
        *(f"{key}: {value}" for key, value in sorted(context.items())),
        "",
        *traceback.format_exception(error),
    ]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(redact("\n".join(lines)))
    _restrict_mode(path, FILE_MODE)
    logging.getLogger(__name__).error("crash report written to %s", path)
    return path


@contextmanager
def stderr_to_log(log_path: Path | None) -> Iterator[None]:
    """Point file descriptor 2 at `log_path` and give Textual the terminal on a copy of it.

    Without a log file (`log_path` None), file descriptor 2 goes to the null device.

    Textual's Linux driver writes the screen to `sys.__stderr__`, read when the App and the
    driver are created, so this must be entered before the App is built. The terminal
    descriptor and `sys.__stderr__` are restored on exit, so a message printed afterwards (such
    as a crash report's path) reaches the terminal again.
    """
    original_stream = sys.__stderr__
    if original_stream is None:
        yield
        return
    try:
        sys.stderr.flush()
        original_stream.flush()
        target = log_path if log_path is not None else os.devnull
        log_fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    except (OSError, ValueError) as error:
        logging.getLogger(__name__).warning("cannot redirect standard error: %s", error)
        yield
        return
    terminal_fd = os.dup(2)
    terminal_stream = os.fdopen(
        terminal_fd,
        "w",
        encoding=original_stream.encoding,
        errors=original_stream.errors,
        closefd=False,
        buffering=1,
    )
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.__stderr__ = terminal_stream  # type: ignore[misc]
    try:
        yield
    finally:
        try:
            terminal_stream.flush()
        except OSError as error:
            # The terminal is gone (a closed window or SSH link): what it did not take is lost.
            logging.getLogger(__name__).info("cannot flush output to the terminal: %s", error)
        sys.__stderr__ = original_stream  # type: ignore[misc]
        os.dup2(terminal_fd, 2)
        with suppress(OSError):
            terminal_stream.close()
        os.close(terminal_fd)
