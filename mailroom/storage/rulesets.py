"""Tables of routing rule sets: named rule sets, their versions and every change made to them.

* ``rulesets``: one row per named rule set; ``active_version`` is the number of its active version, the one
  value a worker reads per document to know whether its cached compiled rules are still current.
* ``ruleset_versions``: the YAML of each version, numbered 1, 2, 3 ... per rule set, with ``status``
  ``draft`` (editable, not used), ``active`` (exactly one per rule set, enforced by a partial unique index)
  or ``history`` (was active once; never changes again).
* ``ruleset_changes``: who changed what when, with the old and new state as JSON, in order. Every change row is
  mirrored into the append-only audit trail (``ruleset.<action>``, e.g. ``ruleset.activate``) when its
  transaction commits, whoever made it (API, ``mailroom rules``): see :func:`_audit_rule_changes`.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from mailroom import audit
from mailroom.storage.models import Base, utcnow


class VersionStatus(StrEnum):
    """Life of a rule-set version: draft → active → history."""

    DRAFT = "draft"
    ACTIVE = "active"
    HISTORY = "history"


class RuleSetRow(Base):
    """A named rule set; ``active_version`` is the number of its active version (None before the first)."""

    __tablename__ = "rulesets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    active_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RuleSetVersionRow(Base):
    """One version of a rule set: its YAML text and where it is in its life."""

    __tablename__ = "ruleset_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ruleset_id: Mapped[int] = mapped_column(ForeignKey("rulesets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.DRAFT.value)
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), doc="of yaml_text")
    source: Mapped[str | None] = mapped_column(String(255), doc="import of FILE, rollback to 3, default pack ...")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(doc="when it last became active")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("ruleset_id", "version"),
        CheckConstraint("status IN ('draft', 'active', 'history')", name="status"),
        CheckConstraint("version >= 1", name="version"),
        Index(
            "uq_ruleset_versions_one_active",
            "ruleset_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class RuleSetChangeRow(Base):
    """One change of a rule set: who, when, what (``action``), the version concerned, old and new state."""

    __tablename__ = "ruleset_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ruleset_id: Mapped[int] = mapped_column(ForeignKey("rulesets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32), doc="create_draft, update_draft, discard_draft, activate, ...")
    version: Mapped[int | None] = mapped_column(Integer)
    old_json: Mapped[str | None] = mapped_column(Text)
    new_json: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_ruleset_changes_ruleset_id_id", "ruleset_id", "id"),)


# --- the audit trail mirrors every change --------------------------------------------------------------------

_PENDING = "mailroom.ruleset_changes_to_audit"


@event.listens_for(Session, "after_flush")
def _collect_rule_changes(session: Session, _flush_context: Any) -> None:
    """Remember the change rows flushed in this transaction (``session.new`` still lists them here)."""
    changes = [obj for obj in session.new if isinstance(obj, RuleSetChangeRow)]
    if changes:
        session.info.setdefault(_PENDING, []).extend(changes)


@event.listens_for(Session, "before_commit")
def _audit_rule_changes(session: Session) -> None:
    """Write one audit entry per rule-set change, in the transaction that made it, just before it commits."""
    if session.in_nested_transaction() or not session.info.get(_PENDING):
        return
    changes: list[RuleSetChangeRow] = session.info.pop(_PENDING)
    for change in changes:
        details: dict[str, Any] = {"ruleset_id": change.ruleset_id, "version": change.version}
        for key, raw in (("old", change.old_json), ("new", change.new_json)):
            value = json.loads(raw) if raw else None
            if isinstance(value, dict):  # the YAML text is in the version row; its hash identifies it here
                value = {k: v for k, v in value.items() if k not in ("yaml", "yaml_text")}
            details[key] = value
        audit.record(session, actor=change.actor, action=f"ruleset.{change.action}", object_type="ruleset",
                     object_id=str(change.ruleset_id), details=details)


@event.listens_for(Session, "after_transaction_end")
def _forget_rule_changes(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back (or finished) outermost transaction leaves nothing pending."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
