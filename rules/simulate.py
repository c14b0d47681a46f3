"""Simulation: what would a candidate rule set change on recent mail? Re-evaluated without OCR.

The stored document tree (``document_content``) and the facts in the stored result (``documents.result_json``)
of the last N documents, or of a date range, are evaluated twice: with the baseline (normally the active
version) and with the candidate. Every document whose postbox, status or type would differ is reported with
old → new, and the totals say how many stay the same, change postbox or type, become routed, or go to review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailroom.model import Document
from mailroom.storage.models import DocumentContentRow, DocumentRow
from rules.compiled import CompiledRuleSet, compile_ruleset
from rules.decision import Decision
from rules.evaluate import DEFAULT_ZONES, evaluate
from rules.facts import Facts
from rules.language import RuleSet
from rules.result_facts import facts_from_result
from rules.store import DEFAULT_RULESET, ActiveRuleSetCache
from rules.zones import Zones

Kind = Literal["unchanged", "changed", "newly_routed", "newly_review"]


@dataclass(frozen=True)
class Outcome:
    """The part of a decision a clerk notices: status, postbox, document type, and who decided."""

    status: str
    postbox: str | None
    document_type: str | None
    decided_by: str | None


@dataclass(frozen=True)
class DocumentChange:
    """One document whose outcome the candidate changes."""

    document_id: str
    filename: str
    received_at: datetime
    kind: Kind
    old: Outcome
    new: Outcome

    def describe(self) -> str:
        """``postbox a → b; type x → y`` for what differs."""
        parts = []
        if (self.old.status, self.old.postbox) != (self.new.status, self.new.postbox):
            parts.append(f"{_where(self.old)} → {_where(self.new)}")
        if self.old.document_type != self.new.document_type:
            parts.append(f"type {self.old.document_type or '-'} → {self.new.document_type or '-'}")
        return "; ".join(parts)


def _where(outcome: Outcome) -> str:
    return outcome.postbox if outcome.status == "routed" and outcome.postbox else "review"


@dataclass
class SimulationReport:
    """Totals and every changed document, for one candidate against one baseline."""

    baseline_version: int
    candidate_version: int
    documents: int = 0
    totals: dict[str, int] = field(
        default_factory=lambda: {"unchanged": 0, "changed": 0, "newly_routed": 0, "newly_review": 0}
    )
    changes: list[DocumentChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline_version": self.baseline_version,
            "candidate_version": self.candidate_version,
            "documents": self.documents,
            "totals": dict(self.totals),
            "changes": [
                {**asdict(c), "received_at": c.received_at.isoformat(), "change": c.describe()} for c in self.changes
            ],
        }


def outcome_of(decision: Decision, facts: Facts) -> Outcome:
    """What the decision means for the document; the type is the rules' ``set_type``, else the recognised one."""
    recognised = facts.document_type.label if facts.document_type else None
    return Outcome(decision.status, decision.postbox, decision.document_type or recognised, decision.decided_by)


def classify(old: Outcome, new: Outcome) -> Kind:
    """``newly_routed`` / ``newly_review`` when the status flips, ``changed`` for another postbox or type."""
    if old.status != new.status:
        return "newly_routed" if new.status == "routed" else "newly_review"
    if old.postbox != new.postbox or old.document_type != new.document_type:
        return "changed"
    return "unchanged"


@dataclass(frozen=True)
class StoredDocument:
    """What simulation needs of a stored document."""

    document_id: str
    filename: str
    received_at: datetime
    document: Document
    facts: Facts


def stored_documents(
    session: Session, *, last: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> Iterator[StoredDocument]:
    """Documents with a stored tree and result, newest first: the last ``last`` and/or received in a range."""
    query = (
        select(DocumentRow.id)
        .join(DocumentContentRow, DocumentContentRow.document_id == DocumentRow.id)
        .where(DocumentRow.result_json.is_not(None))
        .order_by(DocumentRow.received_at.desc(), DocumentRow.id.desc())
    )
    if since is not None:
        query = query.where(DocumentRow.received_at >= since)
    if until is not None:
        query = query.where(DocumentRow.received_at < until)
    if last is not None:
        query = query.limit(last)
    for document_id in list(session.scalars(query)):
        row = session.get(DocumentRow, document_id)
        content = session.get(DocumentContentRow, document_id)
        if row is None or content is None:
            continue
        document = Document.model_validate_json(content.content_json)
        facts = facts_from_result(row.result_json, document)
        yield StoredDocument(row.id, row.filename, row.received_at, document, facts)
        session.expunge(content)


def _compiled(ruleset: RuleSet | CompiledRuleSet) -> CompiledRuleSet:
    return ruleset if isinstance(ruleset, CompiledRuleSet) else compile_ruleset(ruleset)


Finalise = Callable[[StoredDocument, Decision], Outcome]
"""Turns the rules' decision for a stored document into the final outcome. The default, :func:`outcome_of`, is the
rules alone; the service passes the whole decision (rules, then recipient and models: ``routing.router``), so
that a document no rule decides shows where the models would send it, as the pipeline would."""


def rules_only(stored: StoredDocument, decision: Decision) -> Outcome:
    return outcome_of(decision, stored.facts)


def simulate(
    session: Session,
    candidate: RuleSet | CompiledRuleSet,
    baseline: RuleSet | CompiledRuleSet,
    *,
    last: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    zones: Zones = DEFAULT_ZONES,
    finalise: Finalise = rules_only,
) -> SimulationReport:
    """Evaluate baseline and candidate on the stored documents and report every difference."""
    new_rules, old_rules = _compiled(candidate), _compiled(baseline)
    report = SimulationReport(baseline_version=old_rules.version, candidate_version=new_rules.version)
    for stored in stored_documents(session, last=last, since=since, until=until):
        old = finalise(stored, evaluate(old_rules, stored.document, stored.facts, zones))
        new = finalise(stored, evaluate(new_rules, stored.document, stored.facts, zones))
        kind = classify(old, new)
        report.documents += 1
        report.totals[kind] += 1
        if kind != "unchanged":
            report.changes.append(
                DocumentChange(stored.document_id, stored.filename, stored.received_at, kind, old, new)
            )
    return report


#: Documents simulated when neither a count nor a date range is given.
DEFAULT_LAST = 100


def received_bound(value: str) -> datetime:
    """A ``since`` / ``until`` bound: an ISO date or date-time, UTC unless it names its zone.

    Raises :class:`ValueError` for anything else.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def simulate_against_active(
    session: Session,
    candidate: RuleSet | CompiledRuleSet,
    *,
    name: str = DEFAULT_RULESET,
    last: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    finalise: Finalise = rules_only,
) -> SimulationReport:
    """:func:`simulate` with the active version of rule set ``name`` as baseline; the last
    :data:`DEFAULT_LAST` documents when neither ``last`` nor a date range is given."""
    if last is None and since is None and until is None:
        last = DEFAULT_LAST
    baseline = ActiveRuleSetCache(name).get(session)
    return simulate(session, candidate, baseline, last=last, since=since, until=until, finalise=finalise)
