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
import hmac
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailroom import audit_keys
from mailroom.audit_keys import Keyring
from mailroom.errors import ConfigurationError, SecretInAuditDetails, StorageUnavailable
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

log = logging.getLogger(__name__)

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
#: A bearer credential is one long token without spaces, a basic one base64: "Bearer xyz.png" or "Basic Antrag
#: Wohngeld.png" (file names) are not.
_SECRET_VALUE_RE = re.compile(
    r"\bmr_[0-9a-f]{16}_[0-9a-f]{16,}|^\s*bearer\s+[A-Za-z0-9._~+/-]{16,}=*\s*$|^\s*basic\s+[A-Za-z0-9+/]{8,}={0,2}\s*$",
    re.IGNORECASE)


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
    keyring: Keyring | None = None,
    key_id: str | None = None,
) -> str | None:
    """The hash (hex) of one entry over the canonical JSON (sorted keys, no spaces, UTF-8) of its fields: the
    HMAC-SHA256 under ``keyring``'s key ``key_id`` (which is part of what is signed), or, without a key id, the bare
    SHA-256 of an entry from before keys. None when the keyring lacks the key."""
    payload: dict[str, Any] = {
        "prev_hash": prev_hash,
        "at": _iso(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    if key_id is None:
        return hashlib.sha256(_canonical_json(payload).encode("utf-8")).hexdigest()
    payload["key_id"] = key_id
    return keyring.mac(key_id, _canonical_json(payload).encode("utf-8")) if keyring is not None else None


def session_keyring(session: Session) -> Keyring:
    """The audit keyring of the session's database (registered when its engine was made)."""
    bind = session.get_bind()
    keyring = audit_keys.keyring_for(str(bind.engine.url))
    if keyring is None:
        raise ConfigurationError("no audit key for this database: engines must be made by "
                                 "mailroom.storage.db.make_engine")
    return keyring


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

    keyring = session_keyring(session)
    _lock_chain(session)
    for _attempt in range(MAX_APPEND_ATTEMPTS):
        prev_hash = _head_hash(session)
        at = utcnow()
        signed = entry_hash(prev_hash=prev_hash, at=at, actor=actor, action=action, object_type=object_type,
                            object_id=object_id, details=stored_details, keyring=keyring, key_id=keyring.current)
        assert signed is not None
        row = AuditLogRow(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details_json=details_json,
            prev_hash=prev_hash,
            hash=signed,
            key_id=keyring.current,
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
    unkeyed: int = 0  # entries from before audit keys (bare SHA-256)
    head_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.ok:
            legacy = f", {self.unkeyed} of them unkeyed (written before audit keys)" if self.unkeyed else ""
            return f"{self.entries} entries{legacy}, chain intact (head {self.head_hash})"
        return f"audit chain broken at entry {self.broken_id}: {self.message}"


def _content_hash(row: Any, keyring: Keyring) -> str | None:
    """The hash an entry should carry, or ``None`` when its stored details are not even valid JSON."""
    try:
        details = json.loads(row.details_json) if row.details_json is not None else None
        return entry_hash(prev_hash=row.prev_hash, at=row.at, actor=row.actor, action=row.action,
                          object_type=row.object_type, object_id=row.object_id, details=details, keyring=keyring,
                          key_id=row.key_id)
    except (ValueError, TypeError):
        return None


def verify(session: Session, keyring: Keyring | None = None) -> VerificationReport:
    """Walk the chain in id order: check every link and recompute every hash (the HMAC under the key outside the
    database); report the first broken entry. An unkeyed entry after a keyed one, or one signed with a key the
    keyring does not know, is forged."""
    keyring = keyring or session_keyring(session)
    columns = (AuditLogRow.id, AuditLogRow.at, AuditLogRow.actor, AuditLogRow.action, AuditLogRow.object_type,
               AuditLogRow.object_id, AuditLogRow.details_json, AuditLogRow.prev_hash, AuditLogRow.hash,
               AuditLogRow.key_id)
    rows = session.execute(select(*columns).order_by(AuditLogRow.id).execution_options(yield_per=1000))
    count = unkeyed = 0
    prev_id: int | None = None
    prev_hash = AUDIT_GENESIS_HASH
    keyed = False
    for row in rows:
        forged = None
        if row.key_id is None and keyed:
            forged = f"entry {row.id} is not signed with an audit key but follows signed entries: forged"
        elif row.key_id is not None and row.key_id not in keyring.keys:
            forged = f"entry {row.id} names audit key {row.key_id!r}, which is not in the keyring: forged"
        if forged:
            return VerificationReport(entries=count, head_hash=prev_hash, broken_id=row.id, problem="forged",
                                      message=forged)
        keyed = keyed or row.key_id is not None
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
        if _content_hash(row, keyring) != row.hash:
            return VerificationReport(
                entries=count, head_hash=prev_hash, broken_id=row.id, problem="altered",
                message=f"entry {row.id} ({row.action} {row.object_type} {row.object_id or ''}".rstrip()
                + ") was altered or forged: its content does not match its keyed hash",
            )
        count += 1
        unkeyed += row.key_id is None
        prev_id = row.id
        prev_hash = row.hash
    return VerificationReport(entries=count, head_hash=prev_hash, unkeyed=unkeyed, head_id=prev_id)


# --- anchors outside the database: a head kept elsewhere, signed checkpoints ------------------------------


def _checkpoint_message(entry: Mapping[str, Any]) -> bytes:
    return _canonical_json({k: entry[k] for k in ("at", "entry_id", "hash", "entries", "key_id")}).encode("utf-8")


def write_checkpoint(session: Session, path: Path, keyring: Keyring | None = None) -> dict[str, Any] | None:
    """Append the signed head of the chain (entry id, its hash, the number of entries) to ``path`` (JSON Lines,
    fsynced) and log it; None for an empty chain. Truncating the chain later leaves a checkpoint naming an entry
    that is gone; rewriting it, one whose hash differs."""
    keyring = keyring or session_keyring(session)
    head = session.execute(select(AuditLogRow.id, AuditLogRow.hash).order_by(AuditLogRow.id.desc()).limit(1)).first()
    if head is None:
        return None
    entries = session.scalar(select(func.count()).select_from(AuditLogRow))
    entry: dict[str, Any] = {"at": _iso(utcnow()), "entry_id": head.id, "hash": head.hash, "entries": entries,
                             "key_id": keyring.current}
    entry["mac"] = keyring.mac(keyring.current, _checkpoint_message(entry))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(_canonical_json(entry) + "\n")
        out.flush()
        os.fsync(out.fileno())
    log.info("audit checkpoint: entry %d hash %s (%d entries)", head.id, head.hash, entries)
    return entry


@dataclass(frozen=True)
class AnchorReport:
    """What :func:`verify_anchors` found: ``problems`` (empty: every anchor holds) and how many were checked."""

    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_anchors(session: Session, *, heads: Sequence[str] = (), checkpoints: Path | None = None,
                   keyring: Keyring | None = None) -> AnchorReport:
    """Check the chain against anchors kept outside the database: each head hash in ``heads`` (printed by an
    earlier ``verify``) must still be an entry of the chain, and each signed checkpoint in ``checkpoints`` must
    verify and name an entry that still exists with the same hash. A truncated tail or a rewritten chain fails."""
    keyring = keyring or session_keyring(session)
    problems: list[str] = []
    checked = 0
    for head in heads:
        checked += 1
        if session.scalar(select(AuditLogRow.id).where(AuditLogRow.hash == head)) is None:
            problems.append(f"the head {head} kept outside is not in the chain: its tail was cut off or rewritten")
    if checkpoints is not None:
        if not checkpoints.exists():
            problems.append(f"no checkpoint file {checkpoints}")
            return AnchorReport(checked, problems)
        for number, line in enumerate(checkpoints.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            checked += 1
            try:
                entry = json.loads(line)
                expected = keyring.mac(str(entry["key_id"]), _checkpoint_message(entry))
            except (ValueError, KeyError, TypeError):
                problems.append(f"checkpoint {number} is not readable")
                continue
            if expected is None or not hmac.compare_digest(expected, str(entry.get("mac", ""))):
                problems.append(f"checkpoint {number} ({entry.get('at')}) has no valid signature: forged")
                continue
            found = session.scalar(select(AuditLogRow.hash).where(AuditLogRow.id == entry["entry_id"]))
            if found is None:
                problems.append(f"checkpoint {number} ({entry['at']}) names entry {entry['entry_id']}, which is "
                                "gone: the chain's tail was cut off")
            elif found != entry["hash"]:
                problems.append(f"checkpoint {number} ({entry['at']}) names entry {entry['entry_id']} with another "
                                "hash: the chain was rewritten")
    return AnchorReport(checked, problems)


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
