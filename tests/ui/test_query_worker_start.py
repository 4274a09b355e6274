"""`QueryWorker.start`: the call is sent before it returns, unless getting a token is slow."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mmtui.demo import DemoServerHandle
from mmtui.flightsql import FlightSQLClient, QueryStream
from mmtui.results import ResultStore
from mmtui.ui import query_worker
from mmtui.ui.query_worker import QueryFinished, QueryWorker
from tests.fresh_interpreter import run_python

WAIT_S = 10.0
SQL = "SELECT process_id, exe FROM processes"


class Recorder:
    """A stand-in for the pane: it keeps each message the worker posts."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def post_message(self, message: Any) -> bool:
        self.messages.append(message)
        return True


class RecordingClient(FlightSQLClient):
    """A real client of the demo server that keeps each stream it returns."""

    def __init__(self, uri: str, auth_provider: Any = None) -> None:
        super().__init__(uri, auth_provider=auth_provider)
        self.streams: list[QueryStream] = []

    def query_stream(self, *args: Any, **kwargs: Any) -> QueryStream:
        stream = super().query_stream(*args, **kwargs)
        self.streams.append(stream)
        return stream


class SlowTokens:
    """A token provider that blocks until `release` is set, like a refresh over the network."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def get_token(self) -> str:
        self.entered.set()
        self.release.wait(WAIT_S)
        return "slow-token"


def finish(worker: QueryWorker, recorder: Recorder) -> Any:
    assert worker.wait(WAIT_S)
    return recorder.messages[-1]


def test_start_returns_after_the_call_is_sent(
    demo_server: DemoServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bound far above any scheduling delay, so the outcome does not depend on the machine.
    monkeypatch.setattr(query_worker, "CALL_HANDOFF_WAIT_S", WAIT_S)
    client = RecordingClient(demo_server.uri)
    recorder = Recorder()
    worker = QueryWorker(recorder, client, SQL, run_id=1)
    try:
        worker.start()

        # Without the wait, `start` returns while the query thread still waits for the GIL,
        # before the call is sent.
        assert len(client.streams) == 1
        final = finish(worker, recorder)
        assert isinstance(final, QueryFinished)
        assert final.rows > 0
    finally:
        client.close()


def test_start_does_not_wait_for_a_slow_token(
    demo_server: DemoServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(query_worker, "CALL_HANDOFF_WAIT_S", 0.05)
    tokens = SlowTokens()
    client = RecordingClient(demo_server.uri, auth_provider=tokens)
    recorder = Recorder()
    worker = QueryWorker(recorder, client, SQL, run_id=2)
    returned = threading.Event()

    def start() -> None:
        worker.start()
        returned.set()

    try:
        threading.Thread(target=start, daemon=True).start()

        # `start` returns while the token provider still blocks the query thread.
        assert returned.wait(WAIT_S)
        assert tokens.entered.wait(WAIT_S)
        assert not tokens.release.is_set()
        assert client.streams == []

        tokens.release.set()
        final = finish(worker, recorder)
        assert isinstance(final, QueryFinished)
        assert final.rows > 0
        assert len(client.streams) == 1
    finally:
        tokens.release.set()
        client.close()


def test_wait_for_warm_up_after_warm_up() -> None:
    # The warm-up runs once per process, so it runs here in a new interpreter.
    line = run_python(
        "import gc\n"
        "from mmtui.ui import query_worker as q\n"
        "before = q.wait_for_warm_up(0)\n"
        "q.warm_up_store()\n"
        "done = q.wait_for_warm_up(30)\n"
        "print(before, done, gc.get_threshold()[0] == q.GC_YOUNG_THRESHOLD)\n"
    )

    before, done, threshold_set = line.split()
    assert before == "False"
    assert done == "True"
    assert threshold_set == "True"


def test_cancel_after_last_batch_finishes(
    demo_server: DemoServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FlightSQLClient(demo_server.uri)
    recorder = Recorder()
    worker = QueryWorker(recorder, client, SQL, run_id=1)
    measure_pending = ResultStore.measure_pending

    def cancel_then_measure(store: ResultStore) -> None:
        # The worker measures the last rows right after the stream's end: Esc pressed then
        # comes after every row has arrived.
        worker.cancel()
        measure_pending(store)

    monkeypatch.setattr(ResultStore, "measure_pending", cancel_then_measure)
    try:
        worker.start()
        final = finish(worker, recorder)

        assert worker.cancel_requested
        assert isinstance(final, QueryFinished)
        assert final.store is not None
        assert final.rows == final.store.row_count
        assert final.rows == client.query_stream(SQL).read_all().num_rows
    finally:
        client.close()
