"""User accounts of the web UI (people: reviewers, clerks, station operators, admins) and their sign-in sessions.

Machines use API keys (:mod:`mailroom.storage.keys`); people sign in to the web UI with a name and a password.
A user has exactly the role and scope of a key (station name; postboxes and an optional directory ``person`` for
clerk and dms accounts), checked by the same :func:`mailroom.storage.keys.check_scope`, so that the UI's
principal is the API's (:class:`api.auth.Principal`) and one scope rule serves both.

Passwords are hashed with argon2id (``argon2-cffi``, its RFC 9106 low-memory profile); the hash is re-computed
when the parameters change (:func:`authenticate` rehashes on sign-in). A password is never logged, never put in
the audit trail, never accepted on a command line (``mailroom users`` prompts or reads a file/stdin).

Lock-out: after :data:`MAX_FAILED_SIGNINS` failed sign-ins in a row an account is locked for
:data:`LOCKOUT_MINUTES` minutes (a correct password during the lock does not open it); a successful sign-in
resets the count. Unknown names cost the same argon2 verification as known ones, and answer the same.

Sessions: the browser holds a random token (32 bytes) in a cookie; the table stores only its SHA-256 (like API
keys: a random secret needs no slow hash), with the session's CSRF token, its expiry (absolute, and idle) and
when it ended (logout, password change, account disabled). Everything is recorded in the audit trail
(``user.created``, ``user.password_changed``, ``user.disabled``, ``user.signed_in``, ``user.signin_failed``,
``user.locked``, ``user.signed_out``), never with a password or a token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailroom import audit
from mailroom.errors import InvalidUserSpec
from mailroom.storage.keys import ApiKeyRow, Role, check_scope
from mailroom.storage.models import Base, utcnow

#: Failed sign-ins in a row that lock an account.
MAX_FAILED_SIGNINS = 5
#: How long a locked account stays locked.
LOCKOUT_MINUTES = 15
#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 12
#: Longest password accepted (argon2 hashes anything, but a megabyte of "password" is an attack, not a password).
MAX_PASSWORD_LENGTH = 1024
#: A session ends this long after sign-in at the latest ...
SESSION_HOURS = 10
#: ... or after this long without a request.
SESSION_IDLE_MINUTES = 60

_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that an unknown name costs the same time as a wrong password.
    Made at the first sign-in, not at import: hashing costs most of a second of CPU, which every process that
    imports this module (a worker, ``mailroom process``) paid at start (issue 16)."""
    return _HASHER.hash(secrets.token_hex(16))


class UserRow(Base):
    """One user account of the web UI."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, doc="sign-in name")
    display_name: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    station: Mapped[str | None] = mapped_column(String(128), doc="station name (role station)")
    postboxes_json: Mapped[str] = mapped_column(Text, doc="JSON list of postboxes (roles clerk and dms)")
    person: Mapped[str | None] = mapped_column(String(128), doc="directory person id (clerk, dms)")
    password_hash: Mapped[str] = mapped_column(String(256), doc="argon2id")
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_signin_at: Mapped[datetime | None] = mapped_column()
    disabled_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in Role)})", name="role"),
        CheckConstraint("role != 'station' OR station IS NOT NULL", name="station_scope"),
    )

    @property
    def postboxes(self) -> list[str]:
        return list(json.loads(self.postboxes_json))

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class UiSessionRow(Base):
    """One sign-in session: the SHA-256 of the cookie's token, the CSRF token of its forms, its lifetime."""

    __tablename__ = "ui_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="SHA-256 of the session token")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_ui_sessions_user_id", "user_id"),)


