"""The `mmtui` command line, the log location, and the redacted crash report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmtui.__main__ import initial_range_text
from mmtui.logging_setup import redact, write_crash_report
from mmtui.timerange import parse_time_range
from tests.ui.test_app_support import SIZE, make_app

FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"


def _run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m mmtui` with `args`, in this process's environment without its
    MICROMEGAS_ and MMTUI_ variables, plus `env`."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MICROMEGAS_", "MMTUI_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "mmtui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**inherited, "XDG_STATE_HOME": str(tmp_path / "state"), **(env or {})},
    )


def test_version_prints_log_path(tmp_path: Path) -> None:
    completed = _run_cli(tmp_path, "--version")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "mmtui 0.1.0"
    assert lines[1] == f"log file: {tmp_path / 'state' / 'mmtui' / 'log' / 'mmtui.log'}"


def test_help_mentions_log_and_subcommands(tmp_path: Path) -> None:
    completed = _run_cli(tmp_path, "--help")
    assert completed.returncode == 0
    text = completed.stdout
    for option in ("--profile", "--uri", "--auth-mode", "--begin", "--end", "--demo", "--version"):
        assert option in text
    assert "mmtui demo-server" in text
    assert "mmtui login" in text
    assert f"log file: {tmp_path / 'state' / 'mmtui' / 'log' / 'mmtui.log'}" in text


def test_invalid_begin_rejected(tmp_path: Path) -> None:
    completed = _run_cli(tmp_path, "--uri", "grpc://127.0.0.1:1", "--begin", "yesterday")
    assert completed.returncode == 2
    assert "mmtui: --begin yesterday: invalid time range 'yesterday'" in completed.stderr
    assert completed.stdout == ""


@pytest.mark.parametrize("option", ["--uri", "--profile"])
def test_empty_connection_option_rejected(tmp_path: Path, option: str) -> None:
    completed = _run_cli(tmp_path, option, " ")
    assert completed.returncode == 2
    assert f"argument {option}: empty value: give one, or leave the option out" in (
        completed.stderr
    )
    assert completed.stdout == ""


def test_invalid_api_key_rejected(tmp_path: Path) -> None:
    env = {"MMTUI_API_KEY": "two words", "HOME": str(tmp_path / "home")}
    completed = _run_cli(tmp_path, "--uri", "grpc://127.0.0.1:1", env=env)

    assert completed.returncode == 2
    assert completed.stderr == (
        "mmtui: invalid API key: expected printable ASCII without whitespace "
        "(from env MMTUI_API_KEY)\n"
    )
    assert completed.stdout == ""


def test_auth_mode_option_applies(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    completed = _run_cli(tmp_path, "--uri", "grpc://127.0.0.1:1", "--auth-mode", "api-key", env=env)

    assert completed.returncode == 2
    assert "auth mode 'api-key' (from command line) needs the api key" in completed.stderr


def test_redact_masks_secrets() -> None:
    text = (
        f"authorization: Bearer {FAKE_JWT}\n"
        f'{{"id_token": "{FAKE_JWT}", "refresh_token": "r-123", "client_secret": "s3cr3t"}}'
    )
    cleaned = redact(text)
    for secret in (FAKE_JWT, "r-123", "s3cr3t"):
        assert secret not in cleaned
    assert "refresh_token" in cleaned


async def test_crash_report_redacted(tmp_path: Path) -> None:
    app = make_app("grpc://127.0.0.1:1", tmp_path)

    def explode() -> None:
        raise RuntimeError(f"boom with token {FAKE_JWT}")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(explode)
            await pilot.pause()
    assert isinstance(app.crash_error, RuntimeError)

    report = write_crash_report(app.crash_error, {"uri": "grpc://127.0.0.1:1"}, tmp_path)
    assert report.parent == tmp_path
    content = report.read_text()
    assert "RuntimeError: boom with token <redacted-jwt>" in content
    assert "uri: grpc://127.0.0.1:1" in content
    assert FAKE_JWT not in content
    assert report.stat().st_mode & 0o777 == 0o600


async def test_crash_traceback_without_locals(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Standard error is the log file while the app runs, and the logger redacts.
    app = make_app("grpc://127.0.0.1:1", tmp_path)

    def explode() -> None:
        cached = {"refresh_token": "r-secret-in-a-local"}
        raise RuntimeError(f"boom after reading {len(cached)} token")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(explode)
            await pilot.pause()

    _out, err = capfd.readouterr()
    assert "r-secret-in-a-local" not in err
    crashes = [r for r in caplog.records if r.getMessage() == "unhandled error, the app exits"]
    assert len(crashes) == 1
    assert crashes[0].exc_info is not None
    assert isinstance(crashes[0].exc_info[1], RuntimeError)


def test_log_files_private(tmp_path: Path) -> None:
    log_dir = tmp_path / "log"
    log_dir.mkdir(mode=0o755)
    log_file = log_dir / "mmtui.log"
    log_file.write_text("from an older version\n", encoding="utf-8")
    log_file.chmod(0o644)
    completed = _run_cli_code(
        tmp_path,
        "from pathlib import Path; import logging, sys; "
        "from mmtui.logging_setup import configure_logging; "
        "configure_logging(Path(sys.argv[1])); logging.getLogger('t').warning('hello')",
        str(log_file),
    )
    assert completed.returncode == 0, completed.stderr
    assert log_dir.stat().st_mode & 0o777 == 0o700
    assert log_file.stat().st_mode & 0o777 == 0o600
    assert "hello" in log_file.read_text(encoding="utf-8")


def test_redact_masks_uri_password() -> None:
    cleaned = redact("connecting to grpc://alice:s3cretpw@127.0.0.1:47011 now")
    assert "s3cretpw" not in cleaned
    assert "grpc://alice:<redacted>@127.0.0.1:47011" in cleaned


def test_begin_out_of_range_rejected(tmp_path: Path) -> None:
    completed = _run_cli(
        tmp_path, "--uri", "grpc://127.0.0.1:1", "--begin", "0001-01-01T00:00:00+14:00"
    )
    assert completed.returncode == 2
    assert "between years 1 and 9999" in completed.stderr
    assert "Traceback" not in completed.stderr


def _run_cli_code(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter, as the command would, with the state under tmp_path."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_begin_all_with_end_rejected(tmp_path: Path) -> None:
    completed = _run_cli(tmp_path, "--uri", "grpc://127.0.0.1:1", "--begin", "all", "--end", "now")
    assert completed.returncode == 2
    assert "--begin all means no time range, so it takes no --end" in completed.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--demo", "--begin", "1h", "--end", "2h"],
            "--begin 1h is not before --end 2h. Both count back from now, so swap them: "
            "--begin 2h --end 1h",
        ),
        (
            ["--begin", "now - 1h", "--end", "now-2h"],
            "--begin 'now - 1h' is not before --end now-2h. Both count back from now, so swap "
            "them: --begin now-2h --end 'now - 1h'",
        ),
        (["--begin", "1h", "--end", "1h"], "--begin 1h is not before --end 1h"),
        (
            ["--begin", "2026-01-02T00:00:00Z", "--end", "2026-01-01T00:00:00Z"],
            "--begin 2026-01-02T00:00:00Z is not before --end 2026-01-01T00:00:00Z",
        ),
        (
            ["--begin", "now+1h"],
            "--begin now+1h is not before now, where the range ends without --end",
        ),
        (
            ["--begin", "1h", "--end", "all"],
            "--end all is invalid: for no time range, give --begin all alone",
        ),
        (
            ["--begin", "2h..1h", "--end", "now"],
            "--begin 2h..1h is a whole range, so it takes no --end",
        ),
        (
            ["--begin", "2h", "--end", "1h..now"],
            "--end 1h..now is invalid: give one time, or the whole range A..B to --begin",
        ),
        (["--end", "2h"], "--end 2h needs --begin, the start of the range"),
        (
            ["--begin", "x", "--end", "1h"],
            "--begin x: invalid time 'x': use a duration such as 2h, now-1h, or RFC 3339 such as "
            "2026-12-04T10:00:00Z",
        ),
        (
            ["--begin", "1h", "--end", "y"],
            "--end y: invalid time 'y': use a duration such as 2h, now-1h, or RFC 3339 such as "
            "2026-12-04T10:00:00Z",
        ),
        (
            ["--begin", "1h..2h"],
            "--begin 1h..2h: invalid range '1h..2h': the beginning must be before the end",
        ),
        (
            ["--begin", "yesterday"],
            "--begin yesterday: invalid time range 'yesterday': use a duration such as 15m, 1h30m "
            "or 7d, now-1h, RFC 3339 such as 2026-12-04T10:00:00Z, A..B between two of those, "
            "A..+15m, T±5m around a time, or all",
        ),
        (
            ["--begin", "", "--end", "1h"],
            "--begin '' is empty: give a time such as 1h, now-2h or 2026-12-04T10:00:00Z, or all "
            "for no time range",
        ),
        (
            ["--begin", "2h", "--end", " "],
            "--end ' ' is empty: give a time such as now-1h, or leave --end out to end the "
            "range now",
        ),
        (
            ["--end", ""],
            "--end '' is empty: give a time such as now-1h, or leave --end out to end the "
            "range now",
        ),
    ],
    ids=[
        "durations-reversed",
        "spaces-quoted",
        "equal",
        "timestamps-reversed",
        "begin-in-future",
        "end-all",
        "begin-range-with-end",
        "end-range",
        "end-without-begin",
        "begin-invalid",
        "end-invalid",
        "begin-range-reversed",
        "begin-alone-invalid",
        "begin-empty-with-end",
        "end-blank",
        "end-empty-alone",
    ],
)
def test_range_error_names_options(tmp_path: Path, args: list[str], expected: str) -> None:
    server = [] if "--demo" in args else ["--uri", "grpc://127.0.0.1:1"]
    completed = _run_cli(tmp_path, *server, *args)
    assert completed.returncode == 2
    assert completed.stderr == f"mmtui: {expected}\n"
    assert completed.stdout == ""


@pytest.mark.parametrize("begin", ["", "  "], ids=["empty", "blank"])
def test_empty_begin_alone_rejected(begin: str) -> None:
    # An empty --begin alone must not fall back to the default range of the settings.
    with pytest.raises(ValueError) as raised:
        initial_range_text(begin, None)
    assert str(raised.value).startswith(f"--begin '{begin}' is empty: ")


def test_begin_duration_with_end_accepted() -> None:
    range_text = initial_range_text("2h", "now")
    assert range_text == "2h..now"
    assert parse_time_range(range_text).text == "2h..now"


def test_settings_not_utf8_exits_2(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.toml").write_bytes(b'theme = "\xff"\n')
    env = {"MMTUI_CONFIG_DIR": str(config_dir), "HOME": str(tmp_path / "home")}
    completed = _run_cli(tmp_path, "--uri", "grpc://127.0.0.1:1", env=env)

    assert completed.returncode == 2
    assert completed.stderr == (
        f"mmtui: invalid settings file {config_dir / 'config.toml'}: it is not UTF-8 text "
        "(invalid start byte at byte 9)\n"
    )


@pytest.mark.parametrize("obstacle", ["fifo", "dev_zero", "directory"])
def test_settings_not_a_file_exits_2(tmp_path: Path, obstacle: str) -> None:
    # A FIFO without a writer blocked start-up, and /dev/zero filled the memory.
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    path = config_dir / "config.toml"
    if obstacle == "fifo":
        os.mkfifo(path)
    elif obstacle == "dev_zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    env = {"MMTUI_CONFIG_DIR": str(config_dir), "HOME": str(tmp_path / "home")}
    completed = _run_cli(tmp_path, "--uri", "grpc://127.0.0.1:1", env=env)

    kind = "a directory" if obstacle == "directory" else "not a regular file"
    assert completed.returncode == 2
    assert completed.stderr == f"mmtui: invalid settings file {path}: it is {kind}\n"


def test_upstream_config_fifo_exits_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".micromegas").mkdir(parents=True)
    path = home / ".micromegas" / "config.json"
    os.mkfifo(path)
    env = {"MMTUI_CONFIG_DIR": str(tmp_path / "config"), "HOME": str(home)}
    completed = _run_cli(tmp_path, env=env)

    assert completed.returncode == 2
    assert completed.stderr == f"mmtui: invalid config file {path}: it is not a regular file\n"


BLOCKED_LOGS = ["folder in place of the file", "state folder is a file"]


def _block_log_file(tmp_path: Path, obstacle: str) -> tuple[dict[str, str], Path, str]:
    """Make the log file impossible to open; return the environment, its path and the reason."""
    if obstacle == "folder in place of the file":
        log_file = tmp_path / "state" / "mmtui" / "log" / "mmtui.log"
        log_file.mkdir(parents=True)
        return {}, log_file, "Is a directory"
    state_file = tmp_path / "state-file"
    state_file.write_text("not a folder\n", encoding="utf-8")
    log_file = state_file / "mmtui" / "log" / "mmtui.log"
    return {"XDG_STATE_HOME": str(state_file)}, log_file, f"Not a directory: {log_file.parent}"


@pytest.mark.parametrize("obstacle", BLOCKED_LOGS)
def test_version_says_log_is_off(tmp_path: Path, obstacle: str) -> None:
    env, log_file, reason = _block_log_file(tmp_path, obstacle)
    completed = _run_cli(tmp_path, "--version", env=env)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[1] == f"log file: off (cannot write {log_file}: {reason})"


@pytest.mark.parametrize("obstacle", BLOCKED_LOGS)
@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["logout"], 0),
        (["login"], 2),
        (["--uri", "grpc://127.0.0.1:1", "--begin", "yesterday"], 2),
    ],
)
def test_commands_run_without_log_file(
    tmp_path: Path, obstacle: str, command: list[str], code: int
) -> None:
    env, log_file, reason = _block_log_file(tmp_path, obstacle)
    env.update(HOME=str(tmp_path / "home"), MMTUI_DATA_DIR=str(tmp_path / "data"))
    completed = _run_cli(tmp_path, *command, env=env)

    assert completed.returncode == code, completed.stderr
    assert "Traceback" not in completed.stderr
    warning = f"mmtui: cannot write the log file {log_file}: {reason}. Running without a log file."
    assert completed.stderr.splitlines()[0] == warning
    assert completed.stderr.count("cannot write the log file") == 1


def test_demo_server_runs_without_log_file(tmp_path: Path) -> None:
    env, log_file, reason = _block_log_file(tmp_path, "folder in place of the file")
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MICROMEGAS_", "MMTUI_"))
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "mmtui", "demo-server", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**inherited, "XDG_STATE_HOME": str(tmp_path / "state"), **env},
    )
    try:
        assert server.stdout is not None
        serving = server.stdout.readline()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)

    assert serving.startswith("mmtui demo server: serving on grpc://127.0.0.1:"), errors
    warning = f"mmtui: cannot write the log file {log_file}: {reason}. Running without a log file."
    assert errors.splitlines()[0] == warning
    assert "Traceback" not in errors
