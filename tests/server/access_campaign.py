"""Access control by property: who may read or write what, tried over the real API.

A live server (loopback) holds two teams — team A (TL, agents a1 a2 a3) and team B (TL, agents
b1 b3) — with leads, calls, complete recordings, dispositions, coaching evaluations, commands and
questions for each. Nine identities call it: a1 ("tsr_a"), b1 ("tsr_b"), both TLs, an admin, an
expired token (signed with the server's own key), a token revoked by logout, one revoked by
refresh-token reuse, and no token at all.

The **oracle** (:data:`ORACLE`) says, for every route of the API (and every event type of a push),
which *relation* between the caller and the object may succeed:

    owner      the agent the object belongs to (their lead, call, recording, evaluation, command)
    mate       another TSR of the owner's team
    tl         the TL of the owner's team (for a monitor grant/session: the TL who owns it)
    other_tsr  a TSR of another team
    other_tl   a TL of another team
    admin      an admin (team given where the route needs one)
    admin_all  an admin without a team (routes that need one must refuse)
    bad        expired / revoked / missing token

A row value is ``True`` (must answer 2xx / be accepted), ``False`` (must not: a 2xx here is an
**unauthorised success**) or ``SCOPED`` (2xx with a filtered answer, or a refusal; either way the
answer must carry nothing of the caller's foreign objects). Every 2xx answer is scanned for the
ids of objects the caller may not see (other teams' users, leads, calls, evaluations…; a TSR's
teammates' too): one found is a **leak**. 5xx is counted separately.

``ORACLE`` must have a row for every operation in the server's OpenAPI document: a new route
without one fails the test (tests/server/test_access_property.py).

Long run: ``python -m tests.server.access_campaign --examples N --seed S [--backend postgresql]``
prints the counts and merges them into bench-results/reliability.json.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("SEATMATE_SERVER_ARGON2", "1,1024,1")

from server import admin, security
from server.demo import CAMPAIGN
from server.models import User
from tests.server.helpers import PASSWORD, event, make_team, now_iso
from tests.server.live import LiveServer

SCOPED = "scoped"
VALID = ("tsr_a", "tsr_b", "tl_a", "tl_b", "admin")
BAD = ("expired", "revoked_logout", "revoked_reuse", "anon")
IDENTITIES = VALID + BAD
RELATIONS = ("owner", "mate", "tl", "other_tsr", "other_tl", "admin", "admin_all", "bad")


def allow(*rels: str, scoped: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row: the relations that must succeed; ``scoped`` ones may (filtered) or may be refused."""
    unknown = set(rels + scoped) - set(RELATIONS)
    assert not unknown, unknown
    return {r: True if r in rels else SCOPED if r in scoped else False for r in RELATIONS}


EVERYONE = allow("owner", "mate", "tl", "other_tsr", "other_tl", "admin", "admin_all")
PUBLIC = {r: True for r in RELATIONS}
# A lead (or the call/recording behind it): the agent, their TL, an admin.
LEAD_RULE = allow("owner", "tl", "admin", "admin_all")
TEAM_READ = allow("owner", "tl", "admin", "admin_all")  # owner = a TSR of that team (own rows only)
SUPERVISE = allow("tl", "admin")  # TL of the team, or an admin naming it
TL_ONLY = allow("tl")
OWNER_ONLY = allow("owner")

