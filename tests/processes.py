"""The external processes the tests start, on one base class with one way to wait.

In the spirit of qutebrowser's ``tests/end2end/fixtures/testprocess.py``: a
subclass says how to start its program (``command``/``environment`` or the
constructor's arguments) and when it is ready (``ready``); the base starts it,
reads its output on background threads (every line into memory and, with a
``log_path``, into that file), and offers

``wait_for(what, timeout)``
    Block until ``what`` holds and return its value. ``what`` is either a
    regular expression (``str`` or compiled) that a line of the output must
    match (``since=`` a ``mark()`` to look only at later lines; returns the
    ``re.Match``), or a callable without arguments that must return something
    truthy (returned). The condition is checked at once, again whenever the
    process prints a line, and at least every ``interval`` seconds. If the
    process exits first: ``ProcessError``; after ``timeout`` s:
    ``WaitTimeout`` (a ``TimeoutError``). Both messages end with the tail of
    the output.

``stop()``
    Ask it to end (``request_stop``: ``stop_signal`` to its process group by
    default), wait ``stop_timeout`` s, then SIGKILL and wait 5 s more.

Children get a session of their own (``stop``/``kill`` reach whatever they
fork) and SIGTERM when the test process dies (``PR_SET_PDEATHSIG``: note that
it fires when the *thread* that started them ends, so start them from the
thread that lives longest, as the fixtures do). A start that does not become
ready kills the process and raises.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

_P = TypeVar("_P", bound="ExternalProcess")

#: How many output lines a process keeps in memory (older ones are still in its log file).
KEEP_LINES = 20_000


class ProcessError(RuntimeError):
    """A process the tests need could not start, or exited while a test waited on it."""


class WaitTimeout(ProcessError, TimeoutError):
    """``wait_for`` ran out of time."""


try:  # looked up here: a child that switched to another user may not read this venv's files
    _prctl: Callable[..., int] | None = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def die_with_parent() -> None:
    """preexec_fn: SIGTERM this child when the test process dies (a crashed run leaves no orphans)."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def stop_popen(proc: subprocess.Popen[Any], timeout: float = 5) -> None:
    """Stop a plain ``Popen`` child (one not run as an ExternalProcess): SIGTERM, then SIGKILL
    if it has not exited within ``timeout`` s; reaped either way."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def wait_until(condition: Callable[[], Any], timeout: float, *, interval: float = 0.05,
               description: str | None = None) -> Any:
    """``wait_for`` without a process: poll ``condition`` until it returns something truthy
    (returned), at most ``timeout`` s, else ``WaitTimeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            what = description or getattr(condition, "__name__", repr(condition))
            raise WaitTimeout(f"timed out after {timeout} s waiting for {what}")
        time.sleep(min(interval, left))


