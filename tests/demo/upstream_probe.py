"""Run the upstream `micromegas` client against a server and print what it got as JSON.

Run in its own process (`python upstream_probe.py URI BEGIN END`): the `micromegas` package
registers the same protobuf message names as mmtui, so it cannot share a process with it.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any


def main(uri: str, begin_text: str, end_text: str) -> dict[str, Any]:
    from micromegas.flightsql.client import FlightSQLClient

    client = FlightSQLClient(uri)
    begin = datetime.fromisoformat(begin_text)
    end = datetime.fromisoformat(end_text)
    report: dict[str, Any] = {}

    tables = client.query("SHOW TABLES")
    public = tables[tables["table_schema"] == "public"]
    report["tables"] = sorted(public["table_name"].tolist())

    statement = client.prepare_statement("SELECT * FROM log_entries")
    report["prepared_query"] = statement.query
    report["prepared_columns"] = [[f.name, str(f.type)] for f in statement.dataset_schema]

    ranged = client.query("SELECT time, level, msg FROM log_entries", begin, end)
    report["ranged_rows"] = len(ranged)
    report["ranged_min"] = ranged["time"].min().isoformat()
    report["ranged_max"] = ranged["time"].max().isoformat()

    stream_rows = 0
    for batch in client.query_stream("SELECT msg FROM log_entries", begin, end):
        stream_rows += batch.num_rows
    report["stream_rows"] = stream_rows

    try:
        client.query("SELECT time,\n  levl FROM log_entries")
        report["error"] = None
    except Exception as error:
        report["error"] = str(error)
    return report


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
