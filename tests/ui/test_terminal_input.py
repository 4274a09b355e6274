"""The bracketed paste filter, alone and in front of Textual's own input parser."""

from __future__ import annotations

import array
import fcntl
import os
import signal
import termios
import threading
import time

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.app import App
from textual.message import Message

from mmtui.ui.editor import clean_pasted_text
from mmtui.ui.terminal_input import (
    MAX_SEQUENCE_LENGTH,
    PASTE_END,
    PASTE_START,
    BracketedPasteFilter,
    PasteSafeLinuxDriver,
)

LOG_LINE = "\x1b[31mERROR\x1b[0m disk full \x11 quit? \x03\r-- \x1b]0;title\x07 end"
"""Log text copied with colour codes, Ctrl+Q and Ctrl+C bytes, a CR and an OSC 0 sequence."""

FILTER_CASES = [
    ("plain text", "SELECT 1\rFROM t", "SELECT 1\rFROM t"),
    ("colour codes", "\x1b[1;31mERROR\x1b[0m", "ERROR"),
    ("control bytes", "a\x11b\x03c\x07", "a\x11b\x03c\x07"),
    ("ESC then another character", "\x1b]0;title\x07", "\u241b]0;title\x07"),
    ("ESC at the end", "text\x1b", "text\u241b"),
    ("two ESC", "\x1b\x1b[0m", "\u241b"),
    ("CSI cut by ESC", "\x1b[12\x1b[0mx", "\u241b[12x"),
    ("CSI with a control byte", "\x1b[1\x11m", "\u241b[1\x11m"),
    ("start marker inside a paste", PASTE_START + "x", "x"),
    ("CSI of maximum length", "\x1b[" + "1" * (MAX_SEQUENCE_LENGTH - 3) + "m", ""),
    (
        "CSI over maximum length",
        "\x1b[" + "1" * (MAX_SEQUENCE_LENGTH - 2) + "m",
        "\u241b[" + "1" * (MAX_SEQUENCE_LENGTH - 2) + "m",
    ),
]


def parse(text: str) -> list[Message]:
    """Return the events Textual's input parser makes of `text`, timeouts included."""
    parser = XTermParser()
    messages = list(parser.feed(text))
    messages += list(parser.feed(""))
    return messages


@pytest.mark.parametrize(("description", "pasted", "expected"), FILTER_CASES)
def test_filter_rewrites_paste(description: str, pasted: str, expected: str) -> None:
    paste_filter = BracketedPasteFilter()

    output = paste_filter.feed(PASTE_START + pasted + PASTE_END)

    assert output == PASTE_START + expected + PASTE_END, description
    assert not paste_filter.in_paste


@pytest.mark.parametrize(("description", "pasted", "expected"), FILTER_CASES)
def test_filter_split_reads(description: str, pasted: str, expected: str) -> None:
    """One character per read gives the same text: sequences and markers span reads."""
    paste_filter = BracketedPasteFilter()

    output = "".join(paste_filter.feed(character) for character in "ab" + PASTE_START + pasted)
    output += paste_filter.feed(PASTE_END + "\x1b[A")

    assert output == "ab" + PASTE_START + expected + PASTE_END + "\x1b[A", description


def test_filter_keeps_input_outside_paste() -> None:
    keys = "abc\x1b[A\x1b\x1bOP\x1b[1;5C\x11\x1b[20"
    paste_filter = BracketedPasteFilter()

    assert paste_filter.feed(keys) == keys
    assert not paste_filter.in_paste


def test_filter_passes_escape_at_once() -> None:
    """A lone Escape key outside a paste reaches the parser without waiting for more input."""
    paste_filter = BracketedPasteFilter()

    assert paste_filter.feed("\x1b") == "\x1b"
    assert paste_filter.feed("[200") == "[200"
    assert not paste_filter.in_paste
    assert paste_filter.feed("~") == "~"
    assert paste_filter.in_paste


def test_filter_holds_escape_inside_paste() -> None:
    paste_filter = BracketedPasteFilter()

    assert paste_filter.feed(PASTE_START + "a\x1b[3") == PASTE_START + "a"
    assert paste_filter.feed("1m") == ""
    assert paste_filter.feed("b\x1b") == "b"
    assert paste_filter.feed("[201~") == PASTE_END
    assert not paste_filter.in_paste


