"""Time range parsing: durations, `now-…`, RFC 3339, two-instant ranges, `all`, and errors."""

import time
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from mmtui.timerange import (
    PRESETS,
    TimeRangeError,
    _format_utc_offset,
    parse_duration,
    parse_instant,
    parse_time_range,
)

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "lookback"),
    [
        ("1h", timedelta(hours=1)),
        ("90m", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("now-1h", timedelta(hours=1)),
        ("now - 15m", timedelta(minutes=15)),
    ],
)
def test_lookback_forms(text: str, lookback: timedelta) -> None:
    begin, end = parse_time_range(text).resolve(NOW)
    assert end == NOW
    assert begin == NOW - lookback


def test_all_means_no_range() -> None:
    time_range = parse_time_range("all")
    assert time_range.is_all
    assert time_range.resolve(NOW) == (None, None)
    assert time_range.label(NOW) == "all time"


def test_rfc3339_begin_until_now() -> None:
    begin, end = parse_time_range("2026-12-04T10:00:00+02:00").resolve(NOW)
    assert begin == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert end == NOW


def test_timestamp_without_offset_is_utc() -> None:
    begin, _ = parse_time_range("2026-12-04T10:00:00").resolve(NOW)
    assert begin == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_two_instants() -> None:
    begin, end = parse_time_range("now-2h..now-1h").resolve(NOW)
    assert begin == NOW - timedelta(hours=2)
    assert end == NOW - timedelta(hours=1)
    absolute = parse_time_range("2026-12-04T01:00:00Z..2026-12-04T02:30:00Z").resolve(NOW)
    assert absolute == (
        datetime(2026, 12, 4, 1, 0, tzinfo=UTC),
        datetime(2026, 12, 4, 2, 30, tzinfo=UTC),
    )


def test_relative_range_moves_with_clock() -> None:
    time_range = parse_time_range("1h")
    later = NOW + timedelta(minutes=10)
    assert time_range.resolve(later)[0] == later - timedelta(hours=1)


def test_resolved_bounds_are_aware_utc() -> None:
    begin, end = parse_time_range("5m").resolve()
    assert begin is not None and end is not None
    assert begin.utcoffset() == timedelta(0)
    assert end - begin == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("soon", "invalid time range 'soon'"),
        ("1h..soon", "use a duration such as 2h, now-1h"),
        ("7d..", "invalid range '7d..': the end is missing"),
        ("..now", "invalid range '..now': the beginning is missing"),
        ("-1h", "greater than zero"),
        ("0m", "greater than zero"),
        ("now-", "invalid time"),
        ("2026-13-01T00:00:00Z", "invalid time"),
        ("now-1h..now-2h", "beginning must be before the end"),
    ],
)
def test_invalid_input_message(text: str, fragment: str) -> None:
    with pytest.raises(TimeRangeError) as caught:
        parse_time_range(text)
    assert fragment in str(caught.value)


def test_unknown_text_lists_every_form() -> None:
    with pytest.raises(TimeRangeError) as caught:
        parse_time_range("yesterday")
    message = str(caught.value)
    assert "a duration such as 15m" in message
    assert "now-1h" in message
    assert "RFC 3339" in message
    assert "A..B" in message
    assert message.endswith("or all")


def test_label_utc_and_local() -> None:
    time_range = parse_time_range("1h")
    label = time_range.label(NOW)
    assert label == "last 1h: 2026-12-04 11:00 → 12:00 UTC"
    local = time_range.label(NOW, local=True)
    assert local.endswith("local")
    offset = NOW.astimezone().utcoffset() or timedelta(0)
    shifted = (NOW + offset).replace(tzinfo=timezone(offset))
    assert shifted.strftime("%H:%M") in local


def test_presets_parse() -> None:
    assert PRESETS == ("5m", "15m", "1h", "6h", "24h", "7d", "all")
    for preset in PRESETS:
        parse_time_range(preset)
    assert parse_duration("24h") == timedelta(days=1)


@pytest.mark.parametrize("preset", [preset for preset in PRESETS if preset != "all"])
def test_preset_matches_pandas(preset: str) -> None:
    # Presets skip pandas, so they must parse to what pandas gives for the same text.
    expected = pd.Timedelta(preset).to_pytimedelta()

    assert parse_duration(preset) == expected
    assert parse_duration(f" {preset} ") == expected


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59-12:00",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00+14:00..now",
        "2026-01-01T00:00:00Z..9999-12-31T23:59:59-12:00",
    ],
)
def test_offset_past_year_limits_rejected(text: str) -> None:
    with pytest.raises(TimeRangeError) as caught:
        parse_time_range(text)
    assert "out of range" in str(caught.value)
    assert "between years 1 and 9999" in str(caught.value)


