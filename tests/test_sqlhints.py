"""The editor's pure SQL helpers: statements, positions, size estimates, advice, completion."""

import pyarrow as pa
import pytest

from mmtui import sqlhints

BUFFER = "SELECT 1;\n\nSELECT time, msg\nFROM log_entries\nWHERE msg = 'a;b' -- c;\n;"


def test_split_ignores_semicolons_in_literals_and_comments() -> None:
    statements = sqlhints.split_statements(BUFFER)
    assert [statement.text for statement in statements] == [
        "SELECT 1",
        "SELECT time, msg\nFROM log_entries\nWHERE msg = 'a;b' -- c;",
    ]
    second = statements[1]
    assert BUFFER[second.start : second.end] == second.text


@pytest.mark.parametrize(
    ("sql", "blanked"),
    [
        ("SELECT 'a;b' FROM t", "SELECT '   ' FROM t"),
        ("'it''s' x", "'     ' x"),
        ('"a b".c', '"   ".c'),
        ("x -- c;\ny", "x      \ny"),
        ("a /* b\nc */ d", "a     \n     d"),
        ("'a\nb'", "' \n '"),
        ("'abc", "'   "),
        ("/* abc", "      "),
        ("SELECT 1", "SELECT 1"),
        ("", ""),
        # Forms DataFusion also reads: escape strings, dollar quotes, nested comments.
        ("E'it\\'s;' x", "E'      ' x"),
        ("e'a\\\\';b", "e'   ';b"),
        ("name' x' y", "name'  ' y"),
        ("$$a;b$$ x", "        x"),
        ("$t$a$$;$t$ x", "           x"),
        ("$1;$2", "$1;$2"),
        ("/* a /* b; */ c; */ d", "                    d"),
    ],
)
def test_blank_literals_and_comments(sql: str, blanked: str) -> None:
    assert sqlhints.blank_literals_and_comments(sql) == blanked


def test_split_long_line() -> None:
    ids = ",".join(str(number) for number in range(40_000))
    first = f"SELECT * FROM t WHERE id IN ({ids})"
    second = "SELECT 'a;b' -- c;"
    buffer = f"{first}; {second}"

    statements = sqlhints.split_statements(buffer)

    assert [statement.text for statement in statements] == [first, second]
    assert (statements[0].start, statements[0].end) == (0, len(first))
    assert buffer[statements[1].start : statements[1].end] == second
    assert sqlhints.statement_at(buffer, len(buffer)) == statements[1]


def test_statement_at_cursor() -> None:
    assert sqlhints.statement_at(BUFFER, 3).text == "SELECT 1"
    assert sqlhints.statement_at(BUFFER, 9).text == "SELECT 1"
    inside = BUFFER.index("FROM")
    assert sqlhints.statement_at(BUFFER, inside).text.startswith("SELECT time")
    assert sqlhints.statement_at("   ", 1) is None


def test_error_location_maps_into_buffer() -> None:
    statement = sqlhints.statement_at(BUFFER, BUFFER.index("FROM"))
    assert statement is not None
    # Line 2, column 6 of the statement is "log_entries" on buffer row 3.
    row, column = sqlhints.error_location(BUFFER, statement, 2, 6)
    assert (row, column) == (3, 5)
    assert BUFFER.split("\n")[row][column:].startswith("log_entries")


def test_error_location_outside_statement() -> None:
    statement = sqlhints.statement_at(BUFFER, 0)
    assert statement is not None
    assert statement.text == "SELECT 1"
    # The column just past the end is where a missing token is reported.
    assert sqlhints.error_location(BUFFER, statement, 1, 9) == (0, 8)
    for line, column in ((0, 0), (1, 0), (0, 1), (2, 1), (1, 10), (10**21, 1)):
        assert sqlhints.error_location(BUFFER, statement, line, column) is None, (line, column)


