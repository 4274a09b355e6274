"""The one-line form of a query in the history picker."""

from __future__ import annotations

from mmtui.ui.history import ROW_SQL_CHARS, HistoryEntry, entry_text, summary_sql


def test_summary_drops_leading_comments() -> None:
    sql = "-- F5 runs the statement\n  -- second comment\n\nSELECT 1\n-- kept\nFROM t"
    assert summary_sql(sql) == "SELECT 1\n-- kept\nFROM t"


def test_summary_keeps_all_comment_sql() -> None:
    assert summary_sql("-- only a comment") == "-- only a comment"


def test_summary_keeps_plain_sql() -> None:
    assert summary_sql("SELECT 2") == "SELECT 2"


class _UnsplittableQuery(str):
    """A query text that fails the test when it is split or stripped as a whole."""

    def splitlines(self, keepends: bool = False) -> list[str]:
        raise AssertionError("the picker row split the whole query into lines")

    def split(self, sep: str | None = None, maxsplit: int = -1) -> list[str]:
        raise AssertionError("the picker row split the whole query into words")

    def strip(self, chars: str | None = None) -> str:
        raise AssertionError("the picker row stripped the whole query")


def test_row_of_huge_query_reads_start() -> None:
    # A history file can hold queries of megabytes, and the picker draws a row for each.
    columns = ", ".join(f"'{number:08d}' AS c{number}" for number in range(200_000))
    sql = _UnsplittableQuery(f"-- saved\n\nSELECT\n  {columns} FROM t")
    row = entry_text(HistoryEntry(sql, "2026-12-05T10:00:00+00:00", "1h")).plain

    expected_sql = " ".join(f"SELECT {columns}".split())[:ROW_SQL_CHARS]
    assert row == f"2026-12-05 10:00:00  {expected_sql}  · range 1h"


def test_row_of_short_query_after_comments() -> None:
    entry = HistoryEntry("-- one\n   -- two\nSELECT  1\n\tFROM t", "2026-12-05T10:00:00", "")
    assert entry_text(entry).plain == "2026-12-05 10:00:00  SELECT 1 FROM t"


def test_row_of_all_comment_query() -> None:
    entry = HistoryEntry("-- first\n-- second", "2026-12-05T10:00:00", "")
    assert entry_text(entry).plain == "2026-12-05 10:00:00  -- first -- second"
