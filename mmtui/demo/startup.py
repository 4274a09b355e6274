"""`DemoStartup`: the embedded demo server started on a background thread.

Starting the demo server imports DataFusion, generates the telemetry and waits until the
server responds: about 1.1 s on a 2-core VM. `mmtui --demo` runs that on this thread, so the
app starts meanwhile and its connection worker waits for `result()`. This module imports
nothing heavy, so creating a `DemoStartup` costs a thread start.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmtui.demo.server import DemoServerHandle

logger = logging.getLogger(__name__)

STOP_WAIT_S = 30.0
"""Maximum wait, at exit, for a start-up still under way, so that a server started after the
app closed is stopped too. A start at scale 1 took about 1 s on a 2-core VM."""


class DemoStartup:
    """A daemon thread that runs `start_demo_server(**options)`, with the outcome in `result()`."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._future: Future[DemoServerHandle] = Future()
        self._thread = threading.Thread(target=self._run, name="mmtui-demo-startup", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            from mmtui.demo.server import start_demo_server

            handle = start_demo_server(**self._options)
        except BaseException as error:
            logger.exception("starting the demo server failed")
            self._future.set_exception(error)
        else:
            self._future.set_result(handle)

    @property
    def done(self) -> bool:
        """True once the server serves or its start failed."""
        return self._future.done()

    def result(self, timeout: float | None = None) -> DemoServerHandle:
        """Return the serving server's handle, waiting for the start to end.

        Raises the start's exception, or TimeoutError when `timeout` passes first.
        """
        return self._future.result(timeout)

    def stop(self) -> None:
        """Stop the server, after waiting up to STOP_WAIT_S for a start still under way."""
        try:
            handle = self._future.result(STOP_WAIT_S)
        except TimeoutError:
            logger.warning("the demo server was still starting after %.0f s at exit", STOP_WAIT_S)
            return
        except Exception:
            # The start failed, so there is no server to stop (the error was logged).
            return
        handle.stop()
