"""Fixtures for the foundation's unit tests: private data dirs, real cache files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo.campaign import load_demo
from cache.db import CacheHandle, open_cache
from cache.repository import Repository

_TEMPLATES: dict[str, Path] = {}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data dir; HOME and XDG dirs point into tmp so nothing touches the real ones."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("SEATMATE_DATA_DIR", raising=False)
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def handle(data_dir: Path) -> Iterator[CacheHandle]:
    h = open_cache(data_dir / "cache.sqlite3")
    yield h
    h.close()


@pytest.fixture
def repo(handle: CacheHandle) -> Repository:
    return Repository(handle)


@pytest.fixture
def demo_repo(repo: Repository) -> Repository:
    load_demo(repo)
    return repo


@pytest.fixture(scope="session")
def big_cache_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache file with 100,000 generated leads, made once per session (copy it before writing)."""
    if "100k" not in _TEMPLATES:
        from app.demo.generated import generate_leads

        path = tmp_path_factory.mktemp("big") / "cache.sqlite3"
        h = open_cache(path)
        generate_leads(h, 100_000)
        with h.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        h.close()
        _TEMPLATES["100k"] = path
    return _TEMPLATES["100k"]


def copy_cache(src: Path, dst_dir: Path) -> Path:
    dst = dst_dir / "cache.sqlite3"
    shutil.copyfile(src, dst)
    return dst
