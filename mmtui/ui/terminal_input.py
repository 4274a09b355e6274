"""Terminal input on Linux and macOS: a bracketed paste reaches the app as one Paste event.

Textual 8.2.8's input parser (`XTermParser.parse` in `textual/_xterm_parser.py`) reads an ESC
inside a bracketed paste as the start of an escape sequence. It reads the characters after that
ESC into the sequence, not into the paste buffer (lines 218-219 and 240-258). It then reissues
them as key presses (`reissue_sequence_as_keys`, lines 176-198) at the next ESC (lines 250-252),
after 32 characters (lines 256-258) or after the escape delay (lines 243-245). The Paste event
sent at the end marker carries only the text before the first ESC (lines 201-210). So log text
copied with colour codes is typed key by key, and a Ctrl+Q byte (0x11) in it runs the quit
binding. Textual's driver also decodes its input as strict UTF-8
(`textual/drivers/linux_driver.py`, line 447), so one invalid byte ends the app.

`PasteSafeLinuxDriver` reads the terminal as Textual's driver does, but decodes invalid bytes as
U+FFFD and passes the text through `BracketedPasteFilter` before the parser. Inside a paste, the
filter drops complete CSI sequences (colour codes) and turns any other ESC into U+241B, so the
parser receives no ESC before the end marker and sends the whole paste as one Paste event.
"""

from __future__ import annotations

import codecs
import logging
import os
import selectors

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

logger = logging.getLogger(__name__)

PASTE_START = "\x1b[200~"
"""Sequence a terminal sends before pasted text once the app enables bracketed paste."""
PASTE_END = "\x1b[201~"
"""Sequence a terminal sends after pasted text."""
ESC = "\x1b"
ESC_SYMBOL = "\u241b"
"""The Control Picture for ESC, which replaces an ESC that does not start a CSI sequence."""
MAX_SEQUENCE_LENGTH = 32
"""Maximum length in characters, ESC included, of a CSI sequence inside a paste that is dropped.

A longer one is shown as text."""

READ_SIZE = 4096
"""Bytes read from the terminal at a time."""


class BracketedPasteFilter:
    """A filter for terminal input that removes every ESC from the text of bracketed pastes.

    Text outside a paste, the start marker and the end marker pass unchanged and at once. Inside
    a paste, an escape sequence is held until it is complete, which can take several `feed`
    calls. A complete CSI sequence other than the end marker is dropped. An ESC that does not
    start one, or a CSI sequence that is malformed or longer than MAX_SEQUENCE_LENGTH, is shown
    as text starting with U+241B. Other characters, control characters included, pass unchanged.
    """

    def __init__(self) -> None:
        self.in_paste = False
        """True between the start marker and the end marker."""
        self._start_matched = 0
        """Characters of PASTE_START at the end of the text fed outside a paste."""
        self._sequence = ""
        """The escape sequence inside a paste held until its final character arrives."""

    def feed(self, text: str) -> str:
        """Return `text` (the next characters read from the terminal) with pastes rewritten."""
        output: list[str] = []
        for character in text:
            if self.in_paste:
                self._feed_paste(character, output)
            else:
                output.append(character)
                self._match_start(character)
        return "".join(output)

    def _match_start(self, character: str) -> None:
        if character == PASTE_START[self._start_matched]:
            self._start_matched += 1
            if self._start_matched == len(PASTE_START):
                self.in_paste = True
                self._start_matched = 0
        elif character == ESC:
            # ESC occurs in PASTE_START only as its first character.
            self._start_matched = 1
        else:
            self._start_matched = 0

    def _feed_paste(self, character: str, output: list[str]) -> None:
        sequence = self._sequence
        if not sequence:
            if character == ESC:
                self._sequence = ESC
            else:
                output.append(character)
            return

        if sequence == ESC:
            if character == "[":
                self._sequence = ESC + "["
                return
            # An ESC that starts no CSI sequence is shown, and the character is handled alone.
            self._sequence = ""
            output.append(ESC_SYMBOL)
            self._feed_paste(character, output)
            return

        # A CSI sequence: parameter and intermediate bytes (0x20-0x3F), then one final byte.
        code = ord(character)
        if 0x40 <= code <= 0x7E:
            self._sequence = ""
            if sequence + character == PASTE_END:
                output.append(PASTE_END)
                self.in_paste = False
            return
        if 0x20 <= code <= 0x3F and len(sequence) < MAX_SEQUENCE_LENGTH - 1:
            self._sequence = sequence + character
            return
        self._sequence = ""
        output.append(ESC_SYMBOL + sequence[1:])
        self._feed_paste(character, output)


class PasteSafeLinuxDriver(LinuxDriver):
    """Textual's Linux and macOS driver with BracketedPasteFilter in front of its input parser."""

    def run_input_thread(self) -> None:
        """Read the terminal until the driver stops, and post the parsed events to the app."""
        # NOTE: this replaces LinuxDriver.run_input_thread of Textual 8.2.8 and builds the
        # private XTermParser as that method does. Compare both after a Textual upgrade.
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        paste_filter = BracketedPasteFilter()
        decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode

        try:
            while not self.exit_event.is_set():
                for _key, mask in selector.select(0.1):
                    if not mask & selectors.EVENT_READ:
                        continue
                    try:
                        data = os.read(self.fileno, READ_SIZE)
                    except OSError as error:
                        # EIO: the terminal was closed (a killed tmux session or SSH link).
                        logger.info("terminal input failed, input stops: %s", error)
                        return
                    if not data:
                        # End of file: the terminal is gone or standard input is a pipe. The
                        # descriptor stays readable, so reading on would spin at full CPU and
                        # keep interpreter shutdown waiting for this thread.
                        logger.info("terminal input reached end of file, input stops")
                        return
                    text = paste_filter.feed(decode(data))
                    # A read yields no text when it contains only the first bytes of a UTF-8
                    # character, or an escape sequence inside a paste that the filter buffers
                    # or drops. The parser takes "" as end of file and raises ParseError on
                    # the next feed, which ends the app.
                    if text:
                        for event in parser.feed(text):
                            self.process_message(event)
                # The parser sends a lone ESC as the Escape key once the escape delay passes.
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
            try:
                # Feeding "" ends the parser, which closes its debug log.
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass
