"""ResultStore: concurrent append and read, row lookup, spilling to disk, widths, formatting."""

import random
import threading
import time

import pyarrow as pa
import pytest

from mmtui.results import MAX_COLUMN_CELLS, MAX_HEADER_CELLS, ResultStore, StoreClosedError

SCHEMA = pa.schema(
    [
        ("n", pa.int64()),
        ("msg", pa.string()),
        ("target", pa.dictionary(pa.int32(), pa.string())),
    ]
)


def make_batch(first: int, rows: int) -> pa.RecordBatch:
    numbers = list(range(first, first + rows))
    messages = [f"message {n} {'日本' if n % 3 == 0 else 'ascii'}" for n in numbers]
    # Each batch gets its own dictionary, as a Flight stream without unification sends them.
    targets = pa.array([f"target-{first}-{n % 4}" for n in numbers]).dictionary_encode()
    return pa.record_batch([pa.array(numbers, pa.int64()), pa.array(messages), targets], SCHEMA)


def fill(store: ResultStore, sizes: list[int]) -> pa.Table:
    batches = []
    first = 0
    for size in sizes:
        batch = make_batch(first, size)
        store.append(batch)
        batches.append(batch)
        first += size
    return pa.Table.from_batches(batches, schema=SCHEMA)


def test_counters_and_zero_row_batches() -> None:
    with ResultStore(SCHEMA) as store:
        fill(store, [3, 0, 5])
        assert store.row_count == 8
        assert store.batch_count == 3
        assert store.nbytes_total == store.nbytes_in_memory
        assert store.nbytes_total > 0


def test_locate_at_batch_boundaries() -> None:
    with ResultStore(SCHEMA) as store:
        fill(store, [3, 1, 0, 5])
        assert store.locate(0) == (0, 0)
        assert store.locate(2) == (0, 2)
        assert store.locate(3) == (1, 0)
        # The zero-row batch is not stored, so row 4 starts stored batch 2.
        assert store.locate(4) == (2, 0)
        assert store.locate(8) == (2, 4)
        with pytest.raises(IndexError):
            store.locate(9)
        with pytest.raises(IndexError):
            store.locate(-1)


def test_window_crosses_batches() -> None:
    with ResultStore(SCHEMA) as store:
        table = fill(store, [3, 1, 0, 5])
        window = store.window(2, 6)
        assert window.column("n").to_pylist() == [2, 3, 4, 5]
        assert window.equals(table.slice(2, 4))


def test_window_clamped_to_rows() -> None:
    with ResultStore(SCHEMA) as store:
        fill(store, [4])
        assert store.window(2, 100).column("n").to_pylist() == [2, 3]
        assert store.window(10, 20).num_rows == 0
        assert store.window(-5, 1).column("n").to_pylist() == [0]
        assert store.window(3, 1).num_rows == 0


def test_empty_store_reads() -> None:
    with ResultStore(SCHEMA) as store:
        assert store.row_count == 0
        assert store.window(0, 10).num_rows == 0
        assert store.format_window(0, 10, [0, 1]) == []
        assert list(store.iter_batches()) == []
        assert store.column_widths == [1, 3, 6]


def test_scalar_lookup() -> None:
    with ResultStore(SCHEMA) as store:
        fill(store, [3, 4])
        assert store.scalar(5, 0).as_py() == 5
        assert store.scalar(3, 2).as_py() == "target-3-3"
        with pytest.raises(IndexError):
            store.scalar(7, 0)


def test_schema_mismatch_rejected() -> None:
    with ResultStore(SCHEMA) as store:
        other = pa.record_batch([pa.array([1])], names=["x"])
        with pytest.raises(ValueError, match="schema"):
            store.append(other)


def test_closed_store_rejects_use() -> None:
    store = ResultStore(SCHEMA)
    fill(store, [2])
    store.close()
    store.close()
    with pytest.raises(StoreClosedError):
        store.window(0, 1)
    with pytest.raises(StoreClosedError):
        store.append(make_batch(0, 1))


