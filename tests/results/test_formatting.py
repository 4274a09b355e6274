"""Exact display text of representative values of every Arrow type."""

import logging
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from mmtui.results import (
    LEVEL_NAMES,
    NULL_TEXT,
    format_array,
    formatting,
    full_texts,
    is_jsonb_type,
    is_level_field,
    level_detail_text,
    resolve_display_tz,
)
from mmtui.results.formatting import (
    civil_from_days,
    compact_offset_cells,
    compact_utc_offset,
    timestamp_text,
)
from mmtui.results.jsonb import encode_jsonb_object
from mmtui.results.measure import column_cells

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@pytest.mark.parametrize(
    ("data_type", "low", "high"),
    [
        (pa.int8(), "-128", "127"),
        (pa.int16(), "-32768", "32767"),
        (pa.int32(), "-2147483648", "2147483647"),
        (pa.int64(), "-9223372036854775808", "9223372036854775807"),
        (pa.uint8(), "0", "255"),
        (pa.uint16(), "0", "65535"),
        (pa.uint32(), "0", "4294967295"),
        (pa.uint64(), "0", "18446744073709551615"),
    ],
)
def test_integers_extremes(data_type: pa.DataType, low: str, high: str) -> None:
    info = np.iinfo(data_type.to_pandas_dtype())
    array = pa.array([int(info.min), int(info.max), None], data_type)
    assert format_array(array) == [low, high, NULL_TEXT]


@pytest.mark.parametrize("data_type", [pa.float32(), pa.float64()])
def test_floats_special_values(data_type: pa.DataType) -> None:
    array = pa.array([0.5, float("nan"), float("inf"), float("-inf"), -0.0, None], data_type)
    assert format_array(array) == ["0.5", "nan", "inf", "-inf", "-0", NULL_TEXT]


def test_float16_values() -> None:
    array = pa.array(np.array([0.5, np.nan, np.inf, -0.0], np.float16))
    assert format_array(array) == ["0.5", "nan", "inf", "-0"]


def test_float64_shortest_round_trip() -> None:
    assert format_array(pa.array([0.1, 1e300, 5e-324])) == ["0.1", "1e+300", "5e-324"]


def test_decimals() -> None:
    assert format_array(pa.array([Decimal("-123.45"), None], pa.decimal128(5, 2))) == [
        "-123.45",
        NULL_TEXT,
    ]
    wide = Decimal("-" + "9" * 40 + ".5")
    assert format_array(pa.array([wide], pa.decimal256(45, 1)), max_cells=200) == [str(wide)]


def test_boolean_and_null_type() -> None:
    assert format_array(pa.array([True, False, None])) == ["true", "false", NULL_TEXT]
    assert format_array(pa.nulls(3)) == [NULL_TEXT] * 3


def test_dates_including_extremes() -> None:
    assert format_array(pa.array([0, -1, -719162, 2932896, None], pa.date32())) == [
        "1970-01-01",
        "1969-12-31",
        "0001-01-01",
        "9999-12-31",
        NULL_TEXT,
    ]
    assert format_array(pa.array([2**31 - 1, -(2**31)], pa.date32())) == [
        "5881580-07-11",
        "-5877641-06-23",
    ]
    assert format_array(pa.array([0, INT64_MAX, INT64_MIN], pa.date64())) == [
        "1970-01-01",
        "292278994-08-17",
        "-292275055-05-16",
    ]


def test_times_every_unit() -> None:
    assert format_array(pa.array([0, 3723], pa.time32("s"))) == ["00:00:00", "01:02:03"]
    assert format_array(pa.array([3723004], pa.time32("ms"))) == ["01:02:03.004"]
    assert format_array(pa.array([3723000005], pa.time64("us"))) == ["01:02:03.000005"]
    assert format_array(pa.array([3723000000007], pa.time64("ns"))) == ["01:02:03.000000007"]


def test_time_out_of_day_shows_raw_value() -> None:
    assert format_array(pa.array([90_000_000, -1], pa.time32("ms"))) == ["90000000ms", "-1ms"]


