"""A crash hook for the crash campaign: SIGKILL this process inside a write transaction.

Inert unless ``SEATMATE_CRASH_AT`` is set (the app never sets it). With
``SEATMATE_CRASH_AT=<site>:<n>`` the process kills itself (``SIGKILL``, no
clean-up of any kind) when the n-th statement run inside write transactions
of ``site`` is about to execute — counted across that site's transactions, so
any ``n`` lands inside one of them, never between. ``COMMIT`` counts as a
statement: a kill there is the last moment before the transaction is durable.
For the ``draft`` site ``n`` counts bytes of wrap-up draft files being
written (:func:`write_bytes`): the kill leaves the first bytes of a draft in
its temp file, before the rename.

Just before the kill a line ``killed site=<site> stmt=<k> in_tx=1 …`` is
appended (and fsynced) to ``SEATMATE_CRASH_LOG``, so the campaign can confirm
that every kill happened where it was meant to (``in_tx`` is SQLite's own
``not autocommit``, read on the connection at that moment).

Statements are seen through sqlite3's trace callback (set on each DB-API
connection by :func:`attach`, called from cache.db's connect hook), so bulk
``executemany`` rows and trigger-free plain DB-API writes count too. The site
of a transaction is named at its ``BEGIN`` from the code that opened it
(:data:`SITES`; for a wrap-up save the disposition code's rule decides between
``wrapup_save``, ``dnc`` and ``callback``), or explicitly with :func:`site`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

ENV_AT = "SEATMATE_CRASH_AT"
ENV_LOG = "SEATMATE_CRASH_LOG"

# (file name, function) that opened the write transaction → site.
SITES: dict[tuple[str, str], str] = {
    ("store.py", "save_disposition"): "wrapup_save",  # refined by the rule: dnc / callback
    ("pull_apply.py", "apply_page"): "pull_apply",
    ("outbox.py", "settle"): "outbox_settle",
    ("repository.py", "add_note"): "note",
    ("store.py", "record_call_started"): "call_log",
    ("store.py", "record_call_ended"): "call_log",
}
ALL_SITES = ("wrapup_save", "dnc", "callback", "pull_apply", "outbox_settle", "draft", "note", "call_log")

_local = threading.local()
_plan: dict[str, Any] | None = None
_plan_pid = -1


def _load_plan() -> dict[str, Any] | None:
    global _plan, _plan_pid
    if _plan_pid != os.getpid():  # re-read after a fork
        _plan_pid = os.getpid()
        _plan = None
        spec = os.environ.get(ENV_AT, "").strip()
        if spec:
            name, _, n = spec.rpartition(":")
            if not name or not n.isdigit() or int(n) < 1:
                raise ValueError(f"{ENV_AT} must be <site>:<n> with n >= 1, not {spec!r}")
            _plan = {"site": name, "n": int(n), "seen": 0, "log": os.environ.get(ENV_LOG, "")}
    return _plan


def armed_site() -> str | None:
    plan = _load_plan()
    return plan["site"] if plan else None


@contextlib.contextmanager
def site(name: str) -> Iterator[None]:
    """Name the site of the write transactions begun inside this block (overrides :data:`SITES`)."""
    prev = getattr(_local, "site", None)
    _local.site = name
    try:
        yield
    finally:
        _local.site = prev


def _site_from_stack() -> str | None:
    explicit = getattr(_local, "site", None)
    if explicit:
        return explicit
    f = sys._getframe(2)
    while f is not None:
        key = (os.path.basename(f.f_code.co_filename), f.f_code.co_name)
        found = SITES.get(key)
        if found:
            if found == "wrapup_save":
                rule = f.f_locals.get("rule")
                if getattr(rule, "adds_to_dnc", False):
                    return "dnc"
                if getattr(rule, "requires_callback", False):
                    return "callback"
            return found
        f = f.f_back
    return None


def _die(plan: dict[str, Any], line: str) -> None:
    if plan["log"]:
        fd = os.open(plan["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode("utf-8", "replace"))
            os.fsync(fd)
        finally:
            os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def attach(dbapi_conn: Any) -> None:
    """Watch this sqlite3 connection's statements when armed (no-op otherwise)."""
    plan = _load_plan()
    if plan is None or plan["site"] == "draft":
        return
    state = {"site": None, "stmt": 0}

    def trace(sql: str) -> None:
        head = sql.lstrip()[:10].upper()
        if head.startswith("BEGIN"):
            state["site"], state["stmt"] = _site_from_stack(), 0
            return
        if state["site"] is None:
            return
        state["stmt"] += 1
        if state["site"] == plan["site"]:
            plan["seen"] += 1
            if plan["seen"] >= plan["n"]:
                in_tx = int(bool(dbapi_conn.in_transaction))
                _die(plan, f"killed site={plan['site']} stmt={state['stmt']} n={plan['n']} in_tx={in_tx} "
                           f"sql={' '.join(sql.split())[:60]!r}")
        if head.startswith(("COMMIT", "ROLLBACK", "END")):
            state["site"] = None

    dbapi_conn.set_trace_callback(trace)


def write_bytes(fh: Any, data: bytes, name: str = "draft") -> None:
    """``fh.write(data)``; when armed for ``name``, dies after the chosen byte (flushed to the OS)."""
    plan = _load_plan()
    if plan is None or plan["site"] != name:
        fh.write(data)
        return
    left = plan["n"] - plan["seen"]
    if left > len(data):
        plan["seen"] += len(data)
        fh.write(data)
        return
    cut = max(0, left - 1)  # the n-th byte is the one never written
    fh.write(data[:cut])
    fh.flush()
    _die(plan, f"killed site={name} stmt={cut} n={plan['n']} of={len(data)} in_tx=1")


__all__ = ["ALL_SITES", "ENV_AT", "ENV_LOG", "SITES", "armed_site", "attach", "site", "write_bytes"]
