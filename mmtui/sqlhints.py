"""SQL text helpers for the editor: statements, positions, size estimates, advice, completion.

Pure code with no Textual import, so the rules are tested without a screen. The size estimate
uses fixed sizes per Arrow type: a string counts 50 bytes, a fixed-width type its width (int64
8, a timestamp 8), a struct the sum of its fields, and a list, a map or any other type 16. It
estimates the wire size of a row and measures nothing.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from mmtui.results.formatting import LEVEL_NAMES
from mmtui.results.text import safe_text

MAX_COLUMNS_ADVICE = 50
"""More result columns than this earns advice to select fewer."""

MAX_ROW_BYTES_ADVICE = 1000
"""An estimated row size over this many bytes earns advice that rows will stream slowly."""

STRING_BYTES = 50
OTHER_BYTES = 16

KEYWORDS: tuple[str, ...] = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET", "JOIN",
    "LEFT JOIN", "INNER JOIN", "ON", "AS", "AND", "OR", "NOT", "IN", "IS NULL", "IS NOT NULL",
    "LIKE", "ILIKE", "BETWEEN", "DISTINCT", "CASE", "WHEN", "THEN", "ELSE", "END", "WITH",
    "UNION ALL", "ASC", "DESC", "COUNT", "SUM", "AVG", "MIN", "MAX", "INTERVAL", "NOW()",
    "CAST", "OVER", "PARTITION BY", "SHOW TABLES",
)  # fmt: skip
"""SQL keywords offered by completion (DataFusion dialect)."""

FUNCTIONS: tuple[str, ...] = (
    "view_instance", "property_get", "properties_length", "properties_to_dict",
    "jsonb_parse", "jsonb_get", "jsonb_format_json", "jsonb_as_string", "jsonb_as_i64",
    "jsonb_as_f64", "list_partitions", "date_trunc", "date_bin", "arrow_typeof",
    "make_histogram", "quantile_from_histogram", "approx_percentile_cont", "now",
    "to_timestamp", "regexp_like", "array_has", "process_spans",
)  # fmt: skip
"""Micromegas and DataFusion functions offered by completion."""

VIEW_INSTANCE_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("thread_spans", "stream_id", "spans of one thread (a cpu stream)"),
    ("async_events", "process_id", "async span events of one process"),
    ("log_entries", "process_id", "log lines of one process"),
    ("measures", "process_id", "metric samples of one process"),
)
"""Per-process and per-stream views: (view, id kind, description)."""

_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_NAME_CONTINUATION_ONLY = string.digits + "."
"""Characters that continue a name but cannot start one."""
_NAME_CHARACTERS = string.ascii_letters + "_" + _NAME_CONTINUATION_ONLY
_TIME_COLUMN = r"\b(?:time|time_bin|begin|end|insert_time|start_time|last_update_time)\b"
"""The time columns of Micromegas views, as a regular expression."""
_TIME_PREDICATE = re.compile(
    _TIME_COLUMN + r"\"?\s*(?:>=|<=|=|>|<|\bbetween\b)",
    re.IGNORECASE,
)
_TIME_PREDICATE_REVERSED = re.compile(
    # The time column on the right: `now() - INTERVAL '1 hour' < time`, not a call `end(`.
    r"(?:>=|<=|=|>|<)\s*(?:[a-z_][a-z0-9_]*\.)?\"?" + _TIME_COLUMN + r"(?!\s*\()",
    re.IGNORECASE,
)
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)
_CLAUSE = re.compile(
    # Every clause starts with a parenthesis or at the start of a word. The lookahead rejects
    # other positions before `re` tries each alternative there, so a long list of numbers
    # scans several times faster.
    r"(?=[()]|\b[a-z])"
    r"(?:(?P<from_subquery>\bfrom\s*\()|(?P<open>\()|(?P<close>\))"
    # `FROM name`, where the name may be a common table expression (`WITH name AS (...)`).
    r"|(?P<from_name>\bfrom\s+(?P<source>[a-z_][a-z0-9_]*)\b(?!\s*[.(]))"
    r"|(?P<cte>\b(?P<cte_name>[a-z_][a-z0-9_]*)\s+as\s*\()"
    r"|(?P<distinct>\bselect\s+distinct\b)|(?P<order>\border\s+by\b)"
    r"|(?P<group>\bgroup\s+by\b)"
    # `LIMIT 10`, `LIMIT (10)` (the parenthesis is left to `open`) and SQL's `FETCH FIRST`.
    r"|(?P<limit>\blimit(?=\s*\(?\s*\d)|\bfetch\s+(?:first|next)\b)"
    r"|(?P<set_operation>\b(?:union|intersect|except)\b)|(?P<join>\bjoin\b))",
    re.IGNORECASE,
)
_QUERY_START = re.compile(r"\s*(?:select|with|values)\b", re.IGNORECASE)
_LITERAL_OR_COMMENT_START = re.compile(
    # DataFusion (sqlparser) also reads `E'...'` with backslash escapes, and dollar-quoted
    # strings `$$...$$` and `$tag$...$tag$`. `$1` is a placeholder, `e` ending a name is no prefix.
    r"(?<![A-Za-z0-9_$])[eE]'|['\"]|--|/\*|(?<![A-Za-z0-9_$])\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$"
)
_ESCAPE_STRING_BODY = re.compile(r"(?:[^'\\]+|\\.|'')*", re.DOTALL)
_BLOCK_COMMENT_EDGE = re.compile(r"/\*|\*/")
_SEMICOLON = re.compile(";")


@dataclass(frozen=True)
class Statement:
    """One statement of the buffer: its text and the offsets of its first and past-last char."""

    text: str
    start: int
    end: int


def blank_literals_and_comments(sql: str, keep_quoted_names: bool = False) -> str:
    """Return `sql` with the insides of string literals, quoted names and comments blanked.

    Every character keeps its offset (blanked ones become spaces, newlines stay), so positions
    found in the result are positions in `sql`. The quotes of a literal or a quoted name stay,
    and a dollar-quoted string is blanked whole. With `keep_quoted_names`, the insides of
    double-quoted names stay too. Block comments nest, as in DataFusion.
    """
    # The text between literals and comments is copied in slices found by `re` and
    # `str.find`, so one long line costs time linear in its length, done in C.
    pieces: list[str] = []
    index = 0
    length = len(sql)
    while index < length:
        match = _LITERAL_OR_COMMENT_START.search(sql, index)
        if match is None:
            pieces.append(sql[index:])
            break
        start = match.start()
        pieces.append(sql[index:start])
        opener = match.group()
        if opener in ("e'", "E'"):
            body = _ESCAPE_STRING_BODY.match(sql, start + 2)
            stop = body.end() if body is not None else start + 2
            pieces.append(opener)
            pieces.append(_blank_keeping_line_breaks(sql[start + 2 : stop]))
            pieces.append(sql[stop : stop + 1])
            index = stop + 1
        elif opener.startswith("$"):
            close = sql.find(opener, match.end())
            stop = length if close == -1 else close + len(opener)
            pieces.append(_blank_keeping_line_breaks(sql[start:stop]))
            index = stop
        elif opener in ("'", '"'):
            close = sql.find(opener, start + 1)
            while close != -1 and close + 1 < length and sql[close + 1] == opener:
                close = sql.find(opener, close + 2)
            stop = length if close == -1 else close
            inside = sql[start + 1 : stop]
            pieces.append(opener)
            if opener == '"' and keep_quoted_names:
                pieces.append(inside)
            else:
                pieces.append(_blank_keeping_line_breaks(inside))
            pieces.append(sql[stop : stop + 1])
            index = stop + 1
        elif opener == "--":
            stop = sql.find("\n", start)
            stop = length if stop == -1 else stop
            pieces.append(" " * (stop - start))
            index = stop
        else:
            stop = _block_comment_end(sql, start)
            pieces.append(_blank_keeping_line_breaks(sql[start:stop]))
            index = stop
    return "".join(pieces)


def _block_comment_end(sql: str, start: int) -> int:
    """Return the offset past the block comment that opens at `start`, nested ones included,
    or the length of `sql` when it does not close."""
    depth = 1
    position = start + 2
    while depth:
        edge = _BLOCK_COMMENT_EDGE.search(sql, position)
        if edge is None:
            return len(sql)
        depth += 1 if edge.group() == "/*" else -1
        position = edge.end()
    return position


def _blank_keeping_line_breaks(text: str) -> str:
    return "\n".join(" " * len(line) for line in text.split("\n"))


def split_statements(sql: str) -> list[Statement]:
    """Split on `;` outside literals and comments; blank statements are dropped.

    Each statement's `start` is its first non-blank character, so an error position the server
    reports relative to the statement maps back into the buffer.
    """
    blanked = blank_literals_and_comments(sql)
    statements: list[Statement] = []
    start = 0
    ends = [match.start() for match in _SEMICOLON.finditer(blanked)]
    for index in [*ends, len(sql)]:
        segment = sql[start:index]
        if segment.strip() and blanked[start:index].strip():
            leading = len(segment) - len(segment.lstrip())
            trailing = len(segment.rstrip())
            statement = Statement(segment[leading:trailing], start + leading, start + trailing)
            statements.append(statement)
        start = index + 1
    return statements


def statement_at(sql: str, offset: int) -> Statement | None:
    """Return the statement under the cursor at `offset`, or the one just before it."""
    return statement_at_offset(split_statements(sql), offset)


def statement_at_offset(statements: list[Statement], offset: int) -> Statement | None:
    """Like `statement_at`, among `statements`, the result of `split_statements`."""
    previous: Statement | None = None
    for statement in statements:
        if offset < statement.start:
            return previous or statement
        if offset <= statement.end + 1:
            return statement
        previous = statement
    return previous


def location_to_offset(text: str, row: int, column: int) -> int:
    """Convert a 0-based (row, column) location to an offset into `text`."""
    lines = text.split("\n")
    row = max(0, min(row, len(lines) - 1))
    return sum(len(line) + 1 for line in lines[:row]) + min(column, len(lines[row]))


def offset_to_location(text: str, offset: int) -> tuple[int, int]:
    """Convert an offset into `text` to a 0-based (row, column) location."""
    before = text[: max(0, min(offset, len(text)))]
    row = before.count("\n")
    return row, len(before) - (before.rfind("\n") + 1)


@dataclass(frozen=True)
class ErrorPosition:
    """The SQL position of a server's error: 1-based line and column in `statement`, as sent."""

    statement: Statement
    line: int
    column: int

    def label(self) -> str:
        return f"line {self.line}, column {self.column}"


