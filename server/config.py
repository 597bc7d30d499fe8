"""Where the server keeps its data, and the defaults a newcomer gets.

Zero configuration: an embedded SQLite database in the per-user data dir
("Seatmate Server"). Production passes a ``postgresql+psycopg://`` URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Seatmate Server"
ENV_DB = "SEATMATE_SERVER_DB"
ENV_DATA_DIR = "SEATMATE_SERVER_DATA_DIR"
ENV_TZ = "SEATMATE_SERVER_TZ"
ENV_REFRESH_GRACE = "SEATMATE_SERVER_REFRESH_GRACE_S"
# Worker processes of `serve`: an SQLite server with several shares live-floor messages
# through a table (server/floor.py); one process needs nothing but memory.
ENV_WORKERS = "SEATMATE_SERVER_WORKERS"
# Where call recordings are stored. Several instances behind a proxy must share one
# directory (NFS, CephFS, a mounted volume): an upload started on one instance is
# resumed on another, and any instance serves playback (docs: README "Deploying for a floor").
ENV_RECORDINGS_DIR = "SEATMATE_SERVER_RECORDINGS_DIR"
# The floor works in China time; report days ("日报表") are cut at local midnight.
DEFAULT_TZ = "Asia/Shanghai"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class ServerConfig:
    db_url: str
    data_dir: Path
    tz: str = DEFAULT_TZ
    access_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 30 * 24 * 3600
    # A client that lost the answer to its refresh retries with the same token: accepted
    # this long after the first use, as long as the token issued then was never used.
    refresh_grace_s: int = 30
    # Login throttling: this many failures within the window locks the key out.
    login_max_failures: int = 5
    login_window_s: int = 300
    login_ip_max_failures: int = 50
    workers: int = 1
    recordings_path: Path | None = None  # None: <data dir>/recordings

    @property
    def recordings_dir(self) -> Path:
        return self.recordings_path if self.recordings_path is not None else self.data_dir / "recordings"

    @classmethod
    def from_env(cls) -> ServerConfig:
        data_dir = Path(os.environ.get(ENV_DATA_DIR) or default_data_dir())
        db_url = os.environ.get(ENV_DB) or sqlite_url(data_dir / "server.sqlite3")
        grace = int(os.environ.get(ENV_REFRESH_GRACE) or 30)
        workers = max(1, int(os.environ.get(ENV_WORKERS) or 1))
        recordings = os.environ.get(ENV_RECORDINGS_DIR)
        return cls(db_url=db_url, data_dir=data_dir, tz=os.environ.get(ENV_TZ, DEFAULT_TZ), refresh_grace_s=grace,
                   workers=workers, recordings_path=Path(recordings) if recordings else None)

    def to_env(self) -> dict[str, str]:
        return {ENV_DB: self.db_url, ENV_DATA_DIR: str(self.data_dir), ENV_TZ: self.tz,
                ENV_REFRESH_GRACE: str(self.refresh_grace_s), ENV_WORKERS: str(self.workers),
                ENV_RECORDINGS_DIR: str(self.recordings_dir)}
