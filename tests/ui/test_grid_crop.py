"""Cropping a grid line to the visible cells, with ZWJ or VS16 sequences and flags."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from mmtui.results import ResultStore
from mmtui.ui.grid import ResultGrid, crop_line

PAD = Style(bgcolor="black")
PIECES = [
    "a",
    "Z",
    " ",
    "日",
    "本",
    "é",
    "👨\u200d👩\u200d👧",
    "❤\ufe0f",
    "🏳\ufe0f\u200d🌈",
    "e\u0301",
]


def random_strip(generator: random.Random) -> Strip:
    segments = [
        Segment("".join(generator.choices(PIECES, k=generator.randint(0, 6))), Style(bold=bold))
        for bold in [generator.random() < 0.5 for _ in range(generator.randint(1, 4))]
    ]
    return Strip(segments)


@pytest.mark.parametrize("seed", range(30))
def test_crop_line_keeps_exact_width(seed: int) -> None:
    generator = random.Random(seed)
    for _ in range(50):
        strip = random_strip(generator)
        start = generator.randint(0, strip.cell_length + 2)
        end = start + generator.randint(1, 12)
        cropped = crop_line(strip, start, end, PAD)

        assert cropped.cell_length == end - start
        assert cell_len(cropped.text) == end - start, (strip.text, start, end, cropped.text)
        # Every grapheme shown whole comes from the line, and cut ones became spaces.
        for piece in PIECES:
            if piece in cropped.text and piece.strip():
                assert piece in strip.text


def test_crop_line_cuts_zwj_sequence_into_spaces() -> None:
    family = "👨\u200d👩\u200d👧"
    strip = Strip([Segment(" 日本 ", Style(bold=True)), Segment(f" {family} ")])
    # Cells: " 日本 " 0-6, " " 6-7, the family 7-9, " " 9-10.
    assert crop_line(strip, 1, 8, PAD).text == "日本  " + " "
    assert crop_line(strip, 7, 10, PAD).text == f"{family} "
    assert crop_line(strip, 8, 12, PAD).text == "  " + "  "


def test_crop_line_keeps_flags_whole() -> None:
    flags = "x🇯🇵🇺🇸🇩🇪"
    strip = Strip([Segment(flags)])
    # Cells: x 0-1, 🇯🇵 1-3, 🇺🇸 3-5, 🇩🇪 5-7. A cut flag becomes spaces, so no lone
    # indicator is left for the terminal to pair with the next flag's first half.
    assert crop_line(strip, 2, 7, PAD).text == " 🇺🇸🇩🇪"
    assert crop_line(strip, 0, 4, PAD).text == "x🇯🇵 "
    assert crop_line(strip, 4, 7, PAD).text == " 🇩🇪"


def test_crop_line_without_joiners_matches_textual() -> None:
    strip = Strip([Segment("abc日本", Style(bold=True)), Segment("xyz")])
    for start, end in [(0, 4), (3, 8), (4, 6), (6, 12)]:
        assert crop_line(strip, start, end, PAD) == strip.crop_extend(start, end, PAD)


class GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResultGrid()


async def test_scrolled_grid_line_keeps_screen_width() -> None:
    schema = pa.schema([("c0", pa.string()), ("c1", pa.string()), ("c2", pa.string())])
    # Cells " 日本 ", " 日本 ", " 👨‍👩‍👧 " span screen cells 0-6, 6-12 and 12-16.
    row = {"c0": ["日本"], "c1": ["日本"], "c2": ["👨\u200d👩\u200d👧"]}
    app = GridApp()
    with ResultStore(schema) as store:
        store.append(pa.RecordBatch.from_pydict(row, schema=schema))
        async with app.run_test(size=(13, 6)) as pilot:
            grid = app.query_one(ResultGrid)
            grid.show_store(store)
            await pilot.pause()
            # One cell to the right, the view's right edge cuts the emoji.
            grid.scroll_to(x=1, y=0, animate=False, immediate=True)
            grid.blur()
            await pilot.pause()

            line = grid.render_line(1)
            assert line.text == "日本  日本   "
            assert cell_len(line.text) == 13
