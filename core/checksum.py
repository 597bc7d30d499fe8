"""The one way a file's SHA-256 is taken: a recording's upload checksum (client) and a
backup's manifest (server) must agree byte for byte on what they hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20  # bounded memory for multi-GB database dumps


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            h.update(block)
    return h.hexdigest()
