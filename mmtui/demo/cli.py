"""`mmtui demo-server`: run the demo FlightSQL server in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

import pyarrow as pa

from mmtui.demo.server import start_demo_server

logger = logging.getLogger(__name__)


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
        "--port", type=int, default=50051, help="TCP port, 0 for a free one (default: 50051)"
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
