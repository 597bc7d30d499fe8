"""Background work: one small vocabulary, and one route onto the GUI thread.

In the spirit of Anki's ``CollectionOp``/``QueryOp`` over its task manager and
Blink's ``run_in_gui_thread``:

- :func:`on_gui` is **the** route onto the GUI thread: called there, it calls at
  once; called from any other thread, it posts the call (through one queued Qt
  signal of one object living on the GUI thread) and returns. :func:`gui_thread`
  is the same as a decorator. Every cross-thread hand-off in ``app/`` and ``ui/``
  goes through it; the engine threads (SIP, audio, sync) keep their own Qt signals.
- :class:`Worker` is one named thread that runs jobs one at a time, in order (the
  cache is read on such workers: the lead search, the lead card, the workspace's
  reads). ``submit(fn, on_success=, on_failure=, latest=)`` runs ``fn()`` there;
  the callbacks run on the GUI thread with its result or its exception. With
  ``latest=key``, a newer job of the same key makes the older one stale: it is
  skipped if it has not started, its result dropped if it has, and a running
  job can ask :meth:`Worker.superseded` to stop early.
- :func:`run_in_background` runs a one-off job (imports, the phone's start-up,
  the cache's early integrity check) on a thread of its own and returns a
  :class:`concurrent.futures.Future`; callbacks as above.

Services turn the callbacks into their Qt signals: widgets still listen to
signals, never to this module. A job with no ``on_failure`` has its exception
logged. No polling anywhere: a result costs one post onto the GUI thread, the
same hop a queued signal costs.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import logging
import queue
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")

OnSuccess = Callable[[T], None]
OnFailure = Callable[[BaseException], None]


# -- the one route onto the GUI thread ----------------------------------------------------------
class _GuiRoute(QObject):
    """Lives on the GUI thread; a posted closure runs there when the event loop gets to it."""

    posted = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @staticmethod
    def _run(call: functools.partial[Any]) -> None:
        if _owner_deleted(call.func, call.args):
            return
        try:
            call()
        except Exception:
            log.exception("a call posted onto the GUI thread failed")


def _owner_deleted(fn: Callable[..., Any], args: tuple[Any, ...] = ()) -> bool:
    """True when ``fn`` is a method of a QObject (bound, or with the object as first argument)
    whose C++ side is gone: such a call is dropped, as Qt drops a queued signal to a
    deleted receiver."""
    owner = getattr(fn, "__self__", None)
    if owner is None and args:
        owner = args[0]
    return isinstance(owner, QObject) and not shiboken6.isValid(owner)


_route: _GuiRoute | None = None
_route_lock = threading.Lock()


def _gui_route() -> _GuiRoute | None:
    """The route object, made on first use and moved to the application's thread."""
    global _route
    app = QCoreApplication.instance()
    if app is None:
        return None
    route = _route
    if route is not None and shiboken6.isValid(route):
        return route
    with _route_lock:
        if _route is None or not shiboken6.isValid(_route):  # none yet, or its application is gone
            route = _GuiRoute()
            if route.thread() is not app.thread():
                route.moveToThread(app.thread())  # made off the GUI thread: push it there
            _route = route
        return _route


def is_gui_thread() -> bool:
    """True on the thread that runs the Qt event loop (and when there is no application yet)."""
    app = QCoreApplication.instance()
    return app is None or QThread.currentThread() is app.thread()