def position_in_text(text: str, line: int, column: int) -> bool:
    """Tell whether a 1-based line and column fall inside `text`.

    The column just past a line's end counts, because a server points there at a missing token.
    """
    lines = text.split("\n")
    return 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1


def error_location(
    buffer: str, statement: Statement, line: int, column: int
) -> tuple[int, int] | None:
    """Map a server position (1-based line and column in the statement) to a buffer location.

    Return None when the position is outside the statement: a server may send line 0, or a
    line or column past the statement's end.
    """
    if not position_in_text(statement.text, line, column):
        return None
    offset_in_statement = location_to_offset(statement.text, line - 1, column - 1)
    return offset_to_location(buffer, statement.start + offset_in_statement)


def find_statement(buffer: str, statement: Statement) -> Statement | None:
    """Return where `statement`, taken from an earlier version of `buffer`, is now.

    It is found at its old offsets, or else as the only statement of `buffer` with the same
    text. None when it was edited or removed, or when several statements have its text.
    """
    if buffer[statement.start : statement.end] == statement.text:
        return statement
    matches = [found for found in split_statements(buffer) if found.text == statement.text]
    return matches[0] if len(matches) == 1 else None


def estimate_type_bytes(data_type: pa.DataType) -> int:
    """Estimate the bytes one value of `data_type` takes.

    Strings and binaries count 50 bytes, and fixed-width types their width (int64 8, int32 4,
    a timestamp 8, `fixed_size_binary[1000]` 1000). A struct counts the sum of its fields and
    a fixed-size list its size times its item. Anything else counts 16, a list or a map too,
    because its length is not in the type. A dictionary counts as its value type.
    """
    if isinstance(data_type, pa.ExtensionType):
        return estimate_type_bytes(data_type.storage_type)
    if pa.types.is_dictionary(data_type):
        return estimate_type_bytes(data_type.value_type)
    if pa.types.is_struct(data_type):
        return sum(estimate_type_bytes(field.type) for field in data_type)
    if pa.types.is_fixed_size_list(data_type):
        return int(data_type.list_size) * estimate_type_bytes(data_type.value_type)
    if (
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_binary(data_type)
        or pa.types.is_large_binary(data_type)
        or _is_view(data_type)
    ):
        return STRING_BYTES
    if pa.types.is_timestamp(data_type):
        return 8
    if pa.types.is_boolean(data_type):
        return 1
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return int(data_type.bit_width // 8)
    if _is_fixed_width(data_type):
        return int(data_type.bit_width // 8)
    return OTHER_BYTES


def _is_fixed_width(data_type: pa.DataType) -> bool:
    """Tell whether every value of `data_type` takes the same whole number of bytes."""
    try:
        return int(data_type.bit_width) >= 8
    except ValueError:  # pyarrow raises it for a type without a fixed width
        return False


def _is_view(data_type: pa.DataType) -> bool:
    checks = (getattr(pa.types, "is_string_view", None), getattr(pa.types, "is_binary_view", None))
    return any(check is not None and check(data_type) for check in checks)


def estimate_row_bytes(schema: pa.Schema | Sequence[pa.Field]) -> int:
    """Estimate the bytes of one row: the sum of the column estimates."""
    return sum(estimate_type_bytes(field.type) for field in schema)


def describe_type(data_type: pa.DataType) -> str:
    """Return a short type name, safe to show: `dict<string>` for a dictionary of strings, else
    Arrow's name.

    Struct field names and time zones come from the server, so control characters in them
    become visible symbols (`safe_text`), as in column names.
    """
    if pa.types.is_dictionary(data_type):
        name = f"dict<{data_type.value_type}>"
    elif pa.types.is_timestamp(data_type):
        zone = f", {data_type.tz}" if data_type.tz else ""
        name = f"ts[{data_type.unit}{zone}]"
    else:
        name = str(data_type)
    return safe_text(name)


def has_time_predicate(sql: str) -> bool:
    """Tell whether the statement compares a time column, quoted (`"time"`) or not, on either
    side of the operator, in a WHERE clause."""
    blanked = blank_literals_and_comments(sql, keep_quoted_names=True)
    where = _WHERE.search(blanked)
    if where is None:
        return False
    predicates = (_TIME_PREDICATE, _TIME_PREDICATE_REVERSED)
    return any(pattern.search(blanked, where.end()) is not None for pattern in predicates)


@dataclass(eq=False)
class _QueryLevel:
    """One query of a statement: the top level or a parenthesised subquery, with its clauses."""

    parent: _QueryLevel | None
    is_query: bool
    """False for parentheses that hold no query: calls, lists, `OVER (...)` windows."""
    has_limit: bool = False
    grouped: bool = False
    """GROUP BY or SELECT DISTINCT since the last UNION, INTERSECT or EXCEPT."""
    sorts_rows: bool = False
    """ORDER BY over rows that are not grouped."""
    combines_sources: bool = False
    """A JOIN or a set operation reads more than the FROM source."""
    from_subquery: _QueryLevel | None = None
    """The FROM source when it is a subquery, or a common table expression of the statement."""

    def returns_few_rows(self) -> bool:
        """Tell whether a LIMIT bounds this query's rows, directly or through its FROM source."""
        if self.has_limit:
            return True
        source = self.from_subquery
        return source is not None and not self.combines_sources and source.returns_few_rows()

    def limited_by_enclosing_query(self) -> bool:
        level = self.parent
        while level is not None:
            if level.has_limit:
                return True
            level = level.parent
        return False


def _query_levels(blanked: str) -> list[_QueryLevel]:
    """Return every query level of a statement whose literals and comments are blanked.

    Unbalanced parentheses, as while typing, close at the end of the text.
    """
    top = _QueryLevel(parent=None, is_query=True)
    levels = [top]
    stack = [top]
    common_tables: dict[str, _QueryLevel] = {}
    """The query of each `WITH name AS (...)` seen so far, by lower-case name."""
    for match in _CLAUSE.finditer(blanked):
        current = stack[-1]
        clause = match.lastgroup
        if clause in ("open", "from_subquery", "cte"):
            is_query = _QUERY_START.match(blanked, match.end()) is not None
            level = _QueryLevel(parent=current, is_query=is_query)
            if clause == "from_subquery" and current.from_subquery is None:
                current.from_subquery = level
            if clause == "cte" and is_query:
                common_tables[match.group("cte_name").lower()] = level
            levels.append(level)
            stack.append(level)
        elif clause == "close":
            if len(stack) > 1:
                stack.pop()
        elif not current.is_query:
            continue
        elif clause == "from_name":
            source = common_tables.get(match.group("source").lower())
            if source is not None and current.from_subquery is None:
                current.from_subquery = source
        elif clause == "order":
            current.sorts_rows = current.sorts_rows or not current.grouped
        elif clause in ("group", "distinct"):
            current.grouped = True
        elif clause == "limit":
            current.has_limit = True
        elif clause == "set_operation":
            current.grouped = False
            current.combines_sources = True
        elif clause == "join":
            current.combines_sources = True
    return levels


def sorts_all_rows(sql: str) -> bool:
    """Tell whether the statement sorts rows that no LIMIT bounds.

    Such a sort sends no row before the server has read them all. A query level counts when it
    has ORDER BY and neither it nor an enclosing query has LIMIT, and its FROM source is not a
    subquery or a common table expression (`WITH name AS (...)`) with LIMIT. ORDER BY inside
    literals, comments, window definitions (`OVER (ORDER BY ...)`) and aggregate calls does
    not count.

    ORDER BY after GROUP BY or SELECT DISTINCT does not count either. The aggregation reads
    every row before it returns its first group whether or not the sort follows, so a LIMIT
    would not make the first row come sooner, and the sort only orders the groups.
    NOTE: an aggregate without GROUP BY (`SELECT count(*) FROM t ORDER BY 1`) still counts.
    """
    levels = _query_levels(blank_literals_and_comments(sql))
    return any(
        level.is_query
        and level.sorts_rows
        and not level.returns_few_rows()
        and not level.limited_by_enclosing_query()
        for level in levels
    )


def advice(sql: str, schema: pa.Schema | None, has_time_range: bool) -> list[str]:
    """Return advice for a statement that plans, in the order a user should act on it."""
    notes: list[str] = []
    if not has_time_range and not has_time_predicate(sql):
        notes.append(
            "No time range: the query scans all time. Pick a range (keys 1-6) "
            "or add a time predicate."
        )
    if sorts_all_rows(sql):
        notes.append("ORDER BY without LIMIT: the server sorts every row before sending one.")
    if compares_level_with_text(sql):
        # The grid shows level names, but the column contains numbers. Such a comparison
        # plans and then fails when it runs (DataFusion in the demo server does so).
        names = ", ".join(f"{name}={number}" for number, name in sorted(LEVEL_NAMES.items()))
        notes.append(f"level holds numbers ({names}): compare it with a number, not a name.")
    if schema is not None:
        if len(schema) > MAX_COLUMNS_ADVICE:
            notes.append(
                f"{len(schema)} columns (more than {MAX_COLUMNS_ADVICE}): select only "
                "the columns you need."
            )
        row_bytes = estimate_row_bytes(schema)
        if row_bytes > MAX_ROW_BYTES_ADVICE:
            notes.append(
                f"Estimated row size {row_bytes} B (over {MAX_ROW_BYTES_ADVICE} B): "
                "rows will stream slowly; select fewer or smaller columns."
            )
    return notes


_LEVEL_TEXT_COMPARISON = re.compile(r"\blevel\s*(?:=|!=|<>|<=|>=|<|>)\s*'", re.IGNORECASE)
_LEVEL_IN_TEXT = re.compile(r"\blevel\s+(?:not\s+)?in\s*\(\s*'", re.IGNORECASE)


def compares_level_with_text(sql: str) -> bool:
    """Tell whether the statement compares a `level` column with a string literal."""
    # Comments and the text inside literals are blanked, so a match is real SQL; the quotes
    # stay, which shows the literal that follows.
    blanked = blank_literals_and_comments(sql)
    return bool(_LEVEL_TEXT_COMPARISON.search(blanked) or _LEVEL_IN_TEXT.search(blanked))


def word_before(line: str, column: int) -> str:
    """Return the identifier prefix that ends at `column` in `line` (may contain dots).

    The prefix starts with a letter or `_`, so digits and dots before its first letter are left
    out (`12a.b` gives `a.b`).
    """
    # `rstrip` finds the run of name characters in C. A regex anchored at the end (`...$`)
    # would try every start in the line and take time quadratic in a long run.
    before = line[:column]
    run = before[len(before.rstrip(_NAME_CHARACTERS)) :]
    return run.lstrip(_NAME_CONTINUATION_ONLY)


def is_plain_identifier(name: str) -> bool:
    """Tell whether `name` can be written bare in SQL.

    DataFusion lower-cases an unquoted name, so a name with capitals, spaces or other
    characters needs double quotes.
    """
    return _PLAIN_IDENTIFIER.fullmatch(name) is not None


def quote_identifier(name: str) -> str:
    """Return `name` as SQL: bare when it is a plain lower-case identifier, else double-quoted."""
    if is_plain_identifier(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def complete(prefix: str, tables: Iterable[str], columns: Iterable[str]) -> list[str]:
    """Return completion candidates for `prefix`: views, columns, functions, then keywords.

    Matching ignores case. Keywords come back in upper case, as typed in most SQL.
    """
    if not prefix:
        return []
    lowered = prefix.lower()
    seen: set[str] = set()
    found: list[str] = []
    groups: list[Iterable[str]] = [tables, columns, FUNCTIONS, KEYWORDS]
    for group in groups:
        for candidate in sorted(set(group)):
            key = candidate.lower()
            if key.startswith(lowered) and key != lowered and key not in seen:
                seen.add(key)
                found.append(candidate)
    return found
