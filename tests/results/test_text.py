"""Safe text, cell widths, truncation and the vectorised string width measurement."""

import random

import pyarrow as pa
import pytest
from rich.cells import cell_len

from mmtui.results.text import ELLIPSIS, cell_width, safe_text, truncate_cells
from mmtui.results.widths import string_cell_widths, string_max_cells


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("\x1b]0;pwned\x07", "\u241b]0;pwned\u2407"),
        ("\x1b[2J", "\u241b[2J"),
        ("a\nb\tc\rd", "a\u240ab\u2409c\u240dd"),
        ("nul\x00", "nul\u2400"),
        ("del\x7f", "del\u2421"),
        ("csi\x9b31m", "csi<U+009B>31m"),
        ("next\x85line", "next<U+0085>line"),
        ("\u202egnp.exe", "<U+202E>gnp.exe"),
        ("a\u2066b\u2069", "a<U+2066>b<U+2069>"),
        ("\u200e\u200f\u061c", "<U+200E><U+200F><U+061C>"),
        ("line\u2028sep", "line<U+2028>sep"),
        ("[bold]markup[/]", "[bold]markup[/]"),
        ("日本語 é 🎉", "日本語 é 🎉"),
    ],
)
def test_safe_text_cases(raw: str, expected: str) -> None:
    assert safe_text(raw) == expected


def test_safe_text_lone_surrogate() -> None:
    assert safe_text("a\ud800b") == "a<U+D800>b"


def test_safe_text_long_ascii_controls() -> None:
    text = "\x1b" * 100_000
    assert safe_text(text) == "\u241b" * 100_000


@pytest.mark.parametrize(
    ("text", "cells"),
    [("abc", 3), ("日本", 4), ("e\u0301", 1), ("🎉", 2), ("👨\u200d👩\u200d👧", 2), ("", 0)],
)
def test_cell_width_cases(text: str, cells: int) -> None:
    assert cell_width(text) == cells


def test_truncate_fitting_text_unchanged() -> None:
    assert truncate_cells("abcdef", 6) == "abcdef"
    assert truncate_cells("日本", 4) == "日本"


def test_truncate_ascii_adds_ellipsis() -> None:
    assert truncate_cells("abcdefgh", 5) == "abcd" + ELLIPSIS


def test_truncate_wide_never_splits_cell() -> None:
    # Four cells for text: one 2-cell character fits, the next would overflow.
    result = truncate_cells("日本語です", 4)
    assert result == "日" + ELLIPSIS
    assert cell_width(result) <= 4


def test_truncate_keeps_combining_mark() -> None:
    text = "e\u0301" * 10
    result = truncate_cells(text, 4)
    assert result == "e\u0301e\u0301e\u0301" + ELLIPSIS


def test_truncate_keeps_zwj_family_whole() -> None:
    family = "👨\u200d👩\u200d👧"
    result = truncate_cells(family + "abc", 3)
    assert result == family + ELLIPSIS


def test_truncate_huge_value_is_bounded() -> None:
    text = "x" * 5_000_000
    assert truncate_cells(text, 10) == "x" * 9 + ELLIPSIS


def test_truncate_zero_cells_empty() -> None:
    assert truncate_cells("abc", 0) == ""


def _expected_widths(values: list[str | None]) -> list[int | None]:
    return [None if v is None else cell_len(safe_text(v)) for v in values]


def test_string_widths_ascii() -> None:
    values = ["", "a", "hello world", "tab\there", None, "esc\x1b[0m"]
    assert string_cell_widths(pa.array(values)).to_pylist() == [0, 1, 11, 8, None, 7]


def test_string_widths_cjk_emoji_combining() -> None:
    values = [
        "日本語",
        "🎉",
        "e\u0301",
        "Ünïcödé",
        "❤\ufe0f",
        "👨\u200d👩\u200d👧",
        "a\u200db",
        None,
    ]
    got = string_cell_widths(pa.array(values)).to_pylist()
    assert got == [6, 2, 1, 7, 2, 2, 1, None]
    assert got == _expected_widths(values)


def test_string_widths_escapes_count_visible_cells() -> None:
    values = ["x\x9by", "\u202eabc", "é\x1b"]
    got = string_cell_widths(pa.array(values)).to_pylist()
    assert got == [10, 11, 2]
    assert got == _expected_widths(values)


def test_string_widths_match_rich_on_random_text() -> None:
    alphabet = (
        [chr(c) for c in range(0x20, 0x7F)]
        + [chr(c) for c in range(0x300, 0x320)]
        + [chr(c) for c in range(0x4E00, 0x4E20)]
        + [chr(c) for c in range(0x1F600, 0x1F620)]
        + ["é", "ß", "\x1b", "\x9b", "\u202e", "\t"]
    )
    generator = random.Random(7)
    values = [
        "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 40)))
        for _ in range(3000)
    ]
    got = string_cell_widths(pa.array(values)).to_pylist()
    assert got == _expected_widths(values)


def test_string_max_cells_large_string_type() -> None:
    array = pa.array(["ab", "日本語語", None], pa.large_string())
    assert string_max_cells(array) == 8


def test_string_max_cells_empty_and_null() -> None:
    assert string_max_cells(pa.array([], pa.string())) == 0
    assert string_max_cells(pa.array([None, None], pa.string())) == 0