def test_timestamp_naive_every_unit() -> None:
    nanos = 1_700_000_000_123_456_789
    cases = [
        ("s", nanos // 10**9, "2023-11-14 22:13:20"),
        ("ms", nanos // 10**6, "2023-11-14 22:13:20.123"),
        ("us", nanos // 10**3, "2023-11-14 22:13:20.123456"),
        ("ns", nanos, "2023-11-14 22:13:20.123456789"),
    ]
    for unit, value, expected in cases:
        assert format_array(pa.array([value], pa.timestamp(unit))) == [expected]


def test_timestamp_fixed_offsets() -> None:
    value = 1_700_000_000_123_456_789
    utc = pa.array([value, None], pa.timestamp("ns", tz="+00:00"))
    assert format_array(utc) == ["2023-11-14 22:13:20.123456789+00:00", NULL_TEXT]
    eastern = pa.array([value], pa.timestamp("ns", tz="-05:00"))
    assert format_array(eastern) == ["2023-11-14 17:13:20.123456789-05:00"]


def test_timestamp_named_zone_follows_dst() -> None:
    summer = 1_690_000_000  # 2023-07-22 04:26:40 UTC
    winter = 1_700_000_000
    array = pa.array([summer, winter], pa.timestamp("s", tz="America/New_York"))
    assert format_array(array) == ["2023-07-22 00:26:40-04:00", "2023-11-14 17:13:20-05:00"]


def test_timestamp_display_zone_converts() -> None:
    aware = pa.array([1_700_000_000_123_456_789], pa.timestamp("ns", tz="+00:00"))
    assert format_array(aware, tz="Asia/Kolkata") == ["2023-11-15 03:43:20.123456789+05:30"]
    naive = pa.array([1_700_000_000], pa.timestamp("s"))
    # Naive timestamps are taken as UTC when a display zone is given.
    assert format_array(naive, tz="Europe/Paris") == ["2023-11-14 23:13:20+01:00"]


def test_timestamp_unknown_display_zone_keeps_column_zone() -> None:
    aware = pa.array([0], pa.timestamp("s", tz="+00:00"))
    assert format_array(aware, tz="Mars/Olympus") == ["1970-01-01 00:00:00+00:00"]


def test_timestamp_local_zone_resolves() -> None:
    zone = resolve_display_tz("local")
    assert zone
    aware = pa.array([0], pa.timestamp("s", tz="+00:00"))
    text = format_array(aware, tz="local")[0]
    assert text[:4] in ("1969", "1970")
    assert text[-6] in "+-"


def test_resolve_display_tz_rejects_unknown() -> None:
    with pytest.raises(ValueError):
        resolve_display_tz("Not/AZone")


def test_timestamp_years_0001_and_9999() -> None:
    array = pa.array([-62135596800, 253402300799], pa.timestamp("s", tz="UTC"))
    assert format_array(array) == ["0001-01-01 00:00:00+00:00", "9999-12-31 23:59:59+00:00"]


@pytest.mark.parametrize(
    ("unit", "high", "low"),
    [
        ("s", "292277026596-12-04 15:30:07", "-292277022657-01-27 08:29:52"),
        ("ms", "292278994-08-17 07:12:55.807", "-292275055-05-16 16:47:04.192"),
        ("us", "294247-01-10 04:00:54.775807", "-290308-12-21 19:59:05.224192"),
        ("ns", "2262-04-11 23:47:16.854775807", "1677-09-21 00:12:43.145224192"),
    ],
)
def test_timestamp_int64_extremes(unit: str, high: str, low: str) -> None:
    array = pa.array([INT64_MAX, INT64_MIN], pa.timestamp(unit))
    assert format_array(array) == [high, low]


def test_timestamp_ns_extremes_with_offset() -> None:
    array = pa.array([INT64_MAX, INT64_MIN], pa.timestamp("ns", tz="-05:00"))
    assert format_array(array) == [
        "2262-04-11 18:47:16.854775807-05:00",
        "1677-09-20 19:12:43.145224192-05:00",
    ]


def test_timestamp_text_matches_datetime() -> None:
    assert timestamp_text(-1, "ns", None) == "1969-12-31 23:59:59.999999999"
    assert civil_from_days(0) == (1970, 1, 1)
    assert civil_from_days(-719162) == (1, 1, 1)
    assert civil_from_days(11016) == (2000, 2, 29)


def test_durations() -> None:
    assert format_array(pa.array([90_061_001, None], pa.duration("ms"))) == [
        "1d 01:01:01.001",
        NULL_TEXT,
    ]
    assert format_array(pa.array([-5], pa.duration("s"))) == ["-00:00:05"]
    assert format_array(pa.array([1_500], pa.duration("ns"))) == ["00:00:00.000001500"]
    assert format_array(pa.array([INT64_MIN], pa.duration("ns"))) == ["-106751d 23:47:16.854775808"]


HOUR_NS = 3600 * 10**9
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)


@pytest.mark.parametrize(
    ("months", "days", "nanoseconds", "expected"),
    [
        (0, 0, 0, "00:00:00"),
        (0, 1, 2 * HOUR_NS, "1d 02:00:00"),
        (1, 3, 1_500_000_000, "1mo 3d 00:00:01.5"),
        (1, 2, 3, "1mo 2d 00:00:00.000000003"),
        (1, 0, 0, "1mo"),
        (12, 0, 0, "1y"),
        (14, 0, 0, "1y 2mo"),
        (0, 7, 0, "7d"),
        (0, 0, 90 * 60 * 10**9, "01:30:00"),
        # Hours stay hours: a day of the interval is a calendar day, not 24 hours.
        (0, 0, 36 * HOUR_NS, "36:00:00"),
        (0, 0, 1, "00:00:00.000000001"),
        (0, 0, 123_456_789_000, "00:02:03.456789"),
        (0, 0, -5 * 10**9, "-00:00:05"),
        (-14, 0, 0, "-1y -2mo"),
        (-1, -2, -HOUR_NS, "-1mo -2d -01:00:00"),
        (-1, 2, 0, "-1mo +2d"),
        (0, -1, 5 * 10**9, "-1d +00:00:05"),
        (1, 0, -1, "+1mo -00:00:00.000000001"),
        (
            INT32_MAX,
            INT32_MAX,
            INT64_MAX,
            "178956970y 7mo 2147483647d 2562047:47:16.854775807",
        ),
        (
            INT32_MIN,
            INT32_MIN,
            INT64_MIN,
            "-178956970y -8mo -2147483648d -2562047:47:16.854775808",
        ),
    ],
)
def test_month_day_nano_interval(months: int, days: int, nanoseconds: int, expected: str) -> None:
    array = pa.array([pa.MonthDayNano([months, days, nanoseconds])], pa.month_day_nano_interval())
    assert format_array(array) == [expected]
    assert full_texts(array) == [expected]


def test_interval_null_and_nested() -> None:
    interval_type = pa.month_day_nano_interval()
    array = pa.array([pa.MonthDayNano([0, 1, 2 * HOUR_NS]), None], interval_type)
    assert format_array(array) == ["1d 02:00:00", NULL_TEXT]

    nested = pa.array([[pa.MonthDayNano([1, 0, 0]), None]], pa.list_(interval_type))
    assert format_array(nested) == ['["1mo", null]']


def test_interval_cut_to_max_cells() -> None:
    array = pa.array([pa.MonthDayNano([14, 3, HOUR_NS])], pa.month_day_nano_interval())
    assert format_array(array) == ["1y 2mo 3d 01:00:00"]
    assert format_array(array, max_cells=8) == ["1y 2mo …"]


def test_interval_column_width_fits_widest() -> None:
    values = [
        pa.MonthDayNano([0, 1, 0]),
        pa.MonthDayNano([-1, 2, -1]),
        None,
        pa.MonthDayNano([14, 0, 0]),
    ]
    array = pa.array(values, pa.month_day_nano_interval())
    texts = format_array(array)
    assert texts[1] == "-1mo +2d -00:00:00.000000001"
    assert column_cells(array) == len(texts[1])
    assert column_cells(pa.chunked_array([array.slice(0, 2), array.slice(2)])) == len(texts[1])


def test_binary_hex_and_json() -> None:
    array = pa.array([b"hello", b'{"a": [1, 2]}', b"", b"[bad json", None])
    assert format_array(array) == [
        "0x68656c6c6f",
        '{"a":[1,2]}',
        "0x",
        "0x5b626164206a736f6e",
        NULL_TEXT,
    ]


def test_binary_variants() -> None:
    assert format_array(pa.array([b"hello"], pa.large_binary())) == ["0x68656c6c6f"]
    assert format_array(pa.array([b"ab"], pa.binary(2))) == ["0x6162"]
    assert format_array(pa.array([b"\x01\x02"], pa.binary_view())) == ["0x0102"]


def test_binary_long_preview_is_cut() -> None:
    text = format_array(pa.array([bytes(range(100))]), max_cells=12)[0]
    assert text == "0x000102030…"


def test_string_view() -> None:
    assert format_array(pa.array(["view", None], pa.string_view())) == ["view", NULL_TEXT]


def test_lists_every_kind() -> None:
    assert format_array(pa.array([[1, 2], [], None], pa.list_(pa.int64()))) == [
        "[1, 2]",
        "[]",
        NULL_TEXT,
    ]
    assert format_array(pa.array([[1, None]], pa.large_list(pa.int64()))) == ["[1, null]"]
    assert format_array(pa.array([[1, 2]], pa.list_(pa.int64(), 2))) == ["[1, 2]"]
    assert format_array(pa.array([["a", 'b"c']], pa.list_(pa.string()))) == ['["a", "b\\"c"]']
    assert format_array(pa.array([[1, 2]], pa.list_view(pa.int32()))) == ["[1, 2]"]


def test_long_list_is_cut_with_ellipsis() -> None:
    text = format_array(pa.array([list(range(1000))]), max_cells=20)[0]
    assert text == "[0, 1, 2, 3, 4, 5, …"


def test_struct_with_nested_types() -> None:
    data_type = pa.struct([("x", pa.float64()), ("y", pa.string()), ("ts", pa.timestamp("ms"))])
    array = pa.array([{"x": 1.5, "y": None, "ts": 0}, None], data_type)
    assert format_array(array) == [
        '{"x": 1.5, "y": null, "ts": "1970-01-01 00:00:00.000"}',
        NULL_TEXT,
    ]


def test_struct_nan_as_json_token() -> None:
    array = pa.array([{"x": float("nan")}], pa.struct([("x", pa.float64())]))
    assert format_array(array) == ['{"x": NaN}']


def test_map_values() -> None:
    array = pa.array([[("a", [1])], None], pa.map_(pa.string(), pa.list_(pa.int32())))
    assert format_array(array) == ['{"a": [1]}', NULL_TEXT]


def test_sparse_and_dense_unions() -> None:
    sparse = pa.UnionArray.from_sparse(
        pa.array([0, 1, 0], pa.int8()), [pa.array([1, 2, 3]), pa.array(["a", "b", "c"])]
    )
    assert format_array(sparse) == ["1", "b", "3"]
    dense = pa.UnionArray.from_dense(
        pa.array([0, 1, 0], pa.int8()),
        pa.array([0, 0, 1], pa.int32()),
        [pa.array([1, None]), pa.array(["a"])],
    )
    assert format_array(dense) == ["1", "a", NULL_TEXT]


def test_dictionaries() -> None:
    strings = pa.array(["a", None, "b", "a"]).dictionary_encode()
    assert format_array(strings) == ["a", NULL_TEXT, "b", "a"]
    doubles = pa.array([1.5, 2.5]).dictionary_encode()
    assert format_array(doubles) == ["1.5", "2.5"]
    timestamps = pa.array([0], pa.timestamp("s")).dictionary_encode()
    assert format_array(timestamps) == ["1970-01-01 00:00:00"]


def test_jsonb_dictionary_decoded() -> None:
    values = [encode_jsonb_object({"k": "v", "n": "1"}), b"", b"\xff\x00", None]
    array = pa.array(values, pa.binary()).dictionary_encode()
    assert is_jsonb_type(array.type)
    assert format_array(array) == ['{"k":"v","n":"1"}', "{}", "0xff00", NULL_TEXT]


def test_jsonb_dictionary_window_decodes_its_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server re-sends the dictionary with every batch, and a repaint shows a few rows of it.
    entries = [encode_jsonb_object({"request": f"req-{n}"}) for n in range(5000)]
    dictionary = pa.array(entries, pa.binary())
    indices = pa.array([4999, None, 7, 4999] * 1000, pa.int32())
    column = pa.DictionaryArray.from_arrays(indices, dictionary)
    decoded: list[bytes] = []
    real_decode = formatting.decode_jsonb

    def counting_decode(data: bytes) -> object:
        decoded.append(data)
        return real_decode(data)

    monkeypatch.setattr(formatting, "decode_jsonb", counting_decode)
    window = column.slice(1, 3)

    assert format_array(window) == [NULL_TEXT, '{"request":"req-7"}', '{"request":"req-4999"}']
    assert len(decoded) == 2


def test_string_dictionary_window() -> None:
    dictionary = pa.array([f"target-{n}" for n in range(3000)] + [None])
    indices = pa.array([0, 2999, None, 3000, 5], pa.int32())
    column = pa.DictionaryArray.from_arrays(indices, dictionary)
    assert format_array(column.slice(1, 4)) == ["target-2999", NULL_TEXT, NULL_TEXT, "target-5"]
    assert format_array(column) == ["target-0", "target-2999", NULL_TEXT, NULL_TEXT, "target-5"]


def test_uuid_extension() -> None:
    storage = pa.array([bytes(range(16)), None], pa.binary(16))
    array = pa.ExtensionArray.from_storage(pa.uuid(), storage)
    assert format_array(array) == ["00010203-0405-0607-0809-0a0b0c0d0e0f", NULL_TEXT]


def test_chunked_array_accepted() -> None:
    chunked = pa.chunked_array([pa.array([1]), pa.array([2, 3])])
    assert format_array(chunked) == ["1", "2", "3"]


def test_strings_made_safe_and_cut() -> None:
    array = pa.array(["\x1b]52;c;ZXZpbA==\x07", "a" * 100, "日本" * 50, "\u202eabc"])
    assert format_array(array, max_cells=10) == [
        "␛]52;c;ZX…",
        "aaaaaaaaa…",
        "日本日本…",
        "<U+202E>a…",
    ]


def test_five_million_character_value_is_cheap() -> None:
    array = pa.array(["x" * 5_000_000 + "\x1b"])
    assert format_array(array, max_cells=8) == ["xxxxxxx…"]


def test_levels_shown_by_name() -> None:
    array = pa.array([1, 2, 3, 4, 5, 6, 9, None], pa.int32())
    assert format_array(array, levels=True) == [
        "FATAL",
        "ERROR",
        "WARN",
        "INFO",
        "DEBUG",
        "TRACE",
        "9",
        NULL_TEXT,
    ]
    assert LEVEL_NAMES[4] == "INFO"


def test_is_level_field() -> None:
    assert is_level_field(pa.field("level", pa.int32()))
    assert not is_level_field(pa.field("level", pa.string()))
    assert not is_level_field(pa.field("count", pa.int32()))


JSONB_PROPERTIES = encode_jsonb_object({"request_id": "req-7f3a", "zone": "eu"})


@pytest.mark.parametrize("data_type", [pa.binary(), pa.large_binary(), pa.binary_view()], ids=str)
def test_plain_binary_jsonb_as_json(data_type: pa.DataType) -> None:
    values = [JSONB_PROPERTIES, b"\x00\x01", None, b""]
    expected = ['{"request_id":"req-7f3a","zone":"eu"}', "0x0001", NULL_TEXT, "0x"]

    assert format_array(pa.array(values, data_type)) == expected
    # Dictionaries of binary are the Micromegas `jsonb` type, where empty bytes mean `{}`, so
    # only the other values are compared.
    dictionary = pa.array(values[:3], data_type).dictionary_encode()
    assert format_array(dictionary) == expected[:3]


def test_binary_jsonb_only_when_complete() -> None:
    values = [
        JSONB_PROPERTIES[:-1],  # truncated
        JSONB_PROPERTIES + b"\x00",  # trailing byte
        b"\x40\x00\x00\x00",  # the empty object
        b"\x40\x00\x00\x09",  # an object header without its entries
    ]
    texts = format_array(pa.array(values, pa.binary()))

    assert texts[0].startswith("0x400000")
    assert texts[1].startswith("0x400000")
    assert texts[2] == "{}"
    assert texts[3] == "0x40000009"
    # Fixed-size binaries are ids and hashes, never JSONB.
    fixed = pa.array([b"\x40\x00\x00\x00"], pa.binary(4))
    assert format_array(fixed) == ["0x40000000"]


def test_compact_utc_offset_grid_only() -> None:
    assert compact_utc_offset("2023-11-14 22:13:20.123456789+00:00") == (
        "2023-11-14 22:13:20.123456789Z"
    )
    assert compact_utc_offset("2023-11-14 23:13:20+01:00") == "2023-11-14 23:13:20+01:00"
    assert compact_utc_offset("2023-11-14 22:13:20") == "2023-11-14 22:13:20"
    # format_array itself keeps the long form, which the detail view and exports use.
    aware = pa.array([0], pa.timestamp("s", tz="+00:00"))
    assert format_array(aware) == ["1970-01-01 00:00:00+00:00"]


@pytest.mark.parametrize(
    ("column_zone", "tz", "cells"),
    [
        (None, None, 0),
        ("+00:00", None, 1),
        ("UTC", None, 1),
        ("Etc/UTC", None, 1),
        ("-05:00", None, 6),
        ("Europe/London", None, 6),
        (None, "Asia/Tokyo", 6),
        ("+00:00", "UTC", 1),
        ("+00:00", "America/New_York", 6),
    ],
)
def test_compact_offset_cells(column_zone: str | None, tz: str | None, cells: int) -> None:
    assert compact_offset_cells(column_zone, tz) == cells


def test_level_detail_text_names() -> None:
    assert level_detail_text(1) == "FATAL (1)"
    assert level_detail_text(2) == "ERROR (2)"
    assert level_detail_text(6) == "TRACE (6)"
    assert level_detail_text(0) == "0"
    assert level_detail_text(9) == "9"


def test_invalid_utf8_shown_replaced() -> None:
    # Arrow does not check the UTF-8 of a server's strings. Each invalid sequence shows as
    # U+FFFD, as in copied text.
    strings = pa.array([b"ok", b"\xff\xfe bad", None], pa.binary()).view(pa.string())
    assert format_array(strings) == ["ok", "\ufffd\ufffd bad", NULL_TEXT]
    offsets = pa.array([0, 2, 3], pa.int32())
    assert format_array(pa.ListArray.from_arrays(offsets, strings)) == [
        '["ok", "\ufffd\ufffd bad"]',
        "[null]",
    ]


def test_timestamp_offset_seconds_kept() -> None:
    # Asia/Kolkata used local mean time, +05:53:28, in 1800. Arrow's `%Ez` writes +05:53, which
    # names an instant 28 seconds later.
    zoned = pa.array([-5364662400, 0, None], pa.timestamp("s", "Asia/Kolkata"))
    assert full_texts(zoned) == [
        "1800-01-01 05:53:28+05:53:28",
        "1970-01-01 05:30:00+05:30",
        NULL_TEXT,
    ]
    paris = pa.array([-5364662400_000], pa.timestamp("ms", "Europe/Paris"))
    assert full_texts(paris) == ["1800-01-01 00:09:21.000+00:09:21"]
    assert full_texts(paris, tz="Asia/Kolkata") == ["1800-01-01 05:53:28.000+05:53:28"]


def test_fallback_traceback_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    # Every repaint formats the visible rows again; a failure must not fill the log.
    data_type = pa.struct([("fallback_log_test", pa.int8())])
    with caplog.at_level(logging.DEBUG, logger="mmtui.results.formatting"):
        for _ in range(3):
            try:
                raise ValueError("cannot format")
            except ValueError:
                formatting._log_fallback(data_type)

    records = [r for r in caplog.records if "fallback_log_test" in r.getMessage()]
    assert [r.levelno for r in records] == [logging.ERROR, logging.DEBUG, logging.DEBUG]
    assert records[0].exc_info is not None
    assert records[1].exc_info is None


@pytest.mark.parametrize(
    ("value_type", "entries", "expected"),
    [
        (pa.string_view(), ["api", "gateway", None], ["gateway", "∅", "api"]),
        (pa.binary_view(), [b"\x01", b"\x02\x03", None], ["0x0203", "∅", "0x01"]),
    ],
)
def test_view_type_dictionaries_format(
    value_type: pa.DataType, entries: list[object], expected: list[str]
) -> None:
    indices = pa.array([1, None, 0], pa.uint8())
    small = pa.DictionaryArray.from_arrays(indices, pa.array(entries, value_type))
    assert format_array(small) == expected
    # A dictionary longer than the rows takes only the entries the rows use.
    many = pa.array([*entries, *entries, *entries], value_type)
    assert format_array(pa.DictionaryArray.from_arrays(indices, many)) == expected
