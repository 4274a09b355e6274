"""Six mmtui processes refreshing one cached token at once against a rotating IdP."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from mmtui.auth import ConnectionSettings
from tests.auth.conftest import log_in
from tests.auth.idp import TestIdPHandle

PROCESSES = 6
REPO_ROOT = Path(__file__).resolve().parents[2]

# Each child signals "ready" once its imports are done, then waits for "go" so that all six
# call get_token() together.
CHILD = """
import hashlib, os, sys
from mmtui.auth import make_token_provider, resolve_settings
provider = make_token_provider(resolve_settings())
print("ready", flush=True)
sys.stdin.readline()
try:
    token = provider.get_token()
except Exception as exc:
    print("error", type(exc).__name__, exc, flush=True)
    sys.exit(1)
print("ok", hashlib.sha256(token.encode()).hexdigest(), flush=True)
"""


def test_six_processes_refresh_once(
    oidc_settings: ConnectionSettings, oidc_env: dict[str, str], idp: TestIdPHandle
) -> None:
    idp.id_token_issued_ago = 3480  # a one-hour token that expires in 2 min: due for refresh
    old = log_in(oidc_settings)
    idp.id_token_issued_ago = 0
    idp.refresh_delay = 0.3  # keeps the first refresh in flight while the others arrive

    env = {**os.environ, **oidc_env, "PYTHONPATH": str(REPO_ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=30) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()

    results = [out.strip() for out, _ in outputs]
    for (out, err), child in zip(outputs, children, strict=True):
        assert child.returncode == 0, f"child failed: {out} {err}"
    assert all(line.startswith("ok ") for line in results), results
    assert len(set(results)) == 1, "every process must use the one refreshed token"
    old_hash = hashlib.sha256(str(old["id_token"]).encode()).hexdigest()
    assert results[0] != f"ok {old_hash}"
    assert idp.refresh_count == 1
    assert idp.reuse_detected == 0