def test_append_from_thread_while_reading() -> None:
    sizes = [random.Random(3).randint(0, 300) for _ in range(300)]
    total = sum(sizes)
    store = ResultStore(SCHEMA, memory_budget_bytes=200_000)
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            fill(store, sizes)
        except BaseException as error:
            errors.append(error)

    producer = threading.Thread(target=produce)
    producer.start()
    generator = random.Random(5)
    reads = 0
    deadline = time.monotonic() + 30
    try:
        while (producer.is_alive() or reads < 50) and time.monotonic() < deadline:
            rows = store.row_count
            if rows == 0:
                continue
            start = generator.randrange(rows)
            window = store.window(start, start + 40)
            expected = list(range(start, min(start + 40, rows)))
            assert window.column("n").to_pylist()[: len(expected)] == expected
            texts = store.format_window(start, start + 5, [1, 0])
            assert texts[0][1] == str(start)
            reads += 1
    finally:
        producer.join(timeout=30)
        store.close()
    assert not errors
    assert reads >= 50
    assert store.row_count == total


def test_spill_then_windows_match_original(tmp_path: pytest.TempPathFactory) -> None:
    store = ResultStore(SCHEMA, memory_budget_bytes=64 * 1024, spill_dir=tmp_path)
    table = fill(store, [1000] * 40)
    assert store.spilled_batch_count > 30
    assert store.nbytes_in_memory <= 64 * 1024 + table.to_batches()[-1].nbytes
    assert store.nbytes_total >= table.nbytes
    spill_path = store.spill_path
    assert spill_path is not None
    assert spill_path.exists()
    assert spill_path.is_relative_to(tmp_path)
    for start in (0, 17_345, 39_990):
        assert store.window(start, start + 50).equals(table.slice(start, 50))
    assert store.scalar(0, 2).as_py() == "target-0-0"
    assert store.format_window(999, 1001, [0, 2]) == [
        ["999", "target-0-3"],
        ["1000", "target-1000-0"],
    ]
    assert pa.Table.from_batches(list(store.iter_batches()), schema=SCHEMA).equals(table)
    store.close()
    assert not spill_path.exists()


def test_iter_batches_first_rows(tmp_path: pytest.TempPathFactory) -> None:
    store = ResultStore(SCHEMA, memory_budget_bytes=4 * 1024, spill_dir=tmp_path)
    table = fill(store, [100, 0, 100, 100, 100])
    assert store.spilled_batch_count > 0

    for rows in (0, 1, 100, 150, 299, 400, 1000):
        expected = table.slice(0, min(rows, 400))
        batches = list(store.iter_batches(rows))
        assert all(batch.num_rows > 0 for batch in batches)
        assert pa.Table.from_batches(batches, schema=SCHEMA).equals(expected), rows
    assert [batch.num_rows for batch in store.iter_batches(150)] == [100, 50]
    store.close()


def test_iter_batches_skips_later_appends() -> None:
    with ResultStore(SCHEMA) as store:
        fill(store, [10, 10])
        batches = store.iter_batches()
        first = next(batches)
        store.append(make_batch(20, 10))

        assert [first.num_rows, *(batch.num_rows for batch in batches)] == [10, 10]
        assert store.row_count == 30


def test_widths_ascii_cjk_emoji_combining() -> None:
    schema = pa.schema(
        [
            ("ascii", pa.string()),
            ("cjk", pa.string()),
            ("emoji", pa.string()),
            ("mark", pa.string()),
        ]
    )
    batch = pa.record_batch(
        [
            pa.array(["hello world!", "a"]),
            pa.array(["日本語テキスト", "x"]),
            pa.array(["🎉🎉🎉🎉🎉🎉", "👨\u200d👩\u200d👧"]),
            pa.array(["e\u0301" * 8, None]),
        ],
        schema,
    )
    with ResultStore(schema) as store:
        store.append(batch)
        assert store.column_widths == [12, 14, 12, 8]


