"""Run every benchmark (`make bench`); each prints one JSON line per figure.

Each module runs in its own Python process, so one benchmark's memory and threads never
weigh on the next. Figures are ratios against a baseline measured in the same process run.
"""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    # FlightSQL layer against raw pyarrow.flight DoGet.
    "benchmarks.stream_read",
    # Figures 1-5: ingest, first paint, key latency, RSS, memory budget.
    "benchmarks.grid_scale",
    # Figure 6: `mmtui --demo` until the editor accepts a key.
    "benchmarks.cold_start",
    # Figure 7: display widths of 1M rows x 12 columns, 30% non-ASCII.
    "benchmarks.width_measure",
]


def main() -> int:
    failed = []
    for module in MODULES:
        print(f"# {module}", flush=True)
        done = subprocess.run([sys.executable, "-m", module], check=False)
        if done.returncode != 0:
            failed.append(module)
    if failed:
        print(f"# failed: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
