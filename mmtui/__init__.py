"""mmtui: a terminal explorer for Micromegas telemetry over Arrow FlightSQL."""

__version__ = "0.1.0"
