"""API keys: who may call the REST API, in which role and with which scope.

A key is shown once, at creation, as ``mr_<key id>_<secret>``. The key id (16 hex digits) is public: it finds
the row. The secret (32 random bytes, 64 hex digits) is stored only as its SHA-256 and compared in constant
time. A fast hash is the right one here: the secret is 256 bits of randomness, not a password, so it cannot be
guessed from its hash however fast hashing is, while a deliberately slow hash (scrypt, argon2) would cost tens
of milliseconds of CPU on *every* request of a station uploading a stack.

Roles (``DESIGN.md``): ``station`` uploads and sees its own uploads (scope: station name); ``clerk`` and
``dms`` see the documents of their postboxes (scope: postboxes); ``reviewer`` works the review queue; ``admin``
sees and manages everything. A clerk or dms key may name a ``person`` of the organisation directory: it then also
sees the confidential letters ("persönlich/vertraulich") addressed to that person in its postboxes. A name has at
most one active key; revoking keeps the row (who had access when). Creating and revoking a key are recorded in
the audit trail (``key.created``, ``key.revoked``) in the same transaction, never with the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, Text, column, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailroom import audit
from mailroom.errors import InputError, InvalidKeySpec
from mailroom.storage.models import Base, utcnow

KEY_PREFIX = "mr"
KEY_ID_BYTES = 8
SECRET_BYTES = 32
_TOKEN_RE = re.compile(rf"^{KEY_PREFIX}_([0-9a-f]{{{2 * KEY_ID_BYTES}}})_([0-9a-f]{{{2 * SECRET_BYTES}}})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class Role(StrEnum):
    """What a key may do (see the module docstring)."""

    STATION = "station"
    CLERK = "clerk"
    DMS = "dms"
    REVIEWER = "reviewer"
    ADMIN = "admin"


#: Roles whose keys are scoped to postboxes.
POSTBOX_ROLES = frozenset({Role.CLERK, Role.DMS})


class ApiKeyRow(Base):
    """One API key. ``secret_sha256`` is the SHA-256 of the secret; the secret itself is never stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(2 * KEY_ID_BYTES), primary_key=True, doc="public key id")
    name: Mapped[str] = mapped_column(String(128), doc="who holds the key: station, clerk, system")
    role: Mapped[str] = mapped_column(String(16))
    station: Mapped[str | None] = mapped_column(String(128), doc="station name (role station)")
    postboxes_json: Mapped[str] = mapped_column(Text, doc="JSON list of postboxes (roles clerk and dms)")
    person: Mapped[str | None] = mapped_column(
        String(128), doc="directory person id (clerk, dms): may see confidential letters for this person"
    )
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in Role)})", name="role"),
        CheckConstraint("role != 'station' OR station IS NOT NULL", name="station_scope"),
        # one active key per name; revoked keys keep their rows
        Index(
            "uq_api_keys_name_active", "name", unique=True,
            sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    @property
    def postboxes(self) -> list[str]:
        return list(json.loads(self.postboxes_json))


@dataclass(frozen=True)
class CreatedKey:
    """A new key: its row and the token, which exists only here and is shown to the user once."""

    row: ApiKeyRow
    token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def check_scope(
    *,
    name: str,
    role: Role | str,
    postboxes: list[str] | None,
    station: str | None,
    person: str | None,
    error: type[InputError] = InvalidKeySpec,
    what: str = "key",
) -> tuple[Role, list[str], str | None]:
    """The role, sorted postboxes and station of a key or user account (``what``), checked: station accounts are
    scoped to a station (default: the name), clerk and dms accounts to at least one postbox and may name a
    ``person``; other roles take no scope. Raises ``error`` with the field at fault."""
    try:
        role = Role(role)
    except ValueError:
        raise error(
            f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}", field="role"
        ) from None
    if not _NAME_RE.match(name):
        raise error(f"a {what} name is 1-128 letters, digits, '.', '_' or '-'", field="name")
    boxes = sorted(set(postboxes or []))
    if role in POSTBOX_ROLES and not boxes:
        raise error(f"a {role.value} {what} needs at least one postbox", field="postbox")
    if role not in POSTBOX_ROLES and boxes:
        raise error(f"a {role.value} {what} is not scoped to postboxes", field="postbox")
    if role is Role.STATION:
        station = station or name
    elif station is not None:
        raise error(f"only station {what}s have a station", field="station")
    if person is not None:
        if role not in POSTBOX_ROLES:
            raise error(f"a {role.value} {what} has no person (only clerk and dms {what}s)", field="person")
        if not _NAME_RE.match(person):
            raise error("a person is a directory person id: letters, digits, '.', '_' or '-'", field="person")
    return role, boxes, station