def check_password(password: str) -> None:
    """422 ``invalid_user`` (field ``password``) for a password that is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUserSpec(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidUserSpec(f"a password has at most {MAX_PASSWORD_LENGTH} characters", field="password")


def create_user(
    session: Session,
    *,
    name: str,
    role: Role | str,
    password: str,
    postboxes: list[str] | None = None,
    station: str | None = None,
    person: str | None = None,
    display_name: str | None = None,
    actor: str = "system",
) -> UserRow:
    """Create an account with the scope rules of API keys (:func:`~mailroom.storage.keys.check_scope`)."""
    role, boxes, station = check_scope(name=name, role=role, postboxes=postboxes, station=station, person=person,
                                       error=InvalidUserSpec, what="user")
    check_password(password)
    if session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name).limit(1)) is not None:
        # one namespace with API keys (revoked ones too): a reviewer's scope and the labels name either by name,
        # so an account named like a key would see what that key decided
        raise InvalidUserSpec(f"{name!r} is the name of an API key; user and key names are one namespace: choose "
                              "another name", field="name")
    now = utcnow()
    row = UserRow(
        id=secrets.token_hex(8), name=name, display_name=display_name, role=role.value, station=station,
        postboxes_json=json.dumps(boxes), person=person, password_hash=_HASHER.hash(password), failed_signins=0,
        created_at=now, password_changed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise InvalidUserSpec(f"a user named {name!r} exists", field="name") from None
    audit.record(session, actor=actor, action="user.created", object_type="user", object_id=row.id,
                 details={"name": name, "role": role.value, "station": station, "postboxes": boxes, "person": person})
    return row


def get_user(session: Session, name: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.name == name)).one_or_none()


def list_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.name)))


def set_password(session: Session, name: str, password: str, *, actor: str = "system") -> UserRow:
    """A new password; unlocks the account and ends its sessions."""
    row = _existing(session, name)
    check_password(password)
    row.password_hash = _HASHER.hash(password)
    row.password_changed_at = utcnow()
    row.failed_signins = 0
    row.locked_until = None
    end_sessions(session, row.id)
    audit.record(session, actor=actor, action="user.password_changed", object_type="user", object_id=row.id,
                 details={"name": row.name})
    return row


def disable_user(session: Session, name: str, *, actor: str = "system") -> UserRow:
    """The account can no longer sign in; its sessions end at once. The row stays (who had access when)."""
    row = _existing(session, name)
    if row.disabled_at is None:
        row.disabled_at = utcnow()
        end_sessions(session, row.id)
        audit.record(session, actor=actor, action="user.disabled", object_type="user", object_id=row.id,
                     details={"name": row.name})
    return row


def unlock_user(session: Session, name: str, *, actor: str = "system") -> UserRow:
    row = _existing(session, name)
    row.failed_signins = 0
    row.locked_until = None
    audit.record(session, actor=actor, action="user.unlocked", object_type="user", object_id=row.id,
                 details={"name": row.name})
    return row


def _existing(session: Session, name: str) -> UserRow:
    row = get_user(session, name)
    if row is None:
        raise InvalidUserSpec(f"no user named {name!r}", field="name")
    return row


@dataclass(frozen=True)
class SignIn:
    """The outcome of :func:`authenticate`: the user when the password was right and the account open;
    ``locked`` when the account is (now) locked. A wrong name and a wrong password look the same."""

    user: UserRow | None
    locked: bool = False


def authenticate(session: Session, name: str, password: str, *, now: datetime | None = None) -> SignIn:
    """Check ``password`` for ``name``, counting failures and locking the account after
    :data:`MAX_FAILED_SIGNINS` of them in a row. Writes (counts, audit): call in a writing session."""
    now = now or utcnow()
    dummy = _dummy_hash()  # made (once) before the name is looked up: the first sign-in costs the same either way
    row = get_user(session, name) if len(password) <= MAX_PASSWORD_LENGTH else None
    ok = _verify(row.password_hash if row is not None else dummy, password[:MAX_PASSWORD_LENGTH])
    if row is None:
        return SignIn(None)
    if row.locked_until is not None and row.locked_until > now:
        audit.record(session, actor=f"user:{row.name}", action="user.signin_failed", object_type="user",
                     object_id=row.id, details={"name": row.name, "why": "locked"})
        return SignIn(None, locked=True)
    if not ok or row.disabled_at is not None:
        locked = _count_failure(session, row, now, why="disabled" if row.disabled_at else "wrong password")
        return SignIn(None, locked=locked)
    row.failed_signins = 0
    row.locked_until = None
    row.last_signin_at = now
    if _HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = _HASHER.hash(password)
    return SignIn(row)


def _count_failure(session: Session, row: UserRow, now: datetime, *, why: str) -> bool:
    """One more failed password check in a row (sign-in, or the current password when changing it); locks the
    account after :data:`MAX_FAILED_SIGNINS`. Returns whether it is locked now."""
    row.failed_signins += 1
    locked = row.failed_signins >= MAX_FAILED_SIGNINS
    if locked:
        row.locked_until = now + timedelta(minutes=LOCKOUT_MINUTES)
        row.failed_signins = 0
    audit.record(session, actor=f"user:{row.name}", action="user.locked" if locked else "user.signin_failed",
                 object_type="user", object_id=row.id, details={"name": row.name, "why": why})
    return locked


def change_own_password(
    session: Session, name: str, current: str, new: str, *, now: datetime | None = None,
) -> UserRow | None:
    """A signed-in user changes their own password: ``current`` must be right (a wrong one counts as a failed
    sign-in, :data:`MAX_FAILED_SIGNINS` of them lock the account), ``new`` follows the rules of
    :func:`check_password` and differs from ``current``. Ends every session of the user (the caller starts a new
    one for the browser that changed it). Returns ``None`` for a wrong current password (the failure is counted:
    commit the session). Raises :class:`InvalidUserSpec` for a new password the rules refuse."""
    now = now or utcnow()
    row = _existing(session, name)
    if len(current) > MAX_PASSWORD_LENGTH or not _verify(row.password_hash, current):
        _count_failure(session, row, now, why="wrong current password")
        return None
    check_password(new)
    if hmac.compare_digest(new.encode("utf-8", "replace"), current.encode("utf-8", "replace")):
        raise InvalidUserSpec("the new password is the current one", field="password")
    return set_password(session, name, new, actor=f"{row.role}:{row.name}")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --- sessions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    """A session just started: its row and the token for the cookie (exists only here)."""

    row: UiSessionRow
    token: str


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, user: UserRow, *, now: datetime | None = None) -> NewSession:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = UiSessionRow(id=_token_digest(token), user_id=user.id, csrf_token=secrets.token_hex(32), created_at=now,
                       last_seen_at=now, expires_at=now + timedelta(hours=SESSION_HOURS))
    session.add(row)
    audit.record(session, actor=f"{user.role}:{user.name}", action="user.signed_in", object_type="user",
                 object_id=user.id, details={"name": user.name})
    return NewSession(row=row, token=token)


def session_user(session: Session, token: str, *, now: datetime | None = None) -> tuple[UiSessionRow, UserRow] | None:
    """The open session of ``token`` and its (active) user, its idle clock moved on; ``None`` when the token is
    unknown, ended, expired or idle too long, or the user is disabled. Writes ``last_seen_at`` (about once a
    minute): call in a writing session."""
    if not token or len(token) > 256:
        return None
    now = now or utcnow()
    row = session.get(UiSessionRow, _token_digest(token))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=SESSION_IDLE_MINUTES) <= now:
        row.ended_at = now
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return row, user


def csrf_matches(row: UiSessionRow, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(row.csrf_token, token)


def end_session(session: Session, token: str, *, now: datetime | None = None) -> UserRow | None:
    """Logout: the session of ``token`` ends; returns its user (``None`` for an unknown token)."""
    row = session.get(UiSessionRow, _token_digest(token)) if token else None
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now or utcnow()
    user = session.get(UserRow, row.user_id)
    if user is not None:
        audit.record(session, actor=f"{user.role}:{user.name}", action="user.signed_out", object_type="user",
                     object_id=user.id, details={"name": user.name})
    return user


def end_sessions(session: Session, user_id: str) -> None:
    now = utcnow()
    for row in session.scalars(select(UiSessionRow).where(UiSessionRow.user_id == user_id,
                                                          UiSessionRow.ended_at.is_(None))):
        row.ended_at = now