class ExternalProcess:
    """One external program a test needs; see the module docstring.

    Subclasses set ``name`` and usually override ``ready``; ``on_line`` sees
    every line of output as it arrives (the pjsua2 peer parses its events there).
    """

    name = "process"
    #: what ``request_stop`` sends (SIGQUIT for PostgreSQL's immediate shutdown, SIGKILL for sipp)
    stop_signal: int = signal.SIGTERM
    stop_timeout = 10.0
    ready_timeout = 20.0

    def __init__(self, argv: Sequence[str] = (), *, env: Mapping[str, str] | None = None,
                 cwd: str | Path | None = None, log_path: str | Path | None = None, stdin: bool = False,
                 stdout: bool = True, merge_stderr: bool = True, new_session: bool = True,
                 user: str | None = None) -> None:
        """``stdin``: a pipe for ``send``; ``stdout=False`` discards standard output (sipp draws
        its screen there); ``merge_stderr=False`` reads the two streams apart (``on_line`` gets
        the stream's name); ``user``: run as this OS user (root only)."""
        self._argv = [str(a) for a in argv]
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self.log_path = Path(log_path) if log_path is not None else None
        self._stdin = stdin
        self._stdout = stdout
        self._merge_stderr = merge_stderr
        self._new_session = new_session
        self._user = user
        self.proc: subprocess.Popen[bytes] | None = None
        self._cond = threading.Condition()
        self._lines: list[str] = []
        self._dropped = 0  # lines trimmed from the front of _lines
        self._seq = 0  # bumped on every line and on every end of a stream: wakes wait_for
        self._readers: list[threading.Thread] = []
        self._log: IO[bytes] | None = None
        self._log_lock = threading.Lock()
        self._life = threading.RLock()  # a kill from another thread vs a (re)start

    # ---- what to start (override these or pass them to __init__) ----------------------
    def command(self) -> list[str]:
        return list(self._argv)

    def environment(self) -> dict[str, str] | None:
        """The child's whole environment (None: this process's)."""
        return self._env

    def working_directory(self) -> str | Path | None:
        return self._cwd

    def ready(self, timeout: float) -> None:
        """Block until the program serves (use ``wait_for``); the default does not wait."""

    def on_line(self, stream: str, line: str) -> None:
        """Called on a reader thread for every line of output (``stream``: 'stdout'/'stderr')."""

    def request_stop(self) -> None:
        """The polite request to end; ``stop`` escalates to SIGKILL."""
        self.signal(self.stop_signal)

    # ---- life cycle -------------------------------------------------------------------
    def start(self: _P, timeout: float | None = None) -> _P:
        """Start the program and wait until ``ready``; on failure kill it and raise."""
        if self.alive():
            raise ProcessError(f"{self.name} is already running (pid {self.pid})")
        self._launch()
        try:
            self.ready(self.ready_timeout if timeout is None else timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def _launch(self) -> None:
        with self._life:
            self._finish()  # a previous run's readers and log
            self._spawn()

    def _spawn(self) -> None:
        argv = self.command()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        pipe_err = not self._stdout or not self._merge_stderr
        kwargs: dict[str, Any] = {}
        if self._user is not None:
            kwargs.update(user=self._user, group=self._user, extra_groups=[])
        try:
            self.proc = subprocess.Popen(
                argv, env=self.environment(), cwd=self.working_directory(),
                stdin=subprocess.PIPE if self._stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if self._stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE if pipe_err else subprocess.STDOUT,
                start_new_session=self._new_session, preexec_fn=die_with_parent, **kwargs)
        except OSError as exc:
            self._close_log()
            raise ProcessError(f"{self.name} could not start ({' '.join(argv)}): {exc}") from exc
        streams = [("stdout", self.proc.stdout), ("stderr", self.proc.stderr)]
        self._readers = [threading.Thread(target=self._read, args=(label, pipe), daemon=True,
                                          name=f"{self.name}-{label}")
                         for label, pipe in streams if pipe is not None]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: str, pipe: IO[bytes]) -> None:
        try:
            for raw in iter(pipe.readline, b""):
                if self._log is not None:
                    with self._log_lock, contextlib.suppress(ValueError, OSError):
                        self._log.write(raw)
                        self._log.flush()
                line = raw.decode(errors="replace").rstrip("\r\n")
                self.on_line(stream, line)
                with self._cond:
                    self._lines.append(line)
                    if len(self._lines) > KEEP_LINES:
                        cut = len(self._lines) - KEEP_LINES // 2
                        del self._lines[:cut]
                        self._dropped += cut
                    self._seq += 1
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass  # the pipe was closed under us
        finally:
            with self._cond:
                self._seq += 1
                self._cond.notify_all()

    def stop(self, timeout: float | None = None) -> int | None:
        """End the program (``request_stop``, then SIGKILL after ``timeout`` s); its exit status."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.request_stop()
            try:
                proc.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                proc.wait(5)
        self._finish(proc)
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL at once: no clean shutdown, whatever it was doing."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            self.signal(signal.SIGKILL)
            proc.wait(10)
        self._finish(proc)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the program (to its whole process group when it has a session of its own)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if self._new_session:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        """Wait for the program to end by itself; its exit status (WaitTimeout if it does not)."""
        assert self.proc is not None, f"{self.name} was not started"
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise WaitTimeout(self._explain(f"timed out after {timeout} s waiting for {self.name} to exit")) from None
        self._join_readers(2.0)
        return code

    def _join_readers(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        return not any(r.is_alive() for r in self._readers)

    def _finish(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        """After the program (``proc``: that run of it) ended: its output read to the end, pipes
        and log closed, strays killed."""
        with self._life:
            if proc is not None and proc is not self.proc:
                return  # already finished, and started again since
            proc = self.proc
            if proc is None or proc.poll() is None or (not self._readers and self._log is None):
                return
            if self._new_session:
                # Whatever it forked and left behind; the group id is not reused while a member lives.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            if self._join_readers(2.0):
                # (A pipe still being read cannot be closed: its reader holds the buffer's lock.)
                for pipe in (proc.stdout, proc.stderr):
                    if pipe is not None:
                        pipe.close()
            if proc.stdin is not None:
                with contextlib.suppress(OSError, ValueError):
                    proc.stdin.close()
            self._readers = []
            self._close_log()

    def _close_log(self) -> None:
        with self._log_lock:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self: _P) -> _P:
        return self if self.alive() else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- state ------------------------------------------------------------------------
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def send(self, text: str, *, newline: bool = True) -> None:
        """Write to the program's standard input (started with ``stdin=True``)."""
        assert self.proc is not None and self.proc.stdin is not None, f"{self.name} has no stdin pipe"
        self.proc.stdin.write((text + ("\n" if newline else "")).encode())
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()

    def mark(self) -> int:
        """The number of lines read so far: ``wait_for(..., since=mark)`` looks only at later ones."""
        with self._cond:
            return self._dropped + len(self._lines)

    def lines(self, since: int = 0) -> list[str]:
        """The output lines from number ``since`` on (those still kept in memory)."""
        with self._cond:
            return self._lines[max(0, since - self._dropped):]

    def tail(self, n: int = 40) -> str:
        """The last ``n`` lines of output."""
        with self._cond:
            return "\n".join(self._lines[-n:])

    # ---- waiting ----------------------------------------------------------------------
    def wait_for(self, what: str | re.Pattern[str] | Callable[[], Any], timeout: float, *, since: int = 0,
                 interval: float = 0.05, description: str | None = None) -> Any:
        """Block until ``what`` holds; see the module docstring."""
        if callable(what):
            check = what
            description = description or getattr(what, "__name__", repr(what))
        else:
            pattern = re.compile(what) if isinstance(what, str) else what
            description = description or f"a line matching {pattern.pattern!r}"
            cursor = since

            def check() -> re.Match[str] | None:
                nonlocal cursor
                with self._cond:
                    new = self._lines[max(0, cursor - self._dropped):]
                    cursor = self._dropped + len(self._lines)
                for line in new:
                    found = pattern.search(line)
                    if found:
                        return found
                return None

        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                seen = self._seq
            # Whether it had ended is known before the last look: output up to the end counts.
            ended = self.proc is None or self.proc.poll() is not None
            if ended:
                self._join_readers(1.0)
            value = check()
            if value:
                return value
            if ended:
                status = "was not started" if self.proc is None else f"exited with {self.proc.returncode}"
                raise ProcessError(self._explain(f"{self.name} {status} while a test waited for {description}"))
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeout(self._explain(f"timed out after {timeout} s waiting for {description} "
                                                f"from {self.name}"))
            with self._cond:
                if self._seq == seen:
                    self._cond.wait(min(interval, left))

    def _explain(self, headline: str) -> str:
        where = f" (whole log: {self.log_path})" if self.log_path is not None else ""
        return f"{headline}; pid {self.pid}, last output{where}:\n{self.tail() or '(none)'}"
