"""Extension types that pyarrow defines in C++ (`arrow.uuid`, `arrow.bool8`...), received over
gRPC from the fault server, in the grid text and in every export format."""

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmtui.flightsql import FlightSQLClient
from mmtui.results import ResultStore
from mmtui.results.export import export_store
from mmtui.results.text import NULL_TEXT

TENSOR_VALUES = [[1, 2, 3, 4], None, [-5, 0, 0, 7]]
UUID_TEXTS = ["00000000-0000-0000-0000-000000000001", None, "ffffffff-ffff-ffff-ffff-ffffffffffff"]


@pytest.fixture
def received(
    fault_client: FlightSQLClient, tmp_path: Path
) -> Iterator[tuple[pa.Table, ResultStore]]:
    table = fault_client.query("SELECT 1 -- fault:extension_types")
    store = ResultStore(table.schema, spill_dir=tmp_path)
    for batch in table.to_batches():
        store.append(batch)
    yield table, store
    store.close()


def test_extension_grid_text(received: tuple[pa.Table, ResultStore]) -> None:
    table, store = received
    names = table.schema.names
    rows = store.format_window(0, 3, range(len(names)))
    columns = {name: [row[index] for row in rows] for index, name in enumerate(names)}

    assert table.column("bool8").to_pylist() == [False, None, True]
    assert columns["bool8"] == ["false", NULL_TEXT, "true"]
    assert columns["uuid"] == [text or NULL_TEXT for text in UUID_TEXTS]
    assert columns["opaque"] == ["0x01ff", NULL_TEXT, "0x"]
    assert columns["json"] == ['{"a": 1}', NULL_TEXT, "[]"]
    assert columns["tensor"] == ["[1, 2, 3, 4]", NULL_TEXT, "[-5, 0, 0, 7]"]


def test_extension_jsonl_export(received: tuple[pa.Table, ResultStore], tmp_path: Path) -> None:
    table, store = received
    path = tmp_path / "out.jsonl"
    assert export_store(store, path, "jsonl") == 3

    # Each line must be valid JSON: `False` or a bare UUID would make json.loads raise.
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [row["bool8"] for row in rows] == table.column("bool8").to_pylist()
    assert [row["uuid"] for row in rows] == UUID_TEXTS
    assert [row["opaque"] for row in rows] == ["0x01ff", None, "0x"]
    assert [row["json"] for row in rows] == table.column("json").to_pylist()
    assert [row["tensor"] for row in rows] == TENSOR_VALUES


def test_extension_csv_export(received: tuple[pa.Table, ResultStore], tmp_path: Path) -> None:
    _, store = received
    path = tmp_path / "out.csv"
    assert export_store(store, path, "csv") == 3

    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["bool8"] for row in rows] == ["false", "", "true"]
    assert [row["uuid"] for row in rows] == [text or "" for text in UUID_TEXTS]
    assert [row["opaque"] for row in rows] == ["0x01ff", "", "0x"]


def test_extension_parquet_export(received: tuple[pa.Table, ResultStore], tmp_path: Path) -> None:
    table, store = received
    path = tmp_path / "out.parquet"
    assert export_store(store, path, "parquet") == 3

    written = pq.read_table(path)
    # A fixed-size list with a null entry is written as a list, without the extension type.
    assert written.column("tensor").to_pylist() == TENSOR_VALUES
    for name in ("uuid", "bool8", "json", "opaque"):
        assert written.column(name).to_pylist() == table.column(name).to_pylist(), name
