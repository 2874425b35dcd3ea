"""The dashboard's admin login and session key, kept in the deployment's store.

Both live in the store's ``store_meta`` table (no second database): ``dashboard.admin``
holds ``{"username", "password_hash", "created_at"}`` with an argon2id hash
(argon2-cffi's RFC 9106 low-memory profile), ``dashboard.session_key`` the random key that
signs session cookies (so every dashboard process of a deployment accepts the same logins).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select

from voicekit_core.errors import VoicekitError
from voicekit_core.store import Store
from voicekit_core.store.tables import store_meta

ADMIN_KEY = "dashboard.admin"
SESSION_KEY = "dashboard.session_key"
MIN_PASSWORD = 10
USERNAME_MAX = 64


class AccountError(VoicekitError):
    """A username or password that cannot be used."""


@dataclass(frozen=True)
class Admin:
    username: str
    password_hash: str
    created_at: str


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def _read(store: Store, key: str) -> str | None:
    with store.read() as db:
        row = db.execute(select(store_meta.c.value).where(store_meta.c.key == key)).first()
    return None if row is None else row.value


def get_admin(store: Store) -> Admin | None:
    """The admin user, or None before ``voicekit dashboard --create-user`` ran."""
    raw = _read(store, ADMIN_KEY)
    return None if raw is None else Admin(**json.loads(raw))


def set_admin(store: Store, username: str, password: str) -> Admin:
    """Create or replace the admin login. Raises :class:`AccountError` for an empty or
    overlong username or a password shorter than :data:`MIN_PASSWORD` characters."""
    username = username.strip()
    if not username or len(username) > USERNAME_MAX or any(c.isspace() for c in username):
        raise AccountError(f"username must be 1-{USERNAME_MAX} characters without spaces")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
    admin = Admin(
        username=username,
        password_hash=_hasher().hash(password),
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    with store.write() as db:
        db.execute(delete(store_meta).where(store_meta.c.key == ADMIN_KEY))
        db.execute(insert(store_meta).values(key=ADMIN_KEY, value=json.dumps(admin.__dict__)))
    return admin


def verify_login(store: Store, username: str, password: str) -> bool:
    """True when ``username``/``password`` match the admin (constant work either way)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    admin = get_admin(store)
    hasher = _hasher()
    if admin is None:
        hasher.hash(password)  # same cost as a real check: no timing hint
        return False
    try:
        ok = hasher.verify(admin.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and secrets.compare_digest(admin.username, username.strip())


def session_key(store: Store) -> str:
    """The key signing session cookies, created on first use."""
    existing = _read(store, SESSION_KEY)
    if existing:
        return existing
    key = secrets.token_urlsafe(48)
    with store.write() as db:
        if db.execute(select(store_meta.c.key).where(store_meta.c.key == SESSION_KEY)).first():
            row = db.execute(select(store_meta.c.value).where(store_meta.c.key == SESSION_KEY))
            return row.scalar_one()
        db.execute(insert(store_meta).values(key=SESSION_KEY, value=key))
    return key
