"""Hand a worker thread's result to the UI, and drop it when the app has exited meanwhile.

`App.call_from_thread` wraps the callback in a coroutine, schedules it on the app's event loop
and blocks until it has run. A worker blocked in a network call can outlive the app. Its late
call then runs the callback on a torn-down app, or raises RuntimeError("Event loop is closed")
and leaves the coroutine never awaited (Python warns when it is collected), or, if the loop
stopped without closing, blocks the thread for good. `call_later_from_thread` instead posts a
Textual `Callback` event with `post_message`, which Textual documents as thread-safe and which
discards messages for a closing or closed widget. Nothing waits on the UI, so a dropped call
costs nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from textual import events
from textual.message_pump import MessagePump

logger = logging.getLogger(__name__)


def call_later_from_thread(target: MessagePump, callback: Callable[..., Any], *args: Any) -> bool:
    """Queue `callback(*args)` on `target`'s message queue from a worker thread.

    The callback runs on the UI thread after the messages already queued for `target`, as with
    `MessagePump.call_later`, and the worker does not wait for it. Returns False, and drops the
    call, when `target` is closing or closed or the app's event loop has closed.
    """
    event = events.Callback(callback=partial(callback, *args))
    try:
        queued = target.post_message(event)
    except RuntimeError:
        # The event loop closed after post_message found `target` open (RuntimeError), or
        # `target` is detached and no app is active in this thread (NoActiveAppError).
        queued = False
    if not queued:
        name = getattr(callback, "__qualname__", repr(callback))
        logger.debug("dropped %s from a worker thread: %r is closed", name, target)
    return queued
