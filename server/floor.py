"""The live floor's transport: push, not poll.

Each server process has one :class:`FloorHub`, an asyncio broadcaster. Every
open stream (a TL's board, an agent's command feed) subscribes to a few topics
and waits on its own queue; nothing in a stream touches the database after its
first snapshot.

Writers (any code running in :func:`server.api.common.run_write`) describe what
changed with :func:`emit` while they work. The message is published once, when
the transaction commits, and fanned out from there:

- **embedded SQLite, one process**: straight to the local hub after the commit;
- **PostgreSQL**: ``pg_notify`` inside the transaction (PostgreSQL delivers it on
  commit, in commit order, and drops it on rollback); every server process keeps
  one ``LISTEN`` connection that feeds its local hub, so processes agree;
- **SQLite with several worker processes**: the local hub at once, plus a row in
  ``floor_feed`` that the other processes read (one query per process every
  0.1 s while it has subscribers — never one per stream).

A message is ``{"t": topic, "e": event, "d": data}``; its SSE frame is encoded
once and shared by every subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from server.models import FloorFeed, utcnow

try:  # every instance decodes every live-floor notification: ~2 % of an instance's CPU with json
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is in the server extra
    _loads = json.loads

log = logging.getLogger("seatmate.server.floor")

CHANNEL = "seatmate_floor"
NOTIFY_MAX_BYTES = 7800  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
QUEUE_MAX = 2000  # a subscriber this far behind gets a fresh snapshot instead (RESYNC)
FEED_POLL_S = 0.1
FEED_KEEP = dt.timedelta(minutes=5)
_KEY = "floor_out"

#: Subscribers of this topic get every team's messages (an admin watching all teams).
ALL_TEAMS = "team:*"


def team_topic(team_id: str) -> str:
    """What a team's boards hear: presence, today's numbers, commands, monitor sessions."""
    return f"team:{team_id}"


def user_topic(user_id: str) -> str:
    """What one agent's own stream hears: commands and messages addressed to them."""
    return f"user:{user_id}"


def agents_topic(team_id: str) -> str:
    """What every agent of a team hears: messages to the whole team."""
    return f"agents:{team_id}"


def emit(session: Session, topic: str, event: str, data: dict[str, Any]) -> None:
    """Queue a message on the session; published when its transaction commits (run_write)."""
    session.info.setdefault(_KEY, []).append({"t": topic, "e": event, "d": data})


def take(session: Session) -> list[dict[str, Any]]:
    return session.info.pop(_KEY, [])


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Frame:
    """One published message; its SSE encoding is made once, on first use."""

    __slots__ = ("_sse", "data", "event", "topic")

    def __init__(self, topic: str, event: str, data: dict[str, Any]) -> None:
        self.topic, self.event, self.data = topic, event, data
        self._sse: str | None = None

    @property
    def sse(self) -> str:
        if self._sse is None:
            self._sse = f"event: {self.event}\ndata: {_dumps(self.data)}\n\n"
        return self._sse


class _Resync:
    def __repr__(self) -> str:
        return "RESYNC"


#: Put on a subscriber's queue when it may have missed messages (it fell behind, or the
#: LISTEN connection was re-established): the stream answers with a fresh snapshot.
RESYNC = _Resync()


class Subscription:
    """A stream's queue. Created and read on the hub's event loop."""

    def __init__(self, topics: Iterable[str], maxsize: int = QUEUE_MAX) -> None:
        self.topics = tuple(topics)
        self._q: asyncio.Queue[Frame | _Resync] = asyncio.Queue(maxsize)

    def put(self, item: Frame | _Resync) -> None:
        try:
            self._q.put_nowait(item)
        except asyncio.QueueFull:
            while not self._q.empty():
                self._q.get_nowait()
            self._q.put_nowait(RESYNC)

    async def get(self, timeout: float) -> Frame | _Resync | None:
        """The next message, or None after ``timeout`` seconds of silence."""
        try:
            return await asyncio.wait_for(self._q.get(), timeout)
        except asyncio.TimeoutError:
            return None


