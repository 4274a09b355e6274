"""The factory of the explorer's FlightSQL clients, configured from the user's settings.

The app requests dictionary-encoded columns as they are stored (`preserve_dictionary`, on
unless the settings turn it off). Micromegas views send `process_id`, `exe`, `target` and
more as dictionaries; decoding them costs the server time and the app memory. On the demo's
`log_entries` (`time, process_id, exe, level, target, msg`), the encoded stream was 365 MiB
instead of 822 MiB for 5.3 million rows, and arrived about 2.5 times faster
(`benchmarks/README.md`). The grid, the detail view and the exports read dictionary columns
as their values.
"""

from __future__ import annotations

from collections.abc import Callable

from mmtui.auth.app_settings import AppSettings
from mmtui.flightsql import FlightSQLClient
from mmtui.flightsql.call_headers import TokenProvider


def app_client_factory(
    uri: str, app_settings: AppSettings, auth_provider: TokenProvider | None = None
) -> Callable[[], FlightSQLClient]:
    """Return a function that makes a new client of `uri` with the app's call options."""
    first_batch_timeout = app_settings.first_batch_timeout or None

    def make_client() -> FlightSQLClient:
        return FlightSQLClient(
            uri,
            auth_provider=auth_provider,
            first_batch_timeout=first_batch_timeout,
            preserve_dictionary=app_settings.preserve_dictionary,
        )

    return make_client
