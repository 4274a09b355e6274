"""Width measuring: the byte-length shortcut of string_max_cells and deferred measuring."""

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from rich.cells import cell_len

from mmtui.results import MAX_COLUMN_CELLS, ResultStore, format_array, measure
from mmtui.results.jsonb import encode_jsonb_object
from mmtui.results.measure import (
    WIDE_ENTRY_PROBES,
    DictionaryMemo,
    _widest_used_entry,
    column_cells,
)
from mmtui.results.text import ESCAPED_WIDE_CODEPOINTS, safe_text
from mmtui.results.widths import _has_escaped_codepoints, _value_bytes, string_max_cells

ALPHABET = (
    [chr(c) for c in range(0x20, 0x7F)] * 4
    + ["\t", "\x1b", "é", "ß", "ü", "—", "€", "…", "“"]
    + [chr(c) for c in range(0x300, 0x308)]
    + [chr(c) for c in range(0x4E00, 0x4E08)]
    + ["🎉", "🔥", "\u200d", "\ufe0f", "❤"]
)
ESCAPES = ["\x85", "\x9b", "\u061c", "\u200e", "\u202e", "\u2028", "\u2066"]


def exact_max(values: list[str | None]) -> int:
    return max((cell_len(safe_text(v)) for v in values if v is not None), default=0)


def random_texts(seed: int, count: int, escapes: bool) -> list[str | None]:
    generator = random.Random(seed)
    alphabet = ALPHABET + (ESCAPES if escapes else [])
    values: list[str | None] = []
    for _ in range(count):
        if generator.random() < 0.05:
            values.append(None)
            continue
        length = generator.randint(0, 30)
        values.append("".join(generator.choice(alphabet) for _ in range(length)))
    return values


def test_escape_scan_matches_escaped_set() -> None:
    codepoints = [*range(0x00, 0x800), *range(0x2000, 0x2100), 0x061C, 0xFE0F, 0x1F600]
    for code in codepoints:
        array = pa.array([f"ab{chr(code)}cd"])
        assert _has_escaped_codepoints(_value_bytes(array)) == (code in ESCAPED_WIDE_CODEPOINTS), (
            hex(code)
        )


def test_value_bytes_of_sliced_array() -> None:
    array = pa.array(["日本", "abc", "de", "é"]).slice(1, 2)
    assert bytes(_value_bytes(array)) == b"abcde"
    large = pa.array(["日本", "abc", "de"], pa.large_string()).slice(1)
    assert bytes(_value_bytes(large)) == b"abcde"


@pytest.mark.parametrize("escapes", [False, True])
def test_string_max_cells_with_known_width(escapes: bool) -> None:
    values = random_texts(11, 500, escapes)
    array = pa.array(values, pa.string())
    widest = exact_max(values)
    assert string_max_cells(array) == widest
    for known in [0, 1, widest - 5, widest - 1, widest, widest + 3]:
        assert string_max_cells(array, known) == max(known, widest), known


@pytest.mark.parametrize("escapes", [False, True])
def test_capped_max_cells_exact_below_cap(escapes: bool) -> None:
    values = random_texts(12, 500, escapes)
    widest = exact_max(values)
    for extra in [[], ["x" * 40], ["x" * 12, "日本語日本語"], ["日" * 30]]:
        array = pa.array(values + extra, pa.string())
        exact = max(widest, exact_max(extra))
        for cap in [5, 12, 20, 40, exact, exact + 1, 200]:
            for known in [0, 3, 19]:
                measured = string_max_cells(array, known, cap=cap)
                assert min(measured, cap) == min(max(known, exact), cap), (extra, cap, known)


def test_capped_max_cells_long_ascii() -> None:
    # The first value alone settles it, so the CJK text (120 cells) is never measured.
    array = pa.array(["a" * 80, "日本語" * 20, None])
    assert string_max_cells(array, cap=80) == 80
    assert string_max_cells(array) == 120
    # No ASCII value reaches the cap, so the wide text is measured in full.
    assert string_max_cells(pa.array(["a" * 79, "日本語" * 20]), cap=80) == 120


