"""``seatmate-server simulate-floor``: simulated agents that work the demo floor over HTTP.

Each simulated agent logs in and behaves like the desktop app would: a presence
heartbeat every 5 s, state changes (就绪 → 通话中 → 话后处理 → 就绪, now and then
小休 with a reason), and after every call a push of ``call_attempted``,
``call_ended`` and ``disposition_recorded`` events for one of its leads. It keeps
its agent stream open and obeys the TL's orders (forced 小休 / 就绪) — deferring a
pause ordered during a call until the wrap-up is done — and acknowledges them.
So a newcomer logged in as the demo TL (``zhangwei``) sees a living floor.

The accounts (and ten leads each) are created in the database first, like any
``seatmate-server`` admin command; everything after that goes over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import admin, demo
from server.leads_import import ParseResult
from server.models import Lead, User

log = logging.getLogger("seatmate.server.demo_floor")

LEADS_EACH = 10
PAUSE_REASONS = ("休息", "用餐", "培训")
CODES_CONNECTED = ("SALE", "CALLBACK", "INTERESTED", "REFUSED", "REFUSED")


def sim_usernames(n: int) -> list[tuple[str, str, str]]:
    """The first ``n`` simulated agents: the demo's five, then sim06, sim07 …"""
    users = list(demo.SIM_USERS[:n])
    for i in range(len(users), n):
        users.append((f"sim{i + 1:02d}", f"模拟坐席{i + 1:02d}", f"2{i + 1:03d}"))
    return users


def ensure_agents(s: Session, n: int, team: str = demo.TEAM, password: str = demo.SIM_PASSWORD) -> list[str]:
    """Create the simulated agents that are missing (and their leads); returns usernames."""
    campaign = admin.find_campaign(s, demo.CAMPAIGN)
    names = []
    for i, (username, display, sip) in enumerate(sim_usernames(n)):
        user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            user = admin.create_user(s, username, password, "tsr", team=team, display_name=display, sip_user=sip)
        names.append(username)
        rows = [{"external_id": f"SIM-{username}-{k:02d}", "name": f"模拟客户{i + 1}-{k}",
                 "phones": [{"number": f"+86139{(i * 100 + k) % 10**8:08d}", "label": "mobile"}],
                 "gender": "", "city": "宜昌", "plate": "", "vehicle": "", "policy_expiry": None,
                 "last_premium": None, "source": "simulate-floor", "priority": 3, "notes": ""}
                for k in range(LEADS_EACH)]
        admin.import_rows(s, campaign, ParseResult(rows=rows, total=len(rows)))
        s.flush()
        for r in rows:
            lead = s.get(Lead, admin.lead_id_for(campaign.id, r["external_id"]))
            if lead is not None and lead.assigned_to is None:
                admin.assign_lead(s, lead, user)
    return names


def _iso(t: float | None = None) -> str:
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