def test_find_statement_after_edits() -> None:
    statement = sqlhints.split_statements(BUFFER)[1]
    assert sqlhints.find_statement(BUFFER, statement) == statement

    shifted = "-- new first line\n" + BUFFER
    found = sqlhints.find_statement(shifted, statement)
    assert found is not None
    assert shifted[found.start : found.end] == statement.text

    edited = BUFFER.replace("SELECT time, msg", "SELECT time")
    assert sqlhints.find_statement(edited, statement) is None
    repeated = f"{statement.text};\n{statement.text}"
    assert sqlhints.find_statement("\n" + repeated, statement) is None


@pytest.mark.parametrize(
    ("data_type", "size"),
    [
        (pa.string(), 50),
        (pa.dictionary(pa.int32(), pa.string()), 50),
        (pa.int64(), 8),
        (pa.int32(), 4),
        (pa.timestamp("ns", tz="+00:00"), 8),
        (pa.float64(), 8),
        (pa.list_(pa.string()), 16),
        (pa.dictionary(pa.int32(), pa.binary()), 50),
        (pa.binary(1000), 1000),
        (pa.decimal256(70, 2), 32),
        (pa.date32(), 4),
        (pa.duration("ns"), 8),
        (pa.struct([("a", pa.string()), ("b", pa.int64())]), 58),
        (pa.struct([(f"s{index}", pa.string()) for index in range(300)]), 15_000),
        (pa.list_(pa.int64(), 10), 80),
        (pa.uuid(), 16),
    ],
)
def test_type_size_estimate(data_type: pa.DataType, size: int) -> None:
    assert sqlhints.estimate_type_bytes(data_type) == size


def test_row_size_estimate() -> None:
    schema = pa.schema([("time", pa.timestamp("ns")), ("level", pa.int32()), ("msg", pa.string())])
    assert sqlhints.estimate_row_bytes(schema) == 62


def test_advice_no_time_range() -> None:
    notes = sqlhints.advice("SELECT msg FROM log_entries LIMIT 5", None, has_time_range=False)
    assert len(notes) == 1
    assert notes[0].startswith("No time range")
    assert sqlhints.advice("SELECT msg FROM log_entries LIMIT 5", None, True) == []
    with_predicate = "SELECT msg FROM log_entries WHERE time >= now() - INTERVAL '1 hour' LIMIT 5"
    assert sqlhints.advice(with_predicate, None, has_time_range=False) == []


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT msg FROM log_entries WHERE \"time\" > now() - INTERVAL '1 hour'", True),
        ('SELECT msg FROM log_entries l WHERE l."time" BETWEEN $1 AND $2', True),
        ("SELECT msg FROM log_entries WHERE msg = 'time > 5'", False),
        ("SELECT msg FROM log_entries WHERE \"msg\" = 'x' -- time > 5", False),
        ('SELECT "time > 5" FROM log_entries WHERE level < 3', False),
    ],
)
def test_time_predicate_quoted_name(sql: str, expected: bool) -> None:
    assert sqlhints.has_time_predicate(sql) is expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT msg FROM log_entries WHERE now() - INTERVAL '1 hour' < time", True),
        ('SELECT msg FROM log_entries l WHERE $1 <= l."time"', True),
        ("SELECT msg FROM log_entries WHERE level < 3 AND 'x' = end", True),
        ("SELECT msg FROM log_entries WHERE x = end(1)", False),
        ("SELECT msg FROM log_entries WHERE msg = 'a < time'", False),
        ("SELECT msg FROM log_entries -- WHERE now() < time", False),
    ],
)
def test_time_predicate_column_on_right(sql: str, expected: bool) -> None:
    assert sqlhints.has_time_predicate(sql) is expected


def test_advice_order_by_without_limit() -> None:
    notes = sqlhints.advice("SELECT msg FROM log_entries ORDER BY time", None, True)
    assert notes == ["ORDER BY without LIMIT: the server sorts every row before sending one."]
    assert sqlhints.advice("SELECT msg FROM t ORDER BY time LIMIT 10", None, True) == []
    in_literal = "SELECT 'order by' AS a FROM t"
    assert sqlhints.advice(in_literal, None, True) == []