def test_short_escape_wider_than_its_bytes() -> None:
    # "a\x85" is 3 bytes but 9 cells ("a<U+0085>"), so no byte bound may skip it.
    array = pa.array(["日本語", "a\x85"])
    assert string_max_cells(array, known_cells=6) == 9


def test_ascii_control_characters_take_one_cell() -> None:
    array = pa.array(["tab\there", "esc\x1b[0m", None])
    assert string_max_cells(array) == 8
    assert string_max_cells(array, known_cells=10) == 10


def test_chunked_matches_combined() -> None:
    chunks = [pa.array(random_texts(seed, 200, seed % 2 == 0), pa.string()) for seed in range(6)]
    chunked = pa.chunked_array(chunks, pa.string())
    widest = exact_max(chunked.to_pylist())
    for known in [0, 10, widest]:
        assert string_max_cells(chunked, known) == max(known, widest)
    sliced = chunked.slice(150, 500)
    assert string_max_cells(sliced) == exact_max(sliced.to_pylist())


SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("ns", tz="+00:00")),
        ("level", pa.int32()),
        ("n", pa.int64()),
        ("ratio", pa.float64()),
        ("msg", pa.string()),
        ("target", pa.dictionary(pa.int32(), pa.string())),
        ("big", pa.large_string()),
        ("props", pa.binary()),
    ]
)


def make_batch(seed: int, rows: int) -> pa.RecordBatch:
    generator = random.Random(seed)
    texts = random_texts(seed, rows, escapes=seed % 5 == 0)
    targets = [f"target-{seed}-{generator.randint(0, 10 ** (seed % 6))}" for _ in range(rows)]
    return pa.record_batch(
        [
            pa.array([generator.randint(0, 2**60) for _ in range(rows)], SCHEMA.field(0).type),
            pa.array([generator.randint(1, 6) for _ in range(rows)], pa.int32()),
            pa.array(
                [generator.randint(-(10 ** (seed % 18)), 10 ** (seed % 18)) for _ in range(rows)],
                pa.int64(),
            ),
            pa.array([generator.random() * 10.0 ** (seed % 25) for _ in range(rows)], pa.float64()),
            pa.array(texts, pa.string()),
            pa.array(targets).dictionary_encode(),
            pa.array(list(reversed(texts)), pa.large_string()),
            pa.array([encode_jsonb_object({"k": "v" * seed}) for _ in range(rows)], pa.binary()),
        ],
        SCHEMA,
    )


def test_deferred_widths_equal_batch_by_batch() -> None:
    batches = [make_batch(seed, random.Random(seed).randint(0, 120)) for seed in range(40)]
    # A slice of a bigger batch, as Flight readers may hand out.
    batches.append(make_batch(99, 300).slice(100, 50))
    with ResultStore(SCHEMA) as eager, ResultStore(SCHEMA, measure_every_rows=1000) as deferred:
        for batch in batches:
            eager.append(batch)
            deferred.append(batch)
        assert deferred.unmeasured_row_count > 0
        deferred.measure_pending()
        assert deferred.unmeasured_row_count == 0
        assert deferred.column_widths == eager.column_widths
        assert deferred.row_count == eager.row_count


def test_deferred_first_batch_measured_at_once() -> None:
    schema = pa.schema([("msg", pa.string())])
    with ResultStore(schema, measure_every_rows=10) as store:
        store.append(pa.record_batch([pa.array([], pa.string())], schema))
        store.append(pa.record_batch([pa.array(["short"])], schema))
        assert store.column_widths == [5]
        store.append(pa.record_batch([pa.array(["x" * 20] * 4)], schema))
        assert store.column_widths == [5]
        assert store.unmeasured_row_count == 4
        # The 10th pending row makes the measurement due.
        store.append(pa.record_batch([pa.array(["y" * 30] * 6)], schema))
        assert store.unmeasured_row_count == 0
        assert store.column_widths == [30]
        store.append(pa.record_batch([pa.array(["z" * 500])], schema))
        store.measure_pending()
        assert store.column_widths == [MAX_COLUMN_CELLS]
        assert store.row_count == 12


