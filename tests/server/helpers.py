"""Test data helpers: each test that changes state gets its own team, users and leads."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from server import admin
from server.demo import CAMPAIGN
from server.leads_import import ParseResult
from tests.server.live import LiveServer

PASSWORD = "test-pass-123"


@dataclass
class Team:
    name: str
    id: str
    tl: str
    tsrs: list[str]
    user_ids: dict[str, str]
    sip: dict[str, str]
    leads: dict[str, list[str]] = field(default_factory=dict)  # username -> lead ids


def make_team(srv: LiveServer, n_tsr: int = 2, leads_each: int = 3) -> Team:
    tag = uuid.uuid4().hex[:8]
    with srv.admin() as s:
        team = admin.create_team(s, f"team-{tag}")
        tl = admin.create_user(s, f"tl_{tag}", PASSWORD, "tl", team.name, sip_user=f"tl{tag}")
        ids = {tl.username: tl.id}
        sip = {tl.username: tl.sip_user}
        tsrs = []
        for i in range(n_tsr):
            u = admin.create_user(s, f"tsr{i}_{tag}", PASSWORD, "tsr", team.name, display_name=f"坐席{i}",
                                  sip_user=f"s{i}{tag}")
            ids[u.username], sip[u.username] = u.id, u.sip_user
            tsrs.append(u.username)
        campaign = admin.find_campaign(s, CAMPAIGN)
        rows = []
        for i in range(n_tsr * leads_each):
            rows.append({"external_id": f"T-{tag}-{i:03d}", "name": f"客户{i}",
                         "phones": [{"number": f"+86139{int(tag, 16) % 10**4:04d}{i:04d}", "label": "mobile"}],
                         "gender": "", "city": "宜昌", "plate": "", "vehicle": "", "policy_expiry": None,
                         "last_premium": None, "source": "test", "priority": 3, "notes": ""})
        admin.import_rows(s, campaign, ParseResult(rows=rows, total=len(rows)))
        s.flush()
        leads: dict[str, list[str]] = {}
        for i, row in enumerate(rows):
            lead_id = admin.lead_id_for(campaign.id, row["external_id"])
            owner = tsrs[i // leads_each]
            lead = s.get(admin.Lead, lead_id)
            admin.assign_lead(s, lead, s.get(admin.User, ids[owner]))
            leads.setdefault(owner, []).append(lead_id)
        team_id = team.id
    return Team(name=f"team-{tag}", id=team_id, tl=f"tl_{tag}", tsrs=tsrs, user_ids=ids, sip=sip, leads=leads)


def hdr(srv: LiveServer, username: str) -> dict[str, str]:
    return srv.headers(username, PASSWORD)


def now_iso(delta_s: float = 0) -> str:
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=delta_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event(etype: str, lead_id: str | None, payload: dict, *, at: str | None = None, eid: str | None = None) -> dict:
    return {"id": eid or str(uuid.uuid4()), "type": etype, "occurred_at": at or now_iso(),
            "lead_id": lead_id, "payload": payload}


def pull_all(client, headers: dict[str, str], cursor: str | None = None, limit: int = 1000) -> tuple[dict, str]:
    """Follow has_more to the end; returns ({(entity, id): change}, cursor)."""
    seen: dict[tuple[str, str], dict] = {}
    for _ in range(1000):
        params = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/api/v1/sync/pull", headers=headers, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        for ch in body["changes"]:
            seen[(ch["entity"], ch["id"])] = ch
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return seen, cursor
    raise AssertionError("pull did not finish in 1000 pages")
