"""Server mode in the tests: the real ``seatmate-server`` with its demo data on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.faults.harness import ServerProcess

PASSWORD = "demo-2026"  # the server's demo accounts (seatmate-server demo)


@contextmanager
def demo_server(path: Path) -> Iterator[ServerProcess]:
    """A server under ``path`` with the demo data, started; stopped on leaving."""
    srv = ServerProcess(path)
    srv.cli("demo")
    srv.start()
    yield srv
    srv.stop()
