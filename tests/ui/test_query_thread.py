"""`QueryThread`: queries in a row share one thread; a query never waits behind another."""

from __future__ import annotations

import subprocess
import sys
import threading

from mmtui.ui.query_worker import GC_YOUNG_THRESHOLD, QueryThread

WAIT_S = 10.0


def run_and_wait(runner: QueryThread) -> int:
    """Submit a job, wait until the kept thread is idle again, return the job's thread id."""
    seen: list[int] = []
    done = threading.Event()

    def job() -> None:
        seen.append(threading.get_ident())
        done.set()

    runner.submit(job, name="test-job")
    assert done.wait(WAIT_S)
    assert runner.wait_idle(WAIT_S)
    return seen[0]


def test_jobs_in_a_row_share_a_thread() -> None:
    runner = QueryThread()

    first = run_and_wait(runner)
    second = run_and_wait(runner)

    assert first == second
    assert first != threading.get_ident()


def test_busy_thread_starts_another() -> None:
    runner = QueryThread()
    release = threading.Event()
    started = threading.Event()
    idents: dict[str, int] = {}
    second_done = threading.Event()

    def blocking() -> None:
        idents["blocking"] = threading.get_ident()
        started.set()
        release.wait(WAIT_S)

    def second() -> None:
        idents["second"] = threading.get_ident()
        second_done.set()

    runner.submit(blocking, name="test-blocking")
    assert started.wait(WAIT_S)
    runner.submit(second, name="test-second")

    # The second job ends while the first still blocks the kept thread.
    assert second_done.wait(WAIT_S)
    assert not release.is_set()
    assert idents["second"] != idents["blocking"]
    release.set()
    assert runner.wait_idle(WAIT_S)


def test_failing_job_keeps_the_thread() -> None:
    runner = QueryThread()

    def failing() -> None:
        raise RuntimeError("job failed on purpose")

    runner.submit(failing, name="test-failing")
    assert runner.wait_idle(WAIT_S)

    assert run_and_wait(runner) == runner.thread_ident


WARM_UP_SCRIPT = """
import gc, threading
from mmtui.ui.query_worker import warm_up_store
before = gc.get_freeze_count()
threshold = gc.get_threshold()[0]
warm_up_store()
warm_up = next(t for t in threading.enumerate() if t.name == "mmtui-store-warm-up")
warm_up.join(30)
print(before, gc.get_freeze_count(), threshold, gc.get_threshold()[0])
"""


def test_warm_up_freezes_objects_and_raises_gc_threshold() -> None:
    # In a new interpreter: the warm-up runs once per process.
    result = subprocess.run(
        [sys.executable, "-c", WARM_UP_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    before, after, threshold_before, threshold_after = (
        int(value) for value in result.stdout.split()
    )
    assert before == 0
    assert after > 10_000
    assert threshold_before < GC_YOUNG_THRESHOLD
    assert threshold_after == GC_YOUNG_THRESHOLD