@dataclass
class SimAgent:
    username: str
    password: str
    base_url: str
    speed: float = 1.0
    rng: random.Random = field(default_factory=random.Random)
    state: str = "offline"
    reason: str | None = None
    call_id: str | None = None
    lead_id: str | None = None
    leads: list[str] = field(default_factory=list)
    pending_pause: dict[str, Any] | None = None
    forced: asyncio.Event = field(default_factory=asyncio.Event)
    token: str = ""
    token_at: float = 0.0
    calls: int = 0

    def _h(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def login(self, c: httpx.AsyncClient) -> None:
        r = await c.post("/api/v1/auth/login", json={"username": self.username, "password": self.password,
                                                     "device_id": f"simulate-floor-{self.username}"})
        r.raise_for_status()
        self.token, self.token_at = r.json()["access_token"], time.monotonic()

    async def _ensure_token(self, c: httpx.AsyncClient) -> None:
        if time.monotonic() - self.token_at > 10 * 60:  # access tokens live 15 min
            await self.login(c)

    async def presence(self, c: httpx.AsyncClient) -> None:
        body: dict[str, Any] = {"state": self.state}
        for k in ("reason", "call_id", "lead_id"):
            if getattr(self, k) is not None:
                body[k] = getattr(self, k)
        await self._ensure_token(c)
        r = await c.post("/api/v1/presence", json=body, headers=self._h())
        if r.status_code == 401:
            await self.login(c)

    async def set_state(self, c: httpx.AsyncClient, state: str, reason: str | None = None) -> None:
        self.state, self.reason = state, reason
        if state != "on_call" and state != "wrap_up":
            self.call_id = self.lead_id = None
        await self.presence(c)

    async def push(self, c: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
        await self._ensure_token(c)
        await c.post("/api/v1/sync/push", json={"events": events}, headers=self._h())

    async def pull_leads(self, c: httpx.AsyncClient) -> None:
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
            r = await c.get("/api/v1/sync/pull", params=params, headers=self._h())
            body = r.json()
            for ch in body["changes"]:
                if ch["entity"] == "lead" and ch["op"] == "upsert" and ch["id"] not in self.leads:
                    self.leads.append(ch["id"])
            cursor = body["next_cursor"]
            if not body["has_more"]:
                return

    async def wait(self, lo: float, hi: float) -> bool:
        """Sleep lo..hi seconds (scaled); True if a TL's order interrupted it."""
        try:
            await asyncio.wait_for(self.forced.wait(), self.rng.uniform(lo, hi) / self.speed)
        except asyncio.TimeoutError:
            return False
        self.forced.clear()
        return True

    async def heartbeat(self, c: httpx.AsyncClient) -> None:
        while True:
            await asyncio.sleep(5.0)
            try:
                await self.presence(c)
            except httpx.HTTPError as exc:
                log.info("%s: heartbeat failed: %s", self.username, exc)

    async def orders(self, c: httpx.AsyncClient) -> None:
        """Obey the TL: the agent stream brings forced 小休 / 就绪 at once."""
        while True:
            try:
                async with c.stream("GET", "/api/v1/agent/stream", headers=self._h(),
                                    timeout=httpx.Timeout(10, read=60)) as r:
                    name = ""
                    async for line in r.aiter_lines():
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: ") and name == "command":
                            await self.obey(c, json.loads(line[6:]))
            except httpx.HTTPError:
                pass
            await asyncio.sleep(1.0)
            await self._ensure_token(c)

    async def obey(self, c: httpx.AsyncClient, cmd: dict[str, Any]) -> None:
        if cmd.get("status") not in ("pending", None):
            return
        if cmd["state"] == "paused" and self.state in ("on_call", "wrap_up"):
            self.pending_pause = cmd  # after this call, like the app's pending pause
            result = "deferred"
        else:
            self.pending_pause = None
            await self.set_state(c, cmd["state"], cmd.get("reason"))
            self.forced.set()
            result = "applied"
        await c.post(f"/api/v1/agent/commands/{cmd['id']}/ack", json={"result": result}, headers=self._h())

    async def work(self, c: httpx.AsyncClient) -> None:
        await self.set_state(c, "ready")
        while True:
            if self.state == "paused":
                if not await self.wait(20, 60):
                    await self.set_state(c, "ready")
                continue
            if await self.wait(3, 15):
                continue  # a TL's order changed our state
            if self.rng.random() < 0.08:
                await self.set_state(c, "paused", self.rng.choice(PAUSE_REASONS))
                continue
            await self.call(c)

    async def call(self, c: httpx.AsyncClient) -> None:
        self.lead_id = self.rng.choice(self.leads) if self.leads else None
        self.call_id = uuid.uuid4().hex
        dialed = time.time()
        await self.set_state(c, "on_call")
        answered = self.rng.random() < 0.55
        ring = self.rng.uniform(4, 15) / self.speed
        talk = self.rng.uniform(20, 180) / self.speed if answered else 0.0
        await asyncio.sleep(ring + talk)
        ended = time.time()
        call_id, lead_id = self.call_id, self.lead_id
        await self.set_state(c, "wrap_up")
        self.call_id, self.lead_id = call_id, lead_id
        code = self.rng.choice(CODES_CONNECTED) if answered else "NO_ANSWER"
        events = [
            {"id": str(uuid.uuid4()), "type": "call_attempted", "occurred_at": _iso(dialed), "lead_id": lead_id,
             "payload": {"call_id": call_id, "number_e164": "+8613900000000", "direction": "out"}},
            {"id": str(uuid.uuid4()), "type": "call_ended", "occurred_at": _iso(ended), "lead_id": lead_id,
             "payload": {"call_id": call_id, "dialed_at": _iso(dialed), "ended_at": _iso(ended),
                         "answered_at": _iso(dialed + ring) if answered else None,
                         "sip_status": 200 if answered else 480, "talk_seconds": int(talk * self.speed)}},
        ]
        if lead_id:
            payload: dict[str, Any] = {"call_id": call_id, "code": code}
            if code in ("CALLBACK", "INTERESTED"):
                payload["callback_at"] = _iso(time.time() + 86400)
            events.append({"id": str(uuid.uuid4()), "type": "disposition_recorded", "occurred_at": _iso(),
                           "lead_id": lead_id, "payload": payload})
        await self.wait(4, 15)
        await self.push(c, events)
        self.calls += 1
        if self.pending_pause is not None:
            cmd, self.pending_pause = self.pending_pause, None
            await self.set_state(c, "paused", cmd.get("reason"))
            await c.post(f"/api/v1/agent/commands/{cmd['id']}/ack", json={"result": "applied"}, headers=self._h())
        else:
            await self.set_state(c, "ready")

    async def run(self, stagger: float) -> None:
        await asyncio.sleep(stagger)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as c:
            await self.login(c)
            await self.pull_leads(c)
            await asyncio.gather(self.heartbeat(c), self.orders(c), self.work(c))


async def simulate(base_url: str, usernames: list[str], password: str, *, speed: float = 1.0,
                   duration: float = 0.0, seed: int | None = None) -> list[SimAgent]:
    rng = random.Random(seed)
    agents = [SimAgent(u, password, base_url, speed, random.Random(rng.random())) for u in usernames]
    tasks = [asyncio.create_task(a.run(stagger=i * 0.2)) for i, a in enumerate(agents)]
    try:
        if duration:
            await asyncio.wait(tasks, timeout=duration)
        else:
            await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as c:
            for a in agents:  # leave the board tidy: everyone logs off
                if a.token:
                    a.state, a.reason, a.call_id, a.lead_id = "offline", None, None, None
                    try:
                        await c.post("/api/v1/presence", json={"state": "offline"}, headers=a._h())
                    except httpx.HTTPError:
                        pass
    return agents


def describe(agents: list[SimAgent]) -> str:
    return ", ".join(f"{a.username}: {a.calls} calls" for a in agents)


__all__ = ["SimAgent", "describe", "ensure_agents", "sim_usernames", "simulate"]
