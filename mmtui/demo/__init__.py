"""The embedded Micromegas-compatible FlightSQL server and its generated telemetry.

`start_demo_server()` serves the views `processes`, `streams`, `blocks`, `log_entries`,
`log_stats` and `measures` (plus `view_instance(...)`) over real gRPC, with SQL run by Apache
DataFusion, from a background thread. `DemoStartup` runs that start on a thread of its own.

The names below are imported on first use. Importing the server (DataFusion, the telemetry
generator and pandas) took about 0.4 s on a 2-core VM, and `mmtui --demo` does it on a
thread of its own while the app starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmtui.demo.server import DemoServerHandle, start_demo_server
    from mmtui.demo.startup import DemoStartup
    from mmtui.demo.telemetry import Telemetry, generate_telemetry

_MODULE_OF = {
    "DemoServerHandle": "mmtui.demo.server",
    "start_demo_server": "mmtui.demo.server",
    "DemoStartup": "mmtui.demo.startup",
    "Telemetry": "mmtui.demo.telemetry",
    "generate_telemetry": "mmtui.demo.telemetry",
}

__all__ = [
    "DemoServerHandle",
    "DemoStartup",
    "Telemetry",
    "generate_telemetry",
    "start_demo_server",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` and return it (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