def test_measure_pending_on_closed_store_is_noop() -> None:
    schema = pa.schema([("msg", pa.string())])
    store = ResultStore(schema, measure_every_rows=100)
    store.append(pa.record_batch([pa.array(["abc"])], schema))
    store.append(pa.record_batch([pa.array(["abcdefgh"])], schema))
    store.close()
    store.measure_pending()
    assert store.unmeasured_row_count == 0
    assert store.column_widths == [3]


def test_negative_measure_every_rows_rejected() -> None:
    with pytest.raises(ValueError, match="measure_every_rows"):
        ResultStore(pa.schema([("msg", pa.string())]), measure_every_rows=-1)


def test_string_view_batches_append_and_measure() -> None:
    schema = pa.schema([("msg", pa.string_view()), ("raw", pa.binary_view())])
    batch = pa.record_batch(
        [
            pa.array(["日本語テキスト", "ab"], pa.string_view()),
            pa.array([b"x", b"yz"], pa.binary_view()),
        ],
        schema,
    )
    with ResultStore(schema, measure_every_rows=100) as store:
        store.append(batch)
        store.append(batch.slice(1))
        store.measure_pending()
        assert store.row_count == 3
        assert store.nbytes_total > 0
        assert store.column_widths[0] == 14


def per_chunk_cells(column: pa.ChunkedArray, known: int) -> int:
    """Return the width measured batch by batch, as `append` does without deferring."""
    for chunk in column.chunks:
        known = column_cells(chunk, known_cells=known)
    return known


def dictionary_chunk(values: list[str | None], dictionary: list[str | None]) -> pa.Array:
    indices = pa.array([None if v is None else dictionary.index(v) for v in values], pa.int32())
    return pa.DictionaryArray.from_arrays(indices, pa.array(dictionary, pa.string()))


@pytest.mark.parametrize(
    ("second_values", "second_dictionary", "expected"),
    [
        # A wider entry in use in a later batch's dictionary widens the column.
        (["api", "payments-worker-eu"], ["api", "payments-worker-eu"], 18),
        # A wider entry that no row uses does not.
        (["api", None], ["api", "payments-worker-eu"], 8),
        # An escaped character takes 8 cells for its 3 bytes.
        (["x\u202e"], ["x\u202e"], 9),
        (["ab\u202e"], ["ab\u202e", "x"], 10),
    ],
)
def test_chunked_dictionary_widths_match_batches(
    second_values: list[str | None], second_dictionary: list[str | None], expected: int
) -> None:
    first = dictionary_chunk(["api", "gateway1"], ["api", "gateway1"])
    second = dictionary_chunk(second_values, second_dictionary)
    column = pa.chunked_array([first, second])
    known = column_cells(first)
    assert known == 8
    assert column_cells(column, known_cells=known) == expected
    assert per_chunk_cells(column, known) == expected


def random_dictionary_chunks(seed: int, jsonb: bool) -> list[pa.Array]:
    """Return dictionary chunks in runs of equal dictionaries, each chunk with its own copy."""
    generator = random.Random(seed)
    words = [w for w in random_texts(seed, 40, escapes=True) if w is not None]
    chunks: list[pa.Array] = []
    for _ in range(6):
        entries: list[str | None] = generator.sample(words, generator.randint(0, 8))
        if entries and generator.random() < 0.3:
            entries.append(None)
        for _ in range(generator.randint(1, 4)):
            length = 0 if generator.random() < 0.1 else generator.randint(1, 12)
            # Rows use a random subset of entries (some wide entries stay unused), or null.
            used = [i for i in range(len(entries)) if generator.random() < 0.5]
            rows = [
                generator.choice(used) if used and generator.random() < 0.9 else None
                for _ in range(length)
            ]
            indices = pa.array(rows, pa.int32())
            if jsonb:
                values = [
                    None if entry is None else encode_jsonb_object({"k": entry})
                    for entry in entries
                ]
                dictionary = pa.array(values, pa.binary())
            else:
                dictionary = pa.array(entries, pa.string())
            chunks.append(pa.DictionaryArray.from_arrays(indices, dictionary))
    return chunks


