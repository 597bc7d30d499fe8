"""app.background: the one vocabulary for background work and the one route onto the GUI thread."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from app.background import Worker, deliver_posted, gui_thread, is_gui_thread, on_gui, run_in_background


def _on_gui_thread() -> bool:
    return QThread.currentThread() is QCoreApplication.instance().thread()


def test_on_gui_calls_at_once_on_the_gui_thread_and_posts_from_others(qapp, qtbot) -> None:
    seen: list[tuple[str, bool]] = []
    on_gui(lambda: seen.append(("here", _on_gui_thread())))
    assert seen == [("here", True)]  # no event loop turn needed

    worker = threading.Thread(target=lambda: on_gui(seen.append, ("there", _on_gui_thread())))
    worker.start()
    worker.join()
    assert len(seen) == 1  # posted, not called on the worker
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=2000)
    assert seen[1] == ("there", False)  # the argument was computed on the worker …

    ran_on: list[bool] = []

    @gui_thread
    def note(value: int) -> None:
        ran_on.append(_on_gui_thread() and value == 7)

    t = threading.Thread(target=note, args=(7,))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: ran_on == [True], timeout=2000)  # … the call ran on the GUI thread
    assert is_gui_thread()


def test_worker_runs_jobs_in_order_off_the_gui_thread_with_callbacks_on_it(qapp, qtbot) -> None:
    worker = Worker("test-worker")
    results: list[object] = []
    threads: list[bool] = []
    try:
        for i in range(5):
            worker.submit(lambda i=i: (threads.append(_on_gui_thread()), i)[1],
                          lambda r: results.append((r, _on_gui_thread())))
        worker.submit(lambda: 1 / 0, results.append, lambda exc: results.append((type(exc), _on_gui_thread())))
        qtbot.waitUntil(lambda: len(results) == 6, timeout=5000)
        assert results == [(i, True) for i in range(5)] + [(ZeroDivisionError, True)]
        assert threads == [False] * 5
    finally:
        worker.stop()


def test_latest_only_skips_older_jobs_and_drops_their_results(qapp, qtbot) -> None:
    worker = Worker("test-latest")
    gate, started = threading.Event(), threading.Event()
    ran: list[str] = []
    delivered: list[str] = []
    superseded: list[bool] = []

    def job(name: str) -> str:
        if name == "a":
            started.set()
            gate.wait(5)  # hold the worker: b and c queue up behind
            superseded.append(worker.superseded())
        ran.append(name)
        return name

    try:
        worker.submit(lambda: job("a"), delivered.append, latest="search")
        assert started.wait(5)
        worker.submit(lambda: job("b"), delivered.append, latest="search")
        last = worker.submit(lambda: job("c"), delivered.append, latest="search")
        other = worker.submit(lambda: "other key", delivered.append, latest="card")
        gate.set()
        qtbot.waitUntil(lambda: "c" in delivered and "other key" in delivered, timeout=5000)
        assert ran == ["a", "c"]  # b was stale before it started: skipped
        assert superseded == [True]  # a could tell a newer request was waiting
        assert sorted(delivered) == ["c", "other key"]  # a's result was dropped
        assert not last.stale and not other.stale
    finally:
        worker.stop()


def test_a_result_that_went_stale_while_posted_is_dropped(qapp) -> None:
    worker = Worker("test-posted")
    delivered: list[int] = []
    try:
        first = worker.submit(lambda: 1, delivered.append, latest="k")
        done = threading.Event()
        worker.submit(done.set)  # jobs run in order: once this ran, the first result is posted
        assert done.wait(5)
        worker.submit(lambda: 2, delivered.append, latest="k")
        assert first.stale
        for _ in range(200):
            deliver_posted()
            if delivered:
                break
            threading.Event().wait(0.005)
        assert delivered == [2]
    finally:
        worker.stop()


def test_calls_to_a_deleted_qobject_are_dropped(qapp, caplog: pytest.LogCaptureFixture) -> None:
    class Receiver(QObject):
        got = Signal(object)

        def take(self, value: object) -> None:
            self.got.emit(value)

    receiver = Receiver()
    t = threading.Thread(target=lambda: on_gui(receiver.take, 1))
    t.start()
    t.join()
    import shiboken6

    shiboken6.delete(receiver)
    deliver_posted()
    assert not caplog.records  # no "Internal C++ object already deleted": the call was dropped


def test_run_in_background_gives_a_future_and_gui_callbacks(qapp, qtbot) -> None:
    got: list[object] = []
    names: list[str] = []
    future = run_in_background(lambda: names.append(threading.current_thread().name) or 42,
                               lambda r: got.append((r, _on_gui_thread())), name="one-off")
    assert future.result(5) == 42 and names == ["one-off"]
    deliver_posted()  # the callback was posted before the Future resolved
    assert got == [(42, True)]

    failed = run_in_background(lambda: {}["missing"], on_failure=lambda exc: got.append(type(exc)))
    with pytest.raises(KeyError):
        failed.result(5)
    qtbot.waitUntil(lambda: KeyError in got, timeout=2000)


def test_a_stopped_worker_drops_queued_jobs_and_refuses_new_ones(qapp) -> None:
    worker = Worker("test-stop")
    gate = threading.Event()
    ran: list[int] = []
    worker.submit(lambda: (gate.wait(5), ran.append(1)))
    worker.submit(lambda: ran.append(2))
    threading.Timer(0.05, gate.set).start()
    worker.stop()
    assert ran == [1]  # the running job finished; the queued one was dropped
    worker.submit(lambda: ran.append(3))
    assert ran == [1]
