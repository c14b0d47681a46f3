"""The append-only, hash-chained audit trail (``audit_log``): record, verify, export.

Every entry carries ``prev_hash``, the hash of the entry before it (:data:`AUDIT_GENESIS_HASH` for the first),
and ``hash``, the SHA-256 over a canonical JSON of ``prev_hash``, ``at`` (ISO 8601 UTC, microseconds),
``actor``, ``action``, ``object_type``, ``object_id`` and ``details``. Changing, inserting or deleting an entry
in the middle breaks the chain, which :func:`verify` finds. (Cutting off the newest entries cannot be seen from
the chain alone: compare :attr:`VerificationReport.head_hash` with a copy kept elsewhere.)

Concurrency: :func:`record` reads the head of the chain inside the caller's writing transaction, so entries from
several processes still form one chain. SQLite write transactions start with ``BEGIN IMMEDIATE`` (see
:mod:`mailroom.storage.db`), which already serialises writers; on PostgreSQL a transaction-scoped advisory lock
does. The unique ``prev_hash`` is the backstop: a writer that lost a race gets an ``IntegrityError`` in its
SAVEPOINT, re-reads the head and tries again. The lock is held until the caller's transaction ends, so record
the entry late in a unit of work, and keep that unit short.

What is recorded, by whom and with which details (intake, decisions, corrections, rule/directory/key changes,
every read of a document, transfer notes) is listed in ``docs/security.md``.

Like :mod:`mailroom.storage.repository`, the functions take an open session and never commit: the entry is
committed together with the change it describes, or not at all. ``details`` must never hold secrets:
:func:`record` refuses keys named like ``token``, ``secret``, ``password`` or ``authorization`` and values
that look like an API token.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailroom.errors import SecretInAuditDetails, StorageUnavailable
from mailroom.storage.models import AUDIT_GENESIS_HASH, AuditLogRow, utcnow

__all__ = [
    "AUDIT_GENESIS_HASH",
    "SecretInAuditDetails",
    "VerificationReport",
    "entry_hash",
    "export",
    "iso",
    "record",
    "verify",
]

#: ``pg_advisory_xact_lock`` key that serialises audit writers on PostgreSQL ("mr-audit" in ASCII).
PG_AUDIT_LOCK_KEY = 0x6D722D6175646974
#: How often :func:`record` re-reads the head after losing a race (unique ``prev_hash``) before giving up.
MAX_APPEND_ATTEMPTS = 8

#: Parts of key names (compared in lower case) that mark a secret; such keys are refused in ``details``.
SECRET_KEY_PARTS: tuple[str, ...] = (
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "credential",
    "private_key",
    "cookie",
)
# Values that are secrets whatever their key: a mailroom API token, an HTTP bearer/basic credential.
_SECRET_VALUE_RE = re.compile(r"\bmr_[0-9a-f]{16}_[0-9a-f]{16,}|^\s*(bearer|basic)\s+\S", re.IGNORECASE)


# --- hashing --------------------------------------------------------------------------------------------


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _iso(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: audit timestamps are timezone-aware UTC")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def iso(at: datetime) -> str:
    """A timezone-aware timestamp as the audit trail writes it: ISO 8601, UTC, microseconds (sorts as text)."""
    return _iso(at)


def entry_hash(
    *,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: Any,
) -> str:
    """The SHA-256 (hex) of one entry: over the canonical JSON (sorted keys, no spaces, UTF-8) of its fields."""
    payload = {
        "prev_hash": prev_hash,
        "at": _iso(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    return hashlib.sha256(_canonical_json(payload).encode("utf-8")).hexdigest()


def _check_no_secrets(value: Any, path: str = "details") -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: audit details keys must be strings, not {type(key).__name__}")
            lowered = key.lower()
            if any(part in lowered for part in SECRET_KEY_PARTS):
                raise SecretInAuditDetails(f"{path}.{key}: secrets must not be written to the audit log",
                                           field=f"{path}.{key}")
            _check_no_secrets(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_no_secrets(item, f"{path}[{index}]")
    elif isinstance(value, str) and _SECRET_VALUE_RE.search(value):
        raise SecretInAuditDetails(f"{path}: the value looks like a credential; secrets must not be written "
                                   "to the audit log", field=path)


# --- writing --------------------------------------------------------------------------------------------


def _lock_chain(session: Session) -> None:
    """Serialise audit writers for the rest of the transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK_KEY})")


