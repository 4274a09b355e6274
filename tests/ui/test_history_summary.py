"""The one-line form of a query in the history picker."""

from __future__ import annotations

from mmtui.ui.history import summary_sql


def test_summary_drops_leading_comments() -> None:
    sql = "-- F5 runs the statement\n  -- second comment\n\nSELECT 1\n-- kept\nFROM t"
    assert summary_sql(sql) == "SELECT 1\n-- kept\nFROM t"


def test_summary_keeps_all_comment_sql() -> None:
    assert summary_sql("-- only a comment") == "-- only a comment"


def test_summary_keeps_plain_sql() -> None:
    assert summary_sql("SELECT 2") == "SELECT 2"
