"""Export of a result store to CSV, Parquet and JSON lines, including spilled batches."""

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmtui.results import ResultStore
from mmtui.results.export import ExportError, export_store
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
    assert first["time"] == "2023-11-14 22:13:20.000000001+0000"
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
        assert table.column("span").to_pylist() == ["1mo 2d 3ns"]


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
    assert str(caught.value) == f"directory {target.parent} does not exist"
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
