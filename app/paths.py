"""Where Seatmate keeps its files: per-user data, config and logs.

platformdirs picks the OS convention ("Seatmate" under ~/.local/share,
~/.config, ~/.local/state/.../log on Linux; %LOCALAPPDATA% on Windows). A
``--data-dir`` option or the ``SEATMATE_DATA_DIR`` environment variable puts
everything (config and logs too) under one folder: tests, portable installs
and several agents sharing one Windows account each get their own tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Seatmate"
ENV_DATA_DIR = "SEATMATE_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def cache_db(self) -> Path:
        return self.data_dir / "cache.sqlite3"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @classmethod
    def resolve(cls, data_dir: Path | str | None = None) -> AppPaths:
        """``data_dir`` (from --data-dir) wins over the environment, which wins over platformdirs."""
        chosen = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR) or None
        if chosen is not None:
            root = Path(chosen).expanduser().resolve()
            return cls(data_dir=root, config_dir=root / "config", log_dir=root / "logs")
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    def ensure(self) -> AppPaths:
        """Create the folders (idempotent); returns self for chaining."""
        for d in (self.data_dir, self.config_dir, self.log_dir, self.recordings_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self
