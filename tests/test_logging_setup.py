"""The log file's line format: UTC times in RFC 3339 form with a `Z`, and escaped controls."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import mmtui
from mmtui.demo import DemoServerHandle
from mmtui.logging_setup import RedactingFormatter, drop_grpc_trace, redact
from tests.fresh_interpreter import run_python

CREATED = 1_796_400_000.25
"""2026-12-04T16:00:00.250Z as a Unix time."""


def make_record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("mmtui.test", logging.INFO, __file__, 1, message, None, None)
    record.created = CREATED
    return record


def test_time_is_utc_with_z() -> None:
    formatter = RedactingFormatter("%(asctime)s %(message)s")

    line = formatter.format(make_record("hello"))

    assert line == "2026-12-04T16:00:00.250Z hello"


def test_redact_keeps_bearer_token_prose() -> None:
    rejection = "invalid bearer token (invalid_claim: invalid claim 'aud')"
    assert redact(rejection) == rejection
    assert "tok3n" not in redact("authorization: Bearer tok3n-abc.def")
    assert redact("Bearer token123456") == "Bearer <redacted>"
    assert redact("bearer  abcdef") == "bearer  <redacted>"


def test_no_message_puts_a_value_after_token_colon() -> None:
    # The redaction masks whatever follows "token:", "secret:" or "key:", so a message such as
    # "needs a token: %s" would lose its reason in the log.
    pattern = re.compile(r"(?i)(token|secret|key|password|authorization):\s*(%[sr]|\{)")
    package = Path(mmtui.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith(("#", "`"))
    ]
    assert offenders == []


def test_redact_masks_bearer_starting_with_token() -> None:
    for key in ("token-9f8e7d6c5b4a", "token.abc.def", "token_ab12", "token/xyz=="):
        assert key not in redact(f"sent Bearer {key}"), key
        assert key not in redact(f"authorization: Bearer {key}"), key
    assert redact("invalid bearer token (expired)") == "invalid bearer token (expired)"


def test_controls_in_message_escaped() -> None:
    formatter = RedactingFormatter("%(levelname)s %(message)s")
    # A server error with a title-setting OSC sequence and a forged second log line.
    message = "failed: \x1b]2;owned\x07\n2026-12-04T16:00:00.000Z ERROR mmtui forged\r\tend"

    line = formatter.format(make_record(message))

    assert line == (
        "INFO failed: \\x1b]2;owned\\x07\\n2026-12-04T16:00:00.000Z ERROR mmtui forged\\r\tend"
    )
    assert "\n" not in line


def test_controls_in_traceback_escaped() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError("bad \x1b[2J value\n2026-12-04T16:00:00.000Z INFO mmtui forged")
    except ValueError:
        record = logging.LogRecord(
            "mmtui.test", logging.ERROR, __file__, 1, "caught", None, sys.exc_info()
        )

    text = formatter.format(record)

    assert "ValueError: bad \\x1b[2J value" in text
    assert "\x1b" not in text
    assert text.count("\n") >= 3, "a traceback keeps its lines"
    record_line, *traceback_lines = text.split("\n")
    assert record_line == "caught"
    assert all(line.startswith("  ") for line in traceback_lines)
    assert "  2026-12-04T16:00:00.000Z INFO mmtui forged" in traceback_lines


TRACED_CALL = """
import sys
from mmtui.logging_setup import drop_grpc_trace
if sys.argv[1] == "drop":
    drop_grpc_trace()
import pyarrow.flight as flight
options = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer trace-canary-7431")])
try:
    list(flight.FlightClient(sys.argv[2]).list_actions(options))
except flight.FlightError:
    pass
"""


def traced_call_stderr(mode: str, uri: str, **env: str) -> str:
    """Make one Flight call with a bearer header under `GRPC_TRACE=http`; return its stderr."""
    environment = {**os.environ, "GRPC_TRACE": "http", "GRPC_VERBOSITY": "DEBUG", **env}
    completed = subprocess.run(
        [sys.executable, "-c", TRACED_CALL, mode, uri],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stderr


def test_grpc_trace_dropped_keeps_token_out(demo_server: DemoServerHandle) -> None:
    # Without the guard, gRPC's http tracer writes the header, token and all.
    assert "trace-canary-7431" in traced_call_stderr("keep", demo_server.uri)
    assert "trace-canary-7431" not in traced_call_stderr("drop", demo_server.uri)
    opted_in = traced_call_stderr("drop", demo_server.uri, MMTUI_ALLOW_GRPC_TRACE="1")
    assert "trace-canary-7431" in opted_in


def test_drop_grpc_trace_notice() -> None:
    environ = {"GRPC_TRACE": "http,call_error", "HOME": "/home/x"}
    notice = drop_grpc_trace(environ)
    assert environ == {"HOME": "/home/x"}
    assert notice == (
        "Ignored GRPC_TRACE='http,call_error': gRPC traces can contain the access token. "
        "Set MMTUI_ALLOW_GRPC_TRACE=1 to keep them."
    )
    assert drop_grpc_trace({}) is None
    opted_in = {"GRPC_TRACE": "http", "MMTUI_ALLOW_GRPC_TRACE": "1"}
    assert drop_grpc_trace(opted_in) is None
    assert opted_in["GRPC_TRACE"] == "http"


def test_main_drops_grpc_trace_before_flight_loads() -> None:
    script = (
        "import os, sys\n"
        "os.environ['GRPC_TRACE'] = 'http'\n"
        "from mmtui.__main__ import main\n"
        "main(['--version'])\n"
        "print(os.environ.get('GRPC_TRACE'), 'pyarrow._flight' in sys.modules)\n"
    )
    assert run_python(script) == "None False"


def test_drop_grpc_trace_notice_escapes_controls() -> None:
    notice = drop_grpc_trace({"GRPC_TRACE": "http\x1b]0;TT\x07"})
    assert notice is not None
    assert "\x1b" not in notice
    assert "\x07" not in notice
    assert notice.startswith("Ignored GRPC_TRACE='http\\x1b]0;TT\\x07': ")


def test_version_names_the_ignored_grpc_trace() -> None:
    environment = {**os.environ, "GRPC_TRACE": "http"}
    environment.pop("MMTUI_ALLOW_GRPC_TRACE", None)
    completed = subprocess.run(
        [sys.executable, "-m", "mmtui", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("mmtui ")
    assert completed.stderr == (
        "mmtui: Ignored GRPC_TRACE='http': gRPC traces can contain the access token. "
        "Set MMTUI_ALLOW_GRPC_TRACE=1 to keep them.\n"
    )
