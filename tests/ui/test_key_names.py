"""`is_key_name`: the key names of `[keys]` checked against how Textual spells keys."""

from __future__ import annotations

import string

import pytest
from textual.keys import Keys, _character_to_key

from mmtui.ui.app import MmtuiApp
from mmtui.ui.key_names import invalid_keys, is_key_name, is_text_key, key_conflicts


def test_textual_character_names_accepted() -> None:
    # NOTE: `_character_to_key` is Textual's private naming of character keys (8.x).
    for character in string.printable.strip():
        assert is_key_name(_character_to_key(character)), repr(character)


def test_textual_named_keys_accepted() -> None:
    names = [key.value for key in Keys if not key.value.startswith("<")]
    assert "f24" in names
    for name in names:
        assert is_key_name(name), name


def test_app_default_keys_accepted() -> None:
    keys = [key for binding in MmtuiApp.BINDINGS for key in binding.key.split(",")]
    assert "f5" in keys
    for key in keys:
        assert is_key_name(key), key


@pytest.mark.parametrize(
    "key",
    # The last four are Unicode aliases of control characters, which Textual never names.
    ["f99", "Ctrl+j", "ctrl+shfit+x", "ctrl+", "", "enterr", "esc", "nul", "line_feed", "del"],
)
def test_misspelt_keys_rejected(key: str) -> None:
    assert not is_key_name(key)


def test_invalid_keys_lists_bad_entries() -> None:
    keymap = {"app.run_query": "f12,ctrl+j", "app.focus_schema": "f2,Ctrl+F2"}

    assert invalid_keys(keymap) == {"app.focus_schema": "f2,Ctrl+F2"}


def test_key_conflicts_cases() -> None:
    bindings = [("run", "f5,ctrl+j"), ("quit", "ctrl+q"), ("help", "f1")]

    assert key_conflicts(bindings, {}) == []
    assert key_conflicts(bindings, {"quit": "f5"}) == [("f5", ["run", "quit"])]
    assert key_conflicts(bindings, {"quit": "ctrl+j, f9"}) == [("ctrl+j", ["run", "quit"])]
    # A swap, and a binding moved off a key that another one takes, leave one owner per key.
    assert key_conflicts(bindings, {"run": "f1", "help": "f5"}) == []
    assert key_conflicts(bindings, {"run": "ctrl+j", "quit": "f5"}) == []
    # Defaults that share a key count only once an override gives that key.
    shared = [("a", "x"), ("b", "x"), ("c", "z")]
    assert key_conflicts(shared, {"c": "w"}) == []
    assert key_conflicts(shared, {"a": "x,y"}) == [("x", ["a", "b"])]
    assert key_conflicts(shared, {"a": "y"}) == []


def test_key_conflicts_compare_pressed_keys() -> None:
    bindings = [("newline", "enter"), ("quit", "ctrl+q"), ("complete", "tab")]

    assert key_conflicts(bindings, {"quit": "ctrl+m"}) == [("enter", ["newline", "quit"])]
    assert key_conflicts(bindings, {"quit": "ctrl+i"}) == [("tab", ["quit", "complete"])]


@pytest.mark.parametrize(
    ("key", "types_text"),
    [
        ("q", True),
        ("Q", True),
        ("7", True),
        ("question_mark", True),
        ("shift+a", True),
        ("space", True),
        ("enter", True),
        ("backspace", True),
        ("ctrl+q", False),
        ("alt+x", False),
        ("f5", False),
        ("escape", False),
        ("pageup", False),
        ("ctrl+space", False),
        # Terminals send Enter as ctrl+m and Tab as ctrl+i, and Textual runs such bindings
        # on those keys.
        ("ctrl+m", True),
        ("ctrl+i", True),
        ("ctrl+j", False),
    ],
)
def test_is_text_key_cases(key: str, types_text: bool) -> None:
    assert is_text_key(key) is types_text
