"""Export of a result store to CSV, Parquet and JSON lines, including spilled batches."""

import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmtui.results import ResultStore
from mmtui.results.export import ExportCancelledError, ExportError, export_store
from mmtui.results.jsonb import encode_jsonb_object

SCHEMA = pa.schema(
    [
        ("time", pa.timestamp("ns", tz="+00:00")),
        ("level", pa.int32()),
        ("msg", pa.string()),
        ("target", pa.dictionary(pa.int32(), pa.string())),
        ("properties", pa.dictionary(pa.int32(), pa.binary())),
        ("tags", pa.list_(pa.string())),
        ("point", pa.struct([("x", pa.float64()), ("y", pa.int64())])),
        ("payload", pa.binary()),
    ]
)


def make_batch(first: int, rows: int) -> pa.RecordBatch:
    numbers = range(first, first + rows)
    properties = pa.array(
        [encode_jsonb_object({"n": str(n % 2)}) for n in numbers], pa.binary()
    ).dictionary_encode()
    return pa.record_batch(
        [
            pa.array(
                [1_700_000_000_000_000_001 + n for n in numbers], pa.timestamp("ns", tz="+00:00")
            ),
            pa.array([n % 6 + 1 for n in numbers], pa.int32()),
            pa.array([f'msg {n}, "quoted"\n日本' for n in numbers]),
            pa.array([f"t{n % 3}" for n in numbers]).dictionary_encode(),
            properties,
            pa.array([["log", f"n{n}"] for n in numbers], pa.list_(pa.string())),
            pa.array([{"x": n / 2, "y": n} for n in numbers], SCHEMA.field("point").type),
            pa.array([bytes([n % 256, 0]) for n in numbers], pa.binary()),
        ],
        SCHEMA,
    )


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    store = ResultStore(SCHEMA, memory_budget_bytes=16 * 1024, spill_dir=tmp_path)
    for index in range(12):
        store.append(make_batch(index * 100, 100))
    assert store.spilled_batch_count > 0
    return store


