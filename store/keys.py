"""API keys: who a request comes from (its owner) and what it may do (its role).

A key is ``nbt_<id>_<secret>``: the id names the row (shown by ``keys list``, used to revoke);
the secret is 32 random bytes, shown once at creation. Only an HMAC-SHA256 of the whole key
under the server's pepper is stored. The secret's 256 bits of entropy make a slow hash
(scrypt, Argon2) unnecessary: those defend guessable passwords, and guessing a 2^256 secret
is out of reach whatever the hash's cost, while every request pays it (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.db import changed_one
from store.models import Base, UTCDateTime, utcnow

ADMIN, MEMBER = "admin", "member"
ROLES = (ADMIN, MEMBER)
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
KEY_PATTERN = re.compile(r"^nbt_([0-9a-z]{12})_([A-Za-z0-9_-]{43})$")


class ApiKey(Base):
    """One API key: its owner, role, stored hash, and when it was created or revoked."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES!r}", name="role_known"),)

    id: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(64), index=True)
    role: Mapped[str] = mapped_column(sa.String(8))
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Principal:
    """The caller a valid key identifies."""

    key_id: str
    owner: str
    role: str

    @property
    def admin(self) -> bool:
        return self.role == ADMIN


def key_digest(key: str, pepper: str) -> str:
    """HMAC-SHA256 of a presented key under the server's pepper (hex)."""
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def create_key(session: Session, owner: str, role: str, pepper: str) -> tuple[ApiKey, str]:
    """A new key for ``owner``: its row and the secret key, which is never stored."""
    if not OWNER_PATTERN.match(owner):
        raise ValueError("owner: 1 to 64 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise ValueError(f"role: one of {ROLES}")
    key_id = secrets.token_hex(6)
    key = f"nbt_{key_id}_{secrets.token_urlsafe(32)}"
    row = ApiKey(id=key_id, owner=owner, role=role, digest=key_digest(key, pepper))
    session.add(row)
    session.flush()
    return row, key


def principal_for(session: Session, key: str, pepper: str) -> Principal | None:
    """The caller behind a presented key, or None for a malformed, unknown or revoked one."""
    if not KEY_PATTERN.match(key):
        return None
    active = sa.and_(ApiKey.digest == key_digest(key, pepper), ApiKey.revoked_at.is_(None))
    row = session.scalar(sa.select(ApiKey).where(active))
    return None if row is None else Principal(row.id, row.owner, row.role)


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.owner, ApiKey.created_at)))


def revoke_key(session: Session, key_id: str) -> bool:
    """Revoke a key by id; False when there is no such active key."""
    stmt = (
        sa.update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return changed_one(session, stmt)