def _head_hash(session: Session) -> str:
    head = session.execute(
        select(AuditLogRow.hash).order_by(AuditLogRow.id.desc()).limit(1)
    ).scalar_one_or_none()
    return head if head is not None else AUDIT_GENESIS_HASH


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: Mapping[str, Any] | None = None,
) -> AuditLogRow:
    """Append one entry to the audit chain in the caller's transaction (flushed, not committed) and return it.

    ``details`` is a JSON-serialisable mapping (no secrets: :class:`SecretInAuditDetails`); ``object_id`` may
    be ``None`` for entries about no single object. Raises :class:`StorageUnavailable` when other writers kept
    winning the race for the head of the chain.
    """
    if details is not None and not isinstance(details, Mapping):
        raise TypeError(f"audit details must be a mapping, not {type(details).__name__}")
    _check_no_secrets(details)
    # normalise once (tuples -> lists, key order) so that what is hashed is exactly what is read back
    details_json = _canonical_json(details) if details is not None else None
    stored_details = json.loads(details_json) if details_json is not None else None

    _lock_chain(session)
    for _attempt in range(MAX_APPEND_ATTEMPTS):
        prev_hash = _head_hash(session)
        at = utcnow()
        row = AuditLogRow(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details_json=details_json,
            prev_hash=prev_hash,
            hash=entry_hash(prev_hash=prev_hash, at=at, actor=actor, action=action, object_type=object_type,
                            object_id=object_id, details=stored_details),
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # another writer appended to the same head first: re-read the head
        return row
    raise StorageUnavailable(f"could not append to the audit chain after {MAX_APPEND_ATTEMPTS} attempts",
                             reason="audit_chain_contention")


# --- verifying ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationReport:
    """The result of :func:`verify`.

    ``problem`` (``None`` when intact) is ``"altered"`` (the entry's content no longer matches its hash),
    ``"deleted"`` (entries before ``broken_id`` are missing) or ``"broken_link"`` (its ``prev_hash`` does not
    match the entry before it: that entry was altered and re-hashed, or an entry was removed or inserted).
    ``entries`` counts the entries checked; ``head_hash`` is the hash of the last intact entry.
    """

    entries: int
    head_hash: str
    broken_id: int | None = None
    problem: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.ok:
            return f"{self.entries} entries, chain intact (head {self.head_hash})"
        return f"audit chain broken at entry {self.broken_id}: {self.message}"


def _content_hash(row: Any) -> str | None:
    """The hash an entry should carry, or ``None`` when its stored details are not even valid JSON."""
    try:
        details = json.loads(row.details_json) if row.details_json is not None else None
        return entry_hash(prev_hash=row.prev_hash, at=row.at, actor=row.actor, action=row.action,
                          object_type=row.object_type, object_id=row.object_id, details=details)
    except (ValueError, TypeError):
        return None


def verify(session: Session) -> VerificationReport:
    """Walk the chain in id order: check every link and recompute every hash; report the first broken entry."""
    columns = (AuditLogRow.id, AuditLogRow.at, AuditLogRow.actor, AuditLogRow.action, AuditLogRow.object_type,
               AuditLogRow.object_id, AuditLogRow.details_json, AuditLogRow.prev_hash, AuditLogRow.hash)
    rows = session.execute(select(*columns).order_by(AuditLogRow.id).execution_options(yield_per=1000))
    count = 0
    prev_id: int | None = None
    prev_hash = AUDIT_GENESIS_HASH
    for row in rows:
        if row.prev_hash != prev_hash:
            if prev_id is None:
                problem, message = (
                    ("deleted", f"the entries before entry {row.id} are missing (deleted): its prev_hash is not "
                                "the genesis hash")
                    if row.id > 1 else
                    ("broken_link", f"entry {row.id} is the first entry, but its prev_hash is not the genesis hash")
                )
            elif row.id != prev_id + 1:
                problem, message = ("deleted", f"entries between {prev_id} and {row.id} are missing (deleted): "
                                               f"entry {row.id} does not link to entry {prev_id}")
            else:
                problem, message = ("broken_link", f"entry {row.id}'s prev_hash does not match the hash of entry "
                                                   f"{prev_id} (altered and re-hashed, or an entry was removed)")
            return VerificationReport(entries=count, head_hash=prev_hash, broken_id=row.id, problem=problem,
                                      message=message)
        if _content_hash(row) != row.hash:
            return VerificationReport(
                entries=count, head_hash=prev_hash, broken_id=row.id, problem="altered",
                message=f"entry {row.id} ({row.action} {row.object_type} {row.object_id or ''}".rstrip()
                + ") was altered: its content does not match its hash",
            )
        count += 1
        prev_id = row.id
        prev_hash = row.hash
    return VerificationReport(entries=count, head_hash=prev_hash)


# --- exporting ------------------------------------------------------------------------------------------


def export(session: Session, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The entries in chain (id) order as JSON-ready dicts, optionally only those at or after ``since``."""
    query = select(AuditLogRow).order_by(AuditLogRow.id)
    if since is not None:
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError(f"naive datetime {since!r}: pass a timezone-aware UTC timestamp")
        query = query.where(AuditLogRow.at >= since)
    for row in session.scalars(query.execution_options(yield_per=1000)):
        yield {
            "id": row.id,
            "at": _iso(row.at),
            "actor": row.actor,
            "action": row.action,
            "object_type": row.object_type,
            "object_id": row.object_id,
            "details": json.loads(row.details_json) if row.details_json is not None else None,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }
        session.expunge(row)  # keep memory flat on long exports
