"""Server secrets: the Ed25519 key that signs monitor grants and the HMAC key
for access tokens. Generated on first start and kept in the server database
(owner-only file on SQLite; PostgreSQL has its own access control)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.grant_token import public_key_b64
from server.models import ServerSecret

GRANT_KEY = "grant_ed25519"
TOKEN_KEY = "access_hmac"


@dataclass(frozen=True)
class ServerKeys:
    grant_key: Ed25519PrivateKey
    grant_public_b64: str
    token_key: bytes


def _insert_if_missing(session: Session, name: str, value: str) -> None:
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ServerSecret)
    session.execute(ins.values(name=name, value=value).on_conflict_do_nothing(index_elements=["name"]))


def load_or_create(session: Session) -> ServerKeys:
    """Idempotent and safe when several workers start at once (first insert wins)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    _insert_if_missing(session, GRANT_KEY, pem)
    _insert_if_missing(session, TOKEN_KEY, base64.b64encode(secrets.token_bytes(32)).decode())
    session.commit()
    rows = dict(session.execute(select(ServerSecret.name, ServerSecret.value)).all())
    key = serialization.load_pem_private_key(rows[GRANT_KEY].encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return ServerKeys(grant_key=key, grant_public_b64=public_key_b64(key),
                      token_key=base64.b64decode(rows[TOKEN_KEY]))
