"""``evaluate(ruleset, document, facts) -> Decision``: every rule in priority order, each leaving a trace."""

from __future__ import annotations

from mailroom.model import Document
from rules.compiled import CompiledRuleSet, Evidence, compile_ruleset
from rules.decision import Decision, TraceEntry, decide
from rules.facts import Facts
from rules.language import Rule, RuleSet
from rules.text import DocumentIndex
from rules.zones import Din5008Zones, Zones

DEFAULT_ZONES = Din5008Zones()


def evaluate(
    ruleset: RuleSet | CompiledRuleSet,
    document: Document,
    facts: Facts | None = None,
    zones: Zones = DEFAULT_ZONES,
) -> Decision:
    """Evaluate the rules on one recognised document. Pass a :class:`CompiledRuleSet` (from
    :func:`rules.compile_ruleset`) when evaluating many documents: compiling is done once there."""
    compiled = ruleset if isinstance(ruleset, CompiledRuleSet) else compile_ruleset(ruleset)
    facts = facts if facts is not None else Facts()
    index = DocumentIndex(document, zones)
    matched: list[Rule] = []
    trace: list[TraceEntry] = []
    stop_at: int | None = None
    stopped_by: str | None = None
    for item in compiled.rules:
        rule = item.rule
        if stop_at is not None and rule.priority < stop_at:
            break
        evidence: Evidence = []
        if item.check is None:
            ok, because = True, ["always (the rule has no `when`)"]
        else:
            ok, because, evidence = item.check(index, facts)
        trace.append(TraceEntry(rule.id, compiled.version, ok, because, evidence))
        if ok:
            matched.append(rule)
            if rule.stop and stop_at is None:
                stop_at, stopped_by = rule.priority, rule.id
    return decide(compiled.version, matched, trace, stopped_by)
