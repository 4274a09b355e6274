"""Time range: number-key presets and the typed prompt change the header and the rows sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from mmtui.demo import DemoServerHandle
from mmtui.results import formatting
from mmtui.timerange import parse_time_range
from mmtui.ui.detail_screen import DetailScreen
from mmtui.ui.time_range_screen import TimeRangeScreen
from tests.ui.test_app_keys import post_keys
from tests.ui.test_app_support import (
    SIZE,
    first_value,
    make_app,
    run_and_wait,
    screen_text,
    wait_for,
    wait_schema,
)

ONE_HOUR = "2026-01-01T00:00:00Z..2026-01-01T01:00:00Z"
TWO_HOURS = "2026-01-01T00:00:00Z..2026-01-01T02:00:00Z"
COUNT_SQL = "SELECT count(*) AS n FROM log_entries"


async def test_preset_changes_header_and_rows(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        assert "all time" in app.header_text
        await run_and_wait(pilot, COUNT_SQL)
        everything = first_value(app)

        await pilot.press("f2")
        await pilot.press("1")
        assert "last 5m:" in app.header_text
        assert "UTC" in app.header_text
        await run_and_wait(pilot, COUNT_SQL)
        last_five_minutes = first_value(app)
        assert 0 <= last_five_minutes < everything

        # In the editor, digits are text, not presets.
        app.editor.focus()
        await pilot.press("3")
        assert "last 5m:" in app.header_text
        assert app.editor.text.endswith("3")

        await pilot.press("f2", "z")
        assert app.header_text.rstrip().endswith("local")


async def test_typed_range_prompt(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, TimeRangeScreen)
        await pilot.press("ctrl+a", "ctrl+k", *"soon", "enter")
        assert isinstance(app.screen, TimeRangeScreen)
        assert "invalid time range 'soon'" in str(app.screen.query_one("#time-range-error").content)

        await pilot.press("ctrl+u", *"now-90m", "enter")
        assert not isinstance(app.screen, TimeRangeScreen)
        assert "last 90m:" in app.header_text
        begin, end = app.time_range.resolve()
        assert begin is not None and end is not None
        assert (end - begin).total_seconds() == 90 * 60


async def test_prompt_window_around_time(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("ctrl+t")
        await pilot.press("ctrl+a", "ctrl+k", *"2026-01-01T01:00Z+-5m", "enter")

        assert not isinstance(app.screen, TimeRangeScreen)
        assert app.time_range.text == "2026-01-01T01:00Z±5m"
        assert "00:55 → 01:05 UTC" in app.header_text


async def test_prompt_error_shows_in_short_terminal(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    # At 60x15 the error sat below the help text, past the dialog's last visible line.
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=(60, 15)) as pilot:
        await wait_schema(pilot)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, TimeRangeScreen)
        await pilot.press("ctrl+a", "ctrl+k", *"soon", "enter")
        await pilot.pause()

        assert isinstance(app.screen, TimeRangeScreen), "the prompt stays open"
        assert "invalid time range 'soon'" in screen_text(app)


@pytest.mark.parametrize("typed", ["21:06..21:16", "21:06:30..now", "21:06:30"])
async def test_prompt_rejects_time_without_date(
    demo_server: DemoServerHandle, tmp_path: Path, typed: str
) -> None:
    # "21:06:30" used to be read as a look-back of 21 hours, and "21:06" as a bad duration.
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, TimeRangeScreen)
        await pilot.press("ctrl+a", "ctrl+k", *typed, "enter")
        await pilot.pause()

        assert isinstance(app.screen, TimeRangeScreen), "the prompt stays open"
        text = " ".join(screen_text(app).split())
        first_time = typed.split("..")[0]
        today = datetime.now(UTC).date().isoformat()
        assert f"invalid time '{first_time}': a time of day needs its date" in text
        assert f"such as {today}T{first_time}" in text
        assert app.time_range.text == "1h", "the range is unchanged"


@pytest.fixture
def kolkata_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make Asia/Kolkata (UTC+05:30) the local time zone for one test."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    # The local zone is read once per process; forget what earlier tests read.
    formatting._local_zone_name.cache_clear()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()
    formatting._local_zone_name.cache_clear()


@pytest.mark.usefixtures("kolkata_zone")
async def test_prompt_reads_naive_times_in_display_zone(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.press("f2", "z")
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, TimeRangeScreen)
        help_text = str(app.screen.query_one("#time-range-help").content)
        assert "Times without an offset are in the local time zone (IST, UTC+05:30)" in help_text

        typed = "2026-12-05 10:00..2026-12-05 11:00"
        await pilot.press("ctrl+a", "ctrl+k", *typed, "enter")
        assert not isinstance(app.screen, TimeRangeScreen)
        assert app.time_range.resolve() == (
            datetime(2026, 12, 5, 4, 30, tzinfo=UTC),
            datetime(2026, 12, 5, 5, 30, tzinfo=UTC),
        )
        assert "2026-12-05 10:00 → 11:00 local" in app.header_text

        # The prompt keeps the offset the times were read in, so that the range stays put in
        # UTC display. A time typed there without an offset is UTC.
        await pilot.press("f2", "z", "ctrl+t")
        prompt = app.screen.query_one("#time-range-input", Input)
        assert prompt.value == "2026-12-05T10:00:00+05:30..2026-12-05T11:00:00+05:30"
        help_text = str(app.screen.query_one("#time-range-help").content)
        assert "Times without an offset are UTC" in help_text
        await pilot.press("enter")
        assert app.time_range.resolve()[0] == datetime(2026, 12, 5, 4, 30, tzinfo=UTC)
        assert "2026-12-05 04:30 → 05:30 UTC" in app.header_text

        await pilot.press("ctrl+t", "ctrl+a", "ctrl+k", *"2026-12-05 10:00", "enter")
        assert app.time_range.resolve()[0] == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
        assert app.time_range.text == "2026-12-05T10:00:00Z"


async def test_header_offsets_across_dst_change(
    demo_server: DemoServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New York clocks go back from 02:00 to 01:00 on 2026-11-01, so 01:30 happens twice.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    formatting._local_zone_name.cache_clear()
    app = make_app(demo_server.uri, tmp_path, time_range="1h")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            await pilot.press("f2", "z", "ctrl+t")
            await pilot.press("ctrl+a", "ctrl+k", *"2026-11-01 01:30", "enter")
            assert isinstance(app.screen, TimeRangeScreen)
            error = str(app.screen.query_one("#time-range-error").content)
            assert "happens twice in the local time zone" in error
            assert "-04:00 or -05:00" in error

            typed = "2026-11-01T01:30-04:00..2026-11-01T01:30-05:00"
            await pilot.press("ctrl+a", "ctrl+k", *typed, "enter")
            assert not isinstance(app.screen, TimeRangeScreen)
            begin, end = app.time_range.resolve()
            assert begin == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
            assert end == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
            # Without offsets the header read "01:30 → 01:30" for this hour.
            assert "2026-11-01 01:30-04:00 → 01:30-05:00 local" in app.header_text

            await pilot.press("z")
            assert "2026-11-01 05:30 → 06:30 UTC" in app.header_text
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
        formatting._local_zone_name.cache_clear()


@pytest.mark.usefixtures("kolkata_zone")
async def test_zone_toggle_changes_grid_times(
    demo_server: DemoServerHandle, tmp_path: Path
) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await run_and_wait(pilot, "SELECT time FROM log_entries ORDER BY time LIMIT 1")
        utc_line = app.results.grid.line_text(1)
        assert utc_line.rstrip().endswith("Z")

        await pilot.press("f2", "z")
        await pilot.pause()

        local_line = app.results.grid.line_text(1)
        assert local_line.rstrip().endswith("+05:30")


@pytest.mark.usefixtures("kolkata_zone")
async def test_zone_toggle_notifies_zone(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    """The notification names the zone even when no time column is on screen."""
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        assert app.results.state == "idle"

        await pilot.press("f2", "z")
        messages = [notification.message for notification in app._notifications]
        assert messages[-1] == "Times show in local time (IST, UTC+05:30)"

        await pilot.press("z")
        messages = [notification.message for notification in app._notifications]
        assert messages[-1] == "Times show in UTC (columns with a time zone of their own keep it)"
        assert len(messages) == 2


FIXED_TIME_SQL = (
    "SELECT arrow_cast(TIMESTAMP '2024-03-05 12:34:56.123456789',"
    " 'Timestamp(Nanosecond, Some(\"+00:00\"))') AS t"
)


async def test_zone_toggle_changes_detail_times(
    demo_server: DemoServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    formatting._local_zone_name.cache_clear()
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            await run_and_wait(pilot, FIXED_TIME_SQL)
            await pilot.press("f4", "z")
            assert app.results.grid.line_text(1).rstrip().endswith("18:04:56.123456789+05:30")

            # Opened in local time: the detail shows what the grid shows.
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail")
            detail = app.screen
            assert isinstance(detail, DetailScreen)
            await wait_for(pilot, lambda: detail.text != "", "the detail text")
            assert detail.text == "2024-03-05 18:04:56.123456789+05:30"

            # Toggled while open: the detail follows at once.
            await pilot.press("z")
            await wait_for(pilot, lambda: "+05:30" not in detail.text, "the detail in UTC")
            assert detail.text == "2024-03-05 12:34:56.123456789+00:00"
            assert "12:34:56.123456789" in screen_text(app)

            await pilot.press("escape")
            assert app.results.grid.line_text(1).rstrip().endswith("12:34:56.123456789Z")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
        formatting._local_zone_name.cache_clear()


# glibc reads TZ as a zone file's path or as a POSIX rule, and /etc/localtime only without TZ.
@pytest.mark.parametrize("tz", [":/usr/share/zoneinfo/Asia/Kolkata", "IST-5:30"])
async def test_local_grid_follows_tz_path_or_rule(
    demo_server: DemoServerHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tz: str,
) -> None:
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    formatting._local_zone_name.cache_clear()
    app = make_app(demo_server.uri, tmp_path, time_range="all")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_schema(pilot)
            await run_and_wait(pilot, FIXED_TIME_SQL)
            await pilot.press("f4", "z")
            assert app.results.grid.line_text(1).rstrip().endswith("18:04:56.123456789+05:30")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
        formatting._local_zone_name.cache_clear()


async def test_range_typed_ahead_of_prompt(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # A terminal sends the burst at once: the range arrives before the prompt has its field.
    app = make_app(demo_server.uri, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        await post_keys(pilot, "ctrl+t", "1", "5", "m", "enter")
        await wait_for(pilot, lambda: "last 15m:" in app.header_text, "the typed range")

        assert app.screen is app.screen_stack[0]


async def test_ctrl_u_burst_in_prompt(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    app = make_app(demo_server.uri, tmp_path, time_range="6h")
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)

        await post_keys(pilot, "ctrl+t", "end", "ctrl+u", "1", "5", "m", "enter")
        await wait_for(pilot, lambda: "last 15m:" in app.header_text, "the typed range")

        assert app.screen is app.screen_stack[0]


async def test_header_repaints_only_changes(demo_server: DemoServerHandle, tmp_path: Path) -> None:
    # The header updates every 30 seconds. Over SSH each repaint costs bytes, and a layout
    # pass also repaints every scrollbar, so an unchanged header must not be repainted.
    app = make_app(demo_server.uri, tmp_path, time_range=ONE_HOUR)
    async with app.run_test(size=SIZE) as pilot:
        await wait_schema(pilot)
        await pilot.pause()
        refreshes: list[tuple[str, bool]] = []
        for widget in app.query("#app-header Static"):

            def count(*regions: object, name: str = str(widget.id), **kwargs: object) -> None:
                refreshes.append((name, bool(kwargs.get("layout", False))))

            widget.refresh = count  # type: ignore[method-assign]

        app._update_header()
        app._update_header()
        unchanged_refreshes = list(refreshes)

        # Both ranges' labels have the same width, so no layout pass is needed.
        app.set_time_range(parse_time_range(TWO_HOURS))
        range_text = app.header_text

    assert unchanged_refreshes == []
    assert "00:00 → 02:00 UTC" in range_text
    assert ("header-range", False) in refreshes
    assert ("header-range", True) not in refreshes
