"""SHA-256 of small inputs without loading OpenSSL.

``import hashlib`` loads ``_hashlib`` and with it libcrypto: ~3.5 MB of RSS in a client
that otherwise never needs OpenSSL (the embedded demo: no HTTPS, no TLS). CPython's own
SHA-256 gives the same digest. For large files (recordings, backups) use
:func:`core.checksum.file_sha256`: OpenSSL's is several times faster there.
"""

from __future__ import annotations

from typing import Any

try:  # CPython's built-in module: 3.11 calls it _sha256, 3.12+ _sha2
    from _sha256 import sha256 as _sha256
except ImportError:  # pragma: no cover - other Python versions
    try:
        from _sha2 import sha256 as _sha256  # type: ignore[no-redef]
    except ImportError:
        from hashlib import sha256 as _sha256  # type: ignore[no-redef]

__all__ = ["sha256"]


def sha256(data: bytes = b"") -> Any:
    """A ``hashlib.sha256``-compatible object (``update``, ``hexdigest``, ``digest``)."""
    return _sha256(data)
