"""The embedded Micromegas-compatible FlightSQL server and its generated telemetry.

`start_demo_server()` serves the views `processes`, `streams`, `blocks`, `log_entries`,
`log_stats` and `measures` (plus `view_instance(...)`) over real gRPC, with SQL run by Apache
DataFusion, from a background thread.
"""

from mmtui.demo.server import DemoServerHandle, start_demo_server
from mmtui.demo.telemetry import Telemetry, generate_telemetry

__all__ = ["DemoServerHandle", "Telemetry", "generate_telemetry", "start_demo_server"]
