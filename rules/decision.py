"""The conflict policy: from the rules that matched to one decision (``mailroom.result.Routing``-compatible).

1. Rules are evaluated by ``priority`` (higher first); equal priorities in file order.
2. ``stop: true`` on a matching rule ends evaluation after the rules of *its* priority, so rules of equal
   priority are always all evaluated and a conflict among them is never hidden by file order.
3. Postbox: the matching rule of highest priority with ``route_to`` decides; its ``confidence`` is the
   decision's confidence and ``decided_by`` is ``rule:<id>@<version>``. If a matching rule of the *same*
   priority routes elsewhere, the document goes to review with both postboxes as alternatives. Postboxes of
   lower-priority matching rules are listed as alternatives.
4. ``review`` on any matching rule sends the document to review with its reason (the postbox found, if any,
   becomes the first alternative). No routing rule matched: review, postbox empty, for the model to decide.
5. The other actions combine: ``copy_to`` and ``tags`` are united; ``set_type`` comes from the first matching
   rule that sets it; ``priority`` takes the most urgent, ``deadline_days`` the shortest; ``confidential`` is
   set if any matching rule sets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mailroom.result import Alternative, Routing
from rules.language import Rule

_URGENCY = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


@dataclass(slots=True)
class TraceEntry:
    """One evaluated rule: matched or not, why (short sentences) and the evidence (words, boxes, values)."""

    rule: str
    version: int
    matched: bool
    because: list[str]
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "version": self.version,
            "matched": self.matched,
            "because": self.because,
        }
        if self.evidence:
            out["evidence"] = self.evidence  # additive field of the contract (RuleTrace has extra="allow")
        return out


@dataclass
class Decision:
    """What the rules decided for one document, with the trace of every evaluated rule."""

    ruleset_version: int
    status: Literal["routed", "review"] = "review"
    postbox: str | None = None
    confidence: float | None = None
    decided_by: str | None = None
    alternatives: list[Alternative] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)
    copy_to: list[str] = field(default_factory=list)
    document_type: str | None = None
    tags: list[str] = field(default_factory=list)
    priority: str | None = None
    deadline_days: int | None = None
    confidential: bool = False
    stopped_by: str | None = None
    trace: list[TraceEntry] = field(default_factory=list)

    def to_routing(self) -> Routing:
        """The ``routing`` part of the result contract; review reasons travel as an additive field."""
        data: dict[str, Any] = {
            "status": self.status,
            "postbox": self.postbox,
            "confidence": self.confidence,
            "decided_by": self.decided_by,
            "trace": [t.to_dict() for t in self.trace],
            "alternatives": [a.model_dump() for a in self.alternatives],
        }
        if self.review_reasons:
            data["review_reasons"] = self.review_reasons
        # the other actions travel as additive fields: copies land in further postboxes (mailroom.storage.postboxes)
        if self.copy_to:
            data["copies"] = list(self.copy_to)
        if self.tags:
            data["tags"] = list(self.tags)
        if self.priority:
            data["priority"] = self.priority
        if self.deadline_days is not None:
            data["deadline_days"] = self.deadline_days
        return Routing.model_validate(data)


def decide(version: int, matched: list[Rule], trace: list[TraceEntry], stopped_by: str | None) -> Decision:
    """Apply the conflict policy to the matching rules, given in evaluation order."""
    routers = [r for r in matched if r.then.route_to]
    reasons = [f"{r.id}: {r.then.review}" for r in matched if r.then.review]
    decision = Decision(ruleset_version=version, trace=trace, stopped_by=stopped_by)
    _combine_actions(decision, matched)
    candidates: list[Alternative] = []
    for rule in routers:
        if rule.then.route_to not in {c.postbox for c in candidates}:
            candidates.append(Alternative(postbox=rule.then.route_to or "", confidence=rule.confidence))
    if routers:
        winner = routers[0]
        rivals = [
            r for r in routers if r.priority == winner.priority and r.then.route_to != winner.then.route_to
        ]
        if rivals:
            reasons.append(
                "conflict: rules "
                + ", ".join(r.id for r in [winner, *rivals])
                + f" of priority {winner.priority} route to different postboxes"
            )
        if not reasons:
            decision.status = "routed"
            decision.postbox = winner.then.route_to
            decision.confidence = winner.confidence
            decision.decided_by = f"rule:{winner.id}@{version}"
            candidates = candidates[1:]
        decision.copy_to = [p for p in decision.copy_to if p != decision.postbox]
    decision.alternatives = candidates
    decision.review_reasons = reasons
    return decision


def _combine_actions(decision: Decision, matched: list[Rule]) -> None:
    for rule in matched:
        then = rule.then
        decision.copy_to += [p for p in then.copy_to if p not in decision.copy_to]
        decision.tags += [t for t in then.tags if t not in decision.tags]
        if decision.document_type is None:
            decision.document_type = then.set_type
        if then.priority and (
            decision.priority is None or _URGENCY[then.priority] > _URGENCY[decision.priority]
        ):
            decision.priority = then.priority
        if then.deadline_days is not None and (
            decision.deadline_days is None or then.deadline_days < decision.deadline_days
        ):
            decision.deadline_days = then.deadline_days
        decision.confidential = decision.confidential or then.confidential