class FloorHub:
    """The per-process broadcaster (see the module doc). ``kind`` is ``local``,
    ``postgresql`` or ``sqlite-feed``."""

    def __init__(self, db_url: str, reader: sessionmaker[Session], writer: sessionmaker[Session],
                 write_lock: Any = None, workers: int = 1) -> None:
        backend = make_url(db_url).get_backend_name()
        self.kind = "postgresql" if backend == "postgresql" else ("sqlite-feed" if workers > 1 else "local")
        self.db_url = db_url
        self.reader, self.writer, self.write_lock = reader, writer, write_lock
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._subs: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []
        self._listening: asyncio.Event | None = None  # made on the loop in start()
        self._periodic: list[tuple[float, Callable[[], Any]]] = []
        self.stats = {"published": 0, "frames": 0, "deliveries": 0, "notifications": 0, "resyncs": 0,
                      "listen_reconnects": 0}

    # -- lifecycle (on the server's event loop) ----------------------------------

    def every(self, interval_s: float, fn: Callable[[], Any]) -> None:
        """Run coroutine function ``fn`` every ``interval_s`` on the hub's loop (before start)."""
        self._periodic.append((interval_s, fn))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._listening = asyncio.Event()
        if self.kind == "postgresql":
            self._tasks.append(asyncio.create_task(self._listen_pg(), name="floor-listen"))
            # Serve only once LISTEN is in place: a change committed after our first
            # board connects must reach it.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._listening.wait(), 10)
            if not self._listening.is_set():
                log.error("live floor: LISTEN %s not established yet; retrying in the background", CHANNEL)
        elif self.kind == "sqlite-feed":
            self._tasks.append(asyncio.create_task(self._tail_feed(), name="floor-feed"))
        for interval, fn in self._periodic:
            self._tasks.append(asyncio.create_task(self._run_every(interval, fn), name="floor-periodic"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()

    async def _run_every(self, interval: float, fn: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live floor: periodic task failed")

    # -- subscribers (event loop) --------------------------------------------------

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = Subscription(topics)
        for t in sub.topics:
            self._subs.setdefault(t, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        for t in sub.topics:
            subs = self._subs.get(t)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[t]

    def watched(self, prefix: str) -> set[str]:
        """Topics with at least one subscriber that start with ``prefix`` (prefix removed)."""
        return {t[len(prefix):] for t, subs in self._subs.items() if subs and t.startswith(prefix)}

    @property
    def subscribers(self) -> int:
        return len({s for subs in self._subs.values() for s in subs})

    def dispatch(self, items: Iterable[dict[str, Any]]) -> None:
        """Deliver messages to this process's subscribers. Event loop only."""
        for item in items:
            topic = item.get("t")
            if not isinstance(topic, str):
                continue
            targets = self._subs.get(topic)
            extra = self._subs.get(ALL_TEAMS) if topic.startswith("team:") else None
            if not targets and not extra:
                continue
            frame = Frame(topic, str(item.get("e")), item.get("d") or {})
            self.stats["frames"] += 1
            for sub in (*(targets or ()), *(extra or ())):
                sub.put(frame)
                self.stats["deliveries"] += 1

    def resync_all(self) -> None:
        self.stats["resyncs"] += 1
        for sub in {s for subs in self._subs.values() for s in subs}:
            sub.put(RESYNC)

    # -- publishing (writer threads) -------------------------------------------------

    def before_commit(self, session: Session, items: list[dict[str, Any]]) -> None:
        """Inside the writer's transaction, just before commit."""
        if self.kind == "postgresql":
            for chunk in _chunks(items):
                session.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": chunk})
        elif self.kind == "sqlite-feed":
            session.execute(insert(FloorFeed), [{"origin": self.origin, "payload": _dumps(items), "at": utcnow()}])

    def after_commit(self, items: list[dict[str, Any]]) -> None:
        """After the commit, still in the writer's thread (under the SQLite write lock,
        so local subscribers see commits in order)."""
        self.stats["published"] += len(items)
        if self.kind != "postgresql":  # PostgreSQL's LISTEN brings our own messages back
            self.post(items)

    def post(self, items: list[dict[str, Any]]) -> None:
        """From any thread: dispatch on the hub's loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self.dispatch, items)
        except RuntimeError:  # loop closing during shutdown
            pass

    # -- PostgreSQL: one LISTEN connection per process ----------------------------------

    async def _listen_pg(self) -> None:
        import psycopg

        url = make_url(self.db_url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        delay = 0.5
        first = True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    dsn, autocommit=True, connect_timeout=10,
                    keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if not first:
                        # Messages may have gone by while we were away: every stream re-snapshots.
                        self.stats["listen_reconnects"] += 1
                        self.resync_all()
                    first = False
                    delay = 0.5
                    assert self._listening is not None
                    self._listening.set()
                    async for note in conn.notifies():
                        self.stats["notifications"] += 1
                        try:
                            items = _loads(note.payload)
                        except ValueError:
                            log.warning("live floor: unreadable notification dropped")
                            continue
                        self.dispatch(items if isinstance(items, list) else [items])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live floor: LISTEN connection lost (%s); reconnecting in %.1f s", exc, delay)
            if self._listening is not None:
                self._listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    # -- SQLite with several workers: tail floor_feed ------------------------------------

    async def _tail_feed(self) -> None:
        last: int | None = None
        trimmed = 0.0
        while True:
            await asyncio.sleep(FEED_POLL_S)
            if not self._subs:
                last = None  # nobody listens: a new board starts from its snapshot anyway
                continue
            try:
                if last is None:
                    last = await asyncio.to_thread(self._feed_max)
                    continue
                rows = await asyncio.to_thread(self._feed_after, last)
                for row_id, origin, payload in rows:
                    last = row_id
                    if origin != self.origin:
                        with contextlib.suppress(ValueError):
                            self.dispatch(json.loads(payload))
                now = asyncio.get_running_loop().time()
                if now - trimmed > 60:
                    trimmed = now
                    await asyncio.to_thread(self._feed_trim)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live floor: reading floor_feed failed")

    def _feed_max(self) -> int:
        with self.reader() as s:
            return int(s.execute(select(func.max(FloorFeed.id))).scalar() or 0)

    def _feed_after(self, last: int) -> list[tuple[int, str, str]]:
        with self.reader() as s:
            return [tuple(r) for r in s.execute(
                select(FloorFeed.id, FloorFeed.origin, FloorFeed.payload)
                .where(FloorFeed.id > last).order_by(FloorFeed.id).limit(1000)).all()]

    def _feed_trim(self) -> None:
        lock = self.write_lock or contextlib.nullcontext()
        with lock, self.writer() as s:
            s.execute(delete(FloorFeed).where(FloorFeed.at < utcnow() - FEED_KEEP))
            s.commit()


def _chunks(items: list[dict[str, Any]]) -> Iterable[str]:
    """JSON arrays of messages, each under PostgreSQL's NOTIFY payload limit."""
    batch: list[str] = []
    size = 2
    for item in items:
        enc = _dumps(item)
        n = len(enc.encode())
        if n + 2 > NOTIFY_MAX_BYTES:
            log.warning("live floor: a %d-byte message is too large to publish; dropped", n)
            continue
        if batch and size + n + 1 > NOTIFY_MAX_BYTES:
            yield "[" + ",".join(batch) + "]"
            batch, size = [], 2
        batch.append(enc)
        size += n + 1
    if batch:
        yield "[" + ",".join(batch) + "]"
