"""Time ranges as users type them, resolved to the `query_range_*` bounds sent with each call.

Pure code (no Textual): parsing, presets and the header label. Accepted forms:

- `all` (or an empty string): no range, the server scans all time;
- a look-back duration parsed by `pandas.Timedelta`: `5m`, `90m`, `1h30m`, `7d`;
- an instant, `now-1h` or RFC 3339 (`2026-12-04T10:00:00Z`, `...+02:00`), meaning "from then
  until now";
- two instants joined by `..`: `now-2h..now-1h`, `2026-12-04T10:00Z..2026-12-04T11:00Z`, whose
  end may be a duration after the beginning: `2026-12-04T10:00Z..+15m`;
- a window around an instant, `2026-12-04T10:00Z±5m`, with `+-` for `±`.

Relative forms are stored unresolved and resolved against the clock at each call, so "last 1h"
keeps moving while the app runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PRESETS: tuple[str, ...] = ("5m", "15m", "1h", "6h", "24h", "7d", "all")
"""Presets bound to the number keys 1..7, in that order."""

_PRESET_DURATIONS = {
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
"""The look-back presets, parsed without pandas.

Importing pandas took about 0.4 s (2-core VM), and the default range is parsed at start-up.
So pandas is imported on the first duration that is not a preset, by then usually in memory
already: the results pane imports it on a background thread after start-up."""

_LETTER_UNITS = {"H": "h", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns"}
"""One-letter duration units that pandas deprecates, by the spelling it keeps. pandas writes a
FutureWarning to stderr for each and announces their removal, and people still type `1H`."""

_LETTER_UNIT_PATTERN = re.compile(r"(?<=[\d.\s])[HTSLUN](?![A-Za-z])")
"""A deprecated one-letter unit after a number: `1H`, `2 H`, `1.5H`, the `H` of `1d2H`."""

DEFAULT_RANGE = "1h"
"""Range used when the settings name none."""

_NOW_PATTERN = re.compile(r"^now\s*(?:(?P<sign>[-+])\s*(?P<delta>.+))?$", re.IGNORECASE)

_AROUND_PATTERN = re.compile(r"^(?P<center>.+?)\s*(?:±|\+-)\s*(?P<half>[^±]+)$")
"""A window around an instant: `2026-12-04T10:00Z±5m`, or `+-` for `±`. RFC 3339 text never
contains `+-`."""

_TIME_OF_DAY_PATTERN = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
"""A time of day typed without its date, such as `21:06` or `21:06:30`."""


YEAR_RANGE_TEXT = "must be between years 1 and 9999"
"""The limit of Python's `datetime`, quoted in out-of-range errors."""


class TimeRangeError(ValueError):
    """A time range or instant that cannot be parsed or resolved. The message names valid forms.

    Also raised, in place of OverflowError, when an instant falls outside years 1 to 9999 once
    it is converted to UTC, resolved against the clock or shown in the local time zone.
    """


class DurationFormatError(TimeRangeError):
    """Text that is no duration at all, as opposed to a duration out of bounds."""


class RangeOrderError(TimeRangeError):
    """A range whose beginning is not before its end, with both ends as parsed."""

    def __init__(self, message: str, begin: Instant, end: Instant) -> None:
        super().__init__(message)
        self.begin = begin
        self.end = end


@dataclass(frozen=True)
class Instant:
    """A point in time: absolute (`at`) or relative to now (`offset` added to now)."""

    at: datetime | None = None
    offset: timedelta | None = None

    def resolve(self, now: datetime) -> datetime:
        """Return the instant for a call made at `now`; raises TimeRangeError on overflow."""
        if self.at is not None:
            return self.at
        try:
            return now + (self.offset or timedelta(0))
        except OverflowError as error:
            raise TimeRangeError(
                f"out of range: now {_format_offset(self.offset)} {YEAR_RANGE_TEXT}"
            ) from error


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
        """Describe the range for the header, in UTC or in the local time zone.

        Raises TimeRangeError when an end of the range is outside years 1 to 9999 in the local
        time zone (for example year 1 at 00:00 UTC, west of Greenwich).
        """
        if self.begin is None:
            return "all time"
        begin, end = self.resolve(now)
        assert begin is not None and end is not None
        zone_name = "local" if local else "UTC"
        first = _format_instant(begin, local)
        last = _format_instant(end, local)
        if local and begin.astimezone().utcoffset() != end.astimezone().utcoffset():
            # A daylight saving change lies between the ends, so wall-clock times alone mislead:
            # when clocks go back, 01:30 → 01:30 is an hour. Each end then shows its offset.
            first += _format_utc_offset(begin.astimezone())
            last += _format_utc_offset(end.astimezone())
        relative = self.end is None and self.begin.at is None
        if first[:10] == last[:10]:
            last = last[11:]
        elif relative and first[:5] == last[:5]:
            # A look-back range ends now, so its year goes without saying. Without it, a range
            # across midnight still fits an 80-column header beside the server address.
            first, last = first[5:], last[5:]
        prefix = f"last {_lookback_text(self.text)}: " if relative else ""
        return f"{prefix}{first} → {last} {zone_name}"


