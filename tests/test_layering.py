"""The layers under the UI never import Textual or mmtui.ui (checked in a fresh interpreter)."""

import json
import pkgutil
from pathlib import Path

import mmtui
from tests.fresh_interpreter import run_python

LAYERS = ("flightsql", "auth", "results", "demo")
PURE_MODULES = ("mmtui.timerange", "mmtui.sqlhints", "mmtui.paths", "mmtui.logging_setup")


def _modules_of(layer: str) -> list[str]:
    package = f"mmtui.{layer}"
    folders = [str(Path(root) / layer) for root in mmtui.__path__]
    names = [package]
    for info in pkgutil.walk_packages(folders, prefix=f"{package}."):
        names.append(info.name)
    return names


def test_lower_layers_do_not_import_textual() -> None:
    modules = [name for layer in LAYERS for name in _modules_of(layer)] + list(PURE_MODULES)
    assert len(modules) > len(LAYERS) + len(PURE_MODULES), modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m == 'textual' or m.startswith(('textual.', 'mmtui.ui')))))\n"
    )
    leaked = json.loads(run_python(script))
    assert leaked == []