SORT_CASES = [
    # Plain sorts with nothing to bound them.
    ("SELECT time, msg FROM log_entries ORDER BY time", True),
    ("select time, msg\nfrom log_entries\norder   by time desc", True),
    ("SELECT * FROM (SELECT time, msg FROM log_entries ORDER BY time) AS t", True),
    ("SELECT * FROM (SELECT a FROM t LIMIT 5) AS t JOIN x ON t.a = x.a ORDER BY 1", True),
    ("SELECT msg FROM log_entries WHERE exe IN (SELECT exe FROM p LIMIT 5) ORDER BY time", True),
    ("SELECT level FROM t GROUP BY level UNION ALL SELECT level FROM u ORDER BY 1", True),
    ("SELECT time FROM log_entries ORDER BY time; -- LIMIT 5", True),
    # Bounded by a LIMIT of the same query, an enclosing query or the FROM subquery.
    ("SELECT time, msg FROM log_entries ORDER BY time LIMIT 100", False),
    ("SELECT * FROM (SELECT time FROM log_entries ORDER BY time) AS t LIMIT 10", False),
    ("SELECT * FROM (SELECT time FROM t ORDER BY time DESC LIMIT 100) ORDER BY time", False),
    ("SELECT time FROM log_entries ORDER BY time LIMIT (10)", False),
    ("SELECT time FROM log_entries ORDER BY time FETCH FIRST 10 ROWS ONLY", False),
    ("SELECT * FROM (SELECT time FROM t ORDER BY time LIMIT (5)) AS s ORDER BY time", False),
    # ORDER BY only inside a subquery that has LIMIT.
    ("SELECT count(*) FROM (SELECT time FROM log_entries ORDER BY time DESC LIMIT 10) AS t", False),
    ("SELECT msg FROM log_entries WHERE time > (SELECT time FROM t ORDER BY 1 LIMIT 1)", False),
    # A common table expression with LIMIT as the FROM source.
    ("WITH last AS (SELECT time FROM log_entries LIMIT 9) SELECT * FROM last ORDER BY 1", False),
    ("WITH a AS (SELECT 1), b AS (SELECT time FROM t LIMIT 5) SELECT * FROM B ORDER BY 1", False),
    ("WITH recent AS (SELECT time FROM log_entries) SELECT * FROM recent ORDER BY time", True),
    ("WITH r AS (SELECT time FROM t LIMIT 5) SELECT * FROM r JOIN u ON r.a = u.a ORDER BY 1", True),
    ("WITH r AS (SELECT time FROM t LIMIT 5) SELECT * FROM log_entries ORDER BY time", True),
    # ORDER BY in a literal, a comment, a window or an aggregate call.
    ("SELECT 'order by time' AS a FROM log_entries", False),
    ("SELECT msg FROM log_entries -- ORDER BY time", False),
    ("SELECT msg FROM log_entries /* ORDER BY\ntime */", False),
    ("SELECT time, lag(time) OVER (PARTITION BY exe ORDER BY time) FROM log_entries", False),
    ("SELECT array_agg(msg ORDER BY time) FROM log_entries", False),
    # Sorts of groups: the aggregation reads every row anyway.
    ("SELECT level, count(*) FROM log_entries GROUP BY level ORDER BY 2", False),
    ("SELECT DISTINCT exe FROM log_entries ORDER BY exe", False),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "expected"), SORT_CASES)
def test_sorts_all_rows(sql: str, expected: bool) -> None:
    assert sqlhints.sorts_all_rows(sql) is expected