# (method, path, variant) -> (object kind, relation -> allowed?). Variants split one route by what
# its request names (a push by event type; a list by the parameter that scopes it).
ORACLE: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {
    ("GET", "/healthz", ""): ("none", PUBLIC),
    ("GET", "/api/v1/admin/diagnostics", ""): ("none", allow("admin", "admin_all")),
    ("POST", "/api/v1/auth/login", ""): ("none", EVERYONE),  # own password; "bad": an unknown user
    ("POST", "/api/v1/auth/refresh", ""): ("none", EVERYONE),  # own refresh token; "bad": a dead one
    ("POST", "/api/v1/auth/logout", ""): ("none", EVERYONE),
    ("GET", "/api/v1/auth/me", ""): ("none", EVERYONE),
    ("GET", "/api/v1/sync/pull", ""): ("none", EVERYONE),
    ("POST", "/api/v1/sync/push", "note_added"): ("lead", LEAD_RULE),
    ("POST", "/api/v1/sync/push", "callback_scheduled"): ("lead", LEAD_RULE),
    ("POST", "/api/v1/sync/push", "disposition_recorded"): ("lead", LEAD_RULE),
    ("POST", "/api/v1/sync/push", "call_attempted"): ("lead", LEAD_RULE),
    ("POST", "/api/v1/sync/push", "unscripted_question"): ("lead", LEAD_RULE),
    # A correction may replace only the caller's own disposition (not even the TL's or an admin's).
    ("POST", "/api/v1/sync/push", "correction"): ("disposition", OWNER_ONLY),
    ("POST", "/api/v1/sync/push", "call_ended"): ("call", OWNER_ONLY),  # re-reporting someone's call
    ("POST", "/api/v1/sync/push", "disposition_on_call"): ("call", OWNER_ONLY),  # own lead, their call id
    # A call id someone has started uploading a recording for: only they may report that call.
    ("POST", "/api/v1/sync/push", "call_ended_on_upload"): ("upload", OWNER_ONLY),
    ("POST", "/api/v1/sync/push", "coaching_score"): ("agent", allow("tl", "admin", "admin_all")),
    ("POST", "/api/v1/sync/push", "coaching_evaluation_recorded"): ("call", allow("tl", "admin", "admin_all")),
    ("POST", "/api/v1/sync/push", "coaching_acknowledged"): ("evaluation", OWNER_ONLY),
    ("POST", "/api/v1/sync/push", "coaching_disputed"): ("evaluation", OWNER_ONLY),
    ("POST", "/api/v1/sync/push", "agent_state_changed"): ("none", EVERYONE),
    ("POST", "/api/v1/sync/push", "dnc_requested"): ("none", EVERYONE),
    ("GET", "/api/v1/presence", ""): ("none", EVERYONE),
    ("POST", "/api/v1/presence", ""): ("lead", LEAD_RULE),  # on a call with this lead
    ("GET", "/api/v1/presence/stream", ""): ("none", allow("tl", "other_tl", "admin", "admin_all")),
    ("POST", "/api/v1/monitor/grants", ""): ("agent", TL_ONLY),
    ("POST", "/api/v1/monitor/sessions", ""): ("grant", TL_ONLY),
    ("POST", "/api/v1/monitor/sessions/{session_id}/mode", ""): ("session", TL_ONLY),
    ("POST", "/api/v1/monitor/sessions/{session_id}/end", ""): ("session", TL_ONLY),
    ("HEAD", "/api/v1/recordings/{call_id}", ""): ("recording", OWNER_ONLY),  # the upload's offset
    ("PATCH", "/api/v1/recordings/{call_id}", ""): ("upload", OWNER_ONLY),
    ("POST", "/api/v1/recordings/{call_id}/complete", ""): ("upload", OWNER_ONLY),
    ("GET", "/api/v1/recordings/{call_id}", ""): ("recording", LEAD_RULE),
    ("GET", "/api/v1/recordings/{call_id}/stream", ""): ("recording", LEAD_RULE),  # with Range
    ("GET", "/api/v1/recordings/{call_id}/playbacks", ""): ("recording", allow("tl", "admin", "admin_all")),
    ("GET", "/api/v1/recordings/{call_id}/peaks", ""): ("recording", LEAD_RULE),
    ("GET", "/api/v1/recordings", "team"): ("team", TEAM_READ),
    ("GET", "/api/v1/recordings", "agent"): ("agent", allow("owner", "tl", "admin", "admin_all",
                                                            scoped=("other_tl",))),
    ("GET", "/api/v1/reports/daily", ""): ("team", TEAM_READ),
    ("GET", "/api/v1/reports/summary", ""): ("team", TEAM_READ),
    ("GET", "/api/v1/supervisor/board", ""): ("team", SUPERVISE),
    ("GET", "/api/v1/supervisor/board/stream", ""): ("team", SUPERVISE),
    ("POST", "/api/v1/supervisor/agents/{agent_id}/state", ""): ("agent", TL_ONLY),
    ("POST", "/api/v1/supervisor/messages", "agent"): ("agent", TL_ONLY),
    ("POST", "/api/v1/supervisor/messages", "team"): ("team", TL_ONLY),
    ("GET", "/api/v1/supervisor/audit", ""): ("team", SUPERVISE),
    ("GET", "/api/v1/agent/stream", ""): ("none", EVERYONE),
    ("POST", "/api/v1/agent/commands/{command_id}/ack", ""): ("command", OWNER_ONLY),
    ("GET", "/api/v1/supervisor/distribution", ""): ("team", SUPERVISE),
    ("POST", "/api/v1/supervisor/distribution/preview", ""): ("agent", SUPERVISE),
    ("POST", "/api/v1/supervisor/distribution/commit", ""): ("agent", SUPERVISE),
    ("POST", "/api/v1/supervisor/distribution/reclaim", ""): ("victim", SUPERVISE),
    ("GET", "/api/v1/coaching/forms/{campaign_id}", ""): ("none", EVERYONE),
    ("GET", "/api/v1/coaching/evaluations", "agent"): ("agent", allow("owner", "tl", "admin", "admin_all",
                                                                      scoped=("other_tl",))),
    # A TSR naming a team gets their own evaluations whatever the team: filtered, not refused.
    ("GET", "/api/v1/coaching/evaluations", "team"): ("team", allow("owner", "tl", "admin", "admin_all",
                                                                    scoped=("other_tsr",))),
    ("GET", "/api/v1/supervisor/questions", ""): ("team", allow("tl", "admin", "admin_all")),
    ("POST", "/api/v1/supervisor/questions/answer", ""): ("question", allow("tl", "admin", "admin_all")),
}


def routes_of(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, ops in openapi["paths"].items() for m in ops
            if m.lower() in ("get", "post", "put", "patch", "delete", "head")}