def _lookback_text(text: str) -> str:
    """Return the duration of a look-back range: `1h` for `1h`, `now-1h` and `now - 1h`."""
    match = _NOW_PATTERN.match(text.strip())
    if match and match.group("delta") is not None:
        return match.group("delta").strip()
    return text.strip()


def _format_offset(offset: timedelta | None) -> str:
    value = offset or timedelta(0)
    return f"- {-value}" if value < timedelta(0) else f"+ {value}"


def _format_instant(moment: datetime, local: bool) -> str:
    try:
        converted = moment.astimezone() if local else moment.astimezone(UTC)
    except OverflowError as error:
        zone = "the local time zone" if local else "UTC"
        raise TimeRangeError(
            f"out of range: {moment.isoformat()} in {zone} {YEAR_RANGE_TEXT}"
        ) from error
    # `%Y` drops leading zeros for years before 1000 on glibc, so the year is padded here.
    return f"{converted.year:04d}-{converted:%m-%d %H:%M}"


def parse_duration(text: str) -> timedelta:
    """Parse a positive duration such as `90m`, `1h30m` or `7d` (pandas Timedelta syntax)."""
    cleaned = text.strip()
    if not cleaned:
        raise TimeRangeError("missing duration: use a value such as 15m, 1h30m or 7d")
    preset = _PRESET_DURATIONS.get(cleaned)
    if preset is not None:
        return preset

    import pandas as pd
    from pandas.errors import OutOfBoundsDatetime, OutOfBoundsTimedelta

    spelled = _LETTER_UNIT_PATTERN.sub(lambda match: _LETTER_UNITS[match.group()], cleaned)
    try:
        value = pd.Timedelta(spelled)
    except (OutOfBoundsTimedelta, OutOfBoundsDatetime, OverflowError) as error:
        # pandas stores a Timedelta as int64 nanoseconds, so about 106,751 days is the limit.
        raise TimeRangeError(
            f"duration too large: {cleaned!r} exceeds the maximum of about 106,751 days (292 years)"
        ) from error
    except (ValueError, TypeError) as error:
        raise DurationFormatError(
            f"invalid duration {cleaned!r}: use a value such as 15m, 1h30m or 7d"
        ) from error
    if pd.isna(value) or value <= pd.Timedelta(0):
        raise TimeRangeError(f"invalid duration {cleaned!r}: it must be greater than zero")
    duration = value.to_pytimedelta()
    if duration < timedelta(microseconds=1):
        # Python's timedelta counts whole microseconds, so 1ns would become an empty range.
        raise TimeRangeError(f"invalid duration {cleaned!r}: it must be at least 1 microsecond")
    return duration


def parse_instant(text: str, local: bool = False) -> Instant:
    """Parse `now`, `now-1h`, `now+5m` or an RFC 3339 timestamp.

    A timestamp without an offset is taken as UTC, the zone the header shows by default, or
    with `local` as the local time zone, the zone of the header and grid in local display.
    """
    return _parse_instant(text, local)[0]


INSTANT_FORMS = "now-1h or RFC 3339 such as 2026-12-04T10:00:00Z"
"""The forms `parse_instant` reads, as an invalid time's message lists them."""

BOUND_FORMS = "a duration such as 2h, now-1h, or RFC 3339 such as 2026-12-04T10:00:00Z"
"""The forms one end of an `A..B` range may take, which include a look-back duration."""

