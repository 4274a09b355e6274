"""Figure 7: display width measurement of 1M rows x 12 columns with 30% non-ASCII strings.

Both methods measure the same Arrow table in the same process run:
- vectorised: `mmtui.results.measure.column_cells` per column per record batch, as
  `ResultStore.append` does while a query streams;
- baseline: the per-value Python loop that Python table widgets run, `rich.cells.cell_len` on
  the text of every value (`str()` for non-string columns), batch by batch.
The table is built with Arrow compute before either timer starts. Neither method can reuse the
other's work: the baseline's `to_pylist` makes fresh Python strings, and `cell_len` caches only
strings shorter than 512 characters in a 4096-entry cache, far fewer than the 1M values.

Prints one JSON line per figure. Run: `python -m benchmarks.width_measure [--rows N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rich.cells import cell_len

from mmtui.results.measure import column_cells
from mmtui.results.widths import MAX_COLUMN_CELLS

BATCH_ROWS = 65_536
"""Rows per record batch, about what a Flight stream of log rows delivers per message."""

NON_ASCII_SHARE = 0.3

ASCII_WORDS = [
    "request handled",
    "cache miss for key",
    "connection reset by peer",
    "flushing block",
    "GET /api/v1/streams",
    "retrying upload",
    "worker started",
    "slow query detected",
]
NON_ASCII_WORDS = [
    "requête traitée",
    "échec de connexion à la base",
    "キャッシュミス",
    "数据块已写入",
    "Größe überschritten",
    "서버 응답 지연",
    "🔥 burst of errors",
    "naïve café résumé",
]


def _string_column(generator: np.random.Generator, rows: int) -> Any:
    """Build `rows` distinct strings, NON_ASCII_SHARE of them non-ASCII, without Python loops."""
    non_ascii = generator.random(rows) < NON_ASCII_SHARE
    ascii_pick = generator.integers(0, len(ASCII_WORDS), rows)
    other_pick = generator.integers(0, len(NON_ASCII_WORDS), rows)
    words = pc.if_else(
        pa.array(non_ascii),
        pc.take(pa.array(NON_ASCII_WORDS), pa.array(other_pick)),
        pc.take(pa.array(ASCII_WORDS), pa.array(ascii_pick)),
    )
    numbers = pc.cast(pa.array(generator.integers(0, 10**9, rows)), pa.string())
    return pc.binary_join_element_wise(words, numbers, " ")


def build_table(rows: int, seed: int = 42) -> pa.Table:
    """Return 12 columns: 8 strings (30% non-ASCII), 2 timestamps, a level and a float."""
    generator = np.random.default_rng(seed)
    base = 1_700_000_000_000_000_000
    columns: dict[str, Any] = {
        "time": pa.array(base + generator.integers(0, 10**13, rows), pa.timestamp("ns", "+00:00")),
        "insert_time": pa.array(base + np.arange(rows), pa.timestamp("ns", "+00:00")),
        "level": pa.array(generator.integers(1, 7, rows), pa.int32()),
        "value": pa.array(generator.random(rows) * 1e6),
    }
    for name in ("process_id", "exe", "username", "computer", "target", "msg", "host", "span"):
        columns[name] = _string_column(generator, rows)
    return pa.table(columns)


def measure_vectorised(batches: list[pa.RecordBatch]) -> list[int]:
    widths = [0] * batches[0].num_columns
    for batch in batches:
        for index in range(batch.num_columns):
            level = batch.schema.field(index).name == "level"
            widths[index] = max(widths[index], column_cells(batch.column(index), level=level))
    return widths


def measure_per_value(batches: list[pa.RecordBatch]) -> list[int]:
    widths = [0] * batches[0].num_columns
    for batch in batches:
        for index in range(batch.num_columns):
            column = batch.column(index)
            is_text = pa.types.is_string(column.type)
            widest = widths[index]
            for value in column.to_pylist():
                if value is None:
                    continue
                cells = cell_len(value if is_text else str(value))
                if cells > widest:
                    widest = cells
            widths[index] = min(widest, MAX_COLUMN_CELLS)
    return widths


def _machine() -> dict[str, Any]:
    total_memory = None
    try:
        import psutil

        total_memory = psutil.virtual_memory().total
    except ImportError:
        pass
    return {
        "cpus": os.cpu_count(),
        "ram_bytes": total_memory,
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the table")
    args = parser.parse_args(argv)

    table = build_table(args.rows)
    batches = table.to_batches(max_chunksize=BATCH_ROWS)
    string_columns = [i for i, f in enumerate(table.schema) if pa.types.is_string(f.type)]
    # Warm-up on a small slice: compiles the width patterns once, outside both timers.
    measure_vectorised([batches[0].slice(0, 10)])

    # Wall time is the figure; CPU time is printed too because other processes on a shared
    # machine inflate wall time.
    started, started_cpu = time.perf_counter(), time.process_time()
    vectorised = measure_vectorised(batches)
    vectorised_seconds = time.perf_counter() - started
    vectorised_cpu = time.process_time() - started_cpu

    started, started_cpu = time.perf_counter(), time.process_time()
    baseline = measure_per_value(batches)
    baseline_seconds = time.perf_counter() - started
    baseline_cpu = time.process_time() - started_cpu

    common = {
        "rows": args.rows,
        "columns": table.num_columns,
        "string_columns": len(string_columns),
        "non_ascii_share": NON_ASCII_SHARE,
        "batch_rows": BATCH_ROWS,
        "machine": _machine(),
    }
    figures = [
        ("width_measure_vectorised_seconds", round(vectorised_seconds, 3)),
        ("width_measure_per_value_baseline_seconds", round(baseline_seconds, 3)),
        ("width_measure_speedup", round(baseline_seconds / vectorised_seconds, 1)),
        ("width_measure_vectorised_cpu_seconds", round(vectorised_cpu, 3)),
        ("width_measure_per_value_baseline_cpu_seconds", round(baseline_cpu, 3)),
    ]
    for name, value in figures:
        print(json.dumps({"figure": name, "value": value, **common}), flush=True)
    # The string columns must agree exactly. Other columns differ by design, because the baseline
    # uses str() and the grid its own formats (level names, timestamps with offsets).
    mismatches = [
        table.schema.field(i).name for i in string_columns if vectorised[i] != baseline[i]
    ]
    print(
        json.dumps(
            {
                "figure": "width_measure_string_column_mismatches",
                "value": len(mismatches),
                "columns": mismatches,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
