"""The log file's time format: UTC in RFC 3339 form with a `Z`."""

from __future__ import annotations

import logging

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
