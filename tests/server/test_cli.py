"""The admin CLI (``seatmate-server …``) against the live server's database."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from server.cli import main
from tests.server.helpers import pull_all
from tests.server.live import ROOT

DATA = ROOT / "resources" / "data"


def cli(srv, *args: str, stdin: str | None = None, db: str | None = None) -> subprocess.CompletedProcess:
    """The real console script in a subprocess (used once per backend: it is slow to start)."""
    return subprocess.run([sys.executable, "-m", "server.cli", *args, "--db", db or srv.db_url,
                           "--data-dir", str(srv.data_dir)],
                          input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_main(srv, capsys, monkeypatch, *args: str, stdin: str = "") -> Result:
    """``server.cli.main`` in-process: same code path as the console script, no interpreter start-up."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    rc = main([*args, "--db", srv.db_url, "--data-dir", str(srv.data_dir)])
    out = capsys.readouterr()
    return Result(rc, out.out, out.err)


def test_admin_workflow_from_team_to_pulled_leads(srv, tmp_path, capsys, monkeypatch):
    def cli(_srv, *args, stdin=""):
        return run_main(_srv, capsys, monkeypatch, *args, stdin=stdin)

    tag = uuid.uuid4().hex[:6]
    team, camp, tl, agent = f"二组{tag}", f"续保-{tag}", f"tl{tag}", f"agent{tag}"
    assert cli(srv, "create-team", team).returncode == 0
    r = cli(srv, "create-user", tl, "--role", "tl", "--team", team, "--display-name", "陈静", stdin="tl-secret-99\n")
    assert r.returncode == 0, r.stderr
    r = cli(srv, "create-user", agent, "--role", "tsr", "--team", team, "--sip-user", f"9{tag}",
            stdin="agent-secret-99\n")
    assert r.returncode == 0, r.stderr
    assert "agent-secret-99" not in r.stdout + r.stderr
    assert cli(srv, "create-user", agent, "--role", "tsr", "--team", team, stdin="agent-secret-99\n").returncode == 2
    assert cli(srv, "create-campaign", camp).returncode == 0
    r = cli(srv, "load-codes", "--campaign", camp, str(DATA / "dispositions_demo.json"))
    assert r.returncode == 0 and "13 disposition codes" in r.stdout, r.stdout + r.stderr
    r = cli(srv, "load-script", "--campaign", camp, str(DATA / "script_renewal_demo.md"))
    assert r.returncode == 0 and "v1" in r.stdout

    # GBK CSV with Chinese headers, two bad rows.
    csv_path = tmp_path / "名单.csv"
    csv_path.write_bytes(("编号,客户姓名,手机号,城市,保单到期日,上年保费\n"
                          f"{tag}-1,张三,13800138000,宜昌,2026-12-01,3120\n"
                          f"{tag}-2,李四,12345,宜昌,2026-12-02,3000\n"
                          f"{tag}-3,王五,13900139000,武汉,2026/12/03,2800元\n"
                          f"{tag}-4,,13700137000,武汉,,\n").encode("gbk"))
    report = tmp_path / "errors.csv"
    r = cli(srv, "import-leads", "--campaign", camp, "--report", str(report), str(csv_path))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "4 rows: 2 created" in r.stdout and "row 3:" in r.stdout and "row 5: missing name" in r.stdout
    assert "12345" not in r.stdout  # never echo a full (even invalid) number
    assert report.read_text(encoding="utf-8-sig").count("\n") == 3
    # Idempotent by external id.
    r = cli(srv, "import-leads", "--campaign", camp, str(csv_path))
    assert "0 created, 0 updated, 2 unchanged" in r.stdout

    # XLSX with English headers.
    wb = Workbook()
    ws = wb.active
    ws.append(["external_id", "name", "phone", "policy_expiry", "priority"])
    ws.append([f"{tag}-x1", "Zhao Liu", "+86 136 0013 6000", "2026-11-30", 1])
    xlsx = tmp_path / "leads.xlsx"
    wb.save(xlsx)
    r = cli(srv, "import-leads", "--campaign", camp, str(xlsx))
    assert r.returncode == 0 and "1 created" in r.stdout, r.stdout + r.stderr

    r = cli(srv, "assign-leads", "--campaign", camp, "--evenly", "--team", team)
    assert r.returncode == 0 and f"'{agent}': 3" in r.stdout, r.stdout + r.stderr
    with srv.client() as c:
        login = c.post("/api/v1/auth/login", json={"username": agent, "password": "agent-secret-99"})
        assert login.status_code == 200
        assert login.json()["user"]["sip_user"] == f"9{tag}"
        seen, _ = pull_all(c, {"Authorization": "Bearer " + login.json()["access_token"]})
    names = sorted(v["data"]["name"] for (e, _), v in seen.items() if e == "lead")
    assert names == ["Zhao Liu", "张三", "王五"]
    lead = next(v["data"] for (e, _), v in seen.items() if e == "lead" and v["data"]["name"] == "王五")
    assert lead["policy_expiry"] == "2026-12-03" and lead["last_premium"] == 2800
    assert lead["phones"] == [{"number": "+8613900139000", "label": "mobile"}]


def test_demo_on_a_fresh_database(srv, tmp_path, backend, request):
    if backend == "sqlite":
        db = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    else:
        db = request.getfixturevalue("pg_cluster").create_database()
    r = cli(srv, "demo", db=db)
    assert r.returncode == 0, r.stderr
    assert "zhangwei" in r.stdout and "demo-2026" in r.stdout and "60 new" in r.stdout
    r = cli(srv, "demo", db=db)  # idempotent; passwords not printed again
    assert r.returncode == 0 and "60 unchanged" in r.stdout and "demo-2026" not in r.stdout
    if backend == "sqlite":
        assert (Path(tmp_path / "fresh.sqlite3").stat().st_mode & 0o777) == 0o600
