from __future__ import annotations

from pathlib import Path

import pytest

from app.paths import ENV_DATA_DIR, AppPaths


def test_default_paths_follow_platformdirs_under_home(data_dir: Path) -> None:
    import os

    home = Path(os.environ["HOME"])
    p = AppPaths.resolve()
    assert p.data_dir == home / ".local/share/Seatmate"
    assert p.config_dir == home / ".config/Seatmate"
    assert str(p.log_dir).startswith(str(home)) and "Seatmate" in str(p.log_dir)
    assert p.cache_db == p.data_dir / "cache.sqlite3"
    assert p.recordings_dir == p.data_dir / "recordings"


def test_env_variable_moves_everything_under_one_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DATA_DIR, str(data_dir / "env"))
    p = AppPaths.resolve()
    assert p.data_dir == (data_dir / "env").resolve()
    assert p.config_dir == p.data_dir / "config"
    assert p.log_dir == p.data_dir / "logs"
    assert p.settings_file == p.config_dir / "settings.json"


def test_data_dir_option_wins_over_environment(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DATA_DIR, str(data_dir / "env"))
    p = AppPaths.resolve(data_dir / "opt").ensure()
    assert p.data_dir == (data_dir / "opt").resolve()
    for d in (p.data_dir, p.config_dir, p.log_dir, p.recordings_dir):
        assert d.is_dir()
    assert not (data_dir / "env").exists()
