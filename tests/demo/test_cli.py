"""`mmtui demo-server`: argument checks, serving, and a clean stop on SIGINT."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.flight as flight
import pytest

from mmtui.demo.cli import main
from mmtui.flightsql import ConnectionFailed, FlightSQLClient, QueryError, QueryStream
from tests.demo.flight_calls import run_query

SERVE_COMMAND = "import sys; from mmtui.demo.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize(
    "argv",
    [
        ["--scale", "0"],
        ["--port", "many"],
        ["--port", "70000"],
        ["--port", "-1"],
        ["--issuer", "http://127.0.0.1:1"],
    ],
    ids=[
        "scale-zero",
        "port-not-a-number",
        "port-over-65535",
        "port-negative",
        "issuer-without-audience",
    ],
)
def test_cli_rejects_bad_arguments(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert "usage: mmtui demo-server" in capsys.readouterr().err


def test_cli_reports_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        status = main(["--port", str(port), "--scale", "0.05"])
    error = capsys.readouterr().err
    assert status == 1
    assert f"mmtui demo-server: cannot serve on 127.0.0.1:{port}:" in error
    assert "Address already in use" in error
    assert "--port" in error


def start_server_process() -> subprocess.Popen[str]:
    """Start `mmtui demo-server` on a free port of 127.0.0.1, logging to the piped stderr."""
    return subprocess.Popen(
        [sys.executable, "-c", SERVE_COMMAND, "--port", "0", "--scale", "0.05", "--seed", "9"],
        stderr=subprocess.PIPE,
        text=True,
    )


def read_server_uri(process: subprocess.Popen[str]) -> str:
    """Read the server's log on stderr until it names the address it serves on."""
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line, "the server exited before serving"
        found = re.search(r"serving on (grpc://127\.0\.0\.1:\d+)", line)
        if found:
            return found.group(1)
    raise AssertionError("the server did not log its address within 30 s")


def test_cli_serves_until_sigint() -> None:
    process = start_server_process()
    try:
        uri = read_server_uri(process)
        client = flight.connect(uri)
        table = run_query(client, "SELECT count(DISTINCT computer) AS hosts FROM processes")
        client.close()
        assert table.column("hosts")[0].as_py() >= 8

        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=20)
        assert process.returncode == 0
        assert "stopped" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_sigint_ends_open_stream() -> None:
    """SIGINT stops the server while a client still reads an endless result stream."""
    process = start_server_process()
    client = None
    stream = None
    try:
        uri = read_server_uri(process)
        client = FlightSQLClient(uri)
        stream = client.query_stream("SELECT value FROM range(1000000000000)")
        assert next(stream).num_rows > 0
        errors: list[QueryError] = []

        def read_to_end(open_stream: QueryStream) -> None:
            try:
                for _ in open_stream:
                    pass
            except QueryError as error:
                errors.append(error)

        reader = threading.Thread(target=read_to_end, args=(stream,), daemon=True)
        reader.start()

        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
        reader.join(timeout=60)

        assert process.returncode == 0
        assert "stopped by server shutdown" in rest
        assert not reader.is_alive()
        assert len(errors) == 1
        assert isinstance(errors[0], ConnectionFailed)
        assert errors[0].code == "UNAVAILABLE"
        assert "the server is shutting down" in errors[0].message
    finally:
        if stream is not None:
            stream.cancel()
        if client is not None:
            client.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_port_in_use(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["--port", str(port), "--scale", "0.01"])
    assert status == 1
    assert f"cannot start the demo server on 127.0.0.1:{port}" in caplog.text


def test_cli_prints_address_on_stdout(tmp_path: Path) -> None:
    """Through `mmtui demo-server` the log goes to a file, so the address must be printed."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "demo-server", "--port", "0", "--scale", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"serving on (grpc://127\.0\.0\.1:(\d+))", line)
        assert found is not None, f"unexpected first line: {line!r}"
        assert int(found.group(2)) > 0

        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