@pytest.mark.parametrize("text", ["now-99999999d", "99999999d", "2026-01-01..now+99999999d"])
def test_huge_duration_says_too_large(text: str) -> None:
    with pytest.raises(TimeRangeError) as caught:
        parse_time_range(text)
    assert "duration too large" in str(caught.value)
    assert "invalid duration" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1H", timedelta(hours=1)),
        ("2 H", timedelta(hours=2)),
        ("1.5H", timedelta(minutes=90)),
        ("1d2H", timedelta(days=1, hours=2)),
        ("90T", timedelta(minutes=90)),
        ("30S", timedelta(seconds=30)),
        ("1500L", timedelta(milliseconds=1500)),
        ("2000U", timedelta(milliseconds=2)),
        ("3000N", timedelta(microseconds=3)),
        ("1Hour", timedelta(hours=1)),
    ],
)
def test_deprecated_letter_units_parsed(text: str, expected: timedelta) -> None:
    # pandas warns on these spellings and announces their removal.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["1M", "1h30M"])
def test_month_unit_still_rejected(text: str) -> None:
    with pytest.raises(TimeRangeError) as caught:
        parse_duration(text)
    assert "invalid duration" in str(caught.value)


def test_sub_microsecond_duration_rejected() -> None:
    with pytest.raises(TimeRangeError) as caught:
        parse_time_range("1ns")
    assert "at least 1 microsecond" in str(caught.value)


def test_resolve_overflow_is_time_range_error() -> None:
    near_end = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    time_range = parse_time_range("2026-01-01T00:00:00Z..now+2h")
    with pytest.raises(TimeRangeError) as caught:
        time_range.resolve(near_end)
    assert "between years 1 and 9999" in str(caught.value)


def test_label_spaced_now_form() -> None:
    label = parse_time_range("now - 1h").label(NOW)
    assert label == "last 1h: 2026-12-04 11:00 → 12:00 UTC"


def test_label_pads_early_years() -> None:
    label = parse_time_range("0001-01-01T00:00:00Z..0999-06-01T10:00:00Z").label(NOW)
    assert label == "0001-01-01 00:00 → 0999-06-01 10:00 UTC"


def test_local_label_overflow_is_time_range_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        time_range = parse_time_range("0001-01-01T00:00:00Z..0001-01-02T00:00:00Z")
        with pytest.raises(TimeRangeError) as caught:
            time_range.label(NOW, local=True)
        assert "local time zone" in str(caught.value)
        assert time_range.label(NOW) == "0001-01-01 00:00 → 0001-01-02 00:00 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_label_across_midnight_drops_year() -> None:
    just_after_midnight = datetime(2026, 12, 5, 0, 7, tzinfo=UTC)

    relative = parse_time_range("1h").label(just_after_midnight)
    absolute = parse_time_range("2026-12-04T23:07:00Z..2026-12-05T00:07:00Z").label()

    assert relative == "last 1h: 12-04 23:07 → 12-05 00:07 UTC"
    assert absolute == "2026-12-04 23:07 → 2026-12-05 00:07 UTC"


def test_durations_as_range_bounds() -> None:
    # `2h..1h` looks back from now at both ends, as `1h` alone does.
    begin, end = parse_time_range("2h..1h").resolve(NOW)
    assert begin == NOW - timedelta(hours=2)
    assert end == NOW - timedelta(hours=1)

    begin, end = parse_time_range("90m..now").resolve(NOW)
    assert begin == NOW - timedelta(minutes=90)
    assert end == NOW


def test_all_inside_range_rejected() -> None:
    with pytest.raises(TimeRangeError, match="'all' means no time range"):
        parse_time_range("all..now")


