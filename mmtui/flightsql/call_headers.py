"""The gRPC metadata sent with each FlightSQL call: time range, limit, attribution, bearer.

Micromegas reads `query_range_begin`/`query_range_end` (RFC 3339, both or neither), `limit`,
`preserve_dictionary`, `authorization` and the `x-client-*` attribution headers, whose values
must be printable ASCII of at most 64 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from mmtui import __version__

MAX_ATTRIBUTION_LENGTH = 64
_PRINTABLE_ASCII_RE = re.compile(r"[\x20-\x7e]+")
#: gRPC (as bundled with pyarrow 23) aborts the whole process when a call's metadata has a
#: header name or value outside these characters, so each one is checked before the call.
_HEADER_NAME_RE = re.compile(r"[0-9a-z_.-]+")
_HEADER_VALUE_RE = re.compile(r"[\x20-\x7e]*")
_BEARER_TOKEN_RE = re.compile(r"[\x21-\x7e]+")


class TokenProvider(Protocol):
    """A source of bearer tokens, asked once per call so a refreshed token is used next call."""

    def get_token(self) -> str:
        """Return the bearer value without the `Bearer ` prefix."""
        ...


def format_rfc3339(value: datetime, name: str) -> str:
    """Format a timezone-aware datetime as RFC 3339 in UTC, rejecting naive values.

    `name` is the argument name used in the error message.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name}={value.isoformat()} is a naive datetime: pass a timezone-aware one, "
            f"for example datetime.now(timezone.utc)"
        )
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def check_attribution(name: str, value: str) -> str:
    """Return `value` when it is valid for an `x-client-*` header, else raise ValueError."""
    if len(value) > MAX_ATTRIBUTION_LENGTH or not _PRINTABLE_ASCII_RE.fullmatch(value):
        raise ValueError(
            f"{name}={value!r} is invalid: it must be 1 to {MAX_ATTRIBUTION_LENGTH} "
            f"printable ASCII characters"
        )
    return value


@dataclass(frozen=True)
class CallHeaderBuilder:
    """The headers shared by every call of one client, plus the per-call parts."""

    client_type: str
    session_id: str
    auth_provider: TokenProvider | None = None
    static_headers: Mapping[str, str] | None = field(default=None, repr=False)
    preserve_dictionary: bool = False

    def __post_init__(self) -> None:
        for name, value in (self.static_headers or {}).items():
            check_header(name, value)

    def build(
        self,
        begin: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[tuple[bytes, bytes]]:
        """Return the headers of one call; `auth_provider.get_token()` is called here.

        Raises ValueError for an invalid time range or limit. Exceptions from `get_token()`
        (for example a login that is required) propagate unchanged.
        """
        headers: list[tuple[bytes, bytes]] = []
        for key, value in (self.static_headers or {}).items():
            lowered = key.lower()
            if self.auth_provider is not None and lowered == "authorization":
                continue
            headers.append((lowered.encode(), value.encode()))

        headers.append((b"x-client-type", self.client_type.encode()))
        headers.append((b"x-client-agent", f"mmtui/{__version__}".encode()))
        headers.append((b"x-client-session", self.session_id.encode()))
        headers.extend(time_range_headers(begin, end))
        if limit is not None:
            headers.append((b"limit", str(check_limit(limit)).encode()))
        if self.preserve_dictionary:
            headers.append((b"preserve_dictionary", b"true"))
        if self.auth_provider is not None:
            token = self.auth_provider.get_token()
            if not isinstance(token, str) or not _BEARER_TOKEN_RE.fullmatch(token):
                # The token is not shown: it is a secret, even when it is malformed.
                raise ValueError(
                    "invalid bearer token from the auth provider, which must be printable "
                    "ASCII without spaces or line breaks"
                )
            headers.append((b"authorization", f"Bearer {token}".encode()))
        return headers


def check_header(name: str, value: str) -> None:
    """Raise ValueError unless gRPC accepts `name` (lowercased) and `value` as call metadata.

    The message names the header but never shows its value, which may be a secret.
    """
    if not _HEADER_NAME_RE.fullmatch(name.lower()):
        raise ValueError(
            f"invalid header name {name!r}: use only ASCII letters, digits, '-', '_' and '.'"
        )
    if not _HEADER_VALUE_RE.fullmatch(value):
        raise ValueError(
            f"invalid value of header {name!r}: it must be printable ASCII without tabs or line "
            "breaks (the value is not shown)"
        )


def time_range_headers(begin: datetime | None, end: datetime | None) -> list[tuple[bytes, bytes]]:
    """Return the `query_range_begin`/`query_range_end` headers for a time range.

    Raises ValueError when only one bound is given, a bound is naive, or end is before begin.
    """
    if begin is None and end is None:
        return []
    if begin is None or end is None:
        raise ValueError(
            "begin and end must be given together: pass both bounds of the time range, "
            "or neither to query all time"
        )
    begin_text = format_rfc3339(begin, "begin")
    end_text = format_rfc3339(end, "end")
    if end < begin:
        raise ValueError(f"end={end_text} is before begin={begin_text}")
    return [
        (b"query_range_begin", begin_text.encode()),
        (b"query_range_end", end_text.encode()),
    ]


def check_limit(limit: int) -> int:
    """Return `limit` when it is a non-negative int, else raise ValueError."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit={limit!r} is invalid: it must be a non-negative integer")
    return limit
