"""Logging to a file (never the screen, which Textual owns) and redacted crash reports.

The log and crash reports go to platformdirs `user_log_dir`. Every record is formatted through
`redact`, which masks bearer values, JWTs and `token`/`secret`/`key` fields, so a token that
reaches a log message by mistake is not written out.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import re
import traceback
from datetime import UTC, datetime
from pathlib import Path

from mmtui import __version__, paths

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1<redacted>"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "<redacted-jwt>"),
    (
        re.compile(
            r"(?i)([\"']?(?:[a-z_]*token|client_secret|secret|api_key|apikey|password|"
            r"authorization)[\"']?\s*[:=]\s*[\"']?)[^\"',\s}]+"
        ),
        r"\1<redacted>",
    ),
)


def redact(text: str) -> str:
    """Mask bearer values, JWTs and the values of token/secret/key fields in `text`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, tracebacks included, goes through `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(log_path: Path | None = None, level: int = logging.INFO) -> Path:
    """Send the root logger to a rotating file (created with its folder); return its path."""
    path = log_path or paths.log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        # Console handlers only (FileHandler is a StreamHandler subclass and stays).
        if type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return path


def write_crash_report(
    error: BaseException, context: dict[str, str], folder: Path | None = None
) -> Path:
    """Write the traceback and `context` (redacted) next to the log; return the report's path."""
    target = folder or paths.log_dir()
    target.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = target / f"crash-{stamp}.txt"
    lines = [
        f"mmtui {__version__} crash report, {stamp}",
        f"python {platform.python_version()} on {platform.platform()}",
        *(f"{key}: {value}" for key, value in sorted(context.items())),
        "",
        *traceback.format_exception(error),
    ]
    path.write_text(redact("\n".join(lines)), encoding="utf-8")
    logging.getLogger(__name__).error("crash report written to %s", path)
    return path