def test_naive_times_local_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        ten_utc = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
        ten_kolkata = datetime(2026, 12, 5, 4, 30, tzinfo=UTC)
        assert parse_instant("2026-12-05 10:00").at == ten_utc
        assert parse_instant("2026-12-05 10:00", local=True).at == ten_kolkata
        # An explicit offset wins over the display zone.
        assert parse_instant("2026-12-05T10:00Z", local=True).at == ten_utc

        both = parse_time_range("2026-12-05T10:00..2026-12-05T11:00", local=True)
        assert both.resolve(NOW) == (ten_kolkata, ten_kolkata + timedelta(hours=1))
        assert parse_time_range("2026-12-05T10:00", local=True).resolve(NOW)[0] == ten_kolkata
        with pytest.raises(TimeRangeError, match=r"out of range: .* in the local time zone"):
            parse_instant("0001-01-01T00:00", local=True)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_local_time_around_daylight_saving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        # 02:30 on 2026-03-08 is skipped, and 01:30 on 2026-11-01 happens twice.
        with pytest.raises(TimeRangeError, match=r"does not exist .* -05:00 or -04:00"):
            parse_time_range("2026-03-08 02:30..2026-03-08 03:30", local=True)
        with pytest.raises(TimeRangeError, match=r"happens twice .* -04:00 or -05:00"):
            parse_instant("2026-11-01 01:30", local=True)

        # With an offset, or away from the change, the time is read as typed.
        repeated = parse_instant("2026-11-01 01:30-05:00", local=True)
        assert repeated.at == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
        summer = parse_time_range("2026-07-01 12:00", local=True)
        assert summer.resolve(NOW)[0] == datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
        assert summer.text == "2026-07-01T12:00:00-04:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_naive_times_get_their_offset_in_text() -> None:
    assert parse_time_range("2026-12-05 10:00").text == "2026-12-05T10:00:00Z"
    assert parse_time_range("2026-12-05").text == "2026-12-05T00:00:00Z"
    mixed = parse_time_range("2026-12-05 10:00 .. 2026-12-05T13:00+02:00")
    assert mixed.text == "2026-12-05T10:00:00Z..2026-12-05T13:00+02:00"
    assert parse_time_range("2h..1h").text == "2h..1h"
    assert parse_time_range("now-2h..now").text == "now-2h..now"
    again = parse_time_range(mixed.text)
    assert again.resolve(NOW) == mixed.resolve(NOW)


def test_utc_offset_text_keeps_seconds() -> None:
    def offset_text(offset: timedelta) -> str:
        return _format_utc_offset(datetime(1880, 1, 1, tzinfo=timezone(offset)))

    assert offset_text(timedelta(hours=5, minutes=30)) == "+05:30"
    assert offset_text(timedelta(hours=-3, minutes=-30)) == "-03:30"
    assert offset_text(timedelta(0)) == "+00:00"
    # Local mean time of Kolkata in tzdata, before zones had whole minutes.
    assert offset_text(timedelta(hours=5, minutes=53, seconds=28)) == "+05:53:28"


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("2026-12-04T10:00Z±5m", "2026-12-04T10:00Z±5m"),
        ("2026-12-04T10:00Z +- 5m", "2026-12-04T10:00Z±5m"),
        ("2026-12-04T12:00:00+02:00+-5m", "2026-12-04T12:00:00+02:00±5m"),
        ("2026-12-04T10:00±5m", "2026-12-04T10:00:00Z±5m"),
    ],
)
def test_window_around_instant(text: str, stored: str) -> None:
    time_range = parse_time_range(text)

    assert time_range.text == stored
    assert time_range.resolve(NOW) == (
        datetime(2026, 12, 4, 9, 55, tzinfo=UTC),
        datetime(2026, 12, 4, 10, 5, tzinfo=UTC),
    )
    # The stored text reads back as the same window (history keeps it).
    assert parse_time_range(stored).resolve(NOW) == time_range.resolve(NOW)


def test_window_around_now_moves() -> None:
    time_range = parse_time_range("now±10m")

    assert time_range.resolve(NOW) == (NOW - timedelta(minutes=10), NOW + timedelta(minutes=10))


@pytest.mark.parametrize(
    ("text", "begin", "end"),
    [
        (
            "2026-12-04T10:00Z..+15m",
            datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
            datetime(2026, 12, 4, 10, 15, tzinfo=UTC),
        ),
        ("now-2h..+30m", NOW - timedelta(hours=2), NOW - timedelta(minutes=90)),
    ],
)
def test_end_as_length(text: str, begin: datetime, end: datetime) -> None:
    time_range = parse_time_range(text)

    assert time_range.text == text
    assert time_range.resolve(NOW) == (begin, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("21:10±5m", "a time of day needs its date"),
        ("1h±5m", "invalid time '1h'"),
        ("2026-12-04T10:00Z±0s", "greater than zero"),
        ("2026-12-04T10:00Z±soon", "invalid duration 'soon'"),
        ("2026-12-04T10:00Z..+0m", "greater than zero"),
        ("9999-12-31T23:59Z±1d", "out of range"),
    ],
)
def test_invalid_window_forms(text: str, message: str) -> None:
    with pytest.raises(TimeRangeError, match=message):
        parse_time_range(text)
