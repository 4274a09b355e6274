"""The `mmtui` command: the explorer, and the `demo-server`, `login` and `logout` subcommands.

Logging goes to a file (the screen belongs to the app). When that file cannot be written, one
warning line goes to standard error and mmtui runs without a log file. While the app runs, file
descriptor 2 goes to the log file too, and gRPC's own logging is limited to errors
(`GRPC_VERBOSITY=ERROR` unless the environment sets it), so native libraries cannot write over
the screen. When the app dies of an unhandled error, Textual restores the terminal and this
module writes a redacted crash report next to the log and prints its path.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmtui import __version__, paths
from mmtui.auth.settings import AUTH_MODES

if TYPE_CHECKING:
    from mmtui.timerange import Instant

logger = logging.getLogger("mmtui")

SUBCOMMANDS = ("demo-server", "login", "logout")


def build_parser() -> argparse.ArgumentParser:
    log_path = paths.log_file()
    parser = argparse.ArgumentParser(
        prog="mmtui",
        description="Explore Micromegas telemetry from the terminal over Arrow FlightSQL.",
        epilog=(
            "subcommands:\n"
            "  mmtui demo-server [--host H] [--port P] [--scale N] [--seed S]\n"
            "                        serve generated telemetry (see mmtui demo-server --help)\n"
            "  mmtui login [--profile P] [--device|--browser]\n"
            "                        log in and store the token for a profile\n"
            "  mmtui logout [--profile P]\n"
            "                        delete the stored token and revoke it\n"
            "\n"
            "time values: 1h, 90m, 7d (look back from now), now-1h, RFC 3339, or all.\n"
            f"log file: {log_path}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--profile",
        type=_non_empty,
        help="profile of ~/.micromegas/config.json (else MICROMEGAS_PROFILE)",
    )
    parser.add_argument(
        "--uri",
        type=_non_empty,
        help="server URI, e.g. grpc://localhost:50051 (else MICROMEGAS_ANALYTICS_URI)",
    )
    parser.add_argument(
        "--auth-mode",
        choices=AUTH_MODES,
        help="how to authenticate (else MMTUI_AUTH_MODE, else from the settings found)",
    )
    parser.add_argument(
        "--begin", metavar="T", help="start of the time range: 1h, now-2h or RFC 3339"
    )
    parser.add_argument("--end", metavar="T", help="end of the time range (default: now)")
    parser.add_argument(
        "--demo", action="store_true", help="start the embedded demo server and connect to it"
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the version and the log file path, then exit",
    )
    return parser


def initial_range_text(begin: str | None, end: str | None) -> str | None:
    """Check --begin and --end and combine them into the time range syntax (`A..B`).

    Returns None when both are unset. Raises ValueError (TimeRangeError included) with a
    message that names the options as typed, because the combined text is not what the user
    typed.
    """
    from mmtui.timerange import RangeOrderError, TimeRangeError, parse_time_range

    # The prompt reads an empty range as "all", and the app reads an empty initial range as
    # its default, so an empty option (`--begin "$UNSET"`) would pick a range by accident.
    if begin is not None and not begin.strip():
        raise ValueError(
            f"--begin {_typed(begin)} is empty: give a time such as 1h, now-2h or "
            "2026-12-04T10:00:00Z, or all for no time range"
        )
    if end is not None and not end.strip():
        raise ValueError(
            f"--end {_typed(end)} is empty: give a time such as now-1h, or leave --end out "
            "to end the range now"
        )
    if begin is None:
        if end is None:
            return None
        raise ValueError(f"--end {_typed(end)} needs --begin, the start of the range")
    if end is None:
        try:
            parse_time_range(begin)
        except RangeOrderError as error:
            if ".." in begin:
                raise TimeRangeError(f"--begin {_typed(begin)}: {error}") from None
            raise TimeRangeError(
                f"--begin {_typed(begin)} is not before now, where the range ends without --end"
            ) from None
        except TimeRangeError as error:
            raise TimeRangeError(f"--begin {_typed(begin)}: {error}") from None
        return begin

    if begin.strip().lower() == "all":
        raise ValueError("--begin all means no time range, so it takes no --end")
    if ".." in begin:
        raise ValueError(f"--begin {_typed(begin)} is a whole range, so it takes no --end")
    if end.strip().lower() == "all":
        raise ValueError("--end all is invalid: for no time range, give --begin all alone")
    if ".." in end:
        raise ValueError(
            f"--end {_typed(end)} is invalid: give one time, or the whole range A..B to --begin"
        )

    range_text = f"{begin}..{end}"
    try:
        parse_time_range(range_text)
    except RangeOrderError as error:
        message = f"--begin {_typed(begin)} is not before --end {_typed(end)}"
        if _counts_back_further(error.end, error.begin):
            message += (
                ". Both count back from now, so swap them: "
                f"--begin {_typed(end)} --end {_typed(begin)}"
            )
        raise TimeRangeError(message) from None
    except TimeRangeError as error:
        # The combined text is not what the user typed: name the option whose value fails.
        option, value = ("--end", end) if _parses(begin) else ("--begin", begin)
        raise TimeRangeError(f"{option} {_typed(value)}: {error}") from None
    return range_text


def _parses(text: str) -> bool:
    """Tell whether `text` alone is a valid time range (a time, a duration or a range)."""
    from mmtui.timerange import TimeRangeError, parse_time_range

    try:
        parse_time_range(text)
    except TimeRangeError:
        return False
    return True


def _non_empty(value: str) -> str:
    """Reject an empty or blank option value. An unset variable in `--uri "$URI"` would
    otherwise fall back to the environment, the profile or the default without a word."""
    if not value.strip():
        raise argparse.ArgumentTypeError("empty value: give one, or leave the option out")
    return value


def _typed(value: str) -> str:
    """Quote an option's value as a shell would need it, so that the message shows it as typed."""
    return shlex.quote(value)


