"""app/deferred_import.py: SQLAlchemy's unused asyncio/importlib.metadata stay unloaded, and work when used.

Each case is a fresh interpreter: what is imported at start depends on the order of imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_START = r"""
import json, sys
import app.application  # noqa: F401 - the app's start: defer() runs before SQLAlchemy is imported
import sqlalchemy.orm, cache.repository, sync.service  # noqa: F401
from app import deferred_import as d
import inspect
inspect.getmodule(json.dumps)  # reads every module's __file__: must not load them
out = {"asyncio": d.is_loaded("asyncio"), "metadata": d.is_loaded("importlib.metadata"),
       "modules": len(sys.modules)}
from sqlalchemy.util import concurrency  # holds the placeholder it was given at import
async def answer():
    return 42
out["run"] = concurrency.asyncio.run(answer())
import asyncio.events
out["one_events_module"] = asyncio.events is sys.modules["asyncio"].events is sys.modules["asyncio.events"]
out["asyncio_after"] = d.is_loaded("asyncio")
print(json.dumps(out))
"""

_THREADS = r"""
import json, sys, threading
import app.application  # noqa: F401
import importlib
barrier = threading.Barrier(8)
found = []
def first_touch():
    barrier.wait()  # all eight read the placeholder at once
    found.append(importlib.metadata.version("sqlalchemy"))
threads = [threading.Thread(target=first_touch) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join(30)
from importlib.metadata import version
print(json.dumps({"found": found, "same": importlib.metadata is sys.modules["importlib.metadata"],
                  "direct": version("sqlalchemy")}))
"""


def _run(code: str, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, **env),
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_sqlalchemy_leaves_asyncio_and_metadata_unloaded_until_used() -> None:
    result = _run(_START)
    assert result["asyncio"] is False and result["metadata"] is False, result
    assert result["run"] == 42  # the placeholder SQLAlchemy holds is a working asyncio
    assert result["asyncio_after"] is True
    assert result["one_events_module"] is True  # `import asyncio.events` did not load it twice
    off = _run(_START, SEATMATE_DEFER_IMPORTS="0")
    assert off["asyncio"] is True and off["metadata"] is True
    assert off["modules"] - result["modules"] >= 30  # ~37 with the sync client (it imports ssl itself)


def test_first_use_from_many_threads_at_once_loads_it_once() -> None:
    import sqlalchemy

    result = _run(_THREADS)
    assert result["found"] == [sqlalchemy.__version__] * 8
    assert result["same"] is True and result["direct"] == sqlalchemy.__version__


_OPENSSL = r"""
import json, sys, tempfile
import app.application  # noqa: F401 - defer() first, as at start
import sqlalchemy.orm, cache.repository, app.single_instance, app.demo.campaign  # noqa: F401
from app import deferred_import as d
out = {"openssl_at_start": "_hashlib" in sys.modules, "hashlib_loaded": d.is_loaded("hashlib")}
from pathlib import Path
from app.single_instance import server_name
from core.digest import sha256
name = server_name(Path(tempfile.gettempdir()))
out["still_no_openssl"] = "_hashlib" in sys.modules
from sqlalchemy import util
out["md5"] = util.md5_hex("seatmate")  # SQLAlchemy's use: the placeholder loads hashlib
import getpass, hashlib
try:
    user = getpass.getuser()
except Exception:
    user = "?"
expected = hashlib.sha256(f"{user}\0{Path(tempfile.gettempdir()).resolve()}".encode()).hexdigest()[:16]
out["same_name"] = name == f"seatmate-{expected}"
out["same_sha256"] = sha256(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
out["md5_ok"] = out["md5"] == hashlib.md5(b"seatmate").hexdigest()
print(json.dumps(out))
"""


def test_openssl_is_not_loaded_for_the_demo_and_hashes_stay_the_same() -> None:
    """hashlib (which loads OpenSSL's libcrypto, ~3.5 MB) stays unloaded through the demo's start;
    the instance name and the demo fingerprint hash as before, and SQLAlchemy's md5 still works."""
    result = _run(_OPENSSL)
    assert result["openssl_at_start"] is False and result["hashlib_loaded"] is False, result
    assert result["still_no_openssl"] is False
    assert result["same_name"] and result["same_sha256"] and result["md5_ok"], result
    off = _run(_OPENSSL, SEATMATE_DEFER_IMPORTS="0")
    assert off["openssl_at_start"] is True  # the check can fail: SQLAlchemy loads it when not deferred
