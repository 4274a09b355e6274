"""A dictionary that an Arrow IPC stream sends once and every later batch shares, received
over gRPC from the fault server: the store counts its memory once."""

from pathlib import Path

import pyarrow as pa

from mmtui.flightsql import FlightSQLClient
from mmtui.results import ResultStore
from mmtui.results.store import RESENT_DICTIONARY_CHECKS
from mmtui.results.text import NULL_TEXT
from tests.fault_server import SHARED_DICTIONARY_ENTRIES

BATCHES = 40


def test_shared_dictionary_counted_once(fault_client: FlightSQLClient, tmp_path: Path) -> None:
    stream = fault_client.query_stream(f"SELECT 1 -- fault:shared_dictionary:{BATCHES}")
    batches = list(stream)
    assert len(batches) == BATCHES
    dictionary_bytes = batches[0].column(1).dictionary.get_total_buffer_size()
    # About 3.4 MB: 40 counted copies (136 MB) pass the budget, one copy does not.
    budget = 32 * 1024**2
    assert dictionary_bytes * BATCHES > 2 * budget

    with ResultStore(stream.schema, memory_budget_bytes=budget, spill_dir=tmp_path) as store:
        for batch in batches:
            store.append(batch)

        assert store.spilled_batch_count == 0
        assert store.spill_path is None
        assert dictionary_bytes <= store.nbytes_in_memory < 2 * dictionary_bytes
        assert store.nbytes_total == store.nbytes_in_memory

        last = SHARED_DICTIONARY_ENTRIES - 1
        expected = []
        for index in range(BATCHES):
            expected += [f"entry-{index}", f"entry-{last - index}", NULL_TEXT]
        rows = store.format_window(0, store.row_count, [1])
        assert [row[0] for row in rows] == expected
        assert store.column_widths[1] == len(f"entry-{last}")


def test_replaced_dictionaries_each_counted(fault_client: FlightSQLClient, tmp_path: Path) -> None:
    # fault:types sends a second batch whose dictionary replaces the first one.
    batches = list(fault_client.query_stream("SELECT 1 -- fault:types"))
    first, second = (batch.column("dictionary").dictionary for batch in batches)
    assert first.to_pylist() != second.to_pylist()

    with ResultStore(batches[0].schema, spill_dir=tmp_path) as store:
        for batch in batches:
            store.append(batch)
        assert store.nbytes_in_memory == sum(batch.get_total_buffer_size() for batch in batches)


def test_resent_dictionaries_stop_checks(tmp_path: Path) -> None:
    batches = []
    for index in range(RESENT_DICTIONARY_CHECKS + 2):
        # A dictionary of its own for each batch, as a stream that resends them delivers.
        dictionary = pa.array([f"a-{index}", f"b-{index}"])
        indices = pa.array([0, 1, 1], pa.int32())
        column = pa.DictionaryArray.from_arrays(indices, dictionary)
        batches.append(pa.record_batch({"number": [1, 2, 3], "name": column}))

    with ResultStore(batches[0].schema, spill_dir=tmp_path) as store:
        for batch in batches[: RESENT_DICTIONARY_CHECKS - 1]:
            store.append(batch)
        assert 1 in store._watched_dictionaries

        for batch in batches[RESENT_DICTIONARY_CHECKS - 1 :]:
            store.append(batch)
        assert store._watched_dictionaries == {}
        assert store.nbytes_in_memory == sum(batch.get_total_buffer_size() for batch in batches)
