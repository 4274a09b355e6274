"""Benchmarks of mmtui: each module prints one JSON line per measured figure."""
