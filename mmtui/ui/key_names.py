"""Key names as Textual bindings spell them, to check the keys of `[keys]` in the settings.

Textual accepts any string as a binding's key, so a misspelt key ("Ctrl+F2", "f99") would
silently take a command's key away. NOTE: every Unicode character name is a key name, so a
word such as "banana" (U+1F34C) passes although no keyboard sends it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from itertools import product

from textual.keys import KEY_ALIASES, KEY_NAME_REPLACEMENTS, Keys

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})

_NAMED_KEYS = frozenset(
    key.value for key in Keys if "+" not in key.value and not key.value.startswith("<")
)
"""Keys with a name of their own: f1-f24, escape, enter, tab, space, home, pageup and so on."""

_ALIAS_TARGETS = {alias: key for key, aliases in KEY_ALIASES.items() for alias in aliases}
"""Binding keys that Textual also runs on another key's press: a binding on ctrl+m runs on
Enter, and one on ctrl+i on Tab, because terminals send the same byte for both."""

_UNICODE_NAMES = {short: unicode for unicode, short in KEY_NAME_REPLACEMENTS.items()}
"""The Unicode names of the characters whose key names Textual shortens ("slash", "minus")."""


def is_key_name(key: str) -> bool:
    """Tell whether `key` ("f5", "ctrl+j", "exclamation_mark") names a key."""
    *modifiers, base = key.strip().split("+")
    if not base or any(modifier not in MODIFIERS for modifier in modifiers):
        return False
    if len(base) == 1 or base in _NAMED_KEYS:
        return True

    # Textual names other characters after their Unicode name, with "_" for its spaces and
    # hyphens ("exclamation_mark", "hyphen_minus"), some shortened ("minus", "slash").
    words = _UNICODE_NAMES.get(base, base).split("_")
    return any(_is_unicode_name(words, joins) for joins in product(" -", repeat=len(words) - 1))


def _is_unicode_name(words: list[str], joins: tuple[str, ...]) -> bool:
    name = words[0] + "".join(join + word for join, word in zip(joins, words[1:], strict=True))
    try:
        character = unicodedata.lookup(name)
    except KeyError:
        return False
    # `lookup` also takes aliases ("esc" is U+001B), which Textual never uses as key names,
    # so only the official name of a printable character counts.
    return character.isprintable() and unicodedata.name(character, "") == name.upper()


TEXT_EDITING_KEYS = frozenset({"space", "enter", "tab", "backspace", "delete"})
"""Named keys that edit text in the SQL editor."""

COMMAND_MODIFIERS = MODIFIERS - {"shift"}
"""Modifiers that make a key a command rather than text."""


def pressed_key(key: str) -> str:
    """Return the key whose press runs a binding on `key`: `enter` for `ctrl+m`, else `key`."""
    name = key.strip()
    return _ALIAS_TARGETS.get(name, name)


def is_text_key(key: str) -> bool:
    """Tell whether `key` types or edits text in an editor: a character, with or without
    shift, or one of TEXT_EDITING_KEYS, under any name Textual matches (`ctrl+m` is Enter)."""
    *modifiers, base = pressed_key(key).split("+")
    if any(modifier in COMMAND_MODIFIERS for modifier in modifiers):
        return False
    if base in TEXT_EDITING_KEYS or len(base) == 1:
        return True
    return base not in _NAMED_KEYS and is_key_name(base)


def invalid_keys(keymap: dict[str, str]) -> dict[str, str]:
    """Return the entries of `keymap` (binding id to comma-separated keys) with a bad key."""
    return {
        binding: keys
        for binding, keys in keymap.items()
        if not all(is_key_name(key) for key in keys.split(","))
    }


def key_conflicts(
    bindings: Iterable[tuple[str, str]], overrides: Mapping[str, str]
) -> list[tuple[str, list[str]]]:
    """Return each key that `overrides` gives to a binding while another one of the same scope
    has it too, with the ids of every binding that has it.

    `bindings` are (binding id, comma-separated default keys) pairs of one scope: the bindings
    that Textual looks up together. `overrides` maps binding ids to their new keys, as `[keys]`.
    Keys are compared as pressed, so `ctrl+m` and `enter` are one key, returned as `enter`.
    """
    owners: dict[str, list[str]] = {}
    for binding_id, default_keys in bindings:
        keys = overrides.get(binding_id, default_keys)
        for key in keys.split(","):
            ids = owners.setdefault(pressed_key(key), [])
            if binding_id not in ids:
                ids.append(binding_id)
    keys_given = {
        binding_id: {pressed_key(key) for key in keys.split(",")}
        for binding_id, keys in overrides.items()
    }
    return [
        (key, ids)
        for key, ids in owners.items()
        if len(ids) > 1 and any(key in keys_given.get(binding_id, ()) for binding_id in ids)
    ]
