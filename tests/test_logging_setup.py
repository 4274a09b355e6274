"""The log file's line format: UTC times in RFC 3339 form with a `Z`, and escaped controls."""

from __future__ import annotations

import logging
import sys

from mmtui.logging_setup import RedactingFormatter

CREATED = 1_796_400_000.25
"""2026-12-04T16:00:00.250Z as a Unix time."""


def make_record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("mmtui.test", logging.INFO, __file__, 1, message, None, None)
    record.created = CREATED
    return record


def test_time_is_utc_with_z() -> None:
    formatter = RedactingFormatter("%(asctime)s %(message)s")

    line = formatter.format(make_record("hello"))

    assert line == "2026-12-04T16:00:00.250Z hello"


def test_controls_in_message_escaped() -> None:
    formatter = RedactingFormatter("%(levelname)s %(message)s")
    # A server error with a title-setting OSC sequence and a forged second log line.
    message = "failed: \x1b]2;owned\x07\n2026-12-04T16:00:00.000Z ERROR mmtui forged\r\tend"

    line = formatter.format(make_record(message))

    assert line == (
        "INFO failed: \\x1b]2;owned\\x07\\n2026-12-04T16:00:00.000Z ERROR mmtui forged\\r\tend"
    )
    assert "\n" not in line


def test_controls_in_traceback_escaped() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError("bad \x1b[2J value\n2026-12-04T16:00:00.000Z INFO mmtui forged")
    except ValueError:
        record = logging.LogRecord(
            "mmtui.test", logging.ERROR, __file__, 1, "caught", None, sys.exc_info()
        )

    text = formatter.format(record)

    assert "ValueError: bad \\x1b[2J value" in text
    assert "\x1b" not in text
    assert text.count("\n") >= 3, "a traceback keeps its lines"
    record_line, *traceback_lines = text.split("\n")
    assert record_line == "caught"
    assert all(line.startswith("  ") for line in traceback_lines)
    assert "  2026-12-04T16:00:00.000Z INFO mmtui forged" in traceback_lines
