"""SQL planning for the demo server: one DataFusion session per query over the generated views.

Each query gets a fresh `SessionContext` holding the views cut to the query's time range
(registering the zero-copy slices costs well under a millisecond), the Micromegas table
function `view_instance` and the UDFs `property_get`, `properties_length` and
`jsonb_format_json`. Planning errors are turned into the message shape of the Micromegas
server, with the line and column of the offending token when it can be found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from datafusion import DataFrame, SessionConfig, SessionContext, SQLOptions, Table, udf, udtf
from datafusion.expr import Expr

from mmtui.demo import jsonb
from mmtui.demo.tables import TimeRange, TimeSortedView
from mmtui.demo.telemetry import Telemetry

JSONB_TYPE = pa.dictionary(pa.int32(), pa.binary())
#: Views reached through view_instance(view, id), and what the id names.
INSTANCE_VIEWS = {
    "thread_spans": "stream_id",
    "async_events": "process_id",
    "log_entries": "process_id",
    "measures": "process_id",
}


class PlanningError(Exception):
    """DataFusion rejected the SQL. `position` is the 1-based (line, column) when known."""

    def __init__(self, root_cause: str, position: tuple[int, int] | None) -> None:
        super().__init__(root_cause)
        self.root_cause = root_cause
        self.position = position


@dataclass
class PlannedQuery:
    dataframe: DataFrame
    schema: pa.Schema


def _sql_options() -> SQLOptions:
    # DDL and DML are rejected: COPY would write files on the server's disk.
    return SQLOptions().with_allow_ddl(False).with_allow_dml(False).with_allow_statements(False)


def _map_dictionary(
    array: pa.Array, convert: Callable[[bytes | None], object], result_type: pa.DataType
) -> pa.Array:
    """Apply `convert` once per distinct JSONB value, then spread the results over the rows."""
    if isinstance(array, pa.DictionaryArray):
        values = pa.array([convert(v) for v in array.dictionary.to_pylist()], result_type)
        return values.take(array.indices)
    return pa.array([convert(v) for v in array.to_pylist()], result_type)


def _decode(value: bytes | None) -> dict[str, str | None] | None:
    if value is None:
        return None
    try:
        return jsonb.decode_object(value)
    except ValueError:
        return None


def _property_get(properties: pa.Array, keys: pa.Array) -> pa.Array:
    """Return the value of a property, matching the key without regard to ASCII case."""
    distinct_keys = set(keys.to_pylist())
    if distinct_keys == {None}:
        return pa.nulls(len(properties), pa.utf8())
    if len(distinct_keys) == 1:
        key = str(next(iter(distinct_keys))).lower()

        def lookup(value: bytes | None) -> str | None:
            decoded = _decode(value)
            if decoded is None:
                return None
            for name, prop in decoded.items():
                if name.lower() == key:
                    return prop
            return None

        return _map_dictionary(properties, lookup, pa.utf8())
    # Keys that vary per row: decode row by row (rare, never on the generated data's hot path).
    rows = (
        properties.to_pylist()
        if not isinstance(properties, pa.DictionaryArray)
        else (properties.dictionary.take(properties.indices).to_pylist())
    )
    results: list[str | None] = []
    for value, key in zip(rows, keys.to_pylist(), strict=True):
        decoded = _decode(value) or {}
        lowered = {name.lower(): prop for name, prop in decoded.items()}
        results.append(lowered.get(str(key).lower()) if key is not None else None)
    return pa.array(results, pa.utf8())


def _properties_length(properties: pa.Array) -> pa.Array:
    def length(value: bytes | None) -> int | None:
        decoded = _decode(value)
        return None if decoded is None else len(decoded)

    return _map_dictionary(properties, length, pa.int32())


def _jsonb_format_json(properties: pa.Array) -> pa.Array:
    def text(value: bytes | None) -> str | None:
        decoded = _decode(value)
        return None if decoded is None else json.dumps(decoded, ensure_ascii=False)

    return _map_dictionary(properties, text, pa.utf8())


def _rows_of_process(batch: pa.RecordBatch, process_id: str) -> pa.RecordBatch:
    """Keep the rows of one process, comparing dictionary indices instead of strings."""
    column = batch.column(batch.schema.get_field_index("process_id"))
    assert isinstance(column, pa.DictionaryArray)
    position = column.dictionary.index(process_id).as_py()
    if position < 0:
        return batch.slice(0, 0)
    return batch.filter(pc.equal(column.indices, pa.scalar(position, column.indices.type)))


def _string_literal(argument: object, position: str) -> str:
    literal = Expr(argument).to_variant()
    value_string = getattr(literal, "value_string", None)
    try:
        text = value_string() if callable(value_string) else None
    except Exception:  # DataFusion raises a plain Exception for a literal of another type
        text = None
    if not isinstance(text, str):
        raise ValueError(f"view_instance: the {position} argument must be a string literal")
    return text


class Engine:
    """Plans SQL against the telemetry; thread-safe because every call builds its own session."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry
        self._config = SessionConfig().with_information_schema(True)

    def session(self, time_range: TimeRange | None) -> SessionContext:
        ctx = SessionContext(self._config)
        for name, view in self.telemetry.views.items():
            batches = view.slice(time_range) or [pa.RecordBatch.from_pylist([], view.schema)]
            ctx.register_record_batches(name, [batches])
        ctx.register_udtf(udtf(self._view_instance_function(time_range), "view_instance"))
        ctx.register_udf(
            udf(_property_get, [JSONB_TYPE, pa.utf8()], pa.utf8(), "immutable", "property_get")
        )
        ctx.register_udf(
            udf(_properties_length, [JSONB_TYPE], pa.int32(), "immutable", "properties_length")
        )
        ctx.register_udf(
            udf(_jsonb_format_json, [JSONB_TYPE], pa.utf8(), "immutable", "jsonb_format_json")
        )
        return ctx

    def _view_instance_function(self, time_range: TimeRange | None) -> Callable[..., Table]:
        def view_instance(view_argument: object, id_argument: object) -> Table:
            view_name = _string_literal(view_argument, "first")
            instance_id = _string_literal(id_argument, "second")
            view = self._instance_view(view_name, instance_id)
            batches = view.slice(time_range)
            if view_name in ("log_entries", "measures"):
                batches = [_rows_of_process(batch, instance_id) for batch in batches]
            # A pyarrow dataset is the table provider a Python table function can build
            # while DataFusion is planning (creating a DataFrame here would block its runtime).
            return Table(ds.dataset(batches, schema=view.schema))

        return view_instance

    def _instance_view(self, view_name: str, instance_id: str) -> TimeSortedView:
        telemetry = self.telemetry
        if view_name == "thread_spans":
            found = telemetry.thread_spans.get(instance_id)
        elif view_name == "async_events":
            found = telemetry.async_events.get(instance_id)
        elif view_name in ("log_entries", "measures"):
            view = telemetry.views[view_name]
            assert isinstance(view, TimeSortedView)
            known = any(info.process_id == instance_id for info in telemetry.processes)
            found = view if known else None
        else:
            names = ", ".join(INSTANCE_VIEWS)
            raise ValueError(f"view_instance: unknown view {view_name!r}, expected one of {names}")
        if found is None:
            kind = INSTANCE_VIEWS[view_name]
            raise ValueError(f"view_instance: no {view_name} instance for {kind} {instance_id!r}")
        return found

    def plan(
        self, sql: str, time_range: TimeRange | None, limit: int | None = None
    ) -> PlannedQuery:
        """Plan the SQL without executing it. Raises PlanningError when DataFusion rejects it."""
        ctx = self.session(time_range)
        try:
            dataframe = ctx.sql_with_options(sql, _sql_options())
            if limit is not None:
                dataframe = dataframe.limit(limit)
            schema = dataframe.schema()
        except Exception as error:  # DataFusion raises plain Exception subclasses
            root_cause = _root_cause(str(error))
            raise PlanningError(root_cause, locate_error(sql, root_cause)) from error
        return PlannedQuery(dataframe, schema)