RANGE_FORMS = (
    "a duration such as 15m, 1h30m or 7d, now-1h, RFC 3339 such as 2026-12-04T10:00:00Z, "
    "A..B between two of those, A..+15m, T±5m around a time, or all"
)
"""Every form `parse_time_range` reads."""


def _parse_instant(text: str, local: bool, forms: str = INSTANT_FORMS) -> tuple[Instant, str]:
    """Parse like `parse_instant`, and also return the text with the offset it was read in.

    A timestamp typed without an offset comes back with it (`Z` or `+05:30`), so that the text
    keeps its meaning when the display zone changes. Other text comes back stripped. `forms`
    is what an invalid time's message suggests instead.
    """
    cleaned = text.strip()
    match = _NOW_PATTERN.match(cleaned)
    if match:
        if match.group("delta") is None:
            return Instant(offset=timedelta(0)), cleaned
        delta = parse_duration(match.group("delta"))
        return Instant(offset=-delta if match.group("sign") == "-" else delta), cleaned
    try:
        moment = datetime.fromisoformat(cleaned.replace("z", "Z").replace(" ", "T", 1))
    except ValueError as error:
        raise TimeRangeError(f"invalid time {cleaned!r}: use {forms}") from error
    naive = moment.tzinfo is None
    if naive and local:
        moment = _local_moment(moment, cleaned)
    elif naive:
        moment = moment.replace(tzinfo=UTC)
    try:
        instant = Instant(at=moment.astimezone(UTC))
    except OverflowError as error:
        raise TimeRangeError(f"out of range: {cleaned!r} in UTC {YEAR_RANGE_TEXT}") from error
    if not naive:
        return instant, cleaned
    explicit = moment.isoformat()
    if not local:
        # Read as UTC, so the offset is +00:00, which RFC 3339 also writes Z.
        explicit = explicit.removesuffix("+00:00") + "Z"
    return instant, explicit


def _local_moment(naive: datetime, text: str) -> datetime:
    """Read a wall-clock time in the local time zone.

    Raises TimeRangeError when the time is out of range there, or when a daylight saving
    change skips it or repeats it: the user must then say which offset is meant.
    """
    try:
        # A naive datetime's `astimezone` reads it as local time, and `fold` picks the occurrence.
        first = naive.replace(fold=0).astimezone()
        second = naive.replace(fold=1).astimezone()
        round_trip = first.astimezone(UTC).astimezone().replace(tzinfo=None)
    except (OverflowError, OSError, ValueError) as error:
        raise TimeRangeError(
            f"out of range: {text!r} in the local time zone {YEAR_RANGE_TEXT}"
        ) from error
    if first.utcoffset() == second.utcoffset():
        return first
    offsets = f"{_format_utc_offset(first)} or {_format_utc_offset(second)}"
    if round_trip != naive:
        raise TimeRangeError(
            f"{text!r} does not exist in the local time zone (a daylight saving change "
            f"skips it): add an offset, such as {offsets}"
        )
    raise TimeRangeError(
        f"{text!r} happens twice in the local time zone (a daylight saving change): "
        f"add an offset, {offsets}"
    )


def utc_offset_text(offset_seconds: int) -> str:
    """Return a UTC offset as RFC 3339 writes it (`+05:30`, `-04:00`), with seconds when it
    has some: local mean time offsets before 1900 do, such as Paris +00:09:21."""
    sign = "+" if offset_seconds >= 0 else "-"
    hours, remainder = divmod(abs(offset_seconds), 3600)
    minutes, seconds = divmod(remainder, 60)
    suffix = f":{seconds:02d}" if seconds else ""
    return f"{sign}{hours:02d}:{minutes:02d}{suffix}"


def _format_utc_offset(moment: datetime) -> str:
    """Return the UTC offset of an aware `moment` (see `utc_offset_text`)."""
    offset = moment.utcoffset() or timedelta(0)
    return utc_offset_text(int(offset.total_seconds()))