def test_advice_order_by_scope() -> None:
    note = "ORDER BY without LIMIT: the server sorts every row before sending one."
    grouped = "SELECT level, count(*) FROM log_entries GROUP BY level ORDER BY 2"
    assert note not in sqlhints.advice(grouped, None, True)
    nested = "SELECT * FROM (SELECT time, msg FROM log_entries) AS t ORDER BY time"
    assert note in sqlhints.advice(nested, None, True)
    after_limited = "SELECT msg FROM t WHERE exe IN (SELECT exe FROM p LIMIT 3) ORDER BY time"
    assert note in sqlhints.advice(after_limited, None, True)


def test_advice_wide_and_large_rows() -> None:
    wide = pa.schema([(f"c{index}", pa.int8()) for index in range(51)])
    notes = sqlhints.advice("SELECT * FROM t", wide, True)
    assert notes == ["51 columns (more than 50): select only the columns you need."]
    large = pa.schema([(f"s{index}", pa.string()) for index in range(21)])
    notes = sqlhints.advice("SELECT * FROM t", large, True)
    assert len(notes) == 1
    assert "1050 B" in notes[0]


def test_completion_order_and_case() -> None:
    found = sqlhints.complete("log", ["log_entries", "log_stats", "measures"], ["level"])
    assert found == ["log_entries", "log_stats"]
    assert sqlhints.complete("prop", [], [])[:2] == ["properties_length", "properties_to_dict"]
    assert "SELECT" in sqlhints.complete("sel", [], [])
    assert sqlhints.complete("", ["a"], []) == []
    assert sqlhints.word_before("SELECT l.ms", 11) == "l.ms"


@pytest.mark.parametrize(
    ("line", "column", "word"),
    [
        ("SELECT l.ms", 11, "l.ms"),
        ("SELECT l.ms", 8, "l"),
        ("count(_tmp", 10, "_tmp"),
        ("12a.b", 5, "a.b"),
        ("x + 9.5", 7, ""),
        ("abc", 0, ""),
        ("SELECT ", 7, ""),
        ("a" * 20_000 + "-x", 20_002, "x"),
        ("a" * 20_000, 20_000, "a" * 20_000),
    ],
)
def test_word_before_cases(line: str, column: int, word: str) -> None:
    assert sqlhints.word_before(line, column) == word


def test_describe_type_short_names() -> None:
    assert sqlhints.describe_type(pa.dictionary(pa.int32(), pa.string())) == "dict<string>"
    assert sqlhints.describe_type(pa.timestamp("ns", tz="UTC")) == "ts[ns, UTC]"
    assert sqlhints.describe_type(pa.int64()) == "int64"


def test_describe_type_escapes_server_text() -> None:
    field_type = pa.struct([("\x1b]0;title\x07k", pa.int64())])
    zoned = pa.timestamp("s", tz="\x1b[2J")

    assert sqlhints.describe_type(field_type) == "struct<\u241b]0;title\u2407k: int64>"
    assert sqlhints.describe_type(zoned) == "ts[s, \u241b[2J]"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM log_entries WHERE level = 'ERROR'", True),
        ("SELECT * FROM log_entries WHERE level IN ('ERROR', 'WARN')", True),
        ("SELECT * FROM log_entries WHERE LEVEL<>'info'", True),
        ("SELECT * FROM log_entries WHERE level <= 2", False),
        ("SELECT 'level = x' FROM log_entries", False),
        ("SELECT * FROM log_entries -- level = 'ERROR'", False),
        ("SELECT * FROM log_entries WHERE msg_level = 'x'", False),
    ],
)
def test_level_compared_with_text(sql: str, expected: bool) -> None:
    assert sqlhints.compares_level_with_text(sql) is expected


def test_level_advice_lists_numbers() -> None:
    notes = sqlhints.advice("SELECT msg FROM log_entries WHERE level = 'ERROR'", None, True)
    assert notes == [
        "level holds numbers (FATAL=1, ERROR=2, WARN=3, INFO=4, DEBUG=5, TRACE=6): compare "
        "it with a number, not a name."
    ]
    assert sqlhints.advice("SELECT msg FROM log_entries WHERE level <= 2", None, True) == []