def on_gui(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` on the GUI thread: now if already there, else posted.

    Without a Qt application there is no GUI thread to post to: the call happens at once.
    """
    if is_gui_thread():
        fn(*args, **kwargs)
        return
    route = _gui_route()
    if route is None:
        fn(*args, **kwargs)
        return
    route.posted.emit(functools.partial(fn, *args, **kwargs))


def gui_thread(fn: Callable[P, None]) -> Callable[P, None]:
    """Decorator: calls to ``fn`` from any thread run on the GUI thread (see :func:`on_gui`)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        on_gui(fn, *args, **kwargs)

    return wrapper


def deliver_posted() -> None:
    """Run the calls already posted onto the GUI thread, now (tests and tools; GUI thread only)."""
    route = _gui_route()
    if route is not None:
        QCoreApplication.sendPostedEvents(route, QEvent.Type.MetaCall)


# -- jobs ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class Ticket(Generic[T]):
    """One submitted job. ``stale`` once a newer job of the same ``latest`` key was submitted."""

    fn: Callable[[], T]
    on_success: OnSuccess[T] | None = None
    on_failure: OnFailure | None = None
    key: Hashable | None = None
    generation: int = 0
    _latest: dict[Hashable, int] = field(default_factory=dict, repr=False)

    @property
    def stale(self) -> bool:
        return self.key is not None and self._latest.get(self.key) != self.generation

    def run(self) -> None:
        """Run the job here (a worker thread); hand its outcome to the GUI thread."""
        if self.stale:
            return  # a newer request of the same key is queued behind us
        try:
            result = self.fn()
        except Exception as exc:
            self.failed(exc)
            return
        self.succeeded(result)

    def succeeded(self, result: T) -> None:
        if self.on_success is not None and not self.stale:
            on_gui(self._deliver, self.on_success, result)

    def failed(self, exc: BaseException) -> None:
        if self.on_failure is None:
            log.error("background job %s failed", _name_of(self.fn), exc_info=exc)
        elif not self.stale:
            on_gui(self._deliver, self.on_failure, exc)

    def _deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        # Checked again: a newer request may have come while this was posted.
        if not self.stale and not _owner_deleted(callback):
            callback(value)


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class Worker:
    """One named daemon thread: jobs run one at a time, in the order submitted.

    The thread starts with the first job. ``stop()`` is final: jobs still queued are
    dropped, later submissions are ignored.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Ticket[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._latest: dict[Hashable, int] = {}
        self._running: Ticket[Any] | None = None
        self._stopped = False

    def submit(self, fn: Callable[[], T], on_success: OnSuccess[T] | None = None,
               on_failure: OnFailure | None = None, *, latest: Hashable | None = None) -> Ticket[T]:
        """Queue ``fn()``; ``on_success(result)`` / ``on_failure(exc)`` follow on the GUI thread.

        ``latest=key``: only the newest job of that key counts (older ones are skipped or
        their results dropped).
        """
        with self._lock:
            generation = 0
            if latest is not None:
                generation = self._latest.get(latest, 0) + 1
                self._latest[latest] = generation
            ticket = Ticket(fn, on_success, on_failure, latest, generation, self._latest)
            if self._stopped:
                log.debug("%s: stopped; %s not run", self.name, _name_of(fn))
                return ticket
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._jobs.put(ticket)
        return ticket

    def superseded(self) -> bool:
        """Inside a ``latest`` job on this worker: a newer one of its key has been submitted."""
        running = self._running
        return running is not None and running.stale

    def _loop(self) -> None:
        while True:
            ticket = self._jobs.get()
            if ticket is None or self._stopped:
                return
            self._running = ticket
            try:
                ticket.run()
            finally:
                self._running = None

    def stop(self, timeout: float = 5.0) -> None:
        """Drop what is queued, let the running job finish (up to ``timeout``)."""
        with self._lock:
            self._stopped = True
            thread, self._thread = self._thread, None
            self._jobs.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.error("%s thread did not stop in time", self.name)


def run_in_background(fn: Callable[[], T], on_success: OnSuccess[T] | None = None,
                      on_failure: OnFailure | None = None, *, name: str = "background") -> cf.Future[T]:
    """Run a one-off ``fn()`` on a daemon thread of its own (named ``name``).

    Returns its Future (for joins at shutdown or in tests); ``on_success`` /
    ``on_failure`` follow on the GUI thread as for :meth:`Worker.submit`. Once the
    Future is done its callback has been posted: :func:`deliver_posted` runs it now.
    """
    future: cf.Future[T] = cf.Future()
    ticket = Ticket(fn, on_success, on_failure)

    def job() -> None:
        if not future.set_running_or_notify_cancel():
            return
        # The callback is posted before the Future resolves: whoever waited on the Future
        # finds it queued (``deliver_posted``).
        try:
            result = fn()
        except Exception as exc:
            ticket.failed(exc)
            future.set_exception(exc)
            return
        ticket.succeeded(result)
        future.set_result(result)

    threading.Thread(target=job, name=name, daemon=True).start()
    return future
