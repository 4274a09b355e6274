"""FlightSQL client core: streamed queries with cancel, prepared statements, tables, typed errors.

Built on `pyarrow.flight`; never imports Textual and never prints.
"""

from mmtui.flightsql.call_headers import TokenProvider
from mmtui.flightsql.client import FlightSQLClient, PreparedStatement, TableInfo
from mmtui.flightsql.errors import ConnectionFailed, DeadlineExceeded, QueryCancelled, QueryError
from mmtui.flightsql.stream import QueryStream

__all__ = [
    "ConnectionFailed",
    "DeadlineExceeded",
    "FlightSQLClient",
    "PreparedStatement",
    "QueryCancelled",
    "QueryError",
    "QueryStream",
    "TableInfo",
    "TokenProvider",
]