def _root_cause(message: str) -> str:
    # A Python table function's error arrives wrapped as `PyErr { ... value: X("text") ... }`.
    wrapped = re.search(r"value: \w+\((['\"])(.*?)\1\)", message, re.DOTALL)
    if wrapped and "PyErr" in message:
        return f"{message.split(':', 1)[0]}: {wrapped.group(2)}"
    return message


_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
    | (?P<string>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")*")
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_PARSER_POSITION = re.compile(r"at Line: (\d+), Column: (\d+)")
_NAMED_TOKEN = (
    re.compile(r"No field named (\S+?)\.?(?:\s|$)"),
    re.compile(r"table '([^']+)' not found"),
    re.compile(r"Invalid function '([^']+)'"),
    re.compile(r"function '([^']+)'"),
)


def locate_error(sql: str, message: str) -> tuple[int, int] | None:
    """Find the 1-based (line, column) an error message points at, if it names a position.

    DataFusion's Python binding (version 55) gives positions only in parser errors, and not
    even there when the input ends early: then the end of the SQL is the position. For
    unknown columns, tables and functions, the first occurrence of the named identifier in
    the SQL (outside strings and comments) is taken as the position.
    NOTE: when that name occurs more than once, the first occurrence may not be the one
    DataFusion rejected.
    """
    parsed = _PARSER_POSITION.search(message)
    if parsed:
        return int(parsed.group(1)), int(parsed.group(2))
    if "found: EOF" in message:
        # The parser ran out of input: point just after the last non-blank character.
        return _line_column(sql, len(sql.rstrip()))
    for pattern in _NAMED_TOKEN:
        match = pattern.search(message)
        if match is None:
            continue
        name = match.group(1).split(".")[-1]
        offset = _find_identifier(sql, name)
        if offset is not None:
            return _line_column(sql, offset)
    return None


def _find_identifier(sql: str, name: str) -> int | None:
    quoted = name.startswith('"') and name.endswith('"') and len(name) >= 2
    target_name = name[1:-1] if quoted else name.lower()
    for token in _TOKEN.finditer(sql):
        if token.lastgroup == "word" and not quoted and token.group().lower() == target_name:
            return token.start()
        if token.lastgroup == "quoted" and token.group()[1:-1].replace('""', '"') == target_name:
            return token.start()
    return None


def _line_column(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    line_start = sql.rfind("\n", 0, offset) + 1
    return line, offset - line_start + 1
