"""What we ship in packaging/ is what runs: the nginx example is the config the scale-out
tests run (only its listen and upstream lines replaced), and the systemd unit passes
systemd's own checks, runs commands our CLI accepts and reads only settings the server knows."""

from __future__ import annotations

import difflib
import re
import shlex
import subprocess

from server import config, sip_accounts
from server.cli import build_parser
from tests.scaleout.topology import TEMPLATE, NginxProcess, render_site
from tests.server.live import ROOT

UNIT = ROOT / "packaging" / "seatmate-server.service"
ENV_EXAMPLE = ROOT / "packaging" / "seatmate-server.env.example"


def test_nginx_example_is_the_tested_config_with_only_addresses_replaced(tmp_path):
    template = TEMPLATE.read_text(encoding="utf-8")
    rendered = render_site(template, ["127.0.0.1:1111", "127.0.0.1:2222", "127.0.0.1:3333"], "127.0.0.1:4444")
    changed = [ln[1:].strip() for ln in difflib.unified_diff(template.splitlines(), rendered.splitlines(), n=0,
                                                             lineterm="")
               if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert all(re.fullmatch(r"(listen [\d.:]+|server [\d.:]+ max_fails=1 fail_timeout=5s);", c) for c in changed), changed
    assert "listen 127.0.0.1:4444;" in rendered and rendered.count("max_fails=1") == 3
    NginxProcess(tmp_path, ["127.0.0.1:1111", "127.0.0.1:2222"]).check_config()  # nginx -t


def test_systemd_unit_verifies_and_runs_commands_the_cli_accepts(tmp_path):
    text = UNIT.read_text(encoding="utf-8")
    commands = {k: shlex.split(v) for k, v in re.findall(r"^(ExecStartPre|ExecStart)=(.+)$", text, re.M)}
    assert set(commands) == {"ExecStartPre", "ExecStart"}
    for argv in commands.values():
        assert argv[0] == "/opt/seatmate/bin/seatmate-server"
        build_parser().parse_args(argv[1:])  # SystemExit (a failure) on an option we do not have
    assert commands["ExecStartPre"][1] == "migrate" and commands["ExecStart"][1] == "serve"
    assert "--proxy-headers" in commands["ExecStart"]
    # systemd's own checks, with the binary and the env file where this checkout has them.
    local = tmp_path / "seatmate-server.service"
    local.write_text(text.replace("/opt/seatmate/bin/seatmate-server", str(ROOT / ".venv" / "bin" / "seatmate-server"))
                     .replace("/etc/seatmate/server.env", str(ENV_EXAMPLE)), encoding="utf-8")
    r = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(local)], capture_output=True,
                       text=True, timeout=60, check=False)
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout)
    assert level, r.stdout[-500:] + r.stderr
    print(f"\nsystemd-analyze security: exposure {level.group(1)} (0 = fully confined, 10 = unconfined)")
    assert float(level.group(1)) <= 2.0


def test_env_example_sets_only_settings_the_server_reads():
    known = {config.ENV_DB, config.ENV_DATA_DIR, config.ENV_TZ, config.ENV_REFRESH_GRACE, config.ENV_WORKERS,
             config.ENV_RECORDINGS_DIR, sip_accounts.ENV_SIP_KEY}
    keys = re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE.read_text(encoding="utf-8"), re.M)
    assert keys and set(keys) <= known, set(keys) - known
    assert {config.ENV_DB, config.ENV_RECORDINGS_DIR, sip_accounts.ENV_SIP_KEY} <= set(keys)