def _counts_back_further(first: Instant, second: Instant) -> bool:
    """Tell whether both instants count back from now and `first` lies further back."""
    if first.at is not None or second.at is not None:
        return False
    return bool((first.offset or timedelta(0)) < (second.offset or timedelta(0)))


def main(argv: Sequence[str] | None = None) -> int:
    # gRPC reads this once, when pyarrow.flight loads it, so it is set before any import of
    # mmtui.flightsql. Its INFO lines (such as "Handshake failed") would otherwise go to fd 2.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    from mmtui.logging_setup import drop_grpc_trace

    grpc_trace_notice = drop_grpc_trace()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in SUBCOMMANDS:
        if grpc_trace_notice is not None:
            print(f"mmtui: {grpc_trace_notice}", file=sys.stderr)
        return _run_subcommand(arguments[0], arguments[1:])

    args = build_parser().parse_args(arguments)
    if args.version:
        print(f"mmtui {__version__}")
        print(_log_file_line())
        if grpc_trace_notice is not None:
            # `--version` is where a user checks what mmtui will do with the environment.
            print(f"mmtui: {grpc_trace_notice}", file=sys.stderr)
        return 0

    from mmtui.timerange import TimeRangeError

    log_path = _start_logging(subcommand=False)
    logger.info("mmtui %s starting (pid %d)", __version__, os.getpid())
    startup_warnings = [] if grpc_trace_notice is None else [grpc_trace_notice]
    for warning in startup_warnings:
        logger.warning("%s", warning)
    if os.environ.get("GRPC_TRACE"):
        logger.warning(
            "GRPC_TRACE=%r is on, by request: its traces may contain the token",
            os.environ["GRPC_TRACE"],
        )
    try:
        range_text = initial_range_text(args.begin, args.end)
    except (ValueError, TimeRangeError) as error:
        # Each message names the option, so it needs no prefix of its own.
        print(f"mmtui: {error}", file=sys.stderr)
        return 2
    return _run_app(args, range_text, log_path, startup_warnings)


def _log_file_line() -> str:
    """Return the `--version` line with the log file's path, or the reason logging is off."""
    from mmtui.logging_setup import log_file_problem

    path = paths.log_file()
    problem = log_file_problem(path)
    if problem is None:
        return f"log file: {path}"
    return f"log file: off (cannot write {path}: {problem})"


