"""Deterministic telemetry for the demo server: the Micromegas views as Arrow tables.

Everything derives from a seed and an anchor time ("now"): the same seed, scale and now give
the same rows. Rows are generated with numpy and pyarrow on whole columns; Python loops run only
over processes, streams, metrics and message templates, never over rows.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from mmtui.demo import catalog, jsonb
from mmtui.demo.catalog import ProcessSpec, ServiceSpec
from mmtui.demo.tables import TIMESTAMP, OverlapView, TimeSortedView

logger = logging.getLogger(__name__)

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
#: Log lines outside the incident at scale 1.
BASE_LOG_ROWS = 210_000
#: Error lines of the incident burst at scale 1.
BASE_INCIDENT_ROWS = 1_800
#: How far back the data goes.
WINDOW = timedelta(hours=6)
#: Distinct texts generated per log template; rows pick one of them.
VARIANTS_PER_TEMPLATE = 256

DICT_UTF8 = pa.dictionary(pa.int32(), pa.utf8())
JSONB = pa.dictionary(pa.int32(), pa.binary())


@dataclass
class ProcessInfo:
    """One generated process, for tests and for the per-process views."""

    process_id: str
    service: str
    exe: str
    computer: str
    username: str
    start_ns: int
    end_ns: int
    log_stream_id: str
    metrics_stream_id: str
    cpu_stream_ids: list[str]


@dataclass
class Incident:
    """The error burst: one process, one recognisable message, a few minutes long."""

    service: str
    process_id: str
    message_prefix: str
    begin: datetime
    end: datetime
    rows: int


@dataclass
class Telemetry:
    """The generated data set. `views` contains the global views by name."""

    now: datetime
    seed: int
    scale: float
    views: dict[str, TimeSortedView | OverlapView]
    thread_spans: dict[str, TimeSortedView]
    async_events: dict[str, TimeSortedView]
    processes: list[ProcessInfo]
    incident: Incident
    build_seconds: float = 0.0
    log_rows_by_process: dict[str, int] = field(default_factory=dict)

    @property
    def log_rows(self) -> int:
        return int(self.views["log_entries"].table.num_rows)

    def process(self, process_id: str) -> ProcessInfo:
        for info in self.processes:
            if info.process_id == process_id:
                return info
        raise KeyError(process_id)


def to_ns(moment: datetime) -> int:
    """Convert an aware datetime to nanoseconds since the Unix epoch."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta // timedelta(microseconds=1)) * 1000


