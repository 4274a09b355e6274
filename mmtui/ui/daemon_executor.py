"""An executor that runs each job on its own daemon thread and never waits at shutdown.

Textual's thread workers (`@work(thread=True)`) run on the event loop's default executor, and
`asyncio.run` waits for that executor's running jobs before it returns. A worker blocked in a
network call (a server that accepts and never replies) then delays the exit for the call's whole
timeout. The app installs this executor as the loop's default, so Ctrl+Q and SIGTERM return at
once. A job still running at interpreter exit is stopped with the process, without cleanup.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

ResultT = TypeVar("ResultT")


class DaemonThreadExecutor(ThreadPoolExecutor):
    """Run every submitted call on a new daemon thread; `shutdown` never waits for them.

    It subclasses ThreadPoolExecutor only because `loop.set_default_executor` requires one
    (Python 3.11); none of the pool's threads or queue is used.
    """

    def __init__(self, thread_name_prefix: str = "worker") -> None:
        super().__init__(max_workers=1, thread_name_prefix=thread_name_prefix)
        self._job_name_prefix = thread_name_prefix
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._shut_down = False

    def submit(self, fn: Callable[..., ResultT], /, *args: Any, **kwargs: Any) -> Future[ResultT]:
        with self._lock:
            if self._shut_down:
                raise RuntimeError("cannot submit a job after the executor was shut down")
            name = f"{self._job_name_prefix}-{next(self._numbers)}"
        future: Future[ResultT] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # handed to the caller through the future
                future.set_exception(error)
            else:
                future.set_result(result)

        threading.Thread(target=run, name=name, daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Reject new jobs. Running jobs continue on their daemon threads, even with `wait`."""
        with self._lock:
            self._shut_down = True