#: The web UI's accounts (:mod:`mailroom.storage.users`, which builds on this module), seen by name only.
_USERS = table("users", column("name"))


def create_key(
    session: Session,
    *,
    name: str,
    role: Role | str,
    postboxes: list[str] | None = None,
    station: str | None = None,
    person: str | None = None,
    actor: str = "system",
) -> CreatedKey:
    """Create a key. Station keys are scoped to ``station`` (default: the key's name); clerk and dms keys need
    at least one postbox and may name a ``person`` (confidential letters); other roles take no scope.
    ``actor`` (who creates it) goes to the audit entry."""
    role, boxes, station = check_scope(name=name, role=role, postboxes=postboxes, station=station, person=person)
    earlier = session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_not(None))
                             .limit(1))
    if earlier is not None:
        # the audit trail and the reviewers' scope (the documents "it decided": labels by key name) name keys by
        # name: a new key with an old name would inherit what the old one did
        raise InvalidKeySpec(f"a key named {name!r} existed (revoked {earlier.revoked_at:%Y-%m-%d}); key names are "
                             "never reused: choose another name", field="name")
    if session.scalar(select(_USERS.c.name).where(_USERS.c.name == name).limit(1)) is not None:
        # keys and web UI accounts share one namespace: labels and the audit trail name either by name alone
        raise InvalidKeySpec(f"{name!r} is the name of a web UI account; key and user names are one namespace: "
                             "choose another name", field="name")
    key_id = secrets.token_hex(KEY_ID_BYTES)
    secret = secrets.token_hex(SECRET_BYTES)
    row = ApiKeyRow(
        id=key_id, name=name, role=role.value, station=station, postboxes_json=json.dumps(boxes), person=person,
        secret_sha256=_digest(secret), created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise InvalidKeySpec(
            f"an active key named {name!r} exists; revoke it first or choose another name", field="name"
        ) from None
    audit.record(session, actor=actor, action="key.created", object_type="api_key", object_id=key_id,
                 details={"name": name, "role": role.value, "station": station, "postboxes": boxes, "person": person})
    return CreatedKey(row=row, token=f"{KEY_PREFIX}_{key_id}_{secret}")


def authenticate(session: Session, token: str) -> ApiKeyRow | None:
    """The active key of ``token``, or ``None`` for a malformed, unknown, wrong or revoked token."""
    match = _TOKEN_RE.match(token)
    if match is None:
        return None
    row = session.get(ApiKeyRow, match.group(1))
    # compare even when the row is missing, so that timing does not tell whether a key id exists
    expected = row.secret_sha256 if row is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(match.group(2))) or row is None or row.revoked_at is not None:
        return None
    return row


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKeyRow]:
    """Keys by name and creation time; revoked keys only when asked."""
    query = select(ApiKeyRow).order_by(ApiKeyRow.name, ApiKeyRow.created_at)
    if not include_revoked:
        query = query.where(ApiKeyRow.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_key(session: Session, name: str, *, actor: str = "system") -> ApiKeyRow | None:
    """Revoke the active key named ``name``; returns it, or ``None`` when there is none. ``actor``: for the audit."""
    row = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
    ).one_or_none()
    if row is not None:
        row.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="key.revoked", object_type="api_key", object_id=row.id,
                     details={"name": row.name, "role": row.role})
    return row