def from_ns(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _uuids(rng: np.random.Generator, count: int) -> list[str]:
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    return [str(uuid.UUID(bytes=row.tobytes(), version=4)) for row in raw]


def _timestamps(ns: np.ndarray) -> pa.Array:
    return pa.array(ns.astype(np.int64), pa.int64()).cast(TIMESTAMP)


def _dictionary(indices: np.ndarray, values: list[str] | pa.Array) -> pa.DictionaryArray:
    dictionary = values if isinstance(values, pa.Array) else pa.array(values, pa.utf8())
    return pa.DictionaryArray.from_arrays(
        pa.array(indices.astype(np.int32), pa.int32()), dictionary
    )


def _dictionary_by_process(per_process: list[str], process_index: np.ndarray) -> pa.Array:
    """Dictionary column of a per-process string, with each distinct value once."""
    distinct = sorted(set(per_process))
    position = np.array([distinct.index(value) for value in per_process], dtype=np.int32)
    return _dictionary(position[process_index], distinct)


@dataclass
class _Fleet:
    """Per-process and per-stream arrays shared by the view builders."""

    specs: list[tuple[ServiceSpec, ProcessSpec]]
    infos: list[ProcessInfo]
    service_index: np.ndarray
    begin_ns: np.ndarray
    end_ns: np.ndarray
    tsc_frequency: np.ndarray
    start_ticks: np.ndarray
    process_properties: pa.Array
    # Streams: one row per stream, kind is "log", "metrics" or "cpu".
    stream_ids: list[str]
    stream_process: np.ndarray
    stream_kind: list[str]
    stream_thread: list[str]
    # Blocks: one per stream and minute; index = stream_block_offset[stream] + minute.
    stream_block_offset: np.ndarray
    block_ids: list[str]
    block_stream: np.ndarray
    block_begin_ns: np.ndarray
    block_end_ns: np.ndarray
    block_insert_ns: np.ndarray
    block_objects: np.ndarray

    def block_of(self, stream: np.ndarray, time_ns: np.ndarray) -> np.ndarray:
        """Global block index of events of the given streams at the given times."""
        minute = (time_ns - self.begin_ns[self.stream_process[stream]]) // NS_PER_MINUTE
        blocks: np.ndarray = self.stream_block_offset[stream] + minute
        return blocks

    def count_objects(self, blocks: np.ndarray) -> None:
        self.block_objects += np.bincount(blocks, minlength=len(self.block_objects))


def _build_fleet(rng: np.random.Generator, now_ns: int) -> _Fleet:
    specs = [(service, proc) for service in catalog.SERVICES for proc in service.processes]
    count = len(specs)
    window_start = now_ns - int(WINDOW.total_seconds()) * NS_PER_SECOND
    start_ns = np.array(
        [now_ns - int(proc.start_minutes_ago * NS_PER_MINUTE) for _, proc in specs], np.int64
    )
    end_ns = np.array(
        [now_ns - int(proc.end_minutes_ago * NS_PER_MINUTE) for _, proc in specs], np.int64
    )
    begin_ns = np.maximum(start_ns, window_start)
    service_names = [service.name for service in catalog.SERVICES]
    service_index = np.array([service_names.index(service.name) for service, _ in specs])
    process_ids = _uuids(rng, count)
    properties = [
        jsonb.encode_object(
            {
                "build-version": proc.build_version,
                "region": service.region,
                "service": service.name,
                "deployment": "player" if service.region == "players" else "production",
            }
        )
        for service, proc in specs
    ]

    stream_process: list[int] = []
    stream_kind: list[str] = []
    stream_thread: list[str] = []
    for index, (service, _) in enumerate(specs):
        for kind, thread in [("log", ""), ("metrics", "")] + [("cpu", t) for t in service.threads]:
            stream_process.append(index)
            stream_kind.append(kind)
            stream_thread.append(thread)
    stream_ids = _uuids(rng, len(stream_process))
    stream_process_array = np.array(stream_process, np.int64)

    minutes = np.maximum(1, -(-(end_ns - begin_ns)[stream_process_array] // NS_PER_MINUTE)).astype(
        np.int64
    )
    stream_block_offset = np.concatenate([[0], np.cumsum(minutes)[:-1]]).astype(np.int64)
    block_stream = np.repeat(np.arange(len(stream_ids)), minutes)
    minute_in_stream = np.arange(len(block_stream)) - stream_block_offset[block_stream]
    block_process = stream_process_array[block_stream]
    block_begin = begin_ns[block_process] + minute_in_stream * NS_PER_MINUTE
    block_end = np.minimum(block_begin + NS_PER_MINUTE, end_ns[block_process])
    block_insert = block_end + rng.integers(300_000_000, 3_000_000_000, len(block_stream))

    infos = []
    for index, (service, proc) in enumerate(specs):
        own = [s for s in range(len(stream_ids)) if stream_process[s] == index]
        infos.append(
            ProcessInfo(
                process_id=process_ids[index],
                service=service.name,
                exe=service.exe,
                computer=proc.computer,
                username=proc.username,
                start_ns=int(start_ns[index]),
                end_ns=int(end_ns[index]),
                log_stream_id=stream_ids[own[0]],
                metrics_stream_id=stream_ids[own[1]],
                cpu_stream_ids=[stream_ids[s] for s in own[2:]],
            )
        )
    return _Fleet(
        specs=specs,
        infos=infos,
        service_index=service_index,
        begin_ns=begin_ns,
        end_ns=end_ns,
        tsc_frequency=rng.choice([2_400_000_000, 2_900_000_000, 3_500_000_000], count),
        start_ticks=rng.integers(10**9, 10**12, count),
        process_properties=pa.array(properties, pa.binary()),
        stream_ids=stream_ids,
        stream_process=stream_process_array,
        stream_kind=stream_kind,
        stream_thread=stream_thread,
        stream_block_offset=stream_block_offset,
        block_ids=_uuids(rng, len(block_stream)),
        block_stream=block_stream,
        block_begin_ns=block_begin,
        block_end_ns=block_end,
        block_insert_ns=block_insert,
        block_objects=np.zeros(len(block_stream), np.int64),
    )


@dataclass
class _LogInternals:
    """Per-row process and target positions of log_entries, for aggregating log_stats."""

    process: np.ndarray
    target: np.ndarray
    targets: list[str]


def _process_columns(fleet: _Fleet, process: np.ndarray) -> dict[str, pa.Array]:
    """Build the process_id, exe, username and computer dictionary columns of event rows."""
    return {
        "process_id": _dictionary_by_process([i.process_id for i in fleet.infos], process),
        "exe": _dictionary_by_process([i.exe for i in fleet.infos], process),
        "username": _dictionary_by_process([i.username for i in fleet.infos], process),
        "computer": _dictionary_by_process([i.computer for i in fleet.infos], process),
    }


def _fill_template(text: str, pool: random.Random) -> str:
    n = pool.randint(1, 5000)
    # Durations: mostly fast, a tail of slow ones.
    draw = pool.random()
    if draw < 0.8:
        ms = pool.randint(1, 40)
    elif draw < 0.97:
        ms = pool.randint(40, 900)
    else:
        ms = pool.randint(900, 6000)
    values = {
        "n": n,
        "n2": n + pool.randint(1, 50),
        "ms": ms,
        "user": pool.choice(catalog.USERS),
        "person": pool.choice(catalog.PERSONS),
        "path": pool.choice(catalog.PATHS).replace("{n}", str(pool.randint(1, 99999))),
        "upstream": pool.choice(catalog.UPSTREAMS),
        "ip": f"10.{pool.randint(0, 255)}.{pool.randint(0, 255)}.{pool.randint(1, 254)}",
        "hex": f"{pool.getrandbits(32):08x}",
        "hex2": f"{pool.getrandbits(32):08x}",
        "uuid": str(uuid.UUID(int=pool.getrandbits(128), version=4)),
        "uuid2": str(uuid.UUID(int=pool.getrandbits(128), version=4)),
        "bytes": pool.randint(200, 4_000_000),
        "small": pool.randint(1, 9),
        "client": f"client-{pool.getrandbits(16):04x}",
        "host": pool.choice(catalog.HOSTS),
        "payment": f"pay_{pool.getrandbits(40):010x}",
        "amount": f"{pool.randint(1, 99999) / 100:.2f}",
        "currency": pool.choice(catalog.CURRENCIES),
        "score": f"{pool.random():.3f}",
        "level": pool.choice(catalog.LEVEL_NAMES),
        "field": pool.choice(catalog.FIELDS),
    }
    return text.format(**values)


def _build_log_entries(
    rng: np.random.Generator, pool: random.Random, fleet: _Fleet, now_ns: int, scale: float
) -> tuple[TimeSortedView, Incident, _LogInternals]:
    """Build log_entries sorted by time, with the incident burst mixed in."""
    templates = [(s, t) for s, service in enumerate(catalog.SERVICES) for t in service.templates]
    # Templates grouped by (service, level): rows pick a group, then a template inside it.
    levels = sorted(catalog.LEVEL_WEIGHTS)
    group_start = np.zeros((len(catalog.SERVICES), len(levels)), np.int64)
    group_count = np.zeros_like(group_start)
    ordered: list[tuple[int, catalog.LogTemplate]] = []
    for s in range(len(catalog.SERVICES)):
        for li, level_value in enumerate(levels):
            members = [t for (ts, t) in templates if ts == s and t.level == level_value]
            if not members:
                name = catalog.SERVICES[s].name
                raise ValueError(f"service {name} has no level {level_value} template")
            group_start[s, li] = len(ordered)
            group_count[s, li] = len(members)
            ordered.extend((s, t) for t in members)

    texts = [_fill_template(t.text, pool) for _, t in ordered for _ in range(VARIANTS_PER_TEMPLATE)]
    incident_text_start = len(texts)
    texts.extend(
        _fill_template(catalog.INCIDENT_TEMPLATE, pool) for _ in range(VARIANTS_PER_TEMPLATE)
    )
    messages = pa.array(texts, pa.utf8())
    targets = sorted({t.target for _, t in ordered} | {catalog.INCIDENT_TARGET})
    template_target = np.array([targets.index(t.target) for _, t in ordered], np.int32)

    # Rows per process follow the service's rate and the process's lifetime in the window.
    rates = np.array([service.log_rate for service, _ in fleet.specs])
    weights = rates * (fleet.end_ns - fleet.begin_ns)
    total = round(BASE_LOG_ROWS * scale)
    counts = np.floor(total * weights / weights.sum()).astype(np.int64)
    process = np.repeat(np.arange(len(counts)), counts)
    rows = len(process)
    span = (fleet.end_ns - fleet.begin_ns)[process]
    times = fleet.begin_ns[process] + (rng.random(rows) * span).astype(np.int64)
    level_index = rng.choice(len(levels), size=rows, p=[catalog.LEVEL_WEIGHTS[v] for v in levels])
    service = fleet.service_index[process]
    template = group_start[service, level_index] + (
        rng.random(rows) * group_count[service, level_index]
    ).astype(np.int64)
    message = template * VARIANTS_PER_TEMPLATE + rng.integers(0, VARIANTS_PER_TEMPLATE, rows)
    target = template_target[template]
    level = np.array(levels, np.int32)[level_index]

    # The incident: errors of one payments-worker process in a few minutes, 40 minutes ago.
    incident_process = next(
        i
        for i, info in enumerate(fleet.infos)
        if info.service == catalog.INCIDENT_SERVICE and info.computer == catalog.INCIDENT_COMPUTER
    )
    incident_rows = round(BASE_INCIDENT_ROWS * scale)
    minutes_ago_begin, minutes_ago_end = catalog.INCIDENT_MINUTES_AGO
    incident_begin = now_ns - int(minutes_ago_begin * NS_PER_MINUTE)
    incident_end = now_ns - int(minutes_ago_end * NS_PER_MINUTE)
    # A burst rises fast and decays: a triangular distribution skewed to its start.
    incident_times = rng.triangular(
        incident_begin,
        incident_begin + (incident_end - incident_begin) * 0.2,
        incident_end,
        incident_rows,
    ).astype(np.int64)
    process = np.concatenate([process, np.full(incident_rows, incident_process)])
    times = np.concatenate([times, incident_times])
    level = np.concatenate([level, np.full(incident_rows, catalog.ERROR, np.int32)])
    message = np.concatenate(
        [message, incident_text_start + rng.integers(0, VARIANTS_PER_TEMPLATE, incident_rows)]
    )
    target = np.concatenate(
        [target, np.full(incident_rows, targets.index(catalog.INCIDENT_TARGET), np.int32)]
    )

    order = np.argsort(times, kind="stable")
    process, times, level, message, target = (
        process[order],
        times[order],
        level[order],
        message[order],
        target[order],
    )
    log_stream = np.array([fleet.stream_ids.index(info.log_stream_id) for info in fleet.infos])
    stream = log_stream[process]
    blocks = fleet.block_of(stream, times)
    fleet.count_objects(blocks)

    row_properties = pa.array(
        [
            jsonb.encode_object({}),
            jsonb.encode_object({"request_id": "req-7f3a"}),
            jsonb.encode_object({"thread": "worker-1"}),
            jsonb.encode_object({"thread": "worker-2", "span": "ledger_commit"}),
            jsonb.encode_object({"user": "amélie", "locale": "fr-FR"}),
            jsonb.encode_object({"user": "山田", "locale": "ja-JP"}),
        ],
        pa.binary(),
    )
    property_choice = np.where(
        rng.random(len(times)) < 0.85, 0, rng.integers(1, len(row_properties), len(times))
    )
    columns = _process_columns(fleet, process)
    table = pa.table(
        {
            "process_id": columns["process_id"],
            "stream_id": _dictionary(stream, fleet.stream_ids),
            "block_id": _dictionary(blocks, fleet.block_ids),
            "insert_time": _timestamps(fleet.block_insert_ns[blocks]),
            "exe": columns["exe"],
            "username": columns["username"],
            "computer": columns["computer"],
            "time": _timestamps(times),
            "target": _dictionary(target, targets),
            "level": pa.array(level, pa.int32()),
            "msg": messages.take(pa.array(message, pa.int64())),
            "properties": _dictionary(property_choice, row_properties),
            "process_properties": _dictionary(process, fleet.process_properties),
        }
    )
    incident = Incident(
        service=catalog.INCIDENT_SERVICE,
        process_id=fleet.infos[incident_process].process_id,
        message_prefix=catalog.INCIDENT_MESSAGE_PREFIX,
        begin=from_ns(incident_begin),
        end=from_ns(incident_end),
        rows=incident_rows,
    )
    internals = _LogInternals(process=process, target=target, targets=targets)
    return TimeSortedView("log_entries", table, "time"), incident, internals


def _build_log_stats(
    fleet: _Fleet, log_entries: pa.Table, internals: _LogInternals
) -> TimeSortedView:
    """Aggregate log_entries per minute, process, level and target."""
    process = internals.process
    target = internals.target
    level = log_entries.column("level").to_numpy()
    minute = log_entries.column("time").cast(pa.int64()).to_numpy() // NS_PER_MINUTE
    first_minute = int(minute.min()) if len(minute) else 0
    targets_count = len(internals.targets)
    processes_count = len(fleet.infos)

    # A dense key, ordered by minute first: counting is one bincount, no sort.
    key = ((minute - first_minute) * processes_count + process) * 8 + level
    key = key * targets_count + target
    all_counts = np.bincount(key)
    unique = np.flatnonzero(all_counts)
    counts = all_counts[unique]

    target_of = unique % targets_count
    rest = unique // targets_count
    level_of = rest % 8
    rest //= 8
    process_of = rest % processes_count
    minute_of = rest // processes_count + first_minute

    table = pa.table(
        {
            "time_bin": _timestamps(minute_of * NS_PER_MINUTE),
            "process_id": _dictionary(process_of, [i.process_id for i in fleet.infos]),
            "level": pa.array(level_of.astype(np.int32), pa.int32()),
            "target": _dictionary(target_of, internals.targets),
            "count": pa.array(counts.astype(np.int64), pa.int64()),
        }
    )
    return TimeSortedView("log_stats", table, "time_bin")


def _metric_values(
    rng: np.random.Generator, name: str, times: np.ndarray, incident: tuple[int, int] | None
) -> np.ndarray:
    """Plausible values of one metric of one process at the given times."""
    count = len(times)
    hours = (times - times[0]) / (3600 * NS_PER_SECOND) if count else times
    if name == "cpu_usage":
        values = 25 + 12 * np.sin(hours * 1.3 + rng.random() * 6) + rng.normal(0, 4, count)
    elif name == "memory_used":
        walk = np.cumsum(rng.normal(0, 2.0e5, count))
        values = 1.5e9 + rng.random() * 1e9 + walk - np.minimum(walk.min(initial=0), 0)
    elif name == "frame_time":
        values = 16.6 + rng.gamma(2.0, 0.8, count)
        values += np.where(rng.random(count) < 0.01, rng.uniform(20, 80, count), 0)
    else:  # request_latency in ms
        values = rng.lognormal(np.log(35), 0.5, count)
    if incident is not None and name in ("request_latency", "cpu_usage"):
        inside = (times >= incident[0]) & (times <= incident[1])
        values = np.where(inside, values * (6.0 if name == "request_latency" else 2.5), values)
    if name == "cpu_usage":
        values = np.clip(values, 0.5, 100.0)
    return values.astype(np.float64)


def _build_measures(
    rng: np.random.Generator, fleet: _Fleet, scale: float, incident: Incident
) -> TimeSortedView:
    """Build measures: one sample every 10 s per metric and process at scale 1, by time."""
    interval = int(10 * NS_PER_SECOND / scale)
    incident_span = (to_ns(incident.begin), to_ns(incident.end))
    metric_names: list[str] = []
    units: list[str] = []
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("process", "time", "name", "value")}
    for index, (service, _) in enumerate(fleet.specs):
        begin, end = int(fleet.begin_ns[index]), int(fleet.end_ns[index])
        base = np.arange(begin, end, interval, dtype=np.int64)
        metrics = (("cpu_usage", "percent"), ("memory_used", "bytes"), *service.metrics)
        for metric_name, unit in metrics:
            if metric_name not in metric_names:
                metric_names.append(metric_name)
                units.append(unit)
            jitter = rng.integers(0, max(interval // 10, 1), len(base))
            times = np.minimum(base + jitter, end - 1)
            in_incident = fleet.infos[index].process_id == incident.process_id
            span = incident_span if in_incident else None
            values = _metric_values(rng, metric_name, times, span)
            parts["process"].append(np.full(len(times), index))
            parts["time"].append(times)
            parts["name"].append(np.full(len(times), metric_names.index(metric_name)))
            parts["value"].append(values)
    process, times, name, value = (np.concatenate(parts[k]) for k in parts)
    order = np.argsort(times, kind="stable")
    process, times, name, value = process[order], times[order], name[order], value[order]

    metrics_stream = np.array([fleet.stream_ids.index(i.metrics_stream_id) for i in fleet.infos])
    stream = metrics_stream[process]
    blocks = fleet.block_of(stream, times)
    fleet.count_objects(blocks)
    metric_targets = {
        "cpu_usage": "system::cpu",
        "memory_used": "system::memory",
        "request_latency": "http::server",
        "frame_time": "lumen::render",
    }
    targets = sorted(set(metric_targets.values()))
    name_target = np.array([targets.index(metric_targets[n]) for n in metric_names])
    columns = _process_columns(fleet, process)
    table = pa.table(
        {
            "process_id": columns["process_id"],
            "stream_id": _dictionary(stream, fleet.stream_ids),
            "block_id": _dictionary(blocks, fleet.block_ids),
            "insert_time": _timestamps(fleet.block_insert_ns[blocks]),
            "exe": columns["exe"],
            "username": columns["username"],
            "computer": columns["computer"],
            "time": _timestamps(times),
            "target": _dictionary(name_target[name], targets),
            "name": _dictionary(name, metric_names),
            "unit": _dictionary(name, units),
            "value": pa.array(value, pa.float64()),
            "properties": _dictionary(
                np.zeros(len(times), np.int64), pa.array([jsonb.encode_object({})], pa.binary())
            ),
            "process_properties": _dictionary(process, fleet.process_properties),
        }
    )
    return TimeSortedView("measures", table, "time")


def _span_hash(name: str) -> int:
    return uuid.uuid5(uuid.NAMESPACE_URL, name).int & 0xFFFFFFFF


def _build_thread_spans(
    rng: np.random.Generator, fleet: _Fleet, scale: float
) -> dict[str, TimeSortedView]:
    """Build the call trees of each cpu stream: sampled root spans, each with the service's tree.

    NOTE: a time range keeps the spans that begin inside it, so a span that began earlier and
    ends inside the range is not visible.
    """
    views: dict[str, TimeSortedView] = {}
    roots_per_minute = 2.0 * scale
    for stream, kind in enumerate(fleet.stream_kind):
        if kind != "cpu":
            continue
        index = int(fleet.stream_process[stream])
        service = fleet.specs[index][0]
        tree = service.span_tree
        begin, end = int(fleet.begin_ns[index]), int(fleet.end_ns[index])
        roots = max(1, round(roots_per_minute * (end - begin) / NS_PER_MINUTE))
        root_ms = rng.lognormal(np.log(service.root_span_ms), 0.4, roots)
        root_duration = (root_ms * 1e6).astype(np.int64)
        root_begin = np.sort(
            rng.integers(begin, max(end - int(root_duration.max()), begin + 1), roots)
        )
        node_begin = np.zeros((roots, len(tree)), np.int64)
        node_duration = np.zeros((roots, len(tree)), np.int64)
        for j, node in enumerate(tree):
            if node.parent < 0:
                node_begin[:, j] = root_begin
                node_duration[:, j] = root_duration
                continue
            parent_begin = node_begin[:, node.parent]
            parent_duration = node_duration[:, node.parent]
            jitter = rng.uniform(0.7, 1.0, roots)
            node_begin[:, j] = parent_begin + (node.begin_fraction * parent_duration).astype(
                np.int64
            )
            node_duration[:, j] = (node.duration_fraction * parent_duration * jitter).astype(
                np.int64
            )
        width = len(tree)
        ids = (np.arange(roots)[:, None] * width + np.arange(width)[None, :] + 1).ravel()
        parent_offset = np.array([max(node.parent, 0) for node in tree])
        parents = np.where(
            np.array([node.parent < 0 for node in tree])[None, :],
            0,
            np.arange(roots)[:, None] * width + parent_offset[None, :] + 1,
        ).ravel()
        node_index = np.tile(np.arange(width), roots)
        begins = node_begin.ravel()
        durations = node_duration.ravel()
        order = np.argsort(begins, kind="stable")
        target = service.name.replace("-", "_")
        names = [node.name for node in tree]
        filenames = sorted({node.filename for node in tree})
        file_index = np.array([filenames.index(node.filename) for node in tree])
        table = pa.table(
            {
                "id": pa.array(ids[order], pa.int64()),
                "parent": pa.array(parents[order], pa.int64()),
                "depth": pa.array(np.array([n.depth for n in tree], np.uint32)[node_index[order]]),
                "hash": pa.array(
                    np.array([_span_hash(n) for n in names], np.uint32)[node_index[order]]
                ),
                "begin": _timestamps(begins[order]),
                "end": _timestamps(begins[order] + durations[order]),
                "duration": pa.array(durations[order], pa.int64()),
                "name": _dictionary(node_index[order], names),
                "target": _dictionary(np.zeros(len(order), np.int64), [target]),
                "filename": _dictionary(file_index[node_index[order]], filenames),
                "line": pa.array(np.array([n.line for n in tree], np.uint32)[node_index[order]]),
            }
        )
        fleet.count_objects(fleet.block_of(np.full(len(order), stream), begins[order]))
        stream_id = fleet.stream_ids[stream]
        views[stream_id] = TimeSortedView(f"thread_spans({stream_id})", table, "begin")
    return views


def _build_async_events(
    rng: np.random.Generator, fleet: _Fleet, scale: float
) -> dict[str, TimeSortedView]:
    """Async spans of each process (begin and end events), recorded in its first cpu stream."""
    views: dict[str, TimeSortedView] = {}
    spans_per_minute = 3.0 * scale
    for index, info in enumerate(fleet.infos):
        service = fleet.specs[index][0]
        begin, end = int(fleet.begin_ns[index]), int(fleet.end_ns[index])
        outer = max(1, round(spans_per_minute * (end - begin) / NS_PER_MINUTE))
        outer_begin = rng.integers(begin, end, outer)
        outer_duration = (rng.lognormal(np.log(40), 0.8, outer) * 1e6).astype(np.int64)
        inner_begin = outer_begin + (outer_duration * rng.uniform(0.05, 0.3, outer)).astype(
            np.int64
        )
        inner_duration = (outer_duration * rng.uniform(0.2, 0.6, outer)).astype(np.int64)
        outer_name = rng.integers(0, len(service.async_names), outer)
        span_id = np.arange(1, 2 * outer + 1, dtype=np.int64)
        parent_id = np.concatenate([np.zeros(outer, np.int64), span_id[:outer]])
        depth = np.concatenate([np.zeros(outer, np.uint32), np.ones(outer, np.uint32)])
        names = [*service.async_names, "await_io"]
        name = np.concatenate([outer_name, np.full(outer, len(names) - 1)])
        span_begin = np.concatenate([outer_begin, inner_begin])
        # Spans still open at the end of the process end with it, never after now.
        span_begin = np.minimum(span_begin, end - 1)
        span_end = np.minimum(
            span_begin + np.concatenate([outer_duration, inner_duration]), end - 1
        )
        # Every span gives two events: its begin and its end.
        times = np.concatenate([span_begin, span_end])
        event_type = np.concatenate([np.zeros(2 * outer, np.int64), np.ones(2 * outer, np.int64)])
        event_span = np.concatenate([np.arange(2 * outer), np.arange(2 * outer)])
        order = np.argsort(times, kind="stable")
        times, event_type, event_span = times[order], event_type[order], event_span[order]
        stream = fleet.stream_ids.index(info.cpu_stream_ids[0])
        blocks = fleet.block_of(np.full(len(times), stream), times)
        fleet.count_objects(blocks)
        filenames = [f"src/{n}.rs" for n in names]
        table = pa.table(
            {
                "stream_id": _dictionary(
                    np.zeros(len(times), np.int64), [fleet.stream_ids[stream]]
                ),
                "block_id": _dictionary(blocks, fleet.block_ids),
                "time": _timestamps(times),
                "event_type": _dictionary(event_type, ["begin", "end"]),
                "span_id": pa.array(span_id[event_span], pa.int64()),
                "parent_span_id": pa.array(parent_id[event_span], pa.int64()),
                "depth": pa.array(depth[event_span], pa.uint32()),
                "hash": pa.array(
                    np.array([_span_hash(n) for n in names], np.uint32)[name[event_span]]
                ),
                "name": _dictionary(name[event_span], names),
                "filename": _dictionary(name[event_span], filenames),
                "target": _dictionary(
                    np.zeros(len(times), np.int64), [service.name.replace("-", "_")]
                ),
                "line": pa.array((name[event_span] * 17 + 12).astype(np.uint32), pa.uint32()),
            }
        )
        views[info.process_id] = TimeSortedView(f"async_events({info.process_id})", table, "time")
    return views


def _build_processes(fleet: _Fleet) -> OverlapView:
    infos = fleet.infos
    specs = fleet.specs
    start_ns = np.array([i.start_ns for i in infos], np.int64)
    end_ns = np.array([i.end_ns for i in infos], np.int64)
    ticks_at_end = fleet.start_ticks + (
        (end_ns - start_ns) / NS_PER_SECOND * fleet.tsc_frequency
    ).astype(np.int64)
    count = len(infos)
    table = pa.table(
        {
            "process_id": pa.array([i.process_id for i in infos], pa.utf8()),
            "exe": pa.array([i.exe for i in infos], pa.utf8()),
            "username": pa.array([i.username for i in infos], pa.utf8()),
            "realname": pa.array([p.realname for _, p in specs], pa.utf8()),
            "computer": pa.array([i.computer for i in infos], pa.utf8()),
            "distro": pa.array([s.distro for s, _ in specs], pa.utf8()),
            "cpu_brand": pa.array([s.cpu_brand for s, _ in specs], pa.utf8()),
            "tsc_frequency": pa.array(fleet.tsc_frequency, pa.int64()),
            "start_time": _timestamps(start_ns),
            "start_ticks": pa.array(fleet.start_ticks, pa.int64()),
            "insert_time": _timestamps(start_ns + 1_200_000_000),
            "parent_process_id": pa.array([""] * count, pa.utf8()),
            "properties": _dictionary(np.arange(count), fleet.process_properties),
            "last_update_time": _timestamps(end_ns),
            "last_block_end_ticks": pa.array(ticks_at_end, pa.int64()),
            "last_block_end_time": _timestamps(end_ns),
        }
    )
    return OverlapView("processes", table, "start_time", "last_update_time")


def _build_streams(fleet: _Fleet) -> OverlapView:
    count = len(fleet.stream_ids)
    process = fleet.stream_process
    properties = sorted({t for t in fleet.stream_thread})
    encoded = pa.array(
        [jsonb.encode_object({"thread-name": t} if t else {}) for t in properties], pa.binary()
    )
    property_index = np.array([properties.index(t) for t in fleet.stream_thread])
    table = pa.table(
        {
            "stream_id": pa.array(fleet.stream_ids, pa.utf8()),
            "process_id": pa.array([fleet.infos[p].process_id for p in process], pa.utf8()),
            "dependencies_metadata": pa.array([b"\x00" * 8] * count, pa.binary()),
            "objects_metadata": pa.array([b"\x00" * 8] * count, pa.binary()),
            "tags": pa.array([[kind] for kind in fleet.stream_kind], pa.list_(pa.utf8())),
            "properties": _dictionary(property_index, encoded),
            "insert_time": _timestamps(fleet.begin_ns[process] + 1_500_000_000),
            "format": pa.array(["tfpk"] * count, pa.utf8()),
            "last_update_time": _timestamps(fleet.end_ns[process]),
        }
    )
    return OverlapView("streams", table, "insert_time", "last_update_time")


def _build_blocks(fleet: _Fleet, processes: pa.Table, streams: pa.Table) -> OverlapView:
    """Blocks that hold at least one event, with the joined stream and process columns."""
    keep = np.flatnonzero(fleet.block_objects > 0)
    stream = fleet.block_stream[keep]
    process = fleet.stream_process[stream]
    objects = fleet.block_objects[keep]
    # object_offset: events of the stream stored in earlier blocks.
    cumulative = np.cumsum(objects) - objects
    stream_first = np.searchsorted(stream, stream, side="left")
    object_offset = cumulative - cumulative[stream_first]
    start_ns = np.array([i.start_ns for i in fleet.infos], np.int64)[process]
    frequency = fleet.tsc_frequency[process]
    start_ticks = fleet.start_ticks[process]

    def ticks(ns: np.ndarray) -> np.ndarray:
        elapsed_seconds = (ns - start_ns) / NS_PER_SECOND
        result: np.ndarray = start_ticks + (elapsed_seconds * frequency).astype(np.int64)
        return result

    begin_ns, end_ns = fleet.block_begin_ns[keep], fleet.block_end_ns[keep]
    columns: dict[str, pa.Array] = {
        "block_id": pa.array([fleet.block_ids[b] for b in keep], pa.utf8()),
        "stream_id": pa.array([fleet.stream_ids[s] for s in stream], pa.utf8()),
        "process_id": pa.array([fleet.infos[p].process_id for p in process], pa.utf8()),
        "begin_time": _timestamps(begin_ns),
        "begin_ticks": pa.array(ticks(begin_ns), pa.int64()),
        "end_time": _timestamps(end_ns),
        "end_ticks": pa.array(ticks(end_ns), pa.int64()),
        "nb_objects": pa.array(objects.astype(np.int32), pa.int32()),
        "object_offset": pa.array(object_offset, pa.int64()),
        "payload_size": pa.array(objects * 74 + 512, pa.int64()),
        "insert_time": _timestamps(fleet.block_insert_ns[keep]),
    }
    stream_rows = pa.array(stream, pa.int64())
    process_rows = pa.array(process, pa.int64())
    for name in ("dependencies_metadata", "objects_metadata", "tags", "properties"):
        columns[f"streams.{name}"] = streams.column(name).combine_chunks().take(stream_rows)
    for name in (
        "start_time",
        "start_ticks",
        "tsc_frequency",
        "exe",
        "username",
        "realname",
        "computer",
        "distro",
        "cpu_brand",
        "parent_process_id",
        "properties",
    ):
        columns[f"processes.{name}"] = processes.column(name).combine_chunks().take(process_rows)
    return OverlapView("blocks", pa.table(columns), "begin_time", "end_time")


def generate_telemetry(
    now: datetime | None = None, seed: int = 42, scale: float = 1.0
) -> Telemetry:
    """Generate every view of the demo data set, anchored at `now` (default: the current time).

    `scale` multiplies the number of log lines, metric samples and spans.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    started = time.perf_counter()
    anchor = (now or datetime.now(UTC)).astimezone(UTC)
    now_ns = to_ns(anchor)
    rng = np.random.default_rng(seed)
    pool = random.Random(seed)
    fleet = _build_fleet(rng, now_ns)
    log_entries, incident, internals = _build_log_entries(rng, pool, fleet, now_ns, scale)
    log_stats = _build_log_stats(fleet, log_entries.table, internals)
    measures = _build_measures(rng, fleet, scale, incident)
    thread_spans = _build_thread_spans(rng, fleet, scale)
    async_events = _build_async_events(rng, fleet, scale)
    processes = _build_processes(fleet)
    streams = _build_streams(fleet)
    blocks = _build_blocks(fleet, processes.table, streams.table)
    process_counts = np.bincount(internals.process, minlength=len(fleet.infos))
    telemetry = Telemetry(
        now=anchor,
        seed=seed,
        scale=scale,
        views={
            "processes": processes,
            "streams": streams,
            "blocks": blocks,
            "log_entries": log_entries,
            "log_stats": log_stats,
            "measures": measures,
        },
        thread_spans=thread_spans,
        async_events=async_events,
        processes=fleet.infos,
        incident=incident,
        log_rows_by_process={
            info.process_id: int(process_counts[i]) for i, info in enumerate(fleet.infos)
        },
    )
    telemetry.build_seconds = time.perf_counter() - started
    logger.info(
        "generated demo telemetry: %d log rows, %d measures, seed %d, scale %g in %.2f s",
        telemetry.log_rows,
        measures.num_rows,
        seed,
        scale,
        telemetry.build_seconds,
    )
    return telemetry