def test_parser_splits_unfiltered_paste() -> None:
    """Textual's parser alone turns the text after an ESC in a paste into key presses.

    This documents the behaviour the filter exists for: if Textual changes it, the filter may
    no longer be needed.
    """
    messages = parse(PASTE_START + LOG_LINE + PASTE_END)

    keys = [message.key for message in messages if isinstance(message, events.Key)]
    pastes = [message.text for message in messages if isinstance(message, events.Paste)]
    assert "ctrl+q" in keys
    assert pastes == [""]


def test_parser_after_filter_pastes_once() -> None:
    paste_filter = BracketedPasteFilter()

    messages = parse(paste_filter.feed(PASTE_START + LOG_LINE + PASTE_END + "x"))

    pastes = [message for message in messages if isinstance(message, events.Paste)]
    keys = [message.key for message in messages if isinstance(message, events.Key)]
    assert len(pastes) == 1
    assert pastes[0].text == "ERROR disk full \x11 quit? \x03\r-- \u241b]0;title\x07 end"
    assert keys == ["x"]


def test_clean_pasted_text() -> None:
    cleaned = clean_pasted_text("\x1b[31mERROR\x1b[0m\tdisk \x11\r\nnext\rlast\x0bline\u202e")

    assert cleaned == "ERROR\tdisk \u2411\nnext\nlast\u240bline<U+202E>"


def test_clean_pasted_text_after_filter() -> None:
    paste_filter = BracketedPasteFilter()
    filtered = paste_filter.feed(PASTE_START + LOG_LINE + PASTE_END)

    cleaned = clean_pasted_text(filtered.removeprefix(PASTE_START).removesuffix(PASTE_END))

    assert cleaned == "ERROR disk full \u2411 quit? \u2403\n-- \u241b]0;title\u2407 end"


def make_driver() -> PasteSafeLinuxDriver:
    """Return a driver for a bare app, with the SIGTSTP and SIGCONT handlers it sets undone."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTSTP, signal.SIGCONT)}
    try:
        return PasteSafeLinuxDriver(App())
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


async def test_input_thread_ends_at_end_of_file() -> None:
    # A closed terminal reads as end of file. The input thread must return rather than
    # select and read again forever, which kept interpreter shutdown waiting for it.
    driver = make_driver()
    read_end, write_end = os.pipe()
    os.write(write_end, b"typed")
    os.close(write_end)
    driver.fileno = read_end
    events_seen: list[object] = []
    driver.process_message = events_seen.append  # type: ignore[method-assign]
    thread = threading.Thread(target=driver.run_input_thread, daemon=True)

    thread.start()
    thread.join(5.0)
    os.close(read_end)

    assert not thread.is_alive()
    assert not driver.exit_event.is_set()
    assert [getattr(event, "character", None) for event in events_seen] == list("typed")


def wait_until_read(descriptor: int, timeout: float = 5.0) -> None:
    """Wait until a reader has taken every byte written to the pipe `descriptor`."""
    deadline = time.monotonic() + timeout
    pending = array.array("i", [0])
    while True:
        fcntl.ioctl(descriptor, termios.FIONREAD, pending)
        if pending[0] == 0:
            return
        assert time.monotonic() < deadline, f"{pending[0]} bytes left unread"
        time.sleep(0.01)


@pytest.mark.parametrize(
    ("description", "reads", "expected"),
    [
        ("UTF-8 character split", [b"\xc3", b"\xa9x"], ["\xe9", "x"]),
        ("colour code alone in a read", [b"\x1b[200~a\x1b[3", b"1m", b"b\x1b[201~"], ["ab"]),
    ],
)
async def test_input_thread_reads_without_text(
    description: str, reads: list[bytes], expected: list[str]
) -> None:
    # Each chunk is read alone. A read that yields no text must not end Textual's parser.
    driver = make_driver()
    read_end, write_end = os.pipe()
    driver.fileno = read_end
    events_seen: list[object] = []
    driver.process_message = events_seen.append  # type: ignore[method-assign]
    failures: list[BaseException] = []

    def run() -> None:
        try:
            driver.run_input_thread()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for chunk in reads:
        os.write(write_end, chunk)
        wait_until_read(read_end)
    os.close(write_end)
    thread.join(5.0)
    os.close(read_end)

    assert not thread.is_alive(), description
    assert failures == [], description
    texts = [
        event.text if isinstance(event, events.Paste) else getattr(event, "character", None)
        for event in events_seen
    ]
    assert texts == expected, description
