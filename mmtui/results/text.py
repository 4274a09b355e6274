"""Safe display text: control characters made visible, widths in terminal cells, truncation.

Every string that reaches the screen goes through `safe_text`, so a log message can never write
an escape sequence, a raw newline or a bidi override to the terminal. Widths follow
`rich.cells` (rich is Textual's renderer, so the grid lays text out with the same numbers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rich.cells import cell_len

_split_graphemes: Callable[[str], tuple[Any, int]] | None
try:
    from rich.cells import split_graphemes as _split_graphemes
except ImportError:  # rich before 14.1
    _split_graphemes = None

NULL_TEXT = "∅"
"""Display text of a null value."""

ELLIPSIS = "…"
"""Marks text cut to fit a cell; one terminal cell wide."""

DEL_SYMBOL = "\u2421"
"""Control Pictures symbol for DEL (U+007F)."""

BIDI_CONTROLS = frozenset([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
"""Bidirectional formatting characters: shown as escapes so text cannot reorder the line."""

LINE_SEPARATORS = frozenset([0x2028, 0x2029])
"""Unicode line and paragraph separators: `str.splitlines` breaks on them, so they are escaped."""


def _escape(codepoint: int) -> str:
    return f"<U+{codepoint:04X}>"


def _build_translation() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):
        # C0 controls map to the Control Pictures block (U+2400 + code), one cell each.
        table[code] = chr(0x2400 + code)
    table[0x7F] = DEL_SYMBOL
    for code in range(0x80, 0xA0):
        table[code] = _escape(code)
    for code in BIDI_CONTROLS | LINE_SEPARATORS:
        table[code] = _escape(code)
    return table


def _build_surrogates() -> dict[int, str]:
    # Lone surrogates cannot come from Arrow UTF-8, but can from Python callers.
    return {code: _escape(code) for code in range(0xD800, 0xE000)}


_TRANSLATION = _build_translation()
_TRANSLATION_WITH_SURROGATES = {**_TRANSLATION, **_build_surrogates()}

ESCAPED_WIDE_CODEPOINTS = frozenset(code for code, text in _TRANSLATION.items() if len(text) > 1)
"""Code points shown as an 8-cell `<U+XXXX>` escape (C1 controls, bidi controls, separators)."""

_UNSAFE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _replace_unsafe(match: re.Match[str]) -> str:
    return _TRANSLATION_WITH_SURROGATES[ord(match.group())]


def safe_text(text: str) -> str:
    """Return `text` with every control, bidi and separator character replaced by visible text.

    C0 controls become Control Pictures (ESC is shown as U+241B), DEL becomes U+2421, and C1
    controls, bidi controls, U+2028/U+2029 and lone surrogates become `<U+XXXX>`.
    """
    if _UNSAFE_RE.search(text) is None:
        return text
    if text.isascii():
        # str.translate is fastest on ASCII text (8 ms for 5M characters on a 2-core VM). On
        # non-ASCII text it took 500 ms, more than a regex substitution with few matches.
        return text.translate(_TRANSLATION)
    return _UNSAFE_RE.sub(_replace_unsafe, text)


def safe_lines(text: str) -> str:
    """Return `text` made safe line by line, keeping its line breaks (for messages and errors)."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(safe_text(line) for line in lines)


def cell_width(text: str) -> int:
    """Return the width of `text` in terminal cells, as Rich measures it."""
    return cell_len(text)


def _grapheme_spans(text: str) -> list[tuple[int, int, int]]:
    """Split `text` into (start, end, cells) grapheme spans.

    Uses `rich.cells.split_graphemes` (rich 14.1 and later). The fallback keeps zero-width
    characters such as combining marks attached to the character before them.
    """
    if _split_graphemes is not None:
        spans, _total = _split_graphemes(text)
        return list(spans)
    result: list[tuple[int, int, int]] = []
    for index, character in enumerate(text):
        width = cell_len(character)
        if width == 0 and result:
            start, _end, cells = result[-1]
            result[-1] = (start, index + 1, cells)
        else:
            result.append((index, index + 1, width))
    return result


# Code points examined per cell shown. A grapheme rarely needs more, and the bound keeps the work
# on a multi-megabyte value proportional to the cells shown.
_CODEPOINTS_PER_CELL_BOUND = 8


def truncate_cells(text: str, max_cells: int) -> str:
    """Cut `text` at a grapheme boundary so that it fits in `max_cells` cells.

    Text that fits is returned unchanged; otherwise the result ends with an ellipsis and its
    width is at most `max_cells`. Only the first `8 * max_cells + 8` code points are examined.
    """
    return _truncate(text, False, max_cells)


def display_text(text: str, max_cells: int) -> str:
    """Return `text` made safe and cut to `max_cells`, reading only the head of a long value."""
    limit = _head_limit(max_cells)
    return _truncate(safe_text(text[:limit]), len(text) > limit, max_cells)


def _head_limit(max_cells: int) -> int:
    return _CODEPOINTS_PER_CELL_BOUND * (max(max_cells, 0) + 1)


def _truncate(text: str, cut_before: bool, max_cells: int) -> str:
    """Fit `text` in `max_cells`. `cut_before` is True when the caller already dropped a tail."""
    if max_cells <= 0:
        return ""
    limit = _head_limit(max_cells)
    head = text[:limit]
    cut_short = cut_before or len(head) < len(text)
    if head.isascii():
        if not cut_short and len(head) <= max_cells:
            return text
        return head[: max_cells - 1] + ELLIPSIS
    spans = _grapheme_spans(head)
    if len(head) < len(text) and spans:
        # The last span may be a grapheme cut in the middle by the code point bound.
        spans = spans[:-1]
    total = sum(cells for _start, _end, cells in spans)
    if not cut_short and total <= max_cells:
        return text
    budget = max_cells - 1
    used = 0
    end = 0
    for _start, span_end, cells in spans:
        if used + cells > budget:
            break
        used += cells
        end = span_end
    return head[:end] + ELLIPSIS
