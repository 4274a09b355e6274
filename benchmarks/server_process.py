"""Run the demo server in a child process, so its data never counts in the measured RSS."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from types import TracebackType

import pyarrow.flight as flight

from mmtui.flightsql.messages import statement_ticket

READY_TIMEOUT_S = 900.0
"""Generating tens of millions of rows takes minutes on a 2-core machine."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """`mmtui demo-server` on a free loopback port, stopped on exit."""

    def __init__(self, scale: float, seed: int = 42) -> None:
        self.port = free_port()
        self.uri = f"grpc://127.0.0.1:{self.port}"
        self.scale = scale
        self.seed = seed
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        command = [
            sys.executable,
            "-c",
            "import sys; from mmtui.demo.cli import main; sys.exit(main(sys.argv[1:]))",
            "--port",
            str(self.port),
            "--scale",
            str(self.scale),
            "--seed",
            str(self.seed),
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_until_serving()
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        client = flight.FlightClient(self.uri)
        try:
            while True:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"demo server exited with status {self._process.returncode}")
                try:
                    client.do_get(statement_ticket("SELECT 1")).read_all()
                    return
                except flight.FlightUnavailableError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        finally:
            client.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
