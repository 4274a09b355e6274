"""The telemetry generator: determinism, shape of the fleet, consistency between views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mmtui.demo import DemoServerHandle, generate_telemetry, jsonb
from mmtui.demo.tables import TimeRange, TimeSortedView
from mmtui.demo.telemetry import NS_PER_MINUTE, Telemetry, to_ns

FIXED_NOW = datetime(2025, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


@pytest.fixture(scope="module")
def small() -> Telemetry:
    return generate_telemetry(now=FIXED_NOW, seed=7, scale=0.2)


def test_same_seed_same_rows(small: Telemetry) -> None:
    again = generate_telemetry(now=FIXED_NOW, seed=7, scale=0.2)
    for name, view in small.views.items():
        assert view.table.equals(again.views[name].table), name


def test_other_seed_other_rows(small: Telemetry) -> None:
    other = generate_telemetry(now=FIXED_NOW, seed=8, scale=0.2)
    assert not small.views["log_entries"].table.equals(other.views["log_entries"].table)
    assert {p.process_id for p in small.processes}.isdisjoint(
        {p.process_id for p in other.processes}
    )


def test_anchored_at_now_over_six_hours(small: Telemetry) -> None:
    times = small.views["log_entries"].table.column("time").cast(pa.int64())
    now_ns = to_ns(FIXED_NOW)
    assert pc.max(times).as_py() <= now_ns
    assert now_ns - pc.max(times).as_py() < 60 * 1_000_000_000
    assert now_ns - pc.min(times).as_py() > 5.9 * 3600 * 1_000_000_000
    assert now_ns - pc.min(times).as_py() <= 6 * 3600 * 1_000_000_000


def test_fleet_shape(small: Telemetry) -> None:
    assert len(small.processes) >= 12
    assert len({p.service for p in small.processes}) >= 5
    assert len({p.computer for p in small.processes}) >= 8
    assert len({p.process_id for p in small.processes}) == len(small.processes)


def test_default_size_over_200k(demo_server: DemoServerHandle) -> None:
    assert demo_server.telemetry.log_rows >= 200_000


def test_scale_multiplies_rows(small: Telemetry) -> None:
    double = generate_telemetry(now=FIXED_NOW, seed=7, scale=0.4)
    ratio = double.log_rows / small.log_rows
    assert 1.95 < ratio < 2.05
    spans = sum(v.num_rows for v in double.thread_spans.values())
    assert 1.9 < spans / sum(v.num_rows for v in small.thread_spans.values()) < 2.1


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale must be positive"):
        generate_telemetry(scale=0)


def test_views_sorted_by_time(small: Telemetry) -> None:
    views: list[TimeSortedView] = [v for v in small.views.values() if isinstance(v, TimeSortedView)]
    views += list(small.thread_spans.values()) + list(small.async_events.values())
    for view in views:
        times = view.table.column(view.time_column).cast(pa.int64()).to_numpy()
        assert (times[1:] >= times[:-1]).all(), view.name


def test_log_stats_match_log_entries(small: Telemetry) -> None:
    logs = small.views["log_entries"].table
    stats = small.views["log_stats"].table
    assert pc.sum(stats.column("count")).as_py() == logs.num_rows
    minute = pc.divide(logs.column("time").cast(pa.int64()), NS_PER_MINUTE)
    grouped = (
        pa.table(
            {
                "minute": minute,
                "process_id": logs.column("process_id").cast(pa.utf8()),
                "level": logs.column("level"),
                "target": logs.column("target").cast(pa.utf8()),
            }
        )
        .group_by(["minute", "process_id", "level", "target"])
        .aggregate([([], "count_all")])
    )
    expected = {
        (m * NS_PER_MINUTE, p, lvl, t, n)
        for m, p, lvl, t, n in zip(*(c.to_pylist() for c in grouped.columns), strict=True)
    }
    actual = {
        (row["time_bin"], row["process_id"], row["level"], row["target"], row["count"])
        for row in pa.table(
            {
                "time_bin": stats.column("time_bin").cast(pa.int64()),
                "process_id": stats.column("process_id").cast(pa.utf8()),
                "level": stats.column("level"),
                "target": stats.column("target").cast(pa.utf8()),
                "count": stats.column("count"),
            }
        ).to_pylist()
    }
    assert actual == expected


def test_blocks_count_their_events(small: Telemetry) -> None:
    blocks = small.views["blocks"].table
    logs = small.views["log_entries"].table
    per_block = logs.group_by("block_id").aggregate([([], "count_all")])
    counts = dict(
        zip(
            per_block.column("block_id").cast(pa.utf8()).to_pylist(),
            per_block.column("count_all").to_pylist(),
            strict=True,
        )
    )
    nb_objects = dict(
        zip(
            blocks.column("block_id").to_pylist(),
            blocks.column("nb_objects").to_pylist(),
            strict=True,
        )
    )
    assert all(nb_objects[block] == count for block, count in counts.items())
    # Each log row lies inside its block's time span.
    joined = (
        logs.select(["block_id", "time"])
        .cast(pa.schema([("block_id", pa.utf8()), ("time", pa.timestamp("ns", tz="+00:00"))]))
        .join(blocks.select(["block_id", "begin_time", "end_time"]), "block_id")
    )
    assert pc.all(pc.greater_equal(joined.column("time"), joined.column("begin_time"))).as_py()
    assert pc.all(pc.less_equal(joined.column("time"), joined.column("end_time"))).as_py()


def test_incident_forty_minutes_ago(small: Telemetry) -> None:
    incident = small.incident
    assert incident.service == "payments-worker"
    assert timedelta(minutes=35) < FIXED_NOW - incident.begin < timedelta(minutes=45)
    logs = small.views["log_entries"].table
    burst = logs.filter(pc.starts_with(logs.column("msg"), incident.message_prefix))
    assert burst.num_rows == incident.rows
    assert set(burst.column("process_id").cast(pa.utf8()).to_pylist()) == {incident.process_id}
    # The burst dominates errors in its minutes.
    errors = logs.filter(pc.equal(logs.column("level"), 2))
    times = errors.column("time").cast(pa.int64()).to_numpy()
    inside = (times >= to_ns(incident.begin)) & (times <= to_ns(incident.end))
    assert inside.sum() > 0.9 * incident.rows
    assert inside.sum() / 4 > 10 * (len(times) - inside.sum()) / 360


def test_metrics_cover_each_process(small: Telemetry) -> None:
    measures = small.views["measures"].table
    names = set(measures.column("name").cast(pa.utf8()).to_pylist())
    assert names == {"cpu_usage", "memory_used", "request_latency", "frame_time"}
    cpu = measures.filter(pc.equal(measures.column("name").cast(pa.utf8()), "cpu_usage"))
    values = cpu.column("value").to_numpy()
    assert values.min() >= 0
    assert values.max() <= 100
    per_process = set(cpu.column("process_id").cast(pa.utf8()).to_pylist())
    assert per_process == {p.process_id for p in small.processes}


def test_slice_is_zero_copy(small: Telemetry) -> None:
    view = small.views["log_entries"]
    assert isinstance(view, TimeSortedView)
    times = view.table.column("time").cast(pa.int64()).to_numpy()
    time_range = TimeRange(int(times[1000]), int(times[150_000 // 5]))
    batches = view.slice(time_range)
    assert sum(b.num_rows for b in batches) == int(
        np.count_nonzero((times >= time_range.begin_ns) & (times <= time_range.end_ns))
    )
    source_buffer = view.table.column("level").chunks[0].buffers()[1]
    first = batches[0].column(batches[0].schema.get_field_index("level"))
    assert first.buffers()[1].address >= source_buffer.address
    assert first.buffers()[1].address < source_buffer.address + source_buffer.size


def test_slice_empty_range(small: Telemetry) -> None:
    view = small.views["log_entries"]
    assert isinstance(view, TimeSortedView)
    assert view.slice(TimeRange(0, 1000)) == []


def test_jsonb_round_trip() -> None:
    properties = {"zeta": "last", "alpha": "first", "ユーザー": "山田", "empty": ""}
    encoded = jsonb.encode_object(properties)
    assert encoded[:4] == b"\x40\x00\x00\x04"
    assert jsonb.decode_object(encoded) == properties
    assert jsonb.decode_object(jsonb.encode_object({})) == {}


def test_jsonb_rejects_non_object() -> None:
    with pytest.raises(ValueError, match="not an object"):
        jsonb.decode_object(b"\x80\x00\x00\x00")
    with pytest.raises(ValueError, match="shorter"):
        jsonb.decode_object(b"\x40")


def test_no_event_after_now(small: Telemetry) -> None:
    now_ns = to_ns(FIXED_NOW)
    views = [small.views["log_entries"], small.views["measures"], small.views["log_stats"]]
    views += list(small.thread_spans.values()) + list(small.async_events.values())
    for view in views:
        assert isinstance(view, TimeSortedView)
        latest = pc.max(view.table.column(view.time_column).cast(pa.int64())).as_py()
        assert latest <= now_ns, view.name
    for spans in small.thread_spans.values():
        assert pc.max(spans.table.column("end").cast(pa.int64())).as_py() <= now_ns
