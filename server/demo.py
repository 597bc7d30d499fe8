"""``seatmate-server demo``: one command loads a demo team, users and data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import admin
from server.models import Campaign, Team, User

DATA = Path(__file__).resolve().parent.parent / "resources" / "data"
TEAM = "续保一组"
CAMPAIGN = "车险续保 2026Q4"
# (username, display name, role, SIP user, password). Demo only: printed once by the CLI.
USERS = [
    ("admin", "管理员", "admin", None, "admin-demo-2026"),
    ("zhangwei", "张伟", "tl", "1001", "demo-2026"),
    ("lina", "李娜", "tsr", "1002", "demo-2026"),
    ("wangfang", "王芳", "tsr", "1003", "demo-2026"),
    ("liuyang", "刘洋", "tsr", "1004", "demo-2026"),
]
# More agents of the same team, so the TL's board is a floor: ``seatmate-server
# simulate-floor`` drives them over HTTP (server/demo_floor.py). Created after the demo
# leads are handed out: the three agents above keep their 20 leads each.
SIM_USERS = [
    ("chenjing", "陈静", "1005"),
    ("zhaolei", "赵磊", "1006"),
    ("zhoumin", "周敏", "1007"),
    ("sunhao", "孙浩", "1008"),
    ("wuting", "吴婷", "1009"),
]
SIM_PASSWORD = "demo-2026"


@dataclass
class DemoResult:
    users: list[tuple[str, str, str]]  # (username, role, password) created now
    leads: admin.ImportReport
    assigned: dict[str, int]


def load(s: Session, data_dir: Path = DATA) -> DemoResult:
    """Idempotent: what exists already is kept."""
    if s.execute(select(Team).where(Team.name == TEAM)).scalar_one_or_none() is None:
        admin.create_team(s, TEAM)
    created = []
    for username, display, role, sip, password in USERS:
        if s.execute(select(User).where(User.username == username)).scalar_one_or_none() is None:
            admin.create_user(s, username, password, role, team=None if role == "admin" else TEAM,
                              display_name=display, sip_user=sip)
            created.append((username, role, password))
    if s.execute(select(Campaign).where(Campaign.name == CAMPAIGN)).scalar_one_or_none() is None:
        admin.create_campaign(s, CAMPAIGN)
    admin.load_codes(s, CAMPAIGN, data_dir / "dispositions_demo.json")
    admin.load_script(s, CAMPAIGN, data_dir / "script_renewal_demo.md", title="车险续保话术")
    coaching = data_dir / "coaching_form_demo.json"
    if coaching.exists():
        import json

        from server import coaching as coaching_forms

        form = json.loads(coaching.read_text(encoding="utf-8"))
        admin.set_setting(s, "coaching_form", form)
        coaching_forms.load_form(s, admin.find_campaign(s, CAMPAIGN).id, form)  # the campaign's 辅导表
    report = admin.import_leads(s, CAMPAIGN, data_dir / "leads_renewal_demo.csv")
    assigned = admin.assign_leads(s, CAMPAIGN, evenly=True, team=TEAM)
    for username, display, sip in SIM_USERS:
        if s.execute(select(User).where(User.username == username)).scalar_one_or_none() is None:
            admin.create_user(s, username, SIM_PASSWORD, "tsr", team=TEAM, display_name=display, sip_user=sip)
            created.append((username, "tsr", SIM_PASSWORD))
    return DemoResult(users=created, leads=report, assigned=assigned)
