"""Every pjsua2 object is destroyed on the SIP thread, whoever drops the last reference.

Why: a pjsua2 object's C++ destructor (Call, Account, AudioMediaPort, players, recorders,
tone generators, Buddy) takes pjsua's locks and unregisters itself from the conference
bridge. Run on a thread pjlib does not know, or while the SIP thread is inside
``libHandleEvents``, it crashes the process. Python decides where a destructor runs: the
thread that drops the last reference, or whichever thread the cyclic GC happens to run on
(for example pytest's failure report on the main thread, freeing a traceback that still
holds a call).

So ``install()`` gives those pjsua2 classes (and every subclass) a ``__del__`` that checks
the thread. On the SIP thread of the library the object belongs to, nothing changes. On
any other thread the object is resurrected into a graveyard, and the SIP thread drops it
a turn or two later (``reap()``). Once the library is destroyed, a late object's
C++ half is leaked (``thisown = False``) instead of being destroyed against freed pjsua
state. ``close_generation()`` runs on the SIP thread just before ``libDestroy``.

Plain parameter/info structs (CallOpParam, CallInfo...) only free memory and are left alone.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import re
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

log = logging.getLogger(__name__)

# Classes whose destructor talks to pjsua; subclasses inherit the guard.
GUARDED: tuple[type, ...] = tuple(
    getattr(pj, name) for name in (
        "Call", "Account", "Buddy", "AudioMediaPort", "AudioMediaPlayer", "AudioMediaRecorder",
        "ToneGenerator", "ExtraAudioDevice", "AudioMediaStreamPort")
    if hasattr(pj, name))


# Classes whose Python subclasses pjsua2 calls back into (SWIG directors). An exception escaping
# such a callback becomes a C++ exception inside pjsip's C code: the process aborts.
DIRECTORS: tuple[type, ...] = GUARDED + tuple(
    getattr(pj, name) for name in ("LogWriter", "Endpoint") if hasattr(pj, name))
_CALLBACK = re.compile(r"^on[A-Z]\w*$")


def guard_callback(fn: Callable[..., Any]) -> Callable[..., Any]:
    """For every pjsua2 callback: log an exception (as text, see ``log_exception``) instead
    of letting it reach pjsua2's C++, where it would abort the process."""
    if getattr(fn, "_seatmate_guarded", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except BaseException:  # even SystemExit/KeyboardInterrupt: C++ cannot take them
            log_exception(logging.getLogger(fn.__module__), "error in pjsua2 callback %s", fn.__qualname__)
            return None
    wrapper._seatmate_guarded = True  # type: ignore[attr-defined]
    return wrapper


def _guard_class(cls: type) -> None:
    is_writer = hasattr(pj, "LogWriter") and issubclass(cls, pj.LogWriter)
    for name, value in list(vars(cls).items()):
        if not callable(value) or not (_CALLBACK.match(name) or (is_writer and name == "write")):
            continue
        setattr(cls, name, guard_callback(value))


def _all_subclasses(cls: type) -> list[type]:
    out, todo = [], list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        out.append(sub)
        todo.extend(sub.__subclasses__())
    return out


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0            # one per libCreate .. libDestroy
        self.open = False
        self.sip_ident: int | None = None
        self.wake: Callable[[], None] | None = None
        self.graveyard: list[Any] = []           # let go of by another thread, newest
        self.aging: list[Any] = []               # seen by one reap() turn already
        self.in_del = 0                          # foreign threads inside _guarded_del now
        self.gc_running = False
        self.gen_of: dict[int, int] = {}          # id(obj) -> generation it was created in
        self.live: weakref.WeakSet[Any] = weakref.WeakSet()
        self.deferred = 0                         # objects sent to the SIP thread (stats/tests)
        self.leaked = 0


_state = _State()
_installed = False


def _guarded_del(self: Any) -> None:
    st = _state
    gen = st.gen_of.pop(id(self), None)
    if gen is None:
        return  # made outside any library (or already handled): nothing to protect
    if gen == st.generation and st.open and threading.get_ident() == st.sip_ident:
        _destroy_now(self)  # the owner thread
        return
    with st.lock:
        st.in_del += 1
        try:
            if gen == st.generation and st.open:
                st.graveyard.append(self)  # resurrect; the SIP thread drops it (PEP 442)
                st.deferred += 1
                return
            # Its library is gone: destroying the C++ half now would touch freed pjsua state.
            with contextlib.suppress(Exception):
                self.thisown = False
            st.leaked += 1
        finally:
            st.in_del -= 1


def _destroy_now(obj: Any) -> None:
    """Destroy the C++ half now, while the Python half is still whole. Left to Python, the
    instance dict is torn down first, and pjmedia's clock thread may call a port's
    onFrameReceived in between (the C++ destructor releases the GIL while it waits for the
    conference lock) on an object whose attributes are already gone."""
    destroy = getattr(type(obj), "__swig_destroy__", None)
    if destroy is None:
        return
    try:
        if obj.thisown:
            destroy(obj)  # SWIG disowns the proxy, then deletes the C++ object
    except Exception:
        log_exception(log, "destroying a %s failed", type(obj).__name__)


def _gc_phase(phase: str, _info: dict[str, int]) -> None:
    _state.gc_running = phase == "start"


def install() -> None:
    """Idempotent; called when the softphone package is imported."""
    global _installed
    if _installed:
        return
    _installed = True
    for cls in GUARDED:
        orig_init = cls.__init__

        def __init__(self: Any, *args: Any, __orig: Any = orig_init, **kw: Any) -> None:
            __orig(self, *args, **kw)
            st = _state
            if st.open:
                st.gen_of[id(self)] = st.generation
                st.live.add(self)

        cls.__init__ = __init__  # type: ignore[misc]
        cls.__del__ = _guarded_del  # type: ignore[attr-defined]
    gc.callbacks.append(_gc_phase)
    # Every callback of every Python subclass is guarded: those defined later (hook) and
    # those already defined (a module imported before this one).
    for base in DIRECTORS:
        base.__init_subclass__ = classmethod(lambda sub, **kw: _guard_class(sub))  # type: ignore[assignment]
        for sub in _all_subclasses(base):
            _guard_class(sub)


def open_generation(wake: Callable[[], None]) -> None:
    """On the SIP thread, right after libCreate: objects made from now on belong to it."""
    st = _state
    with st.lock:
        st.generation += 1
        st.open = True
        st.sip_ident = threading.get_ident()
        st.wake = wake
        st.graveyard = []
        st.live = weakref.WeakSet()


def reap() -> None:
    """On the SIP thread: destroy what other threads let go of.

    Never while another thread is still inside a collection or a ``__del__``: dropping our
    reference then would take the object back from under that thread (the cyclic GC would
    clear it there after all; a refcount dealloc would continue there). And only objects
    that waited one turn (the SIP thread released the GIL in between, inside libHandleEvents,
    so the thread that let go of them has finished with them)."""
    st = _state
    if not st.graveyard and not st.aging:
        return
    if st.gc_running or st.in_del:
        return
    with st.lock:
        if st.in_del:
            return
        dead, st.aging, st.graveyard = st.aging, st.graveyard, []
    for obj in dead:
        _destroy_now(obj)  # here, on the SIP thread (their __del__ already ran)
    dead.clear()


def idle() -> bool:
    """True when nothing waits in the graveyard (after reap())."""
    reap()
    return not _state.graveyard and not _state.aging


def close_generation() -> list[Any]:
    """On the SIP thread, just before libDestroy. Destroys the graveyard, then disowns every
    object still referenced elsewhere (its C++ half leaks rather than being destroyed after
    libDestroy). Returns those objects: keep the list until libDestroy has returned, so
    none is freed while pjsua may still call back into it."""
    reap()
    st = _state
    with st.lock:
        st.open = False
        st.wake = None
        keep = list(st.live) + st.graveyard + st.aging
        st.graveyard, st.aging = [], []
    for obj in keep:
        with contextlib.suppress(Exception):
            obj.thisown = False
        st.gen_of.pop(id(obj), None)
    if keep:
        st.leaked += len(keep)
        log.warning("%d pjsua2 object(s) outlive the library; their C++ part is leaked, not destroyed",
                    len(keep))
    return keep


def stats() -> dict[str, int]:
    return {"deferred": _state.deferred, "leaked": _state.leaked,
            "pending": len(_state.graveyard) + len(_state.aging)}


def log_exception(logger: logging.Logger, msg: str, *args: object) -> None:
    """``logger.exception`` without keeping the traceback: a LogRecord's exc_info would keep
    the frames (and the pjsua2 objects in them) alive in whichever handler stores records
    (pytest's caplog does), to be freed later on another thread. Log the text, clear frames."""
    exc = sys.exc_info()[1]
    text = traceback.format_exc()
    logger.error(msg + "\n%s", *args, text.rstrip())
    if exc is not None:
        traceback.clear_frames(exc.__traceback__)


install()