@pytest.mark.parametrize("jsonb", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_dictionary_runs_match_batches(seed: int, jsonb: bool) -> None:
    chunks = random_dictionary_chunks(seed, jsonb)
    column = pa.chunked_array(chunks, chunks[0].type)
    for known in [0, 1, 6]:
        assert column_cells(column, known_cells=known) == per_chunk_cells(column, known), known


def test_dictionary_runs_skip_unused_wide_entry() -> None:
    dictionary = ["api", "payments-worker-eu"]
    # Three copies of one dictionary, and only the last copy's rows use the wide entry.
    narrow = [dictionary_chunk(["api", None], list(dictionary)) for _ in range(2)]
    wide = dictionary_chunk(["payments-worker-eu"], list(dictionary))
    assert column_cells(pa.chunked_array(narrow), known_cells=3) == 3
    assert column_cells(pa.chunked_array([*narrow, wide]), known_cells=3) == 18


@pytest.mark.parametrize("seed", range(40))
def test_widest_used_entry_matches_take(seed: int) -> None:
    generator = random.Random(seed)
    size = generator.randint(1, 3 * WIDE_ENTRY_PROBES)
    widths = pa.array(
        [None if generator.random() < 0.1 else generator.randint(0, 30) for _ in range(size)],
        pa.int64(),
    )
    # Some entries stay unused, and some rows are null.
    used = generator.sample(range(size), generator.randint(0, size))
    chunks = [
        pa.array(
            [
                generator.choice(used) if used and generator.random() < 0.9 else None
                for _ in range(generator.randint(0, 20))
            ],
            pa.int32(),
        )
        for _ in range(generator.randint(1, 4))
    ]
    indices = pa.chunked_array(chunks, pa.int32())
    gathered = pc.max(pc.take(widths, indices)).as_py() or 0
    for known in [0, 5, 15, 25]:
        assert _widest_used_entry(widths, indices, known) == max(known, gathered), known


@pytest.mark.parametrize("index_type", [pa.int8(), pa.uint8(), pa.int16()])
def test_dictionary_beyond_index_type_reach(index_type: pa.DataType) -> None:
    # Arrow accepts a dictionary longer than its index type can reach. The unreachable wide
    # entry must not stop the probe that finds the used 20-cell entry in the middle row.
    entries = ["a"] * 70_000
    entries[-1] = "w" * 30
    entries[5] = "used-entry-of-20-chr"
    indices = pa.array([0] * 250 + [5] + [0] * 250, index_type)
    array = pa.DictionaryArray.from_arrays(indices, pa.array(entries))
    array.validate(full=True)

    assert column_cells(array, known_cells=3) == 20
    assert column_cells(pa.chunked_array([array]), known_cells=3) == 20
    schema = pa.schema([("exe", array.type)])
    with ResultStore(schema) as store:
        store.append(pa.RecordBatch.from_arrays([array], schema=schema))
        assert store.column_widths == [20]


def test_dictionary_memo_skips_checked_copies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memo = DictionaryMemo()
    checked = dictionary_chunk(["api", "db"], ["api", "db"])
    assert column_cells(pa.chunked_array([checked, checked]), known_cells=3, memo=memo) == 3
    assert memo.checked is not None
    dictionary, cells = memo.checked
    assert dictionary.to_pylist() == ["api", "db"]
    assert cells == 3

    # Copies of that dictionary are not checked again, at the same width or a wider one.
    def no_check(*_args: object) -> bool:
        raise AssertionError("the remembered dictionary was checked again")

    monkeypatch.setattr(measure, "_string_entries_fit", no_check)
    copy = dictionary_chunk(["db"], ["api", "db"])
    assert column_cells(pa.chunked_array([copy]), known_cells=3, memo=memo) == 3
    assert column_cells(pa.chunked_array([copy]), known_cells=7, memo=memo) == 7
    monkeypatch.undo()

    # Another dictionary is measured: its wider entry in use widens the column.
    other = dictionary_chunk(["payments"], ["api", "payments"])
    assert column_cells(pa.chunked_array([copy, other]), known_cells=3, memo=memo) == 8
    # Below the width the memo was checked at, the memo does not apply.
    short = DictionaryMemo(checked=(pa.array(["api", "payments"]), 8))
    assert column_cells(pa.chunked_array([other]), known_cells=3, memo=short) == 8


def test_store_widths_follow_new_dictionary() -> None:
    schema = pa.schema([("exe", pa.dictionary(pa.int32(), pa.string()))])

    def batch(values: list[str], dictionary: list[str]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays([dictionary_chunk(values, dictionary)], schema=schema)

    with ResultStore(schema, measure_every_rows=1_000_000) as store:
        store.append(batch(["api"], ["api", "db"]))
        for _ in range(3):
            store.append(batch(["db", "api"], ["api", "db"]))
        store.measure_pending()
        assert store.column_widths == [3]
        store.append(batch(["db"], ["api", "db"]))
        store.append(batch(["telemetry-ingestion"], ["api", "telemetry-ingestion"]))
        store.measure_pending()
        assert store.column_widths == [len("telemetry-ingestion")]


def test_chunked_timestamps_beyond_year_9999() -> None:
    in_range = pa.array([0, 10**18], pa.timestamp("ns"))
    far = pa.array([0, 2**62], pa.timestamp("s"))
    near = pa.array([0, 86_400], pa.timestamp("s"))
    fixed = column_cells(near)
    assert column_cells(pa.chunked_array([near, near]), known_cells=fixed) == fixed
    wide = column_cells(pa.chunked_array([near, far]), known_cells=fixed)
    assert wide > fixed
    assert wide == per_chunk_cells(pa.chunked_array([near, far]), fixed)
    assert column_cells(pa.chunked_array([in_range])) == column_cells(in_range)


@pytest.mark.parametrize("zone", [None, "+00:00", "-05:00"])
def test_nanosecond_timestamps_at_int64_limits_fit(zone: str | None) -> None:
    # Nanosecond columns are not scanned, because every int64 value lies in years 1677-2262.
    values = pa.array([-(2**63), 0, 2**63 - 1, None], pa.timestamp("ns", tz=zone))
    widest = max(cell_len(text) for text in format_array(values, MAX_COLUMN_CELLS))
    for column in (values, pa.chunked_array([values, values])):
        assert column_cells(column) >= widest


def test_chunked_string_view_dictionary_widths() -> None:
    first = pa.DictionaryArray.from_arrays(
        pa.array([0, 1], pa.int32()), pa.array(["ab", "abc"], pa.string_view())
    )
    second = pa.DictionaryArray.from_arrays(
        pa.array([1], pa.int32()), pa.array(["x", "wide-entry-here"], pa.string_view())
    )
    column = pa.chunked_array([first, second])
    assert column_cells(column, known_cells=3) == 15
    assert column_cells(pa.chunked_array([first, first]), known_cells=3) == 3


@pytest.mark.parametrize("chunked", [False, True])
def test_level_numbers_outside_names_fit(chunked: bool) -> None:
    values = pa.array([1, 6, -2_147_483_648, None], pa.int32())
    column: pa.Array | pa.ChunkedArray = pa.chunked_array([values]) if chunked else values
    texts = format_array(values, MAX_COLUMN_CELLS, levels=True)
    assert texts[:3] == ["FATAL", "TRACE", "-2147483648"]
    assert column_cells(column, level=True, known_cells=5) == 11
    in_range = pa.array([1, 3, 6], pa.int32())
    assert column_cells(pa.chunked_array([in_range]), level=True, known_cells=5) == 5
