"""Query results without any UI: the result store, value formatting and safe display text.

Nothing here imports Textual, so the store and the formatter can be used and tested alone.
"""

from mmtui.results.detail import DEFAULT_PAGE_CHARS, detail_pages, detail_text
from mmtui.results.formatting import (
    LEVEL_NAMES,
    LOCAL_TZ,
    format_array,
    full_texts,
    is_jsonb_type,
    is_level_field,
    level_detail_text,
    level_text,
    resolve_display_tz,
)
from mmtui.results.jsonb import JsonbError, decode_jsonb, encode_jsonb_object
from mmtui.results.store import (
    DEFAULT_MEMORY_BUDGET,
    DEFAULT_SPILL_LIMIT,
    ResultStore,
    SpillError,
    SpillLimitError,
    SpillWriteError,
    StoreClosedError,
)
from mmtui.results.text import (
    ELLIPSIS,
    NULL_TEXT,
    cell_width,
    safe_lines,
    safe_text,
    truncate_cells,
)
from mmtui.results.widths import MAX_COLUMN_CELLS, MAX_HEADER_CELLS

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_PAGE_CHARS",
    "DEFAULT_SPILL_LIMIT",
    "ELLIPSIS",
    "LEVEL_NAMES",
    "LOCAL_TZ",
    "MAX_COLUMN_CELLS",
    "MAX_HEADER_CELLS",
    "NULL_TEXT",
    "JsonbError",
    "ResultStore",
    "SpillError",
    "SpillLimitError",
    "SpillWriteError",
    "StoreClosedError",
    "cell_width",
    "decode_jsonb",
    "detail_pages",
    "detail_text",
    "encode_jsonb_object",
    "format_array",
    "full_texts",
    "is_jsonb_type",
    "is_level_field",
    "level_detail_text",
    "level_text",
    "resolve_display_tz",
    "safe_lines",
    "safe_text",
    "truncate_cells",
]