def missing_rows(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    """Operations of the API that the oracle has no row for."""
    return routes_of(openapi) - {(m, p) for m, p, _v in ORACLE}


# -- the world -----------------------------------------------------------------------------

@dataclass
class Obj:
    """One object of the world: its id, the agent it belongs to and that agent's team."""

    id: str
    owner: str  # user id (the TL's for grants/sessions; "" for a team)
    team: str | None  # "A" | "B" | None (a team parameter left out)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ident:
    name: str
    role: str  # tsr | tl | admin | bad
    user_id: str = ""
    username: str = ""
    team: str | None = None  # "A" | "B"
    token: str | None = None
    refresh: str | None = None  # a dead one for the revoked identities


class World:
    """The two teams, their objects and the identities, on a running server."""

    def __init__(self, srv: LiveServer) -> None:
        self.srv = srv
        self.client = srv.client(timeout=30)
        self.a = make_team(srv, n_tsr=3, leads_each=2)
        self.b = make_team(srv, n_tsr=2, leads_each=2)
        self.teams = {"A": self.a, "B": self.b}
        self.team_ids = {"A": self.a.id, "B": self.b.id}
        tag = uuid.uuid4().hex[:6]
        with srv.admin() as s:
            adm = admin.create_user(s, f"adm_{tag}", PASSWORD, "admin", None)
            self.admin_id = adm.id
            self.admin_name = adm.username
            self.campaign_id = admin.find_campaign(s, CAMPAIGN).id
        self.user_team: dict[str, str] = {}
        self.user_role: dict[str, str] = {}
        for key, t in self.teams.items():
            for uname, uid in t.user_ids.items():
                self.user_team[uid] = key
                self.user_role[uid] = "tl" if uname == t.tl else "tsr"
        self.user_role[self.admin_id] = "admin"
        self.a1, self.a2, self.a3 = (self.a.user_ids[u] for u in self.a.tsrs)
        self.b1, self.b3 = (self.b.user_ids[u] for u in self.b.tsrs)
        self.names = {uid: uname for t in self.teams.values() for uname, uid in t.user_ids.items()}
        self.names[self.admin_id] = self.admin_name
        self.tl_of = {"A": self.a.user_ids[self.a.tl], "B": self.b.user_ids[self.b.tl]}
        self.idents = self._identities()
        self.form_items = self._form_items()
        self.pool: dict[str, list[Obj]] = {}
        self._objects()

    # identities ------------------------------------------------------------------------
    def _login(self, username: str) -> dict[str, Any]:
        r = self.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD,
                                                         "device_id": "access"})
        assert r.status_code == 200, r.text
        return r.json()

    def _identities(self) -> dict[str, Ident]:
        out: dict[str, Ident] = {}
        for name, uid in (("tsr_a", self.a1), ("tsr_b", self.b1), ("tl_a", self.tl_of["A"]),
                          ("tl_b", self.tl_of["B"]), ("admin", self.admin_id)):
            tokens = self._login(self.names[uid])
            out[name] = Ident(name, self.user_role[uid], uid, self.names[uid], self.user_team.get(uid),
                              tokens["access_token"], tokens["refresh_token"])
        # Expired: a real token, signed with the server's key, whose exp has passed.
        with self.srv.admin() as s:
            from server import keys

            key = keys.load_or_create(s).token_key
            user = s.get(User, self.a1)
            fam = security.new_family(s, user, "expired")
            expired = security.issue_access(key, user, fam.id, -5)
        out["expired"] = Ident("expired", "bad", token=expired)
        # Revoked by logout.
        t = self._login(self.names[self.a1])
        assert self.client.post("/api/v1/auth/logout", headers=self._h(t["access_token"])).status_code == 204
        out["revoked_logout"] = Ident("revoked_logout", "bad", token=t["access_token"], refresh=t["refresh_token"])
        # Revoked by refresh-token reuse: rotate, then present the first token again.
        t = self._login(self.names[self.b1])
        r1 = self.client.post("/api/v1/auth/refresh", json={"refresh_token": t["refresh_token"]})
        assert r1.status_code == 200, r1.text
        self.client.post("/api/v1/auth/refresh", json={"refresh_token": r1.json()["refresh_token"]})  # used
        reuse = self.client.post("/api/v1/auth/refresh", json={"refresh_token": t["refresh_token"]})
        assert reuse.status_code == 401, reuse.text
        out["revoked_reuse"] = Ident("revoked_reuse", "bad", token=r1.json()["access_token"],
                                     refresh=r1.json()["refresh_token"])
        out["anon"] = Ident("anon", "bad")
        time.sleep(1.1)  # the revocation cache reloads once a second
        return out

    @staticmethod
    def _h(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def h(self, who: str) -> dict[str, str]:
        return self._h(self.idents[who].token)

    def uh(self, user_id: str) -> dict[str, str]:
        """Headers of any world user (setup steps act as the object's owner)."""
        for i in self.idents.values():
            if i.user_id == user_id:
                return self._h(i.token)
        tok = self._login(self.names[user_id])
        self.idents[f"_{user_id}"] = Ident(f"_{user_id}", self.user_role[user_id], user_id,
                                           self.names[user_id], self.user_team.get(user_id), tok["access_token"])
        return self._h(tok["access_token"])

    # objects ---------------------------------------------------------------------------
    def _form_items(self) -> list[str]:
        from core import coaching

        r = self.client.get(f"/api/v1/coaching/forms/{self.campaign_id}", headers=self.h("tl_a"))
        assert r.status_code == 200, r.text
        body = {k: v for k, v in r.json().items() if k not in ("campaign_id", "version")}
        return list(coaching.parse_form(body).item_ids)

    def push_ok(self, user_id: str, events: list[dict]) -> None:
        r = self.client.post("/api/v1/sync/push", headers=self.uh(user_id), json={"events": events})
        assert r.status_code == 200, r.text
        bad = [x for x in r.json()["results"] if x["status"] != "accepted"]
        assert not bad, bad

    def lead_of(self, user_id: str) -> str:
        team = self.teams[self.user_team[user_id]]
        return team.leads[self.names[user_id]][0]

    def new_call(self, user_id: str, lead: bool = True) -> str:
        call_id = f"c{uuid.uuid4().hex}"
        self.push_ok(user_id, [event("call_ended", self.lead_of(user_id) if lead else None,
                                     {"call_id": call_id, "dialed_at": now_iso(-90), "answered_at": now_iso(-80),
                                      "ended_at": now_iso(-5), "talk_seconds": 75})])
        return call_id

    def upload(self, user_id: str, call_id: str, data: bytes, complete: bool = True) -> None:
        h = self.uh(user_id)
        r = self.client.patch(f"/api/v1/recordings/{call_id}", headers=h | {"Upload-Offset": "0"}, content=data)
        assert r.status_code == 204, r.text
        if complete:
            r = self.client.post(f"/api/v1/recordings/{call_id}/complete", headers=h,
                                 json={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
            assert r.status_code == 200, r.text

    def evaluate(self, user_id: str, call_id: str) -> str:
        ev = event("coaching_evaluation_recorded", None, {
            "agent_id": user_id, "call_id": call_id, "campaign_id": self.campaign_id,
            "items": [{"item": i, "answer": "Y"} for i in self.form_items]})
        self.push_ok(self.tl_of[self.user_team[user_id]], [ev])
        return ev["id"]

    def on_call(self, user_id: str) -> None:
        r = self.client.post("/api/v1/presence", headers=self.uh(user_id),
                             json={"state": "on_call", "call_id": f"live-{user_id[:8]}",
                                   "lead_id": self.lead_of(user_id)})
        assert r.status_code == 200, r.text

    def command(self, user_id: str) -> str:
        r = self.client.post(f"/api/v1/supervisor/agents/{user_id}/state",
                             headers=self.uh(self.tl_of[self.user_team[user_id]]), json={"state": "ready"})
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def question(self, user_id: str) -> str:
        ev = event("unscripted_question", self.lead_of(user_id), {"text": f"能便宜点吗 {uuid.uuid4().hex[:6]}"})
        self.push_ok(user_id, [ev])
        return ev["id"]

    def grant(self, team: str, agent: str) -> str:
        self.on_call(agent)
        r = self.client.post("/api/v1/monitor/grants", headers=self.uh(self.tl_of[team]),
                             json={"agent_id": agent, "mode": "listen"})
        assert r.status_code == 200, r.text
        return r.json()["jti"]

    def session(self, team: str, agent: str) -> str:
        jti = self.grant(team, agent)
        r = self.client.post("/api/v1/monitor/sessions", headers=self.uh(self.tl_of[team]), json={"jti": jti})
        assert r.status_code == 201, r.text
        return r.json()["session_id"]

    def _objects(self) -> None:
        agents = (self.a1, self.a2, self.b1)
        p = self.pool
        p["agent"] = [Obj(u, u, self.user_team[u]) for u in agents]
        p["victim"] = [Obj(u, u, self.user_team[u]) for u in (self.a3, self.b3)]
        p["lead"] = [Obj(self.lead_of(u), u, self.user_team[u]) for u in agents]
        p["team"] = [Obj(self.team_ids["A"], "", "A"), Obj(self.team_ids["B"], "", "B"), Obj("", "", None)]
        p["call"], p["recording"], p["disposition"], p["evaluation"], p["command"] = [], [], [], [], []
        wav = _wav()
        for u in agents:
            call = self.new_call(u)
            self.upload(u, call, wav)
            p["call"].append(Obj(call, u, self.user_team[u]))
            p["recording"].append(Obj(call, u, self.user_team[u], {"size": len(wav)}))
            d = event("disposition_recorded", self.lead_of(u), {"code": "REFUSED", "call_id": call})
            self.push_ok(u, [d])
            p["disposition"].append(Obj(d["id"], u, self.user_team[u], {"lead": self.lead_of(u)}))
            p["evaluation"].append(Obj(self.evaluate(u, call), u, self.user_team[u]))
            p["command"].append(Obj(self.command(u), u, self.user_team[u]))
            self.on_call(u)
        # Kinds made fresh for each request (each is used up by the request that succeeds).
        p["grant"] = [Obj("", self.tl_of[self.user_team[u]], self.user_team[u], {"agent": u}) for u in agents]
        p["session"] = list(p["grant"])
        p["upload"] = [Obj("", u, self.user_team[u]) for u in agents]
        p["question"] = [Obj("", u, self.user_team[u]) for u in agents]
        p["none"] = [Obj("", "", None)]

    # what each caller may not see ------------------------------------------------------
    def foreign_markers(self, ident: Ident) -> set[str]:
        """Ids that must never appear in a 2xx answer to this caller."""
        if ident.role == "admin" or ident.role == "bad":
            return set()
        out: set[str] = set()
        for kind in ("agent", "victim", "lead", "call", "disposition", "evaluation", "command"):
            for o in self.pool[kind]:
                foreign_team = o.team != ident.team
                teammate = ident.role == "tsr" and o.owner != ident.user_id
                if foreign_team or teammate:
                    out.add(o.id)
        for key, t in self.teams.items():
            if key != ident.team:
                out |= set(t.user_ids.values()) | set(t.user_ids)  # ids and usernames
        return out

    def relation(self, ident: Ident, kind: str, obj: Obj) -> str:
        if ident.role == "bad":
            return "bad"
        if ident.role == "admin":
            return "admin_all" if kind == "team" and obj.team is None else "admin"
        if kind == "none":
            return "owner" if ident.role == "tsr" else "tl"
        team = obj.team if obj.team is not None else ident.team  # a team left out: the caller's own
        if ident.role == "tl":
            if kind in ("grant", "session"):
                return "tl" if obj.owner == ident.user_id else "other_tl"
            return "tl" if team == ident.team else "other_tl"
        if team != ident.team:
            return "other_tsr"
        if kind == "team":
            return "owner"
        return "owner" if obj.owner == ident.user_id else "mate"

    def noise(self, delay: float) -> None:
        """Both floors move while a stream is open: each TL sends a private message to one of
        their agents and an order to another, and an agent of each team changes state."""
        time.sleep(delay)
        with self.srv.client(timeout=30) as c:
            for team, (to, ordered) in (("A", (self.a2, self.a1)), ("B", (self.b1, self.b3))):
                tl = self.uh(self.tl_of[team])
                c.post("/api/v1/supervisor/messages", headers=tl, json={"text": f"私信 {to[:6]}", "agent_id": to})
                c.post(f"/api/v1/supervisor/agents/{ordered}/state", headers=tl,
                       json={"state": "paused", "reason": "辅导"})
                c.post("/api/v1/presence", headers=self.uh(to), json={"state": "on_call", "lead_id": self.lead_of(to),
                                                                     "call_id": f"n{uuid.uuid4().hex[:8]}"})

    def close(self) -> None:
        self.client.close()


def _wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    """A small stereo 16-bit PCM WAV (the peaks route reads the format)."""
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as f:
        f.setnchannels(2)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(os.urandom(int(seconds * rate) * 4))
    return buf.getvalue()


# -- operations ------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    push_index: int | None = None  # a push: judge this event's result, not the status
    noise: bool = False  # a stream: move both floors while it is open
    echoed: tuple[str, ...] = ()  # ids the request itself carries (an echo is no leak)


@dataclass
class Draw:
    """What the generator chose, besides the identity and the object."""

    text: str = "测试"
    flag: bool = False
    number: int = 0
    choice: int = 0


Build = Callable[[World, Ident, Obj, Draw], Request]


def _push(ev: dict) -> Request:
    return Request("POST", "/api/v1/sync/push", json={"events": [ev]}, push_index=0)


def _team_param(w: World, o: Obj) -> dict[str, Any]:
    return {"team_id": o.id} if o.team is not None else {}


def b_login(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    name = i.username if i.role != "bad" else f"nobody_{uuid.uuid4().hex[:8]}"
    return Request("POST", "/api/v1/auth/login",
                   json={"username": name, "password": PASSWORD, "device_id": d.text[:20]})


def b_refresh(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    if i.role != "bad":
        token = w._login(i.username)["refresh_token"]
    else:
        token = i.refresh or uuid.uuid4().hex
    return Request("POST", "/api/v1/auth/refresh", json={"refresh_token": token})


def b_logout(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    token = w._login(i.username)["access_token"] if i.role != "bad" else i.token  # never the identity's own
    return Request("POST", "/api/v1/auth/logout", headers=w._h(token))


def b_lead_event(etype: str) -> Build:
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        payload = {
            "note_added": {"text": d.text},
            "callback_scheduled": {"callback_id": uuid.uuid4().hex[:12], "due_at": now_iso(3600 + d.number)},
            "disposition_recorded": {"code": ["REFUSED", "SALE", "POWERED_OFF"][d.choice % 3],
                                     "note": d.text},
            "call_attempted": {"call_id": uuid.uuid4().hex, "number_e164": "+8613900000000"},
            "unscripted_question": {"text": d.text, "campaign_id": w.campaign_id},
        }[etype]
        return _push(event(etype, o.id, payload))
    return build


def b_correction(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    # On the caller's own lead (always theirs to write), naming the object's disposition.
    lead = w.lead_of(i.user_id) if i.role == "tsr" else o.extra["lead"]
    return _push(event("disposition_recorded", lead, {"code": "REFUSED", "supersedes": o.id, "note": d.text}))


def b_call_ended(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    return _push(event("call_ended", None, {"call_id": o.id, "dialed_at": now_iso(-60), "ended_at": now_iso(),
                                            "talk_seconds": d.number % 600}))


def b_disposition_on_call(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    lead = w.lead_of(i.user_id) if i.role == "tsr" else w.lead_of(o.owner)
    # With an override reason: the owner may have re-reported the call as unanswered meanwhile.
    return _push(event("disposition_recorded", lead, {"code": "REFUSED", "call_id": o.id,
                                                      "override_reason": "客户接听后挂断"}))


def b_call_ended_on_upload(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    call = f"u{uuid.uuid4().hex}"
    w.upload(o.owner, call, b"RIFF" + d.text.encode()[:100], complete=False)  # uploaded before it is reported
    return _push(event("call_ended", None, {"call_id": call, "dialed_at": now_iso(-60), "ended_at": now_iso(),
                                            "talk_seconds": d.number % 600}))


def b_score(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    return _push(event("coaching_score", None, {"agent_id": o.id, "answers": {"greeted": "Y"}, "comment": d.text}))


def b_evaluation(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    return _push(event("coaching_evaluation_recorded", None, {
        "agent_id": o.owner, "call_id": o.id, "campaign_id": w.campaign_id, "overall_comment": d.text,
        "items": [{"item": it, "answer": ["Y", "N", "NA"][(d.choice + n) % 3]} for n, it in enumerate(w.form_items)]}))


def b_answer_eval(etype: str) -> Build:
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        return _push(event(etype, None, {"evaluation_id": o.id, "comment": d.text}))
    return build


def b_presence_post(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    return Request("POST", "/api/v1/presence", json={"state": "on_call", "call_id": f"p{d.number}",
                                                     "lead_id": o.id, "number_e164": "13900000000"})


def b_grant(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    w.on_call(o.id)
    return Request("POST", "/api/v1/monitor/grants",
                   json={"agent_id": o.id, "mode": ["listen", "whisper", "barge"][d.choice % 3]})


def b_session_start(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    jti = w.grant(o.team or "A", o.extra["agent"])
    return Request("POST", "/api/v1/monitor/sessions", json={"jti": jti}, echoed=(jti,))


def b_session(action: str) -> Build:
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        sid = w.session(o.team or "A", o.extra["agent"])
        body = {"mode": ["listen", "whisper", "barge"][d.choice % 3]} if action == "mode" else {"reason": "tl_hangup"}
        return Request("POST", f"/api/v1/monitor/sessions/{sid}/{action}", json=body, echoed=(sid,))
    return build


def b_upload_patch(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    call = w.new_call(o.owner)
    return Request("PATCH", f"/api/v1/recordings/{call}", headers={"Upload-Offset": "0"},
                   content=d.text.encode()[:200] or b"x", echoed=(call,))


def b_upload_complete(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    call = w.new_call(o.owner)
    data = (d.text.encode() or b"x") * 3
    w.upload(o.owner, call, data, complete=False)
    return Request("POST", f"/api/v1/recordings/{call}/complete",
                   json={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}, echoed=(call,))


def b_recording(suffix: str, method: str = "GET") -> Build:
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        headers: dict[str, str] = {}
        params = {"buckets": 1 + d.number % 400} if suffix == "/peaks" else None
        if suffix == "/stream":
            size = o.extra.get("size", 3000)
            a = d.number % size  # satisfiable: a 416 is no access answer
            headers["Range"] = [f"bytes={a}-", f"bytes={a}-{a + d.choice}", f"bytes=-{d.choice + 1}",
                                "bytes=0-"][d.choice % 4]
        return Request(method, f"/api/v1/recordings/{o.id}{suffix}", headers=headers, params=params,
                       echoed=(o.id,))
    return build


def b_get(path: str, extra: Callable[[World, Obj, Draw], dict[str, Any]] | None = None,
          param: str = "team_id") -> Build:
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        params: dict[str, Any] = {}
        if o.id:
            params[param] = o.id
        if extra:
            params.update(extra(w, o, d))
        return Request("GET", path, params=params, echoed=(o.id,) if o.id else ())
    return build


def b_force_state(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    body = {"state": "paused", "reason": d.text[:100]} if d.flag else {"state": "ready"}
    return Request("POST", f"/api/v1/supervisor/agents/{o.id}/state", json=body, echoed=(o.id,))


def b_message(variant: str) -> Build:
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        body: dict[str, Any] = {"text": d.text}
        if variant == "agent":
            body["agent_id"] = o.id
        elif o.team is not None:
            body["team_id"] = o.id
        return Request("POST", "/api/v1/supervisor/messages", json=body, echoed=(o.id,))
    return build


def b_ack(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    return Request("POST", f"/api/v1/agent/commands/{o.id}/ack",
                   json={"result": ["applied", "deferred", "refused"][d.choice % 3], "detail": d.text[:200]},
                   echoed=(o.id,))


def b_distribute(kind: str) -> Build:
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        team = w.team_ids[o.team or "A"]
        body: dict[str, Any] = {"campaign_id": w.campaign_id, "count": d.number % 3, "agent_ids": [o.id]}
        if i.role == "admin":
            body["team_id"] = team  # an admin names the agent's team; a TL gets their own
        return Request("POST", f"/api/v1/supervisor/distribution/{kind}", json=body, echoed=(o.id,))
    return build


def b_reclaim(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    body: dict[str, Any] = {"agent_id": o.id, "campaign_id": w.campaign_id, "redistribute": d.flag}
    if i.role == "admin":
        body["team_id"] = w.team_ids[o.team or "A"]
    return Request("POST", "/api/v1/supervisor/distribution/reclaim", json=body, echoed=(o.id,))


def b_answer_questions(w: World, i: Ident, o: Obj, d: Draw) -> Request:
    q = w.question(o.owner)
    return Request("POST", "/api/v1/supervisor/questions/answer", echoed=(q,),
                   json={"campaign_id": w.campaign_id, "question_ids": [q], "question": f"问{d.number % 100}",
                         "answer": d.text})


STREAM_S = 0.5


def _stream(path: str) -> Build:
    """A stream held open while both teams' floors move (``World.noise``): what it forwards
    must be the caller's own team's (the leak check reads every event)."""
    def build(w: World, i: Ident, o: Obj, d: Draw) -> Request:
        params: dict[str, Any] = {"max_seconds": STREAM_S}
        if o.id:
            params["team_id"] = o.id
        return Request("GET", path, params=params, echoed=(o.id,) if o.id else (), noise=True)
    return build


def _campaign(w: World, o: Obj, d: Draw) -> dict[str, Any]:
    return {"campaign_id": w.campaign_id}


BUILDERS: dict[tuple[str, str, str], Build] = {
    ("GET", "/healthz", ""): lambda w, i, o, d: Request("GET", "/healthz"),
    ("GET", "/api/v1/admin/diagnostics", ""): lambda w, i, o, d: Request("GET", "/api/v1/admin/diagnostics"),
    ("POST", "/api/v1/auth/login", ""): b_login,
    ("POST", "/api/v1/auth/refresh", ""): b_refresh,
    ("POST", "/api/v1/auth/logout", ""): b_logout,
    ("GET", "/api/v1/auth/me", ""): lambda w, i, o, d: Request("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/sync/pull", ""): lambda w, i, o, d: Request("GET", "/api/v1/sync/pull",
                                                                 params={"limit": 1000}),
    **{("POST", "/api/v1/sync/push", t): b_lead_event(t) for t in
       ("note_added", "callback_scheduled", "disposition_recorded", "call_attempted", "unscripted_question")},
    ("POST", "/api/v1/sync/push", "correction"): b_correction,
    ("POST", "/api/v1/sync/push", "call_ended"): b_call_ended,
    ("POST", "/api/v1/sync/push", "disposition_on_call"): b_disposition_on_call,
    ("POST", "/api/v1/sync/push", "call_ended_on_upload"): b_call_ended_on_upload,
    ("POST", "/api/v1/sync/push", "coaching_score"): b_score,
    ("POST", "/api/v1/sync/push", "coaching_evaluation_recorded"): b_evaluation,
    ("POST", "/api/v1/sync/push", "coaching_acknowledged"): b_answer_eval("coaching_acknowledged"),
    ("POST", "/api/v1/sync/push", "coaching_disputed"): b_answer_eval("coaching_disputed"),
    ("POST", "/api/v1/sync/push", "agent_state_changed"): lambda w, i, o, d: _push(
        event("agent_state_changed", None, {"state": ["ready", "paused", "wrap_up"][d.choice % 3]})),
    ("POST", "/api/v1/sync/push", "dnc_requested"): lambda w, i, o, d: _push(
        event("dnc_requested", None, {"number_e164": f"+86137{d.number % 10**8:08d}", "reason": d.text[:200]})),
    ("GET", "/api/v1/presence", ""): lambda w, i, o, d: Request("GET", "/api/v1/presence"),
    ("POST", "/api/v1/presence", ""): b_presence_post,
    ("GET", "/api/v1/presence/stream", ""): _stream("/api/v1/presence/stream"),
    ("POST", "/api/v1/monitor/grants", ""): b_grant,
    ("POST", "/api/v1/monitor/sessions", ""): b_session_start,
    ("POST", "/api/v1/monitor/sessions/{session_id}/mode", ""): b_session("mode"),
    ("POST", "/api/v1/monitor/sessions/{session_id}/end", ""): b_session("end"),
    ("HEAD", "/api/v1/recordings/{call_id}", ""): b_recording("", "HEAD"),
    ("PATCH", "/api/v1/recordings/{call_id}", ""): b_upload_patch,
    ("POST", "/api/v1/recordings/{call_id}/complete", ""): b_upload_complete,
    ("GET", "/api/v1/recordings/{call_id}", ""): b_recording(""),
    ("GET", "/api/v1/recordings/{call_id}/stream", ""): b_recording("/stream"),
    ("GET", "/api/v1/recordings/{call_id}/playbacks", ""): b_recording("/playbacks"),
    ("GET", "/api/v1/recordings/{call_id}/peaks", ""): b_recording("/peaks"),
    ("GET", "/api/v1/recordings", "team"): b_get("/api/v1/recordings"),
    ("GET", "/api/v1/recordings", "agent"): b_get("/api/v1/recordings", param="agent_id"),
    ("GET", "/api/v1/reports/daily", ""): b_get("/api/v1/reports/daily", lambda w, o, d: {
        "format": ["json", "csv"][d.choice % 2]}),
    ("GET", "/api/v1/reports/summary", ""): b_get("/api/v1/reports/summary", lambda w, o, d: {
        "format": ["json", "csv", "xlsx"][d.choice % 3]}),
    ("GET", "/api/v1/supervisor/board", ""): b_get("/api/v1/supervisor/board"),
    ("GET", "/api/v1/supervisor/board/stream", ""): _stream("/api/v1/supervisor/board/stream"),
    ("POST", "/api/v1/supervisor/agents/{agent_id}/state", ""): b_force_state,
    ("POST", "/api/v1/supervisor/messages", "agent"): b_message("agent"),
    ("POST", "/api/v1/supervisor/messages", "team"): b_message("team"),
    ("GET", "/api/v1/supervisor/audit", ""): b_get("/api/v1/supervisor/audit"),
    ("GET", "/api/v1/agent/stream", ""): _stream("/api/v1/agent/stream"),
    ("POST", "/api/v1/agent/commands/{command_id}/ack", ""): b_ack,
    ("GET", "/api/v1/supervisor/distribution", ""): b_get("/api/v1/supervisor/distribution", _campaign),
    ("POST", "/api/v1/supervisor/distribution/preview", ""): b_distribute("preview"),
    ("POST", "/api/v1/supervisor/distribution/commit", ""): b_distribute("commit"),
    ("POST", "/api/v1/supervisor/distribution/reclaim", ""): b_reclaim,
    ("GET", "/api/v1/coaching/forms/{campaign_id}", ""): lambda w, i, o, d: Request(
        "GET", f"/api/v1/coaching/forms/{w.campaign_id}"),
    ("GET", "/api/v1/coaching/evaluations", "agent"): b_get("/api/v1/coaching/evaluations", param="agent_id"),
    ("GET", "/api/v1/coaching/evaluations", "team"): b_get("/api/v1/coaching/evaluations"),
    ("GET", "/api/v1/supervisor/questions", ""): b_get("/api/v1/supervisor/questions", lambda w, o, d: {
        "status": ["open", "answered", "all"][d.choice % 3]}),
    ("POST", "/api/v1/supervisor/questions/answer", ""): b_answer_questions,
}
assert set(BUILDERS) == set(ORACLE), set(BUILDERS) ^ set(ORACLE)
KEYS = sorted(ORACLE)


# -- one request, judged -----------------------------------------------------------------------

@dataclass
class Tally:
    attempts: int = 0
    allowed: int = 0
    denied: int = 0
    unauthorised: int = 0  # 2xx (or an accepted event) the oracle says no to
    leaks: int = 0  # a foreign id in a 2xx answer
    server_errors: int = 0
    refused_allowed: int = 0  # the oracle says yes, the server said no
    by_route: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(text)

    @property
    def failures(self) -> int:
        return self.unauthorised + self.leaks + self.server_errors + self.refused_allowed

    def rows(self, prefix: str) -> list[dict[str, Any]]:
        return [{"metric": f"{prefix}_{k}", "value": v, "unit": "count"} for k, v in (
            ("attempts", self.attempts), ("allowed", self.allowed), ("denied", self.denied),
            ("unauthorised_successes", self.unauthorised), ("leaks", self.leaks), ("5xx", self.server_errors),
            ("authorised_refused", self.refused_allowed), ("routes", len(self.by_route)))]


def judge(w: World, tally: Tally, key: tuple[str, str, str], who: str, obj: Obj, d: Draw) -> None:
    kind, rule = ORACLE[key]
    ident = w.idents[who]
    rel = w.relation(ident, kind, obj)
    expected = rule[rel]
    req = BUILDERS[key](w, ident, obj, d)
    headers = w.h(who) | req.headers if key[1] != "/api/v1/auth/logout" else req.headers
    mover = None
    if req.noise and expected is not False:  # a refused stream closes at once: nothing to watch
        mover = threading.Thread(target=w.noise, args=(0.15,), daemon=True)
        mover.start()
    r = w.client.request(req.method, req.url, headers=headers, params=req.params, json=req.json,
                         content=req.content)
    if mover is not None:
        mover.join(30)
    tally.attempts += 1
    tally.by_route[key] += 1
    label = f"{key[0]} {key[1]} [{key[2]}] as {who} ({rel}) on {kind}"
    if r.status_code >= 500:
        tally.server_errors += 1
        tally.note(f"5xx: {label}: {r.status_code} {r.text[:200]}")
        return
    ok = 200 <= r.status_code < 300
    if ok and req.push_index is not None:
        res = r.json()["results"][req.push_index]
        ok = res["status"] == "accepted"
        detail = f"{res['status']} {res.get('code')}"
    else:
        detail = f"{r.status_code} {r.text[:160]}"
    if ok:
        tally.allowed += 1
        if expected is False:
            tally.unauthorised += 1
            tally.note(f"UNAUTHORISED: {label}: {detail}")
        foreign = w.foreign_markers(ident) - set(req.echoed)
        body = r.text if req.method != "HEAD" and "spreadsheet" not in r.headers.get("content-type", "") else ""
        if "spreadsheet" in r.headers.get("content-type", ""):
            body = _xlsx_text(r.content)
        found = [m for m in foreign if m and m in body]
        if found:
            tally.leaks += 1
            tally.note(f"LEAK: {label}: {found[:3]}")
    else:
        tally.denied += 1
        if expected is True:
            tally.refused_allowed += 1
            tally.note(f"REFUSED (allowed): {label}: {detail}")


def _xlsx_text(data: bytes) -> str:
    import io
    import zipfile

    with contextlib.suppress(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(data)) as z:
        return " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return ""


def sweep(w: World, tally: Tally) -> None:
    """Every oracle row × every identity × every object of its kind, once (a dead or missing
    token is refused before any object is looked at: one object each)."""
    for n, key in enumerate(KEYS):
        kind, _rule = ORACLE[key]
        for m, who in enumerate(IDENTITIES):
            objects = w.pool[kind] if who in VALID else w.pool[kind][-1:]
            for k, obj in enumerate(objects):
                judge(w, tally, key, who, obj, Draw(text=f"巡检{n}-{m}", flag=bool(k % 2), number=n * 7 + m,
                                                    choice=k + m))


def run_property(w: World, tally: Tally, examples: int, seed: int) -> None:
    """Hypothesis chooses route, identity, object (other teams' included) and body fields."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    texts = st.text(alphabet=st.sampled_from(list("客户保险续保价格太贵考虑一下 abcXYZ0123-_.!？，")),
                    min_size=1, max_size=40).filter(lambda s: s.strip())
    draws = st.builds(Draw, text=texts, flag=st.booleans(), number=st.integers(0, 10**6),
                      choice=st.integers(0, 11))

    @hseed(seed)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(key=st.sampled_from(KEYS), who=st.sampled_from(IDENTITIES), pick=st.integers(0, 99), d=draws)
    def prop(key, who, pick, d) -> None:
        pool = w.pool[ORACLE[key][0]]
        judge(w, tally, key, who, pool[pick % len(pool)], d)

    prop()


# -- the long run -------------------------------------------------------------------------------

def _start(backend: str, tmp):
    from pathlib import Path

    from tests.server.live import start_postgres, start_server

    tmp = Path(tmp)
    cluster = None
    if backend == "postgresql":
        cluster = start_postgres()
        url = cluster.create_database()
    else:
        url = f"sqlite:///{tmp / 'server.sqlite3'}"
    return start_server(url, tmp / "data"), cluster


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from tests.bench.results import RESULTS_DIR, merge_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    total_failures = 0
    for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        with tempfile.TemporaryDirectory(prefix="seatmate-access-") as tmp:
            srv, cluster = _start(backend, tmp)
            try:
                t0 = time.monotonic()
                w = World(srv)
                missing = missing_rows(w.client.get("/openapi.json").json())
                tally = Tally()
                sweep(w, tally)
                run_property(w, tally, args.examples, args.seed)
                elapsed = time.monotonic() - t0
                w.close()
            finally:
                srv.stop()
                if cluster is not None:
                    cluster.stop()
        print(f"[{backend}] routes without an oracle row: {sorted(missing) or 'none'}")
        print(f"[{backend}] {tally.attempts} requests over {len(tally.by_route)} route variants in {elapsed:.1f} s: "
              f"allowed {tally.allowed}, denied {tally.denied}, unauthorised successes {tally.unauthorised}, "
              f"leaks {tally.leaks}, 5xx {tally.server_errors}, authorised but refused {tally.refused_allowed}")
        for p in tally.problems:
            print("  ", p)
        rows += tally.rows(f"access_{backend}")
        rows.append({"metric": f"access_{backend}_routes_without_oracle", "value": len(missing), "unit": "count"})
        total_failures += tally.failures + len(missing)
    load = os.getloadavg()
    rows += [{"metric": "access_seed", "value": args.seed, "unit": "seed"},
             {"metric": "access_examples", "value": args.examples, "unit": "count"},
             {"metric": "access_loadavg_1m", "value": round(load[0], 2), "unit": "load"}]
    merge_results(rows, RESULTS_DIR / "reliability.json")
    print(f"loadavg {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; wrote {RESULTS_DIR / 'reliability.json'}")
    return 1 if total_failures else 0


__all__ = ["IDENTITIES", "ORACLE", "Tally", "World", "missing_rows", "run_property", "sweep"]

if __name__ == "__main__":
    raise SystemExit(main())
