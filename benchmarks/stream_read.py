"""Benchmark: rows/s of `FlightSQLClient.query_stream` against raw `pyarrow.flight` DoGet.

Both read the same ticket (a `TicketStatementQuery` with the same SQL and headers) from the same
demo server in the same run, and do the same work per batch (add up `num_rows`). By default the
server runs in a child process, so its Python threads do not compete with the reader for the
GIL; `--server thread` runs it in this process instead. Repetitions alternate which reader goes
first, so warm-up and server caches favour neither. Each timer brackets one whole call: from
the request to the end of the stream.

Prints one JSON line per figure: `{"figure", "value", "baseline", "ratio", ...}`. For the
`*_rows_per_s` figures, value and baseline are median rows/s, ratio is the median over
repetitions of (query_stream rows/s) / (raw rows/s), and the goal is ratio >= 0.95.
`first_batch_ms` is the time from the request to the first batch (lower is better).
`cancel_latency_ms` is the time from `QueryStream.cancel()` on another thread to the reading
thread getting `QueryCancelled`. It has no baseline. `preserve_dictionary_speedup` compares
`log_entries` read with dictionary columns kept encoded, as mmtui asks, with the same read
decoded by the server, both through `query_stream`.

Run: `python -m benchmarks.stream_read [--scale 15] [--repetitions 25] [--server process]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow.flight as flight

from benchmarks.server_process import ServerProcess
from mmtui.demo import start_demo_server
from mmtui.flightsql import FlightSQLClient, QueryCancelled
from mmtui.flightsql.call_headers import CallHeaderBuilder
from mmtui.flightsql.messages import statement_ticket

# The columns a log view shows; `properties` is left out because it dominates the bytes.
LOG_SQL = "SELECT time, process_id, exe, level, target, msg FROM log_entries"
RANGE_ROWS = 5_000_000
RANGE_SQL = f"SELECT value FROM range({RANGE_ROWS})"
GRPC_OPTIONS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]


def read_raw(raw_client: Any, sql: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, float]:
    """Read `sql` with plain `FlightClient.do_get`; return (rows, seconds)."""
    started = time.perf_counter()
    reader = raw_client.do_get(statement_ticket(sql), flight.FlightCallOptions(headers=headers))
    rows = 0
    for chunk in reader:
        rows += chunk.data.num_rows
    return rows, time.perf_counter() - started


def read_stream(client: FlightSQLClient, sql: str) -> tuple[int, float]:
    """Read `sql` with `query_stream`; return (rows, seconds)."""
    started = time.perf_counter()
    rows = 0
    for batch in client.query_stream(sql):
        rows += batch.num_rows
    return rows, time.perf_counter() - started


def compare(
    name: str,
    sql: str,
    client: FlightSQLClient,
    raw_client: Any,
    headers: list[tuple[bytes, bytes]],
    repetitions: int,
) -> dict[str, Any]:
    """Time both readers `repetitions` times each, interleaved; return the figure."""
    stream_rates: list[float] = []
    raw_rates: list[float] = []
    expected_rows: int | None = None

    readers: list[tuple[list[float], Callable[[], tuple[int, float]]]] = [
        (raw_rates, lambda: read_raw(raw_client, sql, headers)),
        (stream_rates, lambda: read_stream(client, sql)),
    ]
    for repetition in range(repetitions):
        order = readers if repetition % 2 == 0 else list(reversed(readers))
        for rates, read in order:
            rows, seconds = read()
            if expected_rows is None:
                expected_rows = rows
            if rows != expected_rows:
                raise RuntimeError(f"{name}: read {rows} rows, expected {expected_rows}")
            rates.append(rows / seconds)

    value = statistics.median(stream_rates)
    baseline = statistics.median(raw_rates)
    # Each repetition runs both readers back to back, so other load on the machine disturbs the
    # ratio within a pair the least. The figure's ratio is the median of those ratios.
    paired = [mine / raw for mine, raw in zip(stream_rates, raw_rates, strict=True)]
    return {
        "figure": f"{name}_rows_per_s",
        "value": round(value),
        "baseline": round(baseline),
        "ratio": round(statistics.median(paired), 4),
        "goal": ">= 0.95",
        "ratio_of_medians": round(value / baseline, 4),
        "rows": expected_rows,
        "repetitions": repetitions,
        "statistic": "median",
    }


def first_batch_latency(
    client: FlightSQLClient, raw_client: Any, headers: list[tuple[bytes, bytes]], repetitions: int
) -> dict[str, Any]:
    """Median milliseconds from the request to the first batch, `query_stream` against raw."""
    mine: list[float] = []
    raw: list[float] = []
    for _ in range(repetitions):
        started = time.perf_counter()
        reader = raw_client.do_get(
            statement_ticket(RANGE_SQL), flight.FlightCallOptions(headers=headers)
        )
        reader.read_chunk()
        raw.append((time.perf_counter() - started) * 1000)
        reader.cancel()

        started = time.perf_counter()
        stream = client.query_stream(RANGE_SQL)
        next(stream)
        mine.append((time.perf_counter() - started) * 1000)
        stream.close()
    value = statistics.median(mine)
    baseline = statistics.median(raw)
    return {
        "figure": "first_batch_ms",
        "value": round(value, 3),
        "baseline": round(baseline, 3),
        "ratio": round(value / baseline, 4),
        "goal": None,
        "repetitions": repetitions,
        "statistic": "median",
    }


def dictionary_speedup(uri: str, repetitions: int) -> dict[str, Any]:
    """Return `log_entries` rows/s with dictionary columns kept encoded (mmtui's default) ÷
    decoded by the server.

    Both read with `query_stream`, alternating which goes first. The ratio is the median of the
    paired ratios. The figure also reports the Arrow bytes each stream delivers.
    """
    encoded = FlightSQLClient(uri, session_id="benchmark", preserve_dictionary=True)
    decoded = FlightSQLClient(uri, session_id="benchmark")
    rates: dict[str, list[float]] = {"encoded": [], "decoded": []}
    nbytes: dict[str, int] = {}
    try:
        readers = [("encoded", encoded), ("decoded", decoded)]
        for repetition in range(repetitions):
            order = readers if repetition % 2 == 0 else list(reversed(readers))
            for name, client in order:
                started = time.perf_counter()
                rows = 0
                total_bytes = 0
                for batch in client.query_stream(LOG_SQL):
                    rows += batch.num_rows
                    total_bytes += batch.nbytes
                rates[name].append(rows / (time.perf_counter() - started))
                nbytes[name] = total_bytes
    finally:
        encoded.close()
        decoded.close()
    paired = [e / d for e, d in zip(rates["encoded"], rates["decoded"], strict=True)]
    return {
        "figure": "preserve_dictionary_speedup",
        "value": round(statistics.median(rates["encoded"])),
        "baseline": round(statistics.median(rates["decoded"])),
        "ratio": round(statistics.median(paired), 3),
        "goal": None,
        "arrow_mib": {name: round(size / 2**20) for name, size in nbytes.items()},
        "repetitions": repetitions,
        "statistic": "median",
    }


def measure_one_cancel(client: FlightSQLClient) -> float:
    """Cancel a running stream from another thread; return milliseconds until it raised."""
    stream = client.query_stream("SELECT value FROM range(1000000000)")
    cancelled_at: list[float] = []

    def cancel() -> None:
        cancelled_at.append(time.perf_counter())
        stream.cancel()

    try:
        for batch_number, _batch in enumerate(stream, start=1):
            if batch_number == 10:
                threading.Thread(target=cancel).start()
    except QueryCancelled:
        return (time.perf_counter() - cancelled_at[0]) * 1000
    raise RuntimeError("the stream ended before it was cancelled")


def cancel_latency(client: FlightSQLClient, repetitions: int) -> dict[str, Any]:
    """Median milliseconds from `cancel()` on another thread to `QueryCancelled` in the reader."""
    latencies = [measure_one_cancel(client) for _ in range(repetitions)]
    return {
        "figure": "cancel_latency_ms",
        "value": round(statistics.median(latencies), 2),
        "baseline": None,
        "ratio": None,
        "goal": "< 1000",
        "max": round(max(latencies), 2),
        "repetitions": repetitions,
        "statistic": "median",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream_read", description=__doc__)
    parser.add_argument(
        "--scale", type=float, default=15.0, help="demo data set scale (15: about 3.2M log rows)"
    )
    parser.add_argument(
        "--repetitions", type=int, default=25, help="timed reads per reader and query"
    )
    parser.add_argument(
        "--server",
        choices=["process", "thread"],
        default="process",
        help="run the demo server in a child process (default) or in a thread of this one",
    )
    args = parser.parse_args(argv)

    with demo_server(args.server, args.scale) as uri:
        run(uri, args.repetitions)
    return 0


@contextmanager
def demo_server(where: str, scale: float) -> Iterator[str]:
    """Start the demo server in a child process or a thread; yield its URI."""
    if where == "process":
        with ServerProcess(scale=scale) as process:
            yield process.uri
        return
    handle = start_demo_server(host="127.0.0.1", port=0, scale=scale)
    try:
        yield handle.uri
    finally:
        handle.stop()


def run(uri: str, repetitions: int) -> None:
    """Print the figures measured against the server at `uri`."""
    client = FlightSQLClient(uri, session_id="benchmark")
    raw_client = flight.FlightClient(uri, generic_options=GRPC_OPTIONS)
    headers = CallHeaderBuilder(client_type="mmtui", session_id="benchmark").build()
    try:
        for name, sql in (("log_entries", LOG_SQL), ("range", RANGE_SQL)):
            # One untimed read of each, so neither reader pays the first connection.
            read_raw(raw_client, sql, headers)
            read_stream(client, sql)
            figure = compare(name, sql, client, raw_client, headers, repetitions)
            print(json.dumps(figure), flush=True)
        print(json.dumps(first_batch_latency(client, raw_client, headers, repetitions)), flush=True)
        print(json.dumps(cancel_latency(client, repetitions)), flush=True)
        print(json.dumps(dictionary_speedup(uri, repetitions)), flush=True)
    finally:
        client.close()
        raw_client.close()


if __name__ == "__main__":
    sys.exit(main())
