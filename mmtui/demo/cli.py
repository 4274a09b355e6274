"""`mmtui demo-server`: run the demo FlightSQL server in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sys
import threading
from types import FrameType

import pyarrow as pa

from mmtui.demo.server import start_demo_server

logger = logging.getLogger(__name__)

MAX_PORT = 65535


def parse_port(text: str) -> int:
    """Parse `--port` as a TCP port number, 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid port {text!r}: use a number from 0 to {MAX_PORT}"
        ) from None
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"invalid port {port}: use a number from 0 to {MAX_PORT} (0 picks a free one)"
        )
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmtui demo-server",
        description=(
            "Serve generated Micromegas telemetry over FlightSQL (SQL by Apache DataFusion). "
            "Point mmtui or the micromegas client at grpc://HOST:PORT."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=parse_port, default=50051, help="TCP port, 0 for a free one (default: 50051)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiplies the data size; 1 gives about 210,000 log rows (default: 1)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="seed of the generated telemetry (default: 42)"
    )
    parser.add_argument(
        "--issuer",
        help="OIDC issuer URL; with --audience, every call needs a bearer JWT it signed",
    )
    parser.add_argument("--audience", help="audience ('aud' claim) the bearer JWT must carry")
    return parser


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    """Run the server until interrupted; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error(f"--scale must be positive, got {args.scale}")
    if (args.issuer is None) != (args.audience is None):
        parser.error("--issuer and --audience must be given together")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        handle = start_demo_server(
            host=args.host,
            port=args.port,
            scale=args.scale,
            seed=args.seed,
            issuer=args.issuer,
            audience=args.audience,
        )
    except (OSError, pa.ArrowException) as error:
        logger.error("cannot start the demo server on %s:%s: %s", args.host, args.port, error)
        # The log may go to a file, so the reason is also printed. pyarrow.flight reports a
        # port in use as "Server did not start properly", so a test bind finds the reason.
        reason = describe_bind_failure(args.host, args.port) or str(error)
        print(
            f"mmtui demo-server: cannot serve on {args.host}:{args.port}: {reason}",
            file=sys.stderr,
        )
        return 1
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        logger.info("serving on %s; press Ctrl+C to stop", handle.uri)
        # The log may go to a file (under `mmtui demo-server`), so the address is also printed.
        # It is printed inside `try` because a client may send SIGINT as soon as it reads it.
        print(f"mmtui demo server: serving on {handle.uri}; press Ctrl+C to stop", flush=True)
        while not handle.join(timeout=0.5):
            pass
    except KeyboardInterrupt:
        logger.info("interrupted, shutting down")
    finally:
        handle.stop()
    return 0


def describe_bind_failure(host: str, port: int) -> str | None:
    """Bind a test socket to `host:port` and return why that fails, or None when it works."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        return f"cannot resolve {host!r}: {error}"
    family, kind, protocol, _, address = addresses[0]
    with socket.socket(family, kind, protocol) as probe:
        # With SO_REUSEADDR, a port kept only by closed connections (TIME_WAIT) binds.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            reason = error.strerror or str(error)
            if error.errno == errno.EADDRINUSE:
                return (
                    f"{reason}. Stop the program that listens on port {port}, or pick "
                    "another port with --port (0 picks a free one)"
                )
            return reason
    return None
