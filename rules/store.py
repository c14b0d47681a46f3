"""Rule sets in the database: versions (draft → active → history), activation, rollback, change records, and
the cache through which every worker uses the active version.

A rule set (``default`` unless named) has numbered versions. A *draft* can be edited or discarded; activating
it makes it the one *active* version and turns the previous one into *history*. History never changes:
a rollback copies an earlier version into a new version and activates that, so the list of versions stays
append-only. Every change writes a ``ruleset_changes`` row with who, when, and the old and new state.

Workers never restart for a rule change: :class:`ActiveRuleSetCache` reads ``rulesets.active_version`` (one
indexed single-row query) per document and recompiles only when that number changed.

All functions take an open SQLAlchemy session and leave committing to the caller. The functions that make or
activate a version take the organisation ``directory`` in force: a rule set naming a postbox, person or department
it lacks is refused (``rules_not_in_directory``); only the system's installation of the default pack passes none.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailroom.errors import RuleSetConflict, RuleSetNotFound
from mailroom.storage.models import utcnow
from mailroom.storage.rulesets import RuleSetChangeRow, RuleSetRow, RuleSetVersionRow, VersionStatus
from rules.compiled import CompiledRuleSet, compile_ruleset
from rules.language import RuleSet
from rules.validate import RuleProblem, directory_change_warnings, load_ruleset

if TYPE_CHECKING:
    from mailroom.directory import Directory

DEFAULT_RULESET = "default"
PACKS_DIR = Path(__file__).resolve().parent / "packs"
DEFAULT_PACK = PACKS_DIR / "musterstadt.yaml"
SYSTEM_ACTOR = "system"

_VERSION_LINE = re.compile(r"^version:[^\n]*$", re.MULTILINE)


@dataclass(frozen=True)
class StoredVersion:
    """A version as read from the database, with its parsed rules."""

    name: str
    version: int
    status: str
    source: str | None
    ruleset: RuleSet
    yaml_text: str


def default_pack_text() -> str:
    """The rule pack shipped with mailroom (Stadt Musterstadt)."""
    return DEFAULT_PACK.read_text(encoding="utf-8")


def with_version(text: str, number: int) -> str:
    """The YAML with its top-level ``version:`` set to ``number`` (the stored number is the version)."""
    if _VERSION_LINE.search(text):
        return _VERSION_LINE.sub(f"version: {number}", text, count=1)
    return f"version: {number}\n{text}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _record(
    session: Session,
    ruleset: RuleSetRow,
    *,
    actor: str,
    action: str,
    version: int | None,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> None:
    session.add(
        RuleSetChangeRow(
            ruleset_id=ruleset.id, actor=actor, action=action, version=version, old_json=_json(old),
            new_json=_json(new),
        )
    )
    session.flush()


# --- reading -----------------------------------------------------------------------------------------------


def get_ruleset(session: Session, name: str = DEFAULT_RULESET) -> RuleSetRow:
    """The rule set row; :class:`RuleSetNotFound` if there is none of that name."""
    row = session.scalar(select(RuleSetRow).where(RuleSetRow.name == name))
    if row is None:
        raise RuleSetNotFound(f"no rule set named {name!r}")
    return row


def list_versions(session: Session, name: str = DEFAULT_RULESET) -> list[RuleSetVersionRow]:
    """Every version of the rule set, oldest first."""
    ruleset = get_ruleset(session, name)
    return list(
        session.scalars(
            select(RuleSetVersionRow)
            .where(RuleSetVersionRow.ruleset_id == ruleset.id)
            .order_by(RuleSetVersionRow.version)
        )
    )


def get_version(session: Session, number: int | None = None, *, name: str = DEFAULT_RULESET) -> RuleSetVersionRow:
    """Version ``number`` of the rule set, or its active version when ``number`` is None."""
    ruleset = get_ruleset(session, name)
    wanted = ruleset.active_version if number is None else number
    if wanted is None:
        raise RuleSetNotFound(f"rule set {name!r} has no active version")
    row = session.scalar(
        select(RuleSetVersionRow).where(
            RuleSetVersionRow.ruleset_id == ruleset.id, RuleSetVersionRow.version == wanted
        )
    )
    if row is None:
        raise RuleSetNotFound(f"rule set {name!r} has no version {wanted}")
    return row


def read_version(session: Session, number: int | None = None, *, name: str = DEFAULT_RULESET) -> StoredVersion:
    """A version with its parsed rules (the active one when ``number`` is None)."""
    row = get_version(session, number, name=name)
    return StoredVersion(name, row.version, row.status, row.source, load_ruleset(row.yaml_text), row.yaml_text)


def list_changes(session: Session, name: str = DEFAULT_RULESET) -> list[RuleSetChangeRow]:
    """Every recorded change of the rule set, in order."""
    ruleset = get_ruleset(session, name)
    return list(
        session.scalars(
            select(RuleSetChangeRow).where(RuleSetChangeRow.ruleset_id == ruleset.id).order_by(RuleSetChangeRow.id)
        )
    )


# --- changing ----------------------------------------------------------------------------------------------


def _ruleset_for_write(session: Session, name: str) -> RuleSetRow:
    """The rule set row, created (empty) when missing; safe against a concurrent creator."""
    row = session.scalar(select(RuleSetRow).where(RuleSetRow.name == name))
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = RuleSetRow(name=name)
            session.add(row)
    except IntegrityError:
        return get_ruleset(session, name)
    return row


def _next_number(session: Session, ruleset: RuleSetRow) -> int:
    current = session.scalar(
        select(func.max(RuleSetVersionRow.version)).where(RuleSetVersionRow.ruleset_id == ruleset.id)
    )
    return (current or 0) + 1


def create_draft(
    session: Session, text: str, *, actor: str, name: str = DEFAULT_RULESET, source: str | None = None,
    directory: Directory | None = None, document_types: Collection[str] | None = None,
) -> RuleSetVersionRow:
    """Check the YAML (against ``directory`` when given) and store it as a new draft version (numbered after every
    existing version).

    Raises :class:`rules.InvalidRuleSet` with every problem when the YAML is not a valid rule set,
    :class:`RulesNotInDirectory` when it names what the directory does not have; with ``document_types`` (the
    type model's labels), a ``set_type`` naming none of them is a problem (``unknown_document_type``).
    """
    load_ruleset(text, directory, document_types=document_types)
    ruleset = _ruleset_for_write(session, name)
    number = _next_number(session, ruleset)
    stored = with_version(text, number)
    load_ruleset(stored)
    row = RuleSetVersionRow(
        ruleset_id=ruleset.id, version=number, status=VersionStatus.DRAFT.value, yaml_text=stored,
        sha256=_sha(stored), source=source, created_by=actor,
    )
    session.add(row)
    session.flush()
    _record(session, ruleset, actor=actor, action="create_draft", version=number, old=None,
            new={"status": "draft", "source": source, "sha256": row.sha256, "yaml": stored})
    return row


def _draft(session: Session, number: int, name: str) -> RuleSetVersionRow:
    row = get_version(session, number, name=name)
    if row.status != VersionStatus.DRAFT.value:
        raise RuleSetConflict(f"version {number} of {name!r} is {row.status}, only drafts can change")
    return row


def update_draft(
    session: Session, number: int, text: str, *, actor: str, name: str = DEFAULT_RULESET,
    directory: Directory | None = None, document_types: Collection[str] | None = None,
) -> RuleSetVersionRow:
    """Replace the YAML of a draft (validated, against ``directory`` and ``document_types`` when given; the version
    number stays)."""
    row = _draft(session, number, name)
    stored = with_version(text, number)
    load_ruleset(stored, directory, document_types=document_types)
    old = {"sha256": row.sha256, "yaml": row.yaml_text}
    row.yaml_text, row.sha256 = stored, _sha(stored)
    _record(session, get_ruleset(session, name), actor=actor, action="update_draft", version=number, old=old,
            new={"sha256": row.sha256, "yaml": stored})
    return row


def discard_draft(session: Session, number: int, *, actor: str, name: str = DEFAULT_RULESET) -> None:
    """Delete a draft that will not be activated (active and history versions are never deleted)."""
    row = _draft(session, number, name)
    _record(session, get_ruleset(session, name), actor=actor, action="discard_draft", version=number,
            old={"status": "draft", "sha256": row.sha256, "yaml": row.yaml_text}, new=None)
    session.delete(row)
    session.flush()


def _make_active(session: Session, ruleset: RuleSetRow, row: RuleSetVersionRow) -> int | None:
    """``row`` becomes the active version; the previous active one becomes history. Returns its number."""
    previous = ruleset.active_version
    if previous is not None:
        old = get_version(session, previous, name=ruleset.name)
        old.status = VersionStatus.HISTORY.value
        session.flush()  # the partial unique index allows one active version at a time
    row.status = VersionStatus.ACTIVE.value
    row.activated_at = utcnow()
    ruleset.active_version = row.version
    session.flush()
    return previous


def activate(
    session: Session, number: int, *, actor: str, name: str = DEFAULT_RULESET, directory: Directory | None = None,
    document_types: Collection[str] | None = None,
) -> RuleSetVersionRow:
    """Make draft ``number`` the active version; every worker uses it from its next document on. With
    ``directory``, a draft naming what the directory no longer has is refused (``rules_not_in_directory``)."""
    row = get_version(session, number, name=name)
    if row.status == VersionStatus.ACTIVE.value:
        raise RuleSetConflict(f"version {number} of {name!r} is already active")
    if row.status == VersionStatus.HISTORY.value:
        raise RuleSetConflict(
            f"version {number} of {name!r} is history; `rollback --to {number}` re-activates it as a new version"
        )
    load_ruleset(row.yaml_text, directory, document_types=document_types)
    ruleset = get_ruleset(session, name)
    previous = _make_active(session, ruleset, row)
    _record(session, ruleset, actor=actor, action="activate", version=number,
            old={"active_version": previous}, new={"active_version": number})
    return row


def rollback(
    session: Session, *, actor: str, name: str = DEFAULT_RULESET, to: int | None = None,
    directory: Directory | None = None, document_types: Collection[str] | None = None,
) -> RuleSetVersionRow:
    """Re-activate an earlier version as a new version (``to``, default: the one active before the current).

    The copy gets the next number, so history is never rewritten and decisions keep naming the version that
    made them. With ``directory``, a version naming what the directory no longer has is refused.
    """
    ruleset = get_ruleset(session, name)
    if to is None:
        target = session.scalar(
            select(RuleSetVersionRow)
            .where(
                RuleSetVersionRow.ruleset_id == ruleset.id,
                RuleSetVersionRow.status == VersionStatus.HISTORY.value,
            )
            .order_by(RuleSetVersionRow.activated_at.desc(), RuleSetVersionRow.version.desc())
            .limit(1)
        )
        if target is None:
            raise RuleSetConflict(f"rule set {name!r} has no earlier active version to roll back to")
    else:
        target = get_version(session, to, name=name)
        if target.status != VersionStatus.HISTORY.value:
            raise RuleSetConflict(f"version {to} of {name!r} is {target.status}; roll back to a history version")
    load_ruleset(target.yaml_text, directory, document_types=document_types)
    number = _next_number(session, ruleset)
    stored = with_version(target.yaml_text, number)
    row = RuleSetVersionRow(
        ruleset_id=ruleset.id, version=number, status=VersionStatus.DRAFT.value, yaml_text=stored,
        sha256=_sha(stored), source=f"rollback to version {target.version}", created_by=actor,
    )
    session.add(row)
    session.flush()
    previous = _make_active(session, ruleset, row)
    _record(session, ruleset, actor=actor, action="rollback", version=number,
            old={"active_version": previous}, new={"active_version": number, "copy_of": target.version})
    return row


def ensure_default_ruleset(session: Session, *, name: str = DEFAULT_RULESET) -> RuleSetRow:
    """The rule set, with the shipped pack installed as its active version 1 when it has none yet."""
    ruleset = _ruleset_for_write(session, name)
    if ruleset.active_version is None and _next_number(session, ruleset) == 1:
        row = create_draft(session, default_pack_text(), actor=SYSTEM_ACTOR, name=name,
                           source=f"default pack {DEFAULT_PACK.name}")
        activate(session, row.version, actor=SYSTEM_ACTOR, name=name)
    return ruleset


class RuleWarning(str):
    """One line of :func:`directory_warnings` (English, for the CLI, the REST API and the audit count) that also
    keeps what it says: the rule set, version and status, and the validator's problem (the web UI writes it in
    German from these)."""

    ruleset: str
    version: int
    status: str
    problem: RuleProblem | None

    def __new__(cls, text: str, ruleset: str = "", version: int = 0, status: str = "",
                problem: RuleProblem | None = None) -> RuleWarning:
        warning = super().__new__(cls, text)
        warning.ruleset, warning.version, warning.status, warning.problem = ruleset, version, status, problem
        return warning


def directory_warnings(session: Session, old: Directory | None, new: Directory) -> list[str]:
    """What a change of the organisation directory from ``old`` to ``new`` means for the stored rules: one line
    per affected rule of every rule set's active version and drafts (a postbox, person or department gone, a
    person moved), e.g. ``rule set 'default' version 3 (active): rule 'x', then.route_to: no postbox ...``
    (each a :class:`RuleWarning`)."""
    lines: list[str] = []
    rows = session.scalars(
        select(RuleSetVersionRow)
        .where(RuleSetVersionRow.status.in_((VersionStatus.ACTIVE.value, VersionStatus.DRAFT.value)))
        .order_by(RuleSetVersionRow.ruleset_id, RuleSetVersionRow.version)
    )
    for row in rows:
        ruleset = session.get(RuleSetRow, row.ruleset_id)
        name = ruleset.name if ruleset else "?"
        label = f"rule set {name!r} version {row.version} ({row.status})"
        lines += [RuleWarning(f"{label}: {p}", name, row.version, row.status, p)
                  for p in directory_change_warnings(load_ruleset(row.yaml_text), old, new)]
    return lines


# --- the active version in workers -------------------------------------------------------------------------


class ActiveRuleSetCache:
    """The compiled active version of one rule set, reloaded when ``rulesets.active_version`` changes.

    One per worker process: :meth:`get` costs one single-row query per document while nothing changed, so an
    activation in any process takes effect in every worker with its next document, without a restart.
    """

    def __init__(self, name: str = DEFAULT_RULESET) -> None:
        self.name = name
        self._version: int | None = None
        self._compiled: CompiledRuleSet | None = None

    def get(self, session: Session) -> CompiledRuleSet:
        """The compiled active version (the default pack is installed first if the rule set is empty)."""
        number = session.scalar(select(RuleSetRow.active_version).where(RuleSetRow.name == self.name))
        if number is None:
            number = ensure_default_ruleset(session, name=self.name).active_version
        if self._compiled is None or number != self._version:
            stored = read_version(session, number, name=self.name)
            self._compiled, self._version = compile_ruleset(stored.ruleset), stored.version
        return self._compiled