def test_widths_grow_per_batch_and_cap() -> None:
    schema = pa.schema([("msg", pa.string())])
    with ResultStore(schema) as store:
        store.append(pa.record_batch([pa.array(["short"])], schema))
        assert store.column_widths == [5]
        store.append(pa.record_batch([pa.array(["x" * 20])], schema))
        assert store.column_widths == [20]
        store.append(pa.record_batch([pa.array(["y" * 5000])], schema))
        assert store.column_widths == [MAX_COLUMN_CELLS]


def test_widths_header_and_special_columns() -> None:
    schema = pa.schema(
        [
            ("a_long_column_header", pa.int32()),
            ("level", pa.int32()),
            ("time", pa.timestamp("ns", tz="+00:00")),
            ("when", pa.timestamp("ms")),
            ("properties", pa.dictionary(pa.int32(), pa.binary())),
        ]
    )
    from mmtui.results.jsonb import encode_jsonb_object

    properties = pa.array([encode_jsonb_object({"k": "v"})]).dictionary_encode()
    batch = pa.record_batch(
        [
            pa.array([7], pa.int32()),
            pa.array([4], pa.int32()),
            pa.array([0], pa.timestamp("ns", tz="+00:00")),
            pa.array([0], pa.timestamp("ms")),
            properties.cast(pa.dictionary(pa.int32(), pa.binary())),
        ],
        schema,
    )
    with ResultStore(schema) as store:
        store.append(batch)
        # Timestamps leave room for "+00:00" so a display zone never widens the column.
        assert store.column_widths == [20, 5, 35, 29, 10]


def test_format_window_levels_and_zone() -> None:
    schema = pa.schema(
        [("time", pa.timestamp("s", tz="+00:00")), ("level", pa.int32()), ("msg", pa.string())]
    )
    batch = pa.record_batch(
        [
            pa.array([0, 60], pa.timestamp("s", tz="+00:00")),
            pa.array([2, 4], pa.int32()),
            pa.array(["boom\x1b[2J", None]),
        ],
        schema,
    )
    with ResultStore(schema) as store:
        store.append(batch)
        assert store.format_window(0, 2, [1, 2, 0], tz="-05:00") == [
            ["ERROR", "boom\u241b[2J", "1969-12-31 19:00:00-05:00"],
            ["INFO", "∅", "1969-12-31 19:01:00-05:00"],
        ]


def test_spill_bounds_resident_memory(tmp_path: pytest.TempPathFactory) -> None:
    import numpy as np
    import psutil
    import pyarrow.compute as pc

    schema = pa.schema([("n", pa.int64()), ("msg", pa.string())])
    words = pa.array(["x" * 150, "日本語のメッセージ" * 6, "échec " * 25])
    generator = np.random.default_rng(1)
    budget = 32 * 1024**2
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = 0
    store = ResultStore(schema, memory_budget_bytes=budget, spill_dir=tmp_path)
    for index in range(60):
        rows = 25_000
        picks = pa.array(generator.integers(0, 3, rows))
        numbers = pa.array(np.arange(rows) + index * rows)
        messages = pc.binary_join_element_wise(
            pc.take(words, picks), pc.cast(numbers, pa.string()), " "
        )
        store.append(pa.record_batch([numbers, messages], schema))
        peak = max(peak, process.memory_info().rss - baseline)
    try:
        assert store.nbytes_total > 200 * 1024**2
        assert store.nbytes_in_memory <= budget + 5 * 1024**2
        # Without spilling the growth would be at least the 200+ MB appended.
        assert peak < budget + 100 * 1024**2
        assert store.window(0, 1).column("n").to_pylist() == [0]
    finally:
        store.close()


def test_long_column_name_capped() -> None:
    # A computed column is named after its expression. The name alone widens a column of
    # short values to MAX_HEADER_CELLS at most, but wide values still widen it.
    long_name = "count(DISTINCT " + "x" * 100 + ")"
    batch = pa.record_batch(
        [pa.array([1, 22]), pa.array(["v" * 50, "w"])], names=[long_name, long_name + "2"]
    )
    with ResultStore(batch.schema) as store:
        store.append(batch)
        assert store.column_widths == [MAX_HEADER_CELLS, 50]