def _start_logging(*, subcommand: bool) -> Path | None:
    """Send the log to the log file and return its path, or warn once and return None.

    Without a log file, the subcommands log warnings to standard error, and the app logs
    nothing, because the screen belongs to it.
    """
    from mmtui.logging_setup import (
        configure_logging,
        configure_no_logging,
        configure_stderr_logging,
        describe_os_error,
    )

    path = paths.log_file()
    try:
        return configure_logging(path)
    except OSError as error:
        print(
            f"mmtui: cannot write the log file {path}: {describe_os_error(error, path)}. "
            "Running without a log file.",
            file=sys.stderr,
        )
    if subcommand:
        configure_stderr_logging()
    else:
        configure_no_logging()
    return None


def _run_subcommand(name: str, argv: list[str]) -> int:
    _start_logging(subcommand=True)
    if name == "demo-server":
        from mmtui.demo.cli import main as demo_main

        return demo_main(argv)
    from mmtui.auth.cli import login_main, logout_main

    return login_main(argv) if name == "login" else logout_main(argv)


def _run_app(
    args: argparse.Namespace,
    range_text: str | None,
    log_path: Path | None,
    startup_warnings: list[str],
) -> int:
    demo = None
    if args.demo:
        # Started first, so that the server's imports and data run beside the app's start.
        from mmtui.demo.startup import DemoStartup

        demo = DemoStartup(host="127.0.0.1", port=0)
    try:
        return _run_explorer(args, range_text, log_path, demo, startup_warnings)
    finally:
        if demo is not None:
            demo.stop()


def _run_explorer(
    args: argparse.Namespace,
    range_text: str | None,
    log_path: Path | None,
    demo: Any,
    startup_warnings: list[str],
) -> int:
    from mmtui.auth import (
        AuthError,
        ConnectionSettings,
        SettingsError,
        load_app_settings,
        make_token_provider,
        resolve_settings,
    )
    from mmtui.client_factory import app_client_factory
    from mmtui.logging_setup import stderr_to_log
    from mmtui.ui.app import MmtuiApp

    try:
        app_settings = load_app_settings()
    except SettingsError as error:
        print(f"mmtui: {error}", file=sys.stderr)
        return 2

    provider = None
    client_factory: Callable[[], Any]
    if demo is not None:
        # The URI is known once the server serves, and the app's connection worker waits
        # for that before it calls this factory.
        settings: Any = ConnectionSettings(uri="", auth_mode="none")

        def client_factory() -> Any:
            # The server logs its URI once it serves.
            return app_client_factory(demo.result().uri, app_settings)()

    else:
        try:
            settings = resolve_settings(
                profile=args.profile, uri=args.uri, auth_mode=args.auth_mode
            )
            provider = make_token_provider(settings)
        except AuthError as error:
            print(f"mmtui: {error}", file=sys.stderr)
            return 2
        logger.info(
            "connecting to %s (profile %s, auth %s)",
            settings.uri,
            settings.profile,
            settings.auth_mode,
        )
        for warning in settings.warnings:
            logger.warning("%s", warning)
        startup_warnings = [*startup_warnings, *settings.warnings]
        client_factory = app_client_factory(settings.uri, app_settings, provider)

    with stderr_to_log(log_path):
        app = MmtuiApp(
            client_factory,
            settings,
            app_settings,
            demo,
            token_provider=provider,
            time_range=range_text,
            startup_warnings=startup_warnings,
        )
        result = app.run()
    if app.crash_error is not None:
        _report_crash(app.crash_error, app, settings, log_path)
        return 1
    logger.info("mmtui exits")
    return result if isinstance(result, int) else (app.return_code or 0)


def _report_crash(error: BaseException, app: Any, settings: Any, log_path: Path | None) -> None:
    """Write a crash report and print its path, or print the error when it cannot be written."""
    from mmtui.logging_setup import describe_os_error, redact, write_crash_report

    context = {
        "uri": str(app.settings.uri),
        "profile": str(settings.profile),
        "auth_mode": str(settings.auth_mode),
        "log_file": str(log_path) if log_path is not None else "none",
    }
    try:
        report = write_crash_report(error, context)
    except OSError as write_error:
        folder = paths.log_dir()
        summary = redact(f"{type(error).__name__}: {error}").split("\n", 1)[0]
        print(
            f"mmtui crashed ({summary}). The crash report cannot be written to {folder}: "
            f"{describe_os_error(write_error, folder)}",
            file=sys.stderr,
        )
        return
    print(f"mmtui crashed; a crash report was written to {report}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