def parse_time_range(text: str, local: bool = False) -> TimeRange:
    """Parse what a user typed in the time range prompt. Raises TimeRangeError.

    `local` reads timestamps without an offset as local time (see `parse_instant`).
    """
    cleaned = text.strip()
    if cleaned.lower() in ("", "all"):
        return TimeRange(text="all")
    around = _AROUND_PATTERN.match(cleaned)
    if around is not None and ".." not in cleaned:
        return _parse_around(around.group("center"), around.group("half"), local, cleaned)
    if ".." in cleaned:
        first, _, last = cleaned.partition("..")
        for side, bound in (("beginning", first), ("end", last)):
            if not bound.strip():
                raise TimeRangeError(
                    f"invalid range {cleaned!r}: the {side} is missing, as in now-2h..now-1h"
                )
        if "all" in (first.strip().lower(), last.strip().lower()):
            raise TimeRangeError(
                f"invalid range {cleaned!r}: 'all' means no time range, so use it alone"
            )
        begin, begin_text = _parse_bound(first, local)
        if last.strip().startswith("+"):
            # A duration after the beginning: `2026-12-04T10:00Z..+15m`.
            length_text = last.strip()[1:].strip()
            end, end_text = _shift(begin, parse_duration(length_text), cleaned), f"+{length_text}"
        else:
            end, end_text = _parse_bound(last, local)
        _check_order(begin, end, cleaned)
        return TimeRange(text=f"{begin_text}..{end_text}", begin=begin, end=end)
    if cleaned.lower().startswith("now") or (cleaned[:1].isdigit() and "-" in cleaned[1:5]):
        begin, begin_text = _parse_instant(cleaned, local)
        _check_order(begin, Instant(offset=timedelta(0)), cleaned)
        return TimeRange(text=begin_text, begin=begin)
    _reject_time_of_day(cleaned, local)
    try:
        duration = parse_duration(cleaned)
    except DurationFormatError as error:
        # The text may have been meant as a time or a range, so every form is listed.
        raise TimeRangeError(f"invalid time range {cleaned!r}: use {RANGE_FORMS}") from error
    begin = Instant(offset=-duration)
    _check_order(begin, Instant(offset=timedelta(0)), cleaned)
    return TimeRange(text=cleaned, begin=begin)


def _parse_around(center: str, half: str, local: bool, text: str) -> TimeRange:
    """Parse `center±half`: the window from `half` before the instant `center` to `half` after."""
    _reject_time_of_day(center.strip(), local)
    middle, middle_text = _parse_instant(center, local)
    half_width = parse_duration(half)
    begin = _shift(middle, -half_width, text)
    end = _shift(middle, half_width, text)
    _check_order(begin, end, text)
    return TimeRange(text=f"{middle_text}±{half.strip()}", begin=begin, end=end)


def _shift(instant: Instant, delta: timedelta, text: str) -> Instant:
    """Return `instant` moved by `delta`, absolute or relative as it is."""
    if instant.at is None:
        return Instant(offset=(instant.offset or timedelta(0)) + delta)
    try:
        return Instant(at=instant.at + delta)
    except OverflowError as error:
        raise TimeRangeError(f"out of range: {text!r} {YEAR_RANGE_TEXT}") from error


def _parse_bound(text: str, local: bool) -> tuple[Instant, str]:
    """Parse one end of an `A..B` range: a look-back duration (`2h`) or `parse_instant`'s forms.

    Also returns its text, with the offset a timestamp was read in (see `_parse_instant`).
    """
    cleaned = text.strip()
    _reject_time_of_day(cleaned, local)
    if _looks_like_duration(cleaned):
        return Instant(offset=-parse_duration(cleaned)), cleaned
    return _parse_instant(cleaned, local, BOUND_FORMS)


def _reject_time_of_day(text: str, local: bool) -> None:
    """Raise TimeRangeError for a time of day without a date, which reads like a duration.

    The message's example puts today's date (UTC, or local with `local`) before the time.
    """
    if not _TIME_OF_DAY_PATTERN.match(text):
        return
    today = datetime.now().date() if local else datetime.now(UTC).date()
    raise TimeRangeError(
        f"invalid time {text!r}: a time of day needs its date, such as {today.isoformat()}T{text}"
    )


def _looks_like_duration(text: str) -> bool:
    # An RFC 3339 date has its first "-" within the first five characters (2026-...).
    return text[:1].isdigit() and "-" not in text[1:5]


def _check_order(begin: Instant, end: Instant, text: str) -> None:
    """Raise TimeRangeError unless both ends resolve now, and RangeOrderError unless `begin`
    comes first."""
    now = datetime.now(UTC)
    if begin.resolve(now) >= end.resolve(now):
        raise RangeOrderError(
            f"invalid range {text!r}: the beginning must be before the end", begin, end
        )
