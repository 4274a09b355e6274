"""The results layer stays free of Textual so it can run and be tested without a UI."""

import subprocess
import sys


def test_results_import_without_textual() -> None:
    code = (
        "import sys\n"
        "import mmtui.results, mmtui.results.export\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('textual', 'mmtui.ui')))\n"
        "print(','.join(bad))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == ""