def test_parquet_round_trip(store: ResultStore, tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    assert export_store(store, path, "parquet") == 1200
    table = pq.read_table(path)
    assert table.num_rows == 1200
    assert table.column("msg")[1199].as_py() == 'msg 1199, "quoted"\n日本'
    assert table.column("time")[0].value == 1_700_000_000_000_000_001
    assert table.column("tags")[5].as_py() == ["log", "n5"]
    store.close()


def test_csv_nested_as_json(store: ResultStore, tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert export_store(store, path, "csv") == 1200
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1200
    first = rows[0]
    assert first["msg"] == 'msg 0, "quoted"\n日本'
    assert first["time"] == "2023-11-14 22:13:20.000000001+00:00"
    assert first["target"] == "t0"
    assert json.loads(first["properties"]) == {"n": "0"}
    assert json.loads(first["tags"]) == ["log", "n0"]
    assert json.loads(rows[3]["point"]) == {"x": 1.5, "y": 3}
    assert first["payload"] == "0x0000"
    store.close()


def test_jsonl_rows(store: ResultStore, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    assert export_store(store, path, "jsonl") == 1200
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1200
    record = json.loads(lines[701])
    assert record == {
        "time": "2023-11-14 22:13:20.000000702+00:00",
        "level": 6,
        "msg": 'msg 701, "quoted"\n日本',
        "target": "t2",
        "properties": {"n": "1"},
        "tags": ["log", "n701"],
        "point": {"x": 350.5, "y": 701},
        "payload": "0xbd00",
    }
    store.close()


def read_rows(path: Path, fmt: str) -> list[int]:
    """Return the `level` column of an exported file, one value per row."""
    if fmt == "parquet":
        return [int(value) for value in pq.read_table(path).column("level").to_pylist()]
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return [int(row["level"]) for row in csv.DictReader(handle)]
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["level"] for line in lines]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_first_rows(store: ResultStore, tmp_path: Path, fmt: str) -> None:
    # 1200 rows in 12 batches of 100, some spilled: 250 rows end inside the third batch.
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / f"first.{fmt}"

    assert export_store(store, path, fmt, rows=250) == 250

    levels = read_rows(path, fmt)
    assert len(levels) == 250
    assert levels[-1] == 249 % 6 + 1
    assert sorted(p.name for p in folder.iterdir()) == [path.name]
    if fmt == "parquet":
        assert pq.read_metadata(path).num_rows == 250
    store.close()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_cancel_between_batches(store: ResultStore, tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"cancelled.{fmt}"
    checks: list[int] = []

    def cancelled() -> bool:
        # True at the check before the fourth batch, once three batches are in the file.
        checks.append(len(list(folder.iterdir())))
        return len(checks) > 3

    with pytest.raises(ExportCancelledError) as caught:
        export_store(store, target, fmt, cancelled=cancelled)

    assert str(caught.value) == f"the export to {target} was cancelled"
    assert len(checks) == 4
    # The temporary file existed while the batches were written, and is gone now.
    assert checks == [1, 1, 1, 1]
    assert list(folder.iterdir()) == []
    store.close()


def test_export_cancel_before_rename(store: ResultStore, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "late.csv"
    target.write_text("precious\n")
    checks: list[int] = []

    def cancelled() -> bool:
        # 12 batches, so the 13th check is the one after the last batch.
        checks.append(1)
        return len(checks) == 13

    with pytest.raises(ExportCancelledError):
        export_store(store, target, "csv", cancelled=cancelled)

    assert len(checks) == 13
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in folder.iterdir()) == ["late.csv"]
    store.close()


def test_unknown_format_rejected(store: ResultStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xlsx"):
        export_store(store, tmp_path / "out.xlsx", "xlsx")
    store.close()


def test_failed_export_leaves_no_file(store: ResultStore, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "out.csv"
    with pytest.raises(OSError):
        export_store(store, target, "csv")
    assert not target.exists()
    assert not (tmp_path / "missing-dir").exists()
    store.close()


def test_parquet_unsupported_type_as_text(tmp_path: Path) -> None:
    schema = pa.schema([("span", pa.month_day_nano_interval()), ("n", pa.int64())])
    with ResultStore(schema) as store:
        store.append(
            pa.record_batch(
                [pa.array([pa.MonthDayNano([1, 2, 3])], schema.field("span").type), pa.array([5])],
                schema,
            )
        )
        path = tmp_path / "odd.parquet"
        assert export_store(store, path, "parquet") == 1
        table = pq.read_table(path)
        assert table.column("n").to_pylist() == [5]
        # Parquet has no month-day-nano interval type, so the column is written as text.
        assert table.column("span").to_pylist() == ["1mo 2d 00:00:00.000000003"]


def test_parquet_repeated_names_renamed(tmp_path: Path) -> None:
    # A join's `a.msg, b.msg`, and a `msg_2` of its own that the rename must not reuse.
    names = ["msg", "msg", "msg_2", "msg"]
    schema = pa.schema([(name, pa.string()) for name in names])
    with ResultStore(schema) as store:
        values = [pa.array([f"value {index}"]) for index in range(len(names))]
        store.append(pa.record_batch(values, schema))
        path = tmp_path / "join.parquet"
        assert export_store(store, path, "parquet") == 1

    table = pq.read_table(path)
    assert table.column_names == ["msg", "msg_3", "msg_2", "msg_4"]
    assert [table.column(index)[0].as_py() for index in range(4)] == [
        "value 0",
        "value 1",
        "value 2",
        "value 3",
    ]


def test_jsonl_repeated_names_renamed(tmp_path: Path) -> None:
    names = ["msg", "msg", "msg_2", "msg"]
    schema = pa.schema([(name, pa.string()) for name in names])
    with ResultStore(schema) as store:
        values = [pa.array([f"value {index}"]) for index in range(len(names))]
        store.append(pa.record_batch(values, schema))
        path = tmp_path / "join.jsonl"
        assert export_store(store, path, "jsonl") == 1

    row = json.loads(path.read_text(encoding="utf-8"))
    assert list(row) == ["msg", "msg_3", "msg_2", "msg_4"]
    assert list(row.values()) == ["value 0", "value 1", "value 2", "value 3"]


def test_export_rejects_directory(store: ResultStore, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for path in (folder, f"{folder}/", f"{tmp_path}/new-name/"):
        with pytest.raises(ExportError, match="is a directory; enter a file name") as caught:
            export_store(store, path, "csv")
        assert caught.value.user_error
    assert list(folder.iterdir()) == []
    assert not (tmp_path / "folder.part").exists()
    assert not (tmp_path / "new-name").exists()
    store.close()


def test_export_keeps_user_part_file(store: ResultStore, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "rows.csv"
    target.write_text("old\n")
    (folder / "rows.csv.part").write_text("mine\n")

    assert export_store(store, target, "csv") == 1200

    assert (folder / "rows.csv.part").read_text() == "mine\n"
    assert target.read_text().startswith('"time","level","msg"')
    assert sorted(path.name for path in folder.iterdir()) == ["rows.csv", "rows.csv.part"]
    store.close()


def test_export_error_names_target(store: ResultStore, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    # Longer than NAME_MAX: the checks pass, and renaming the written file fails.
    target = folder / ("x" * 300 + ".jsonl")

    with pytest.raises(ExportError) as caught:
        export_store(store, target, "jsonl")

    assert str(caught.value) == f"writing {target} failed: File name too long"
    assert caught.value.user_error
    assert list(folder.iterdir()) == []
    store.close()


def test_export_missing_directory_is_user_error(store: ResultStore, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "rows.csv"
    with pytest.raises(ExportError) as caught:
        export_store(store, target, "csv")
    assert (
        str(caught.value)
        == f"directory {target.parent} does not exist: create it, or enter a path in another "
        "directory"
    )
    assert caught.value.user_error
    store.close()


def test_jsonl_plain_binary_jsonb(tmp_path: Path) -> None:
    schema = pa.schema([("properties", pa.binary())])
    values = [encode_jsonb_object({"k": "v"}), b"\x00\x01", None]
    target = tmp_path / "out.jsonl"
    with ResultStore(schema) as store:
        store.append(pa.record_batch([pa.array(values, pa.binary())], schema))
        assert export_store(store, target, "jsonl") == 3

    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == [{"properties": {"k": "v"}}, {"properties": "0x0001"}, {"properties": None}]


def test_jsonl_dictionary_binary_hex_quoted(tmp_path: Path) -> None:
    schema = pa.schema([("properties", pa.dictionary(pa.int32(), pa.binary()))])
    values = pa.array([b"hello", encode_jsonb_object({"k": "v"}), None], pa.binary())
    target = tmp_path / "out.jsonl"
    with ResultStore(schema) as store:
        store.append(pa.record_batch([values.dictionary_encode()], schema))
        assert export_store(store, target, "jsonl") == 3

    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert lines == [
        {"properties": "0x68656c6c6f"},
        {"properties": {"k": "v"}},
        {"properties": None},
    ]


def test_parquet_large_dictionaries_stay_small(tmp_path: Path) -> None:
    # Each batch repeats a dictionary of 5,000 ids and uses three of them, as a Flight stream
    # may send a partition's whole dictionary with every batch.
    entries = pa.array([f"block-{n:05d}-{'x' * 30}" for n in range(5000)])
    schema = pa.schema([("block_id", pa.dictionary(pa.int32(), pa.string()))])
    plain_schema = pa.schema([("block_id", pa.string())])
    encoded_path = tmp_path / "encoded.parquet"
    plain_path = tmp_path / "plain.parquet"
    with ResultStore(schema) as encoded, ResultStore(plain_schema) as plain:
        for batch_index in range(20):
            indices = pa.array([batch_index, batch_index + 1, batch_index + 2] * 100, pa.int32())
            column = pa.DictionaryArray.from_arrays(indices, entries)
            encoded.append(pa.record_batch([column], schema))
            plain.append(pa.record_batch([column.dictionary_decode()], plain_schema))
        assert export_store(encoded, encoded_path, "parquet") == 6000
        assert export_store(plain, plain_path, "parquet") == 6000

    assert pq.read_table(encoded_path).column("block_id").to_pylist() == (
        pq.read_table(plain_path).column("block_id").to_pylist()
    )
    assert encoded_path.stat().st_size <= 1.2 * plain_path.stat().st_size


def export_batch(batch: pa.RecordBatch, path: Path, fmt: str) -> None:
    """Export one batch as a whole result in `fmt`."""
    with ResultStore(batch.schema) as store:
        store.append(batch)
        assert export_store(store, path, fmt) == batch.num_rows


INT64_EXTREMES = [-(2**63), 2**63 - 1, None, 0]


def test_csv_zoned_timestamps_exact(tmp_path: Path) -> None:
    # Arrow's CSV writer wraps zoned values outside the nanosecond range to wrong dates. Values
    # that Python cannot place in the zone are written in UTC, and the others with the zone's
    # offset as `+05:30`. In 1677, Asia/Kolkata used local mean time, +05:53:28 in zoneinfo.
    units = ["s", "ms", "us", "ns"]
    columns = [pa.array(INT64_EXTREMES, pa.timestamp(unit, "Asia/Kolkata")) for unit in units]
    path = tmp_path / "zoned.csv"
    export_batch(pa.record_batch(columns, names=units), path, "csv")

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["s"] for row in rows] == [
        "-292277022657-01-27 08:29:52+00:00",
        "292277026596-12-04 15:30:07+00:00",
        "",
        "1970-01-01 05:30:00+05:30",
    ]
    assert [row["ms"] for row in rows] == [
        "-292275055-05-16 16:47:04.192+00:00",
        "292278994-08-17 07:12:55.807+00:00",
        "",
        "1970-01-01 05:30:00.000+05:30",
    ]
    assert [row["us"] for row in rows] == [
        "-290308-12-21 19:59:05.224192+00:00",
        "294247-01-10 04:00:54.775807+00:00",
        "",
        "1970-01-01 05:30:00.000000+05:30",
    ]
    assert [row["ns"] for row in rows] == [
        "1677-09-21 06:06:11.145224192+05:53:28",
        "2262-04-12 05:17:16.854775807+05:30",
        "",
        "1970-01-01 05:30:00.000000000+05:30",
    ]


def test_csv_timestamps_match_jsonl(tmp_path: Path) -> None:
    zones = [None, "UTC", "+00:00", "Asia/Kolkata"]
    columns = [pa.array(INT64_EXTREMES, pa.timestamp("us", zone)) for zone in zones]
    names = [f"ts_{index}" for index in range(len(zones))]
    batch = pa.record_batch(columns, names=names)
    export_batch(batch, tmp_path / "ts.csv", "csv")
    export_batch(batch, tmp_path / "ts.jsonl", "jsonl")

    with open(tmp_path / "ts.csv", newline="", encoding="utf-8") as handle:
        csv_rows = list(csv.DictReader(handle))
    json_rows = [json.loads(line) for line in (tmp_path / "ts.jsonl").read_text().splitlines()]
    for csv_row, json_row in zip(csv_rows, json_rows, strict=True):
        assert csv_row == {name: json_row[name] or "" for name in names}
    assert csv_rows[3]["ts_0"] == "1970-01-01 00:00:00.000000"
    assert csv_rows[3]["ts_1"] == "1970-01-01 00:00:00.000000+00:00"


RUN_END_ENCODED = pa.RunEndEncodedArray.from_arrays(
    pa.array([2, 4], pa.int32()), pa.array(["run", None])
)


def test_jsonl_run_end_encoded_valid(tmp_path: Path) -> None:
    path = tmp_path / "ree.jsonl"
    export_batch(pa.record_batch([RUN_END_ENCODED], names=["ree"]), path, "jsonl")

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records == [{"ree": "run"}, {"ree": "run"}, {"ree": None}, {"ree": None}]


def test_parquet_run_end_encoded_values(tmp_path: Path) -> None:
    path = tmp_path / "ree.parquet"
    export_batch(pa.record_batch([RUN_END_ENCODED], names=["ree"]), path, "parquet")

    column = pq.read_table(path).column("ree")
    assert column.type == pa.string()
    assert column.to_pylist() == ["run", "run", None, None]


def union_and_ree_batch() -> pa.RecordBatch:
    sparse = pa.UnionArray.from_sparse(
        pa.array([0, 1, 0, 0], pa.int8()),
        [pa.array([1, None, None, 4]), pa.array(["a", "b", None, None])],
    )
    dense = pa.UnionArray.from_dense(
        pa.array([0, 1, 0, 1], pa.int8()),
        pa.array([0, 0, 1, 1], pa.int32()),
        [pa.array([1, None]), pa.array(["", None])],
    )
    ids = pa.array([1, 2, 3, 4])
    return pa.record_batch([ids, sparse, dense, RUN_END_ENCODED], names=["id", "su", "du", "ree"])


def test_csv_union_nulls_empty(tmp_path: Path) -> None:
    # A null is an empty field, while an empty string is `""`.
    path = tmp_path / "unions.csv"
    export_batch(union_and_ree_batch(), path, "csv")

    assert path.read_text(encoding="utf-8").splitlines() == [
        '"id","su","du","ree"',
        '1,"1","1","run"',
        '2,"b","","run"',
        "3,,,",
        '4,"4",,',
    ]


def test_jsonl_union_nulls_null(tmp_path: Path) -> None:
    path = tmp_path / "unions.jsonl"
    export_batch(union_and_ree_batch(), path, "jsonl")

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records == [
        {"id": 1, "su": 1, "du": 1, "ree": "run"},
        {"id": 2, "su": "b", "du": "", "ree": "run"},
        {"id": 3, "su": None, "du": None, "ree": None},
        {"id": 4, "su": 4, "du": None, "ree": None},
    ]


BAD_UTF8 = [b"ok", b"\xff\xfe bad", b"caf\xc3", None]
"""Valid, two invalid bytes first, a cut-off sequence last, null."""

REPLACED_UTF8 = ["ok", "\ufffd\ufffd bad", "caf\ufffd", None]


def bad_utf8_batch() -> pa.RecordBatch:
    strings = pa.array(BAD_UTF8, pa.binary()).view(pa.string())
    offsets = pa.array(range(len(BAD_UTF8) + 1), pa.int32())
    return pa.record_batch(
        [
            strings,
            pa.array(BAD_UTF8, pa.large_binary()).view(pa.large_string()),
            strings.dictionary_encode(),
            pa.ListArray.from_arrays(offsets, strings),
        ],
        names=["s", "large", "dict", "ls"],
    )


def test_jsonl_invalid_utf8_replaced(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    export_batch(bad_utf8_batch(), path, "jsonl")

    text = path.read_bytes().decode("utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert [record["s"] for record in records] == REPLACED_UTF8
    assert [record["large"] for record in records] == REPLACED_UTF8
    assert [record["dict"] for record in records] == REPLACED_UTF8
    assert [record["ls"] for record in records] == [[value] for value in REPLACED_UTF8]


def test_csv_invalid_utf8_replaced(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    export_batch(bad_utf8_batch(), path, "csv")

    text = path.read_bytes().decode("utf-8")
    assert "unprintable" not in text
    rows = list(csv.DictReader(text.splitlines(keepends=True)))
    expected = [value or "" for value in REPLACED_UTF8]
    assert [row["s"] for row in rows] == expected
    assert [row["large"] for row in rows] == expected
    assert [row["dict"] for row in rows] == expected
    assert [json.loads(row["ls"]) for row in rows] == [[value] for value in REPLACED_UTF8]
    # The null string is an empty field, and the empty string would be `""`.
    assert text.splitlines()[-1] == ',,,"[null]"'

    # Parquet keeps the original bytes, so they stay available.
    parquet_path = tmp_path / "bad.parquet"
    export_batch(bad_utf8_batch(), parquet_path, "parquet")
    table = pq.read_table(parquet_path)
    assert table.column("s").cast(pa.binary()).to_pylist() == BAD_UTF8


def test_parquet_negative_scale_decimal(tmp_path: Path) -> None:
    values = [Decimal("12300"), None, Decimal(0), Decimal(-100)]
    columns = [
        pa.array(values, pa.decimal128(5, -2)),
        pa.array(values, pa.decimal256(5, -2)),
        pa.array(values, pa.decimal128(38, -2)),
    ]
    path = tmp_path / "decimal.parquet"
    export_batch(pa.record_batch(columns, names=["d128", "d256", "wide"]), path, "parquet")

    table = pq.read_table(path)
    # A scale of 0 keeps the values, and precision grows by the scale's digits.
    assert table.schema.field("d128").type == pa.decimal128(7, 0)
    assert table.schema.field("d256").type == pa.decimal128(7, 0)
    assert table.schema.field("wide").type == pa.decimal256(40, 0)
    for name in ("d128", "d256", "wide"):
        assert table.column(name).to_pylist() == values


def test_parquet_fixed_size_list_nulls(tmp_path: Path) -> None:
    values = [[1.0, 2.0], None, [3.0, 4.0]]
    path = tmp_path / "vectors.parquet"
    export_batch(
        pa.record_batch([pa.array(values, pa.list_(pa.float64(), 2))], names=["v"]),
        path,
        "parquet",
    )

    table = pq.read_table(path)
    assert table.schema.field("v").type == pa.list_(pa.float64())
    assert table.column("v").to_pylist() == values


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_no_columns_rejected(tmp_path: Path, fmt: str) -> None:
    batch = pa.record_batch([pa.array([1, 2, 3])], names=["x"]).select([])
    target = tmp_path / f"empty.{fmt}"
    with ResultStore(batch.schema) as store:
        store.append(batch)
        with pytest.raises(ExportError) as caught:
            export_store(store, target, fmt)

    assert str(caught.value) == f"nothing to export to {target}: the result has no columns"
    assert caught.value.user_error
    assert list(tmp_path.iterdir()) == []
