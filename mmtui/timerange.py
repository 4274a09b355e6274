"""Time ranges as users type them, resolved to the `query_range_*` bounds sent with each call.

Pure code (no Textual): parsing, presets and the header label. Accepted forms:

- `all` (or an empty string): no range, the server scans all time;
- a look-back duration parsed by `pandas.Timedelta`: `5m`, `90m`, `1h30m`, `7d`;
- an instant, `now-1h` or RFC 3339 (`2026-12-04T10:00:00Z`, `...+02:00`), meaning "from then
  until now";
- two instants joined by `..`: `now-2h..now-1h`, `2026-12-04T10:00Z..2026-12-04T11:00Z`.

Relative forms are stored unresolved and resolved against the clock at each call, so "last 1h"
keeps moving while the app runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

PRESETS: tuple[str, ...] = ("5m", "15m", "1h", "6h", "24h", "7d", "all")
"""Presets bound to the number keys 1..7, in that order."""

DEFAULT_RANGE = "1h"
"""Range used when the settings name none."""

_NOW_PATTERN = re.compile(r"^now\s*(?:(?P<sign>[-+])\s*(?P<delta>.+))?$", re.IGNORECASE)


class TimeRangeError(ValueError):
    """A time range or instant that cannot be parsed; the message lists the accepted forms."""


@dataclass(frozen=True)
class Instant:
    """A point in time: absolute (`at`) or relative to now (`offset` added to now)."""

    at: datetime | None = None
    offset: timedelta | None = None

    def resolve(self, now: datetime) -> datetime:
        if self.at is not None:
            return self.at
        return now + (self.offset or timedelta(0))


@dataclass(frozen=True)
class TimeRange:
    """A parsed range; `begin is None` means no range ("all")."""

    text: str
    begin: Instant | None = None
    end: Instant | None = None

    @property
    def is_all(self) -> bool:
        return self.begin is None

    def resolve(self, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        """Return (begin, end) as UTC datetimes for a call made at `now`, or (None, None)."""
        if self.begin is None:
            return None, None
        now = now or datetime.now(UTC)
        end = self.end.resolve(now) if self.end is not None else now
        return self.begin.resolve(now), end

    def label(self, now: datetime | None = None, local: bool = False) -> str:
        """Describe the range for the header, in UTC or in the local time zone."""
        if self.begin is None:
            return "all time"
        begin, end = self.resolve(now)
        assert begin is not None and end is not None
        zone_name = "local" if local else "UTC"
        first = _format_instant(begin, local)
        last = _format_instant(end, local)
        if first[:10] == last[:10]:
            last = last[11:]
        relative = self.end is None and self.begin.at is None
        prefix = f"last {self.text.removeprefix('now-').strip()}: " if relative else ""
        return f"{prefix}{first} → {last} {zone_name}"


def _format_instant(moment: datetime, local: bool) -> str:
    shown = moment.astimezone() if local else moment.astimezone(UTC)
    return shown.strftime("%Y-%m-%d %H:%M")


def parse_duration(text: str) -> timedelta:
    """Parse a positive duration such as `90m`, `1h30m` or `7d` (pandas Timedelta syntax)."""
    cleaned = text.strip()
    if not cleaned:
        raise TimeRangeError("missing duration: use a value such as 15m, 1h30m or 7d")
    try:
        value = pd.Timedelta(cleaned)
    except (ValueError, TypeError) as error:
        raise TimeRangeError(
            f"invalid duration {cleaned!r}: use a value such as 15m, 1h30m or 7d"
        ) from error
    if pd.isna(value) or value <= pd.Timedelta(0):
        raise TimeRangeError(f"invalid duration {cleaned!r}: it must be greater than zero")
    return value.to_pytimedelta()


def parse_instant(text: str) -> Instant:
    """Parse `now`, `now-1h`, `now+5m` or an RFC 3339 timestamp.

    A timestamp without an offset is taken as UTC, the zone the header shows by default.
    """
    cleaned = text.strip()
    match = _NOW_PATTERN.match(cleaned)
    if match:
        if match.group("delta") is None:
            return Instant(offset=timedelta(0))
        delta = parse_duration(match.group("delta"))
        return Instant(offset=-delta if match.group("sign") == "-" else delta)
    try:
        moment = datetime.fromisoformat(cleaned.replace("z", "Z").replace(" ", "T", 1))
    except ValueError as error:
        raise TimeRangeError(
            f"invalid time {cleaned!r}: use now-1h or RFC 3339 such as 2026-12-04T10:00:00Z"
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return Instant(at=moment.astimezone(UTC))


def parse_time_range(text: str) -> TimeRange:
    """Parse what a user typed in the time range prompt; raises TimeRangeError."""
    cleaned = text.strip()
    if cleaned.lower() in ("", "all"):
        return TimeRange(text="all")
    if ".." in cleaned:
        first, _, last = cleaned.partition("..")
        begin = parse_instant(first)
        end = parse_instant(last)
        _check_order(begin, end, cleaned)
        return TimeRange(text=cleaned, begin=begin, end=end)
    if cleaned.lower().startswith("now") or (cleaned[:1].isdigit() and "-" in cleaned[1:5]):
        begin = parse_instant(cleaned)
        _check_order(begin, Instant(offset=timedelta(0)), cleaned)
        return TimeRange(text=cleaned, begin=begin)
    return TimeRange(text=cleaned, begin=Instant(offset=-parse_duration(cleaned)))


def _check_order(begin: Instant, end: Instant, text: str) -> None:
    now = datetime.now(UTC)
    if begin.resolve(now) >= end.resolve(now):
        raise TimeRangeError(f"invalid range {text!r}: the beginning must be before the end")
