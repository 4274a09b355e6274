"""`QueryThread`: queries in a row share one thread; a query never waits behind another."""

from __future__ import annotations

import threading

from mmtui.ui.query_worker import QueryThread

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
