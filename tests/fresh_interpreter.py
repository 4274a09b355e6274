"""Run Python code in a new interpreter, whose `sys.modules` shows what the code imported."""

import subprocess
import sys


def run_python(script: str) -> str:
    """Run `script` with this interpreter in a new process and return its last output line."""
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().splitlines()[-1]
