"""Whole-value detail text: JSON pretty-printing, hex dumps, safety and lazy paging."""

import time

import pyarrow as pa

from mmtui.results import NULL_TEXT, detail_pages, detail_text
from mmtui.results.detail import copy_text, tsv_field
from mmtui.results.jsonb import encode_jsonb_object


def test_json_string_pretty_printed() -> None:
    scalar = pa.scalar('{"a": [1, 2], "b": "x"}')
    assert detail_text(scalar) == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "x"\n}'


def test_non_json_string_kept_whole() -> None:
    text = "not json {" + "y" * 500
    assert detail_text(pa.scalar(text)) == text


def test_controls_made_visible_newlines_kept() -> None:
    scalar = pa.scalar("line1\nline2\x1b[31m\r\x9b\u202e")
    assert detail_text(scalar) == "line1\nline2\u241b[31m\u240d<U+009B><U+202E>"


def test_json_with_escaped_controls_stays_safe() -> None:
    scalar = pa.scalar('{"msg": "\\u001b]0;title\\u0007"}')
    # json.dumps escapes control characters, so the pretty text shows the JSON escapes.
    assert detail_text(scalar) == '{\n  "msg": "\\u001b]0;title\\u0007"\n}'


def test_binary_json_and_hex_dump() -> None:
    assert detail_text(pa.scalar(b'{"k": 1}')) == '{\n  "k": 1\n}'
    dump = detail_text(pa.scalar(b"Hello\x00\x01world!!!!!!!more"))
    assert dump.splitlines() == [
        "00000000  48 65 6c 6c 6f 00 01 77 6f 72 6c 64 21 21 21 21  |Hello..world!!!!|",
        "00000010  21 21 21 6d 6f 72 65                             |!!!more|",
    ]


def test_jsonb_properties_decoded() -> None:
    array = pa.array([encode_jsonb_object({"version": "1.2", "host": "a"})]).dictionary_encode()
    assert detail_text(array[0]) == '{\n  "version": "1.2",\n  "host": "a"\n}'


def test_null_and_dictionary_null_entry() -> None:
    assert detail_text(pa.scalar(None, pa.string())) == NULL_TEXT
    array = pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.array([None], pa.string()))
    assert detail_text(array[0]) == NULL_TEXT


def test_nested_value_pretty_printed() -> None:
    scalar = pa.scalar({"a": [1, None]}, pa.struct([("a", pa.list_(pa.int64()))]))
    assert detail_text(scalar) == '{\n  "a": [\n    1,\n    null\n  ]\n}'


def test_timestamp_keeps_nanoseconds() -> None:
    scalar = pa.scalar(1_700_000_000_123_456_789, pa.timestamp("ns", tz="+00:00"))
    assert detail_text(scalar) == "2023-11-14 22:13:20.123456789+00:00"


def test_long_list_not_cut() -> None:
    scalar = pa.scalar(list(range(500)), pa.list_(pa.int32()))
    assert detail_text(scalar).count("\n") == 501


def test_five_million_characters_first_page_fast() -> None:
    scalar = pa.scalar("é" * 5_000_000)
    started = time.perf_counter()
    first = next(detail_pages(scalar, page_chars=10_000))
    elapsed = time.perf_counter() - started
    assert first == "é" * 10_000
    assert elapsed < 0.5


def test_five_million_characters_whole_text() -> None:
    value = "x\x1b" * 2_500_000
    started = time.perf_counter()
    text = detail_text(pa.scalar(value))
    elapsed = time.perf_counter() - started
    assert len(text) == 5_000_000
    assert "\x1b" not in text
    assert elapsed < 2.0


def test_pages_join_to_whole_text() -> None:
    value = "abc\n" * 1000
    pages = list(detail_pages(pa.scalar(value), page_chars=100))
    assert len(pages) == 40
    assert "".join(pages) == value


def test_plain_binary_jsonb_pretty_printed() -> None:
    data = encode_jsonb_object({"request_id": "req-7f3a"})
    for data_type in (pa.binary(), pa.large_binary(), pa.binary_view()):
        assert detail_text(pa.scalar(data, data_type)) == '{\n  "request_id": "req-7f3a"\n}'
    dictionary = pa.array([data], pa.binary_view()).dictionary_encode()
    assert detail_text(dictionary[0]) == '{\n  "request_id": "req-7f3a"\n}'
    # One byte short is not JSONB: a hex dump.
    assert detail_text(pa.scalar(data[:-1], pa.binary())).startswith("00000000  40 00 00 01")


def test_copy_text_keeps_tabs_and_line_feeds() -> None:
    scalar = pa.scalar("a\tb\r\nc\x1b[31m\rd\x9b")
    assert copy_text(scalar) == "a\tb\nc\u241b[31m\u240dd<U+009B>"
    assert copy_text(pa.scalar(None, pa.string())) == NULL_TEXT


def test_tsv_field_quotes_like_csv() -> None:
    assert tsv_field(pa.scalar("a\tb\nc\\d\re\x1b")) == '"a\tb\nc\\d\re\u241b"'
    assert tsv_field(pa.scalar("C:\\Program Files\\x")) == "C:\\Program Files\\x"
    assert tsv_field(pa.scalar("\x1b[31m\x9b")) == "\u241b[31m<U+009B>"
    assert tsv_field(pa.scalar('{"a": [1, 2]}')) == '"{""a"": [1, 2]}"'
    data = encode_jsonb_object({"k": "v"})
    assert tsv_field(pa.scalar(data, pa.binary())) == '"{""k"":""v""}"'
    assert tsv_field(pa.scalar(None, pa.int64())) == NULL_TEXT
    assert tsv_field(pa.scalar(7, pa.int64())) == "7"


def test_display_zone_applies_to_nested_times() -> None:
    moment = pa.scalar(1_700_000_000_123_456_789, pa.timestamp("ns", tz="UTC"))
    nested = pa.scalar({"at": moment.as_py()}, pa.struct([("at", moment.type)]))
    assert detail_text(moment, "Asia/Kolkata") == "2023-11-15 03:43:20.123456789+05:30"
    assert copy_text(moment, "Asia/Kolkata") == "2023-11-15 03:43:20.123456789+05:30"
    assert tsv_field(moment, "Asia/Kolkata") == "2023-11-15 03:43:20.123456789+05:30"
    assert "2023-11-15 03:43:20" in detail_text(nested, "Asia/Kolkata")
    assert "2023-11-14 22:13:20" in detail_text(nested)
