"""Property-based fuzzing of the whole API from its OpenAPI schema (schemathesis):
no 5xx, and every documented response matches the schema. Bounded: a fixed
seed and a small number of examples per operation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.helpers import hdr, make_team


def _st() -> str:
    exe = Path(sys.executable).with_name("st")
    if exe.exists():
        return str(exe)
    found = shutil.which("st")
    if not found:
        pytest.fail("schemathesis is not installed: pip install -e '.[dev]' (it provides the 'st' command)")
    return found


def test_fuzz_api_finds_no_server_error_and_no_schema_violation(srv, backend, tmp_path):
    t = make_team(srv, n_tsr=1, leads_each=2)
    # Alternate the role per backend to reach role-specific branches without doubling the time.
    who = t.tsrs[0] if backend == "sqlite" else t.tl
    cmd = [_st(), "run", srv.url + "/openapi.json",
           "--checks", "not_a_server_error,response_schema_conformance",
           "--max-examples", "12", "--seed", "20261125", "--phases", "coverage,fuzzing",
           # One worker: CPython 3.11.7's AST validation is not thread-safe (gh-106905), and two
           # threads compiling hypothesis' filter lambdas at once crash the run now and then.
           "--request-timeout", "15", "--no-color", "--workers", "1",
           "-H", f"Authorization: {hdr(srv, who)['Authorization']}",
           # An endless stream, and logout (it would revoke the token the run uses).
           "--exclude-path", "/api/v1/presence/stream", "--exclude-path", "/api/v1/auth/logout",
           "--exclude-path", "/api/v1/supervisor/board/stream", "--exclude-path", "/api/v1/agent/stream",
           "--report", "junit", "--report-dir", str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=200, cwd=tmp_path, check=False)
    assert r.returncode == 0, f"schemathesis found problems:\n{r.stdout[-8000:]}\n{r.stderr[-2000:]}\n" \
                              f"server log:\n{srv.log_tail()}"
    assert "passed" in r.stdout
    assert srv.proc.poll() is None
